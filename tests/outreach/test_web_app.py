"""The web app on the embedded store: sign-in, scope, recording, downloads, audit."""

from __future__ import annotations

import io
import json
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from outreach.app.users import MAX_FAILURES
from outreach.app.web.auth import SESSION_COOKIE, load_secret_key
from outreach.app.web.i18n import TEXT
from outreach.recording import OPT_OUT_NOT_DECLINED

LIST = "/lists/diabetes_bus/2026-W48"
# build_region: citizen i lives in ("390", "376", "360")[i % 3]; anna sees 390 and 376.
IN_SCOPE = "P00000"  # 390, rank 1
IN_SCOPE_2 = "P00001"  # 376
OUT_OF_SCOPE = "P00002"  # 360


def _query(app, sql: str, params: dict | None = None) -> list[tuple]:
    """Read the warehouse through the app's own connection (one per process)."""
    with app.state.opspor.warehouse.connection() as con:
        return con.execute(sql, params or {}).fetchall()


def _listed_areas(html: str) -> set[str]:
    ids = set(re.findall(r'/citizens/(P\d{5})"', html))
    return {("390", "376", "360")[int(i[1:]) % 3] for i in ids}


def _record(client, citizen: str, **values: str):
    page = f"{LIST}/citizens/{citizen}"
    token = _csrf(client, page)
    data = {"csrf_token": token, "outcome_date": "2026-11-26", **values}
    return client.post(page, data=data)


