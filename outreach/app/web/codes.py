"""Codes in plain words: the one place the web app turns stored codes into text.

Lists store codes as the data has them: an outcome (``reached``), a journal
event (``foot_examination: no_show``), a site kind in a stop
(``supported_housing · Lolland``), a municipality (``390``). Templates show them
through the jinja filters registered by :func:`register`:

* ``plain`` replaces every code of the domain's code table
  (:mod:`outreach.codes`, the same words the exported files use) with its text
  in the page's language (other words are left as they are);
* ``municipality`` adds the name to a kommunekode (``390 Vordingborg``);
* ``count(key, n)`` picks ``<key>_one`` for exactly one, else ``<key>``, so a page
  never says "1 borgere".
"""

from __future__ import annotations

from typing import Any

import jinja2

from outreach.app.web.i18n import DEFAULT_LANGUAGE, TEXT, translator
from outreach.codes import plain_text
from outreach.programmes import municipality_name

__all__ = ["count_text", "municipality_label", "plain_text", "register"]


def municipality_label(code: Any) -> str:
    """Return ``"390 Vordingborg"`` (the code alone when unknown)."""
    name = municipality_name(str(code))
    return str(code) if name == str(code) else f"{code} {name}"


def count_text(language: str, key: str, n: int, **values: Any) -> str:
    """Return the text of ``key`` for ``n`` things, singular when ``n == 1``."""
    t = translator(language)
    chosen = f"{key}_one" if n == 1 and f"{key}_one" in TEXT["en"] else key
    return t(chosen, n=n, **values)


@jinja2.pass_context
def _plain(context: jinja2.runtime.Context, value: Any) -> str:
    """Jinja filter ``plain`` in the page's language."""
    return plain_text(value, str(context.get("lang", DEFAULT_LANGUAGE)))


@jinja2.pass_context
def _count(context: jinja2.runtime.Context, key: str, n: int, **values: Any) -> str:
    """Jinja global ``count`` in the page's language."""
    return count_text(str(context.get("lang", DEFAULT_LANGUAGE)), key, n, **values)


def register(environment: jinja2.Environment) -> jinja2.Environment:
    """Add the ``plain`` and ``municipality`` filters and ``count``; return it."""
    environment.filters["plain"] = _plain
    environment.filters["municipality"] = municipality_label
    environment.globals["count"] = _count
    return environment
