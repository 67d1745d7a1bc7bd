"""The operational tables as the DuckDB warehouse's analytical SQL sees them.

The list SQL (exclusions, last contact, invariant checks) runs in DuckDB next to
the scores, so :func:`stage_operational_tables` first copies the opt-out
register and the current contacts (none a later change corrected or retracted)
into the DuckDB temp tables ``ops_opt_outs`` and ``ops_contacts``.
:func:`sync_to_warehouse` copies every operational table into the warehouse's
``outreach`` schema for the analytical reports (fairness audit of a week,
programme report, evaluation). :func:`ensure_outreach_tables` brings the
warehouse's own ``outreach.*`` tables to the current schema version.
"""

from __future__ import annotations

import logging

import duckdb
import pandas as pd

from outreach.app.store.backends import DuckDBBackend
from outreach.app.store.migrations import upgrade_schema
from outreach.app.store.store import OPERATIONAL_TABLES, OperationalStore

__all__ = ["ensure_outreach_tables", "stage_operational_tables", "sync_to_warehouse"]

log = logging.getLogger(__name__)

_STAGED = {
    "ops_opt_outs": (
        "opt_outs",
        "citizen_id varchar, opted_out_date date, list_id varchar, "
        "recorded_by varchar, recorded_at timestamp",
    ),
    "ops_contacts": (
        "current_contacts",
        "list_id varchar, programme varchar, week varchar, citizen_id varchar, "
        "outcome varchar, outcome_date date, recorded_by varchar, opt_out boolean, "
        "note varchar, recorded_at timestamp, source varchar",
    ),
}


def ensure_outreach_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the warehouse's ``outreach`` tables to the current version."""
    upgrade_schema(DuckDBBackend(con))


def _insert_frame(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame
) -> None:
    """Insert a frame by column name (nothing when it is empty)."""
    if not len(frame):
        return
    con.register("_ops_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from _ops_rows")
    finally:
        con.unregister("_ops_rows")


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
        names = ", ".join(column.split()[0] for column in columns.split(", "))
        rows = f"select {names} from outreach.{table}"
        if store.lives_in(con):
            con.execute(f"insert into {temp} by name {rows}")
        else:
            _insert_frame(con, temp, store.backend.frame(rows))


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
    if store.lives_in(con):
        return {}
    ensure_outreach_tables(con)
    copied: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for table in OPERATIONAL_TABLES:
            frame = store.read_table(table)
            con.execute(f"delete from outreach.{table}")
            _insert_frame(con, f"outreach.{table}", frame)
            copied[table] = len(frame)
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    log.info("copied %s operational rows into the warehouse", sum(copied.values()))
    return copied
