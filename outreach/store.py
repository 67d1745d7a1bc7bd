"""Shared plumbing of the outreach stage: its DuckDB tables, the actor, atomic files.

Every outreach entry function first calls :func:`ensure_outreach_tables` (the DDL
in ``outreach/sql/schema.sql``), names the person acting with :func:`resolve_actor`
and writes files only through :func:`atomic_write` (temp file in the same
folder, then ``os.replace``), so a reader never sees half a list.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from features.db import read_sql

__all__ = ["atomic_write", "ensure_outreach_tables", "now_utc", "resolve_actor"]


def ensure_outreach_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``outreach`` schema and its tables if they are missing."""
    con.execute(read_sql("outreach", "sql", "schema.sql"))


def resolve_actor(user: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Name the person acting: ``--user``, else ``$USER``, else ``"cli"``."""
    env = os.environ if env is None else env
    return (user or env.get("USER") or "cli").strip() or "cli"


def now_utc() -> datetime:
    """Return the time now in UTC to the second, without tzinfo (DuckDB timestamp)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Write a file via a temp file in the same folder, then ``os.replace``.

    Parameters
    ----------
    path : Path
        Final location; its folder is created.
    write : callable
        Writes the whole file to the temp path it is given.

    Returns
    -------
    Path
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
