"""The per-citizen access log: the file, person-level routes, counts, export, CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Request
from typer.testing import CliRunner

from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.app.access_log import (
    ACCESS_LOG_FILE,
    AccessEntry,
    AccessFilter,
    AccessLog,
    recorded_pseudonyms,
    suppress_counts,
)
from outreach.app.cli import app as cli
from outreach.app.users import User
from outreach.app.web.access import UNLOGGED, PersonAccess, person_level_routes
from outreach.app.web.auth import allow
from tests.outreach.test_web_routes import COORDINATOR, PARAMS, POLICY

LIST = "/lists/diabetes_bus/2026-W48"
NOW = datetime(2026, 11, 27, 9, 0, 0)
#: Coordinator routes that show no citizen (aggregates or navigation).
COORDINATOR_AGGREGATE_ROUTES = {
    "GET /lists",
    "GET /lists/{programme}/{week}/upload",  # the upload form
    "POST /lists/{programme}/{week}/upload",  # kept, not shown: the preview logs
    "POST /lists/{programme}/generate",  # redirects to the list page, which logs
    "POST /lists/{programme}/{week}/regenerate",
}
_CONTACT = "/lists/{programme}/{week}/citizens/{citizen_id}/contacts/{contact_id}"
#: Routes of sheets, corrections and opt-outs, walked in one journey below.
RECORDS_ROUTES = {
    "GET /lists/{programme}/{week}/upload/{token}": "viewed_upload",
    "POST /lists/{programme}/{week}/upload/{token}": "changed",
    f"POST {_CONTACT}/correct": "changed",
    f"POST {_CONTACT}/retract": "changed",
    "GET /opt-outs": "viewed_opt_outs",
    "POST /opt-outs": "changed",
    "POST /opt-outs/{citizen_id}/withdraw": "changed",
}
#: The action each person-level route logs, and whether it logs the whole list.
PERSON_LEVEL = {
    "GET /lists/{programme}/{week}": ("anna", "viewed_list", "list"),
    "GET /lists/{programme}/{week}/citizens/{citizen_id}": (
        "anna",
        "viewed_citizen",
        "P00000",
    ),
    "POST /lists/{programme}/{week}/citizens/{citizen_id}": (
        "anna",
        "changed",
        "P00000",
    ),
    "GET /lists/{programme}/{week}/stops": ("anna", "viewed_stop_sheets", "list"),
    "GET /lists/{programme}/{week}/download.xlsx": ("anna", "downloaded", "list"),
    "GET /access-log.csv": ("ada", "exported_access_log", "export"),
}


def _log(tmp_path: Path, days: int = 30) -> AccessLog:
    return AccessLog(tmp_path / ACCESS_LOG_FILE, retention_days=days)


def _entries(web_app) -> list[dict]:
    settings = web_app.state.opspor.settings
    return AccessLog(settings.output_dir / ACCESS_LOG_FILE, 1826).entries()


def _csrf(client, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def _anna_in_scope(web_app) -> set[str]:
    """The pseudonyms of the W48 list in anna's municipalities (390, 376)."""
    with web_app.state.opspor.warehouse.connection() as con:
        rows = con.execute(
            "select citizen_id from outreach.lists where area in ('390', '376')"
        ).fetchall()
    return {r[0] for r in rows}


# --- the file ----------------------------------------------------------------


