"""diabetes_acute_harm_365d on hand-made citizens: only harm a hospital records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from models.outcomes import ExtractWindow, build_labels
from tests.models.conftest import make_mart, make_raw

A = date(2024, 1, 1)
START = date(2018, 1, 1)
EXTRACT = date(2026, 1, 1)


def day(n: int) -> date:
    return A + timedelta(days=n)


def _contact(cid: str, n: int, kind: str, code: str, days: int = 5) -> dict[str, Any]:
    return {
        "contact_id": f"{cid}-{n}",
        "citizen_id": cid,
        "start_date": day(n),
        "end_date": day(n + days),
        "contact_type": kind,
        "primary_diagnosis": code,
    }


def _diagnosis(cid: str, n: int, code: str, source: str = "hospital") -> dict[str, Any]:
    return {"citizen_id": cid, "diagnosis_date": day(n), "code": code, "source": source}


@pytest.fixture
def acute(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    ids = [f"a{i}" for i in range(1, 9)]
    make_raw(
        con,
        citizens=[{"citizen_id": c} for c in [*ids, "z"]],
        hospital_contacts=[
            _contact("a1", 10, "acute_admission", "DE111"),
            _contact("a3", 10, "planned_admission", "DJ449"),
            _contact("a5", 20, "acute_admission", "DE112"),
            _contact("a6", 10, "acute_admission", "DJ449"),
            _contact("a7", 10, "acute_admission", "DJ449"),
            _contact("a8", 10, "outpatient", "DE113"),
        ],
        diagnoses=[
            {"citizen_id": "z", "diagnosis_date": START, "code": "DJ449"},
            _diagnosis("a2", 10, "DE113", source="gp"),  # found at care
            _diagnosis("a3", 12, "DE113"),  # recorded during the admission
            _diagnosis("a4", 12, "DE113"),  # hospital, but no admission
            _diagnosis("a6", 12, "DE113"),
            _diagnosis("a6", -100, "DE113"),  # ... already known: not new
            _diagnosis("a7", 12, "DE113", source="gp"),  # a GP code, not the hospital
        ],
        extract_info=[{"extract_date": EXTRACT}],
    )
    make_mart(
        con, [{"citizen_id": c, "as_of_date": A, "has_diabetes": True} for c in ids]
    )
    window = ExtractWindow(START, EXTRACT)
    outcome = "diabetes_acute_harm_365d"
    build_labels(con, outcome, window=window, horizon_days=365, washout_days=730)
    rows = con.execute(f"select citizen_id, label from labels.{outcome}").fetchall()
    return dict(rows)


def test_acute_harm_counts_acute_diabetes_admissions(acute: dict[str, Any]) -> None:
    assert acute["a1"] == 1


def test_acute_harm_counts_complications_first_recorded_at_an_admission(
    acute: dict[str, Any],
) -> None:
    assert acute["a3"] == 1  # hospital diagnosis within a planned admission
    assert acute["a5"] == 1  # the admission's primary diagnosis


def test_acute_harm_leaves_out_harm_found_at_attended_care(
    acute: dict[str, Any],
) -> None:
    assert acute["a2"] == 0  # found at the GP
    assert acute["a4"] == 0  # a hospital code outside any admission
    assert acute["a7"] == 0  # a GP code during an admission
    assert acute["a8"] == 0  # an outpatient contact is not an admission


def test_acute_harm_needs_a_new_complication(acute: dict[str, Any]) -> None:
    assert acute["a6"] == 0