def _csrf(client, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def test_signed_out_visitor_is_sent_to_sign_in(client_for) -> None:
    response = client_for().get("/lists")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Flists"


def test_sign_in_returns_to_the_page_asked_for(client_for, web) -> None:
    client = client_for()
    token = web.csrf_of(client, "/signin?next=%2Flists")
    response = client.post(
        "/signin",
        data={
            "username": "anna",
            "password": web.PASSWORD,
            "csrf_token": token,
            "next": LIST,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == LIST


def test_sign_in_refuses_an_open_redirect(client_for, web) -> None:
    client = client_for()
    token = web.csrf_of(client)
    response = client.post(
        "/signin",
        data={
            "username": "rita",
            "password": web.PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/reports"


def test_sign_in_with_a_wrong_password_says_so_without_naming_which(
    client_for, web
) -> None:
    client = client_for()
    wrong = web.sign_in(client, "anna", "not-the-password")
    unknown = web.sign_in(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert TEXT["da"]["bad_credentials"] in wrong.text
    assert TEXT["da"]["bad_credentials"] in unknown.text


def test_sign_in_locks_the_account_after_ten_failures_for_fifteen_minutes(
    web_app, web, web_clock, web_settings
) -> None:
    from fastapi.testclient import TestClient

    # Two addresses: one alone is throttled after five failures (test_web_signin).
    for host in ("10.0.0.1", "10.0.0.2"):
        client = TestClient(web_app, follow_redirects=False, client=(host, 50000))
        for _ in range(MAX_FAILURES // 2):
            assert web.sign_in(client, "anna", "wrong-password").status_code == 401
    client = TestClient(web_app, follow_redirects=False, client=("10.0.0.3", 50000))
    locked = web.sign_in(client, "anna", web.PASSWORD)
    assert locked.status_code == 401
    assert TEXT["da"]["bad_credentials"] in locked.text  # as for a wrong password
    assert "09:15" not in locked.text
    stored = json.loads((web_settings.output_dir / "users.json").read_text())
    anna = next(u for u in stored["users"] if u["name"] == "anna")
    assert anna["locked_until"] == "2026-11-27T09:15:00"
    web_clock["now"] = web.NOW + timedelta(minutes=15, seconds=1)
    assert web.sign_in(client, "anna", web.PASSWORD).status_code == 303


def test_session_cookie_is_signed_httponly_and_samesite_lax(client_for, web) -> None:
    client = client_for()
    response = web.sign_in(client, "anna")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    value = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(
        SESSION_COOKIE, value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    )
    assert client.get("/lists").status_code == 303  # a tampered cookie is no session


def test_sign_out_ends_the_session(client_for) -> None:
    client = client_for("anna")
    token = _csrf(client, "/lists")
    assert client.post("/signout", data={"csrf_token": token}).status_code == 303
    assert client.get("/lists").status_code == 303


def test_removed_user_is_signed_out_at_the_next_request(client_for, web_app) -> None:
    client = client_for("anna")
    assert client.get("/lists").status_code == 200
    web_app.state.opspor.users.delete_user("anna")
    assert client.get("/lists").status_code == 303


def test_coordinator_sees_only_their_municipalities(client_for) -> None:
    response = client_for("anna").get(LIST)
    assert response.status_code == 200
    assert _listed_areas(response.text) == {"390", "376"}
    assert OUT_OF_SCOPE not in response.text
    assert "27 borgere i dine kommuner" in response.text  # 14 in 390 + 13 in 376


def test_coordinator_list_view_is_audited_without_citizen_ids(
    client_for, web_app
) -> None:
    client_for("anna").get(LIST)
    rows = _query(
        web_app,
        "select actor, programme, week, list_id, counts from outreach.audit_log"
        " where event = 'viewed'",
    )
    assert [r[:4] for r in rows] == [
        ("anna", "diabetes_bus", "2026-W48", "diabetes_bus-2026-W48-r1")
    ]
    assert not re.search(r"P\d{5}", str(rows))


def test_coordinator_opens_a_citizens_reasons(client_for, web_app) -> None:
    response = client_for("anna").get(f"{LIST}/citizens/{IN_SCOPE}")
    assert response.status_code == 200
    assert "<li>reason 1</li>" in response.text
    assert 'lang="da"' in response.text
    counts = _query(
        web_app, "select counts from outreach.audit_log where event = 'viewed'"
    )
    assert json.loads(counts[-1][0]) == {"page": "citizen", "rows": 1, "via": "web"}


def test_citizen_outside_the_scope_is_not_found(client_for) -> None:
    client = client_for("anna")
    assert client.get(f"{LIST}/citizens/{OUT_OF_SCOPE}").status_code == 404
    assert client.get(f"{LIST}/citizens/P99999").status_code == 404


def test_programme_outside_the_scope_is_forbidden(client_for) -> None:
    assert client_for("carl").get(LIST).status_code == 403
    assert client_for("carl").get(f"{LIST}/citizens/{IN_SCOPE}").status_code == 403


def test_unknown_week_is_not_found_with_the_command_to_run(client_for) -> None:
    response = client_for("anna").get("/lists/diabetes_bus/2026-W50")
    assert response.status_code == 404
    assert "opspor list --programme diabetes_bus --week 2026-W50" in response.text


def test_lists_page_shows_the_weeks_of_the_users_programmes(client_for) -> None:
    text = client_for("anna").get("/lists").text
    assert 'href="/lists/diabetes_bus/2026-W48"' in text
    assert "denne uge" in text  # the clock says 2026-11-27, in W48
    assert "smi_somatic" not in text


def test_recording_screened_stores_the_contact_and_audits_counts(
    client_for, web_app
) -> None:
    client = client_for("anna")
    response = _record(client, IN_SCOPE, outcome="screened")
    assert response.status_code == 303
    assert "Registreret: undersøgt." in client.get(response.headers["location"]).text
    contacts = _query(
        web_app,
        "select citizen_id, outcome, outcome_date, recorded_by, opt_out, source"
        " from outreach.contacts",
    )
    assert [(c[0], c[1], str(c[2]), c[3], c[4], c[5]) for c in contacts] == [
        (IN_SCOPE, "screened", "2026-11-26", "anna", False, "entry")
    ]
    audit = _query(
        web_app, "select actor, counts from outreach.audit_log where event = 'recorded'"
    )
    assert audit[0][0] == "anna"
    assert json.loads(audit[0][1])["screened"] == 1
    assert IN_SCOPE not in audit[0][1]


def test_recording_declined_with_opt_out_adds_to_the_register(
    client_for, web_app
) -> None:
    client = client_for("anna")
    _record(client, IN_SCOPE_2, outcome="declined", opt_out="yes")
    register = _query(web_app, "select citizen_id, recorded_by from outreach.opt_outs")
    assert register == [(IN_SCOPE_2, "anna")]
    assert "takket nej" in client.get(f"{LIST}/citizens/{IN_SCOPE_2}").text


def test_recording_uses_the_validation_of_opspor_record(client_for, web_app) -> None:
    client = client_for("anna")
    response = _record(client, IN_SCOPE, outcome="reached", opt_out="yes")
    page = client.get(response.headers["location"]).text
    assert f"Ikke registreret: {OPT_OUT_NOT_DECLINED}" in page
    future = _record(client, IN_SCOPE, outcome="reached", outcome_date="2026-11-28")
    assert "is in the future" in client.get(future.headers["location"]).text
    assert _query(web_app, "select count(*) from outreach.contacts") == [(0,)]


def test_recording_for_a_citizen_outside_the_scope_is_not_found(
    client_for, web_app
) -> None:
    client = client_for("anna")
    token = _csrf(client, LIST)
    response = client.post(
        f"{LIST}/citizens/{OUT_OF_SCOPE}",
        data={"csrf_token": token, "outcome": "screened", "outcome_date": "2026-11-26"},
    )
    assert response.status_code == 404
    assert _query(web_app, "select count(*) from outreach.contacts") == [(0,)]


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_post_without_the_sessions_csrf_token_is_refused(
    client_for, web_app, token
) -> None:
    client = client_for("anna")
    data = {"outcome": "screened", "outcome_date": "2026-11-26"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(f"{LIST}/citizens/{IN_SCOPE}", data=data)
    assert response.status_code == 403
    assert "sikkerhedsnøgle" in response.text
    assert _query(web_app, "select count(*) from outreach.contacts") == [(0,)]


def test_sign_in_form_without_csrf_token_is_refused(client_for, web) -> None:
    response = client_for().post(
        "/signin", data={"username": "anna", "password": web.PASSWORD}
    )
    assert response.status_code == 403


def test_excel_download_holds_only_the_scoped_rows_and_is_audited(
    client_for, web_app
) -> None:
    response = client_for("anna").get(f"{LIST}/download.xlsx")
    assert response.status_code == 200
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="diabetes_bus-2026-W48.xlsx"'
    )
    assert response.headers["cache-control"] == "no-store"
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    record = [r[0] for r in book["Record"].iter_rows(min_row=2, values_only=True)]
    assert len(record) == 27
    assert {("390", "376", "360")[int(i[1:]) % 3] for i in record} == {"390", "376"}
    audit = _query(
        web_app, "select actor, counts from outreach.audit_log where event = 'exported'"
    )
    assert audit[0][0] == "anna"
    assert json.loads(audit[0][1]) == {
        "files": 1,
        "formats": ["xlsx"],
        "rows": 27,
        "via": "web",
    }


def test_stop_sheets_print_only_the_scoped_rows(client_for) -> None:
    response = client_for("anna").get(f"{LIST}/stops")
    assert response.status_code == 200
    assert "Stop: Vordingborg" in response.text
    assert "Lolland" not in response.text
    assert OUT_OF_SCOPE not in response.text


def test_interface_language_follows_lang_parameter_and_sticks(client_for) -> None:
    client = client_for("anna")
    assert "Dine opsøgningslister" in client.get("/lists").text
    assert "Your outreach lists" in client.get("/lists?lang=en").text
    english = client.get(LIST).text
    assert "Download Excel" in english
    assert "høj" in english  # the risk band stays in the programme's language


def test_reviewer_gets_403_on_every_person_level_page(client_for) -> None:
    client = client_for("rita")
    for path in (
        LIST,
        f"{LIST}/citizens/{IN_SCOPE}",
        f"{LIST}/download.xlsx",
        f"{LIST}/stops",
        "/lists",
    ):
        assert client.get(path).status_code == 403, path


def test_reviewer_sees_the_empty_state_with_the_command_to_run(client_for) -> None:
    text = client_for("rita").get("/reports").text
    assert "opspor audit --programme diabetes_bus --week 2026-W48" in text
    assert "opspor card --model" in text


def _write_fairness(out: Path) -> Path:
    folder = out / "reports" / "diabetes_bus" / "2026-W48"
    folder.mkdir(parents=True)
    (folder / "fairness.json").write_text(
        json.dumps(
            {
                "schema": "opspor-fairness/1",
                "context": {
                    "programme": "diabetes_bus",
                    "model_uri": "models:/diabetes_harm_365d/3",
                    "as_of_date": "2026-11-23",
                },
                "k": 40,
                "n_cohort": 90,
                "n_selected": 40,
                "summary": ["Reach by education level is within the thresholds."],
                "flags": [
                    {"severity": "breach", "message": "x"},
                    {"severity": "warning", "message": "y"},
                ],
            }
        )
    )
    (folder / "fairness.html").write_text(
        "<html><body><h1>Fairness audit</h1></body></html>"
    )
    return folder


def test_reviewer_opens_the_fairness_report(client_for, web_settings) -> None:
    _write_fairness(web_settings.output_dir)
    client = client_for("rita")
    assert (
        'href="/reports/fairness/diabetes_bus/2026-W48"' in client.get("/reports").text
    )
    page = client.get("/reports/fairness/diabetes_bus/2026-W48")
    assert page.status_code == 200
    assert "Reach by education level is within the thresholds." in page.text
    raw = client.get("/reports/files/diabetes_bus/2026-W48/fairness.html")
    assert raw.status_code == 200
    assert "Fairness audit" in raw.text
    assert "sandbox" in raw.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/reports/files/diabetes_bus/2026-W48/..%2F..%2Fusers.json",
        "/reports/files/diabetes_bus/..%2F..%2F/users.json",
        "/reports/files/diabetes_bus/2026-W48/fairness.py",
        "/governance/diabetes_bus/2026-11-27/..%2F..%2F..%2Fusers.json",
    ],
)
def test_report_files_refuse_paths_outside_their_folder(
    client_for, web_settings, path
) -> None:
    _write_fairness(web_settings.output_dir)
    assert client_for("rita").get(path).status_code == 404


def test_coordinator_gets_403_on_reviewer_pages(client_for, web_settings) -> None:
    _write_fairness(web_settings.output_dir)
    client = client_for("anna")
    for path in (
        "/reports",
        "/reports/fairness/diabetes_bus/2026-W48",
        "/audit-log",
        "/models",
        "/features",
    ):
        assert client.get(path).status_code == 403, path


def test_audit_log_summary_counts_events_without_citizen_ids(client_for) -> None:
    client_for("anna").get(LIST)
    text = client_for("rita").get("/audit-log").text
    assert re.search(r"<td>diabetes_bus</td><td>viewed</td><td>1</td>", text)
    assert re.search(r"<td>diabetes_bus</td><td>generated</td><td>1</td>", text)
    assert not re.search(r"P\d{5}", text)


def test_data_scientist_sees_scored_model_versions_and_features(client_for) -> None:
    client = client_for("dan")
    text = client.get("/models").text
    assert "<td>diabetes_harm_365d</td><td>3</td>" in text
    assert "<td>90</td>" in text
    assert client.get("/features").status_code == 200


def test_home_sends_each_role_to_its_landing_page(client_for) -> None:
    assert client_for("anna").get("/").headers["location"] == "/lists"
    assert client_for("rita").get("/").headers["location"] == "/reports"
    assert client_for("dan").get("/").headers["location"] == "/models"


def test_healthz_answers_without_sign_in(client_for) -> None:
    assert client_for().get("/healthz").json() == {"status": "ok"}


def test_pages_forbid_caching_and_external_sources(client_for) -> None:
    response = client_for("anna").get(LIST)
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "http" not in re.sub(r'href="/[^"]*"', "", response.text.split("<main>")[0])


def test_load_secret_key_creates_a_private_file_once(tmp_path: Path) -> None:
    first = load_secret_key(tmp_path, env={})
    assert stat.S_IMODE((tmp_path / "web_secret.key").stat().st_mode) == 0o600
    assert load_secret_key(tmp_path, env={}) == first
    assert load_secret_key(tmp_path, env={"OPSPOR_SECRET_KEY": "k" * 32}) == "k" * 32


def test_interface_text_exists_in_both_languages() -> None:
    assert set(TEXT["da"]) == set(TEXT["en"])
    assert all(TEXT["da"].values()) and all(TEXT["en"].values())


def _build_stale_list(settings, week: str, reason: str) -> None:
    """Freeze a list for ``week`` from the W48 extract, allowed stale with a reason."""
    import duckdb

    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    con = duckdb.connect(str(settings.warehouse))
    try:
        build_weekly_list(
            con,
            load_programme("diabetes_bus"),
            week=week,
            model_uri="models:/diabetes_harm_365d/3",
            actor="planner",
            allow_stale=True,
            reason=reason,
        )
    finally:
        con.close()


def test_list_from_a_stale_extract_shows_why_in_both_languages(
    client_for, web_settings
) -> None:
    _build_stale_list(web_settings, "2026-W51", "bus <booked> before the new load")
    client = client_for("anna")
    danish = client.get("/lists/diabetes_bus/2026-W51")
    assert danish.status_code == 200
    reason = "bus &lt;booked&gt; before the new load"  # escaped, never markup
    assert (
        "Listen er dannet fra et forældet udtræk: 21 dage gammelt ved ugens start "
        f"(2026-12-14), grænsen er 14 dage. Tilladt af planner: {reason}"
    ) in danish.text
    assert (
        "Det indlæste udtræk (dateret 2026-11-23) er 21 dage gammelt ved starten af "
        "uge 2026-W51; programmet tillader højst 14 dage."
    ) in danish.text
    english = client.get("/lists/diabetes_bus/2026-W51?lang=en").text
    assert (
        "This list was built from a stale extract: 21 days old when the week started "
        f"(2026-12-14), the limit is 14 days. Allowed by planner: {reason}"
    ) in english
    assert "The loaded extract (dated 2026-11-23) is 21 days old" in english
    note = "21 days old on 2026-12-14 (limit 14); allowed by planner: " + reason
    assert note in client.get("/lists/diabetes_bus/2026-W51/stops").text
    xlsx = client.get("/lists/diabetes_bus/2026-W51/download.xlsx").content
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    cells = {c for s in book for r in s.iter_rows(values_only=True) for c in r}
    assert note.replace("&lt;", "<").replace("&gt;", ">") in cells
    assert client_for("rita").get("/lists/diabetes_bus/2026-W51").status_code == 403
    assert client_for("carl").get("/lists/diabetes_bus/2026-W51").status_code == 403


def test_fresh_list_has_no_stale_banner(client_for) -> None:
    text = client_for("anna").get(f"{LIST}?lang=en").text
    assert "stale extract" not in text and "The loaded extract" not in text
    assert 'class="flash warning' not in text


def test_list_page_warns_when_the_loaded_extract_is_too_old_for_the_week(
    client_for, web_settings
) -> None:
    import duckdb

    con = duckdb.connect(str(web_settings.warehouse))
    try:
        con.execute("update raw.extract_info set extract_date = date '2026-10-01'")
    finally:
        con.close()
    text = client_for("anna").get(f"{LIST}?lang=en").text
    assert (
        "The loaded extract (dated 2026-10-01) is 53 days old at the start of week "
        "2026-W48; the programme allows at most 14 days. Load a newer extract."
    ) in text
    assert "This list was built from a stale extract" not in text  # it was not
