"""Changes to accounts after they exist: passwords, disabling, scopes.

An admin resets a password (to one they type, or to a one-time temporary
password shown once), disables or enables a user and changes a coordinator's
scope; everyone changes their own password. A password an admin set (a reset
here, or a new user added by an admin) is temporary: the user is marked
``must_change`` and the web app shows nothing but the password page until they
choose a new one, which must differ from it. Each function returns the stored
user; the web app ends the user's sessions and writes the audit event (see
:mod:`outreach.app.web.routes.admin`). Only argon2 hashes are ever stored.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from typing import Any

from features.errors import ConfigError, NotFoundError
from outreach.app.users import (
    DISABLED_MARK,
    NO_USER,
    User,
    UserStore,
    authenticate,
    check_scope,
    hash_password,
)

__all__ = [
    "PASSWORDS_DIFFER",
    "SAME_PASSWORD",
    "WRONG_PASSWORD",
    "change_own_password",
    "change_scope",
    "reset_password",
    "set_disabled",
    "temporary_password",
]

PASSWORDS_DIFFER = "The new password and its repetition differ."
WRONG_PASSWORD = "The current password is wrong."
SAME_PASSWORD = "The new password must differ from the current one."


def temporary_password() -> str:
    """Return a random one-time password (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def _replace(store: UserStore, name: str, **changes: Any) -> User:
    """Store the user with some fields changed; NotFoundError if unknown."""
    user = store.get_user(name)
    if user is None:
        raise NotFoundError(NO_USER.format(name=name))
    changed = dataclasses.replace(user, **changes)
    if not store.update_user(changed):
        raise NotFoundError(NO_USER.format(name=name))
    return changed


def reset_password(
    store: UserStore, name: str, password: str | None = None
) -> tuple[User, str]:
    """Give a user a new password (typed, or temporary when None); lift a lock.

    Either way an admin chose it, so the user must change it after signing in.

    Returns
    -------
    tuple of User and str
        The stored user and the new password (to show once, never to store).
        A disabled user stays disabled.

    Raises
    ------
    ConfigError
        The password is too short.
    NotFoundError
        No such user.
    """
    new = password or temporary_password()
    hashed = hash_password(new)
    user = store.get_user(name)
    if user is not None and user.disabled:
        hashed = DISABLED_MARK + hashed
    changed = _replace(
        store,
        name,
        password_hash=hashed,
        failed_attempts=0,
        locked_until=None,
        must_change=True,
    )
    return changed, new


def set_disabled(store: UserStore, name: str, disabled: bool) -> User:
    """Disable (no password matches) or enable a user; keeps the password."""
    user = store.get_user(name)
    if user is None:
        raise NotFoundError(NO_USER.format(name=name))
    bare = user.password_hash.removeprefix(DISABLED_MARK)
    return _replace(
        store, name, password_hash=DISABLED_MARK + bare if disabled else bare
    )


def change_scope(
    store: UserStore,
    name: str,
    programmes: Sequence[str],
    municipalities: Sequence[str],
) -> User:
    """Set a coordinator's programmes and municipalities (refused for other roles).

    Raises
    ------
    ConfigError
        A missing or bad scope, or a scope for a role that has none.
    NotFoundError
        No such user.
    """
    user = store.get_user(name)
    if user is None:
        raise NotFoundError(NO_USER.format(name=name))
    check_scope(user.role, programmes, municipalities)
    return _replace(
        store,
        name,
        programmes=tuple(dict.fromkeys(programmes)),
        municipalities=tuple(dict.fromkeys(municipalities)),
    )


def change_own_password(
    store: UserStore, name: str, current: str, new: str, repeated: str
) -> User:
    """Change a user's own password after checking the current one.

    A wrong current password counts as a failed sign-in (towards the lock). The
    new password ends a ``must_change`` mark.

    Raises
    ------
    ConfigError
        The current password is wrong, the two new ones differ, the new one is
        the current one, or it is short.
    """
    if new != repeated:
        raise ConfigError(PASSWORDS_DIFFER)
    hashed = hash_password(new)
    if authenticate(store, name, current).status != "ok":
        raise ConfigError(WRONG_PASSWORD)
    if new == current:
        raise ConfigError(SAME_PASSWORD)
    return _replace(store, name, password_hash=hashed, must_change=False)
