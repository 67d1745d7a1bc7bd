"""The operational store on both backends: lists, recording, opt-outs, audit, users.

Every test taking ``ops`` runs twice: on the DuckDB warehouse (the embedded
default) and on PostgreSQL (skipped when no server answers). The analytical
tables stay in the DuckDB ``region`` either way.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.app.store import (
    NO_CONNECTION,
    duckdb_store,
    operational_store,
    stage_operational_tables,
    sync_to_warehouse,
)
from outreach.list_audit import export_audit_log, read_audit_log
from outreach.lists import build_weekly_list, view_list
from outreach.programme_report import build_programme_report
from outreach.recording import record_contacts

TODAY = date(2026, 11, 27)


def _entry(citizen: str, outcome: str, opt_out: bool = False) -> dict[str, str]:
    return {
        "citizen_id": citizen,
        "outcome": outcome,
        "outcome_date": "2026-11-26",
        "opt_out": "yes" if opt_out else "",
    }


def _record(ops, week: str, *entries: dict[str, str], actor: str = "anna"):
    return record_contacts(
        None,
        programme="test_bus",
        week=week,
        entries=list(entries),
        actor=actor,
        today=TODAY,
        store=ops,
    )


def test_build_weekly_list_stores_the_list_in_the_store(
    ops, region, make_programme, upstream
):
    result = build_weekly_list(region, make_programme(), week=upstream.WEEK, store=ops)
    run = ops.current_run("test_bus", upstream.WEEK)
    assert (
        run is not None and run["list_id"] == result.list_id == "test_bus-2026-W48-r1"
    )
    rows = ops.read_list(result.list_id)
    assert rows["rank"].tolist() == list(range(1, 13))
    assert rows["citizen_id"].iloc[0] == "P00000"
    assert [r["week"] for r in ops.frozen_runs(["test_bus"])] == [upstream.WEEK]
    assert ops.next_revision("test_bus", upstream.WEEK) == 2


def test_build_weekly_list_returns_the_frozen_list_and_regenerates_with_a_reason(
    ops, region, make_programme, upstream
):
    plan = make_programme()
    first = build_weekly_list(region, plan, week=upstream.WEEK, store=ops)
    again = build_weekly_list(region, plan, week=upstream.WEEK, store=ops)
    assert again.status == "frozen" and again.list_id == first.list_id
    redo = build_weekly_list(
        region,
        plan,
        week=upstream.WEEK,
        store=ops,
        regenerate=True,
        reason="new extract",
    )
    assert redo.list_id == "test_bus-2026-W48-r2"
    assert [r["list_id"] for r in ops.frozen_runs(["test_bus"])] == [redo.list_id]
    events = read_audit_log(None, store=ops)["event"].tolist()
    assert events == ["generated", "regenerated"]


def test_recording_then_next_week_omits_the_opted_out_citizen(
    ops, region, make_programme, upstream
):
    plan = make_programme()
    build_weekly_list(region, plan, week=upstream.WEEK, store=ops)
    result = _record(
        ops,
        upstream.WEEK,
        _entry("P00000", "screened"),
        _entry("P00001", "declined", opt_out=True),
    )
    assert (result.n_recorded, result.n_opt_outs, result.refused) == (2, 1, [])
    repeat = _record(ops, upstream.WEEK, _entry("P00000", "screened"))
    assert (repeat.n_recorded, repeat.n_duplicates) == (0, 1)
    assert ops.read_table("opt_outs")["citizen_id"].tolist() == ["P00001"]
    assert ops.recorded_on("test_bus-2026-W48-r1") == {
        "P00000": "screened",
        "P00001": "declined",
    }
    nxt = build_weekly_list(region, plan, week=upstream.NEXT_WEEK, store=ops)
    listed = set(ops.read_list(nxt.list_id)["citizen_id"])
    assert "P00001" not in listed
    assert nxt.counts["excluded"]["opt_out"] == 1
    assert nxt.counts["suppressed"]["recent_contact"] == 1  # P00000 was just screened


def test_view_list_narrows_to_areas_and_audits_the_rows_shown(
    ops, region, make_programme, upstream
):
    build_weekly_list(region, make_programme(), week=upstream.WEEK, store=ops)
    _, rows = view_list(
        None, make_programme(), upstream.WEEK, actor="anna", areas=["390"], store=ops
    )
    assert set(rows["area"]) == {"390"} and len(rows) == 4
    log = read_audit_log(None, store=ops)
    viewed = log[log["event"] == "viewed"].iloc[0]
    assert (viewed["actor"], viewed["counts"]) == ("anna", '{"rows": 4}')


def test_export_audit_log_reads_the_store(
    ops, region, make_programme, upstream, tmp_path
):
    build_weekly_list(region, make_programme(), week=upstream.WEEK, store=ops)
    exported = export_audit_log(None, tmp_path / "audit.json", store=ops)
    assert exported.n_events == 1
    assert exported.events[0]["counts"]["listed"] == 12


def test_audit_summary_counts_events_per_programme(
    ops, region, make_programme, upstream
):
    build_weekly_list(region, make_programme(), week=upstream.WEEK, store=ops)
    view_list(None, make_programme(), upstream.WEEK, actor="anna", store=ops)
    view_list(None, make_programme(), upstream.WEEK, actor="bo", store=ops)
    summary = {(r["programme"], r["event"]): r for r in ops.audit_summary()}
    assert summary[("test_bus", "viewed")]["n_events"] == 2
    assert summary[("test_bus", "viewed")]["n_actors"] == 2
    assert summary[("test_bus", "generated")]["n_lists"] == 1


def test_stage_operational_tables_copies_the_register_into_duckdb_temp_tables(
    ops, region, make_programme, upstream
):
    build_weekly_list(region, make_programme(), week=upstream.WEEK, store=ops)
    _record(ops, upstream.WEEK, _entry("P00003", "declined", opt_out=True))
    stage_operational_tables(region, ops)
    assert region.execute("select citizen_id from ops_opt_outs").fetchall() == [
        ("P00003",)
    ]
    assert region.execute("select outcome from ops_contacts").fetchall() == [
        ("declined",)
    ]


def test_sync_to_warehouse_lets_the_reports_read_postgres_rows(
    postgres_store, region, make_programme, upstream
):
    build_weekly_list(
        region, make_programme(), week=upstream.WEEK, store=postgres_store
    )
    _record(postgres_store, upstream.WEEK, _entry("P00000", "screened"))
    copied = sync_to_warehouse(region, postgres_store)
    assert copied["lists"] == 12 and copied["contacts"] == 1
    assert region.execute("select count(*) from outreach.contacts").fetchone() == (1,)
    report = build_programme_report(region, "test_bus")
    overall = next(r for r in report.rows if r["scope"] == "week")
    assert overall["listed"] == 12 and overall["screened"] == 1


def test_build_weekly_list_with_postgres_copies_the_list_into_the_warehouse(
    postgres_store, region, make_programme, upstream
):
    build_weekly_list(
        region, make_programme(), week=upstream.WEEK, store=postgres_store
    )
    frozen = region.execute(
        "select list_id from outreach.list_runs where status = 'frozen'"
    ).fetchall()
    assert frozen == [("test_bus-2026-W48-r1",)]


def test_postgres_keeps_every_write_from_concurrent_writers(
    postgres_store, region, make_programme, upstream
):
    plan = make_programme(capacity_per_week=12)
    result = build_weekly_list(region, plan, week=upstream.WEEK, store=postgres_store)
    citizens = postgres_store.read_list(result.list_id)["citizen_id"].tolist()
    errors: list[BaseException] = []

    def record(citizen: str) -> None:
        try:
            for _ in range(3):  # each writer repeats its write: stored once
                _record(
                    postgres_store,
                    upstream.WEEK,
                    _entry(citizen, "reached"),
                    actor=f"coordinator-{citizen}",
                )
        except BaseException as error:  # pragma: no cover - surfaced below
            errors.append(error)

    threads = [threading.Thread(target=record, args=(c,)) for c in citizens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    contacts = postgres_store.read_table("contacts")
    assert sorted(contacts["citizen_id"]) == sorted(citizens)
    audit = postgres_store.read_table("audit_log")
    assert (audit["event"] == "recorded").sum() == 3 * len(citizens)


def test_postgres_refuses_a_second_frozen_run_of_the_same_week(
    postgres_store, region, make_programme, upstream
):
    import psycopg

    build_weekly_list(
        region, make_programme(), week=upstream.WEEK, store=postgres_store
    )
    run = postgres_store.current_run("test_bus", upstream.WEEK)
    duplicate = {**run, "list_id": "test_bus-2026-W48-x", "counts": "{}"}
    with (
        postgres_store.backend.pool.connection() as conn,
        pytest.raises(psycopg.errors.UniqueViolation),
    ):
        columns = ", ".join(duplicate)
        marks = ", ".join(["%s"] * len(duplicate))
        conn.execute(
            f"insert into outreach.list_runs ({columns}) values ({marks})",
            tuple(duplicate.values()),
        )


def test_postgres_users_sign_in_and_lock_out(postgres_store):
    from argon2 import PasswordHasher

    from outreach.app.users import MAX_FAILURES, authenticate, list_users, new_user

    user = new_user("rita", role="reviewer", password="a-long-password")
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(
        "a-long-password"
    )
    assert postgres_store.insert_user(
        user.__class__(**{**user.__dict__, "password_hash": cheap})
    )
    assert not postgres_store.insert_user(user)
    now = datetime(2026, 11, 27, 9, 0)
    assert (
        authenticate(postgres_store, "rita", "a-long-password", now=now).status == "ok"
    )
    answers = [
        authenticate(postgres_store, "rita", "nope-nope", now=now).status
        for _ in range(MAX_FAILURES)
    ]
    assert answers[-1] == "locked"
    later = now + timedelta(minutes=16)
    assert (
        authenticate(postgres_store, "rita", "a-long-password", now=later).status
        == "ok"
    )
    assert [u["name"] for u in list_users(postgres_store).users] == ["rita"]
    assert postgres_store.delete_user("rita")


def test_operational_store_picks_postgres_from_the_environment(postgres_url, region):
    env = {"OPSPOR_OPERATIONAL_DB": postgres_url}
    picked = operational_store(region, settings=EngineSettings.from_env(env))
    assert picked.name == "postgresql"
    assert operational_store(region, settings=EngineSettings()).name == "duckdb"


class TestErrorMessages:
    def test_no_connection_and_no_url(self) -> None:
        with pytest.raises(ConfigError) as error:
            operational_store(None, settings=EngineSettings())
        assert str(error.value) == NO_CONNECTION

    def test_url_that_is_not_postgres(self) -> None:
        with pytest.raises(ConfigError) as error:
            operational_store(None, url="mysql://x")
        assert str(error.value) == (
            "OPSPOR_OPERATIONAL_DB must be a postgresql:// URL."
            " Got 'mysql://x' instead."
        )


def test_read_list_frames_agree_between_backends(
    postgres_store, region, make_programme, upstream
):
    plan = make_programme()
    duck = duckdb_store(region)
    build_weekly_list(region, plan, week=upstream.WEEK, store=duck)
    left = duck.read_list("test_bus-2026-W48-r1")
    build_weekly_list(region, plan, week=upstream.WEEK, store=postgres_store)
    right = postgres_store.read_list("test_bus-2026-W48-r1")
    pd.testing.assert_frame_equal(
        left.drop(columns=["last_contact_date"]).astype(object),
        right.drop(columns=["last_contact_date"]).astype(object),
    )
