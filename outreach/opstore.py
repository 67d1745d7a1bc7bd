"""The operational store: lists, recorded outcomes, opt-outs, the audit log, users.

By default these tables live in the DuckDB warehouse (``outreach.*``,
``outreach/sql/schema.sql``) and are served from one process. With
``OPSPOR_OPERATIONAL_DB=postgresql://...`` they live in PostgreSQL
(``outreach/sql/opstore_postgres.sql``), so several web-app processes can read
and write at once without losing a write, while the analytical tables (``raw``,
``marts``, ``scoring``) stay in DuckDB. :func:`operational_store` picks the
backend; :class:`DuckDBStore` and :class:`PostgresStore` offer the same
operations, and :mod:`outreach.lists`, :mod:`outreach.recording`,
:mod:`outreach.audit_log` and :mod:`outreach.app.web` go through them.

The list SQL (exclusions, last contact, invariant checks) runs in DuckDB next
to the scores, so :func:`stage_operational_tables` first copies the opt-out
register and the recorded contacts into the DuckDB temp tables ``ops_opt_outs``
and ``ops_contacts``. :func:`sync_to_warehouse` copies every operational table
into the warehouse's ``outreach`` schema for the analytical reports (fairness
audit of a week, programme report, evaluation).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

import duckdb
import numpy as np
import pandas as pd

from features.db import read_sql
from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.store import ensure_outreach_tables

__all__ = [
    "NO_CONNECTION",
    "OPERATIONAL_DB_ENV",
    "OPERATIONAL_TABLES",
    "DuckDBStore",
    "OperationalStore",
    "PostgresStore",
    "close_postgres_stores",
    "operational_store",
    "operational_url",
    "postgres_store",
    "stage_operational_tables",
    "sync_to_warehouse",
]

log = logging.getLogger(__name__)

OPERATIONAL_DB_ENV = "OPSPOR_OPERATIONAL_DB"
#: The operational tables, in the order they are copied to the warehouse.
OPERATIONAL_TABLES = (
    "list_runs",
    "lists",
    "holdouts",
    "contacts",
    "opt_outs",
    "audit_log",
)
NO_CONNECTION = (
    "No DuckDB connection and no OPSPOR_OPERATIONAL_DB: the operational store "
    "needs one of them."
)
BAD_URL = "OPSPOR_OPERATIONAL_DB must be a postgresql:// URL. Got {url!r} instead."
_AUDIT_COLUMNS = (
    "event",
    "actor",
    "at",
    "programme",
    "week",
    "list_id",
    "model_uri",
    "extract_hash",
    "counts",
)
_CONTACT_COLUMNS = (
    "list_id",
    "programme",
    "week",
    "citizen_id",
    "outcome",
    "outcome_date",
    "recorded_by",
    "opt_out",
    "note",
    "recorded_at",
    "source",
)
_OPT_OUT_COLUMNS = (
    "citizen_id",
    "opted_out_date",
    "list_id",
    "recorded_by",
    "recorded_at",
)
_STAGED = {
    "ops_opt_outs": (
        "opt_outs",
        "citizen_id varchar, opted_out_date date, list_id varchar, "
        "recorded_by varchar, recorded_at timestamp",
    ),
    "ops_contacts": (
        "contacts",
        "list_id varchar, programme varchar, week varchar, citizen_id varchar, "
        "outcome varchar, outcome_date date, recorded_by varchar, opt_out boolean, "
        "note varchar, recorded_at timestamp, source varchar",
    ),
}


class OperationalStore(Protocol):
    """What :mod:`outreach.lists`, :mod:`outreach.recording` and the web app need."""

    name: str

    def current_run(self, programme: str, week: str) -> dict[str, Any] | None:
        """Return the frozen run of a programme and week, if any."""

    def frozen_runs(self, programmes: Sequence[str]) -> list[dict[str, Any]]:
        """Return the frozen runs of some programmes, newest week first."""

    def next_revision(self, programme: str, week: str) -> int:
        """Return 1 + the number of runs so far for this programme and week."""

    def save_list(
        self,
        run: Mapping[str, Any],
        rows: pd.DataFrame,
        holdouts: pd.DataFrame,
        audit: Mapping[str, Any],
    ) -> None:
        """Supersede the frozen run, insert the new one, its rows, hold-outs, audit."""

    def read_list(self, list_id: str) -> pd.DataFrame:
        """Return the stored rows of one list, in rank order."""

    def save_contacts(
        self, contacts: Sequence[Mapping[str, Any]]
    ) -> tuple[int, int, int]:
        """Insert contacts and opt-outs in one transaction; count what was new."""

    def contacts_of(self, list_id: str, citizen_id: str) -> list[dict[str, Any]]:
        """Return the outcomes recorded for one citizen on one list."""

    def recorded_on(self, list_id: str) -> dict[str, str]:
        """Return citizen id -> outcomes recorded so far on a list."""

    def read_table(self, table: str) -> pd.DataFrame:
        """Return a whole operational table (for staging and the warehouse copy)."""

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one row to the audit log."""

    def read_audit_log(self, programme: str | None = None) -> pd.DataFrame:
        """Return the audit log in time order, optionally of one programme."""

    def audit_summary(self) -> list[dict[str, Any]]:
        """Return event counts per programme and event (aggregates only)."""


