"""Interface text of the web app in Danish and English (``outreach/app/web/i18n.toml``).

The language is chosen by ``?lang=da|en`` (kept in the session), else the
user's setting, else Danish. Reasons on a list are not translated here: they
were written in the programme's language when the list was made.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from importlib import resources

__all__ = ["DEFAULT_LANGUAGE", "TEXT", "translator"]

DEFAULT_LANGUAGE = "da"


def _load() -> dict[str, dict[str, str]]:
    """Read the text tables shipped beside this module."""
    text = resources.files("outreach.app.web").joinpath("i18n.toml").read_text("utf-8")
    return {lang: dict(table) for lang, table in tomllib.loads(text).items()}


TEXT: Mapping[str, Mapping[str, str]] = _load()


def translator(language: str) -> Callable[..., str]:
    """Return ``t(key, **values)`` for a language (Danish when unknown).

    Parameters
    ----------
    language : {"da", "en"}
        Interface language.

    Returns
    -------
    callable
        Looks the key up, falls back to English, then to the key itself.
    """
    table = TEXT.get(language, TEXT[DEFAULT_LANGUAGE])

    def t(key: str, **values: object) -> str:
        text = table.get(key) or TEXT["en"].get(key) or key
        return text.format(**values) if values else text

    return t
