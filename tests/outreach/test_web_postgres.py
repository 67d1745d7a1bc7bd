"""The web app with its operational tables in PostgreSQL (skipped without a server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

LIST = "/lists/diabetes_bus/2026-W48"


@pytest.fixture
def pg_app(
    web_settings, web_users_template, postgres_store, web, web_clock
) -> Iterator[Any]:
    """The app over a warehouse copy, with lists, outcomes and users in PostgreSQL."""
    from outreach.app.users import JsonUserStore
    from outreach.app.web import create_app
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    for user in JsonUserStore(web_users_template).all_users():
        postgres_store.insert_user(user)
    con = duckdb.connect(str(web_settings.warehouse))
    try:
        build_weekly_list(
            con,
            load_programme("diabetes_bus"),
            week=web.WEEK,
            model_uri=web.MODEL_URI,
            actor="planner",
            store=postgres_store,
        )
    finally:
        con.close()
    app = create_app(
        web_settings,
        secret_key="p" * 40,
        clock=lambda: web_clock["now"],
        operational=postgres_store.backend.url,
    )
    yield app
    app.state.opspor.warehouse.close()


def _client(app: Any, web: Any, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert web.sign_in(client, name).status_code == 303
    return client


def test_users_come_from_postgres(pg_app, web, postgres_store) -> None:
    assert pg_app.state.opspor.users is postgres_store
    client = TestClient(pg_app, follow_redirects=False)
    for _ in range(4):  # below the per-address throttle (5), which stops counting
        web.sign_in(client, "anna", "wrong-password")
    assert postgres_store.get_user("anna").failed_attempts == 4


def test_coordinator_records_into_postgres_not_the_warehouse(
    pg_app, web, postgres_store, web_settings
) -> None:
    client = _client(pg_app, web, "anna")
    page = client.get(LIST)
    assert page.status_code == 200
    assert "27 borgere i dine kommuner" in page.text
    citizen = re.search(r'/citizens/(P\d{5})"', page.text).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        f"{LIST}/citizens/{citizen}",
        data={
            "csrf_token": token,
            "outcome": "declined",
            "opt_out": "yes",
            "outcome_date": "2026-11-26",
        },
    )
    assert response.status_code == 303
    assert postgres_store.read_table("opt_outs")["citizen_id"].tolist() == [citizen]
    events = postgres_store.read_table("audit_log")["event"].tolist()
    assert events == ["generated", "viewed", "recorded"]
    con = duckdb.connect(str(web_settings.warehouse))  # the app holds no lock on it
    try:
        assert con.execute("select count(*) from outreach.opt_outs").fetchone() == (0,)
    finally:
        con.close()


def test_aggregate_pages_work_with_postgres(pg_app, web) -> None:
    client = _client(pg_app, web, "dan")
    assert "<td>diabetes_harm_365d</td><td>3</td>" in client.get("/models").text
    text = client.get("/audit-log").text
    assert re.search(r"<td>diabetes_bus</td><td>generated</td><td>1</td>", text)
    text = client.get("/audit-log?event=viewed&since=2000-01-01").text
    assert "<td>generated</td>" not in text
    rows = client.get("/audit-log.csv?event=generated&until=2999-12-31").text
    assert rows.splitlines()[1].split(",")[1:3] == ["generated", "planner"]
    assert client.get("/audit-log.csv?until=2000-01-01").text.count("\n") == 1


def test_admin_changes_users_stored_in_postgres(pg_app, web, postgres_store) -> None:
    anna = _client(pg_app, web, "anna")
    admin = _client(pg_app, web, "ada")
    token = web.csrf_of(admin, "/admin/users/carl")
    scope = {"programmes": ["diabetes_bus"], "municipalities": "390 376"}
    admin.post("/admin/users/carl/scope", data={**scope, "csrf_token": token})
    assert postgres_store.get_user("carl").municipalities == ("390", "376")
    admin.post("/admin/users/anna/disable", data={"csrf_token": token})
    assert postgres_store.get_user("anna").disabled
    assert anna.get(LIST).status_code == 303
    admin.post("/admin/users/anna/enable", data={"csrf_token": token})
    assert _client(pg_app, web, "anna").get(LIST).status_code == 200
    events = postgres_store.read_table("audit_log")["event"].tolist()
    accounts = {"scope_changed", "user_disabled", "user_enabled"}
    assert sorted(e for e in events if e in accounts) == sorted(accounts)


def test_coordinator_generates_a_week_into_postgres(
    pg_app, web, postgres_store, web_settings
) -> None:
    client = _client(pg_app, web, "anna")
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/lists").text
    ).group(1)
    response = client.post(
        "/lists/diabetes_bus/generate", data={"csrf_token": token, "week": "2026-W49"}
    )
    assert response.headers["location"] == "/lists/diabetes_bus/2026-W49"
    run = postgres_store.current_run("diabetes_bus", "2026-W49")
    assert run is not None and run["generated_by"] == "anna"
    assert client.get("/lists/diabetes_bus/2026-W49").status_code == 200
    con = duckdb.connect(str(web_settings.warehouse), read_only=True)
    try:  # copied into the warehouse for the reports, as `opspor list` does
        copied = con.execute(
            "select count(*) from outreach.list_runs where week = '2026-W49'"
        ).fetchone()[0]
    finally:
        con.close()
    assert copied == 1


def test_upload_correction_and_opt_outs_write_to_postgres(
    pg_app, web, postgres_store
) -> None:
    client = _client(pg_app, web, "anna")
    upload = f"{LIST}/upload"
    sheet = b"citizen_id,outcome,outcome_date\nP00000,reached,2026-11-24\n"
    preview = client.post(
        upload,
        data={"csrf_token": web.csrf_of(client, upload)},
        files={"sheet": ("week.csv", sheet)},
    ).headers["location"]
    client.post(preview, data={"csrf_token": web.csrf_of(client, preview)})
    contacts = postgres_store.read_table("contacts")
    assert contacts[["citizen_id", "source"]].values.tolist() == [
        ["P00000", "web-upload"]
    ]
    page = f"{LIST}/citizens/P00000"
    client.post(
        f"{page}/contacts/{contacts['contact_id'][0]}/retract",
        data={"csrf_token": web.csrf_of(client, page), "reason": "wrong row"},
    )
    assert postgres_store.recorded_on("diabetes_bus-2026-W48-r1") == {}
    token = web.csrf_of(client, "/opt-outs")
    client.post("/opt-outs", data={"csrf_token": token, "citizen_id": "P00001",
                                   "reason": "phoned"})  # fmt: skip
    client.post("/opt-outs/P00001/withdraw", data={"csrf_token": token, "reason": "x"})
    assert postgres_store.opt_out_register() == []
    assert len(postgres_store.opt_out_withdrawals()) == 1
    events = postgres_store.read_table("audit_log")["event"].tolist()
    assert {"recorded", "retracted", "opt_out_added", "opt_out_withdrawn"} <= set(
        events
    )
