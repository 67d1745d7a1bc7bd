"""smi_somatic_harm_365d on hand-made citizens: harm first recorded in hospital.

The outcome of the SMI programme that does not rise with GP contact: a new
diabetes or heart disease counts only when a hospital records it first in the
window, and an acute admission counts when its cause is somatic (not
psychiatric, not a birth). Compared case by case with smi_somatic_365d.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from tests.models.conftest import make_mart, make_raw
from tests.models.test_outcomes import (
    EXTRACT,
    A,
    _admission,
    _diagnosis,
    _filler,
    _labels,
)

IDS = [f"h{i:02d}" for i in range(1, 12)]


def _from(source: str, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "source": source}


@pytest.fixture
def both(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, tuple[Any, ...]]]:
    make_raw(
        con,
        citizens=[{"citizen_id": c} for c in [*IDS, "z"]],
        diagnoses=[
            _filler(),
            _from("hospital", _diagnosis("h01", 30, "DE119")),  # new, hospital
            _from("gp", _diagnosis("h02", 40, "T90", system="ICPC2")),  # new, GP
            _from("gp", _diagnosis("h03", 20, "DI21")),  # GP first ...
            _from("hospital", _diagnosis("h03", 60, "DI21")),  # ... hospital later
            _from("hospital", _diagnosis("h04", 50, "DI21")),  # in the washout too
            _from("gp", _diagnosis("h04", -100, "K74", system="ICPC2")),
            _from("hospital", _diagnosis("h05", 30, "DE119")),  # known diabetic
            _from("hospital", _diagnosis("h06", 70, "DI500")),  # heart: hospital
            _from("gp", _diagnosis("h06", 90, "T90", system="ICPC2")),  # diabetes: GP
        ],
        hospital_contacts=[
            _admission("h07", 20, "DJ189"),  # pneumonia
            _admission("h08", 20, "DF200"),  # psychiatric
            _admission("h09", 20, "DO800"),  # a birth
            _admission("h10", 20, "DE111"),  # acute diabetes admission
            _admission("h11", 20, "DI639", kind="emergency_department"),
        ],
        extract_info=[{"extract_date": EXTRACT}],
    )
    make_mart(
        con,
        [
            {
                "citizen_id": c,
                "as_of_date": A,
                "has_smi": True,
                "has_diabetes": c == "h05",
            }
            for c in IDS
        ],
    )
    return {
        "hospital": _labels(con, "smi_somatic_harm_365d"),
        "recorded": _labels(con, "smi_somatic_365d"),
    }


def test_new_diagnoses_count_only_when_a_hospital_records_them_first(
    both: dict[str, dict[str, tuple[Any, ...]]],
) -> None:
    hospital, recorded = both["hospital"], both["recorded"]
    assert hospital["h01"] == (1, False, 30)
    assert hospital["h02"][0] == 0 and recorded["h02"][0] == 1  # the GP found it
    assert hospital["h03"][0] == 0 and recorded["h03"][0] == 1  # the GP first
    assert hospital["h04"][0] == 0  # heart disease recorded in the washout
    assert hospital["h05"][0] == 0  # diabetes known at the index date
    assert hospital["h06"] == (1, False, 70)  # the heart disease, found in hospital


def test_admissions_count_when_somatic_and_not_a_birth(
    both: dict[str, dict[str, tuple[Any, ...]]],
) -> None:
    hospital, recorded = both["hospital"], both["recorded"]
    assert hospital["h07"] == (1, False, 20)
    assert hospital["h08"][0] == 0  # psychiatric
    assert hospital["h09"][0] == 0 and recorded["h09"][0] == 1  # a birth
    assert hospital["h10"][0] == 1
    assert hospital["h11"][0] == 0  # an emergency visit is not an admission


def test_shared_outcome_views_are_dropped_after_labelling(
    both: dict[str, dict[str, tuple[Any, ...]]], con: duckdb.DuckDBPyConnection
) -> None:
    """Both SMI outcomes read "new" from models/sql/outcome_views/; nothing lingers."""
    from models.outcomes import outcome_contract

    for outcome in ("smi_somatic_365d", "smi_somatic_harm_365d"):
        assert outcome_contract(outcome)["views"] == ["new_somatic_diagnoses"]
    temp = con.execute(
        "select table_name from information_schema.tables where table_catalog = 'temp'"
    ).fetchall()
    assert temp == []
