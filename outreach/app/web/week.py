"""The coordinator's week in the app: generate a list, its extract's age, find a row.

Generating goes through :func:`outreach.stages.run_list`, the stage behind
``opspor list``, with the same invariants (capacity, exclusions, the stale-extract
refusal, the frozen list returned unchanged, a reason to regenerate, the audit
event with who, when and why). The web adds only who may ask:

* **generate** (no list yet for the week): any coordinator of the programme. A
  list is built for every municipality of the programme at once and does not
  depend on who asks; the coordinator then sees only their municipalities.
* **regenerate** (replace a frozen list): only a coordinator whose municipalities
  cover every municipality of the programme, since the new list replaces the
  rows other municipalities' coordinators work from (and record against).

Finding rows narrows the scoped rows of :mod:`outreach.app.web.scoped` only, so
a pseudonym outside the coordinator's municipalities reads "not found in this
list" exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from features.errors import NotFoundError
from outreach.app.store import postgres_store
from outreach.app.users import User
from outreach.app.web.auth import Forbidden
from outreach.app.web.context import WebContext
from outreach.lists import ListResult, loaded_extract_info, parse_week
from outreach.programmes import Programme
from outreach.stages import ListRequest, run_list

__all__ = [
    "NOT_ALL_MUNICIPALITIES",
    "UNKNOWN_PROGRAMME",
    "Finding",
    "ScopeRefusal",
    "can_regenerate",
    "coordinated_programme",
    "extract_age",
    "find_rows",
    "generate_list",
    "overview_extract",
    "stale_extracts",
]

UNKNOWN_PROGRAMME = "Unknown programme {name!r}."
NOT_ALL_MUNICIPALITIES = (
    "Only a coordinator of every municipality of {programme!r} may regenerate "
    "its list; yours are {mine}."
)
#: The longest search text kept (a pseudonym is far shorter).
MAX_QUERY_CHARS = 64


class ScopeRefusal(Exception):
    """The coordinator may not regenerate this programme's list (shown, not 403)."""


@dataclass(frozen=True)
class Finding:
    """The rows a filter or search left, and what it was asked."""

    rows: list[dict[str, Any]]
    stops: list[str]
    stop: str
    query: str
    not_found: bool


def coordinated_programme(ctx: WebContext, user: User, name: str) -> Programme:
    """Return the programme if it exists (404) and is in the user's scope (403).

    Raises
    ------
    NotFoundError
        No such programme.
    Forbidden
        The programme is not one of the user's.
    """
    if name not in ctx.programmes:
        raise NotFoundError(UNKNOWN_PROGRAMME.format(name=name))
    if name not in user.programmes:
        raise Forbidden
    return ctx.programmes[name]


def can_regenerate(user: User, programme: Programme) -> bool:
    """Tell whether the user's municipalities cover all of the programme's."""
    return set(programme.municipalities) <= set(user.municipalities)


def generate_list(
    ctx: WebContext,
    user: User,
    programme: Programme,
    week: str,
    *,
    regenerate: bool = False,
    reason: str | None = None,
    allow_stale: bool = False,
) -> ListResult:
    """Generate (or return the frozen) list of a week through ``run_list``.

    Parameters
    ----------
    ctx : WebContext
        The app.
    user : User
        A coordinator of the programme (the actor in the audit log).
    programme : Programme
        One of the user's (:func:`coordinated_programme`).
    week : str
        ISO week such as ``2026-W49``.
    regenerate : bool
        Replace the frozen list (needs a reason and every municipality).
    reason : str, optional
        Why it is regenerated or built from a stale extract.
    allow_stale : bool
        Accept an extract older than the programme allows (needs a reason).

    Returns
    -------
    ListResult
        ``status`` generated, regenerated or frozen (an existing list unchanged).

    Raises
    ------
    ScopeRefusal
        ``regenerate`` by a coordinator who lacks some municipality.
    OpsporError
        Whatever the stage refuses (no scores, a stale extract, a bad reason).
    """
    if regenerate and not can_regenerate(user, programme):
        mine = ", ".join(user.municipalities)
        raise ScopeRefusal(
            NOT_ALL_MUNICIPALITIES.format(programme=programme.name, mine=mine)
        )
    request = ListRequest(
        programme,
        week.strip(),
        formats=(),  # the app serves each coordinator's part; no full-list files
        actor=user.name,
        regenerate=regenerate,
        reason=reason.strip() if reason and reason.strip() else None,
        allow_stale=allow_stale,
        store=postgres_store(ctx.operational_url) if ctx.operational_url else None,
    )
    with ctx.warehouse.released():
        return run_list(ctx.settings, request)


def extract_age(ctx: WebContext, on: date) -> dict[str, Any] | None:
    """Return the loaded extract's date and age in days on a day (None: none loaded).

    Read on its own short connection, so the app never holds the warehouse.
    """
    try:
        with ctx.warehouse.connection() as con:
            extract_date, _ = loaded_extract_info(con)
    except NotFoundError:
        return None
    day = pd.Timestamp(extract_date).date()
    return {"extract_date": day, "age": (on - day).days}


def stale_extracts(
    extract_date: date, programmes: list[Programme], week: str
) -> dict[str, dict[str, Any]]:
    """Per programme: the extract's date and age at the week's Monday, if too old.

    The limit is the programme's ``max_extract_age_days``, the one ``opspor
    list`` and ``opspor weekly`` refuse a stale extract by.
    """
    age = (parse_week(week) - extract_date).days
    return {
        p.name: {
            "extract_date": extract_date,
            "age": age,
            "max_days": p.max_extract_age_days,
            "week": week,
        }
        for p in programmes
        if age > p.max_extract_age_days
    }


def overview_extract(ctx: WebContext, overview: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the loaded extract's age today and the programmes it is too old for.

    Returns
    -------
    dict
        ``extract`` (date and age today, or None) and ``stale`` (programme name ->
        date, age and limit at this week's Monday).
    """
    info = extract_age(ctx, ctx.today()) if overview else None
    if info is None:
        return {"extract": None, "stale": {}}
    week = str(overview[0]["this_week"])
    programmes = [item["programme"] for item in overview]
    return {
        "extract": info,
        "stale": stale_extracts(info["extract_date"], programmes, week),
    }


def find_rows(table: list[dict[str, Any]], stop: str, query: str) -> Finding:
    """Narrow the scoped display rows to one stop and/or one pseudonym.

    Parameters
    ----------
    table : list of dict
        The rows shown to this coordinator (already in their municipalities).
    stop : str
        Keep this stop only (empty: all stops).
    query : str
        A pseudonym, matched exactly after trimming, case-insensitively.

    Returns
    -------
    Finding
        ``not_found`` when a pseudonym was asked and is not among these rows.
    """
    stops = sorted({str(r.get("_stop", "")) for r in table} - {""})
    stop = stop.strip() if stop.strip() in stops else ""
    query = query.strip()[:MAX_QUERY_CHARS]
    rows = [r for r in table if not stop or r.get("_stop") == stop]
    if query:
        rows = [r for r in rows if r["_citizen_id"].upper() == query.upper()]
    return Finding(rows, stops, stop, query, bool(query) and not rows)
