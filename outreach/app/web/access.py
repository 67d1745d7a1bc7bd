"""Person-level routes write the per-citizen access log; forgetting fails closed.

A route that shows, sends or changes a citizen's data declares it with one
dependency, :func:`person_level`, which gives the route an :class:`Access`
bound to the signed-in user::

    @router.get("/lists/{programme}/{week}/thing")
    def thing(request: Request, user: Coordinator, access: PersonAccess, ...):
        ...
        access.log("viewed_list", ids, programme=..., week=..., list_id=...)

:func:`require_access_entry` (middleware) then checks every successful (2xx)
response of such a route: if the route wrote no access entry, the response is
replaced by a 500, so the person-level data never leaves unlogged.
:func:`person_level_routes` names the routes that declare it, so a test can
walk each one and see its entry written, and another can insist that every
coordinator-only route is person-level unless it is listed as aggregate.
The entries go to :mod:`outreach.app.access_log` (a file of its own, apart
from the aggregate audit log).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.routing import APIRoute

from outreach.app.access_log import AccessEntry, AccessLog, access_log
from outreach.app.web.auth import SignInRequired, current_user
from outreach.app.web.auth import _walk as walk_routes

__all__ = [
    "Access",
    "PersonAccess",
    "PersonLevel",
    "UNLOGGED",
    "person_level",
    "person_level_routes",
    "require_access_entry",
    "web_access_log",
]

log = logging.getLogger(__name__)

UNLOGGED = "A person-level page wrote no access-log entry; nothing was sent."


def web_access_log(request: Request) -> AccessLog:
    """Return the app's access log (opened once per app)."""
    state = request.app.state
    if getattr(state, "access_log", None) is None:
        state.access_log = access_log(state.opspor.settings)
    found: AccessLog = state.access_log
    return found


class Access:
    """The signed-in user's access to person-level data in one request."""

    def __init__(self, request: Request, actor: str) -> None:
        self._request = request
        self.actor = actor

    def log(
        self,
        action: str,
        pseudonyms: Iterable[str],
        *,
        programme: str | None = None,
        week: str | None = None,
        list_id: str | None = None,
    ) -> int:
        """Append one entry per pseudonym; mark the request as logged.

        Parameters
        ----------
        action : str
            One of :data:`outreach.app.access_log.ACCESS_ACTIONS`.
        pseudonyms : iterable of str
            Every citizen shown, sent or changed.
        programme, week, list_id : str, optional
            The list they were on.

        Returns
        -------
        int
            Entries written.
        """
        entry = AccessEntry(
            actor=self.actor,
            action=action,
            programme=programme,
            week=week,
            list_id=list_id,
            via="web",
        )
        ctx = self._request.app.state.opspor
        written = web_access_log(self._request).record(entry, pseudonyms, ctx.clock())
        self._request.state.access_logged = True
        return written


class PersonLevel:
    """The dependency :func:`person_level` declares (found by the meta-test)."""

    def __call__(self, request: Request) -> Access:
        """Mark the request person-level and give the route its recorder."""
        user = current_user(request)
        if user is None:
            raise SignInRequired
        request.state.person_level = True
        request.state.access_logged = False
        return Access(request, user.name)


def person_level() -> Any:
    """Declare a person-level route; resolves to its :class:`Access`."""
    return Depends(PersonLevel())


PersonAccess = Annotated[Access, person_level()]


def person_level_routes(app: Any) -> set[str]:
    """Return ``"GET /path"`` of every route that declares :func:`person_level`."""
    found = set()
    for prefix, route, _ in walk_routes(app.routes):
        if isinstance(route, APIRoute) and _declares(route.dependant):
            found.add(f"{','.join(sorted(route.methods or ()))} {prefix}{route.path}")
    return found


def _declares(dependant: Any) -> bool:
    """Tell whether a dependant (or one of its own) is a :class:`PersonLevel`."""
    return any(
        isinstance(sub.call, PersonLevel) or _declares(sub)
        for sub in dependant.dependencies
    )


async def require_access_entry(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Fail closed: a person-level 2xx response without an access entry is a 500."""
    response = await call_next(request)
    if (
        getattr(request.state, "person_level", False)
        and not getattr(request.state, "access_logged", False)
        and 200 <= response.status_code < 300
    ):
        log.error("unlogged person-level response to %s", request.url.path)
        return PlainTextResponse(UNLOGGED, status_code=500)
    return response
