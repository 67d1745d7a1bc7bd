"""Sign-in, sign-out, the health check and the landing page of each role."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from outreach.app.users import ROLES, User, authenticate
from outreach.app.web.auth import PASSWORD_PAGE, allow, public, session
from outreach.app.web.context import render, web_context
from outreach.app.web.throttle import WINDOW_MINUTES

__all__ = ["LANDING", "router"]

router = APIRouter()

#: Where each role lands after signing in.
LANDING = {
    "coordinator": "/lists",
    "data_scientist": "/models",
    "reviewer": "/reports",
    "admin": "/admin/users",
}


def _safe_next(target: str | None) -> str | None:
    """Return a local path to go to after sign-in, or None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or target.startswith("/signin"):
        return None
    return target


@router.get("/healthz")
def healthz(user: Annotated[User | None, public()]) -> JSONResponse:
    """Liveness check for a load balancer."""
    return JSONResponse({"status": "ok"})


@router.get("/signin")
def signin_page(
    request: Request, user: Annotated[User | None, public()], next: str | None = None
) -> Response:
    """Show the sign-in form (signed-in users go straight to their landing page)."""
    if user is not None:
        return RedirectResponse(_safe_next(next) or LANDING[user.role], status_code=303)
    return render(request, "signin.html.j2", next=_safe_next(next) or "", error=None)


@router.post("/signin")
def signin(
    request: Request,
    user: Annotated[User | None, public()],
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password; start a fresh session (new CSRF token) on success.

    A wrong password, an unknown name and a locked account get the same page;
    an address with too many recent failures is refused before any check.
    """
    ctx = web_context(request)
    now = ctx.clock()
    address = request.client.host if request.client else "unknown"
    if ctx.throttle.blocked_until(address, now) is not None:
        return _signin_refused(request, next, 429, "throttled")
    answer = authenticate(ctx.users, username, password, now=now)
    if answer.status != "ok" or answer.user is None:
        ctx.throttle.record_failure(address, now)
        return _signin_refused(request, next, 401, "bad_credentials")
    data = session(request)
    lang = data.get("lang")
    _end_session(request)
    data.clear()
    sid = ctx.sessions.start(answer.user.name, now)
    data.update({"sid": sid, "csrf": secrets.token_urlsafe(32)})
    if lang:
        data["lang"] = lang
    request.state.session_changed = True
    request.state.user = answer.user
    target = _safe_next(next) or LANDING[answer.user.role]
    if answer.user.must_change:
        target = PASSWORD_PAGE
    return RedirectResponse(target, status_code=303)


def _end_session(request: Request) -> None:
    """Delete the server-side record of the request's session, if any."""
    sid = session(request).get("sid")
    if isinstance(sid, str):
        web_context(request).sessions.end(sid)


def _signin_refused(request: Request, next: str, status: int, key: str) -> Response:
    """Show the sign-in form again with a message that never names the user."""
    headers = {"Retry-After": str(WINDOW_MINUTES * 60)} if status == 429 else None
    return render(
        request,
        "signin.html.j2",
        status_code=status,
        headers=headers,
        next=_safe_next(next) or "",
        error={"key": key},
    )


@router.post("/signout")
def signout(request: Request, user: Annotated[User | None, public()]) -> Response:
    """End the session: its server-side record goes, so an old cookie is no use."""
    data = session(request)
    lang = data.get("lang")
    _end_session(request)
    data.clear()
    if lang:
        data["lang"] = lang
    request.state.session_changed = True
    return RedirectResponse("/signin", status_code=303)


@router.get("/")
def home(user: Annotated[User, allow(*ROLES)]) -> Response:
    """Send each role to its landing page."""
    return RedirectResponse(LANDING[user.role], status_code=303)
