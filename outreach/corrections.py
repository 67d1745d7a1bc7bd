"""Correct or retract a recorded outcome, with a reason, keeping the history.

A coordinator who recorded the wrong outcome (or the right one for the wrong
citizen) does not edit it: :func:`correct_contact` appends the corrected
contact and a change row naming the original, :func:`retract_contact` appends
only the change row. The current outcomes are the contacts no change names
(``outreach.current_contacts``); the list builder, the programme report, the
evaluation and monitoring count those. Each change is audited with who, when,
what (outcomes, never a citizen id) and the reason. The corrected outcome is
validated by :func:`outreach.recording.parse_record_row`, as ``opspor record``
validates a row.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from features.errors import NotFoundError
from outreach.actor import now_utc
from outreach.app.store import OperationalStore
from outreach.list_audit import append_list_event
from outreach.lists import parse_week
from outreach.recording import (
    EMPTY_OUTCOME,
    NOT_IN_AREAS,
    parse_record_row,
    reason_problem,
)

__all__ = [
    "CHANGE_REFUSALS",
    "NOT_A_CONTACT",
    "ChangeResult",
    "correct_contact",
    "retract_contact",
]

log = logging.getLogger(__name__)

NOT_A_CONTACT = "No current outcome {contact_id!r} for this citizen on list {list_id}."
#: Why a change is refused, by code (the web app's text key).
CHANGE_REFUSALS = {
    "same_outcome": "the correction repeats the recorded outcome and date",
    "changed_already": "this outcome was corrected or retracted already",
    "clash": "the citizen already has that outcome on that date on this list",
}


@dataclass(frozen=True)
class ChangeResult:
    """What a correction or retraction did: ``refusal`` is None when it was kept."""

    action: str
    contact_id: str
    refusal: str | None = None


@dataclass(frozen=True)
class _Target:
    """The contact to change, on the frozen run of its list."""

    run: Mapping[str, Any]
    contact: Mapping[str, Any]
    citizen_id: str


def _target(
    store: OperationalStore, run: Mapping[str, Any], citizen_id: str, contact_id: str
) -> _Target:
    """Return the contact if it is this citizen's on this run (else NotFoundError)."""
    contact = store.contact(contact_id)
    if (
        contact is None
        or str(contact["list_id"]) != str(run["list_id"])
        or str(contact["citizen_id"]) != citizen_id
    ):
        raise NotFoundError(
            NOT_A_CONTACT.format(contact_id=contact_id, list_id=run["list_id"])
        )
    return _Target(run, contact, citizen_id)


def _change(target: _Target, action: str, reason: str, actor: str) -> dict[str, Any]:
    """Return the change row for a contact."""
    return {
        "contact_id": str(target.contact["contact_id"]),
        "list_id": str(target.run["list_id"]),
        "citizen_id": target.citizen_id,
        "action": action,
        "reason": reason.strip(),
        "changed_by": actor,
        "changed_at": now_utc(),
    }


def correct_contact(
    store: OperationalStore,
    run: Mapping[str, Any],
    citizen_id: str,
    contact_id: str,
    *,
    values: Mapping[str, Any],
    reason: str,
    actor: str,
    today: date,
    listed: Collection[str],
) -> ChangeResult:
    """Replace a recorded outcome with a corrected one; keep both and the reason.

    Parameters
    ----------
    store : OperationalStore
        Where contacts live.
    run : Mapping
        The frozen list run the contact belongs to.
    citizen_id, contact_id : str
        Whose outcome, and which.
    values : Mapping
        ``outcome``, ``outcome_date``, ``note`` of the corrected outcome (an
        opt-out is kept in the opt-out register, not here).
    reason : str
        Why (required; no CPR-shaped number).
    actor : str
        Who corrects (also ``recorded_by`` of the corrected contact).
    today : date
        The date outcomes may not be after.
    listed : collection of str
        The citizens the actor may record (their scope on the list).

    Returns
    -------
    ChangeResult
        ``refusal`` holds the reason from :mod:`outreach.recording` or
        :data:`CHANGE_REFUSALS` when nothing was written.

    Raises
    ------
    NotFoundError
        The contact is not this citizen's on this list.
    """
    target = _target(store, run, citizen_id, contact_id)
    problem = reason_problem(reason)
    parsed = problem or _parse(target, values, actor, today, listed)
    if isinstance(parsed, str):
        return ChangeResult("corrected", contact_id, parsed)
    return _apply(store, target, "corrected", reason, actor, parsed)


