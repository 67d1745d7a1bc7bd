"""The thin dialect layer under the operational store: DuckDB or PostgreSQL.

:class:`~outreach.app.store.store.OperationalStore` writes every query once,
with ``:name`` placeholders. A backend runs them on its own connection: the
DuckDB warehouse the caller holds (``$name``), or a psycopg pool
(``%(name)s``). Besides placeholders, a backend says only what its dialect
does differently: how a repeated insert is skipped, which column keeps the
audit log in insertion order, how a frame is inserted, and how concurrent
schema upgrades are serialised. SQLAlchemy has no DuckDB driver among our
dependencies, and the embedded store must run on the caller's open DuckDB
connection, so queries run through the drivers themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import duckdb
import numpy as np
import pandas as pd

from features.errors import ConfigError
from outreach.app.store.schema import SCHEMA, BackendName

__all__ = [
    "BAD_URL",
    "Backend",
    "DuckDBBackend",
    "PostgresBackend",
    "Transaction",
    "insert_sql",
    "public_location",
]

BAD_URL = "OPSPOR_OPERATIONAL_DB must be a postgresql:// URL. Got {url!r} instead."
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_DUCKDB_HAS_TABLE = f"""
select count(*) as n from duckdb_tables()
where database_name = current_database() and schema_name = '{SCHEMA}'
    and table_name = :table
"""
_PG_HAS_TABLE = "select to_regclass(:name) as found"


class Transaction(Protocol):
    """Statements run inside one transaction of a backend."""

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement; return the number of rows it changed."""

    def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one query; return its rows."""

    def insert_frame(
        self, table: str, frame: pd.DataFrame, columns: Sequence[str]
    ) -> None:
        """Insert the given columns of a frame into ``outreach.<table>``."""


class Backend(Protocol):
    """Where the operational tables live, and how to talk to it."""

    name: BackendName
    #: Appended to an insert that must skip a row its unique key already holds.
    skip_conflicts: str
    #: The column that orders audit events written in the same second.
    insertion_order: str

    def rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run one query; return its rows as dicts (None for NULL)."""

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one query; return its frame."""

    def transaction(
        self, *, exclusive: bool = False
    ) -> AbstractContextManager[Transaction]:
        """Open a transaction; ``exclusive`` serialises schema upgrades."""

    def lives_in(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Return True when the tables live in that DuckDB connection."""

    def has_table(self, table: str) -> bool:
        """Return True when ``outreach.<table>`` exists (one cheap catalogue look)."""

    def describe(self) -> str:
        """Return where the store lives, without credentials."""


def insert_sql(table: str, columns: Sequence[str], tail: str = "") -> str:
    """``insert into outreach.<table> (...) values (:col, ...)`` plus a tail."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(f":{c}" for c in columns)
    return f"insert into {SCHEMA}.{table} ({names}) values ({marks}){tail}"


def _marks(sql: str, mark: str) -> str:
    """Rewrite ``:name`` placeholders in a driver's style (``mark`` takes the name)."""
    return _PLACEHOLDER.sub(lambda m: mark.format(m.group(1)), sql)


def _bind(
    sql: str, params: Mapping[str, Any] | None, mark: str
) -> tuple[str, dict[str, Any]]:
    """Rewrite placeholders; pass only the params used, as plain values."""
    given = dict(params or {})
    used = set(_PLACEHOLDER.findall(sql))
    return _marks(sql, mark), {k: plain_value(given[k]) for k in used}


