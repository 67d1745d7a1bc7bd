"""Coordinator pages that change what was recorded: sheet upload, corrections, opt-outs.

The app's warehouse holds the diabetes_bus list of 2026-W48; anna coordinates
municipalities 390 and 376 (citizen i lives in ("390", "376", "360")[i % 3]).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from outreach.app.web.uploads import MAX_UPLOAD_BYTES

LIST = "/lists/diabetes_bus/2026-W48"
UPLOAD = f"{LIST}/upload"
IN_SCOPE = "P00000"  # 390
IN_SCOPE_2 = "P00001"  # 376
OUT_OF_SCOPE = "P00002"  # 360
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _query(app, sql: str, params: dict | None = None) -> list[tuple]:
    with app.state.opspor.warehouse.connection() as con:
        return con.execute(sql, params or {}).fetchall()


def _csrf(client, path: str) -> str:
    match = _CSRF.search(client.get(path).text)
    assert match, path
    return match.group(1)


def _token(client) -> str:
    """The session's CSRF token, read once (it stays the same for the session)."""
    if not hasattr(client, "csrf_token"):
        client.csrf_token = _csrf(client, "/lists")
    return str(client.csrf_token)


def _filled_xlsx(client, outcomes: dict[str, tuple]) -> bytes:
    """Download the app's Excel file and fill the Record sheet's rows."""
    book = load_workbook(io.BytesIO(client.get(f"{LIST}/download.xlsx").content))
    sheet = book["Record"]
    for row in sheet.iter_rows(min_row=2):
        values = outcomes.get(str(row[0].value).lstrip("'"))
        if values:
            for cell, value in zip(row[1:], values, strict=False):
                cell.value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(rows: list[tuple]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["citizen_id", "outcome", "outcome_date", "recorded_by", "opt_out", "note"]
    )
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(client, name: str, content: bytes):
    token = _token(client)
    return client.post(
        UPLOAD, data={"csrf_token": token}, files={"sheet": (name, content)}
    )


def _contacts(app) -> list[tuple]:
    return _query(
        app,
        "select citizen_id, outcome, cast(outcome_date as varchar), recorded_by,"
        " opt_out, source from outreach.contacts order by citizen_id",
    )


@pytest.fixture
def anna(client_for):
    return client_for("anna")


def test_upload_previews_every_row_then_commits_all_of_it(anna, web_app) -> None:
    content = _filled_xlsx(
        anna,
        {
            IN_SCOPE: ("screened", "2026-11-25", None, None, "ok"),
            IN_SCOPE_2: ("declined", "2026-11-26", None, "ja", None),
        },
    )
    response = _upload(anna, "diabetes_bus-2026-W48.xlsx", content)
    assert response.status_code == 303
    preview_url = response.headers["location"]
    assert preview_url.startswith(f"{UPLOAD}/")
    page = anna.get(preview_url).text
    assert "2 udfyldte rækker, heraf 0 afvist" in page
    assert "undersøgt" in page and "takket nej" in page
    assert "Registrér de 2 rækker" in page
    assert _contacts(web_app) == []  # the preview writes nothing
    commit = anna.post(preview_url, data={"csrf_token": _csrf(anna, preview_url)})
    assert commit.status_code == 303 and commit.headers["location"] == LIST
    assert "2 nye udfald" in anna.get(LIST).text
    assert _contacts(web_app) == [
        (IN_SCOPE, "screened", "2026-11-25", "anna", False, "web-upload"),
        (IN_SCOPE_2, "declined", "2026-11-26", "anna", True, "web-upload"),
    ]
    assert _query(web_app, "select citizen_id from outreach.opt_outs") == [
        (IN_SCOPE_2,)
    ]


def test_committing_the_same_upload_again_writes_nothing(anna, web_app) -> None:
    content = _csv([(IN_SCOPE, "reached", "2026-11-24", "", "", "")])
    preview_url = _upload(anna, "week.csv", content).headers["location"]
    token = _csrf(anna, preview_url)
    anna.post(preview_url, data={"csrf_token": token})
    again = anna.post(preview_url, data={"csrf_token": token})
    assert again.status_code == 303
    assert "allerede registreret" in anna.get(again.headers["location"]).text
    assert len(_contacts(web_app)) == 1
    events = _query(
        web_app, "select event from outreach.audit_log where event = 'recorded'"
    )
    assert events == [("recorded",)]


