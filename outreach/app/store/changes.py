"""Corrections, retractions and the opt-out register's additions and withdrawals.

Nothing recorded is overwritten. Correcting a contact appends a new contact
(``corrects`` names the original) and a ``contact_changes`` row saying who
changed which contact, when and why; retracting one appends only that row.
The current outcomes are the contacts no change names: the view
``outreach.current_contacts`` (migration 0002), which every reader counts.
Withdrawing an opt-out moves the register's row, with the withdrawal, into
``opt_out_withdrawals`` in one transaction, so the register stays the set every
list honours and its history is kept. :class:`ChangeTable` gives
:class:`~outreach.app.store.store.OperationalStore` these writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from outreach.app.store.backends import Backend, Transaction, insert_sql

__all__ = [
    "CHANGE_COLUMNS",
    "CONTACT_KEY",
    "OPT_OUT_COLUMNS",
    "WITHDRAWAL_COLUMNS",
    "ChangeOutcome",
    "ChangeTable",
]

ChangeOutcome = Literal["changed", "changed_already", "clash", "unknown"]
CHANGE_COLUMNS = (
    "contact_id", "list_id", "citizen_id", "action", "replaced_by", "reason",
    "changed_by", "changed_at",
)  # fmt: skip
OPT_OUT_COLUMNS = (
    "citizen_id", "opted_out_date", "list_id", "recorded_by", "recorded_at", "reason",
)  # fmt: skip
WITHDRAWAL_COLUMNS = (
    *OPT_OUT_COLUMNS, "withdrawn_by", "withdrawn_at", "withdrawal_reason",
)  # fmt: skip

#: One outcome of a citizen on a list and date: at most one current contact.
CONTACT_KEY = (
    "list_id = :list_id and citizen_id = :citizen_id and outcome = :outcome "
    "and outcome_date = :outcome_date"
)
_CONTACT = """
select c.*, x.action
from outreach.contacts as c
left join outreach.contact_changes as x on x.contact_id = c.contact_id
where c.contact_id = :contact_id
"""
_INSERT_CHANGE = f"""
insert into outreach.contact_changes ({", ".join(CHANGE_COLUMNS)})
select {", ".join(":" + c for c in CHANGE_COLUMNS)}
where not exists (
    select 1 from outreach.contact_changes where contact_id = :contact_id
)
"""
_SAME_KEY = f"""
select
    (select count(*) from outreach.current_contacts where {CONTACT_KEY}) as n_current,
    (select count(*) from outreach.contacts where {CONTACT_KEY}) as n_all
"""
_REGISTER = """
select citizen_id, opted_out_date, list_id, recorded_by, recorded_at, reason
from outreach.opt_outs
order by recorded_at desc, citizen_id
"""
_WITHDRAWALS = """
select * from outreach.opt_out_withdrawals order by withdrawn_at desc, citizen_id
"""
_INSERT_OPT_OUT = f"""
insert into outreach.opt_outs ({", ".join(OPT_OUT_COLUMNS)})
select {", ".join(":" + c for c in OPT_OUT_COLUMNS)}
where not exists (select 1 from outreach.opt_outs where citizen_id = :citizen_id)
"""
_OPT_OUT_ROW = f"""
select {", ".join(OPT_OUT_COLUMNS)} from outreach.opt_outs
where citizen_id = :citizen_id
"""
_DELETE_OPT_OUT = "delete from outreach.opt_outs where citizen_id = :citizen_id"


class _Clash(Exception):
    """The replacement repeats a contact already kept: undo the change row."""


class ChangeTable:
    """Append-only corrections of contacts and the opt-out register's changes."""

    backend: Backend

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        """Return one contact with ``action`` (None, corrected, retracted), or None."""
        rows = self.backend.rows(_CONTACT, {"contact_id": contact_id})
        return rows[0] if rows else None

    def change_contact(
        self, change: Mapping[str, Any], replacement: Mapping[str, Any] | None
    ) -> ChangeOutcome:
        """Correct (with a replacement contact) or retract one contact.

        Parameters
        ----------
        change : Mapping
            ``contact_id``, ``list_id``, ``citizen_id``, ``action`` (corrected or
            retracted), ``reason``, ``changed_by``, ``changed_at``.
        replacement : Mapping, optional
            The new contact (every contact column but ``contact_id``) for a
            correction; None for a retraction.

        Returns
        -------
        {"changed", "changed_already", "clash"}
            ``changed_already``: someone changed this contact first (nothing
            written); ``clash``: the replacement repeats a kept contact's outcome
            and date (nothing written).
        """
        new_id = uuid.uuid4().hex if replacement is not None else None
        row = {**change, "replaced_by": new_id}
        skip = self.backend.skip_conflicts
        try:
            with self.backend.transaction() as tx:
                if not tx.execute(_INSERT_CHANGE + skip, row):
                    return "changed_already"
                if replacement is not None:
                    _insert_replacement(tx, {**replacement, "contact_id": new_id})
        except _Clash:
            return "clash"
        return "changed"

    def opt_out_register(self) -> list[dict[str, Any]]:
        """Return the opt-out register, newest first."""
        return self.backend.rows(_REGISTER)

    def opt_out_withdrawals(self) -> list[dict[str, Any]]:
        """Return the withdrawn opt-outs, newest withdrawal first."""
        return self.backend.rows(_WITHDRAWALS)

    def add_opt_out(self, row: Mapping[str, Any]) -> bool:
        """Add a citizen to the register; False when already there."""
        params = {c: row.get(c) for c in OPT_OUT_COLUMNS}
        sql = _INSERT_OPT_OUT + self.backend.skip_conflicts
        with self.backend.transaction() as tx:
            return bool(tx.execute(sql, params))

    def withdraw_opt_out(self, citizen_id: str, withdrawal: Mapping[str, Any]) -> bool:
        """Move a citizen's opt-out, with the withdrawal, out of the register.

        Parameters
        ----------
        citizen_id : str
            The pseudonym.
        withdrawal : Mapping
            ``withdrawn_by``, ``withdrawn_at``, ``withdrawal_reason``.

        Returns
        -------
        bool
            False when the citizen is not in the register (nothing written).
        """
        key = {"citizen_id": citizen_id}
        with self.backend.transaction(exclusive=True) as tx:
            found = tx.fetch(_OPT_OUT_ROW, key)
            if not found:
                return False
            kept = {**dict(zip(OPT_OUT_COLUMNS, found[0], strict=True)), **withdrawal}
            tx.execute(insert_sql("opt_out_withdrawals", WITHDRAWAL_COLUMNS), kept)
            tx.execute(_DELETE_OPT_OUT, key)
        return True


def _insert_replacement(tx: Transaction, contact: Mapping[str, Any]) -> None:
    """Insert the correcting contact; :class:`_Clash` if a current one has its key."""
    current, generation = tx.fetch(_SAME_KEY, contact)[0]
    if current:
        raise _Clash
    row = {**contact, "generation": int(generation)}
    tx.execute(insert_sql("contacts", sorted(row)), row)
