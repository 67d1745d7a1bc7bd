"""The operational store's schema: one definition, numbered migrations, upgrades.

``fixtures/store_v0/`` holds the schema as it stood before versioning: the two
DDL files of ``outreach/sql/`` at the last commit before it, one per backend
(``duckdb.sql``, ``postgresql.sql``). Each test taking
``empty`` runs on DuckDB and on PostgreSQL (a fresh database per test; skipped
when no server answers, see ``conftest.postgres_url``).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.app.cli import app
from outreach.app.store import (
    HEAD,
    NEWER_STORE,
    OperationalStore,
    store_status,
    upgrade_store,
)
from outreach.app.store.backends import (
    Backend,
    DuckDBBackend,
    PostgresBackend,
    insert_sql,
    public_location,
)
from outreach.app.store.migrations import (
    MIGRATIONS,
    Migration,
    schema_version,
    upgrade_schema,
)
from outreach.lists import build_weekly_list

V0 = Path(__file__).parent / "fixtures" / "store_v0"
LIST_ID = "diabetes_bus-2026-W48-r1"
AT = datetime(2026, 11, 23, 8, 0)
runner = CliRunner()


@pytest.fixture(params=["duckdb", "postgresql"])
def empty(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A backend over an empty database: in-memory DuckDB or a new PostgreSQL db."""
    if request.param == "duckdb":
        con = duckdb.connect()
        yield DuckDBBackend(con)
        con.close()
        return
    yield from _fresh_postgres(request.getfixturevalue("postgres_url"))


def _fresh_postgres(server_db: str) -> Iterator[Backend]:
    """Create a database of its own for one test; drop it afterwards."""
    import psycopg

    name = f"opspor_store_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_db, autocommit=True) as admin:
        admin.execute(f"create database {name}")
    backend = PostgresBackend(server_db.rsplit("/", 1)[0] + "/" + name)
    try:
        yield backend
    finally:
        backend.close()
        with psycopg.connect(server_db, autocommit=True) as admin:
            admin.execute(f"drop database if exists {name} with (force)")


def _run_script(backend: Backend, script: str) -> None:
    """Run a multi-statement SQL script as today's code did."""
    if isinstance(backend, DuckDBBackend):
        backend.con.execute(script)
        return
    assert isinstance(backend, PostgresBackend)
    with backend.pool.connection() as conn:
        conn.execute(script)


def _create_v0(backend: Backend) -> None:
    """Create the unversioned schema from before migrations."""
    _run_script(backend, (V0 / f"{backend.name}.sql").read_text())


_COLUMNS = """
select table_name, column_name, data_type, is_nullable, column_default
from information_schema.columns
where table_schema = 'outreach' and table_name <> 'schema_version'
order by table_name, column_name
"""
_CONSTRAINTS = """
select tc.table_name, tc.constraint_type, kcu.column_name
from information_schema.table_constraints as tc
join information_schema.key_column_usage as kcu
    on kcu.constraint_name = tc.constraint_name
    and kcu.table_schema = tc.table_schema and kcu.table_name = tc.table_name
where tc.table_schema = 'outreach' and tc.table_name <> 'schema_version'
    and tc.constraint_type in ('PRIMARY KEY', 'UNIQUE')
order by 1, 2, 3
"""
_PG_INDEXES = """
select indexname, indexdef from pg_indexes
where schemaname = 'outreach' and indexname not like '%pkey'
    and indexname not like '%key' and tablename <> 'schema_version'
order by indexname
"""


def _shape(backend: Backend) -> dict[str, Any]:
    """Columns, keys and (PostgreSQL) partial indexes of the outreach tables."""
    shape = {
        "columns": [tuple(r.values()) for r in backend.rows(_COLUMNS)],
        "keys": sorted({tuple(r.values()) for r in backend.rows(_CONSTRAINTS)}),
    }
    if backend.name == "postgresql":
        shape["indexes"] = [tuple(r.values()) for r in backend.rows(_PG_INDEXES)]
    return shape


def _drop_outreach(backend: Backend) -> None:
    """Remove every outreach table (to build the same schema another way)."""
    _run_script(backend, "drop schema outreach cascade")