def test_a_list_access_writes_one_entry_per_citizen_and_the_file_is_private(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path)
    entry = AccessEntry("anna", "downloaded", "diabetes_bus", "2026-W48", "L1")
    assert log.record(entry, ["P2", "P1", "P1"], NOW) == 2
    rows = log.entries()
    assert [r["pseudonym"] for r in rows] == ["P1", "P2"]
    assert rows[0] == {
        "at": "2026-11-27 09:00:00",
        "actor": "anna",
        "action": "downloaded",
        "pseudonym": "P1",
        "programme": "diabetes_bus",
        "week": "2026-W48",
        "list_id": "L1",
        "via": "web",
    }
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_the_log_is_append_only(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(AccessEntry("anna", "viewed_citizen"), ["P1"], NOW)
    with (
        sqlite3.connect(log.path) as con,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        con.execute("update access_log set actor = 'someone else'")


def test_unknown_actions_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown access-log action 'peeked'"):
        AccessEntry("anna", "peeked")


def test_entries_past_the_retention_are_purged_on_write_and_on_purge(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, days=30)
    log.record(AccessEntry("anna", "viewed_citizen"), ["OLD"], NOW - timedelta(days=31))
    log.record(
        AccessEntry("anna", "viewed_citizen"), ["KEPT"], NOW - timedelta(days=29)
    )
    assert log.purge(NOW) == 1
    assert [r["pseudonym"] for r in log.entries()] == ["KEPT"]
    log.record(AccessEntry("anna", "viewed_citizen"), ["NEW"], NOW + timedelta(days=2))
    assert [r["pseudonym"] for r in log.entries()] == ["NEW"]


def test_filters_and_counts(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record(AccessEntry("anna", "viewed_list"), [f"P{i}" for i in range(12)], NOW)
    log.record(AccessEntry("bo", "viewed_citizen"), ["P1"], NOW + timedelta(days=1))
    assert {r["actor"] for r in log.entries(AccessFilter(pseudonym="P1"))} == {
        "anna",
        "bo",
    }
    day = NOW.date()
    assert len(log.entries(AccessFilter(since=day, until=day))) == 12
    assert log.entries(AccessFilter(actor="bo"))[0]["at"].startswith("2026-11-28")
    counts = log.counts()
    assert counts == [
        {
            "actor": "bo",
            "day": "2026-11-28",
            "action": "viewed_citizen",
            "entries": 1,
            "citizens": 1,
        },
        {
            "actor": "anna",
            "day": "2026-11-27",
            "action": "viewed_list",
            "entries": 12,
            "citizens": 12,
        },
    ]
    shown = suppress_counts(counts, 10)
    assert (shown[0]["entries"], shown[0]["citizens"]) == (None, None)
    assert (shown[1]["entries"], shown[1]["citizens"]) == (12, 12)


def test_retention_is_a_setting_of_at_least_one_day() -> None:
    assert EngineSettings().access_log_retention_days == 1826
    env = {"OPSPOR_ACCESS_LOG_RETENTION_DAYS": "90"}
    assert EngineSettings.from_env(env).access_log_retention_days == 90
    with pytest.raises(ConfigError, match="access_log_retention_days"):
        EngineSettings(access_log_retention_days=0)


# --- every person-level route writes it ---------------------------------------


def test_every_coordinator_route_is_person_level_unless_named_aggregate(
    web_app,
) -> None:
    coordinator_only = {k for k, v in POLICY.items() if v == COORDINATOR}
    declared = person_level_routes(web_app)
    assert coordinator_only - COORDINATOR_AGGREGATE_ROUTES <= declared
    assert declared == set(PERSON_LEVEL) | set(RECORDS_ROUTES)


def _url(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PARAMS[m.group(1)], path)


@pytest.mark.parametrize("route", sorted(PERSON_LEVEL))
def test_every_person_level_route_writes_the_access_log(
    route, client_for, web_app
) -> None:
    user, action, expected = PERSON_LEVEL[route]
    if expected == "export":  # something to export first
        client_for("anna").get(f"{LIST}/citizens/P00000")
    before = len(_entries(web_app))
    method, path = route.split(" ")
    client = client_for(user)
    data = None
    if method == "POST":
        data = {
            "csrf_token": _csrf(client, _url(path)),
            "outcome": "reached",
            "outcome_date": "2026-11-26",
        }
        before = len(_entries(web_app))  # the GET above logged a view
    response = client.request(method, _url(path), data=data)
    assert response.status_code in (200, 303), response.text
    new = _entries(web_app)[before:]
    assert {e["action"] for e in new} == {action}
    assert {e["actor"] for e in new} == {user}
    pseudonyms = {e["pseudonym"] for e in new}
    if expected == "list":
        assert pseudonyms == _anna_in_scope(web_app)
        assert {e["list_id"] for e in new} == {"diabetes_bus-2026-W48-r1"}
    elif expected == "export":
        assert pseudonyms == {"P00000"}
    else:
        assert pseudonyms == {expected}


def _new(web_app, before: int) -> set[tuple[str, str]]:
    """(action, pseudonym) of the entries written since ``before``."""
    return {(e["action"], e["pseudonym"]) for e in _entries(web_app)[before:]}


def _contact_id(web_app, citizen: str) -> str:
    with web_app.state.opspor.warehouse.connection() as con:
        rows = con.execute(
            "select contact_id from outreach.current_contacts where citizen_id = $c",
            {"c": citizen},
        ).fetchall()
    return str(rows[0][0])


def test_sheets_corrections_and_opt_outs_write_the_access_log(
    client_for, web_app
) -> None:
    anna = client_for("anna")
    sheet = (
        b"citizen_id,outcome,outcome_date,recorded_by,opt_out,note\n"
        b"P00000,reached,2026-11-25,,,\nP00001,,,,,\n"
    )
    upload = f"{LIST}/upload"
    posted = anna.post(
        upload,
        data={"csrf_token": _csrf(anna, upload)},
        files={"sheet": ("sheet.csv", sheet)},
    )
    preview = posted.headers["location"]
    before = len(_entries(web_app))
    assert anna.get(preview).status_code == 200
    assert _new(web_app, before) == {("viewed_upload", "P00000")}
    token = _csrf(anna, preview)
    before = len(_entries(web_app))
    assert anna.post(preview, data={"csrf_token": token}).status_code == 303
    assert _new(web_app, before) == {("changed", "P00000")}  # not the blank P00001
    page = f"{LIST}/citizens/P00000"
    for action, values in (
        ("correct", {"outcome": "screened", "outcome_date": "2026-11-25"}),
        ("retract", {}),
    ):
        url = f"{page}/contacts/{_contact_id(web_app, 'P00000')}/{action}"
        token = _csrf(anna, page)
        before = len(_entries(web_app))
        data = {"csrf_token": token, "reason": "typed wrong", **values}
        assert anna.post(url, data=data).status_code == 303
        assert _new(web_app, before) == {("changed", "P00000")}, action
    for url, values in (
        ("/opt-outs", {"citizen_id": "P00001", "reason": "phoned in"}),
        ("/opt-outs/P00001/withdraw", {"reason": "asked to be contacted"}),
    ):
        token = _csrf(anna, "/opt-outs")
        before = len(_entries(web_app))
        response = anna.post(url, data={"csrf_token": token, **values})
        assert response.status_code == 303
        assert _new(web_app, before) == {("changed", "P00001")}, url
    before = len(_entries(web_app))
    assert anna.get("/opt-outs").status_code == 200
    assert _new(web_app, before) == {("viewed_opt_outs", "P00001")}  # withdrawn row


def test_a_refused_change_or_an_out_of_scope_citizen_logs_nothing(
    client_for, web_app
) -> None:
    client = client_for("anna")
    page = f"{LIST}/citizens/P00000"
    token = _csrf(client, page)
    before = len(_entries(web_app))
    refused = client.post(
        page, data={"csrf_token": token, "outcome": "flew", "outcome_date": "x"}
    )
    assert refused.status_code == 303
    assert client.get(f"{LIST}/citizens/P00002").status_code == 404
    assert client_for("carl").get(LIST).status_code == 403
    assert len(_entries(web_app)) == before


def test_a_person_level_route_that_forgets_to_log_fails_closed(
    client_for, web_app
) -> None:
    router = APIRouter()

    @router.get("/forgetful")
    def forgetful(
        request: Request,
        user: Annotated[User, allow("coordinator")],
        access: PersonAccess,
    ) -> dict[str, str]:
        return {"citizen": "P00000"}

    web_app.include_router(router)
    response = client_for("anna").get("/forgetful")
    assert response.status_code == 500
    assert "P00000" not in response.text
    assert response.text == UNLOGGED
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- counts for reviewers, export for an admin --------------------------------


def test_reviewers_see_counts_without_pseudonyms(client_for, web_app) -> None:
    anna = client_for("anna")
    anna.get(LIST)
    anna.get(f"{LIST}/citizens/P00000")
    page = client_for("rita").get("/access-log")
    assert page.status_code == 200
    assert re.search(r"P\d{5}", page.text) is None
    table = page.text.split('id="access-counts"')[1]
    assert "anna" in table and "så ugens liste" in table
    n_listed = len(_anna_in_scope(web_app))
    assert f"<td>{n_listed}</td>" in table  # the list view: not a small cell
    assert "så en borger" in table and "&lt;10" in table  # one citizen: suppressed
    assert 'id="access-export"' not in page.text
    narrowed = client_for("rita").get("/access-log?pseudonym=P00001").text
    assert "så ugens liste" in narrowed  # a reviewer cannot filter by pseudonym
    english = client_for("rita").get("/access-log?lang=en")
    assert "viewed the week&#39;s list" in english.text


def test_only_an_admin_exports_and_the_export_is_logged(client_for, web_app) -> None:
    anna = client_for("anna")
    anna.get(f"{LIST}/citizens/P00000")
    anna.get(f"{LIST}/citizens/P00001")
    assert client_for("rita").get("/access-log.csv").status_code == 403
    assert client_for("anna").get("/access-log").status_code == 403
    ada = client_for("ada")
    assert 'id="access-export"' in ada.get("/access-log").text
    response = ada.get("/access-log.csv?pseudonym=P00001&actor=anna")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["actor"], r["action"], r["pseudonym"]) for r in rows] == [
        ("anna", "viewed_citizen", "P00001")
    ]
    last = _entries(web_app)[-1]
    assert (last["actor"], last["action"], last["pseudonym"]) == (
        "ada",
        "exported_access_log",
        "P00001",
    )


# --- the CLI -------------------------------------------------------------------


def _cli(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_exports_and_records_are_logged_and_an_admin_can_export(
    web_settings, isolated_env, tmp_path: Path
) -> None:
    out, db = str(web_settings.output_dir), str(web_settings.warehouse)
    common = ("--programme", "diabetes_bus", "--week", "2026-W48", "--db", db)
    _cli(
        "--output-dir",
        out,
        "list",
        *common,
        "--format",
        "csv",
        "--user",
        "lea",
        "--json",
    )
    _cli(
        "--output-dir", out, "record", *common, "--citizen", "P00000",
        "--outcome", "reached", "--date", "2026-11-26", "--user", "lea", "--json",
    )  # fmt: skip
    counts = _cli("--output-dir", out, "access-log", "counts", "--json")["rows"]
    assert {(r["actor"], r["action"], r["entries"]) for r in counts} == {
        ("lea", "exported", 40),
        ("lea", "changed", 1),
    }
    target = tmp_path / "investigation.csv"
    _cli(
        "--output-dir", out, "access-log", "export", "--pseudonym", "P00000",
        "--out", str(target), "--user", "ada", "--json",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert {(r["action"], r["via"]) for r in rows} == {
        ("exported", "cli"),
        ("changed", "cli"),
    }
    log = AccessLog(Path(out) / ACCESS_LOG_FILE, 1826)
    assert log.entries(AccessFilter(actor="ada"))[0]["pseudonym"] == "P00000"
    assert _cli("--output-dir", out, "access-log", "purge", "--json")["purged"] == 0


def test_a_record_sheet_logs_only_the_rows_with_an_outcome(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "citizen_id,outcome,outcome_date,opt_out,note\n"
        "P00000,reached,2026-11-26,,\n"
        "P00001,,,,\n"
        "P00002, ,,,\n",
        encoding="utf-8",
    )
    assert recorded_pseudonyms(sheet, ()) == ["P00000"]
    entry = {"citizen_id": "P00004", "outcome": "declined"}
    assert recorded_pseudonyms(None, [entry]) == ["P00004"]
