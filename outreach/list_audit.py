"""The outreach audit trail: who made, viewed, exported or recorded what, and when.

Every entry function of :mod:`outreach.lists` and :mod:`outreach.recording`
appends one row to ``outreach.audit_log`` (event, actor, time, programme, week,
list id, model version, extract hash, counts). The log never holds person-level
data beyond the list id; :func:`export_audit_log` writes it out for reviewers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from features.errors import ConfigError
from features.files import atomic_write
from outreach.actor import now_utc
from outreach.app.store import OperationalStore, operational_store

__all__ = [
    "ACCOUNT_EVENTS",
    "AUDIT_EVENTS",
    "CHANGE_EVENTS",
    "AuditExport",
    "append_event",
    "export_audit_log",
    "read_audit_log",
]

log = logging.getLogger(__name__)

AuditEvent = Literal[
    "generated", "regenerated", "viewed", "exported", "recorded", "signed_off"
]
AUDIT_EVENTS: tuple[str, ...] = (
    "generated",
    "regenerated",
    "viewed",
    "exported",
    "recorded",
    "signed_off",
)
#: What an admin or a user changes about accounts (who, whom, what; never a password).
ACCOUNT_EVENTS: tuple[str, ...] = (
    "user_added",
    "user_disabled",
    "user_enabled",
    "password_reset",
    "scope_changed",
    "password_changed",
)
#: Changes to what was recorded: corrections, retractions, the opt-out register.
CHANGE_EVENTS: tuple[str, ...] = (
    "corrected",
    "retracted",
    "opt_out_added",
    "opt_out_withdrawn",
)
_BAD_EVENT = "Unknown audit event {event!r}; expected one of {events}."
_BAD_FORMAT = "The audit log can be exported as csv or json, not {suffix!r}."


@dataclass(frozen=True)
class AuditExport:
    """Result of :func:`export_audit_log`."""

    path: Path | None
    n_events: int
    events: list[dict[str, Any]]


def append_event(
    con: duckdb.DuckDBPyConnection | None,
    event: str,
    *,
    actor: str,
    programme: str | None = None,
    week: str | None = None,
    list_id: str | None = None,
    model_uri: str | None = None,
    extract_hash: str | None = None,
    counts: Mapping[str, Any] | None = None,
    store: OperationalStore | None = None,
) -> None:
    """Append one event to ``outreach.audit_log``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or None
        The warehouse (None when ``store`` is given).
    event : {"generated", "regenerated", "viewed", "exported", "recorded", "signed_off"}
        What happened.
    actor : str
        Who did it.
    counts : Mapping, optional
        Aggregate counts only (never citizen ids).
    store : OperationalStore, optional
        Where the log lives (default: :func:`outreach.app.store.operational_store`).

    Raises
    ------
    ConfigError
        ``event`` is not one of :data:`AUDIT_EVENTS`.
    """
    known = AUDIT_EVENTS + ACCOUNT_EVENTS + CHANGE_EVENTS
    if event not in known:
        raise ConfigError(_BAD_EVENT.format(event=event, events=known))
    (store or operational_store(con)).append_event(
        {
            "event": event,
            "actor": actor,
            "at": now_utc(),
            "programme": programme,
            "week": week,
            "list_id": list_id,
            "model_uri": model_uri,
            "extract_hash": extract_hash,
            "counts": json.dumps(dict(counts or {}), sort_keys=True),
        }
    )
    log.info("audit event %s for list %s", event, list_id)


def append_list_event(
    store: OperationalStore,
    event: str,
    *,
    actor: str,
    run: Mapping[str, Any],
    counts: Mapping[str, Any],
) -> None:
    """Append one event about a stored list run (a row of ``outreach.list_runs``).

    The run gives programme, week, list id, model and extract; ``counts`` are
    aggregate only (never citizen ids).
    """
    extract_hash = run.get("extract_hash")
    append_event(
        None,
        event,
        store=store,
        actor=actor,
        programme=str(run["programme"]),
        week=str(run["week"]),
        list_id=str(run["list_id"]),
        model_uri=str(run["model_uri"]),
        extract_hash=None if extract_hash is None else str(extract_hash),
        counts=counts,
    )


def read_audit_log(
    con: duckdb.DuckDBPyConnection | None,
    *,
    programme: str | None = None,
    store: OperationalStore | None = None,
) -> pd.DataFrame:
    """Return the audit log in time order, optionally for one programme."""
    return (store or operational_store(con)).read_audit_log(programme)


def export_audit_log(
    con: duckdb.DuckDBPyConnection | None,
    path: Path | None = None,
    *,
    programme: str | None = None,
    store: OperationalStore | None = None,
) -> AuditExport:
    """Export the audit log as CSV or JSON (by suffix), atomically.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    path : Path, optional
        ``.csv`` or ``.json`` file; without it, only the events are returned.
    programme : str, optional
        Restrict to one programme.
    store : OperationalStore, optional
        Where the log lives (default: :func:`outreach.app.store.operational_store`).

    Returns
    -------
    AuditExport

    Raises
    ------
    ConfigError
        The suffix is neither ``.csv`` nor ``.json``.
    """
    frame = read_audit_log(con, programme=programme, store=store)
    frame["at"] = frame["at"].astype(str)
    events = [
        {**row, "counts": json.loads(row["counts"]) if row["counts"] else {}}
        for row in frame.to_dict(orient="records")
    ]
    if path is None:
        return AuditExport(path=None, n_events=len(events), events=events)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ConfigError(_BAD_FORMAT.format(suffix=suffix))
    if suffix == ".csv":
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
    else:
        text = json.dumps(events, ensure_ascii=False, indent=1)
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return AuditExport(path=path, n_events=len(events), events=events)