def test_upgrade_schema_creates_exactly_the_v0_schema(empty: Backend) -> None:
    _create_v0(empty)
    before = _shape(empty)
    _drop_outreach(empty)
    applied = upgrade_schema(empty, MIGRATIONS[:1])
    assert [m.label for m in applied] == ["0001_baseline"]
    assert _shape(empty) == before
    assert len(before["columns"]) >= 63
    if empty.name == "postgresql":
        assert [i[0] for i in before["indexes"]] == ["list_runs_one_frozen"]


def _insert_v0_rows(backend: Backend) -> None:
    """Rows as today's code writes them: a frozen run, 2 list rows, a contact..."""
    counts = json.dumps({"listed": 2})
    run = (
        f"insert into outreach.list_runs values ('{LIST_ID}', 'diabetes_bus',"
        " '2026-W48', 1, date '2026-11-23', date '2026-11-23', date '2026-11-23',"
        f" 'models:/m/1', 'h1', timestamp '2026-11-23 08:00:00', 'anna', 'frozen',"
        f" null, '{counts}')"
    )
    rows = [
        f"insert into outreach.lists values ('{LIST_ID}', 'diabetes_bus', '2026-W48',"
        f" {rank}, 'P0000{rank}', '390', 'Kalundborg', 'Stop {rank}', 'da',"
        f" 0.{9 - rank}, {rank}, 'high', 'reason', 1, null, null)"
        for rank in (1, 2)
    ]
    contact = (
        f"insert into outreach.contacts values ('{LIST_ID}', 'diabetes_bus',"
        " '2026-W48', 'P00002', 'declined', date '2026-11-24', 'anna', true, null,"
        " timestamp '2026-11-24 09:00:00', 'cli')"
    )
    opt_out = (
        "insert into outreach.opt_outs values ('P00002', date '2026-11-24',"
        f" '{LIST_ID}', 'anna', timestamp '2026-11-24 09:00:00')"
    )
    audit = (
        'insert into outreach.audit_log (event, actor, "at", programme, week,'
        " list_id, model_uri, extract_hash, counts) values ('generated', 'anna',"
        f" timestamp '2026-11-23 08:00:00', 'diabetes_bus', '2026-W48', '{LIST_ID}',"
        f" 'models:/m/1', 'h1', '{counts}')"
    )
    _run_script(backend, ";\n".join([run, *rows, contact, opt_out, audit]))


def _counts(store: OperationalStore) -> dict[str, int]:
    """Rows per operational table."""
    tables = ("list_runs", "lists", "holdouts", "contacts", "opt_outs", "audit_log")
    assert store.read_table("contact_changes").empty
    return {t: len(store.read_table(t)) for t in tables}


def test_upgrade_from_v0_keeps_rows_and_the_new_code_works(empty: Backend) -> None:
    _create_v0(empty)
    _insert_v0_rows(empty)
    assert schema_version(empty) == 0
    store = OperationalStore(empty)
    assert schema_version(empty) == HEAD == 4
    assert _counts(store) == {
        "list_runs": 1, "lists": 2, "holdouts": 0, "contacts": 1, "opt_outs": 1,
        "audit_log": 1,
    }  # fmt: skip
    run = store.current_run("diabetes_bus", "2026-W48")
    assert run is not None and run["list_id"] == LIST_ID
    assert store.read_list(LIST_ID)["citizen_id"].tolist() == ["P00001", "P00002"]
    assert [r["counts"] for r in store.frozen_runs(["diabetes_bus"])] == [{"listed": 2}]
    assert store.next_revision("diabetes_bus", "2026-W48") == 2
    contact = {
        "list_id": LIST_ID, "programme": "diabetes_bus", "week": "2026-W48",
        "citizen_id": "P00002", "outcome": "declined",
        "outcome_date": date(2026, 11, 24), "recorded_by": "bo", "opt_out": True,
        "note": None, "recorded_at": AT, "source": "web",
    }  # fmt: skip
    fresh = {**contact, "citizen_id": "P00001", "outcome": "screened"}
    assert store.save_contacts([contact, {**fresh, "opt_out": False}]) == (1, 1, 0)
    assert store.recorded_on(LIST_ID) == {"P00001": "screened", "P00002": "declined"}
    store.append_event({"event": "viewed", "actor": "bo", "at": AT, "counts": {}})
    assert store.read_audit_log()["event"].tolist() == ["generated", "viewed"]


