"""The web app behind ``opspor serve``: FastAPI, server-rendered pages, no build step.

:func:`create_app` wires the users (:mod:`outreach.app.users`), the signed
session cookie and CSRF check (:mod:`outreach.app.web.auth`), the warehouse and
the routes: coordinators see this week's list for their municipalities, each
citizen's reasons, printable stop sheets and the Excel file, and record
outcomes through :func:`outreach.recording.record_contacts`; data scientists
and reviewers see aggregates only (models, features, fairness reports, model
cards, governance packs, monitoring reports, the audit-log summary); admins
manage the users (:mod:`outreach.app.web.routes.admin`) and everyone changes
their own password. Every list view, download, recorded outcome and account
change is appended to the outreach audit log; every person-level page, download
and change also to the per-citizen access log (:mod:`outreach.app.web.access`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.actor import now_utc
from outreach.app.store import postgres_store
from outreach.app.users import JsonUserStore, UserStore
from outreach.app.web.access import require_access_entry
from outreach.app.web.auth import (
    SESSION_COOKIE,
    SessionCodec,
    load_secret_key,
    session,
)
from outreach.app.web.context import Warehouse, WebContext
from outreach.app.web.errors import add_error_pages, secure_headers
from outreach.app.web.i18n import TEXT
from outreach.app.web.sessions import SESSIONS_FILE, session_store
from outreach.app.web.throttle import SignInThrottle
from outreach.programmes import Programme, available_programmes, load_programme

__all__ = [
    "MANY_WORKERS",
    "USERS_FILE",
    "ServeResult",
    "app_from_env",
    "create_app",
    "serve",
    "users_store_from_env",
]

log = logging.getLogger(__name__)

USERS_FILE = "users.json"
_STATIC = Path(__file__).resolve().parent / "static"


#: How long uvicorn waits for a worker to answer its health check. Its default
#: (5 s) is shorter than a spawned worker takes to import the app on a busy host
#: without compiled bytecode, so every worker was killed before it started and
#: replaced, forever (seen with 4 workers on 2 loaded cores).
WORKER_START_SECONDS = 60
MANY_WORKERS = (
    "More than one app process needs OPSPOR_OPERATIONAL_DB=postgresql://...: "
    "the embedded DuckDB store is served from one process."
)


@dataclass(frozen=True)
class ServeResult:
    """What ``opspor serve`` reports when it stops."""

    url: str
    workers: int


def users_store_from_env(
    settings: EngineSettings, users_file: Path | None = None, url: str | None = None
) -> UserStore:
    """Return where users live: the file given, PostgreSQL, or ``users.json``.

    An explicit ``users_file`` wins; else ``OPSPOR_OPERATIONAL_DB`` (the
    ``outreach.users`` table); else ``<output_dir>/users.json``.
    """
    url = url or settings.operational_db
    if users_file is None and url:
        store: UserStore = postgres_store(url)
        return store
    return JsonUserStore(users_file or settings.output_dir / USERS_FILE)


def app_from_env() -> FastAPI:
    """Build the app from ``OPSPOR_*`` variables (each worker process calls it)."""
    return create_app(EngineSettings.from_env())


def serve(
    settings: EngineSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
) -> ServeResult:
    """Run the app with uvicorn until interrupted.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and output root.
    host, port : str, int
        Where to listen.
    workers : int
        App processes; more than one needs ``OPSPOR_OPERATIONAL_DB``.

    Returns
    -------
    ServeResult

    Raises
    ------
    ConfigError
        Several workers on the embedded store.
    """
    import uvicorn

    if workers > 1:
        if not settings.operational_db:
            raise ConfigError(MANY_WORKERS)
        os.environ["OPSPOR_OUTPUT_DIR"] = str(settings.output_dir)
        os.environ["OPSPOR_DB"] = str(settings.warehouse)
        os.environ["OPSPOR_OPERATIONAL_DB"] = settings.operational_db
        os.environ["OPSPOR_TLS"] = "1" if settings.tls else "0"
        load_secret_key(settings.output_dir)  # one secret for every worker
        uvicorn.run(
            "outreach.app.web.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            timeout_worker_healthcheck=WORKER_START_SECONDS,
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return ServeResult(url=f"http://{host}:{port}/", workers=workers)


def create_app(
    settings: EngineSettings,
    users_file: Path | None = None,
    *,
    users: UserStore | None = None,
    secret_key: str | None = None,
    programmes: Mapping[str, Programme] | None = None,
    clock: Callable[[], datetime] = now_utc,
    secure_cookies: bool | None = None,
    operational: str | None = None,
) -> FastAPI:
    """Build the web app.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and output root (reports are read from ``<output_dir>/reports``).
    users_file : Path, optional
        The users JSON file (default ``<output_dir>/users.json``).
    users : UserStore, optional
        Another user store (overrides ``users_file``).
    secret_key : str, optional
        Session-signing secret (default ``OPSPOR_SECRET_KEY`` or a generated file).
    programmes : Mapping, optional
        Programmes by name (default: every packaged programme).
    clock : callable
        Naive UTC now; outcomes may not be dated after its date.
    secure_cookies : bool, optional
        Send the session cookie over HTTPS only and add HSTS (default
        ``settings.tls``).
    operational : str, optional
        PostgreSQL URL of the operational store (default ``OPSPOR_OPERATIONAL_DB``;
        unset: the tables live in the warehouse, served from this one process).

    Returns
    -------
    FastAPI
    """
    from outreach.app.web.routes import routers

    url = operational or settings.operational_db
    app = FastAPI(title="Opspor", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.opspor = WebContext(
        settings=settings,
        users=users or users_store_from_env(settings, users_file, url),
        codec=SessionCodec(
            secret_key or load_secret_key(settings.output_dir),
            max_age=settings.session_max_hours * 3600,
            secure=settings.tls if secure_cookies is None else secure_cookies,
        ),
        programmes=dict(programmes)
        if programmes is not None
        else {name: load_programme(name) for name in available_programmes()},
        warehouse=Warehouse(settings.warehouse, read_only=bool(url), keep_open=False),
        clock=clock,
        sessions=session_store(settings),
        throttle=SignInThrottle(settings.output_dir / SESSIONS_FILE),
        operational_url=url,
    )
    app.middleware("http")(require_access_entry)  # inside _sessions' headers
    app.middleware("http")(_sessions)
    add_error_pages(app)
    for router in routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    return app


async def _sessions(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Load the signed session, apply ``?lang=``, write the cookie back if changed."""
    codec: SessionCodec = request.app.state.opspor.codec
    request.state.session = codec.loads(request.cookies.get(SESSION_COOKIE))
    request.state.session_changed = False
    await run_in_threadpool(_session_user, request)
    lang = request.query_params.get("lang")
    if lang in TEXT and session(request).get("lang") != lang:
        session(request)["lang"] = lang
        request.state.session_changed = True
    response = await call_next(request)
    if request.state.session_changed:
        response.set_cookie(
            SESSION_COOKIE,
            codec.dumps(session(request)),
            max_age=codec.max_age,
            httponly=True,
            samesite="lax",
            secure=codec.secure,
            path="/",
        )
    return secure_headers(response, tls=codec.secure)


def _session_user(request: Request) -> None:
    """Resolve the cookie's session id to its user; forget an id that has ended."""
    ctx: WebContext = request.app.state.opspor
    request.state.session_user = None
    sid = session(request).get("sid")
    if not isinstance(sid, str):
        return
    request.state.session_user = ctx.sessions.user_of(sid, ctx.clock())
    if request.state.session_user is None:
        session(request).pop("sid")
        request.state.session_changed = True
