"""Coordinator pages that change what was recorded: sheets, corrections, opt-outs.

Upload the filled-in record sheet, see every row checked, commit it all or
nothing; correct or retract one outcome with a reason; view the opt-out
register of the user's municipalities, add to it and withdraw from it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from features.errors import ConfigError
from outreach.app.users import User
from outreach.app.web import records
from outreach.app.web.access import Access, PersonAccess
from outreach.app.web.auth import allow
from outreach.app.web.context import flash, language_of, render, web_context
from outreach.app.web.i18n import translator
from outreach.app.web.uploads import MAX_UPLOAD_BYTES
from outreach.corrections import CHANGE_REFUSALS
from outreach.opt_outs import ALREADY_OPTED_OUT, NOT_OPTED_OUT
from outreach.recording import MAX_NOTE_CHARS, OUTCOMES, explain_refusal

__all__ = ["router"]

router = APIRouter()
Coordinator = Annotated[User, allow("coordinator")]
Text = Annotated[str, Form()]
_CODES = {
    **{reason: code for code, reason in CHANGE_REFUSALS.items()},
    ALREADY_OPTED_OUT: "already_opted_out",
    NOT_OPTED_OUT: "not_opted_out",
}


def _list_url(programme: str, week: str) -> str:
    return f"/lists/{quote(programme)}/{quote(week)}"


def _refusal(t: Any, reason: str) -> str:
    """Translate a refusal from :mod:`outreach.recording` and its callers."""
    if reason in _CODES:
        return str(t(f"refusal_{_CODES[reason]}"))
    code, _, fields = explain_refusal(reason)
    if code == "other":
        return reason
    return str(t(f"refusal_{code}", **{"limit": MAX_NOTE_CHARS, **fields}))


@router.get("/lists/{programme}/{week}/upload")
def upload_page(
    request: Request, user: Coordinator, programme: str, week: str
) -> Response:
    """Show the form to upload the filled-in record sheet of a list."""
    with web_context(request).operational() as store:
        records.scoped_run(web_context(request), store, user, programme, week)
    return render(
        request,
        "record_upload.html.j2",
        programme=programme,
        week=week,
        list_url=_list_url(programme, week),
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
    )


#: Room for the form's other fields and the multipart framing around the file.
_BODY_SLACK = 64 * 1024


def _small_body(request: Request) -> None:
    """Answer 413 before the form is read when the declared body is far too large."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + _BODY_SLACK:
        raise HTTPException(status_code=413)


@router.post("/lists/{programme}/{week}/upload")
async def upload_post(
    request: Request,
    _: Annotated[None, Depends(_small_body)],
    user: Coordinator,
    programme: str,
    week: str,
    sheet: Annotated[UploadFile, File()],
) -> Response:
    """Keep the uploaded sheet and show its preview (nothing is recorded yet)."""
    content = await sheet.read(MAX_UPLOAD_BYTES + 1)
    target = f"{_list_url(programme, week)}/upload"
    try:
        upload = records.upload_sheet(
            web_context(request), user, programme, week, (sheet.filename or "", content)
        )
    except ConfigError as error:
        t = translator(language_of(request))
        flash(request, "error", t("upload_refused", reason=_upload_error(t, error)))
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"{target}/{upload.token}", status_code=303)


