"""Numbered migrations of the operational store, recorded in ``schema_version``.

Each migration is numbered and builds its DDL from the SQLAlchemy Core tables of
:mod:`outreach.app.store.schema`, compiled for the backend. :func:`upgrade_schema`
applies the pending ones in order, each with its row in ``schema_version``, all
in one transaction (PostgreSQL and DuckDB both have transactional DDL), under an
advisory lock on PostgreSQL so app processes starting together upgrade once.
A store that is newer than this code is refused rather than written to.

Why a numbered-migrations table and not Alembic: Alembic runs on a SQLAlchemy
connection, and the embedded store lives in the DuckDB warehouse connection
the caller already holds (one writer process per file; no DuckDB driver for
SQLAlchemy among our dependencies, and Alembic cannot autogenerate against
DuckDB). Alembic also expects a script folder and an ini file run by an
operator, while Opspor ships its migrations inside the wheel and applies them
when a store is opened, as it created its tables on first use before. Six
tables and a short list of additive migrations need no more than this module:
one table, one ordered tuple and one function, each tested on both backends.

Migration 0001 is the schema as it stood before versioning, created only where
missing, so an unversioned store (the "v0" of ``tests/outreach/fixtures``) is
adopted at version 1 with its rows untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.schema import CreateIndex, CreateSchema, CreateTable

from features.errors import ConfigError
from outreach.app.store.backends import Backend, Transaction, insert_sql
from outreach.app.store.schema import (
    SCHEMA,
    BackendName,
    baseline_metadata,
    changes_metadata,
    dialect_of,
    version_table,
)

__all__ = [
    "HEAD",
    "MIGRATIONS",
    "NEWER_STORE",
    "Migration",
    "create_ddl",
    "pending_migrations",
    "schema_version",
    "upgrade_schema",
]

log = logging.getLogger(__name__)

NEWER_STORE = (
    "The operational store is at schema version {found}, newer than this Opspor "
    "knows ({head}). Upgrade Opspor before using this store."
)


@dataclass(frozen=True)
class Migration:
    """One numbered step of the schema: its version, name and DDL per backend."""

    version: int
    name: str
    statements: Callable[[BackendName], list[str]]

    @property
    def label(self) -> str:
        """Return ``0001_baseline``-style text for status and logs."""
        return f"{self.version:04d}_{self.name}"


def create_ddl(metadata: MetaData, backend: BackendName) -> list[str]:
    """Compile ``create ... if not exists`` for a schema's tables and indexes.

    Parameters
    ----------
    metadata : MetaData
        Tables in creation order.
    backend : {"duckdb", "postgresql"}
        The dialect to compile for.

    Returns
    -------
    list of str
        One statement each: the schema, then each table and its indexes.
    """
    dialect = dialect_of(backend)
    statements = [
        str(CreateSchema(SCHEMA, if_not_exists=True).compile(dialect=dialect))
    ]
    for table in metadata.tables.values():
        statements.append(
            str(CreateTable(table, if_not_exists=True).compile(dialect=dialect))
        )
        statements += [
            str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect))
            for index in sorted(table.indexes, key=lambda i: str(i.name))
        ]
    return [s.strip() for s in statements]


def _baseline(backend: BackendName) -> list[str]:
    """0001: the tables as they stood before versioning (created where missing)."""
    return create_ddl(baseline_metadata(backend), backend)


#: Contacts that no later change corrected or retracted: what every reader counts.
CURRENT_CONTACTS_VIEW = """
create or replace view outreach.current_contacts as
select c.*
from outreach.contacts as c
where not exists (
    select 1 from outreach.contact_changes as x where x.contact_id = c.contact_id
)
"""
_CONTACT_IDS = """
update outreach.contacts
set contact_id = md5(
    list_id || '|' || citizen_id || '|' || outcome || '|' || cast(outcome_date as text)
)
where contact_id is null
"""


def _changes(backend: BackendName) -> list[str]:
    """0002: contact ids, corrections and retractions, reasons on opt-outs.

    Existing contacts get an id derived from their key (list, citizen, outcome,
    date); new ones get a random id. Nothing is rewritten but the new columns.
    """
    tables = create_ddl(changes_metadata(backend), backend)[1:]
    return [
        *(
            f"alter table outreach.contacts add column if not exists {name} text"
            for name in ("contact_id", "corrects", "reason")
        ),
        _CONTACT_IDS,
        "alter table outreach.opt_outs add column if not exists reason text",
        *tables,
        CURRENT_CONTACTS_VIEW,
    ]


def _must_change(backend: BackendName) -> list[str]:
    """0003: a user whose password an admin set must change it after signing in.

    Only PostgreSQL keeps users in the store (the embedded store's users live
    in ``users.json``, whose records gain the field when next written), so
    DuckDB has nothing to change. Existing users keep their passwords.
    """
    if backend != "postgresql":
        return []
    return [
        "alter table outreach.users add column if not exists "
        "must_change boolean not null default false"
    ]


#: PostgreSQL's name for migration 0001's key on contacts.
_OLD_CONTACT_KEY = "contacts_list_id_citizen_id_outcome_outcome_date_key"
_NEW_CONTACT_KEY = """
alter table outreach.contacts add constraint contacts_key_generation
unique (list_id, citizen_id, outcome, outcome_date, generation)
"""


def _recorded_again(backend: BackendName) -> list[str]:
    """0004: an outcome retracted or corrected away can be recorded again.

    The key (list, citizen, outcome, date) held only one contact ever, so a
    retracted outcome could never be recorded again. Each contact now has a
    ``generation``: 0 for the first with its key, n for the one recorded after
    n earlier ones were changed. PostgreSQL keys on the key and generation, so
    two app processes recording the same outcome at once still store it once.
    Existing contacts are generation 0 (the old key made them unique).
    """
    statements = [
        "alter table outreach.contacts add column if not exists "
        "generation integer default 0",
        "update outreach.contacts set generation = 0 where generation is null",
        CURRENT_CONTACTS_VIEW,
    ]
    if backend != "postgresql":
        return statements
    return [
        *statements,
        "alter table outreach.contacts alter column generation set not null",
        f"alter table outreach.contacts drop constraint if exists {_OLD_CONTACT_KEY}",
        _NEW_CONTACT_KEY,
    ]


#: Every migration in order; append, never edit one that has shipped.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline", _baseline),
    Migration(2, "contact_changes", _changes),
    Migration(3, "must_change_password", _must_change),
    Migration(4, "contacts_recorded_again", _recorded_again),
)
HEAD = MIGRATIONS[-1].version

_VERSION = "select coalesce(max(version), 0) as version from outreach.schema_version"


def schema_version(backend: Backend) -> int:
    """Return the store's schema version (0: unversioned or empty)."""
    if not backend.has_table("schema_version"):
        return 0
    return int(backend.rows(_VERSION)[0]["version"])


