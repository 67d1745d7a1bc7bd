"""Corrections, retractions and opt-out withdrawals on both store backends.

Nothing recorded is overwritten: a correction appends a contact and a change
row, a retraction a change row; the current outcomes (``current_contacts``)
are what the next list, the reports and the evaluation read.
"""

from __future__ import annotations

from datetime import date

import pytest

from features.errors import NotFoundError
from outreach.app.store import stage_operational_tables
from outreach.corrections import CHANGE_REFUSALS, correct_contact, retract_contact
from outreach.lists import build_weekly_list
from outreach.opt_outs import (
    ALREADY_OPTED_OUT,
    NOT_OPTED_OUT,
    add_opt_out,
    withdraw_opt_out,
)
from outreach.recording import REASON_HAS_CPR, record_contacts

TODAY = date(2026, 11, 27)
LIST_ID = "test_bus-2026-W48-r1"


@pytest.fixture
def recorded(ops, region, make_programme, upstream):
    """The W48 list with P00000 reached on the 24th and P00001 declined on the 25th."""
    plan = make_programme()
    build_weekly_list(region, plan, week=upstream.WEEK, store=ops)
    entries = [
        {"citizen_id": "P00000", "outcome": "reached", "outcome_date": "2026-11-24"},
        {"citizen_id": "P00001", "outcome": "declined", "outcome_date": "2026-11-25"},
    ]
    record_contacts(None, programme="test_bus", week=upstream.WEEK, entries=entries,
                    actor="anna", today=TODAY, store=ops)  # fmt: skip
    return ops, ops.current_run("test_bus", upstream.WEEK), plan


def _only(ops, citizen: str) -> str:
    contacts = ops.contacts_of(LIST_ID, citizen)
    assert len(contacts) == 1
    return str(contacts[0]["contact_id"])


def _correct(ops, run, citizen: str, contact_id: str, **values: str):
    listed = set(ops.read_list(LIST_ID)["citizen_id"])
    return correct_contact(
        ops, run, citizen, contact_id, values=values, reason="wrong row",
        actor="bo", today=TODAY, listed=listed,
    )  # fmt: skip


def test_correction_appends_and_the_original_stays_in_the_history(recorded) -> None:
    ops, run, _ = recorded
    original = _only(ops, "P00000")
    done = _correct(ops, run, "P00000", original, outcome="screened",
                    outcome_date="2026-11-25", note="fine")  # fmt: skip
    assert done.refusal is None
    history = ops.contacts_of(LIST_ID, "P00000")
    assert [(h["outcome"], h["action"], h["corrects"]) for h in history] == [
        ("reached", "corrected", None),
        ("screened", None, original),
    ]
    assert history[0]["replaced_by"] == history[1]["contact_id"]
    assert (history[0]["change_reason"], history[0]["changed_by"]) == (
        "wrong row",
        "bo",
    )
    assert history[1]["recorded_by"] == "bo" and history[1]["source"] == "correction"
    assert ops.recorded_on(LIST_ID) == {"P00000": "screened", "P00001": "declined"}
    again = _correct(ops, run, "P00000", original, outcome="unreachable",
                     outcome_date="2026-11-25")  # fmt: skip
    assert again.refusal == CHANGE_REFUSALS["changed_already"]
    events = ops.read_audit_log()["event"].tolist()
    assert events.count("corrected") == 1


def test_a_correction_onto_a_kept_outcome_and_date_writes_nothing(recorded) -> None:
    ops, run, _ = recorded
    record_contacts(None, programme="test_bus", week=run["week"], store=ops,
                    entries=[{"citizen_id": "P00000", "outcome": "screened",
                              "outcome_date": "2026-11-26"}], today=TODAY)  # fmt: skip
    screened = [
        c for c in ops.contacts_of(LIST_ID, "P00000") if c["outcome"] == "screened"
    ]
    done = _correct(ops, run, "P00000", str(screened[0]["contact_id"]),
                    outcome="reached", outcome_date="2026-11-24")  # fmt: skip
    assert done.refusal == CHANGE_REFUSALS["clash"]
    assert len(ops.read_table("contact_changes")) == 0
    assert len(ops.contacts_of(LIST_ID, "P00000")) == 2


