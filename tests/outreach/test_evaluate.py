from __future__ import annotations

from datetime import date, timedelta

import pytest

from outreach.evaluate import evaluate_outreach
from outreach.lists import build_weekly_list

W30 = "2026-W30"
W30_MONDAY = date(2026, 7, 20)


@pytest.fixture
def evaluated(con, make_programme, upstream):
    upstream.build_region(con, as_of=W30_MONDAY)
    plan = make_programme(capacity_per_week=30, capacity_per_area={}, holdout_share=0.5)
    result = build_weekly_list(con, plan, week=W30)
    listed = [
        r[0] for r in con.execute("select citizen_id from outreach.lists").fetchall()
    ]
    held = [
        r[0] for r in con.execute("select citizen_id from outreach.holdouts").fetchall()
    ]
    # every listed citizen attends a control within 90 days; a quarter of the
    # held-out do
    for i, citizen in enumerate(listed + held[: len(held) // 4]):
        con.execute(
            "insert into raw.appointments values ($id, $c, $d, 'diabetes_control', "
            "'gp', 'attended')",
            {"id": f"A{i}", "c": citizen, "d": W30_MONDAY + timedelta(days=30)},
        )
    # an attendance after the follow-up window does not count
    con.execute(
        "insert into raw.appointments values ('late', $c, $d, 'diabetes_control', "
        "'gp', 'attended')",
        {"c": held[-1], "d": W30_MONDAY + timedelta(days=95)},
    )
    return con, plan, result, listed, held


def test_evaluate_outreach_estimates_effect_with_interval(evaluated) -> None:
    con, plan, _, listed, held = evaluated
    assert len(held) >= 20
    result = evaluate_outreach(con, plan, n_boot=500)
    assert result.status == "ok"
    assert (result.n_weeks, result.n_held_out) == (1, len(held))
    attended = next(
        e
        for e in result.estimates
        if e["outcome"] == "attended relevant control"
        and e["comparison"] == "listed_vs_held_out"
    )
    assert attended["held_out_rate"] == round((len(held) // 4) / len(held), 4)
    assert attended["treated_rate"] == 1.0
    assert attended["ci_low"] <= attended["difference"] <= attended["ci_high"]
    assert attended["ci_low"] > 0.5
    harm = next(
        e
        for e in result.estimates
        if e["outcome"] == "acute hospital contact"
        and e["comparison"] == "listed_vs_held_out"
    )
    assert harm["difference"] == 0.0


def test_evaluate_outreach_not_enough_weeks_yet(
    region, make_programme, upstream
) -> None:
    plan = make_programme(capacity_per_week=30, capacity_per_area={}, holdout_share=0.5)
    build_weekly_list(region, plan, week=upstream.WEEK)
    result = evaluate_outreach(region, plan)
    assert result.status == "not_enough_weeks"
    assert result.message == (
        "Not enough weeks yet: 0 list week(s) of 'test_bus' have 90 days of "
        "follow-up before the "
        "extract date 2026-11-23, with 0 held-out citizen(s); at least 20 are needed."
    )
    assert result.estimates == []


def _reached_group(con, plan) -> int:
    estimates = evaluate_outreach(con, plan, n_boot=50).estimates
    return next(
        e["n_treated"] for e in estimates if e["comparison"] == "reached_vs_held_out"
    )


def test_evaluate_outreach_counts_reached_from_the_current_outcomes(evaluated) -> None:
    from outreach.app.store import duckdb_store
    from outreach.corrections import retract_contact
    from outreach.recording import record_contacts

    con, plan, result, listed, _ = evaluated
    entries = [
        {"citizen_id": c, "outcome": "reached", "outcome_date": "2026-07-21"}
        for c in listed
    ]
    record_contacts(con, programme=plan.name, week=W30, entries=entries,
                    today=date(2026, 7, 24))  # fmt: skip
    before = _reached_group(con, plan)
    store = duckdb_store(con)
    run = store.current_run(plan.name, W30)
    top = store.read_list(result.list_id).sort_values("risk_rank")["citizen_id"]
    for citizen in top[:10]:
        contact = store.contacts_of(result.list_id, citizen)[0]
        retract_contact(store, run, citizen, contact["contact_id"], reason="no",
                        actor="t")  # fmt: skip
    assert before > 10
    assert _reached_group(con, plan) == before - 10