def _upload_error(t: Any, error: ConfigError) -> str:
    """Say in the user's language why a file was refused."""
    text = str(error)
    if text.startswith("The file is larger"):
        return str(t("upload_too_large", limit=MAX_UPLOAD_BYTES // (1024 * 1024)))
    return str(t("upload_not_a_sheet"))


@router.get("/lists/{programme}/{week}/upload/{token}")
def preview_page(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    programme: str,
    week: str,
    token: str,
) -> Response:
    """Every filled-in row of an upload, checked: what would be recorded, what not."""
    t = translator(language_of(request))
    try:
        preview = records.preview_upload(
            web_context(request), user, programme, week, token
        )
    except ConfigError:
        flash(request, "error", t("upload_refused", reason=t("upload_no_header")))
        return RedirectResponse(f"{_list_url(programme, week)}/upload", status_code=303)
    access.log(
        "viewed_upload",
        [r["citizen_id"] for r in preview.rows if r["citizen_id"]],
        programme=programme,
        week=week,
        list_id=preview.upload.list_id,
    )
    for row in preview.rows:
        if row["status"] == "refused":
            row["message"] = _refusal(t, row["reason"])
    return render(
        request,
        "record_preview.html.j2",
        preview=preview,
        programme=programme,
        week=week,
        list_url=_list_url(programme, week),
        outcomes=OUTCOMES,
    )


@router.post("/lists/{programme}/{week}/upload/{token}")
def commit_page(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    programme: str,
    week: str,
    token: str,
) -> Response:
    """Record the previewed upload, all rows or none; a second commit writes nothing."""
    t = translator(language_of(request))
    ctx = web_context(request)
    try:
        citizens = records.upload_citizens(ctx, user, programme, week, token)
        done = records.commit_upload(ctx, user, programme, week, token)
    except ConfigError as error:
        changed = str(error) == records.LIST_CHANGED
        text = t("upload_list_changed") if changed else t("upload_no_header")
        flash(request, "error", text)
        return RedirectResponse(f"{_list_url(programme, week)}/upload", status_code=303)
    if done.result is None:
        flash(request, "info", t("upload_committed_before"))
    elif done.result.refused:
        flash(
            request, "error", t("upload_nothing_recorded", n=len(done.result.refused))
        )
        target = f"{_list_url(programme, week)}/upload/{token}"
        return RedirectResponse(target, status_code=303)
    else:
        result = done.result
        access.log(
            "changed",
            citizens,
            programme=programme,
            week=week,
            list_id=result.list_id,
        )
        text = t("upload_recorded", n=result.n_recorded, known=result.n_duplicates)
        flash(request, "ok", text)
    return RedirectResponse(_list_url(programme, week), status_code=303)


_CONTACT = "/lists/{programme}/{week}/citizens/{citizen_id}/contacts/{contact_id}"


@router.post(_CONTACT + "/correct")
def correct_page(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    programme: str,
    week: str,
    citizen_id: str,
    contact_id: str,
    outcome: Text = "",
    outcome_date: Text = "",
    note: Text = "",
    reason: Text = "",
) -> Response:
    """Replace a recorded outcome by a corrected one, with a reason (history kept)."""
    values = {
        "outcome": outcome,
        "outcome_date": outcome_date,
        "note": note,
        "reason": reason,
    }
    where = (programme, week, citizen_id, contact_id)
    return _changed(request, (user, access), where, "correct", values)


@router.post(_CONTACT + "/retract")
def retract_page(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    programme: str,
    week: str,
    citizen_id: str,
    contact_id: str,
    reason: Text = "",
) -> Response:
    """Undo a recorded outcome, with a reason (it stays in the history)."""
    where = (programme, week, citizen_id, contact_id)
    return _changed(request, (user, access), where, "retract", {"reason": reason})


def _changed(
    request: Request,
    who: tuple[User, Access],
    where: tuple[str, str, str, str],
    action: str,
    values: dict[str, str],
) -> Response:
    """Apply a change (access-logged), say what happened, show the citizen again."""
    t = translator(language_of(request))
    user, access = who
    result = records.change_outcome(web_context(request), user, where, action, values)
    programme, week, citizen_id, _ = where
    if result.refusal is not None:
        flash(request, "error", t("change_refused", reason=_refusal(t, result.refusal)))
    else:
        access.log("changed", [citizen_id], programme=programme, week=week)
        flash(request, "ok", t(f"change_{result.action}"))
    target = f"{_list_url(programme, week)}/citizens/{quote(citizen_id)}"
    return RedirectResponse(target, status_code=303)


@router.get("/opt-outs")
def opt_outs_page(
    request: Request, user: Coordinator, access: PersonAccess
) -> Response:
    """Show the opt-out register in the user's municipalities, and its withdrawals."""
    register = records.opt_out_register(web_context(request), user)
    shown = [*register.current, *register.withdrawn]
    access.log("viewed_opt_outs", [str(r["citizen_id"]) for r in shown])
    return render(
        request, "opt_outs.html.j2", register=register, note_max=MAX_NOTE_CHARS
    )


@router.post("/opt-outs")
def opt_out_add(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    citizen_id: Text = "",
    reason: Text = "",
) -> Response:
    """Add a citizen of the user's municipalities to the register, with a reason."""
    ctx = web_context(request)
    result = records.add_to_register(ctx, user, citizen_id.strip(), reason)
    return _register_changed(
        request, (access, citizen_id.strip()), result.refusal, "opt_out_added"
    )


@router.post("/opt-outs/{citizen_id}/withdraw")
def opt_out_withdraw(
    request: Request,
    user: Coordinator,
    access: PersonAccess,
    citizen_id: str,
    reason: Text = "",
) -> Response:
    """Withdraw a citizen's opt-out, with a reason (the row is kept as withdrawn)."""
    ctx = web_context(request)
    result = records.withdraw_from_register(ctx, user, citizen_id, reason)
    return _register_changed(
        request, (access, citizen_id), result.refusal, "opt_out_withdrawn"
    )


def _register_changed(
    request: Request, whom: tuple[Access, str], refusal: str | None, done: str
) -> Response:
    """Say what happened to the register (access-logged); show it again."""
    t = translator(language_of(request))
    if refusal is not None:
        flash(request, "error", t("change_refused", reason=_refusal(t, refusal)))
    else:
        access, citizen_id = whom
        access.log("changed", [citizen_id])
        flash(request, "ok", t(f"change_{done}"))
    return RedirectResponse("/opt-outs", status_code=303)
