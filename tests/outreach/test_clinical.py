"""Clinical suppression rules (outreach.clinical): already screened, in-patient now."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from features.errors import ConfigError
from outreach.lists import build_weekly_list, read_list
from outreach.programmes import Programme


def _lab(con: duckdb.DuckDBPyConnection, citizen: str, npu: str, days: int) -> None:
    con.execute(
        "insert into raw.lab_results values ($c, $d, $n, 5.0, 'x')",
        {"c": citizen, "d": date(2026, 11, 23) - timedelta(days=days), "n": npu},
    )


def _stay(
    con: duckdb.DuckDBPyConnection,
    citizen: str,
    start: int,
    end: int | None,
    kind: str = "acute_admission",
) -> None:
    as_of = date(2026, 11, 23)
    con.execute(
        "insert into raw.hospital_contacts values ($id, $c, $s, $e, $k, 'DI219')",
        {
            "id": f"H-{citizen}-{start}",
            "c": citizen,
            "s": as_of - timedelta(days=start),
            "e": None if end is None else as_of - timedelta(days=end),
            "k": kind,
        },
    )


@pytest.fixture
def clinical_region(con: duckdb.DuckDBPyConnection, upstream: Any) -> Any:
    upstream.build_region(con, overrides={7: {"outreach_opt_out": True}})
    con.execute(
        "create table raw.lab_results (citizen_id varchar, sample_date date,"
        " npu_code varchar, value double, unit varchar)"
    )
    _lab(con, "P00000", "NPU27300", 100)  # HbA1c and LDL in the year: screened
    _lab(con, "P00000", "NPU01568", 200)
    _lab(con, "P00001", "NPU27300", 100)  # HbA1c only
    _lab(con, "P00002", "NPU27300", 100)  # lipids too long ago
    _lab(con, "P00002", "NPU01566", 400)
    _lab(con, "P00007", "NPU27300", 10)  # opted out and screened: stays opt_out
    _lab(con, "P00007", "NPU01566", 10)
    _stay(con, "P00003", 5, None)  # admitted, not discharged: in-patient
    _stay(con, "P00004", 30, 2)  # discharged before the as-of date
    _stay(con, "P00005", 10, -3, "planned_admission")  # discharged after it
    _stay(con, "P00006", 1, None, "outpatient")  # not an admission
    return upstream


def test_screened_and_inpatients_are_kept_off_with_their_reason(
    con: duckdb.DuckDBPyConnection, make_programme: Any, clinical_region: Any
) -> None:
    programme = make_programme(screened_within_days=365, exclude_inpatients=True)
    result = build_weekly_list(con, programme, week=clinical_region.WEEK)
    listed = set(read_list(con, result.list_id)["citizen_id"])
    assert listed.isdisjoint({"P00000", "P00003", "P00005", "P00007"})
    assert {"P00001", "P00002", "P00004", "P00006"} <= listed
    assert result.counts["suppressed"]["screened"] == 1
    assert result.counts["suppressed"]["inpatient"] == 2
    assert result.counts["excluded"]["opt_out"] == 1
    assert len(listed) == programme.capacity_per_week


def test_clinical_rules_are_off_by_default(
    con: duckdb.DuckDBPyConnection, make_programme: Any, clinical_region: Any
) -> None:
    result = build_weekly_list(con, make_programme(), week=clinical_region.WEEK)
    listed = set(read_list(con, result.list_id)["citizen_id"])
    assert {"P00000", "P00003", "P00005"} <= listed
    assert set(result.counts["suppressed"]) == {
        "declined",
        "recent_contact",
        "attended_control",
    }


def test_clinical_keys_are_checked_at_build() -> None:
    with pytest.raises(ConfigError) as error:
        Programme.from_mapping(
            {
                "name": "p",
                "cohort": "has_smi",
                "model_name": "m",
                "capacity_per_week": 5,
                "exclude_inpatients": "yes",
            }
        )
    assert str(error.value) == (
        "The 'exclude_inpatients' parameter of Programme must be a bool. "
        "Got 'yes' instead."
    )
