"""DuckDB plumbing shared by every stage: connect, read packaged SQL, swap tables.

Identifiers only ever come from file names or constants that pass
:func:`check_identifier`; values are bound as ``$name`` parameters.
"""

from __future__ import annotations

import copy
import functools
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml

from features.errors import ConfigError, WarehouseBusyError
from features.settings import EngineSettings

__all__ = [
    "BAD_DUCKDB_SETTING",
    "WAREHOUSE_BUSY",
    "check_identifier",
    "connect",
    "read_sql",
    "read_yaml",
    "run_sql",
    "swap_table",
    "relation_kind",
    "table_exists",
    "transaction",
]

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_BAD_IDENTIFIER = "{what} {name!r} is not a safe SQL identifier (^[a-z][a-z0-9_]*$)."
WAREHOUSE_BUSY = (
    "{path} is in use by another process{holder}; try again when it has finished "
    "(a load, the weekly job, or the web app on the embedded store)."
)
_LOCK_RETRY_SECONDS = 0.05
BAD_DUCKDB_SETTING = (
    "DuckDB refused the engine's DuckDB settings (OPSPOR_DUCKDB_MEMORY_LIMIT, "
    "OPSPOR_DUCKDB_THREADS, OPSPOR_DUCKDB_TEMP_DIRECTORY): {error}"
)
#: One statement per DuckDB setting the engine controls; the value is bound.
_SET = {
    "memory_limit": "set memory_limit = $value",
    "threads": "set threads = $value",
    "temp_directory": "set temp_directory = $value",
}
_HOLDER = re.compile(r"PID (\d+)")


def check_identifier(name: str, what: str = "Identifier") -> str:
    """Return ``name`` if it is a safe lower-case identifier, else raise ConfigError."""
    if not _IDENTIFIER.match(name):
        raise ConfigError(_BAD_IDENTIFIER.format(what=what, name=name))
    return name


def connect(
    path: Path | str | None = None,
    *,
    read_only: bool = False,
    settings: EngineSettings | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (``None`` or ``":memory:"`` for an in-memory database).

    Every connection gets the engine's DuckDB settings (``memory_limit``,
    ``threads``, ``temp_directory``; see :meth:`EngineSettings.duckdb_config`),
    so a large step spills to disk instead of failing. This is the one place
    they are applied.

    Parameters
    ----------
    path : Path, str or None
        DuckDB file; its parent folder is created.
    read_only : bool
        Open without write access (the web app and reports).
    settings : EngineSettings, optional
        Lock wait and DuckDB settings; default :meth:`EngineSettings.from_env`.

    Returns
    -------
    duckdb.DuckDBPyConnection

    Raises
    ------
    WarehouseBusyError
        Another process still holds the file after ``OPSPOR_LOCK_WAIT`` seconds.
    ConfigError
        DuckDB refuses one of the engine's DuckDB settings.
    """
    settings = settings or EngineSettings.from_env()
    if path is None or str(path) == ":memory:":
        return _configured(duckdb.connect(":memory:"), settings.duckdb_config())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = settings.duckdb_config(path)
    deadline = time.monotonic() + settings.lock_wait
    while True:
        try:
            return _configured(duckdb.connect(str(path), read_only=read_only), config)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise _busy(path, error) from error
            time.sleep(_LOCK_RETRY_SECONDS)


def _configured(
    con: duckdb.DuckDBPyConnection, config: Mapping[str, str]
) -> duckdb.DuckDBPyConnection:
    """Apply the engine's DuckDB settings; ConfigError if DuckDB refuses one."""
    try:
        for name, value in config.items():
            # Names are our constants; values are bound, never spliced.
            con.execute(_SET[name], {"value": value})
    except duckdb.Error as error:
        con.close()
        raise ConfigError(BAD_DUCKDB_SETTING.format(error=error)) from error
    return _quiet(con)


def _quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Turn off DuckDB's own progress bar on this connection.

    On a slow machine it printed to stdout, inside ``opspor --json`` output (the
    CLI draws its own bar on stderr). Inside Jupyter DuckDB draws a widget
    instead and refuses the setting without ipywidgets; the bar is left as it is.
    """
    with suppress(duckdb.InvalidInputException):
        con.execute("set enable_progress_bar = false")
    return con


def _busy(path: Path, error: duckdb.Error) -> WarehouseBusyError:
    """Turn DuckDB's lock error into one line naming the holding process."""
    match = _HOLDER.search(str(error))
    holder = f" (PID {match.group(1)})" if match else ""
    return WarehouseBusyError(WAREHOUSE_BUSY.format(path=path, holder=holder))


def read_sql(package: str, *parts: str) -> str:
    """Read a SQL file shipped as package data."""
    return (resources.files(package).joinpath(*parts)).read_text(encoding="utf-8")


def read_yaml(package: str, *parts: str) -> Any:
    """Parse a YAML file shipped as package data (a SQL contract, ``project.yml``).

    Parsed once per process and file version (path, size, modification time),
    with libyaml's C loader when PyYAML has it; each call gets its own copy, so
    a caller may change what it gets. Building the features for one date reads
    every contract: parsing them in pure Python each time was 70 % of a build
    on a small warehouse.
    """
    path = Path(str(resources.files(package).joinpath(*parts)))
    stat = path.stat()
    return copy.deepcopy(_parse_yaml(path, stat.st_size, stat.st_mtime_ns))


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=512)
def _parse_yaml(path: Path, size: int, mtime_ns: int) -> Any:
    """Parse one YAML file; the size and time are only the cache's key."""
    del size, mtime_ns
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506


def run_sql(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute one statement with named ``$`` parameters and return the connection."""
    if params:
        return con.execute(sql, dict(params))
    return con.execute(sql)


def relation_kind(
    con: duckdb.DuckDBPyConnection, schema: str, name: str
) -> Literal["table", "view"] | None:
    """Tell whether ``schema.name`` is a table, a view, or absent (``None``)."""
    # fetchall, not fetchone: a half-read result upsets DuckDB 2.0's next con.sql().
    rows = con.execute(
        "select table_type from information_schema.tables"
        " where table_schema = $s and table_name = $t",
        {"s": schema, "t": name},
    ).fetchall()
    if not rows:
        return None
    return "view" if rows[0][0] == "VIEW" else "table"


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Tell whether ``schema.table`` exists as a table or view."""
    return relation_kind(con, schema, table) is not None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: commit on success, roll back on any error."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def swap_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    select_sql: str,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Replace ``schema.table`` with the result of ``select_sql`` in one statement.

    ``create or replace table`` is atomic in DuckDB: readers see the old table
    or the new one, never a half-written one. Call inside :func:`transaction`
    to swap several tables together.
    """
    check_identifier(schema, "Schema")
    check_identifier(table, "Table")
    con.execute(f"create schema if not exists {schema}")
    run_sql(con, f"create or replace table {schema}.{table} as {select_sql}", params)
