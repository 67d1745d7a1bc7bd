"""Cohort rules on hand-made citizens at the edges (feat_diabetes, OSDC-style).

One warehouse is built once for the module with one citizen per case; each test
reads that citizen's row of ``citizen.feat_diabetes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import duckdb
import pytest

from features.build import build_features
from tests.features.sql.raw_tables import create_raw

T = date(2024, 6, 1)
LATER = date(2025, 6, 1)


def before(days: int) -> date:
    return T - timedelta(days=days)


def _hba1c(cid: str, day: date, value: float = 50.0) -> dict:
    return {"citizen_id": cid, "sample_date": day, "value": value}


def _drug(cid: str, atc: str, day: date | None, supply: int = 90) -> dict:
    issued = (day or T) - timedelta(days=3)
    return {
        "citizen_id": cid,
        "atc_code": atc,
        "issued_date": issued,
        "redeemed_date": day,
        "days_supply": supply,
    }


def _dx(cid: str, day: date, code: str, system: str = "SKS") -> dict:
    source = "gp" if system == "ICPC2" else "hospital"
    kind = None if system == "ICPC2" else "A"
    return {
        "citizen_id": cid,
        "diagnosis_date": day,
        "code": code,
        "code_system": system,
        "source": source,
        "diagnosis_type": kind,
    }


CITIZENS = {
    "one_hba1c": {},
    "two_hba1c": {},
    "same_day_hba1c": {},
    "glp1_only": {},
    "sglt2_only": {},
    "metformin_woman_35": {"sex": "F", "birth_date": date(1989, 1, 1)},
    "metformin_man_60": {"sex": "M", "birth_date": date(1964, 1, 1)},
    "dx_then_hba1c": {},
    "pregnant": {"sex": "F", "birth_date": date(1992, 1, 1)},
    "second_on_as_of": {},
    "unredeemed_only": {},
    "insulin_t1_dx": {"birth_date": date(2000, 1, 1)},
    "insulin_t2_dx": {},
    "mixed_t1": {},
    "mixed_late_insulin": {},
    "gp_codes": {},
}


def _rows() -> dict:
    return {
        "citizens": [{"citizen_id": cid, **fields} for cid, fields in CITIZENS.items()],
        "lab_results": [
            _hba1c("one_hba1c", before(100), 70.0),
            _hba1c("two_hba1c", before(300)),
            _hba1c("two_hba1c", before(200)),
            _hba1c("same_day_hba1c", before(50), 60.0),
            _hba1c("same_day_hba1c", before(50), 62.0),
            _hba1c("dx_then_hba1c", before(100)),
            _hba1c("pregnant", before(300)),
            _hba1c("pregnant", before(250)),
            _hba1c("second_on_as_of", before(10)),
            _hba1c("second_on_as_of", T),
        ],
        "prescriptions": [
            _drug("glp1_only", "A10BJ06", before(300)),
            _drug("glp1_only", "A10BJ06", before(200)),
            _drug("sglt2_only", "A10BK03", before(300)),
            _drug("sglt2_only", "A10BK01", before(200)),
            _drug("metformin_woman_35", "A10BA02", before(300)),
            _drug("metformin_woman_35", "A10BA02", before(200)),
            _drug("metformin_man_60", "A10BA02", before(300)),
            _drug("metformin_man_60", "A10BA02", before(200)),
            _drug("unredeemed_only", "A10BA02", None),
            _drug("unredeemed_only", "A10BB12", None),
            _drug("insulin_t1_dx", "A10AE04", before(300)),
            _drug("insulin_t1_dx", "A10AB05", before(200)),
            _drug("insulin_t2_dx", "A10AE04", before(300)),
            _drug("insulin_t2_dx", "A10AE04", before(200)),
            _drug("mixed_t1", "A10BA02", before(400), 30),
            _drug("mixed_t1", "A10AE04", before(300)),
            _drug("mixed_t1", "A10AE04", before(200)),
            _drug("mixed_t1", "A10AE04", before(100)),
            _drug("mixed_late_insulin", "A10BA02", before(500), 30),
            _drug("mixed_late_insulin", "A10AE04", before(300)),
            _drug("mixed_late_insulin", "A10AE04", before(200)),
            _drug("mixed_late_insulin", "A10AE04", before(100)),
        ],
        "diagnoses": [
            _dx("dx_then_hba1c", before(400), "DE119"),
            # A birth recorded after the two samples: both fall in the 40-week window.
            _dx("pregnant", before(240), "DO800"),
            _dx("insulin_t1_dx", before(350), "DE109"),
            _dx("insulin_t2_dx", before(350), "DE119"),
            _dx("mixed_t1", before(350), "DE109"),
            _dx("mixed_t1", before(340), "DE109"),
            _dx("mixed_t1", before(330), "DE119"),
            _dx("mixed_late_insulin", before(350), "DE109"),
            _dx("mixed_late_insulin", before(340), "DE109"),
            _dx("gp_codes", before(500), "T90", "ICPC2"),
            _dx("gp_codes", before(400), "T90", "ICPC2"),
        ],
    }


@pytest.fixture(scope="module")
def diabetes() -> Iterator[dict[tuple[str, date], tuple]]:
    con = duckdb.connect(":memory:")
    create_raw(con, _rows())
    build_features(con, [before(245), T, T + timedelta(days=1)])
    rows = con.execute(
        "select citizen_id, as_of_date, has_diabetes, diabetes_type,"
        " diabetes_entry_date"
        " from citizen.feat_diabetes"
    ).fetchall()
    con.close()
    yield {(r[0], r[1]): r[2:] for r in rows}


@pytest.mark.parametrize(
    "citizen_id",
    [
        "one_hba1c",
        "same_day_hba1c",
        "glp1_only",
        "sglt2_only",
        "metformin_woman_35",
        "unredeemed_only",
        "pregnant",
    ],
)
def test_feat_diabetes_not_diabetic_at_the_edges(diabetes, citizen_id: str) -> None:
    assert diabetes[(citizen_id, T)] == (False, None, None)


@pytest.mark.parametrize(
    ("citizen_id", "entry"),
    [
        ("two_hba1c", before(200)),
        ("metformin_man_60", before(200)),
        ("dx_then_hba1c", before(100)),
        ("gp_codes", before(400)),
    ],
)
def test_feat_diabetes_two_events_make_type2_with_entry_at_the_second(
    diabetes, citizen_id: str, entry: date
) -> None:
    assert diabetes[(citizen_id, T)] == (True, "type2", entry)


def test_feat_diabetes_second_event_on_the_as_of_date_counts_only_after_it(
    diabetes,
) -> None:
    assert diabetes[("second_on_as_of", T)] == (False, None, None)
    assert diabetes[("second_on_as_of", T + timedelta(days=1))] == (True, "type2", T)


def test_feat_diabetes_pregnancy_exclusion_applies_once_the_ending_is_known(
    diabetes,
) -> None:
    """Before the birth is recorded the two samples count; afterwards they do not."""
    assert diabetes[("pregnant", before(245))] == (True, "type2", before(250))
    assert diabetes[("pregnant", T)] == (False, None, None)


@pytest.mark.parametrize(
    ("citizen_id", "expected"),
    [
        ("insulin_t1_dx", "type1"),  # only insulin and a type 1 diagnosis
        ("insulin_t2_dx", "type2"),  # only insulin but no type 1 diagnosis
        ("mixed_t1", "type1"),  # majority DE10, >= 2/3 insulin, insulin within 180 days
        ("mixed_late_insulin", "type2"),  # first insulin 200 days after the first drug
    ],
)
def test_feat_diabetes_type_follows_osdc(
    diabetes, citizen_id: str, expected: str
) -> None:
    assert diabetes[(citizen_id, T)][:2] == (True, expected)
