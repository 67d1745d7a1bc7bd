"""Sign-in sessions, CSRF and the one access rule every route declares.

Every route of :mod:`outreach.app.web` takes exactly one :func:`allow` (the roles
that may open it) or :func:`public` dependency; :func:`route_access` reads them
back from the app so a test fails when a route has none. The session is a
cookie signed with itsdangerous (HttpOnly, SameSite=Lax, ``Secure`` over TLS)
holding a session id, a per-session CSRF token and the interface language; the
app's middleware turns the id into a user name through the server-side record
of :mod:`outreach.app.web.sessions` (so signing out, a timeout or a revocation
ends it) and the user is looked up again on every request, so removing a user
ends their session too. Every POST must carry the session's CSRF token in the
``csrf_token`` form field. A user whose password an admin set
(``must_change``) is sent to :data:`PASSWORD_PAGE` from every other page until
they have chosen their own.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.routing import Mount

from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.app.users import ROLES, User

__all__ = [
    "AGGREGATE_ROLES",
    "CSRF_FIELD",
    "PASSWORD_PAGE",
    "PUBLIC_MOUNTS",
    "SESSION_COOKIE",
    "AccessRule",
    "CsrfError",
    "Forbidden",
    "PasswordChangeRequired",
    "SessionCodec",
    "SignInRequired",
    "allow",
    "current_user",
    "load_secret_key",
    "public",
    "route_access",
    "session",
]

log = logging.getLogger(__name__)

SESSION_COOKIE = "opspor_session"
#: The one page a user with a temporary password may open (and sign-out).
PASSWORD_PAGE = "/account/password"
CSRF_FIELD = "csrf_token"
SESSION_HOURS = 12
SECRET_FILE = "web_secret.key"
#: Mounted apps that need no sign-in (checked by the route meta-test).
PUBLIC_MOUNTS = ("static",)
#: Roles that see aggregates only (reports, models, features, audit-log summary).
AGGREGATE_ROLES = ("reviewer", "data_scientist")
SHORT_SECRET = "OPSPOR_SECRET_KEY must be at least 32 characters long."
UNKNOWN_ROLES = "Unknown role(s) {roles}; expected some of {known}."


class SignInRequired(Exception):
    """The visitor is not signed in; the app redirects to the sign-in page."""


class Forbidden(Exception):
    """The signed-in user's role or scope does not allow this page (HTTP 403)."""


class PasswordChangeRequired(Exception):
    """The user signed in with a temporary password; the app sends them to change it."""


class CsrfError(Exception):
    """A POST without the session's CSRF token (HTTP 403)."""


def load_secret_key(output_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """Return the session-signing secret: ``OPSPOR_SECRET_KEY`` or a generated file.

    Parameters
    ----------
    output_dir : Path
        Where ``web_secret.key`` is created (mode 0600) when no variable is set.
    env : Mapping, optional
        Environment (default ``os.environ``).

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        ``OPSPOR_SECRET_KEY`` is set but shorter than 32 characters.
    """
    given = EngineSettings.from_env(env).secret_key
    if given:
        if len(given) < 32:
            raise ConfigError(SHORT_SECRET)
        return given
    path = output_dir / SECRET_FILE
    if not path.exists():
        _create_secret(path)
    return path.read_text(encoding="utf-8").strip()


def _create_secret(path: Path) -> None:
    """Write a new secret (0600) and link it into place; the first process wins.

    Several app processes may start at once: each writes its own temp file and
    ``os.link`` publishes one of them whole, so no process reads a half file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_urlsafe(48) + "\n").encode())
        os.close(fd)
        os.link(tmp, path)
        log.info("generated a new session secret")
    except FileExistsError:
        log.info("another process generated the session secret")
    finally:
        os.unlink(tmp)


@dataclass(frozen=True)
class SessionCodec:
    """Signs and reads the session cookie's payload."""

    secret_key: str
    max_age: int = SESSION_HOURS * 3600
    secure: bool = False

    @property
    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt="opspor-session")

    def dumps(self, data: Mapping[str, Any]) -> str:
        """Return the signed cookie value of a session."""
        return str(self._serializer.dumps(dict(data)))

    def loads(self, value: str | None) -> dict[str, Any]:
        """Return the session in a cookie; empty when missing, forged or expired."""
        if not value:
            return {}
        try:
            data = self._serializer.loads(value, max_age=self.max_age)
        except BadSignature:
            return {}
        return dict(data) if isinstance(data, dict) else {}


