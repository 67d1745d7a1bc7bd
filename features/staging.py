"""Where loads stage, how they take the warehouse, and what a region change removes.

Used by :mod:`features.load` around the step that publishes a staged extract
into ``raw.*``. The staging copy holds person-level rows, so it lives beside the
warehouse (same disk, same access rules) in a 0700 folder that is removed on
every exit path, never in the system temp folder. A lock file beside the
warehouse serialises the read-check-publish step of concurrent loads (threads
or processes), so the older-extract check and the swap are one decision.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from features.db import check_identifier

__all__ = [
    "DERIVED_SCHEMAS",
    "STAGE_PREFIX",
    "remove_stale_staging",
    "replace_source_data",
    "staging_folder",
    "stale_staging_folders",
    "warehouse_lock",
]

log = logging.getLogger(__name__)

#: Folder-name prefix of a load's staging copy (beside the warehouse).
STAGE_PREFIX = ".opspor-stage-"
_OWNER = ".owner.lock"
_UNOWNED_GRACE_SECONDS = 60.0
#: Schemas whose tables are derived from the loaded extract (features, labels,
#: scores, reasons, training bookkeeping); dropped when another region replaces it.
DERIVED_SCHEMAS = (
    "staging",
    "intermediate",
    "timelines",
    "citizen",
    "marts",
    "labels",
    "scoring",
    "provenance",
)
_DERIVED_MAIN = ("spine",)
_DERIVED_MODELS = ("feature_builds",)
_SOURCE_REPLACEMENTS_DDL = (
    "create table if not exists raw.source_replacements (replaced_at timestamp,"
    " old_source varchar, old_extract_hash varchar, new_source varchar,"
    " new_extract_hash varchar, reason varchar, dropped_relations integer)"
)


@contextmanager
def staging_folder(warehouse: Path, *, prefix: str = STAGE_PREFIX) -> Iterator[Path]:
    """Yield a fresh 0700 folder beside ``warehouse``; remove it on every exit.

    Folders this creates to hold it (the warehouse's parent, when it did not
    exist yet) are removed again when left empty, so a refused or dry-run load
    leaves nothing behind.

    Parameters
    ----------
    warehouse : Path
        The DuckDB warehouse file; the folder is created in its parent.
    prefix : str
        Name prefix of the folder.

    Yields
    ------
    Path
        The folder (mode 0700).
    """
    parent = warehouse.parent
    created = [p for p in (parent, *parent.parents) if not p.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(warehouse)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        with (folder / (_OWNER + ".new")).open("a+b") as owner:
            # Held while the folder lives; a killed process's lock is released by
            # the kernel, which tells the next load the folder is abandoned. The
            # file is locked before it takes its name: a concurrent load that
            # finds an owner file therefore never finds it unlocked while this
            # load lives (it once did, between open and flock, and removed it).
            fcntl.flock(owner.fileno(), fcntl.LOCK_EX)
            os.replace(folder / (_OWNER + ".new"), folder / _OWNER)
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for path in created:
            _remove_if_empty(path)


def remove_stale_staging(warehouse: Path) -> list[Path]:
    """Remove staging folders beside ``warehouse`` whose process has died.

    A process killed with SIGKILL cannot clean up; the next load (or features
    build) finds its folder unlocked and removes it.

    Parameters
    ----------
    warehouse : Path
        The DuckDB warehouse file.

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    for folder in stale_staging_folders(warehouse):
        if _abandoned(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        log.warning("removed %s abandoned staging folder(s)", len(removed))
    return removed


def _abandoned(folder: Path) -> bool:
    """Tell whether no living process holds the folder's owner lock."""
    owner_path = folder / _OWNER
    try:
        if not owner_path.exists():
            # Just created by a starting load (the owner file follows at once),
            # or killed in between: only the latter is old.
            age = time.time() - folder.stat().st_mtime
            return age > _UNOWNED_GRACE_SECONDS
        with owner_path.open("rb") as owner:
            fcntl.flock(owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
    except OSError:  # held (BlockingIOError), or removed meanwhile
        return False


def _remove_if_empty(path: Path) -> None:
    """Remove an empty folder; leave anything else alone."""
    with suppress(OSError):
        path.rmdir()


def stale_staging_folders(warehouse: Path) -> list[Path]:
    """Return staging folders left beside ``warehouse`` (by a killed process).

    Parameters
    ----------
    warehouse : Path
        The DuckDB warehouse file.

    Returns
    -------
    list of Path
        Folders named ``.opspor-stage-*`` in the warehouse's folder.
    """
    if not warehouse.parent.is_dir():
        return []
    return sorted(warehouse.parent.glob(STAGE_PREFIX + "*"))


@contextmanager
def warehouse_lock(warehouse: Path) -> Iterator[None]:
    """Hold the exclusive load lock of ``warehouse`` (a ``.lock`` file beside it).

    ``flock`` locks belong to the open file, so two threads of one process
    exclude each other as two processes do; the kernel releases the lock when a
    killed process dies.
    """
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with lock_path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def replace_source_data(
    con: duckdb.DuckDBPyConnection,
    *,
    old: Mapping[str, Any],
    new_source: str | None,
    new_hash: str,
    reason: str,
) -> int:
    """Drop every table and view derived from the old region and record why.

    Runs inside the load's publishing transaction, so the old region's
    features, labels, scores and reasons disappear together with its ``raw.*``
    rows or not at all. Outreach history (lists, outcomes, opt-outs, audit log)
    is kept: it records what happened and opt-outs only protect.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, inside a transaction.
    old : mapping
        The loaded extract's ``source`` and ``extract_hash``.
    new_source : str or None
        The replacing extract's (normalised) source.
    new_hash : str
        The replacing extract's hash.
    reason : str
        Why the region is replaced (audited).

    Returns
    -------
    int
        The number of dropped tables and views.
    """
    dropped = 0
    for schema, name, kind in _derived_relations(con):
        what = "view" if kind == "VIEW" else "table"
        qualified = f"{check_identifier(schema)}.{check_identifier(name)}"
        con.execute(f"drop {what} if exists {qualified}")
        dropped += 1
    con.execute("create schema if not exists raw")
    con.execute(_SOURCE_REPLACEMENTS_DDL)
    con.execute(
        "insert into raw.source_replacements values"
        " ($at, $old_source, $old_hash, $new_source, $new_hash, $reason, $n)",
        {
            "at": datetime.now().replace(microsecond=0),
            "old_source": old["source"],
            "old_hash": old["extract_hash"],
            "new_source": new_source,
            "new_hash": new_hash,
            "reason": reason,
            "n": dropped,
        },
    )
    log.info("source replaced: %s derived relation(s) dropped", dropped)
    return dropped


def _derived_relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """Return (schema, name, table_type) of every relation derived from the extract."""
    rows = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables"
        " where table_catalog = current_database()"
        " and (list_contains($schemas, table_schema)"
        " or (table_schema = 'main' and list_contains($main, table_name))"
        " or (table_schema = 'models' and list_contains($models, table_name)))"
        " order by table_type = 'VIEW' desc, table_schema, table_name",
        {
            "schemas": list(DERIVED_SCHEMAS),
            "main": list(_DERIVED_MAIN),
            "models": list(_DERIVED_MODELS),
        },
    ).fetchall()
    return [(str(s), str(n), str(k)) for s, n, k in rows]
