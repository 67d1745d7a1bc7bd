"""The shell's own stages in the one shape: ``run_<stage>(settings, request)``.

Users, serving and the operational-store copy belong to the application shell,
not to the domain, so their entry functions live here rather than in
:mod:`outreach.stages`; the CLI calls them exactly as it calls the domain
stages. The work is done by :mod:`outreach.app.users`,
:func:`outreach.app.web.app.serve` and :func:`outreach.app.store.sync_to_warehouse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from features.db import connect
from features.settings import EngineSettings
from outreach.app.accounts import reset_password
from outreach.app.users import (
    UsersResult,
    add_demo_users,
    add_user,
    list_users,
    remove_user,
    store_location,
)
from outreach.app.web.app import ServeResult, serve, users_store_from_env

__all__ = [
    "OpstoreSyncRequest",
    "OpstoreSyncResult",
    "ServeRequest",
    "ServeResult",
    "UserAddRequest",
    "UserRemoveRequest",
    "UserResetRequest",
    "UsersRequest",
    "UsersResult",
    "run_opstore_sync",
    "run_serve",
    "run_user_add",
    "run_user_remove",
    "run_user_reset",
    "run_users_add_demo",
    "run_users_list",
]

#: Rows copied per operational table; empty when they live in the warehouse.
OpstoreSyncResult: TypeAlias = dict[str, int]


@dataclass(frozen=True)
class UsersRequest:
    """Which users file to act on (``None``: the operational store or users.json)."""

    users_file: Path | None = None


@dataclass(frozen=True)
class UserAddRequest:
    """Add one web-app user; the password is hashed (argon2) and never kept."""

    name: str
    role: str
    password: str = field(repr=False)
    programmes: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    language: str = "da"
    users_file: Path | None = None
    #: An admin chose the password: the user must change it at sign-in.
    must_change: bool = True


@dataclass(frozen=True)
class UserResetRequest:
    """Reset ``name``'s password: the typed one, or a temporary one when None."""

    name: str
    password: str | None = field(default=None, repr=False)
    users_file: Path | None = None


@dataclass(frozen=True)
class UserRemoveRequest:
    """Remove the web-app user ``name``."""

    name: str
    users_file: Path | None = None


@dataclass(frozen=True)
class ServeRequest:
    """Serve the web app on ``host:port`` with ``workers`` processes."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1


@dataclass(frozen=True)
class OpstoreSyncRequest:
    """Copy the operational tables into the warehouse (nothing to choose)."""


def run_user_add(settings: EngineSettings, request: UserAddRequest) -> UsersResult:
    """Add a web-app user.

    Parameters
    ----------
    settings : EngineSettings
        Output root (``users.json``) and the operational store.
    request : UserAddRequest
        Name, role, password and a coordinator's scope.

    Returns
    -------
    UsersResult

    Raises
    ------
    ConfigError
        A bad field, or the name is taken.
    """
    return add_user(
        users_store_from_env(settings, request.users_file),
        request.name,
        role=request.role,
        password=request.password,
        programmes=request.programmes,
        municipalities=request.municipalities,
        language=request.language,
        must_change=request.must_change,
    )


def run_user_reset(settings: EngineSettings, request: UserResetRequest) -> UsersResult:
    """Reset a user's password, mark it temporary and end their sessions.

    Parameters
    ----------
    settings : EngineSettings
        Output root (``users.json``, the sessions file) and the operational store.
    request : UserResetRequest
        The user and the new password (None: a temporary one is made).

    Returns
    -------
    UsersResult
        The user; ``temporary_password`` holds a made password (shown once).

    Raises
    ------
    ConfigError
        The password is too short.
    NotFoundError
        No such user.
    """
    from outreach.app.web.sessions import session_store

    store = users_store_from_env(settings, request.users_file)
    user, given = reset_password(store, request.name, request.password)
    ended = session_store(settings).end_all(request.name)
    shown = {} if request.password else {"temporary_password": given}
    return UsersResult(
        action="reset",
        store=store_location(store),
        users=[{**user.public(), "sessions_ended": ended, **shown}],
    )


def run_users_add_demo(settings: EngineSettings, request: UsersRequest) -> UsersResult:
    """Add the demo users of the synthetic region (idempotent).

    Parameters
    ----------
    settings : EngineSettings
        Output root (``users.json``) and the operational store.
    request : UsersRequest
        The users file.

    Returns
    -------
    UsersResult
        The users added (none when all existed).
    """
    return add_demo_users(users_store_from_env(settings, request.users_file))


def run_user_remove(
    settings: EngineSettings, request: UserRemoveRequest
) -> UsersResult:
    """Remove a web-app user and end their sessions (the server-side records).

    Parameters
    ----------
    settings : EngineSettings
        Output root (``users.json``) and the operational store.
    request : UserRemoveRequest
        The user's name.

    Returns
    -------
    UsersResult

    Raises
    ------
    NotFoundError
        No such user.
    """
    from outreach.app.web.sessions import session_store

    store = users_store_from_env(settings, request.users_file)
    result = remove_user(store, request.name)
    session_store(settings).end_all(request.name)
    return result


def run_users_list(settings: EngineSettings, request: UsersRequest) -> UsersResult:
    """List web-app users with role and scope (never the password hashes).

    Parameters
    ----------
    settings : EngineSettings
        Output root (``users.json``) and the operational store.
    request : UsersRequest
        The users file.

    Returns
    -------
    UsersResult
    """
    return list_users(users_store_from_env(settings, request.users_file))


def run_serve(settings: EngineSettings, request: ServeRequest) -> ServeResult:
    """Serve the web app with uvicorn until interrupted.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and output root.
    request : ServeRequest
        Where to listen and how many processes.

    Returns
    -------
    ServeResult

    Raises
    ------
    ConfigError
        Several workers on the embedded store.
    """
    return serve(
        settings, host=request.host, port=request.port, workers=request.workers
    )


def run_opstore_sync(
    settings: EngineSettings, request: OpstoreSyncRequest
) -> OpstoreSyncResult:
    """Copy the operational tables from PostgreSQL into the warehouse.

    Parameters
    ----------
    settings : EngineSettings
        The warehouse and the operational store.
    request : OpstoreSyncRequest
        Nothing to choose.

    Returns
    -------
    OpstoreSyncResult
        Rows copied per table; empty when the tables live in the warehouse.
    """
    from outreach.app.store import operational_store, sync_to_warehouse

    con = connect(settings.warehouse)
    try:
        return sync_to_warehouse(con, operational_store(con, settings=settings))
    finally:
        con.close()
