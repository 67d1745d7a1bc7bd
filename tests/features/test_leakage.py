"""Leakage: features at T are identical whether the extract holds events after T or not.

A seeded random extract with many events on both sides of (and on) each as-of date
is built once in full. For each T it is then cut at T the way an extract delivered
on T would look: events dated on or after T removed, redemptions, deaths,
emigrations and contact ends on or after T blanked, appointments on or after T
back to status ``scheduled``, citizens born on or after T absent. Every
``citizen.feat_*`` view and both marts must give the same rows at T.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.checks import sql_stems
from tests.features.sql.raw_tables import create_raw

AS_OF = [date(2023, 3, 1), date(2024, 6, 1), date(2024, 6, 2)]
RELATIONS = [f"citizen.{s}" for s in sql_stems("citizen")] + [
    "marts.scoring_features",
    "marts.audit_attributes",
]
ATC = [
    "A10BA02",
    "A10AE04",
    "A10BJ06",
    "A10BK01",
    "C10AA05",
    "C09AA05",
    "N05AH03",
    "N02BE01",
]
CODES = [
    ("SKS", "DE119"),
    ("SKS", "DE109"),
    ("ICPC2", "T90"),
    ("SKS", "DO800"),
    ("ICPC2", "W90"),
    ("SKS", "DF200"),
    ("SKS", "DJ449"),
    ("SKS", "DM545"),
    ("ICPC2", "L03"),
    ("SKS", "DC509"),
    ("SKS", "DI500"),
    ("ICPC2", "P72"),
    ("SKS", "DF329"),
    ("ICPC2", "A04"),
]
KINDS = [
    "diabetes_annual_control",
    "diabetes_control",
    "eye_screening",
    "foot_examination",
    "copd_control",
    "heart_outpatient",
    "psychiatric_outpatient",
    "gp_consultation",
    "rehabilitation",
]
STATUSES = ["attended", "no_show", "cancelled_by_citizen", "cancelled_by_provider"]
CONTACTS = [
    "acute_admission",
    "planned_admission",
    "emergency_department",
    "outpatient",
]


def _day(rng: np.random.Generator) -> date:
    """Return a date near an as-of date (often on it) or anywhere in 2019-2026."""
    if rng.random() < 0.5:
        anchor = AS_OF[rng.integers(len(AS_OF))]
        return anchor + timedelta(days=int(rng.integers(-40, 41)))
    return date(2019, 1, 1) + timedelta(days=int(rng.integers(0, 2800)))


def _extract(seed: int = 7, n: int = 120) -> dict[str, list[dict]]:
    rng = np.random.default_rng(seed)
    ids = [f"c{i:03d}" for i in range(n)]
    rows: dict[str, list[dict]] = {
        t: []
        for t in (
            "citizens",
            "diagnoses",
            "prescriptions",
            "appointments",
            "lab_results",
            "hospital_contacts",
        )
    }
    for cid in ids:
        rows["citizens"].append(
            {
                "citizen_id": cid,
                "birth_date": _day(rng)
                if rng.random() < 0.05
                else date(1940, 1, 1) + timedelta(days=int(rng.integers(0, 25000))),
                "sex": "F" if rng.random() < 0.5 else "M",
                "death_date": _day(rng) if rng.random() < 0.1 else None,
                "emigration_date": _day(rng) if rng.random() < 0.05 else None,
            }
        )
        for _ in range(int(rng.integers(0, 8))):
            system, code = CODES[rng.integers(len(CODES))]
            rows["diagnoses"].append(
                {
                    "citizen_id": cid,
                    "diagnosis_date": _day(rng),
                    "code_system": system,
                    "code": code,
                    "source": "gp" if system == "ICPC2" else "hospital",
                    "diagnosis_type": None if system == "ICPC2" else "A",
                }
            )
        for _ in range(int(rng.integers(0, 10))):
            issued = _day(rng)
            lag = int(rng.integers(0, 60))
            rows["prescriptions"].append(
                {
                    "citizen_id": cid,
                    "atc_code": ATC[rng.integers(len(ATC))],
                    "issued_date": issued,
                    "days_supply": int(rng.choice([30, 90, 100])),
                    "redeemed_date": issued + timedelta(days=lag)
                    if rng.random() < 0.7
                    else None,
                }
            )
        for _ in range(int(rng.integers(0, 10))):
            rows["appointments"].append(
                {
                    "citizen_id": cid,
                    "scheduled_date": _day(rng),
                    "kind": KINDS[rng.integers(len(KINDS))],
                    "provider_type": "gp",
                    "status": STATUSES[rng.integers(len(STATUSES))],
                }
            )
        for _ in range(int(rng.integers(0, 6))):
            rows["lab_results"].append(
                {
                    "citizen_id": cid,
                    "sample_date": _day(rng),
                    "npu_code": "NPU27300" if rng.random() < 0.85 else "NPU03835",
                    "value": float(rng.uniform(35, 75))
                    if rng.random() < 0.85
                    else float(rng.uniform(5, 9)),
                }
            )
        for _ in range(int(rng.integers(0, 4))):
            start = _day(rng)
            rows["hospital_contacts"].append(
                {
                    "citizen_id": cid,
                    "start_date": start,
                    "end_date": start + timedelta(days=int(rng.integers(0, 20))),
                    "contact_type": CONTACTS[rng.integers(len(CONTACTS))],
                }
            )
    return rows


CUT_AT = [
    "delete from raw.citizens where birth_date >= $t",
    "update raw.citizens set death_date = null where death_date >= $t",
    "update raw.citizens set emigration_date = null where emigration_date >= $t",
    "delete from raw.diagnoses where diagnosis_date >= $t",
    "delete from raw.prescriptions where issued_date >= $t",
    "update raw.prescriptions set redeemed_date = null where redeemed_date >= $t",
    "update raw.appointments set status = 'scheduled' where scheduled_date >= $t",
    "delete from raw.lab_results where sample_date >= $t",
    "delete from raw.hospital_contacts where start_date >= $t",
    "update raw.hospital_contacts set end_date = null where end_date >= $t",
] + [
    f"delete from raw.{table} where $t is not null"
    " and citizen_id not in (select citizen_id from raw.citizens)"
    for table in (
        "diagnoses",
        "prescriptions",
        "appointments",
        "lab_results",
        "hospital_contacts",
    )
]


def _frame(con: duckdb.DuckDBPyConnection, relation: str, as_of: date) -> pd.DataFrame:
    return con.execute(
        f"select * from {relation} where as_of_date = $t"
        " and citizen_id in (select citizen_id from raw.citizens where birth_date < $t)"
        " order by citizen_id",
        {"t": as_of},
    ).df()


@pytest.fixture(scope="module")
def full() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    create_raw(con, _extract())
    build_features(con, AS_OF)
    yield con
    con.close()


@pytest.fixture(scope="module", params=AS_OF, ids=str)
def cut(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[date, duckdb.DuckDBPyConnection]]:
    as_of = request.param
    con = duckdb.connect(":memory:")
    create_raw(con, _extract())
    for statement in CUT_AT:
        con.execute(statement, {"t": as_of})
    build_features(con, [as_of])
    yield as_of, con
    con.close()


@pytest.mark.parametrize("relation", RELATIONS)
def test_features_at_t_ignore_everything_on_or_after_t(
    full, cut, relation: str
) -> None:
    as_of, cut_con = cut
    expected = _frame(cut_con, relation, as_of)
    actual = _frame(full, relation, as_of)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-9)


def test_the_leakage_extract_is_not_trivial(full, cut) -> None:
    """The cut must remove or blank real rows and the features must vary."""
    as_of, cut_con = cut
    for table, column in [
        ("prescriptions", "redeemed_date"),
        ("lab_results", "sample_date"),
    ]:
        n_full = full.execute(f"select count({column}) from raw.{table}").fetchall()[0][
            0
        ]
        n_cut = cut_con.execute(f"select count({column}) from raw.{table}").fetchall()[
            0
        ][0]
        assert n_cut < n_full
    on_day = full.execute(
        "select count(*) from raw.appointments where scheduled_date = $t", {"t": as_of}
    ).fetchall()[0][0]
    assert on_day > 0
    stats = full.execute(
        "select count_if(has_diabetes), sum(n_no_shows_730d), sum(n_unredeemed_365d),"
        " count(hba1c_last_mmol_mol), count(days_since_eye_screening)"
        " from marts.scoring_features where as_of_date = $t",
        {"t": as_of},
    ).fetchall()[0]
    assert all(v and v > 0 for v in stats), stats
