"""The operational store's tables, defined once in SQLAlchemy Core.

:mod:`outreach.app.store.migrations` builds each migration's DDL from these
definitions, compiled for the backend at hand: PostgreSQL's own dialect, or
:class:`DuckDBDialect`, a compile-only dialect (DuckDB reads PostgreSQL's DDL;
no DuckDB driver for SQLAlchemy is needed). What differs between the backends
is said here, once: the embedded store is served by one process, so the keys
that stop concurrent app processes from duplicating a write (one frozen run per
programme and week, one contact per list, citizen, outcome and date, the audit
log's serial id) and the web app's ``users`` table exist in PostgreSQL only,
and DuckDB keeps the audit counts as ``json``.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Dialect

__all__ = [
    "SCHEMA",
    "BackendName",
    "DuckDBDialect",
    "baseline_metadata",
    "changes_metadata",
    "dialect_of",
    "version_table",
]

BackendName = Literal["duckdb", "postgresql"]
SCHEMA = "outreach"
_COUNTS = Text().with_variant(JSON(), "duckdb")


class DuckDBDialect(PGDialect):
    """Compile-only dialect: PostgreSQL's DDL, which DuckDB reads, named ``duckdb``."""

    name = "duckdb"


def dialect_of(backend: BackendName) -> Dialect:
    """Return the SQLAlchemy dialect that compiles DDL for a backend."""
    dialect = DuckDBDialect if backend == "duckdb" else PGDialect
    return dialect()  # type: ignore[no-untyped-call]


def version_table(metadata: MetaData) -> Table:
    """Add ``outreach.schema_version``: one row per applied migration."""
    return Table(
        "schema_version",
        metadata,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("name", Text, nullable=False),
        Column("applied_at", DateTime, nullable=False),
    )


def baseline_metadata(backend: BackendName) -> MetaData:
    """Return migration 0001's tables: the schema as it stood before migrations.

    Parameters
    ----------
    backend : {"duckdb", "postgresql"}
        The backend whose variant to build (see the module docstring).

    Returns
    -------
    MetaData
        Tables in creation order, with the PostgreSQL-only keys and table when
        ``backend`` is ``"postgresql"``.
    """
    metadata = MetaData(schema=SCHEMA)
    shared = backend == "postgresql"
    _list_runs(metadata, keyed=shared)
    _lists(metadata)
    _holdouts(metadata)
    _contacts(metadata, keyed=shared)
    _opt_outs(metadata)
    _audit_log(metadata, keyed=shared)
    if shared:
        _users(metadata)
    return metadata


