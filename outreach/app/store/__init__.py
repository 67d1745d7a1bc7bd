"""The operational store: one schema, versioned migrations, one implementation.

Lists, recorded outcomes, opt-outs, the audit log and (on PostgreSQL) the web
app's users live here: in the DuckDB warehouse by default, in PostgreSQL when
``OPSPOR_OPERATIONAL_DB`` is set. :mod:`.schema` defines the tables once
(SQLAlchemy Core), :mod:`.migrations` numbers the changes and records the
version in ``outreach.schema_version``, :mod:`.backends` is the thin dialect
layer, :mod:`.store` the one :class:`OperationalStore`, :mod:`.warehouse` the
copies the analytical SQL reads, and :mod:`.cli` the ``opspor store`` commands.
It imports nothing else of :mod:`outreach`, so the domain can write through it.
"""

from __future__ import annotations

from outreach.app.store.backends import BAD_URL
from outreach.app.store.migrations import HEAD, MIGRATIONS, NEWER_STORE
from outreach.app.store.status import (
    StoreStatus,
    StoreUpgrade,
    store_status,
    upgrade_store,
)
from outreach.app.store.store import (
    LIST_COLUMNS,
    NO_CONNECTION,
    OPERATIONAL_TABLES,
    OperationalStore,
    close_postgres_stores,
    duckdb_store,
    operational_store,
    postgres_store,
)
from outreach.app.store.warehouse import (
    ensure_outreach_tables,
    stage_operational_tables,
    sync_to_warehouse,
)

__all__ = [
    "BAD_URL",
    "HEAD",
    "LIST_COLUMNS",
    "MIGRATIONS",
    "NEWER_STORE",
    "NO_CONNECTION",
    "OPERATIONAL_TABLES",
    "OperationalStore",
    "StoreStatus",
    "StoreUpgrade",
    "close_postgres_stores",
    "duckdb_store",
    "ensure_outreach_tables",
    "operational_store",
    "postgres_store",
    "stage_operational_tables",
    "store_status",
    "sync_to_warehouse",
    "upgrade_store",
]
