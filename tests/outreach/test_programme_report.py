from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from features.errors import NotFoundError
from outreach.lists import build_weekly_list, read_list
from outreach.programme_report import build_programme_report
from outreach.recording import record_contacts

TODAY = date(2026, 11, 27)


@pytest.fixture
def reported(con, make_programme, upstream):
    # 30 citizens listed: the first 12 have basic education, the rest long_tertiary
    # but 3 'vocational'
    overrides = {i: {"education_level": "long_tertiary"} for i in range(12, 90)}
    overrides.update({i: {"education_level": "vocational"} for i in (12, 13, 14)})
    upstream.build_region(con, overrides=overrides)
    plan = make_programme(capacity_per_week=30, capacity_per_area={})
    result = build_weekly_list(con, plan, week=upstream.WEEK)
    ids = read_list(con, result.list_id)["citizen_id"].tolist()
    entries = [
        *(
            {"citizen_id": c, "outcome": "reached", "outcome_date": "2026-11-24"}
            for c in ids[:3]
        ),
        *(
            {"citizen_id": c, "outcome": "screened", "outcome_date": "2026-11-25"}
            for c in ids[20:28]
        ),
        {"citizen_id": ids[20], "outcome": "reached", "outcome_date": "2026-11-24"},
        {"citizen_id": ids[29], "outcome": "declined", "outcome_date": "2026-11-25"},
    ]
    record_contacts(
        con, programme="test_bus", week=upstream.WEEK, entries=entries, today=TODAY
    )
    return con


def _row(report, scope: str, week: str, level: str) -> dict:
    return next(
        r
        for r in report.rows
        if (r["scope"], r["week"], r["education_level"]) == (scope, week, level)
    )


def test_build_programme_report_counts_by_week_and_education(reported) -> None:
    report = build_programme_report(reported, "test_bus")
    assert report.weeks == ["2026-W48"]
    overall = _row(report, "week", "2026-W48", "all")
    assert {k: overall[k] for k in ("listed", "reached", "screened", "declined")} == {
        "listed": 30,
        "reached": 12,
        "screened": 8,
        "declined": 1,
    }
    assert overall["reached_rate"] == 0.4
    week_tertiary = _row(report, "week", "2026-W48", "long_tertiary")
    assert (week_tertiary["listed"], week_tertiary["reached"]) == (15, 9)
    tertiary = _row(report, "all_weeks", "all", "long_tertiary")
    assert (
        tertiary["listed"],
        tertiary["reached"],
        tertiary["screened"],
        tertiary["declined"],
    ) == (15, 9, 8, 1)


def test_build_programme_report_suppresses_small_cells(reported) -> None:
    report = build_programme_report(reported, "test_bus")
    vocational = _row(report, "week", "2026-W48", "vocational")
    assert vocational["suppressed"] is True
    assert all(
        vocational[k] is None
        for k in ("listed", "reached", "screened", "declined", "reached_rate")
    )
    # 30 listed = 12 basic + 3 vocational + 15 long: with vocational alone hidden,
    # 30 - 12 - 15 would give it away, so basic (the next smallest) goes too.
    for scope, week in (("week", "2026-W48"), ("all_weeks", "all")):
        basic = _row(report, scope, week, "basic")
        assert basic["suppressed"] is True and basic["listed"] is None
        assert _row(report, scope, week, "long_tertiary")["suppressed"] is False
        assert _row(report, scope, week, "all")["listed"] == 30


def test_build_programme_report_writes_json_without_ids(
    reported, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    report = build_programme_report(reported, "test_bus", week="2026-W48", out_path=out)
    assert report.path == str(out)
    text = out.read_text(encoding="utf-8")
    assert json.loads(text)["programme"] == "test_bus"
    assert "P000" not in text


def test_build_programme_report_needs_lists(region) -> None:
    with pytest.raises(NotFoundError) as error:
        build_programme_report(region, "test_bus", week="2026-W48")
    assert (
        str(error.value)
        == "No frozen lists for programme 'test_bus' week 2026-W48. Run `opspor "
        "list` first."
    )


def _change_first(con, citizen: str, action: str, values: dict | None = None) -> None:
    """Correct or retract the first recorded outcome of a citizen."""
    from outreach.app.store import duckdb_store
    from outreach.corrections import correct_contact, retract_contact

    store = duckdb_store(con)
    run = store.current_run("test_bus", "2026-W48")
    contact = store.contacts_of(run["list_id"], citizen)[0]
    if action == "retract":
        done = retract_contact(
            store, run, citizen, contact["contact_id"], reason="wrong", actor="t"
        )
    else:
        listed = set(store.read_list(run["list_id"])["citizen_id"])
        done = correct_contact(
            store, run, citizen, contact["contact_id"], values=values or {},
            reason="wrong", actor="t", today=TODAY, listed=listed,
        )  # fmt: skip
    assert done.refusal is None


def test_programme_report_counts_the_current_outcomes_only(reported) -> None:
    ids = read_list(reported, "test_bus-2026-W48-r1")["citizen_id"].tolist()
    _change_first(reported, ids[29], "retract")  # the one declined
    _change_first(
        reported, ids[0], "correct",
        {"outcome": "screened", "outcome_date": "2026-11-25"},
    )  # fmt: skip
    overall = _row(
        build_programme_report(reported, "test_bus"), "week", "2026-W48", "all"
    )
    assert {k: overall[k] for k in ("listed", "reached", "screened", "declined")} == {
        "listed": 30,
        "reached": 11,
        "screened": 9,
        "declined": 0,
    }