def _counts_text(value: Any) -> str:
    """Audit counts as JSON text (a mapping is dumped, text kept)."""
    if isinstance(value, str):
        return value
    return json.dumps(dict(value or {}), sort_keys=True)


_FROZEN_RUNS = """
select list_id, programme, week, week_start, as_of_date, extract_date, model_uri,
    extract_hash, generated_at, generated_by, counts
from outreach.list_runs
where status = 'frozen' and {in_programmes}
order by programme, week desc
"""
_CURRENT_RUN = (
    "select * from outreach.list_runs"
    " where programme = {p} and week = {w} and status = 'frozen'"
)
_NEXT_REVISION = (
    "select count(*) from outreach.list_runs where programme = {p} and week = {w}"
)
_SUPERSEDE = (
    "update outreach.list_runs set status = 'superseded'"
    " where programme = {p} and week = {w} and status = 'frozen'"
)
_READ_LIST = "select * from outreach.lists where list_id = {id} order by rank"
_CONTACTS_OF = """
select outcome, outcome_date, recorded_by, opt_out, note, recorded_at
from outreach.contacts
where list_id = {list_id} and citizen_id = {citizen_id}
order by recorded_at, outcome_date
"""
_RECORDED_ON = """
select citizen_id, string_agg(outcome, ', ' order by recorded_at) as outcomes
from outreach.contacts
where list_id = {list_id}
group by citizen_id
"""
_AUDIT_LOG = """
select event, actor, "at", programme, week, list_id, model_uri, extract_hash, counts
from outreach.audit_log
where {programme} is null or programme = {programme}
order by "at", {order}
"""
_AUDIT_SUMMARY = """
select
    programme,
    event,
    count(*) as n_events,
    count(distinct week) as n_weeks,
    count(distinct list_id) as n_lists,
    count(distinct actor) as n_actors,
    min("at") as first_at,
    max("at") as last_at
from outreach.audit_log
group by programme, event
order by programme, event
"""


def _duck(sql: str, **extra: str) -> str:
    """Fill a shared statement with DuckDB ``$name`` placeholders."""
    names = {
        "p": "$p", "w": "$w", "id": "$id", "list_id": "$list_id",
        "citizen_id": "$citizen_id", "programme": "$programme",
        "in_programmes": "list_contains(cast($programmes as varchar[]), programme)",
        "order": "rowid",
    }  # fmt: skip
    return sql.format(**{**names, **extra})


def _pg(sql: str) -> str:
    """Fill a shared statement with psycopg ``%(name)s`` placeholders."""
    names = {
        "p": "%(p)s", "w": "%(w)s", "id": "%(id)s", "list_id": "%(list_id)s",
        "citizen_id": "%(citizen_id)s", "programme": "%(programme)s::text",
        "in_programmes": "programme = any(%(programmes)s)", "order": "event_id",
    }  # fmt: skip
    return sql.format(**names)


class DuckDBStore:
    """The operational tables in the DuckDB warehouse (the embedded default).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse; ``outreach.*`` tables are created if missing.
    """

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, *, ensure: bool = True) -> None:
        self.con = con
        if ensure:
            ensure_outreach_tables(con)

    def _frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a query and return its frame."""
        return self.con.execute(sql, dict(params or {})).df()

    def _rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts (None for NULL)."""
        cursor = self.con.execute(sql, dict(params or {}))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def current_run(self, programme: str, week: str) -> dict[str, Any] | None:
        """Return the frozen run of a programme and week, if any."""
        rows = self._rows(_duck(_CURRENT_RUN), {"p": programme, "w": week})
        return rows[0] if rows else None

    def frozen_runs(self, programmes: Sequence[str]) -> list[dict[str, Any]]:
        """Return the frozen runs of some programmes, newest week first."""
        return _runs(self._rows(_duck(_FROZEN_RUNS), {"programmes": list(programmes)}))

    def next_revision(self, programme: str, week: str) -> int:
        """Return 1 + the number of runs so far for this programme and week."""
        row = self.con.execute(
            _duck(_NEXT_REVISION), {"p": programme, "w": week}
        ).fetchone()
        return int(row[0] if row else 0) + 1

    def save_list(
        self,
        run: Mapping[str, Any],
        rows: pd.DataFrame,
        holdouts: pd.DataFrame,
        audit: Mapping[str, Any],
    ) -> None:
        """Supersede the frozen run, insert the new one, its rows, hold-outs, audit."""
        self.con.execute("begin transaction")
        try:
            self.con.execute(
                _duck(_SUPERSEDE), {"p": run["programme"], "w": run["week"]}
            )
            self.con.execute(
                "insert into outreach.list_runs values ($list_id, $programme, $week,"
                " $revision, $week_start, $as_of_date, $extract_date, $model_uri,"
                " $extract_hash, $generated_at, $generated_by, $status, $reason,"
                " $counts)",
                dict(run),
            )
            for table, frame in (("lists", rows), ("holdouts", holdouts)):
                self.con.register("_outreach_rows", frame)
                self.con.execute(
                    f"insert into outreach.{table} by name select * from _outreach_rows"
                )
                self.con.unregister("_outreach_rows")
            self.append_event(audit)
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    def read_list(self, list_id: str) -> pd.DataFrame:
        """Return the stored rows of one list, in rank order."""
        return self._frame(_duck(_READ_LIST), {"id": list_id})

    def save_contacts(
        self, contacts: Sequence[Mapping[str, Any]]
    ) -> tuple[int, int, int]:
        """Insert contacts and opt-outs in one transaction; count what was new."""
        stored = repeats = opt_outs = 0
        self.con.execute("begin transaction")
        try:
            for contact in contacts:
                inserted = _changed(
                    self.con.execute(_DUCK_INSERT_CONTACT, dict(contact))
                )
                stored += inserted
                repeats += 1 - inserted
                if contact["opt_out"]:
                    params = {k: contact[k] for k in _OPT_OUT_KEYS}
                    opt_outs += _changed(self.con.execute(_DUCK_INSERT_OPT_OUT, params))
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")
        return stored, repeats, opt_outs

    def contacts_of(self, list_id: str, citizen_id: str) -> list[dict[str, Any]]:
        """Return the outcomes recorded for one citizen on one list, oldest first."""
        params = {"list_id": list_id, "citizen_id": citizen_id}
        return self._rows(_duck(_CONTACTS_OF), params)

    def recorded_on(self, list_id: str) -> dict[str, str]:
        """Return citizen id -> outcomes recorded so far on a list."""
        rows = self.con.execute(_duck(_RECORDED_ON), {"list_id": list_id}).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def read_table(self, table: str) -> pd.DataFrame:
        """Return a whole operational table."""
        return self._frame(f"select * from outreach.{_table(table)}")

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one row to the audit log."""
        self.con.execute(
            "insert into outreach.audit_log values ($event, $actor, $at, $programme,"
            " $week, $list_id, $model_uri, $extract_hash, $counts)",
            _audit_row(event),
        )

    def read_audit_log(self, programme: str | None = None) -> pd.DataFrame:
        """Return the audit log in time order, optionally of one programme."""
        return self._frame(_duck(_AUDIT_LOG), {"programme": programme})

    def audit_summary(self) -> list[dict[str, Any]]:
        """Return event counts per programme and event (aggregates only)."""
        return self._rows(_AUDIT_SUMMARY)


_OPT_OUT_KEYS = ("citizen_id", "outcome_date", "list_id", "recorded_by", "recorded_at")
_DUCK_INSERT_CONTACT = """
insert into outreach.contacts
select
    $list_id, $programme, $week, $citizen_id, $outcome, $outcome_date,
    $recorded_by, $opt_out, $note, $recorded_at, $source