@pytest.fixture(params=["duckdb", "postgresql"])
def beside_region(
    request: pytest.FixtureRequest, region: duckdb.DuckDBPyConnection
) -> Iterator[Backend]:
    """An empty store where the list stage keeps it: in ``region``, or PostgreSQL."""
    if request.param == "duckdb":
        yield DuckDBBackend(region)
        return
    yield from _fresh_postgres(request.getfixturevalue("postgres_url"))


def test_weekly_list_on_an_upgraded_v0_store_honours_its_opt_outs(
    beside_region: Backend, region, make_programme, upstream
) -> None:
    _create_v0(beside_region)
    _run_script(
        beside_region,
        "insert into outreach.opt_outs values ('P00001', date '2026-11-24',"
        " 'test_bus-2026-W48-r1', 'anna', timestamp '2026-11-24 09:00:00')",
    )
    store = OperationalStore(beside_region)
    result = build_weekly_list(
        region, make_programme(), week=upstream.NEXT_WEEK, store=store
    )
    assert result.counts["excluded"]["opt_out"] == 1
    listed = store.read_list(result.list_id)["citizen_id"].tolist()
    assert "P00001" not in listed and len(listed) == result.counts["listed"] > 0
    assert store.read_audit_log()["event"].tolist() == ["generated"]


def test_store_status_reads_postgres_without_changing_it(postgres_url: str) -> None:
    for backend in _fresh_postgres(postgres_url):
        assert isinstance(backend, PostgresBackend)
        settings = EngineSettings(operational_db=backend.url)
        status = store_status(settings)
        assert (status.backend, status.version) == ("postgresql", 0)
        assert status.pending == [m.label for m in MIGRATIONS]
        assert schema_version(backend) == 0
        upgraded = upgrade_store(settings)
        assert (upgraded.from_version, upgraded.version) == (0, HEAD)
        assert store_status(settings).pending == []


def test_postgres_location_leaves_out_user_and_password() -> None:
    url = "postgresql://opspor:s3cret@db.example:5433/ops"
    assert public_location(url) == "postgresql://db.example:5433/ops"


def _step_two(fail: bool) -> Migration:
    """A test-only migration 0002 (the second statement fails when ``fail``)."""

    def statements(backend: str) -> list[str]:
        second = "select * from outreach.no_such_table" if fail else "select 1"
        return ["create table outreach.step_two (id integer)", second]

    return Migration(HEAD + 1, "step_two", statements)


def test_upgrade_schema_applies_only_the_pending_migrations(empty: Backend) -> None:
    upgrade_schema(empty)
    steps = (*MIGRATIONS, _step_two(fail=False))
    assert [m.label for m in upgrade_schema(empty, steps)] == ["0005_step_two"]
    assert upgrade_schema(empty, steps) == []
    versions = empty.rows("select version, name from outreach.schema_version")
    assert sorted((r["version"], r["name"]) for r in versions) == [
        (1, "baseline"),
        (2, "contact_changes"),
        (3, "must_change_password"),
        (4, "contacts_recorded_again"),
        (5, "step_two"),
    ]


def test_failed_migration_leaves_the_store_as_it_was(empty: Backend) -> None:
    upgrade_schema(empty)
    with pytest.raises(Exception, match="no_such_table"):
        upgrade_schema(empty, (*MIGRATIONS, _step_two(fail=True)))
    assert schema_version(empty) == HEAD
    tables = empty.rows(
        "select table_name from information_schema.tables"
        " where table_schema = 'outreach' and table_name = 'step_two'"
    )
    assert tables == []


