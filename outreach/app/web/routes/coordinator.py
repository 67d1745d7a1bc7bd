"""Coordinator pages: the week's list, reasons, stop sheets, Excel, recording."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.app.users import User
from outreach.app.web import scoped
from outreach.app.web.access import PersonAccess
from outreach.app.web.auth import allow
from outreach.app.web.context import flash, language_of, render, web_context
from outreach.app.web.i18n import translator
from outreach.app.web.week import can_regenerate, find_rows, overview_extract
from outreach.recording import MAX_NOTE_CHARS, NOTE_HAS_CPR, OUTCOMES, note_problem

__all__ = ["router"]

router = APIRouter()
Coordinator = Annotated[User, allow("coordinator")]
_NO_STORE = {"Cache-Control": "no-store"}
_SHEET_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def _list_url(programme: str, week: str) -> str:
    return f"/lists/{quote(programme)}/{quote(week)}"


@router.get("/lists")
def lists_page(request: Request, user: Coordinator) -> Response:
    """Show the programmes in the user's scope and their weekly lists."""
    ctx = web_context(request)
    overview = scoped.coordinator_overview(ctx, user)
    extract = overview_extract(ctx, overview)
    return render(
        request,
        "lists.html.j2",
        overview=overview,
        note_max=MAX_NOTE_CHARS,
        **extract,
    )


@router.get("/lists/{programme}/{week}")
def list_page(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    programme: str,
    week: str,
    stop: str = "",
    q: str = "",
) -> Response:
    """One week's list in the user's municipalities (audited as viewed).

    ``?stop=`` keeps one stop and ``?q=`` finds one pseudonym, both among the
    user's rows only (:func:`outreach.app.web.week.find_rows`).
    """
    view = scoped.open_list(web_context(request), user, programme, week)
    finding = find_rows(view.table, stop, q)
    scoped.log_shown(access, view, finding.rows)
    return render(
        request,
        "list.html.j2",
        view=view,
        prog=view.programme,
        list_url=_list_url(programme, week),
        finding=finding,
        may_regenerate=can_regenerate(user, view.programme),
        note_max=MAX_NOTE_CHARS,
    )


@router.get("/lists/{programme}/{week}/citizens/{citizen_id}")
def citizen_page(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    programme: str,
    week: str,
    citizen_id: str,
) -> Response:
    """Why a citizen is on the list, what was recorded, and the form to record more."""
    ctx = web_context(request)
    view, row, contacts = scoped.open_citizen(
        ctx, user, programme, week, citizen_id, access
    )
    return render(
        request,
        "citizen.html.j2",
        view=view,
        prog=view.programme,
        row=row,
        contacts=contacts,
        outcomes=OUTCOMES,
        note_max=MAX_NOTE_CHARS,
        today=ctx.today().isoformat(),
        list_url=_list_url(programme, week),
    )


@router.post("/lists/{programme}/{week}/citizens/{citizen_id}")
def record_page(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    programme: str,
    week: str,
    citizen_id: str,
    outcome: Annotated[str, Form()] = "",
    outcome_date: Annotated[str, Form()] = "",
    opt_out: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Record one outcome (validated like ``opspor record``); show the citizen again."""
    ctx = web_context(request)
    t = translator(language_of(request))
    target = f"{_list_url(programme, week)}/citizens/{quote(citizen_id)}"
    problem = note_problem(note)
    if problem is not None:
        key = "note_has_cpr" if problem == NOTE_HAS_CPR else "note_too_long"
        flash(request, "error", t("refused", reason=t(key, limit=MAX_NOTE_CHARS)))
        return RedirectResponse(target, status_code=303)
    values = {
        "outcome": outcome,
        "outcome_date": outcome_date,
        "opt_out": opt_out,
        "note": note,
    }
    result = scoped.record_outcome(
        ctx, user, programme, week, citizen_id, values, access
    )
    if result.refused:
        flash(request, "error", t("refused", reason=result.refused[0]["reason"]))
    elif result.n_duplicates:
        flash(request, "info", t("already_known"))
    else:
        flash(
            request, "ok", t("saved", outcome=t(f"outcome_{outcome.strip().lower()}"))
        )
    return RedirectResponse(target, status_code=303)


@router.get("/lists/{programme}/{week}/stops")
def stops_page(
    request: Request, user: Coordinator, access: PersonAccess, programme: str, week: str
) -> Response:
    """Printable stop sheets of the user's part of the list (audited as viewed)."""
    html = scoped.stop_sheets(web_context(request), user, programme, week, access)
    return HTMLResponse(
        html, headers={**_NO_STORE, "Content-Security-Policy": _SHEET_CSP}
    )


@router.get("/lists/{programme}/{week}/download.xlsx")
def download_page(
    request: Request, user: Coordinator, access: PersonAccess, programme: str, week: str
) -> Response:
    """Send the Excel file of the user's part of the list (audited as exported)."""
    name, content = scoped.download_xlsx(
        web_context(request), user, programme, week, access
    )
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={**_NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )
