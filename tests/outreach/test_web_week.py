"""The coordinator's week in the app: generate, regenerate, stale banner, find rows."""

from __future__ import annotations

import dataclasses
import html
import io
import json
import re

import duckdb
import pytest

from features.errors import ConfigError
from outreach.app.web.codes import count_text, municipality_label, plain_text
from outreach.app.web.week import find_rows
from outreach.programmes import MUNICIPALITY_NAMES, load_programme, municipality_name
from outreach.stages import BAD_REASON, ListRequest, run_list

LIST = "/lists/diabetes_bus/2026-W48"
NEXT = "/lists/diabetes_bus/2026-W49"
CPR = "0101701234"


def _csrf(client, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def _post(client, path: str, page: str = "/lists", **data: str):
    return client.post(path, data={"csrf_token": _csrf(client, page), **data})


def _runs(app) -> list[tuple]:
    with app.state.opspor.warehouse.connection() as con:
        return con.execute(
            "select list_id, generated_by, reason from outreach.list_runs"
            " order by list_id"
        ).fetchall()


def _events(app, event: str) -> list[tuple]:
    with app.state.opspor.warehouse.connection() as con:
        return con.execute(
            'select actor, "at", counts from outreach.audit_log where event = $e',
            {"e": event},
        ).fetchall()


def _flash(client, page: str) -> str:
    match = re.search(r'<p class="flash [^"]*" role="status">([^<]*)</p>', page)
    assert match, "no message on the page"
    return html.unescape(match.group(1))


@pytest.fixture
def regional(web_app, client_for):
    """A coordinator of all three municipalities of diabetes_bus ("rune")."""
    from argon2 import PasswordHasher

    from outreach.app.users import new_user

    user = new_user(
        "rune",
        role="coordinator",
        password="correct-horse-battery",
        programmes=["diabetes_bus"],
        municipalities=["390", "376", "360"],
    )
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    hashed = cheap.hash("correct-horse-battery")
    web_app.state.opspor.users.insert_user(
        dataclasses.replace(user, password_hash=hashed)
    )
    return client_for("rune")


def test_generate_builds_the_week_through_run_list_and_audits_it(
    client_for, web_app
) -> None:
    client = client_for("anna")
    response = _post(client, "/lists/diabetes_bus/generate", week="2026-W49")
    assert response.status_code == 303
    assert response.headers["location"] == NEXT
    page = client.get(NEXT).text
    assert "Listen for uge 2026-W49 er dannet: 40 borgere." in _flash(client, page)
    assert ("diabetes_bus-2026-W49-r1", "anna", None) in _runs(web_app)
    actor, _, counts = _events(web_app, "generated")[-1]
    assert actor == "anna" and json.loads(counts)["listed"] == 40
    assert "P00002" not in page  # built for all areas, shown only in anna's


def test_generating_a_frozen_week_returns_it_unchanged(client_for, web_app) -> None:
    client = client_for("anna")
    before = _runs(web_app)
    response = _post(client, "/lists/diabetes_bus/generate", week="2026-W48")
    assert response.headers["location"] == LIST
    message = _flash(client, client.get(LIST).text)
    assert message == "Listen for uge 2026-W48 fandtes allerede og er vist uændret."
    assert _runs(web_app) == before


@pytest.mark.parametrize(
    ("week", "expected"),
    [
        ("2026-W99", "Listen blev ikke dannet: The week '2026-W99' is not an ISO week"),
        ("2026-W40", "Listen blev ikke dannet: No scores from model"),
        ("2027-W10", "Listen blev ikke dannet, fordi udtrækket er for gammelt."),
    ],
)
def test_stage_refusals_reach_the_user_as_a_message(
    client_for, web_app, week, expected
) -> None:
    client = client_for("anna")
    response = _post(client, "/lists/diabetes_bus/generate", week=week)
    assert response.status_code == 303 and response.headers["location"] == "/lists"
    page = client.get("/lists")
    assert page.status_code == 200
    assert _flash(client, page.text).startswith(expected)
    assert (
        "Traceback" not in page.text
        and str(web_app.state.opspor.settings.output_dir) not in page.text
    )
    assert len(_runs(web_app)) == 1


def test_a_stale_extract_is_used_only_with_a_reason(client_for, web_app) -> None:
    client = client_for("anna")
    refused = _post(
        client, "/lists/diabetes_bus/generate", week="2027-W10", allow_stale="yes"
    )
    assert refused.headers["location"] == "/lists"
    assert (
        _flash(client, client.get("/lists").text)
        == "Listen blev ikke dannet: skriv en begrundelse"
    )
    allowed = _post(
        client,
        "/lists/diabetes_bus/generate",
        week="2027-W10",
        allow_stale="yes",
        reason="the new extract is delayed",
    )
    assert allowed.headers["location"] == "/lists/diabetes_bus/2027-W10"
    stale = json.loads(_events(web_app, "generated")[-1][2])["stale_extract"]
    assert stale["allowed_by"] == "anna"
    assert stale["reason"] == "the new extract is delayed"


def test_regenerate_needs_a_reason_and_audits_who_when_why(
    regional, web_app, web
) -> None:
    missing = _post(regional, f"{LIST}/regenerate", page=LIST, reason="  ")
    assert missing.headers["location"] == LIST
    assert _flash(regional, regional.get(LIST).text) == (
        "Listen blev ikke dannet: skriv en begrundelse"
    )
    assert len(_runs(web_app)) == 1
    done = _post(regional, f"{LIST}/regenerate", page=LIST, reason="bus broke down")
    assert done.headers["location"] == LIST
    assert "er dannet igen: 40 borgere" in _flash(regional, regional.get(LIST).text)
    assert ("diabetes_bus-2026-W48-r2", "rune", "bus broke down") in _runs(web_app)
    actor, at, counts = _events(web_app, "regenerated")[-1]
    assert actor == "rune" and json.loads(counts)["reason"] == "bus broke down"
    assert at is not None


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (f"citizen {CPR} moved", "noten indeholder et tal, der ligner et CPR-nummer"),
        ("x" * 501, "begrundelsen er for lang (højst 500 tegn)"),
    ],
)
def test_regenerate_refuses_a_reason_notes_may_not_hold(
    regional, web_app, reason, expected
) -> None:
    _post(regional, f"{LIST}/regenerate", page=LIST, reason=reason)
    assert expected in _flash(regional, regional.get(LIST).text)
    assert len(_runs(web_app)) == 1
    with web_app.state.opspor.warehouse.connection() as con:
        logged = con.execute("select counts from outreach.audit_log").fetchall()
    assert not any(CPR in str(row) for row in logged)


