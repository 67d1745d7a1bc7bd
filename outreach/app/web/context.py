"""What every request of the web app shares: settings, users, the stores, rendering.

:func:`outreach.app.web.app.create_app` builds one :class:`WebContext` and keeps it
on ``app.state.opspor``; routes reach it through :func:`web_context` and render
their jinja2 templates (``outreach/app/web/templates/*.html.j2``) with
:func:`render`, which adds the interface language, the signed-in user, the
CSRF token and a one-time flash message to every page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from features.db import connect
from features.errors import NotFoundError
from features.settings import EngineSettings
from outreach.app.store import OperationalStore, duckdb_store, postgres_store
from outreach.app.users import UserStore
from outreach.app.web.auth import (
    CSRF_FIELD,
    SessionCodec,
    csrf_token,
    current_user,
    session,
)
from outreach.app.web.codes import register
from outreach.app.web.i18n import DEFAULT_LANGUAGE, TEXT, translator
from outreach.app.web.sessions import SessionStore
from outreach.app.web.throttle import SignInThrottle
from outreach.programmes import Programme

__all__ = [
    "NO_WAREHOUSE",
    "Warehouse",
    "WebContext",
    "flash",
    "language_of",
    "render",
    "web_context",
]

NO_WAREHOUSE = "No warehouse at {path}. Run `make demo` or `opspor load` first."
#: Pages that show people: never cached, never framed.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
)


class Warehouse:
    """The DuckDB warehouse of one app process, used by one request at a time.

    The app opens the file per request and closes it again, so it never holds
    DuckDB's file lock between requests: ``opspor weekly`` and ``opspor load``
    can run while the app serves (a request that meets their lock waits
    ``OPSPOR_LOCK_WAIT`` seconds, then answers 503). With the embedded store the
    connection is read-write (it holds the operational tables); with
    PostgreSQL it is read-only (aggregates only).

    Parameters
    ----------
    path : Path
        The warehouse file; it must exist (the app never creates one).
    read_only : bool
        Open without write access.
    keep_open : bool
        Keep the connection between requests.
    """

    def __init__(
        self, path: Path, *, read_only: bool = False, keep_open: bool = True
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.keep_open = keep_open
        self._con: duckdb.DuckDBPyConnection | None = None
        self._store: OperationalStore | None = None
        self._lock = threading.RLock()

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield the connection while holding the process-wide lock.

        Raises
        ------
        NotFoundError
            The warehouse file does not exist yet.
        """
        with self._lock:
            if self._con is None:
                if not self.path.exists():
                    raise NotFoundError(NO_WAREHOUSE.format(path=self.path))
                self._con = connect(self.path, read_only=self.read_only)
            try:
                yield self._con
            finally:
                if not self.keep_open:
                    self.close()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Hold the lock with the app's connection closed, for a stage's own.

        A stage such as ``run_list`` opens the warehouse itself (read-write, as
        the CLI does); no request of this process uses it meanwhile.
        """
        with self._lock:
            self.close()
            yield

    def store(self, con: duckdb.DuckDBPyConnection) -> OperationalStore:
        """Return the store over the open connection (its tables checked once)."""
        if self._store is None or not self._store.lives_in(con):
            self._store = duckdb_store(con)
        return self._store

    def close(self) -> None:
        """Close the connection (the next request reopens it)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                self._store = None


@dataclass
class WebContext:
    """Everything the routes share, kept on ``app.state.opspor``."""

    settings: EngineSettings
    users: UserStore
    codec: SessionCodec
    programmes: Mapping[str, Programme]
    warehouse: Warehouse
    clock: Callable[[], datetime]
    sessions: SessionStore
    throttle: SignInThrottle
    operational_url: str | None = None
    templates: jinja2.Environment = field(
        default_factory=lambda: register(
            jinja2.Environment(
                loader=jinja2.PackageLoader("outreach.app.web", "templates"),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
        )
    )

    def today(self) -> date:
        """Return the date outcomes may not be after."""
        return self.clock().date()

    @contextmanager
    def operational(self) -> Iterator[OperationalStore]:
        """Yield the operational store for one request (PostgreSQL or the warehouse)."""
        if self.operational_url:
            yield postgres_store(self.operational_url)
            return
        with self.warehouse.connection() as con:
            yield self.warehouse.store(con)


def web_context(request: Request) -> WebContext:
    """Return the app's shared context."""
    ctx: WebContext = request.app.state.opspor
    return ctx


def language_of(request: Request) -> str:
    """``?lang=`` (kept in the session), else the user's setting, else Danish."""
    chosen = session(request).get("lang")
    if chosen in TEXT:
        return str(chosen)
    user = current_user(request)
    return user.language if user is not None else DEFAULT_LANGUAGE


def flash(request: Request, kind: str, text: str) -> None:
    """Keep a message for the next page the user sees."""
    session(request)["flash"] = {"kind": kind, "text": text}
    request.state.session_changed = True


def _take_flash(request: Request) -> dict[str, str] | None:
    """Pop the pending flash message from the session."""
    message = session(request).pop("flash", None)
    if message is not None:
        request.state.session_changed = True
    return message if isinstance(message, dict) else None


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """Render a template into a page with the shared values every page needs.

    Parameters
    ----------
    request : Request
        The request (session, user, language).
    template : str
        File name under ``outreach/app/web/templates``.
    status_code : int
        HTTP status.
    headers : Mapping, optional
        Extra response headers.
    **values
        Template values.

    Returns
    -------
    HTMLResponse
    """
    lang = language_of(request)
    page = (
        web_context(request)
        .templates.get_template(template)
        .render(
            t=translator(lang),
            lang=lang,
            other_lang="en" if lang == "da" else "da",
            user=current_user(request),
            csrf_field=CSRF_FIELD,
            csrf=csrf_token(request),
            flash=_take_flash(request),
            path=request.url.path,
            **values,
        )
    )
    response = HTMLResponse(page, status_code=status_code, headers=dict(headers or {}))
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
