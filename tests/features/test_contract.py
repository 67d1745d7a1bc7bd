"""features.contract: the contract as data, CPR shape, extract.json, pandera models."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from features.contract import (
    CONTRACT_VERSION,
    PANDERA_MODELS,
    TABLES,
    Citizens,
    ExtractInfo,
    check_extract_info,
    looks_like_cpr,
    mask_cpr,
    read_extract_info,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("010190-1234", True),
        ("311299-0001", True),
        ("0101901234", True),
        (" 0101901234 ", True),
        ("9999999999", True),  # ten digits, whatever they are
        ("320190-1234", False),  # day 32
        ("011390-1234", False),  # month 13
        ("010190-123", False),
        ("010190 1234", False),
        ("c0001", False),
        ("01019012345", False),
        (None, False),
    ],
)
def test_looks_like_cpr_shapes(value: object, expected: bool) -> None:
    assert looks_like_cpr(value) is expected


def test_mask_cpr_hides_serial_digits() -> None:
    assert mask_cpr("010190-1234") == "010190-****"
    assert mask_cpr("0101901234") == "010190****"


def test_tables_declare_the_six_contract_tables() -> None:
    assert list(TABLES) == [
        "citizens", "diagnoses", "prescriptions", "appointments", "lab_results",
        "hospital_contacts",
    ]  # fmt: skip
    assert {t: TABLES[t].key for t in TABLES} == {
        "citizens": "citizen_id",
        "diagnoses": None,
        "prescriptions": "prescription_id",
        "appointments": "appointment_id",
        "lab_results": None,
        "hospital_contacts": "contact_id",
    }
    assert TABLES["appointments"].future_when == ("status", "scheduled")


def test_tables_match_pandera_models() -> None:
    for name, table in TABLES.items():
        schema = PANDERA_MODELS[name].to_schema()
        assert list(schema.columns) == list(table.column_names), name
        nullable = {c for c, col in schema.columns.items() if col.nullable}
        assert nullable == {c.name for c in table.columns if c.nullable}, name


def test_tables_enum_values_follow_contract_page() -> None:
    status = TABLES["appointments"].column("status").enum
    assert status == (
        "attended", "no_show", "cancelled_by_citizen", "cancelled_by_provider",
        "scheduled",
    )  # fmt: skip
    assert TABLES["citizens"].column("sex").enum == ("F", "M")
    assert TABLES["diagnoses"].column("code_system").enum == ("SKS", "ICPC2")


class TestErrorMessages:
    def test_check_extract_info_wrong_contract(self) -> None:
        info, problems = check_extract_info(
            {
                "contract": "journal-extract/2",
                "extract_date": "2026-11-23",
                "source": "x",
            }
        )
        assert info is None
        assert [p.message for p in problems] == [
            "extract.json: contract 'journal-extract/2' is not supported; "
            "expected 'journal-extract/1'."
        ]

    @pytest.mark.parametrize(
        "bad", ["2026-13-01", "23-11-2026", "2026-11-23T00:00", 20261123]
    )
    def test_check_extract_info_bad_date(self, bad: object) -> None:
        _, problems = check_extract_info(
            {"contract": CONTRACT_VERSION, "extract_date": bad}
        )
        assert [p.message for p in problems] == [
            f"extract.json: extract_date {bad!r} is not an ISO date (YYYY-MM-DD)."
        ]

    def test_check_extract_info_not_an_object(self) -> None:
        _, problems = check_extract_info(["journal-extract/1"])
        assert [p.message for p in problems] == [
            "extract.json: the file is not a JSON object (found list)."
        ]

    def test_check_extract_info_source_not_text(self) -> None:
        doc = {"contract": CONTRACT_VERSION, "extract_date": "2026-11-23", "source": 7}
        assert [p.message for p in check_extract_info(doc)[1]] == [
            "extract.json: source 7 must be a string."
        ]

    def test_read_extract_info_missing_file(self, tmp_path: Path) -> None:
        _, problems = read_extract_info(tmp_path)
        assert [(p.table, p.message) for p in problems] == [
            ("extract.json",
             "extract.json: the file is missing; "
             "an extract must start with extract.json."),
        ]  # fmt: skip


def test_read_extract_info_valid(tmp_path: Path) -> None:
    doc = {
        "contract": CONTRACT_VERSION,
        "extract_date": "2026-11-23",
        "source": "region",
    }
    (tmp_path / "extract.json").write_text(json.dumps(doc), encoding="utf-8")
    assert read_extract_info(tmp_path) == (
        ExtractInfo(CONTRACT_VERSION, date(2026, 11, 23), "region"),
        [],
    )


def _citizen(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "citizen_id": "c0001", "birth_date": pd.Timestamp("1950-01-01"), "sex": "F",
        "municipality_code": "390", "education_level": "basic", "origin": "danish",
        "living_situation": "own_home", "gp_clinic_id": None,
        "preferred_language": "da",
        "death_date": pd.NaT, "emigration_date": pd.NaT, "outreach_opt_out": False,
    }  # fmt: skip
    return {**row, **changes}


def test_citizens_model_accepts_valid_rows() -> None:
    frame = pd.DataFrame([_citizen(), _citizen(citizen_id="c0002", sex="M")])
    assert len(Citizens.validate(frame)) == 2


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"citizen_id": "010190-1234"}, "not_cpr_shaped"),
        ({"sex": "X"}, "isin"),
        ({"municipality_code": "39"}, "str_matches"),
    ],
)
def test_citizens_model_rejects_bad_rows(
    changes: dict[str, object], check: str
) -> None:
    frame = pd.DataFrame([_citizen(), _citizen(**{"citizen_id": "c0002", **changes})])
    with pytest.raises(pandera.errors.SchemaErrors) as caught:
        Citizens.validate(frame, lazy=True)
    assert check in str(caught.value)
