from __future__ import annotations

import pytest

from outreach.app.web import codes as web_codes
from outreach.app.web.i18n import TEXT
from outreach.codes import CODE_TEXT, OUTCOMES, code_text, outcome_code, plain_text


def test_code_table_has_the_same_codes_in_danish_and_english() -> None:
    assert set(CODE_TEXT) == {"da", "en"}
    assert set(CODE_TEXT["da"]) == set(CODE_TEXT["en"])
    assert set(OUTCOMES) <= set(CODE_TEXT["da"])


def test_web_app_uses_the_domain_table_and_keeps_no_copy() -> None:
    assert web_codes.plain_text is plain_text
    assert not [k for lang in TEXT.values() for k in lang if k.startswith("code_")]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "2026-08-01 foot_examination: no_show",
            "da",
            "2026-08-01 fodundersøgelse: udeblev",
        ),
        (
            "2026-08-01 foot_examination: no_show",
            "en",
            "2026-08-01 foot examination: did not attend",
        ),
        ("supported_housing · Lolland", "da", "botilbud · Lolland"),
        ("pl", "xx", "polsk"),  # unknown language: Danish
        ("Lolland", "da", "Lolland"),
        (None, "da", ""),
    ],
)
def test_plain_text_replaces_known_codes_only(text, language, expected) -> None:
    assert plain_text(text, language) == expected


def test_code_text_of_unknown_code_is_the_code() -> None:
    assert code_text("declined", "da") == "takket nej"
    assert code_text("not_a_code", "en") == "not_a_code"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("reached", "reached"),
        ("Kontaktet", "reached"),
        ("takket  nej", "declined"),
        ("not reached", "unreachable"),
        ("ikke truffet", "unreachable"),
        ("udeblev", "udeblev"),  # a word of the table but not an outcome
        ("", ""),
    ],
)
def test_outcome_code_reads_codes_and_words_in_both_languages(written, code) -> None:
    assert outcome_code(written) == code