where not exists (
    select 1 from outreach.contacts
    where list_id = $list_id and citizen_id = $citizen_id and outcome = $outcome
        and outcome_date = $outcome_date
)
"""
_DUCK_INSERT_OPT_OUT = """
insert into outreach.opt_outs
select $citizen_id, $outcome_date, $list_id, $recorded_by, $recorded_at
where not exists (select 1 from outreach.opt_outs where citizen_id = $citizen_id)
"""


def _changed(cursor: duckdb.DuckDBPyConnection) -> int:
    """Rows changed by the last DuckDB insert (returned as a row)."""
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _table(name: str) -> str:
    """Check an operational table name against the known ones."""
    if name not in OPERATIONAL_TABLES:
        raise ConfigError(
            f"Unknown operational table {name!r}; expected one of {OPERATIONAL_TABLES}."
        )
    return name


def _audit_row(event: Mapping[str, Any]) -> dict[str, Any]:
    """Pick the audit-log columns of an event, counts as JSON text."""
    row = {k: event.get(k) for k in _AUDIT_COLUMNS}
    row["counts"] = _counts_text(event.get("counts"))
    return row


def _runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return run rows with their counts parsed."""
    return [
        {**run, "counts": json.loads(run["counts"]) if run["counts"] else {}}
        for run in rows
    ]


def _py(value: Any) -> Any:
    """Turn a frame cell into a plain Python value psycopg can send."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def _tuples(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of the given columns as tuples of plain Python values."""
    return [
        tuple(_py(v) for v in row)
        for row in frame[list(columns)].itertuples(index=False)
    ]


LIST_COLUMNS = (
    "list_id",
    "programme",
    "week",
    "rank",
    "citizen_id",
    "area",
    "area_name",
    "stop",
    "preferred_language",
    "risk_score",
    "risk_rank",
    "risk_band",
    "reasons",
    "n_reasons",
    "last_contact_date",
    "last_contact_outcome",
)
_HOLDOUT_COLUMNS = (
    "list_id",
    "programme",
    "week",
    "as_of_date",
    "citizen_id",
    "area",
    "risk_rank",
    "walk_position",
)
_RUN_COLUMNS = (
    "list_id",
    "programme",
    "week",
    "revision",
    "week_start",
    "as_of_date",
    "extract_date",
    "model_uri",
    "extract_hash",
    "generated_at",
    "generated_by",
    "status",
    "reason",
    "counts",
)
_USER_COLUMNS = (
    "name",
    "role",
    "password_hash",
    "programmes",
    "municipalities",
    "language",
    "failed_attempts",
    "locked_until",
    "created_at",
)


