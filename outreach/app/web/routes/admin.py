"""Admin pages: list, add, disable, enable users; reset passwords; change scopes.

A password an admin sets (a new user's, a reset) is temporary: the user must
choose their own at the next sign-in (:mod:`outreach.app.accounts`).

An admin sees accounts only, no person-level page. Every change is written to
the aggregate audit log (who, whom, what; never a password); a disable or a
password reset ends every session of that user.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from features.errors import ConfigError, NotFoundError
from outreach.app.accounts import (
    change_scope,
    reset_password,
    set_disabled,
    temporary_password,
)
from outreach.app.users import (
    BAD_LANGUAGE,
    BAD_MUNICIPALITY,
    BAD_NAME,
    BAD_ROLE,
    LANGUAGES,
    MIN_PASSWORD,
    NO_USER,
    ROLES,
    SCOPE_NEEDED,
    SCOPE_REFUSED,
    SHORT_PASSWORD,
    UNKNOWN_PROGRAMME,
    USER_EXISTS,
    User,
    add_user,
)
from outreach.app.web.auth import allow
from outreach.app.web.context import WebContext, flash, language_of, render, web_context
from outreach.app.web.i18n import translator
from outreach.list_audit import append_event

__all__ = ["audit_account", "router"]

router = APIRouter()
Admin = Annotated[User, allow("admin")]
_NO_STORE = {"Cache-Control": "no-store"}
_USERS = "/admin/users"
#: The start of each refusal of :mod:`outreach.app.users` -> interface text key.
_REASONS = {
    template.split("{")[0]: key
    for template, key in (
        (BAD_NAME, "refused_name"),
        (BAD_ROLE, "refused_role"),
        (BAD_LANGUAGE, "refused_language"),
        (SCOPE_NEEDED, "refused_scope_needed"),
        (SCOPE_REFUSED, "refused_scope_refused"),
        (BAD_MUNICIPALITY, "refused_municipality"),
        (UNKNOWN_PROGRAMME, "refused_programme"),
        (SHORT_PASSWORD, "password_short"),
        (USER_EXISTS, "refused_exists"),
    )
}


def audit_account(
    ctx: WebContext, event: str, actor: User, name: str, **what: object
) -> None:
    """Append an account event to the audit log: who did it, to whom, what changed."""
    with ctx.operational() as store:
        append_event(
            None, event, actor=actor.name, counts={"user": name, **what}, store=store
        )


def _reason(request: Request, error: ConfigError) -> str:
    """Say why a change was refused, in the interface language."""
    t = translator(language_of(request))
    text = str(error)
    prefixes = sorted(_REASONS, key=len, reverse=True)
    key = next((_REASONS[p] for p in prefixes if text.startswith(p)), None)
    return t("admin_refused", reason=t(key, n=MIN_PASSWORD) if key else text)


def _codes(text: str) -> list[str]:
    """Municipality codes typed as ``390, 376`` (commas or spaces)."""
    return [c for c in text.replace(",", " ").split() if c]


def _user_url(name: str) -> str:
    return f"{_USERS}/{quote(name)}"


@router.get("/admin/users")
def users_page(request: Request, user: Admin) -> Response:
    """Every user with role, scope and state, and the form to add one."""
    ctx = web_context(request)
    return render(
        request,
        "admin_users.html.j2",
        users=ctx.users.all_users(),
        roles=ROLES,
        languages=LANGUAGES,
        programmes=sorted(ctx.programmes),
        min_length=MIN_PASSWORD,
    )


@router.post("/admin/users")
def add_user_page(
    request: Request,
    user: Admin,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    programmes: Annotated[list[str] | None, Form()] = None,
    municipalities: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "da",
) -> Response:
    """Add a user with the typed or a temporary password (shown once)."""
    ctx = web_context(request)
    given = password or temporary_password()
    scope = {"programmes": programmes or [], "municipalities": _codes(municipalities)}
    try:
        add_user(
            ctx.users,
            name.strip().lower(),
            role=role,
            password=given,
            language=language,
            must_change=True,
            **scope,
        )
    except ConfigError as error:
        flash(request, "error", _reason(request, error))
        return RedirectResponse(_USERS, status_code=303)
    audit_account(ctx, "user_added", user, name.strip().lower(), role=role, **scope)
    return _password_shown(request, name.strip().lower(), None if password else given)


def _password_shown(request: Request, name: str, temporary: str | None) -> Response:
    """Show a user; a temporary password appears this once (never stored)."""
    ctx = web_context(request)
    target = ctx.users.get_user(name)
    if target is None:
        raise NotFoundError(NO_USER.format(name=name))
    return render(
        request,
        "admin_user.html.j2",
        headers=_NO_STORE,
        target=target,
        temporary=temporary,
        programmes=sorted(ctx.programmes),
        min_length=MIN_PASSWORD,
    )


@router.get("/admin/users/{name}")
def user_page(request: Request, user: Admin, name: str) -> Response:
    """One user: scope, state, and the forms to change them."""
    return _password_shown(request, name, None)


@router.post("/admin/users/{name}/password")
def reset_page(
    request: Request, user: Admin, name: str, password: Annotated[str, Form()] = ""
) -> Response:
    """Reset the password (typed, or temporary and shown once); end their sessions."""
    ctx = web_context(request)
    t = translator(language_of(request))
    try:
        _, given = reset_password(ctx.users, name, password or None)
    except ConfigError as error:
        flash(request, "error", _reason(request, error))
        return RedirectResponse(_user_url(name), status_code=303)
    ended = ctx.sessions.end_all(name)
    audit_account(ctx, "password_reset", user, name, sessions_ended=ended)
    flash(request, "ok", t("password_reset_done", name=name))
    return _password_shown(request, name, None if password else given)


@router.post("/admin/users/{name}/disable")
def disable_page(request: Request, user: Admin, name: str) -> Response:
    """Disable a user (not oneself) and end their sessions."""
    t = translator(language_of(request))
    if name == user.name:
        flash(request, "error", t("admin_refused", reason=t("disable_self")))
        return RedirectResponse(_user_url(name), status_code=303)
    ctx = web_context(request)
    set_disabled(ctx.users, name, True)
    ended = ctx.sessions.end_all(name)
    audit_account(ctx, "user_disabled", user, name, sessions_ended=ended)
    flash(request, "ok", t("user_disabled_done", name=name))
    return RedirectResponse(_user_url(name), status_code=303)


@router.post("/admin/users/{name}/enable")
def enable_page(request: Request, user: Admin, name: str) -> Response:
    """Let a disabled user sign in again with their password."""
    ctx = web_context(request)
    set_disabled(ctx.users, name, False)
    audit_account(ctx, "user_enabled", user, name)
    flash(
        request, "ok", translator(language_of(request))("user_enabled_done", name=name)
    )
    return RedirectResponse(_user_url(name), status_code=303)


@router.post("/admin/users/{name}/scope")
def scope_page(
    request: Request,
    user: Admin,
    name: str,
    programmes: Annotated[list[str] | None, Form()] = None,
    municipalities: Annotated[str, Form()] = "",
) -> Response:
    """Change a coordinator's programmes and municipalities."""
    ctx = web_context(request)
    t = translator(language_of(request))
    scope = {"programmes": programmes or [], "municipalities": _codes(municipalities)}
    try:
        change_scope(ctx.users, name, **scope)
    except ConfigError as error:
        flash(request, "error", _reason(request, error))
        return RedirectResponse(_user_url(name), status_code=303)
    audit_account(ctx, "scope_changed", user, name, **scope)
    flash(request, "ok", t("scope_changed_done", name=name))
    return RedirectResponse(_user_url(name), status_code=303)