def plain_value(value: Any) -> Any:
    """Turn a frame cell into a plain Python value both drivers can send."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


class DuckDBBackend:
    """The operational tables in the DuckDB warehouse (the embedded default).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The open warehouse; the store runs on it and never closes it.
    """

    name: BackendName = "duckdb"
    skip_conflicts = ""
    insertion_order = "rowid"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run one query; return its rows as dicts (None for NULL)."""
        cursor = self.con.execute(*_bind(sql, params, "${}"))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one query; return its frame (DuckDB's own column types)."""
        return self.con.execute(*_bind(sql, params, "${}")).df()

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[Transaction]:
        """Open a transaction on the warehouse (one writer process: no lock needed)."""
        self.con.execute("begin transaction")
        try:
            yield _DuckDBTransaction(self.con)
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    def lives_in(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Return True when ``con`` is this store's warehouse connection."""
        return self.con is con

    def has_table(self, table: str) -> bool:
        """Look in DuckDB's own catalogue (faster than information_schema)."""
        return bool(self.rows(_DUCKDB_HAS_TABLE, {"table": table})[0]["n"])

    def describe(self) -> str:
        """Return the warehouse file this store lives in."""
        row = self.con.execute(
            "select path from duckdb_databases()"
            " where database_name = current_database()"
        ).fetchone()
        return str(row[0]) if row and row[0] else ":memory:"


class _DuckDBTransaction:
    """Statements on the warehouse connection inside its open transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement; DuckDB returns the changed count as a row."""
        row = self.con.execute(*_bind(sql, params, "${}")).fetchone()
        return int(row[0]) if row else 0

    def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one query; return its rows."""
        return self.con.execute(*_bind(sql, params, "${}")).fetchall()

    def insert_frame(
        self, table: str, frame: pd.DataFrame, columns: Sequence[str]
    ) -> None:
        """Insert a frame by column name through a registered view."""
        if not len(frame):
            return
        self.con.register("_outreach_rows", frame[list(columns)])
        try:
            self.con.execute(
                f"insert into {SCHEMA}.{table} by name select * from _outreach_rows"
            )
        finally:
            self.con.unregister("_outreach_rows")


class PostgresBackend:
    """The operational tables in PostgreSQL, shared by several app processes.

    Parameters
    ----------
    url : str
        ``postgresql://user@host:port/database``.
    max_connections : int
        Size of this process's connection pool.

    Raises
    ------
    ConfigError
        The URL is not a ``postgresql://`` URL.
    """

    name: BackendName = "postgresql"
    skip_conflicts = " on conflict do nothing"
    insertion_order = "event_id"

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        from psycopg_pool import ConnectionPool

        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(BAD_URL.format(url=url))
        self.url = url
        self.pool = ConnectionPool(
            url, min_size=1, max_size=max_connections, open=True,
            kwargs={"autocommit": True}, name="opspor-operational",
        )  # fmt: skip

    def close(self) -> None:
        """Close the connection pool."""
        self.pool.close()

    def rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run one statement (autocommit: one round trip); rows as dicts."""
        with self.pool.connection() as conn:
            cursor = conn.execute(*_bind(_escaped(sql), params, "%({})s"))
            names = [d.name for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one query; return its frame."""
        with self.pool.connection() as conn:
            cursor = conn.execute(*_bind(_escaped(sql), params, "%({})s"))
            names = [d.name for d in cursor.description or ()]
            return pd.DataFrame(cursor.fetchall(), columns=names)

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[Transaction]:
        """Yield statements inside one transaction (committed on success)."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if exclusive:
                cur.execute(
                    "select pg_advisory_xact_lock(hashtext('opspor-operational'))"
                )
            yield _PostgresTransaction(cur)

    def lives_in(self, con: duckdb.DuckDBPyConnection) -> bool:
        """PostgreSQL tables never live in a DuckDB connection."""
        return False

    def has_table(self, table: str) -> bool:
        """Resolve the name in PostgreSQL's catalogue."""
        name = f"{SCHEMA}.{table}"
        return self.rows(_PG_HAS_TABLE, {"name": name})[0]["found"] is not None

    def describe(self) -> str:
        """Return host, port and database, without user or password."""
        return public_location(self.url)


def public_location(url: str) -> str:
    """Return a PostgreSQL URL's host, port and database, without credentials."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    host, port, name = (info.get(k, "") for k in ("host", "port", "dbname"))
    return f"postgresql://{host}:{port}/{name}"


def _escaped(sql: str) -> str:
    """Double a literal ``%`` so psycopg does not read it as a placeholder."""
    return sql.replace("%", "%%")


class _PostgresTransaction:
    """Statements on one psycopg cursor inside its open transaction."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement; return psycopg's row count."""
        self.cursor.execute(*_bind(_escaped(sql), params, "%({})s"))
        return max(int(self.cursor.rowcount), 0)

    def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one query; return its rows."""
        self.cursor.execute(*_bind(_escaped(sql), params, "%({})s"))
        return list(self.cursor.fetchall())

    def insert_frame(
        self, table: str, frame: pd.DataFrame, columns: Sequence[str]
    ) -> None:
        """Insert a frame row by row in one round trip per batch."""
        if not len(frame):
            return
        sql = _marks(_escaped(insert_sql(table, columns)), "%({})s")
        records = frame[list(columns)].to_dict("records")
        self.cursor.executemany(
            sql, [{k: plain_value(v) for k, v in r.items()} for r in records]
        )
