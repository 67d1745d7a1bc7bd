"""The operational store: lists, recorded outcomes, opt-outs, the audit log, users.

By default these tables live in the DuckDB warehouse (``outreach.*``) and are
served from one process. With ``OPSPOR_OPERATIONAL_DB=postgresql://...``
(:attr:`EngineSettings.operational_db`) they live in PostgreSQL, so several
web-app processes can read and write at once without losing a write, while the
analytical tables (``raw``, ``marts``, ``scoring``) stay in DuckDB.
:func:`operational_store` picks the backend; :class:`OperationalStore` is the one
implementation over both (queries written once, run by
:mod:`outreach.app.store.backends`), and it brings the schema up to date when
it opens (:mod:`outreach.app.store.migrations`). :mod:`outreach.lists`,
:mod:`outreach.recording`, the audit log and the web app go through it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from features.errors import ConfigError
from outreach.app.store.backends import (
    Backend,
    DuckDBBackend,
    PostgresBackend,
    insert_sql,
)
from outreach.app.store.changes import CONTACT_KEY, ChangeTable
from outreach.app.store.migrations import upgrade_schema
from outreach.app.store.users import UserTable

if TYPE_CHECKING:
    from features.settings import EngineSettings

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_FILTERS",
    "CONTACT_COLUMNS",
    "HOLDOUT_COLUMNS",
    "LIST_COLUMNS",
    "NO_CONNECTION",
    "OPERATIONAL_TABLES",
    "RUN_COLUMNS",
    "OperationalStore",
    "close_postgres_stores",
    "duckdb_store",
    "operational_store",
    "postgres_store",
]

#: The operational tables, in the order they are copied to the warehouse.
OPERATIONAL_TABLES = (
    "list_runs",
    "lists",
    "holdouts",
    "contacts",
    "opt_outs",
    "audit_log",
    "contact_changes",
    "opt_out_withdrawals",
)
NO_CONNECTION = (
    "No DuckDB connection and no OPSPOR_OPERATIONAL_DB: the operational store "
    "needs one of them."
)
RUN_COLUMNS = (
    "list_id", "programme", "week", "revision", "week_start", "as_of_date",
    "extract_date", "model_uri", "extract_hash", "generated_at", "generated_by",
    "status", "reason", "counts",
)  # fmt: skip
LIST_COLUMNS = (
    "list_id", "programme", "week", "rank", "citizen_id", "area", "area_name",
    "stop", "preferred_language", "risk_score", "risk_rank", "risk_band",
    "reasons", "n_reasons", "last_contact_date", "last_contact_outcome",
)  # fmt: skip
HOLDOUT_COLUMNS = (
    "list_id", "programme", "week", "as_of_date", "citizen_id", "area",
    "risk_rank", "walk_position",
)  # fmt: skip
CONTACT_COLUMNS = (
    "list_id", "programme", "week", "citizen_id", "outcome", "outcome_date",
    "recorded_by", "opt_out", "note", "recorded_at", "source", "contact_id",
    "corrects", "reason",
)  # fmt: skip
AUDIT_COLUMNS = (
    "event", "actor", "at", "programme", "week", "list_id", "model_uri",
    "extract_hash", "counts",
)  # fmt: skip

_CURRENT_RUN = """
select * from outreach.list_runs
where programme = :p and week = :w and status = 'frozen'
"""
_FROZEN_RUNS = """
select list_id, programme, week, week_start, as_of_date, extract_date, model_uri,
    extract_hash, generated_at, generated_by, counts
from outreach.list_runs
where status = 'frozen' and programme in ({names})
order by programme, week desc
"""
_NEXT_REVISION = """
select count(*) as n from outreach.list_runs where programme = :p and week = :w
"""
_SUPERSEDE = """
update outreach.list_runs set status = 'superseded'
where programme = :p and week = :w and status = 'frozen'
"""
_READ_LIST = "select * from outreach.lists where list_id = :id order by rank"
#: A contact is stored unless a current one has its key; its generation counts
#: the earlier (retracted or corrected) contacts with that key (migration 0004).
_INSERT_CONTACT = f"""
insert into outreach.contacts ({", ".join(CONTACT_COLUMNS)}, generation)
select {", ".join(":" + c for c in CONTACT_COLUMNS)}, (
    select count(*) from outreach.contacts
    where {CONTACT_KEY}
)
where not exists (select 1 from outreach.current_contacts where {CONTACT_KEY})
"""
_INSERT_OPT_OUT = """
insert into outreach.opt_outs
    (citizen_id, opted_out_date, list_id, recorded_by, recorded_at, reason)
select :citizen_id, :outcome_date, :list_id, :recorded_by, :recorded_at, null
where not exists (select 1 from outreach.opt_outs where citizen_id = :citizen_id)
"""
_CONTACTS_OF = """
select
    c.contact_id, c.outcome, c.outcome_date, c.recorded_by, c.opt_out, c.note,
    c.recorded_at, c.source, c.corrects, x.action, x.reason as change_reason,
    x.changed_by, x.changed_at, x.replaced_by