def test_run_list_refuses_a_cpr_reason_for_the_cli_too(web_settings) -> None:
    request = ListRequest(
        load_programme("diabetes_bus"),
        "2026-W48",
        formats=(),
        regenerate=True,
        reason=f"about {CPR}",
    )
    with pytest.raises(ConfigError) as error:
        run_list(web_settings, request)
    assert str(error.value) == BAD_REASON.format(
        problem="note holds a CPR-shaped number; a note must not identify a person"
    )


def test_run_weekly_refuses_a_cpr_reason_before_any_work(web_settings) -> None:
    from outreach.stages import WeeklyRequest, run_weekly

    request = WeeklyRequest(
        load_programme("diabetes_bus"), "2026-W48", allow_stale=True, reason=CPR
    )
    with pytest.raises(ConfigError, match="cannot be kept in the audit log"):
        run_weekly(web_settings, request)


def test_only_a_coordinator_of_every_municipality_may_regenerate(
    client_for, regional, web_app
) -> None:
    anna = client_for("anna")
    page = anna.get(LIST).text
    assert "Kun en koordinator for alle programmets kommuner" in page
    assert f'action="{LIST}/regenerate"' not in page
    _post(anna, f"{LIST}/regenerate", page=LIST, reason="I want a new one")
    assert "Listen blev ikke dannet igen" in _flash(anna, anna.get(LIST).text)
    assert len(_runs(web_app)) == 1
    assert f'action="{LIST}/regenerate"' in regional.get(LIST).text


def test_other_programmes_coordinator_cannot_generate(client_for) -> None:
    carl = client_for("carl")
    response = _post(carl, "/lists/diabetes_bus/generate", week="2026-W49")
    assert response.status_code == 403