def test_a_sheet_with_a_bad_row_shows_each_error_and_records_nothing(
    anna, web_app
) -> None:
    content = _csv(
        [
            (IN_SCOPE, "screened", "2026-11-25", "", "", ""),
            (IN_SCOPE_2, "reached", "2026-12-01", "", "", ""),
            (OUT_OF_SCOPE, "reached", "2026-11-25", "", "", ""),
            ("P00003", "reached", "2026-11-25", "", "", "ring 0101901234"),
        ]
    )
    preview_url = _upload(anna, "week.csv", content).headers["location"]
    page = anna.get(preview_url).text
    assert "Række 3, dato:" in page and "ligger i fremtiden" in page
    assert "Række 4, pseudonym:" in page and "i dine kommuner" in page
    assert "Række 5, note:" in page and "CPR-nummer" in page
    assert "Registrér de" not in page  # no commit button
    commit = anna.post(preview_url, data={"csrf_token": _csrf(anna, preview_url)})
    assert commit.headers["location"] == preview_url
    assert "Intet er registreret: 3 rækker" in anna.get(preview_url).text
    assert _contacts(web_app) == []
    english = anna.get(preview_url + "?lang=en").text
    assert "Row 3, date:" in english and "is in the future" in english


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("week.pdf", b"%PDF-1.4", "indlæs registreringsarket som .xlsx"),
        ("week.xlsx", b"not a zip file", "indlæs registreringsarket som .xlsx"),
        ("week.csv", b"\xff\xfe\x00bad", "indlæs registreringsarket som .xlsx"),
        ("week.csv", b"x" * (MAX_UPLOAD_BYTES + 1), "større end 2 MB"),
    ],
)
def test_upload_refuses_other_files(anna, web_app, name, content, message) -> None:
    response = _upload(anna, name, content)
    assert response.headers["location"] == UPLOAD
    assert message in anna.get(UPLOAD).text
    folder = web_app.state.opspor.settings.output_dir / "web-uploads"
    assert not folder.exists() or not list(folder.iterdir())


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(anna) -> None:
    token = _csrf(anna, UPLOAD)
    response = anna.post(
        UPLOAD,
        data={"csrf_token": token},
        files={"sheet": ("week.csv", b"x" * (MAX_UPLOAD_BYTES + 100 * 1024))},
    )
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "content"),
    [("week.csv", b"a,b\n1,2\n"), ("week.xlsx", b"PK\x03\x04 but no workbook")],
)
def test_a_sheet_that_cannot_be_read_is_refused_on_preview(anna, name, content):
    preview_url = _upload(anna, name, content).headers["location"]
    response = anna.get(preview_url)
    assert response.status_code == 303 and response.headers["location"] == UPLOAD
    assert "kan ikke læses som et registreringsark" in anna.get(UPLOAD).text


def test_an_upload_is_only_its_uploaders(anna, client_for, web_app) -> None:
    preview_url = _upload(anna, "w.csv", _csv([])).headers["location"]
    assert anna.get(preview_url).status_code == 200
    other = client_for("anna")  # the same user in another session may see it
    assert other.get(preview_url).status_code == 200
    assert anna.get(f"{UPLOAD}/../../etc").status_code == 404
    assert anna.get(f"{UPLOAD}/{'x' * 30}").status_code == 404
    files = list((web_app.state.opspor.settings.output_dir / "web-uploads").iterdir())
    assert files and all(p.stat().st_mode & 0o077 == 0 for p in files)


def test_upload_for_another_programme_is_forbidden(client_for) -> None:
    carl = client_for("carl")
    assert carl.get(UPLOAD).status_code == 403


def _history(client, citizen: str) -> str:
    return client.get(f"{LIST}/citizens/{citizen}").text


def _contact_id(app, citizen: str, outcome: str) -> str:
    rows = _query(
        app,
        "select contact_id from outreach.contacts"
        " where citizen_id = $c and outcome = $o",
        {"c": citizen, "o": outcome},
    )
    return str(rows[0][0])


def _record(client, citizen: str, outcome: str, day: str = "2026-11-25") -> None:
    page = f"{LIST}/citizens/{citizen}"
    client.post(
        page,
        data={
            "csrf_token": _token(client),
            "outcome": outcome,
            "outcome_date": day,
        },
    )


def _change(client, citizen: str, contact_id: str, action: str, **values: str):
    page = f"{LIST}/citizens/{citizen}"
    url = f"{page}/contacts/{contact_id}/{action}"
    return client.post(url, data={"csrf_token": _token(client), **values})


def test_correcting_an_outcome_keeps_the_original_and_audits_the_reason(
    anna, web_app
) -> None:
    _record(anna, IN_SCOPE, "reached")
    original = _contact_id(web_app, IN_SCOPE, "reached")
    response = _change(
        anna, IN_SCOPE, original, "correct",
        outcome="screened", outcome_date="2026-11-25", reason="typed the wrong row",
    )  # fmt: skip
    assert response.status_code == 303
    page = _history(anna, IN_SCOPE)
    assert "Udfaldet er rettet" in page
    assert "rettet" in page and "typed the wrong row" in page and "gældende" in page
    rows = _query(
        web_app,
        "select outcome, source, corrects, reason from outreach.contacts"
        " order by recorded_at, outcome",
    )
    assert rows == [
        ("reached", "entry", None, None),
        ("screened", "correction", original, "typed the wrong row"),
    ]
    current = _query(web_app, "select outcome from outreach.current_contacts")
    assert current == [("screened",)]
    assert '<td class="recorded">undersøgt</td>' in anna.get(LIST).text  # in words
    audit = _query(
        web_app,
        "select actor, counts from outreach.audit_log where event = 'corrected'",
    )
    assert audit[0][0] == "anna"
    assert json.loads(audit[0][1]) == {
        "contacts": 1, "from": "reached", "to": "screened",
        "reason": "typed the wrong row",
    }  # fmt: skip
    assert IN_SCOPE not in audit[0][1]


def test_retracting_an_outcome_takes_it_out_of_the_current_ones(anna, web_app) -> None:
    _record(anna, IN_SCOPE, "reached")
    contact_id = _contact_id(web_app, IN_SCOPE, "reached")
    _change(anna, IN_SCOPE, contact_id, "retract", reason="wrong citizen")
    page = _history(anna, IN_SCOPE)
    assert "trukket tilbage" in page and "wrong citizen" in page
    assert _query(web_app, "select count(*) from outreach.current_contacts") == [(0,)]
    assert _query(web_app, "select count(*) from outreach.contacts") == [(1,)]
    again = _change(anna, IN_SCOPE, contact_id, "retract", reason="twice")
    assert (
        "allerede rettet eller trukket tilbage"
        in anna.get(again.headers["location"]).text
    )
    events = _query(
        web_app, "select event from outreach.audit_log where event = 'retracted'"
    )
    assert events == [("retracted",)]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"reason": ""}, "en begrundelse skal udfyldes"),
        ({"reason": "call 010190-1234"}, "ligner et CPR-nummer"),
        ({"reason": "x", "outcome": "reached", "outcome_date": "2026-11-25"},
         "gentager det registrerede udfald"),
        ({"reason": "x", "outcome": "screened", "outcome_date": "2026-11-30"},
         "ligger i fremtiden"),
        ({"reason": "x", "outcome": "", "outcome_date": "2026-11-25"},
         "udfaldet mangler"),
    ],
)  # fmt: skip
def test_a_correction_is_validated_and_refused_without_writing(
    anna, web_app, values, message
) -> None:
    _record(anna, IN_SCOPE, "reached")
    contact_id = _contact_id(web_app, IN_SCOPE, "reached")
    response = _change(anna, IN_SCOPE, contact_id, "correct", **values)
    assert message in anna.get(response.headers["location"]).text
    assert _query(web_app, "select count(*) from outreach.contact_changes") == [(0,)]
    assert _query(web_app, "select count(*) from outreach.contacts") == [(1,)]


def test_a_contact_of_another_citizen_is_not_found(anna, web_app) -> None:
    _record(anna, IN_SCOPE, "reached")
    contact_id = _contact_id(web_app, IN_SCOPE, "reached")
    response = _change(anna, IN_SCOPE_2, contact_id, "retract", reason="x")
    assert response.status_code == 404
    out = _change(anna, OUT_OF_SCOPE, contact_id, "retract", reason="x")
    assert out.status_code == 404
    assert _query(web_app, "select count(*) from outreach.contact_changes") == [(0,)]


def _post_register(client, path: str, **values: str):
    return client.post(path, data={"csrf_token": _token(client), **values})


def test_opt_out_register_add_view_and_withdraw(anna, web_app) -> None:
    added = _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE, reason="phoned in")
    assert added.headers["location"] == "/opt-outs"
    page = anna.get("/opt-outs").text
    assert "føjet til fravalgsregistret" in page
    assert IN_SCOPE in page and "phoned in" in page
    again = _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE, reason="again")
    assert (
        "står allerede i fravalgsregistret" in anna.get(again.headers["location"]).text
    )
    withdrawn = _post_register(
        anna, f"/opt-outs/{IN_SCOPE}/withdraw", reason="asked to be contacted"
    )
    assert withdrawn.status_code == 303
    page = anna.get("/opt-outs").text
    assert "Tilbagetrukne fravalg" in page and "asked to be contacted" in page
    assert _query(web_app, "select count(*) from outreach.opt_outs") == [(0,)]
    kept = _query(
        web_app,
        "select citizen_id, reason, withdrawn_by, withdrawal_reason"
        " from outreach.opt_out_withdrawals",
    )
    assert kept == [(IN_SCOPE, "phoned in", "anna", "asked to be contacted")]
    events = _query(
        web_app,
        "select event, counts from outreach.audit_log"
        " where event like 'opt_out%' order by rowid",
    )
    assert [e[0] for e in events] == ["opt_out_added", "opt_out_withdrawn"]
    assert all(IN_SCOPE not in e[1] for e in events)


