"""Notes on outcomes in the web app: limited in length, never a CPR-shaped number."""

from __future__ import annotations

import re

import pytest

from outreach.app.web.i18n import TEXT
from outreach.recording import MAX_NOTE_CHARS

LIST = "/lists/diabetes_bus/2026-W48"
CITIZEN = "P00000"  # in anna's municipalities


def _record(client, web, note: str, lang: str = "da"):
    page = f"{LIST}/citizens/{CITIZEN}?lang={lang}"
    token = web.csrf_of(client, page)
    data = {
        "csrf_token": token,
        "outcome": "reached",
        "outcome_date": "2026-11-26",
        "note": note,
    }
    return client.post(f"{LIST}/citizens/{CITIZEN}", data=data)


def _contacts(app) -> list[tuple]:
    with app.state.opspor.warehouse.connection() as con:
        return con.execute("select note from outreach.contacts").fetchall()


@pytest.mark.parametrize(
    ("note", "key"),
    [
        ("Ring igen om 010190-1234, sagde datteren", "note_has_cpr"),
        ("0101901234", "note_has_cpr"),
        ("x" * (MAX_NOTE_CHARS + 1), "note_too_long"),
    ],
)
@pytest.mark.parametrize("lang", ["da", "en"])
def test_note_with_a_cpr_number_or_too_long_is_refused_in_both_languages(
    client_for, web_app, web, note: str, key: str, lang: str
) -> None:
    client = client_for("anna")
    response = _record(client, web, note, lang)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    expected = TEXT[lang][key].format(limit=MAX_NOTE_CHARS)
    assert expected in page
    assert "1234" not in page.replace(web.csrf_of(client, "/lists"), "")
    assert _contacts(web_app) == []


def test_note_at_the_limit_without_a_cpr_number_is_kept(
    client_for, web_app, web
) -> None:
    note = "Træffes efter kl. 15, tlf. 12345678. " * 20
    note = note[:MAX_NOTE_CHARS]
    client = client_for("anna")
    response = _record(client, web, note)
    assert "Registreret" in client.get(response.headers["location"]).text
    assert _contacts(web_app) == [(note.strip(),)]


def test_note_field_tells_the_browser_the_limit(client_for) -> None:
    page = client_for("anna").get(f"{LIST}/citizens/{CITIZEN}").text
    assert re.search(rf'name="note" maxlength="{MAX_NOTE_CHARS}"', page)