def test_lists_page_shows_the_extract_age_and_a_banner_when_too_old(
    client_for, web_clock, web
) -> None:
    fresh = client_for("anna").get("/lists").text
    assert "Udtrækket er 4 dage gammelt (dateret 2026-11-23)." in fresh
    assert 'class="flash warning stale"' not in fresh
    web_clock["now"] = web.NOW.replace(month=12, day=24)
    client = client_for("anna")  # signed in anew: the first session is idle too long
    old = client.get("/lists").text
    assert (
        "Udtrækket er 28 dage gammelt (dateret 2026-11-23); programmet tillader "
        "højst 14 dage ved ugens start."
    ) in html.unescape(old)
    english = html.unescape(client.get("/lists?lang=en").text)
    assert "The extract is 28 days old (dated 2026-11-23); the programme" in english


def test_empty_lists_page_offers_the_form_instead_of_a_command(client_for) -> None:
    page = client_for("carl").get("/lists").text
    assert "opspor list" not in page
    assert 'action="/lists/smi_somatic_screening/generate"' in page


def _listed(page: str) -> list[str]:
    return re.findall(r'/citizens/(P\d{5})"', page)


def test_filter_by_stop_keeps_only_that_stop_of_the_users_rows(client_for) -> None:
    client = client_for("anna")
    everything = _listed(client.get(LIST).text)
    only = client.get(f"{LIST}?stop=Vordingborg").text
    shown = _listed(only)
    assert shown and set(shown) < set(everything)
    assert {int(i[1:]) % 3 for i in shown} == {0}  # 390 Vordingborg only
    ignored = _listed(client.get(f"{LIST}?stop=Lolland").text)
    assert ignored == everything  # not one of anna's stops: no filter, nothing leaks


def test_pseudonym_search_finds_a_row_or_says_not_found_without_leaking(
    client_for,
) -> None:
    client = client_for("anna")
    found = client.get(f"{LIST}?q=p00000").text
    assert _listed(found) == ["P00000"]
    outside = client.get(f"{LIST}?q=P00002").text  # listed, but in 360 (not anna's)
    unknown = client.get(f"{LIST}?q=P99999").text  # on no list at all
    for page, query in ((outside, "P00002"), (unknown, "P99999")):
        assert _listed(page) == []
        assert (
            f"Pseudonymet {query} findes ikke på denne liste i dine kommuner." in page
        )
    assert outside.replace("P00002", "X") == unknown.replace("P99999", "X")


def test_find_rows_trims_caps_and_ignores_unknown_stops() -> None:
    table = [
        {"_citizen_id": "P1", "_stop": "A"},
        {"_citizen_id": "P2", "_stop": "B"},
    ]
    assert [r["_citizen_id"] for r in find_rows(table, "B", "").rows] == ["P2"]
    assert find_rows(table, "C", "").stop == ""
    assert find_rows(table, "", "  p1 ").rows == [table[0]]
    assert len(find_rows(table, "", "x" * 500).query) == 64
    assert find_rows(table, "A", "P2").not_found


def test_the_municipality_table_has_all_98_codes() -> None:
    assert len(MUNICIPALITY_NAMES) == 98
    assert all(re.fullmatch(r"[0-9]{3}", code) for code in MUNICIPALITY_NAMES)
    assert municipality_name("390") == "Vordingborg"
    assert municipality_name("851") == "Aalborg"
    assert municipality_name("999") == "999"
    assert municipality_label("101") == "101 København"
    assert municipality_label("999") == "999"


def test_pages_name_the_municipalities(client_for) -> None:
    client = client_for("anna")
    assert "390 Vordingborg, 376 Guldborgsund" in client.get("/lists").text
    assert "390 Vordingborg, 376 Guldborgsund" in client.get(LIST).text
    citizen = client.get(f"{LIST}/citizens/P00000").text
    assert "<dd>390 Vordingborg</dd>" in citizen
    assert "390 Vordingborg, 376 Guldborgsund" in client.get("/opt-outs").text
    users = client_for("ada").get("/admin/users").text
    assert "<td>390 Vordingborg, 376 Guldborgsund</td>" in users


def test_codes_read_as_words_in_both_languages() -> None:
    text = "2026-08-01 foot_examination: attended"
    assert plain_text(text, "da") == "2026-08-01 fodundersøgelse: mødt"
    assert plain_text(text, "en") == "2026-08-01 foot examination: attended"
    assert plain_text("outreach: reached", "da") == "opsøgning: kontaktet"
    assert plain_text("supported_housing · Lolland", "da") == "botilbud · Lolland"
    assert plain_text("not_a_known_code", "da") == "not_a_known_code"
    assert plain_text(None, "da") == ""