def test_opt_out_register_is_scoped_to_the_users_municipalities(
    anna, client_for, web_app
) -> None:
    response = _post_register(anna, "/opt-outs", citizen_id=OUT_OF_SCOPE, reason="x")
    assert response.status_code == 404
    unknown = _post_register(anna, "/opt-outs", citizen_id="P99999", reason="x")
    assert unknown.status_code == 404
    _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE, reason="phoned in")
    carl = client_for("carl")  # 360 only
    assert IN_SCOPE not in carl.get("/opt-outs").text
    withdraw = _post_register(carl, f"/opt-outs/{IN_SCOPE}/withdraw", reason="x")
    assert withdraw.status_code == 404
    assert _query(web_app, "select count(*) from outreach.opt_outs") == [(1,)]


def test_opt_out_needs_a_reason_without_a_cpr_number(anna, web_app) -> None:
    empty = _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE, reason=" ")
    assert "en begrundelse skal udfyldes" in anna.get(empty.headers["location"]).text
    cpr = _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE, reason="0101901234")
    assert "CPR" in anna.get(cpr.headers["location"]).text
    assert _query(web_app, "select count(*) from outreach.opt_outs") == [(0,)]


def test_an_opt_out_added_in_the_app_keeps_the_citizen_off_the_next_list(
    anna, web_app, web
) -> None:
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE, reason="phoned in")
    with web_app.state.opspor.warehouse.connection() as con:
        result = build_weekly_list(
            con,
            load_programme("diabetes_bus"),
            week=web.NEXT_WEEK,
            model_uri=web.MODEL_URI,
            actor="planner",
        )
        listed = con.execute(
            "select citizen_id from outreach.lists where list_id = $id",
            {"id": result.list_id},
        ).fetchall()
    assert result.counts["excluded"]["opt_out"] >= 1
    assert (IN_SCOPE,) not in listed and listed


def test_an_upload_is_not_committed_to_a_list_generated_again(anna, web_app, web):
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    content = _csv([(IN_SCOPE, "reached", "2026-11-24", "", "", "")])
    preview_url = _upload(anna, "week.csv", content).headers["location"]
    token = _csrf(anna, preview_url)
    with web_app.state.opspor.warehouse.connection() as con:
        build_weekly_list(con, load_programme("diabetes_bus"), week=web.WEEK,
                          model_uri=web.MODEL_URI, actor="planner",
                          regenerate=True, reason="new extract")  # fmt: skip
    response = anna.post(preview_url, data={"csrf_token": token})
    assert response.headers["location"] == UPLOAD
    assert "Listen er dannet igen" in anna.get(UPLOAD).text
    assert _contacts(web_app) == []


def test_upload_store_gives_an_upload_only_to_its_user_and_list(tmp_path) -> None:
    from features.errors import NotFoundError
    from outreach.app.web.uploads import UploadStore

    store = UploadStore(tmp_path / "up")
    upload = store.new(user="anna", programme="p", week="2026-W48", list_id="L",
                       suffix=".csv", sha256="h", uploaded_at="t")  # fmt: skip
    store.save(upload, b"citizen_id,outcome\n")
    assert (
        store.load(upload.token, user="anna", programme="p", week="2026-W48") == upload
    )
    for who, week in (("bo", "2026-W48"), ("anna", "2026-W49")):
        with pytest.raises(NotFoundError):
            store.load(upload.token, user=who, programme="p", week=week)
    done = store.mark_committed(upload, {"recorded": 0}, datetime(2026, 11, 27))
    assert done.committed_at == "2026-11-27T00:00:00"
    assert not store.file_of(upload).exists()


def test_without_a_loaded_extract_the_register_shows_nobody(anna, web_app) -> None:
    _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE, reason="phoned in")
    _query(web_app, "drop table raw.citizens cascade")
    page = anna.get("/opt-outs")
    assert page.status_code == 200 and IN_SCOPE not in page.text
    added = _post_register(anna, "/opt-outs", citizen_id=IN_SCOPE_2, reason="x")
    assert added.status_code == 404