def _list_runs(metadata: MetaData, *, keyed: bool) -> None:
    """Add one row per generated list (frozen or superseded)."""
    runs = Table(
        "list_runs",
        metadata,
        Column("list_id", Text, primary_key=True),
        Column("programme", Text, nullable=False),
        Column("week", Text, nullable=False),
        Column("revision", Integer, nullable=False),
        Column("week_start", Date, nullable=False),
        Column("as_of_date", Date, nullable=False),
        Column("extract_date", Date, nullable=False),
        Column("model_uri", Text, nullable=False),
        Column("extract_hash", Text),
        Column("generated_at", DateTime, nullable=False),
        Column("generated_by", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("reason", Text),
        Column("counts", _COUNTS, nullable=False),
    )
    if keyed:
        Index(
            "list_runs_one_frozen",
            runs.c.programme,
            runs.c.week,
            unique=True,
            postgresql_where=runs.c.status == "frozen",
        )


def _lists(metadata: MetaData) -> None:
    """Add the rows of a list, in rank order."""
    Table(
        "lists",
        metadata,
        Column("list_id", Text, primary_key=True),
        Column("programme", Text, nullable=False),
        Column("week", Text, nullable=False),
        Column("rank", Integer, nullable=False),
        Column("citizen_id", Text, primary_key=True),
        Column("area", Text, nullable=False),
        Column("area_name", Text, nullable=False),
        Column("stop", Text, nullable=False),
        Column("preferred_language", Text),
        Column("risk_score", Double, nullable=False),
        Column("risk_rank", Integer, nullable=False),
        Column("risk_band", Text, nullable=False),
        Column("reasons", Text, nullable=False),
        Column("n_reasons", Integer, nullable=False),
        Column("last_contact_date", Date),
        Column("last_contact_outcome", Text),
    )


def _holdouts(metadata: MetaData) -> None:
    """Add the citizens held back at random for evaluation."""
    Table(
        "holdouts",
        metadata,
        Column("list_id", Text, primary_key=True),
        Column("programme", Text, nullable=False),
        Column("week", Text, nullable=False),
        Column("as_of_date", Date, nullable=False),
        Column("citizen_id", Text, primary_key=True),
        Column("area", Text, nullable=False),
        Column("risk_rank", Integer, nullable=False),
        Column("walk_position", Integer, nullable=False),
    )


def _contacts(metadata: MetaData, *, keyed: bool) -> None:
    """Add the recorded outcomes of outreach."""
    keys = [UniqueConstraint("list_id", "citizen_id", "outcome", "outcome_date")]
    Table(
        "contacts",
        metadata,
        Column("list_id", Text, nullable=False),
        Column("programme", Text, nullable=False),
        Column("week", Text, nullable=False),
        Column("citizen_id", Text, nullable=False),
        Column("outcome", Text, nullable=False),
        Column("outcome_date", Date, nullable=False),
        Column("recorded_by", Text, nullable=False),
        Column("opt_out", Boolean, nullable=False),
        Column("note", Text),
        Column("recorded_at", DateTime, nullable=False),
        Column("source", Text, nullable=False),
        *(keys if keyed else []),
    )


def _opt_outs(metadata: MetaData) -> None:
    """Add the opt-out register every later list honours."""
    Table(
        "opt_outs",
        metadata,
        Column("citizen_id", Text, primary_key=True),
        Column("opted_out_date", Date, nullable=False),
        Column("list_id", Text),
        Column("recorded_by", Text, nullable=False),
        Column("recorded_at", DateTime, nullable=False),
    )


def _audit_log(metadata: MetaData, *, keyed: bool) -> None:
    """Add the append-only trail; PostgreSQL numbers its rows (DuckDB: ``rowid``)."""
    serial = [Column("event_id", BigInteger, primary_key=True, autoincrement=True)]
    Table(
        "audit_log",
        metadata,
        *(serial if keyed else []),
        Column("event", Text, nullable=False),
        Column("actor", Text, nullable=False),
        Column("at", DateTime, nullable=False, quote=True),
        Column("programme", Text),
        Column("week", Text),
        Column("list_id", Text),
        Column("model_uri", Text),
        Column("extract_hash", Text),
        Column("counts", _COUNTS),
    )


def _users(metadata: MetaData) -> None:
    """Add the web-app users, for app processes sharing PostgreSQL."""
    Table(
        "users",
        metadata,
        Column("name", Text, primary_key=True),
        Column("role", Text, nullable=False),
        Column("password_hash", Text, nullable=False),
        Column("programmes", Text, nullable=False),
        Column("municipalities", Text, nullable=False),
        Column("language", Text, nullable=False),
        Column("failed_attempts", Integer, nullable=False, server_default=text("0")),
        Column("locked_until", DateTime),
        Column("created_at", DateTime),
    )


def changes_metadata(backend: BackendName) -> MetaData:
    """Return migration 0002's new tables: corrections and opt-out withdrawals.

    Both are append-only. A row of ``contact_changes`` says that one contact
    (by ``contact_id``) was corrected (``replaced_by`` names the new contact) or
    retracted, by whom, when and why; PostgreSQL keys it on ``contact_id`` so
    two app processes cannot change the same contact twice. A withdrawn opt-out
    leaves the register and is kept, with the withdrawal, in
    ``opt_out_withdrawals``.
    """
    metadata = MetaData(schema=SCHEMA)
    keyed = backend == "postgresql"
    Table(
        "contact_changes",
        metadata,
        Column("contact_id", Text, primary_key=keyed, nullable=False),
        Column("list_id", Text, nullable=False),
        Column("citizen_id", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("replaced_by", Text),
        Column("reason", Text, nullable=False),
        Column("changed_by", Text, nullable=False),
        Column("changed_at", DateTime, nullable=False),
    )
    Table(
        "opt_out_withdrawals",
        metadata,
        Column("citizen_id", Text, nullable=False),
        Column("opted_out_date", Date, nullable=False),
        Column("list_id", Text),
        Column("recorded_by", Text, nullable=False),
        Column("recorded_at", DateTime, nullable=False),
        Column("reason", Text),
        Column("withdrawn_by", Text, nullable=False),
        Column("withdrawn_at", DateTime, nullable=False),
        Column("withdrawal_reason", Text, nullable=False),
    )
    return metadata
