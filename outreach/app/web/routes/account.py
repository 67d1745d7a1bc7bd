"""The signed-in user's own account: changing the password.

A user with a temporary password (``must_change``) lands here from every page
and goes on to their landing page once they have chosen their own.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from features.errors import ConfigError
from outreach.app.accounts import (
    PASSWORDS_DIFFER,
    SAME_PASSWORD,
    WRONG_PASSWORD,
    change_own_password,
)
from outreach.app.users import MIN_PASSWORD, ROLES, User
from outreach.app.web.auth import allow, session
from outreach.app.web.context import flash, language_of, render, web_context
from outreach.app.web.i18n import translator
from outreach.app.web.routes.admin import audit_account
from outreach.app.web.routes.public import LANDING

__all__ = ["router"]

router = APIRouter()
Anyone = Annotated[User, allow(*ROLES)]
#: English refusals of :mod:`outreach.app.accounts` -> interface text keys.
_REFUSALS = {
    PASSWORDS_DIFFER: "password_differs",
    WRONG_PASSWORD: "password_wrong",
    SAME_PASSWORD: "password_same",
}


@router.get("/account/password")
def password_page(request: Request, user: Anyone) -> Response:
    """Show the form to change one's own password."""
    return render(request, "password.html.j2", min_length=MIN_PASSWORD)


@router.post("/account/password")
def change_password(
    request: Request,
    user: Anyone,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    repeated: Annotated[str, Form()] = "",
) -> Response:
    """Change the password; end every other session and start a fresh one."""
    ctx = web_context(request)
    t = translator(language_of(request))
    try:
        change_own_password(ctx.users, user.name, current, new, repeated)
    except ConfigError as error:
        key = _REFUSALS.get(str(error), "password_short")
        flash(request, "error", t(key, n=MIN_PASSWORD))
        return RedirectResponse("/account/password", status_code=303)
    ctx.sessions.end_all(user.name)
    data = session(request)
    data.update(
        {
            "sid": ctx.sessions.start(user.name, ctx.clock()),
            "csrf": secrets.token_urlsafe(32),
        }
    )
    audit_account(ctx, "password_changed", user, user.name, temporary=user.must_change)
    flash(request, "ok", t("password_changed"))
    after = LANDING[user.role] if user.must_change else "/account/password"
    return RedirectResponse(after, status_code=303)
