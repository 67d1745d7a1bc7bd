"""The per-citizen access log: who looked at, downloaded or changed whose data.

Danish health law expects a record of every access to a person's data, kept
apart from the aggregate audit log (:mod:`outreach.list_audit`), which only
counts rows per list. Every entry here names one pseudonym: a person-level page
writes one entry, a list download writes one entry *per citizen in it* (so an
investigation of one pseudonym finds every list it left the app on), and a
change writes one entry per citizen changed.

Where it lives, and why: a separate append-only SQLite file,
``<output_dir>/access_log.sqlite3`` (mode 0600, through
:class:`outreach.app.web.sqlite_file.SqliteFile`), not a table of the
operational store. The access log has other readers (an admin answering an
investigation, not reviewers of the lists), another lifetime (purged after
``access_log_retention_days``, while the audit log and outcomes stay) and must
be written by the CLI as well as every app process without taking the
warehouse's DuckDB lock; a file of its own keeps it out of every export,
backup or sync of the operational tables and lets its permissions be its own.
A trigger refuses every ``update``; rows leave only through :meth:`purge`.
Like the session file, it is shared by the app processes of one host; an app
spread over several hosts would move it to the operational store.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from features.db import connect
from features.settings import EngineSettings
from outreach.actor import now_utc, resolve_actor
from outreach.app.store import operational_store
from outreach.recording import read_record_file

__all__ = [
    "ACCESS_ACTIONS",
    "ACCESS_LOG_FILE",
    "EXPORT_COLUMNS",
    "AccessEntry",
    "AccessFilter",
    "AccessLog",
    "access_log",
    "entries_csv",
    "export_for_cli",
    "listed_pseudonyms",
    "log_cli_access",
    "purge_now",
    "recorded_pseudonyms",
    "suppress_counts",
]

ACCESS_LOG_FILE = "access_log.sqlite3"
#: What an entry says was done; the web and the CLI use these names only.
ACCESS_ACTIONS = (
    "viewed_list",
    "viewed_citizen",
    "viewed_stop_sheets",
    "viewed_upload",
    "viewed_opt_outs",
    "downloaded",
    "exported",
    "changed",
    "exported_access_log",
)
EXPORT_COLUMNS = (
    "at", "actor", "action", "pseudonym", "programme", "week", "list_id", "via",
)  # fmt: skip
UNKNOWN_ACTION = "Unknown access-log action {action!r}; expected one of {known}."
_SCHEMA = (
    """
    create table if not exists access_log (
        id integer primary key autoincrement,
        at text not null,
        actor text not null,
        action text not null,
        pseudonym text not null,
        programme text,
        week text,
        list_id text,
        via text not null
    )
    """,
    "create index if not exists access_log_at on access_log (at)",
    "create index if not exists access_log_pseudonym on access_log (pseudonym)",
    """
    create trigger if not exists access_log_append_only
    before update on access_log
    begin select raise(abort, 'the access log is append-only'); end
    """,
)


@dataclass(frozen=True)
class AccessEntry:
    """What was done to whose data: the part every pseudonym of one access shares."""

    actor: str
    action: str
    programme: str | None = None
    week: str | None = None
    list_id: str | None = None
    via: str = "web"

    def __post_init__(self) -> None:
        if self.action not in ACCESS_ACTIONS:
            raise ValueError(
                UNKNOWN_ACTION.format(action=self.action, known=ACCESS_ACTIONS)
            )


@dataclass(frozen=True)
class AccessFilter:
    """Which entries an investigation asks for (None: no filter; dates inclusive)."""

    actor: str | None = None
    pseudonym: str | None = None
    since: date | None = None
    until: date | None = None

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL ``where`` clause and its parameters."""
        clauses, params = ["1 = 1"], []
        for column, value in (("actor", self.actor), ("pseudonym", self.pseudonym)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since:
            clauses.append("at >= ?")
            params.append(self.since.isoformat())
        if self.until:
            clauses.append("at < ?")
            params.append((self.until + timedelta(days=1)).isoformat())
        return " and ".join(clauses), params


class AccessLog:
    """The append-only access-log file (see the module docstring).

    Parameters
    ----------
    path : Path
        The SQLite file; created (mode 0600) on first write.
    retention_days : int
        Entries older than this are purged on every write.
    """

    def __init__(self, path: Path, retention_days: int) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        # Imported here: outreach.app.web's package imports the app, which imports this.
        from outreach.app.web.sqlite_file import SqliteFile

        self._file = SqliteFile(self.path, *_SCHEMA)

    def record(
        self, entry: AccessEntry, pseudonyms: Iterable[str], at: datetime
    ) -> int:
        """Append one row per pseudonym (duplicates once); purge old rows.

        Returns
        -------
        int
            Rows written.
        """
        unique = sorted({str(p) for p in pseudonyms})
        rows = [
            (
                at.isoformat(sep=" "),
                entry.actor,
                entry.action,
                p,
                entry.programme,
                entry.week,
                entry.list_id,
                entry.via,
            )
            for p in unique
        ]
        with self._file.transaction() as con:
            con.execute("delete from access_log where at < ?", (self._cutoff(at),))
            con.executemany(
                "insert into access_log (at, actor, action, pseudonym, programme, "
                "week, list_id, via) values (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def _cutoff(self, now: datetime) -> str:
        """Return the oldest time still kept."""
        return (now - timedelta(days=self.retention_days)).isoformat(sep=" ")

    def purge(self, now: datetime) -> int:
        """Delete entries older than the retention; return how many went."""
        with self._file.transaction() as con:
            gone = con.execute(
                "delete from access_log where at < ?", (self._cutoff(now),)
            ).rowcount
        return int(gone)

    def entries(self, where: AccessFilter | None = None) -> list[dict[str, Any]]:
        """Return the entries passing a filter, oldest first (for an admin)."""
        if not self.path.exists():
            return []
        clause, params = (where or AccessFilter()).where()
        columns = ", ".join(EXPORT_COLUMNS)
        with self._file.transaction() as con:
            found = con.execute(
                f"select {columns} from access_log where {clause} order by id",  # noqa: S608
                params,
            ).fetchall()
        return [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in found]

    def counts(self, where: AccessFilter | None = None) -> list[dict[str, Any]]:
        """Entries and distinct citizens per user, day and action; no pseudonym."""
        if not self.path.exists():
            return []
        clause, params = (where or AccessFilter()).where()
        sql = (
            "select actor, substr(at, 1, 10) as day, action, count(*) as entries, "
            "count(distinct pseudonym) as citizens from access_log "
            f"where {clause} group by actor, day, action "  # noqa: S608
            "order by day desc, actor, action"
        )
        with self._file.transaction() as con:
            found = con.execute(sql, params).fetchall()
        keys = ("actor", "day", "action", "entries", "citizens")
        return [dict(zip(keys, row, strict=True)) for row in found]

    def export_csv(
        self, where: AccessFilter, *, actor: str, at: datetime, via: str
    ) -> str:
        """Return the matching entries as CSV and log the export itself.

        The export names pseudonyms, so it is an access of its own: one
        ``exported_access_log`` entry per pseudonym in it, by ``actor``.
        """
        rows = self.entries(where)
        entry = AccessEntry(actor=actor, action="exported_access_log", via=via)
        self.record(entry, (r["pseudonym"] for r in rows), at)
        return entries_csv(rows)


def entries_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Return access-log entries as CSV text (the export's columns)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def access_log(settings: EngineSettings) -> AccessLog:
    """Return the access log under the settings' output root."""
    return AccessLog(
        settings.output_dir / ACCESS_LOG_FILE, settings.access_log_retention_days
    )


def suppress_counts(
    rows: Sequence[Mapping[str, Any]], min_cell_size: int
) -> list[dict[str, Any]]:
    """Replace counts under ``min_cell_size`` by None (shown as suppressed).

    Both counts of a row are hidden together, so neither tells the other.
    """
    out = []
    for row in rows:
        small = 0 < int(row["citizens"]) < min_cell_size
        out.append(
            {
                **row,
                "entries": None if small else row["entries"],
                "citizens": None if small else row["citizens"],
            }
        )
    return out


def log_cli_access(
    settings: EngineSettings,
    action: str,
    pseudonyms: Iterable[str],
    *,
    user: str | None = None,
    **where: str | None,
) -> int:
    """Write the entries of one CLI command (the actor as ``--user`` resolves).

    Parameters
    ----------
    settings : EngineSettings
        The output root (and the retention).
    action : str
        One of :data:`ACCESS_ACTIONS`.
    pseudonyms : iterable of str
        Every citizen printed, exported or changed.
    user : str, optional
        ``--user``; default ``$USER``, else ``cli``.
    **where : str or None
        ``programme``, ``week``, ``list_id``.

    Returns
    -------
    int
        Entries written.
    """
    entry = AccessEntry(actor=resolve_actor(user), action=action, via="cli", **where)
    return access_log(settings).record(entry, pseudonyms, now_utc())


def listed_pseudonyms(settings: EngineSettings, list_id: str) -> list[str]:
    """Return the pseudonyms on a stored list (what an export of it holds)."""
    with closing(connect(settings.warehouse, read_only=True)) as con:
        store = operational_store(con, settings=settings)
        return [str(p) for p in store.read_list(list_id)["citizen_id"]]


def recorded_pseudonyms(
    file: Path | None, entries: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Return the pseudonyms a record sheet or ``--citizen`` entry gives an outcome.

    A sheet lists every citizen of the list; only rows with an outcome change one.
    """
    rows = [v for _, v in read_record_file(file)] if file else list(entries)
    return sorted(
        {
            str(r["citizen_id"]).strip()
            for r in rows
            if r.get("citizen_id") and _filled(r.get("outcome"))
        }
    )


def _filled(value: Any) -> bool:
    """Tell whether a sheet cell holds something (not None, NaN or blank)."""
    return value is not None and value == value and bool(str(value).strip())


def export_for_cli(
    settings: EngineSettings, where: AccessFilter, user: str | None
) -> str:
    """Return the matching entries as CSV; log the export by ``--user``."""
    return access_log(settings).export_csv(
        where, actor=resolve_actor(user), at=now_utc(), via="cli"
    )


def purge_now(settings: EngineSettings) -> int:
    """Delete the entries older than the retention; return how many went."""
    return access_log(settings).purge(now_utc())