from outreach.contacts as c
left join outreach.contact_changes as x on x.contact_id = c.contact_id
where c.list_id = :list_id and c.citizen_id = :citizen_id
order by c.recorded_at, c.outcome_date
"""
_RECORDED_ON = """
select citizen_id, string_agg(outcome, ', ' order by recorded_at) as outcomes
from outreach.current_contacts
where list_id = :list_id
group by citizen_id
"""
#: The audit-log filters (all optional): ``None`` lets every row through.
AUDIT_FILTERS = ("since", "until", "event", "programme", "actor")
_AUDIT_WHERE = """
where (cast(:since as date) is null or cast("at" as date) >= cast(:since as date))
    and (cast(:until as date) is null or cast("at" as date) <= cast(:until as date))
    and (cast(:event as text) is null or event = :event)
    and (cast(:programme as text) is null or programme = :programme)
    and (cast(:actor as text) is null or actor = :actor)
"""
_AUDIT_EVENTS = f"""
select "at", event, actor, programme, week, list_id, model_uri, extract_hash, counts
from outreach.audit_log
{_AUDIT_WHERE}
order by "at", {{order}}
"""
_AUDIT_FACETS = """
select distinct event, programme, actor from outreach.audit_log
"""
_AUDIT_LOG = """
select event, actor, "at", programme, week, list_id, model_uri, extract_hash, counts
from outreach.audit_log
where cast(:programme as text) is null or programme = :programme
order by "at", {order}
"""
_AUDIT_SUMMARY = f"""
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
{_AUDIT_WHERE}
group by programme, event
order by programme, event
"""


class OperationalStore(UserTable, ChangeTable):
    """The operational tables on one backend, brought up to date when opened.

    Parameters
    ----------
    backend : Backend
        :class:`~outreach.app.store.backends.DuckDBBackend` (the warehouse) or
        :class:`~outreach.app.store.backends.PostgresBackend`.

    Raises
    ------
    ConfigError
        The store's schema is newer than this code.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        upgrade_schema(backend)

    @property
    def name(self) -> str:
        """Return the backend's name: ``duckdb`` or ``postgresql``."""
        return self.backend.name

    def lives_in(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Return True when the tables live in that DuckDB connection."""
        return self.backend.lives_in(con)

    def current_run(self, programme: str, week: str) -> dict[str, Any] | None:
        """Return the frozen run of a programme and week, if any."""
        rows = self.backend.rows(_CURRENT_RUN, {"p": programme, "w": week})
        return rows[0] if rows else None

    def frozen_runs(self, programmes: Sequence[str]) -> list[dict[str, Any]]:
        """Return the frozen runs of some programmes, newest week first."""
        params = {f"p{i}": name for i, name in enumerate(programmes)}
        names = ", ".join(f":{key}" for key in params) or "null"
        return _runs(self.backend.rows(_FROZEN_RUNS.format(names=names), params))

    def next_revision(self, programme: str, week: str) -> int:
        """Return 1 + the number of runs so far for this programme and week."""
        rows = self.backend.rows(_NEXT_REVISION, {"p": programme, "w": week})
        return int(rows[0]["n"]) + 1

    def save_list(
        self,
        run: Mapping[str, Any],
        rows: pd.DataFrame,
        holdouts: pd.DataFrame,
        audit: Mapping[str, Any],
    ) -> None:
        """Supersede the frozen run, insert the new one, its rows, hold-outs, audit."""
        with self.backend.transaction() as tx:
            tx.execute(_SUPERSEDE, {"p": run["programme"], "w": run["week"]})
            tx.execute(insert_sql("list_runs", RUN_COLUMNS), run)
            tx.insert_frame("lists", rows, LIST_COLUMNS)
            tx.insert_frame("holdouts", holdouts, HOLDOUT_COLUMNS)
            tx.execute(insert_sql("audit_log", AUDIT_COLUMNS), _audit_row(audit))

    def read_list(self, list_id: str) -> pd.DataFrame:
        """Return the stored rows of one list, in rank order."""
        return self.backend.frame(_READ_LIST, {"id": list_id})

    def save_contacts(
        self, contacts: Sequence[Mapping[str, Any]]
    ) -> tuple[int, int, int]:
        """Insert contacts and opt-outs in one transaction; count what was new.

        A contact already current (same list, citizen, outcome and date, not
        retracted or corrected) and a citizen already opted out are skipped,
        also under concurrent writers (PostgreSQL's keys). An outcome whose
        earlier contact was retracted is stored again, one generation later.
        """
        stored = repeats = opt_outs = 0
        skip = self.backend.skip_conflicts
        with self.backend.transaction() as tx:
            for contact in map(_with_id, contacts):
                inserted = tx.execute(_INSERT_CONTACT + skip, contact)
                stored += inserted
                repeats += 1 - inserted
                if contact["opt_out"]:
                    opt_outs += tx.execute(_INSERT_OPT_OUT + skip, contact)
        return stored, repeats, opt_outs

    def contacts_of(self, list_id: str, citizen_id: str) -> list[dict[str, Any]]:
        """Return the outcomes recorded for one citizen on one list, oldest first."""
        params = {"list_id": list_id, "citizen_id": citizen_id}
        return self.backend.rows(_CONTACTS_OF, params)

    def recorded_on(self, list_id: str) -> dict[str, str]:
        """Return citizen id -> outcomes recorded so far on a list."""
        rows = self.backend.rows(_RECORDED_ON, {"list_id": list_id})
        return {str(r["citizen_id"]): str(r["outcomes"]) for r in rows}

    def read_table(self, table: str) -> pd.DataFrame:
        """Return a whole operational table (without the audit log's serial id)."""
        frame = self.backend.frame(f"select * from outreach.{_table(table)}")
        return frame.drop(columns=["event_id"], errors="ignore")

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one row to the audit log."""
        with self.backend.transaction() as tx:
            tx.execute(insert_sql("audit_log", AUDIT_COLUMNS), _audit_row(event))

    def read_audit_log(self, programme: str | None = None) -> pd.DataFrame:
        """Return the audit log in time order, optionally of one programme."""
        sql = _AUDIT_LOG.format(order=self.backend.insertion_order)
        return self.backend.frame(sql, {"programme": programme})

    def audit_summary(
        self, filters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Return event counts per programme and event (aggregates only).

        ``filters`` maps names in :data:`AUDIT_FILTERS` to a value (dates as
        :class:`datetime.date`, inclusive) or None for no filter.
        """
        return self.backend.rows(_AUDIT_SUMMARY, _filters(filters))

    def audit_events(
        self, filters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Return the audit-log rows passing ``filters`` in time order."""
        sql = _AUDIT_EVENTS.format(order=self.backend.insertion_order)
        return self.backend.rows(sql, _filters(filters))

    def audit_facets(self) -> dict[str, list[str]]:
        """Return the distinct events, programmes and actors in the log."""
        rows = self.backend.rows(_AUDIT_FACETS)
        return {
            key: sorted({str(r[key]) for r in rows if r[key] is not None})
            for key in ("event", "programme", "actor")
        }


def _with_id(contact: Mapping[str, Any]) -> dict[str, Any]:
    """Give a contact its own random id and no correction fields unless given."""
    return {
        "contact_id": uuid.uuid4().hex,
        "corrects": None,
        "reason": None,
        **contact,
    }


def _filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every audit filter by name, None where not given."""
    given = dict(filters or {})
    unknown = set(given) - set(AUDIT_FILTERS)
    if unknown:
        raise ConfigError(
            f"Unknown audit filters {sorted(unknown)}; expected {AUDIT_FILTERS}."
        )
    return {name: given.get(name) for name in AUDIT_FILTERS}


def _table(name: str) -> str:
    """Check an operational table name against the known ones."""
    if name not in OPERATIONAL_TABLES:
        raise ConfigError(
            f"Unknown operational table {name!r}; expected one of {OPERATIONAL_TABLES}."
        )
    return name


def _audit_row(event: Mapping[str, Any]) -> dict[str, Any]:
    """Pick the audit-log columns of an event, counts as JSON text."""
    row = {k: event.get(k) for k in AUDIT_COLUMNS}
    counts = event.get("counts")
    if not isinstance(counts, str):
        counts = json.dumps(dict(counts or {}), sort_keys=True)
    row["counts"] = counts
    return row


def _runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return run rows with their counts parsed."""
    return [
        {**run, "counts": json.loads(run["counts"]) if run["counts"] else {}}
        for run in rows
    ]


def duckdb_store(con: duckdb.DuckDBPyConnection) -> OperationalStore:
    """Return the embedded store in the warehouse ``con``, schema up to date."""
    return OperationalStore(DuckDBBackend(con))


_POSTGRES: dict[str, OperationalStore] = {}
_POSTGRES_LOCK = threading.Lock()


def postgres_store(url: str) -> OperationalStore:
    """Return this process's store for a PostgreSQL URL (one pool per URL)."""
    with _POSTGRES_LOCK:
        if url not in _POSTGRES:
            _POSTGRES[url] = OperationalStore(PostgresBackend(url))
        return _POSTGRES[url]


def close_postgres_stores() -> None:
    """Close every pool this process opened (tests, shutdown)."""
    with _POSTGRES_LOCK:
        for store in _POSTGRES.values():
            backend = store.backend
            if isinstance(backend, PostgresBackend):
                backend.close()
        _POSTGRES.clear()


def operational_store(
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    url: str | None = None,
    settings: EngineSettings | None = None,
) -> OperationalStore:
    """Pick the operational store: PostgreSQL when configured, else the warehouse.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection, optional
        The warehouse (used when no PostgreSQL URL is configured).
    url : str, optional
        A PostgreSQL URL (default: ``settings.operational_db``).
    settings : EngineSettings, optional
        Default: :meth:`EngineSettings.from_env`.

    Returns
    -------
    OperationalStore

    Raises
    ------
    ConfigError
        Neither a URL nor a connection, or a URL that is not ``postgresql://``.
    """
    if url is None:
        from features.settings import EngineSettings

        url = (settings or EngineSettings.from_env()).operational_db
    if url:
        return postgres_store(url)
    if con is None:
        raise ConfigError(NO_CONNECTION)
    return duckdb_store(con)