def session(request: Request) -> dict[str, Any]:
    """Return the request's session dict (the middleware writes changes back)."""
    data: dict[str, Any] = request.state.session
    return data


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, created on first use."""
    data = session(request)
    if not data.get("csrf"):
        data["csrf"] = secrets.token_urlsafe(32)
        request.state.session_changed = True
    return str(data["csrf"])


def current_user(request: Request) -> User | None:
    """Return the signed-in user, looked up afresh (None if signed out or removed)."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    name = getattr(request.state, "session_user", None)
    user = None
    if name:
        user = request.app.state.opspor.users.get_user(str(name))
    request.state.user = user
    return user


async def _check_csrf(request: Request) -> None:
    """Refuse a POST whose form lacks the session's CSRF token."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = session(request).get("csrf")
    if not isinstance(sent, str) or not expected:
        raise CsrfError
    if not hmac.compare_digest(sent.encode(), str(expected).encode()):
        raise CsrfError


@dataclass(frozen=True)
class AccessRule:
    """Who may open a route: the roles, or everyone when ``public``."""

    roles: tuple[str, ...]
    public: bool = False

    async def __call__(self, request: Request) -> User | None:
        """Check the CSRF token of a POST, then the sign-in and the role."""
        if request.method == "POST":
            await _check_csrf(request)
        user = current_user(request)
        if self.public:
            return user
        if user is None:
            raise SignInRequired
        if user.role not in self.roles:
            raise Forbidden
        if user.must_change and request.url.path != PASSWORD_PAGE:
            raise PasswordChangeRequired
        return user


def allow(*roles: str) -> Any:
    """Declare a route that only these roles may open (its one access dependency).

    Parameters
    ----------
    *roles : str
        Some of ``coordinator``, ``data_scientist``, ``reviewer``, ``admin``.

    Returns
    -------
    fastapi.params.Depends
        Resolves to the signed-in :class:`~outreach.app.users.User`.

    Raises
    ------
    ConfigError
        No role, or an unknown one.
    """
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ConfigError(UNKNOWN_ROLES.format(roles=unknown or "()", known=ROLES))
    return Depends(AccessRule(tuple(roles)))


def public() -> Any:
    """Declare a route anyone may open (sign-in, health); gives the user or None."""
    return Depends(AccessRule((), public=True))


def _rules(dependant: Any) -> list[AccessRule]:
    """Every AccessRule among a route's dependencies, recursively."""
    found = []
    for sub in dependant.dependencies:
        if isinstance(sub.call, AccessRule):
            found.append(sub.call)
        found.extend(_rules(sub))
    return found


def _walk(routes: Any, prefix: str = "", inherited: tuple[AccessRule, ...] = ()) -> Any:
    """Yield (prefix, route, rules of enclosing routers), into included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is None:
            yield prefix, route, inherited
            continue
        context = getattr(route, "include_context", None)
        rules = tuple(
            d.dependency
            for d in getattr(context, "dependencies", ()) or ()
            if isinstance(getattr(d, "dependency", None), AccessRule)
        )
        yield from _walk(
            inner.routes, prefix + getattr(context, "prefix", ""), inherited + rules
        )


def route_access(app: Any) -> dict[str, tuple[str, ...] | str | None]:
    """Return what each route of an app declares: roles, ``"public"`` or None.

    Parameters
    ----------
    app : fastapi.FastAPI
        The app.

    Returns
    -------
    dict
        ``"GET /lists"`` (methods joined by ``,``) or ``"mount /static"`` -> access.
        A route with two declarations maps to ``"ambiguous"``; a route of a kind
        this function does not know maps to None, so a meta-test fails on it.
    """
    found: dict[str, tuple[str, ...] | str | None] = {}
    for prefix, route, inherited in _walk(app.routes):
        if isinstance(route, APIRoute):
            key = f"{','.join(sorted(route.methods or ()))} {prefix}{route.path}"
            rules = [*inherited, *_rules(route.dependant)]
            if len(rules) > 1:
                found[key] = "ambiguous"
            elif rules:
                found[key] = "public" if rules[0].public else rules[0].roles
            else:
                found[key] = None
        elif isinstance(route, Mount):
            found[f"mount {prefix}{route.path}"] = (
                "public" if route.name in PUBLIC_MOUNTS else None
            )
        else:
            found[f"other {prefix}{getattr(route, 'path', route)}"] = None
    return found