def test_a_retracted_outcome_can_be_recorded_again_with_its_history(recorded) -> None:
    ops, run, _ = recorded
    first = _only(ops, "P00000")
    retract_contact(ops, run, "P00000", first, reason="wrong person", actor="bo")
    entry = {"citizen_id": "P00000", "outcome": "reached", "outcome_date": "2026-11-24"}
    again = record_contacts(None, programme="test_bus", week=run["week"], store=ops,
                            entries=[entry], actor="anna", today=TODAY)  # fmt: skip
    assert again.n_recorded == 1
    current = ops.backend.rows(
        "select outcome, generation from outreach.current_contacts "
        "where citizen_id = 'P00000'"
    )
    assert current == [{"outcome": "reached", "generation": 1}]
    history = ops.contacts_of(LIST_ID, "P00000")
    assert [(h["outcome"], h["action"]) for h in history] == [
        ("reached", "retracted"),
        ("reached", None),
    ]
    events = ops.read_audit_log()["event"].tolist()
    assert events.count("recorded") == 2 and events.count("retracted") == 1
    repeat = record_contacts(None, programme="test_bus", week=run["week"], store=ops,
                             entries=[entry], actor="anna", today=TODAY)  # fmt: skip
    assert repeat.n_recorded == 0  # the current one is not stored twice
    assert ops.recorded_on(LIST_ID)["P00000"] == "reached"


def test_a_contact_of_another_citizen_or_list_is_not_found(recorded) -> None:
    ops, run, _ = recorded
    with pytest.raises(NotFoundError, match="No current outcome"):
        retract_contact(ops, run, "P00001", _only(ops, "P00000"), reason="x", actor="b")
    with pytest.raises(NotFoundError):
        retract_contact(ops, run, "P00000", "nope", reason="x", actor="b")


def test_a_retracted_decline_no_longer_keeps_the_citizen_off_the_next_list(
    recorded, region, upstream
) -> None:
    ops, run, plan = recorded
    done = retract_contact(ops, run, "P00001", _only(ops, "P00001"),
                           reason="it was P00004", actor="bo")  # fmt: skip
    assert done.refusal is None
    stage_operational_tables(region, ops)
    staged = region.execute("select citizen_id from ops_contacts order by 1").fetchall()
    assert staged == [("P00000",)]
    nxt = build_weekly_list(region, plan, week=upstream.NEXT_WEEK, store=ops)
    assert nxt.counts["excluded"].get("declined", 0) == 0
    assert "P00001" in set(ops.read_list(nxt.list_id)["citizen_id"])


def test_opt_out_withdrawn_is_kept_and_the_citizen_can_opt_out_again(ops) -> None:
    added = add_opt_out(ops, "P00005", reason="phoned", actor="anna", today=TODAY)
    assert added.refusal is None
    twice = add_opt_out(ops, "P00005", reason="again", actor="anna", today=TODAY)
    assert twice.refusal == ALREADY_OPTED_OUT
    assert (
        withdraw_opt_out(ops, "P00005", reason="wants contact", actor="bo").refusal
        is None
    )
    assert (
        withdraw_opt_out(ops, "P00005", reason="x", actor="bo").refusal == NOT_OPTED_OUT
    )
    assert ops.opt_out_register() == []
    kept = ops.opt_out_withdrawals()
    assert [(k["citizen_id"], k["reason"], k["withdrawal_reason"]) for k in kept] == [
        ("P00005", "phoned", "wants contact")
    ]
    assert (
        add_opt_out(ops, "P00005", reason="again", actor="anna", today=TODAY).refusal
        is None
    )
    assert [r["reason"] for r in ops.opt_out_register()] == ["again"]
    events = ops.read_audit_log()["event"].tolist()
    assert events == ["opt_out_added", "opt_out_withdrawn", "opt_out_added"]


def test_register_changes_need_a_reason_without_a_cpr_number(ops) -> None:
    refused = add_opt_out(ops, "P00005", reason="010190-1234", actor="a", today=TODAY)
    assert refused.refusal == REASON_HAS_CPR
    assert ops.opt_out_register() == [] and ops.read_audit_log().empty