def _parse(
    target: _Target,
    values: Mapping[str, Any],
    actor: str,
    today: date,
    listed: Collection[str],
) -> dict[str, Any] | str:
    """Parse the corrected outcome like a record row; refuse a repeat."""
    entry = {
        "citizen_id": target.citizen_id,
        "outcome": values.get("outcome", ""),
        "outcome_date": values.get("outcome_date", ""),
        "note": values.get("note", ""),
        "opt_out": "",
        "recorded_by": actor,
    }
    parsed = parse_record_row(
        entry,
        listed=set(listed),
        list_id=str(target.run["list_id"]),
        week_start=parse_week(str(target.run["week"])),
        today=today,
        actor=actor,
        outside=NOT_IN_AREAS,
    )
    if parsed is None:
        return EMPTY_OUTCOME
    if isinstance(parsed, dict) and _same(parsed, target.contact):
        return CHANGE_REFUSALS["same_outcome"]
    return parsed


def _same(parsed: Mapping[str, Any], contact: Mapping[str, Any]) -> bool:
    """Return True when the correction keeps the original outcome and date."""
    day = pd.Timestamp(contact["outcome_date"]).date()
    return bool(
        parsed["outcome"] == contact["outcome"] and parsed["outcome_date"] == day
    )


def retract_contact(
    store: OperationalStore,
    run: Mapping[str, Any],
    citizen_id: str,
    contact_id: str,
    *,
    reason: str,
    actor: str,
) -> ChangeResult:
    """Undo a recorded outcome: it stays in the history, marked retracted.

    Parameters
    ----------
    store, run, citizen_id, contact_id
        As in :func:`correct_contact`.
    reason : str
        Why (required; no CPR-shaped number).
    actor : str
        Who retracts.

    Returns
    -------
    ChangeResult

    Raises
    ------
    NotFoundError
        The contact is not this citizen's on this list.
    """
    target = _target(store, run, citizen_id, contact_id)
    problem = reason_problem(reason)
    if problem is not None:
        return ChangeResult("retracted", contact_id, problem)
    return _apply(store, target, "retracted", reason, actor, None)


def _apply(
    store: OperationalStore,
    target: _Target,
    action: str,
    reason: str,
    actor: str,
    replacement: dict[str, Any] | None,
) -> ChangeResult:
    """Write the change (and the replacement) in one transaction; audit it."""
    contact_id = str(target.contact["contact_id"])
    new = None
    if replacement is not None:
        new = {
            **replacement,
            "list_id": str(target.run["list_id"]),
            "programme": str(target.run["programme"]),
            "week": str(target.run["week"]),
            "recorded_at": now_utc(),
            "source": "correction",
            "corrects": contact_id,
            "reason": reason.strip(),
        }
    outcome = store.change_contact(_change(target, action, reason, actor), new)
    if outcome != "changed":
        return ChangeResult(action, contact_id, CHANGE_REFUSALS[outcome])
    _audit(store, target, action, reason, actor, new)
    return ChangeResult(action, contact_id)


def _audit(
    store: OperationalStore,
    target: _Target,
    action: str,
    reason: str,
    actor: str,
    new: Mapping[str, Any] | None,
) -> None:
    """Append who changed what and why (outcomes and counts, never a citizen id)."""
    run = target.run
    append_list_event(
        store,
        action,
        actor=actor,
        run=run,
        counts={
            "contacts": 1,
            "from": str(target.contact["outcome"]),
            "to": None if new is None else str(new["outcome"]),
            "reason": reason.strip(),
        },
    )
    log.info("list %s: one outcome %s", run["list_id"], action)
