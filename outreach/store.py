"""Shared plumbing of the outreach stage: its DuckDB tables, the actor, atomic files.

Every outreach entry function first calls :func:`ensure_outreach_tables` (the DDL
in ``outreach/sql/schema.sql``), names the person acting with :func:`resolve_actor`
and writes files only through :func:`atomic_write` (temp file in the same
folder, then ``os.replace``), so a reader never sees half a list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import duckdb

from features.db import read_sql
from features.files import atomic_write
from features.settings import EngineSettings

__all__ = ["atomic_write", "ensure_outreach_tables", "now_utc", "resolve_actor"]


def ensure_outreach_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``outreach`` schema and its tables if they are missing."""
    con.execute(read_sql("outreach", "sql", "schema.sql"))


def resolve_actor(user: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Name the person acting: ``--user``, else ``$USER``, else ``"cli"``."""
    default = EngineSettings.from_env(env).default_actor
    return (user or default or "cli").strip() or "cli"


def now_utc() -> datetime:
    """Return the time now in UTC to the second, without tzinfo (DuckDB timestamp)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
