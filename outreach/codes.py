"""Codes in plain words: the one table that turns stored codes into Danish or English.

Lists and contacts store codes as the data has them: an outcome (``reached``),
a journal event (``foot_examination: no_show``), a site kind in a stop
(``supported_housing · Lolland``), a language (``pl``). The table lives in
``outreach/data/codes.toml``; the exported files (:mod:`outreach.exports`) and
the web app (``outreach.app.web.codes``) both read it through this module, so a
code reads the same on the screen and on paper.

The record sheet keeps its ``outcome`` column machine-readable: a coordinator
may type the code or its words in either language, and :func:`outcome_code`
turns both back into the code.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = [
    "CODE_LANGUAGES",
    "OUTCOMES",
    "CODE_TEXT",
    "code_text",
    "outcome_code",
    "plain_text",
]

CODE_LANGUAGES = ("da", "en")
#: What can happen at contact; ``opspor record`` and the record sheet take these.
OUTCOMES = ("reached", "screened", "declined", "unreachable", "wrong_contact_data")
_DEFAULT = "da"
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def _load() -> dict[str, dict[str, str]]:
    """Read the code table shipped in ``outreach/data/codes.toml``."""
    text = resources.files("outreach").joinpath("data", "codes.toml").read_text("utf-8")
    return {lang: dict(table) for lang, table in tomllib.loads(text).items()}


CODE_TEXT: Mapping[str, Mapping[str, str]] = _load()


def code_text(code: str, language: str) -> str:
    """Return the words of one code (the code itself when unknown).

    Parameters
    ----------
    code : str
        A code, e.g. ``"no_show"``.
    language : {"da", "en"}
        Language of the words; Danish when unknown.

    Returns
    -------
    str
        ``"udeblev"`` for ``("no_show", "da")``.
    """
    return CODE_TEXT.get(language, CODE_TEXT[_DEFAULT]).get(code, code)


def plain_text(value: Any, language: str) -> str:
    """Return the text with each known code replaced by its words.

    Parameters
    ----------
    value : Any
        Text holding codes, e.g. ``"2026-08-01 foot_examination: no_show"``.
    language : {"da", "en"}
        Language of the words; Danish when unknown.

    Returns
    -------
    str
        ``"2026-08-01 fodundersøgelse: udeblev"``; unknown words unchanged,
        ``""`` for ``None``.
    """
    if value is None:
        return ""
    table = CODE_TEXT.get(language, CODE_TEXT[_DEFAULT])
    return _CODE.sub(lambda m: table.get(m[0], m[0]), str(value))


def outcome_code(value: str, outcomes: tuple[str, ...] = OUTCOMES) -> str:
    """Return the outcome code written as a code or as its words in any language.

    Parameters
    ----------
    value : str
        What the sheet holds, e.g. ``"reached"``, ``"kontaktet"`` or ``"Takket nej"``.
    outcomes : tuple of str
        The codes allowed.

    Returns
    -------
    str
        The code (``"declined"``), or ``value`` lower-cased when it names none.
    """
    text = " ".join(value.split()).lower()
    for code in outcomes:
        words = {code, *(CODE_TEXT[lang].get(code, code).lower() for lang in CODE_TEXT)}
        if text in words:
            return code
    return text