def test_counts_are_singular_for_one() -> None:
    assert count_text("da", "citizens_shown", 1) == "1 borger i dine kommuner"
    assert count_text("da", "citizens_shown", 2) == "2 borgere i dine kommuner"
    assert count_text("en", "citizens_shown", 1) == "1 citizen in your municipalities"
    assert count_text("en", "extract_age", 1, extract_date="x").startswith(
        "The extract is 1 day old"
    )


def test_every_code_the_data_can_hold_has_words() -> None:
    from features.contract import APPOINTMENT_KINDS, APPOINTMENT_STATUSES
    from outreach.codes import CODE_TEXT, OUTCOMES

    codes = {*APPOINTMENT_KINDS, *APPOINTMENT_STATUSES, *OUTCOMES, "outreach"}
    codes |= {"supported_housing", "shelter", "prison"}
    for language in ("da", "en"):
        missing = {c for c in codes if c not in CODE_TEXT[language]}
        assert missing == set(), language


# --- no code in the Danish pages ----------------------------------------------
_SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _visible(page: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _codes_in(text: str, identifiers: tuple[str, ...]) -> set[str]:
    """snake_case words left once the run's identifiers (model, list id) are gone."""
    for identifier in identifiers:
        text = text.replace(identifier, " ")
    return set(_SNAKE.findall(text))


@pytest.fixture
def coded_list(web_settings) -> str:
    """W48 rebuilt after adding journal events and a citizen in supported housing.

    P00000 (390, rank 1) lives in supported housing and attended a foot examination
    in March; P00003 (390) missed an annual diabetes control in October.
    """
    con = duckdb.connect(str(web_settings.warehouse))
    try:
        con.execute(
            "update raw.citizens set living_situation = 'supported_housing'"
            " where citizen_id = 'P00000'"
        )
        con.execute(
            "insert into raw.appointments values"
            " ('A1', 'P00000', date '2026-03-02', 'foot_examination', 'hospital_outpatient', 'attended'),"  # noqa: E501
            " ('A2', 'P00003', date '2026-10-01', 'diabetes_annual_control', 'gp', 'no_show')"  # noqa: E501
        )
        result = run_list(
            web_settings,
            ListRequest(
                load_programme("diabetes_bus"),
                "2026-W48",
                formats=(),
                model_uri="models:/diabetes_harm_365d/3",
                actor="planner",
                regenerate=True,
                reason="journal events added",
            ),
        )
    finally:
        con.close()
    return result.list_id


def test_danish_pages_show_no_raw_code(client_for, coded_list) -> None:
    from openpyxl import load_workbook

    client = client_for("anna")
    citizen = f"{LIST}/citizens/P00003"
    token = _csrf(client, citizen)
    client.post(
        citizen,
        data={"csrf_token": token, "outcome": "reached", "outcome_date": "2026-11-26"},
    )
    ids = (coded_list, "models:/diabetes_harm_365d/3")
    page = client.get(LIST).text
    assert "botilbud · Vordingborg" in page and "fodundersøgelse: mødt" in page
    assert "årskontrol for diabetes: udeblev" in page
    assert "<td>kontaktet</td>" in client.get(citizen).text
    pages = (LIST, f"{LIST}/citizens/P00000", citizen, f"{LIST}/stops", "/lists")
    for path in (*pages, "/opt-outs"):
        assert _codes_in(_visible(client.get(path).text), ids) == set(), path
    book = load_workbook(io.BytesIO(client.get(f"{LIST}/download.xlsx").content))
    cells = " ".join(
        str(c) for r in book["List"].iter_rows(values_only=True) for c in r if c
    )
    assert "botilbud · Vordingborg" in cells
    assert "fodundersøgelse: mødt" in cells
    assert not {"supported_housing", "foot_examination", "no_show"} & set(
        _SNAKE.findall(cells)
    )  # the sheet's column names stay machine names (the record sheet reads them)


def test_generating_for_an_unknown_programme_is_not_found(client_for) -> None:
    client = client_for("anna")
    response = _post(client, "/lists/no_such_bus/generate", week="2026-W49")
    assert response.status_code == 404
