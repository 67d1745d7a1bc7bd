from __future__ import annotations

import pytest

from features.errors import (
    ConfigError,
    ContractError,
    ExtractProblem,
    ExtractValidationError,
    FairnessBreachError,
    NotFoundError,
    exit_code_for,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("x"), 2),
        (ContractError("x"), 1),
        (ExtractValidationError([]), 1),
        (NotFoundError("x"), 1),
        (FairnessBreachError("x"), 3),
    ],
)
def test_exit_code_for_each_branch(error: Exception, code: int) -> None:
    assert exit_code_for(error) == code  # type: ignore[arg-type]


def test_extract_validation_error_lists_every_problem() -> None:
    problems = [
        ExtractProblem("citizens", "sex", 2, ["X"], "citizens.sex: bad"),
        ExtractProblem("diagnoses", None, 0, [], "diagnoses: missing"),
    ]
    error = ExtractValidationError(problems)
    assert str(error) == (
        "The extract was refused: 2 problem(s).\ncitizens.sex: bad\ndiagnoses: missing"
    )
    assert problems[0].as_dict()["examples"] == ["X"]