def pending_migrations(
    version: int, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[Migration]:
    """Return the migrations after ``version``, in order."""
    return [m for m in migrations if m.version > version]


def upgrade_schema(
    backend: Backend, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[Migration]:
    """Apply the pending migrations in one transaction; record each one.

    Parameters
    ----------
    backend : Backend
        The store to upgrade.
    migrations : tuple of Migration
        The ordered migrations (default: :data:`MIGRATIONS`; tests add steps).

    Returns
    -------
    list of Migration
        The migrations applied (empty when the store was up to date).

    Raises
    ------
    ConfigError
        The store is at a version newer than the last migration known here.
    """
    head = migrations[-1].version
    if _checked(schema_version(backend), head) == head:
        return []
    with backend.transaction(exclusive=True) as tx:
        found = _checked(_version_in(tx, backend.name), head)
        todo = pending_migrations(found, migrations)
        for migration in todo:
            _apply(tx, migration, backend.name)
    if todo:
        log.info("operational store upgraded to version %s", head)
    return todo


def _checked(found: int, head: int) -> int:
    """Refuse a store newer than this code; return its version."""
    if found > head:
        raise ConfigError(NEWER_STORE.format(found=found, head=head))
    return found


def _version_in(tx: Transaction, backend: BackendName) -> int:
    """Create the version table if missing; return the version inside the lock."""
    table = version_table(MetaData(schema=SCHEMA))
    dialect = dialect_of(backend)
    tx.execute(str(CreateSchema(SCHEMA, if_not_exists=True).compile(dialect=dialect)))
    tx.execute(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
    return int(tx.fetch(_VERSION)[0][0])


def _apply(tx: Transaction, migration: Migration, backend: BackendName) -> None:
    """Run one migration's statements and record it."""
    for statement in migration.statements(backend):
        tx.execute(statement)
    tx.execute(
        insert_sql("schema_version", ("version", "name", "applied_at")),
        {
            "version": migration.version,
            "name": migration.name,
            "applied_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        },
    )
