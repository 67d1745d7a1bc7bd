"""The timelines layer: list macros, alignment, and what the mart reads from it."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from features.build import create_macros

T = date(2024, 6, 1)
DATES = [date(2024, 3, 1), T, date(2023, 12, 1)]  # not in order on purpose
TIMELINES = ("tl_attendance", "tl_glycaemic", "tl_utilization")


def before(days: int) -> date:
    return T - timedelta(days=days)


@pytest.fixture
def macros(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    create_macros(con)
    return con


def _one(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    row = con.execute(f"select {sql}", list(params)).fetchone()
    assert row is not None
    return row[0]


def test_n_within_days_counts_the_window_before_the_date_only(macros) -> None:
    events = [before(0), before(1), before(365), before(366), T + timedelta(days=3)]
    # on as_of_date: not yet known; 365 days before: in; 366: out; after: out
    assert _one(macros, "n_within_days(?::date[], ?::date, 365)", events, T) == 2
    assert _one(macros, "n_within_days(NULL::date[], ?::date, 365)", T) == 0
    assert _one(macros, "n_within_days([]::date[], ?::date, 365)", T) == 0
    each = "n_within_days_each(?::date[], ?::date[], 365)"
    # one count per date: T+5 sees T-1, T and T+3, no longer T-365 or T-366
    later = [before(1), T, T + timedelta(days=5)]
    assert _one(macros, each, events, later) == [2, 2, 3]


def test_last_before_is_strictly_before_and_null_without_one(macros) -> None:
    events = [before(30), T, before(2), before(400)]
    assert _one(macros, "last_before(?::date[], ?::date)", events, T) == before(2)
    assert _one(macros, "last_before(?::date[], ?::date)", [T], T) is None
    assert _one(macros, "last_before(NULL::date[], ?::date)", T) is None


def test_list_regr_slope_equals_regr_slope(macros) -> None:
    macros.execute(
        "create table pts as select g, (random() * 700)::integer as x,"
        " 40 + random() * 60 as y from range(200) t(i), (select i % 40 as g)"
    )
    diffs = macros.execute(
        """
        select max(abs(a.s - b.s)), count(*), count(a.s)
        from (select g, regr_slope(y, x) as s from pts group by g) as a
        join (
            select g, list_regr_slope(list(y order by x), list(x order by x)) as s
            from pts group by g
        ) as b using (g)
        """
    ).fetchone()
    assert diffs is not None and diffs[1] == diffs[2] == 40
    assert diffs[0] < 1e-9
    assert _one(macros, "list_regr_slope([1.0, 2.0], [5, 5])") is None


def test_timelines_are_aligned_with_each_citizens_dates(
    con, make_raw, build, rows_of
) -> None:
    make_raw(
        {
            "citizens": [{"citizen_id": c} for c in ("c1", "c2")],
            "hospital_contacts": [
                {
                    "citizen_id": "c1",
                    "contact_type": "acute_admission",
                    "start_date": before(10),
                },
            ],
            "lab_results": [
                {"citizen_id": "c1", "sample_date": before(200), "value": 60.0},
                {"citizen_id": "c1", "sample_date": before(20), "value": 70.0},
            ],
        }
    )
    build(DATES)
    for stem in TIMELINES:
        rows = con.execute(f"select * from timelines.{stem} order by citizen_id")
        names = [d[0] for d in rows.description]
        for row in rows.fetchall():
            values = dict(zip(names, row, strict=True))
            assert values["as_of_date"] == sorted(DATES), stem
            for name, value in values.items():
                if name != "citizen_id":
                    assert len(value) == len(DATES), (stem, name)
    # c1 at 2023-12-01, 2024-03-01, 2024-06-01: the admission (2024-05-22) counts
    # only at the last; the sample of 2023-11-14 at all three, that of 2024-05-12
    # only at the last.
    assert con.execute(
        "select n_acute_admissions_365d from timelines.tl_utilization"
        " where citizen_id = 'c1'"
    ).fetchone() == ([0, 0, 1],)
    assert con.execute(
        "select hba1c_last_mmol_mol, n_hba1c_730d from timelines.tl_glycaemic"
        " where citizen_id = 'c1'"
    ).fetchone() == ([60.0, 60.0, 70.0], [1, 1, 2])


def test_mart_reads_the_same_values_as_the_citizen_views(con, make_raw, build) -> None:
    make_raw(
        {
            "citizens": [{"citizen_id": c} for c in ("c1", "c2", "c3")],
            "appointments": [
                {
                    "citizen_id": "c2",
                    "kind": "eye_screening",
                    "scheduled_date": before(100),
                    "status": "attended",
                },
                {
                    "citizen_id": "c3",
                    "kind": "diabetes_control",
                    "scheduled_date": before(50),
                    "status": "no_show",
                },
            ],
            "lab_results": [
                {"citizen_id": "c3", "sample_date": before(90), "value": 55.0},
            ],
        }
    )
    build(DATES)
    for view in ("feat_attendance", "feat_glycaemic", "feat_utilization"):
        cols = con.execute(f"select * from citizen.{view} limit 0").description
        pick = ", ".join(c[0] for c in cols)
        pair = (f"citizen.{view}", "marts.scoring_features")
        for left, right in (pair, pair[::-1]):
            extra = con.execute(
                f"select count(*) from (select {pick} from {left}"
                f" except all select {pick} from {right})"
            ).fetchone()
            assert extra == (0,), (view, left)
    n = con.execute("select count(*) from marts.scoring_features").fetchone()
    assert n == (3 * len(DATES),)
