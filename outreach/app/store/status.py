"""``opspor store status`` and ``opspor store upgrade``: the schema version of a store.

:func:`store_status` reads the version of the configured store (PostgreSQL when
:attr:`EngineSettings.operational_db` is set, else the warehouse) without
changing it; :func:`upgrade_store` applies the pending migrations. Every other
way of opening a store upgrades it too, so ``upgrade`` is for doing it on
purpose: before the app processes start, or after a backup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from features.db import connect
from features.settings import EngineSettings
from outreach.app.store.backends import Backend, DuckDBBackend, PostgresBackend
from outreach.app.store.migrations import (
    HEAD,
    pending_migrations,
    schema_version,
    upgrade_schema,
)

__all__ = ["StoreStatus", "StoreUpgrade", "store_status", "upgrade_store"]


@dataclass(frozen=True)
class StoreStatus:
    """Where the operational store lives and how far its schema is."""

    backend: str
    location: str
    version: int
    head: int
    pending: list[str]


@dataclass(frozen=True)
class StoreUpgrade:
    """What ``opspor store upgrade`` did."""

    backend: str
    location: str
    from_version: int
    version: int
    applied: list[str]


@contextmanager
def _backend(settings: EngineSettings, *, read_only: bool) -> Iterator[Backend]:
    """Open the configured store's backend for one command, then close it."""
    if settings.operational_db:
        postgres = PostgresBackend(settings.operational_db, max_connections=1)
        try:
            yield postgres
        finally:
            postgres.close()
        return
    con = connect(settings.warehouse, read_only=read_only)
    try:
        yield DuckDBBackend(con)
    finally:
        con.close()


def store_status(settings: EngineSettings) -> StoreStatus:
    """Return the backend, schema version and pending migrations, changing nothing.

    Parameters
    ----------
    settings : EngineSettings
        Which store: ``operational_db``, else the warehouse.

    Returns
    -------
    StoreStatus
        Version 0 is a store not yet versioned (or not yet created).
    """
    if not settings.operational_db and not settings.warehouse.exists():
        pending = [m.label for m in pending_migrations(0)]
        return StoreStatus("duckdb", str(settings.warehouse), 0, HEAD, pending)
    with _backend(settings, read_only=True) as backend:
        version = schema_version(backend)
        pending = [m.label for m in pending_migrations(version)]
        return StoreStatus(backend.name, backend.describe(), version, HEAD, pending)


def upgrade_store(settings: EngineSettings) -> StoreUpgrade:
    """Apply the pending migrations to the configured store.

    Parameters
    ----------
    settings : EngineSettings
        Which store: ``operational_db``, else the warehouse (created if missing).

    Returns
    -------
    StoreUpgrade

    Raises
    ------
    ConfigError
        The store is newer than this Opspor.
    """
    with _backend(settings, read_only=False) as backend:
        before = schema_version(backend)
        applied = [m.label for m in upgrade_schema(backend)]
        return StoreUpgrade(
            backend.name, backend.describe(), before, schema_version(backend), applied
        )
