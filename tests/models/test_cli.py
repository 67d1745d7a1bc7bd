"""The models commands through the CLI: exit codes, JSON, the tables they write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from outreach.app.cli import app
from tests.models.conftest import write_spec

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, [*args, "--json"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, (
        json.loads(lines[-1]) if lines else {"output": result.output}
    )


@pytest.mark.slow
def test_cli_train_score_explain_promote(toy_region: tuple[Any, Path]) -> None:
    settings, specs = toy_region
    code, trained = _invoke(
        "train",
        str(
            write_spec(
                specs, "toy_cli", "hist_gradient_boosting", "[params]\nmax_iter = 40\n"
            )
        ),
    )
    assert code == 0, trained
    assert (trained["model_uri"], trained["champion"]) == ("models:/toy_cli/1", True)
    assert (
        trained["metrics"]["precision_at_capacity"]["ci_low"]
        <= trained["metrics"]["precision_at_capacity"]["value"]
    )

    code, scored = _invoke("score", "--model", "toy_cli", "--as-of", "2025-12-31")
    assert code == 0 and scored["n_scored"] > 0, scored
    code, explained = _invoke(
        "explain",
        "--model",
        "toy_cli@champion",
        "--as-of",
        "2025-12-31",
        "--lang",
        "en",
    )
    assert code == 0 and explained["n_reasons"] > 0, explained
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        n_scores = con.execute("select count(*) from scoring.scores").fetchone()[0]
        texts = con.execute(
            "select count(*) from scoring.reasons where reason_text <> ''"
        ).fetchone()[0]
    finally:
        con.close()
    assert (n_scores, texts) == (scored["n_scored"], explained["n_reasons"])
    code, top = _invoke(
        "explain", "--model", "toy_cli", "--as-of", "2025-12-31", "--ranks", "5"
    )
    assert code == 0 and (top["n_citizens"], top["ranks"]) == (5, 5), top

    code, promoted = _invoke("promote", "toy_cli@1")
    assert code == 0 and promoted["decision"] == "already_champion", promoted


@pytest.mark.slow
def test_cli_errors_map_to_exit_codes(toy_region: tuple[Any, Path]) -> None:
    code, body = _invoke("score", "--model", "toy_cli", "--as-of", "2025-13-01")
    assert (code, body["error"]) == (2, "ConfigError")
    assert (
        body["message"]
        == "The '--as-of' option must be a date (YYYY-MM-DD). Got '2025-13-01' instead."
    )
    code, body = _invoke("score", "--model", "nothing_here", "--as-of", "2025-12-31")
    assert (code, body["error"]) == (1, "NotFoundError")
    code, body = _invoke("train", "no_such_spec")
    assert (code, body["error"]) == (1, "NotFoundError")
    code, body = _invoke("promote", "toy_cli@1", "--force")
    assert (code, body["error"]) == (2, "ConfigError")