def _insert_sql(table: str, columns: Sequence[str], conflict: str = "") -> str:
    """``insert into outreach.<table> (...) values (%s, ...)`` for psycopg."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    return f"insert into outreach.{table} ({names}) values ({marks}){conflict}"


class PostgresStore:
    """The operational tables in PostgreSQL, shared by several app processes.

    Parameters
    ----------
    url : str
        ``postgresql://user@host:port/database``.
    max_connections : int
        Size of this process's connection pool.
    """

    name = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        from psycopg_pool import ConnectionPool

        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(BAD_URL.format(url=url))
        self.url = url
        self.pool = ConnectionPool(
            url, min_size=1, max_size=max_connections, open=True,
            kwargs={"autocommit": True}, name="opspor-operational",
        )  # fmt: skip
        self._ensure_schema()

    def close(self) -> None:
        """Close the connection pool."""
        self.pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """Yield a cursor inside one transaction (committed on success)."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def _ensure_schema(self) -> None:
        """Create the tables once; an advisory lock serialises concurrent starts."""
        with self._transaction() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext('opspor-operational'))")
            cur.execute(read_sql("outreach", "sql", "opstore_postgres.sql"))

    def _rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run one statement (autocommit: one round trip); rows as dicts."""
        with self.pool.connection() as conn:
            cursor = conn.execute(sql, dict(params or {}))
            names = [d.name for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a query and return its frame."""
        with self.pool.connection() as conn:
            cursor = conn.execute(sql, dict(params or {}))
            names = [d.name for d in cursor.description or ()]
            return pd.DataFrame(cursor.fetchall(), columns=names)

    def current_run(self, programme: str, week: str) -> dict[str, Any] | None:
        """Return the frozen run of a programme and week, if any."""
        rows = self._rows(_pg(_CURRENT_RUN), {"p": programme, "w": week})
        return rows[0] if rows else None

    def frozen_runs(self, programmes: Sequence[str]) -> list[dict[str, Any]]:
        """Return the frozen runs of some programmes, newest week first."""
        return _runs(self._rows(_pg(_FROZEN_RUNS), {"programmes": list(programmes)}))

    def next_revision(self, programme: str, week: str) -> int:
        """Return 1 + the number of runs so far for this programme and week."""
        rows = self._rows(_pg(_NEXT_REVISION), {"p": programme, "w": week})
        return int(next(iter(rows[0].values()))) + 1

    def save_list(
        self,
        run: Mapping[str, Any],
        rows: pd.DataFrame,
        holdouts: pd.DataFrame,
        audit: Mapping[str, Any],
    ) -> None:
        """Supersede the frozen run, insert the new one, its rows, hold-outs, audit."""
        with self._transaction() as cur:
            cur.execute(_pg(_SUPERSEDE), {"p": run["programme"], "w": run["week"]})
            run_row = tuple(_py(run[c]) for c in _RUN_COLUMNS)
            cur.execute(_insert_sql("list_runs", _RUN_COLUMNS), run_row)
            cur.executemany(
                _insert_sql("lists", LIST_COLUMNS), _tuples(rows, LIST_COLUMNS)
            )
            if len(holdouts):
                cur.executemany(
                    _insert_sql("holdouts", _HOLDOUT_COLUMNS),
                    _tuples(holdouts, _HOLDOUT_COLUMNS),
                )
            _pg_event(cur, audit)

    def read_list(self, list_id: str) -> pd.DataFrame:
        """Return the stored rows of one list, in rank order."""
        return self._frame(_pg(_READ_LIST), {"id": list_id})

    def save_contacts(
        self, contacts: Sequence[Mapping[str, Any]]
    ) -> tuple[int, int, int]:
        """Insert contacts and opt-outs in one transaction; count what was new."""
        stored = repeats = opt_outs = 0
        contact_sql = _insert_sql(
            "contacts", _CONTACT_COLUMNS, " on conflict do nothing"
        )
        opt_out_sql = _insert_sql(
            "opt_outs", _OPT_OUT_COLUMNS, " on conflict do nothing"
        )
        with self._transaction() as cur:
            for contact in contacts:
                cur.execute(
                    contact_sql, tuple(_py(contact[c]) for c in _CONTACT_COLUMNS)
                )
                inserted = int(cur.rowcount)
                stored += inserted
                repeats += 1 - inserted
                if contact["opt_out"]:
                    cur.execute(
                        opt_out_sql, tuple(_py(contact[k]) for k in _OPT_OUT_KEYS)
                    )
                    opt_outs += int(cur.rowcount)
        return stored, repeats, opt_outs

    def contacts_of(self, list_id: str, citizen_id: str) -> list[dict[str, Any]]:
        """Return the outcomes recorded for one citizen on one list, oldest first."""
        params = {"list_id": list_id, "citizen_id": citizen_id}
        return self._rows(_pg(_CONTACTS_OF), params)

    def recorded_on(self, list_id: str) -> dict[str, str]:
        """Return citizen id -> outcomes recorded so far on a list."""
        rows = self._rows(_pg(_RECORDED_ON), {"list_id": list_id})
        return {str(r["citizen_id"]): str(r["outcomes"]) for r in rows}

    def read_table(self, table: str) -> pd.DataFrame:
        """Return a whole operational table (without the audit log's serial id)."""
        frame = self._frame(f"select * from outreach.{_table(table)}")
        return frame.drop(columns=["event_id"], errors="ignore")

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one row to the audit log."""
        row = _audit_row(event)
        with self.pool.connection() as conn:
            conn.execute(
                _insert_sql("audit_log", _AUDIT_COLUMNS),
                tuple(row[c] for c in _AUDIT_COLUMNS),
            )

    def read_audit_log(self, programme: str | None = None) -> pd.DataFrame:
        """Return the audit log in time order, optionally of one programme."""
        return self._frame(_pg(_AUDIT_LOG), {"programme": programme})

    def audit_summary(self) -> list[dict[str, Any]]:
        """Return event counts per programme and event (aggregates only)."""
        return self._rows(_AUDIT_SUMMARY)

    # --- users (the UserStore protocol of outreach.app.users) ----------------

    def get_user(self, name: str) -> Any:
        """Return the user of that name, or None."""
        from outreach.app.users import User

        rows = self._rows(
            "select * from outreach.users where name = %(n)s", {"n": name}
        )
        if not rows:
            return None
        record = rows[0]
        for key in ("programmes", "municipalities"):
            record[key] = json.loads(record[key])
        return User.from_record(record)

    def all_users(self) -> list[Any]:
        """Return every user, by name."""
        rows = self._rows("select name from outreach.users order by name")
        return [self.get_user(str(r["name"])) for r in rows]

    def insert_user(self, user: Any) -> bool:
        """Add a user; False if the name is taken."""
        record = {
            **user.as_record(),
            "programmes": json.dumps(list(user.programmes)),
            "municipalities": json.dumps(list(user.municipalities)),
            "locked_until": user.locked_until,
            "created_at": user.created_at,
        }
        sql = _insert_sql("users", _USER_COLUMNS, " on conflict do nothing")
        with self._transaction() as cur:
            cur.execute(sql, tuple(record[c] for c in _USER_COLUMNS))
            return bool(cur.rowcount)

    def delete_user(self, name: str) -> bool:
        """Remove a user; False if there was none."""
        with self._transaction() as cur:
            cur.execute("delete from outreach.users where name = %s", (name,))
            return bool(cur.rowcount)

    def record_failure(self, name: str, now: datetime) -> Any:
        """Count a failed sign-in under a row lock; lock after too many."""
        from outreach.app.users import next_failure_state

        with self._transaction() as cur:
            cur.execute(
                "select failed_attempts, locked_until from outreach.users"
                " where name = %s for update",
                (name,),
            )
            row = cur.fetchone()
            if row is None:
                return None
            failed, until = next_failure_state(int(row[0]), row[1], now)
            cur.execute(
                "update outreach.users set failed_attempts = %s, locked_until = %s"
                " where name = %s",
                (failed, until, name),
            )
        return self.get_user(name)

    def reset_failures(self, name: str) -> None:
        """Forget failed sign-ins after a good one."""
        with self._transaction() as cur:
            cur.execute(
                "update outreach.users set failed_attempts = 0, locked_until = null"
                " where name = %s"
                " and (failed_attempts > 0 or locked_until is not null)",
                (name,),
            )


def _pg_event(cur: Any, event: Mapping[str, Any]) -> None:
    """Insert one audit row with an open psycopg cursor."""
    row = _audit_row(event)
    cur.execute(
        _insert_sql("audit_log", _AUDIT_COLUMNS), tuple(row[c] for c in _AUDIT_COLUMNS)
    )


_POSTGRES: dict[str, PostgresStore] = {}
_POSTGRES_LOCK = threading.Lock()


def postgres_store(url: str) -> PostgresStore:
    """Return this process's store for a PostgreSQL URL (one pool per URL)."""
    with _POSTGRES_LOCK:
        if url not in _POSTGRES:
            _POSTGRES[url] = PostgresStore(url)
        return _POSTGRES[url]


