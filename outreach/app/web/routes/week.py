"""Coordinator forms that make the week's list: generate and regenerate.

Both post to :func:`outreach.app.web.week.generate_list` (``run_list``, the
stage behind ``opspor list``). A refusal of the stage (no scores, a stale
extract, a reason that may not be kept) comes back as a message on the page,
never as an error page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from features.errors import OpsporError
from outreach.app.users import User
from outreach.app.web.auth import allow
from outreach.app.web.codes import count_text
from outreach.app.web.context import flash, language_of, web_context
from outreach.app.web.errors import without_paths
from outreach.app.web.i18n import translator
from outreach.app.web.week import ScopeRefusal, coordinated_programme, generate_list
from outreach.lists import ListResult, StaleDataError
from outreach.recording import MAX_NOTE_CHARS, NOTE_HAS_CPR, note_problem

__all__ = ["router"]

router = APIRouter()
Coordinator = Annotated[User, allow("coordinator")]
_YES = {"yes", "on", "1", "true"}


def _list_url(programme: str, week: str) -> str:
    return f"/lists/{quote(programme)}/{quote(week)}"


def _reason_problem(request: Request, reason: str) -> str | None:
    """Return why a reason breaks the note rules, in the interface language."""
    t = translator(language_of(request))
    problem = note_problem(reason)
    if problem is None:
        return None
    key = "note_has_cpr" if problem == NOTE_HAS_CPR else "reason_too_long"
    return t(key, limit=MAX_NOTE_CHARS)


def _refused(request: Request, error: Exception) -> None:
    """Flash why the stage (or the scope) refused, without paths or traces."""
    t = translator(language_of(request))
    key = "generate_stale" if isinstance(error, StaleDataError) else "generate_refused"
    if isinstance(error, ScopeRefusal):
        key = "regenerate_scope"
    detail = without_paths(str(error), web_context(request).settings)
    flash(request, "error", t(key, detail=detail))


def _done(request: Request, result: ListResult) -> None:
    """Flash what happened: generated, regenerated, or the frozen list returned."""
    key = {"generated": "list_generated", "regenerated": "list_regenerated"}.get(
        result.status, "list_frozen"
    )
    n = int(result.counts.get("listed", 0))
    flash(request, "ok", count_text(language_of(request), key, n, week=result.week))


def _run(
    request: Request,
    user: User,
    programme: str,
    week: str,
    *,
    regenerate: bool,
    reason: str,
    allow_stale: bool,
) -> Response:
    """Generate through the stage; show the list, or come back with the refusal."""
    t = translator(language_of(request))
    ctx = web_context(request)
    chosen = coordinated_programme(ctx, user, programme)
    back = _list_url(programme, week) if regenerate else "/lists"
    problem = _reason_problem(request, reason)
    if (regenerate or allow_stale) and not reason.strip():
        problem = t("reason_required")
    if problem is not None:
        flash(request, "error", t("generate_refused", detail=problem))
        return RedirectResponse(back, status_code=303)
    try:
        result = generate_list(
            ctx,
            user,
            chosen,
            week,
            regenerate=regenerate,
            reason=reason,
            allow_stale=allow_stale,
        )
    except (OpsporError, ScopeRefusal) as error:
        _refused(request, error)
        return RedirectResponse(back, status_code=303)
    _done(request, result)
    return RedirectResponse(_list_url(programme, result.week), status_code=303)


@router.post("/lists/{programme}/generate")
def generate_page(
    request: Request,
    user: Coordinator,
    programme: str,
    week: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    allow_stale: Annotated[str, Form()] = "",
) -> Response:
    """Generate a week's list (a frozen list is returned unchanged, as the CLI does)."""
    return _run(
        request,
        user,
        programme,
        week,
        regenerate=False,
        reason=reason,
        allow_stale=allow_stale.strip().lower() in _YES,
    )


@router.post("/lists/{programme}/{week}/regenerate")
def regenerate_page(
    request: Request,
    user: Coordinator,
    programme: str,
    week: str,
    reason: Annotated[str, Form()] = "",
    allow_stale: Annotated[str, Form()] = "",
) -> Response:
    """Replace a frozen list; needs a written reason (audited with who and when)."""
    return _run(
        request,
        user,
        programme,
        week,
        regenerate=True,
        reason=reason,
        allow_stale=allow_stale.strip().lower() in _YES,
    )
