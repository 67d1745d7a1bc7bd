"""The per-citizen access log in the app: counts for reviewers, an admin's export.

Reviewers (and admins) see how many entries and citizens each user accessed per
day and action, never a pseudonym, with counts under the programme report's
minimum cell size suppressed. Only an admin exports the entries themselves for
an investigation (filtered by user, pseudonym and dates, as CSV), and that
export is itself access-logged, one entry per pseudonym it holds.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.app.access_log import AccessFilter, entries_csv, suppress_counts
from outreach.app.users import User
from outreach.app.web.access import PersonAccess, web_access_log
from outreach.app.web.auth import allow
from outreach.app.web.context import render
from outreach.programme_report import MIN_CELL_SIZE

__all__ = ["router"]

router = APIRouter()
Overseers = Annotated[User, allow("reviewer", "admin")]
Admin = Annotated[User, allow("admin")]


def _date(text: str) -> date | None:
    """Parse ``YYYY-MM-DD``; anything else is no filter."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _filter(request: Request, *, pseudonym: bool) -> AccessFilter:
    """Read the filters of the query string (the pseudonym only for an admin)."""
    query = request.query_params
    return AccessFilter(
        actor=query.get("actor", "").strip() or None,
        pseudonym=(query.get("pseudonym", "").strip() or None) if pseudonym else None,
        since=_date(query.get("since", "")),
        until=_date(query.get("until", "")),
    )


@router.get("/access-log")
def access_log_page(request: Request, user: Overseers) -> Response:
    """Entries and citizens per user, day and action; small counts suppressed."""
    where = _filter(request, pseudonym=False)
    rows = suppress_counts(web_access_log(request).counts(where), MIN_CELL_SIZE)
    return render(
        request,
        "access_log.html.j2",
        rows=rows,
        where=where,
        min_cell_size=MIN_CELL_SIZE,
        can_export=user.role == "admin",
    )


@router.get("/access-log.csv")
def access_log_csv(request: Request, user: Admin, access: PersonAccess) -> Response:
    """Send the matching entries for an investigation; the export is logged."""
    where = _filter(request, pseudonym=True)
    rows = web_access_log(request).entries(where)
    access.log("exported_access_log", (r["pseudonym"] for r in rows))
    return Response(
        entries_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="access_log.csv"',
            "Cache-Control": "no-store",
        },
    )
