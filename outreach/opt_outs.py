"""The opt-out register: add a citizen with a reason, withdraw with a reason.

There is one register, ``outreach.opt_outs``; every list leaves its citizens
out (``outreach/sql/exclusions.sql`` and the list's invariant check read it as
``ops_opt_outs``). Recording ``declined`` with an opt-out adds to it
(:mod:`outreach.recording`); a coordinator can also add a citizen directly, or
withdraw an opt-out, which moves the row with the withdrawal into
``outreach.opt_out_withdrawals``. An opt-out flagged in the extract itself
(``raw.citizens.outreach_opt_out``) is the source system's and cannot be
withdrawn here. Each change is audited without the citizen's id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from outreach.actor import now_utc
from outreach.app.store import OperationalStore
from outreach.list_audit import append_event
from outreach.recording import reason_problem

__all__ = [
    "ALREADY_OPTED_OUT",
    "NOT_OPTED_OUT",
    "OptOutResult",
    "add_opt_out",
    "withdraw_opt_out",
]

log = logging.getLogger(__name__)

ALREADY_OPTED_OUT = "the citizen is in the opt-out register already"
NOT_OPTED_OUT = "the citizen is not in the opt-out register"


@dataclass(frozen=True)
class OptOutResult:
    """What a change to the register did: ``refusal`` is None when it was kept."""

    action: str
    refusal: str | None = None


def add_opt_out(
    store: OperationalStore,
    citizen_id: str,
    *,
    reason: str,
    actor: str,
    today: date,
) -> OptOutResult:
    """Add a citizen to the opt-out register (no list of theirs is needed).

    Parameters
    ----------
    store : OperationalStore
        Where the register lives.
    citizen_id : str
        The pseudonym (the caller checks it is in the actor's scope).
    reason : str
        Why (required; no CPR-shaped number).
    actor : str
        Who adds.
    today : date
        The opt-out's date.

    Returns
    -------
    OptOutResult
    """
    problem = reason_problem(reason)
    if problem is not None:
        return OptOutResult("opt_out_added", problem)
    row = {
        "citizen_id": citizen_id,
        "opted_out_date": today,
        "list_id": None,
        "recorded_by": actor,
        "recorded_at": now_utc(),
        "reason": reason.strip(),
    }
    if not store.add_opt_out(row):
        return OptOutResult("opt_out_added", ALREADY_OPTED_OUT)
    _audit(store, "opt_out_added", actor, reason)
    return OptOutResult("opt_out_added")


def withdraw_opt_out(
    store: OperationalStore, citizen_id: str, *, reason: str, actor: str
) -> OptOutResult:
    """Withdraw a citizen's opt-out; the register's row is kept with the withdrawal.

    Parameters
    ----------
    store : OperationalStore
        Where the register lives.
    citizen_id : str
        The pseudonym (the caller checks it is in the actor's scope).
    reason : str
        Why (required; no CPR-shaped number).
    actor : str
        Who withdraws.

    Returns
    -------
    OptOutResult
    """
    problem = reason_problem(reason)
    if problem is not None:
        return OptOutResult("opt_out_withdrawn", problem)
    withdrawal = {
        "withdrawn_by": actor,
        "withdrawn_at": now_utc(),
        "withdrawal_reason": reason.strip(),
    }
    if not store.withdraw_opt_out(citizen_id, withdrawal):
        return OptOutResult("opt_out_withdrawn", NOT_OPTED_OUT)
    _audit(store, "opt_out_withdrawn", actor, reason)
    return OptOutResult("opt_out_withdrawn")


def _audit(store: OperationalStore, event: str, actor: str, reason: str) -> None:
    """Append the change with its reason and a count (never the citizen's id)."""
    append_event(
        None,
        event,
        store=store,
        actor=actor,
        counts={"opt_outs": 1, "reason": reason.strip()},
    )
    log.info("opt-out register: %s", event)