def test_store_status_and_upgrade_commands(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    status = runner.invoke(app, ["store", "status", "--db", str(warehouse), "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout) == {
        "backend": "duckdb", "location": str(warehouse), "version": 0, "head": HEAD,
        "pending": [
            "0001_baseline", "0002_contact_changes", "0003_must_change_password",
            "0004_contacts_recorded_again",
        ],
    }  # fmt: skip
    assert not warehouse.exists()
    upgrade = runner.invoke(app, ["--db", str(warehouse), "store", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    assert (
        "from version 0 to 4: applied 0001_baseline, 0002_contact_changes, "
        "0003_must_change_password, 0004_contacts_recorded_again" in upgrade.stdout
    )
    again = runner.invoke(app, ["store", "status", "--db", str(warehouse)])
    assert "schema version 4 of 4; pending migrations: none" in again.stdout


class TestErrorMessages:
    def test_store_newer_than_the_code_is_refused(self, empty: Backend) -> None:
        upgrade_schema(empty)
        with empty.transaction() as tx:
            tx.execute(
                "insert into outreach.schema_version values (7, 'future', :at)",
                {"at": AT},
            )
        with pytest.raises(ConfigError) as error:
            OperationalStore(empty)
        assert str(error.value) == NEWER_STORE.format(found=7, head=HEAD)
        assert str(error.value) == (
            "The operational store is at schema version 7, newer than this Opspor"
            " knows (4). Upgrade Opspor before using this store."
        )

    def test_store_upgrade_refuses_a_newer_store(self, tmp_path: Path) -> None:
        warehouse = tmp_path / "w.duckdb"
        with duckdb.connect(str(warehouse)) as con:
            upgrade_schema(DuckDBBackend(con))
            con.execute("insert into outreach.schema_version values (9, 'x', now())")
        result = runner.invoke(app, ["store", "upgrade", "--db", str(warehouse)])
        assert result.exit_code != 0
        assert "ConfigError: The operational store is at schema version 9" in (
            result.stderr
        )


def test_upgrade_to_0002_gives_old_contacts_ids_and_keeps_them_current(
    empty: Backend,
) -> None:
    _create_v0(empty)
    _insert_v0_rows(empty)
    store = OperationalStore(empty)
    old = store.contacts_of(LIST_ID, "P00002")
    assert len(old) == 1 and len(old[0]["contact_id"]) == 32
    assert old[0]["action"] is None
    assert store.recorded_on(LIST_ID) == {"P00002": "declined"}
    assert store.read_table("opt_outs")["reason"].isna().all()
    change = {
        "contact_id": old[0]["contact_id"], "list_id": LIST_ID,
        "citizen_id": "P00002", "action": "retracted", "reason": "wrong person",
        "changed_by": "bo", "changed_at": AT,
    }  # fmt: skip
    assert store.change_contact(change, None) == "changed"
    assert store.change_contact(change, None) == "changed_already"
    assert store.recorded_on(LIST_ID) == {}
    assert store.contacts_of(LIST_ID, "P00002")[0]["action"] == "retracted"


def _user_row(name: str) -> dict[str, Any]:
    """A PostgreSQL users row as migration 0002 left the table (no must_change)."""
    return {
        "name": name, "role": "reviewer", "password_hash": "$argon2id$x",
        "programmes": "[]", "municipalities": "[]", "language": "da",
        "failed_attempts": 0, "locked_until": None, "created_at": AT,
    }  # fmt: skip


def test_upgrade_from_0002_keeps_users_and_lets_a_retracted_outcome_back(
    empty: Backend,
) -> None:
    upgrade_schema(empty, MIGRATIONS[:2])
    assert schema_version(empty) == 2
    if empty.name == "postgresql":
        with empty.transaction() as tx:
            tx.execute(insert_sql("users", tuple(_user_row("rita"))), _user_row("rita"))
    store = OperationalStore(empty)
    assert schema_version(empty) == HEAD
    if empty.name == "postgresql":
        rita = store.get_user("rita")
        assert rita is not None and rita.must_change is False
        assert store.update_user(dataclasses.replace(rita, must_change=True))
        assert store.get_user("rita").must_change is True
    contact = {
        "list_id": LIST_ID, "programme": "diabetes_bus", "week": "2026-W48",
        "citizen_id": "P00002", "outcome": "reached",
        "outcome_date": date(2026, 11, 24), "recorded_by": "bo", "opt_out": False,
        "note": None, "recorded_at": AT, "source": "web",
    }  # fmt: skip
    assert store.save_contacts([contact]) == (1, 0, 0)
    (first,) = store.contacts_of(LIST_ID, "P00002")
    change = {
        "contact_id": first["contact_id"], "list_id": LIST_ID,
        "citizen_id": "P00002", "action": "retracted", "reason": "wrong person",
        "changed_by": "bo", "changed_at": AT,
    }  # fmt: skip
    assert store.change_contact(change, None) == "changed"
    assert store.save_contacts([contact]) == (1, 0, 0)
    assert store.save_contacts([contact]) == (0, 1, 0)
    assert store.recorded_on(LIST_ID) == {"P00002": "reached"}
    history = store.contacts_of(LIST_ID, "P00002")
    assert [h["action"] for h in history] == ["retracted", None]