def close_postgres_stores() -> None:
    """Close every pool this process opened (tests, shutdown)."""
    with _POSTGRES_LOCK:
        for store in _POSTGRES.values():
            store.close()
        _POSTGRES.clear()


def operational_url(env: Mapping[str, str] | None = None) -> str | None:
    """Return ``OPSPOR_OPERATIONAL_DB`` when set (else None: the embedded store)."""
    return EngineSettings.from_env(env).operational_db


def operational_store(
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> OperationalStore:
    """Pick the operational store: PostgreSQL when configured, else the warehouse.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection, optional
        The warehouse (used when no PostgreSQL URL is configured).
    url : str, optional
        A PostgreSQL URL (default: ``OPSPOR_OPERATIONAL_DB``).
    env : Mapping, optional
        Environment (default ``os.environ``).

    Returns
    -------
    OperationalStore

    Raises
    ------
    ConfigError
        Neither a URL nor a connection, or a URL that is not ``postgresql://``.
    """
    url = url or operational_url(env)
    if url:
        return postgres_store(url)
    if con is None:
        raise ConfigError(NO_CONNECTION)
    return DuckDBStore(con)


def stage_operational_tables(
    con: duckdb.DuckDBPyConnection, store: OperationalStore
) -> None:
    """Copy the opt-out register and contacts into DuckDB temp tables for the list SQL.

    ``outreach/sql/exclusions.sql``, ``list_history.sql`` and the invariant
    check read ``ops_opt_outs`` and ``ops_contacts``: in the embedded store a
    copy of ``outreach.*``, with PostgreSQL a copy of its tables.
    """
    for temp, (table, columns) in _STAGED.items():
        con.execute(f"create or replace temp table {temp} ({columns})")
        if isinstance(store, DuckDBStore) and store.con is con:
            con.execute(f"insert into {temp} by name select * from outreach.{table}")
            continue
        frame = store.read_table(table)
        if len(frame):
            con.register("_ops_rows", frame)
            con.execute(f"insert into {temp} by name select * from _ops_rows")
            con.unregister("_ops_rows")


def sync_to_warehouse(
    con: duckdb.DuckDBPyConnection, store: OperationalStore
) -> dict[str, int]:
    """Replace the warehouse's ``outreach.*`` tables with the store's, for the reports.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, opened for writing.
    store : OperationalStore
        Where the operational tables live (a no-op for the warehouse itself).

    Returns
    -------
    dict
        Rows copied per table.
    """
    if isinstance(store, DuckDBStore) and store.con is con:
        return {}
    ensure_outreach_tables(con)
    copied: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for table in OPERATIONAL_TABLES:
            frame = store.read_table(table)
            con.execute(f"delete from outreach.{table}")
            if len(frame):
                con.register("_ops_rows", frame)
                con.execute(
                    f"insert into outreach.{table} by name select * from _ops_rows"
                )
                con.unregister("_ops_rows")
            copied[table] = len(frame)
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    log.info("copied %s operational rows into the warehouse", sum(copied.values()))
    return copied
