"""Who may sign in to the web app: users, roles, scopes, password hashes, lock-out.

``opspor users add|remove|list`` manages them through :func:`add_user`,
:func:`remove_user` and :func:`list_users`; the app signs people in with
:func:`authenticate`. Users live in ``<output_dir>/users.json`` (written
atomically, mode 0600, read-modify-write under a file lock so several app
processes can count failed sign-ins) or, with ``OPSPOR_OPERATIONAL_DB`` set, in
the ``users`` table of the operational store (:mod:`outreach.app.store`).
Passwords are hashed with argon2; ten failed sign-ins lock an account for
fifteen minutes (one address is throttled after five, see
:mod:`outreach.app.web.throttle`, so one address cannot lock an account), and a
locked account answers like a wrong password, so the lock does not tell a real
user name from an unknown one. A coordinator is scoped to programmes and
municipalities; the other roles see aggregates only (an admin: the users) and
carry no scope. An admin's later changes are in :mod:`outreach.app.accounts`.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from features.errors import ConfigError, NotFoundError
from features.files import atomic_write
from outreach.actor import now_utc
from outreach.programmes import available_programmes

__all__ = [
    "LANGUAGES",
    "LOCK_MINUTES",
    "MAX_FAILURES",
    "DEMO_USERS",
    "DISABLED_MARK",
    "MIN_PASSWORD",
    "ROLES",
    "JsonUserStore",
    "SignIn",
    "User",
    "UserStore",
    "UsersResult",
    "add_demo_users",
    "add_user",
    "authenticate",
    "check_scope",
    "hash_password",
    "list_users",
    "new_user",
    "next_failure_state",
    "remove_user",
    "store_location",
]

log = logging.getLogger(__name__)

Role = Literal["coordinator", "data_scientist", "reviewer", "admin"]
ROLES: tuple[str, ...] = ("coordinator", "data_scientist", "reviewer", "admin")
LANGUAGES: tuple[str, ...] = ("da", "en")
MAX_FAILURES = 10
LOCK_MINUTES = 15
MIN_PASSWORD = 8
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")
_CODE = re.compile(r"^[0-9]{3}$")

#: Users ``make demo`` creates for the synthetic region (passwords for the demo only).
DEMO_USERS: tuple[dict[str, Any], ...] = (
    {
        "name": "koordinator",
        "role": "coordinator",
        "password": "demo-koordinator",
        "programmes": ["diabetes_bus", "smi_somatic_screening"],
        "municipalities": ["390", "376"],
    },
    {"name": "analytiker", "role": "data_scientist", "password": "demo-analytiker"},
    {"name": "revisor", "role": "reviewer", "password": "demo-revisor"},
    {"name": "administrator", "role": "admin", "password": "demo-administrator"},
)
#: Put before a disabled user's password hash, as ``passwd -l`` does in
#: /etc/shadow: no password matches it, enabling removes it, and neither store
#: needs a new column.
DISABLED_MARK = "!"

BAD_NAME = (
    "The user name {name!r} must be 2-40 characters: a lower-case letter, then "
    "letters, digits, '.', '_' or '-'."
)
BAD_ROLE = "The role {role!r} is not one of {roles}."
BAD_LANGUAGE = "The language {language!r} is not one of {languages}."
SCOPE_NEEDED = "A coordinator needs at least one --programme and one --municipality."
SCOPE_REFUSED = (
    "Only coordinators are scoped to programmes and municipalities; a {role} sees "
    "aggregates only."
)
BAD_MUNICIPALITY = "The municipality {code!r} is not a 3-digit kommunekode."
UNKNOWN_PROGRAMME = "Unknown programme {name!r}. Available: {available}."
SHORT_PASSWORD = "The password must have at least {n} characters."
USER_EXISTS = "The user {name!r} exists already; remove it first."
NO_USER = "No user named {name!r}."

_hasher = PasswordHasher()
# Verified against when the user is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash("opspor-not-a-password")


@dataclass(frozen=True)
class User:
    """One person who may sign in, with the scope of what they may see."""

    name: str
    role: str
    password_hash: str
    programmes: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    language: str = "da"
    failed_attempts: int = 0
    locked_until: datetime | None = None
    created_at: datetime | None = None
    #: Signed in with a password an admin set: every page asks for a new one.
    must_change: bool = False

    @property
    def disabled(self) -> bool:
        """Tell whether the user may not sign in (an admin disabled them)."""
        return self.password_hash.startswith(DISABLED_MARK)

    def public(self) -> dict[str, Any]:
        """Return the user without the password hash (for ``users list``)."""
        return {
            "name": self.name,
            "role": self.role,
            "programmes": list(self.programmes),
            "municipalities": list(self.municipalities),
            "language": self.language,
            "locked_until": _stamp(self.locked_until),
            "disabled": self.disabled,
            "must_change": self.must_change,
        }

    def as_record(self) -> dict[str, Any]:
        """Return the user as stored (JSON-ready)."""
        return {
            **{k: v for k, v in self.public().items() if k != "disabled"},
            "password_hash": self.password_hash,
            "failed_attempts": self.failed_attempts,
            "created_at": _stamp(self.created_at),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> User:
        """Build a user from its stored record."""
        return cls(
            name=str(record["name"]),
            role=str(record["role"]),
            password_hash=str(record["password_hash"]),
            programmes=tuple(record.get("programmes") or ()),
            municipalities=tuple(record.get("municipalities") or ()),
            language=str(record.get("language") or "da"),
            failed_attempts=int(record.get("failed_attempts") or 0),
            locked_until=_parse_stamp(record.get("locked_until")),
            created_at=_parse_stamp(record.get("created_at")),
            must_change=bool(record.get("must_change") or False),
        )


def _stamp(value: datetime | None) -> str | None:
    """ISO text of a UTC time, or None."""
    return None if value is None else value.isoformat(timespec="seconds")


def _parse_stamp(value: Any) -> datetime | None:
    """Parse a stored time back into a naive UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


class UserStore(Protocol):
    """Where users live: the JSON file or the operational database."""

    def get_user(self, name: str) -> User | None:
        """Return the user of that name, or None."""

    def all_users(self) -> list[User]:
        """Every user, by name."""

    def insert_user(self, user: User) -> bool:
        """Add a user; False if the name is taken."""

    def delete_user(self, name: str) -> bool:
        """Remove a user; False if there was none."""

    def update_user(self, user: User) -> bool:
        """Replace the stored user of that name; False if there was none."""

    def record_failure(self, name: str, now: datetime) -> User | None:
        """Count a failed sign-in; lock after :data:`MAX_FAILURES`. None if unknown."""

    def reset_failures(self, name: str) -> None:
        """Forget failed sign-ins after a good one."""


def next_failure_state(
    failed_attempts: int, locked_until: datetime | None, now: datetime
) -> tuple[int, datetime | None]:
    """Failed-attempt count and lock after one more failure at ``now``."""
    if locked_until is not None and locked_until > now:
        return failed_attempts, locked_until
    failed = failed_attempts + 1
    if failed >= MAX_FAILURES:
        return 0, now + timedelta(minutes=LOCK_MINUTES)
    return failed, None


class JsonUserStore:
    """Users in one JSON file, changed under an exclusive ``fcntl`` lock.

    Parameters
    ----------
    path : Path
        ``<output_dir>/users.json``; created on the first write (mode 0600).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: tuple[tuple[int, int], dict[str, User]] | None = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the sidecar lock file while reading and rewriting the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self) -> dict[str, User]:
        """All users, re-read only when the file changed."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (info.st_mtime_ns, info.st_size)
        if self._cache is not None and self._cache[0] == key:
            return dict(self._cache[1])
        data = json.loads(self.path.read_text(encoding="utf-8"))
        users = {r["name"]: User.from_record(r) for r in data.get("users", [])}
        self._cache = (key, users)
        return dict(users)

    def _write(self, users: dict[str, User]) -> None:
        """Rewrite the file atomically, readable by its owner only."""
        records = [users[n].as_record() for n in sorted(users)]
        text = json.dumps({"version": 1, "users": records}, indent=1) + "\n"

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")
            tmp.chmod(0o600)

        atomic_write(self.path, write)
        self._cache = None

    def get_user(self, name: str) -> User | None:
        """Return the user of that name, or None."""
        return self._read().get(name)

    def all_users(self) -> list[User]:
        """Every user, by name."""
        users = self._read()
        return [users[n] for n in sorted(users)]

    def insert_user(self, user: User) -> bool:
        """Add a user; False if the name is taken."""
        with self._locked():
            users = self._read()
            if user.name in users:
                return False
            self._write({**users, user.name: user})
        return True

    def delete_user(self, name: str) -> bool:
        """Remove a user; False if there was none."""
        with self._locked():
            users = self._read()
            if users.pop(name, None) is None:
                return False
            self._write(users)
        return True

    def update_user(self, user: User) -> bool:
        """Replace the stored user of that name; False if there was none."""
        with self._locked():
            users = self._read()
            if user.name not in users:
                return False
            self._write({**users, user.name: user})
        return True

    def record_failure(self, name: str, now: datetime) -> User | None:
        """Count a failed sign-in; lock after :data:`MAX_FAILURES`. None if unknown."""
        with self._locked():
            users = self._read()
            user = users.get(name)
            if user is None:
                return None
            failed, until = next_failure_state(
                user.failed_attempts, user.locked_until, now
            )
            user = dataclasses.replace(user, failed_attempts=failed, locked_until=until)
            self._write({**users, name: user})
        return user

    def reset_failures(self, name: str) -> None:
        """Forget failed sign-ins after a good one."""
        with self._locked():
            users = self._read()
            user = users.get(name)
            if user is not None and (user.failed_attempts or user.locked_until):
                users[name] = dataclasses.replace(
                    user, failed_attempts=0, locked_until=None
                )
                self._write(users)


def hash_password(password: str) -> str:
    """Return the argon2 hash of a password.

    Raises
    ------
    ConfigError
        Shorter than :data:`MIN_PASSWORD` characters.
    """
    if len(password) < MIN_PASSWORD:
        raise ConfigError(SHORT_PASSWORD.format(n=MIN_PASSWORD))
    return _hasher.hash(password)


def check_scope(
    role: str, programmes: Sequence[str], municipalities: Sequence[str]
) -> None:
    """Require a coordinator's scope; refuse one for the other roles."""
    if role != "coordinator":
        if programmes or municipalities:
            raise ConfigError(SCOPE_REFUSED.format(role=role))
        return
    if not programmes or not municipalities:
        raise ConfigError(SCOPE_NEEDED)
    known = available_programmes()
    for name in programmes:
        if name not in known:
            raise ConfigError(UNKNOWN_PROGRAMME.format(name=name, available=known))
    for code in municipalities:
        if not _CODE.match(code):
            raise ConfigError(BAD_MUNICIPALITY.format(code=code))


def new_user(
    name: str,
    *,
    role: str,
    password: str,
    programmes: Sequence[str] = (),
    municipalities: Sequence[str] = (),
    language: str = "da",
    now: datetime | None = None,
    must_change: bool = False,
) -> User:
    """Validate the fields of a new user and hash the password.

    ``must_change`` marks a password someone else chose (an admin's, a
    temporary one): the user must replace it after signing in.

    Raises
    ------
    ConfigError
        A bad name, role, language, scope or a short password.
    """
    if not _NAME.match(name):
        raise ConfigError(BAD_NAME.format(name=name))
    if role not in ROLES:
        raise ConfigError(BAD_ROLE.format(role=role, roles=ROLES))
    if language not in LANGUAGES:
        raise ConfigError(BAD_LANGUAGE.format(language=language, languages=LANGUAGES))
    check_scope(role, programmes, municipalities)
    return User(
        name=name,
        role=role,
        password_hash=hash_password(password),
        programmes=tuple(dict.fromkeys(programmes)),
        municipalities=tuple(dict.fromkeys(municipalities)),
        language=language,
        created_at=now or now_utc(),
        must_change=must_change,
    )


@dataclass(frozen=True)
class UsersResult:
    """What ``opspor users`` reports: the action, where, and the users (no hashes)."""

    action: str
    store: str
    users: list[dict[str, Any]] = field(default_factory=list)


def add_user(
    store: UserStore,
    name: str,
    *,
    role: str,
    password: str,
    programmes: Sequence[str] = (),
    municipalities: Sequence[str] = (),
    language: str = "da",
    must_change: bool = False,
) -> UsersResult:
    """Add a user who may sign in to the web app.

    Parameters
    ----------
    store : UserStore
        The users file or the operational store.
    name : str
        Sign-in name.
    role : {"coordinator", "data_scientist", "reviewer", "admin"}
        What they may see.
    password : str
        At least :data:`MIN_PASSWORD` characters; only its argon2 hash is kept.
    programmes, municipalities : sequence of str
        A coordinator's scope (both required for a coordinator, refused otherwise).
    language : {"da", "en"}
        Interface language.
    must_change : bool
        The password is temporary (an admin chose it): the user must change
        it after signing in.

    Returns
    -------
    UsersResult

    Raises
    ------
    ConfigError
        A bad field, or the name is taken.
    """
    user = new_user(
        name,
        role=role,
        password=password,
        programmes=programmes,
        municipalities=municipalities,
        language=language,
        must_change=must_change,
    )
    if not store.insert_user(user):
        raise ConfigError(USER_EXISTS.format(name=name))
    log.info("added a %s user", role)
    return UsersResult(action="added", store=_describe(store), users=[user.public()])


def remove_user(store: UserStore, name: str) -> UsersResult:
    """Remove a user; their signed-in sessions end at their next request.

    Raises
    ------
    NotFoundError
        No such user.
    """
    if not store.delete_user(name):
        raise NotFoundError(NO_USER.format(name=name))
    return UsersResult(action="removed", store=_describe(store), users=[{"name": name}])


def list_users(store: UserStore) -> UsersResult:
    """Every user with role and scope (never the hashes)."""
    return UsersResult(
        action="listed",
        store=_describe(store),
        users=[u.public() for u in store.all_users()],
    )


def store_location(store: UserStore) -> str:
    """Return where the users live, for the CLI line."""
    return _describe(store)


def _describe(store: UserStore) -> str:
    """Where the users live, for the CLI line."""
    path = getattr(store, "path", None)
    return str(path) if path is not None else str(getattr(store, "name", "database"))


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: ``ok`` with the user, ``bad``, or ``locked`` until."""

    status: Literal["ok", "bad", "locked"]
    user: User | None = None
    locked_until: datetime | None = None


def authenticate(
    store: UserStore, name: str, password: str, *, now: datetime | None = None
) -> SignIn:
    """Check a name and password; count failures and honour the lock-out.

    Parameters
    ----------
    store : UserStore
        Where users live.
    name, password : str
        As typed.
    now : datetime, optional
        Naive UTC time (default: now).

    Returns
    -------
    SignIn
        ``bad`` never says whether the name or the password was wrong; callers
        must show ``locked`` like ``bad``. Every answer verifies one argon2
        hash, so all take about as long.
    """
    now = now or now_utc()
    user = store.get_user(name.strip().lower())
    if user is None:
        _verify(_DUMMY_HASH, password)
        return SignIn("bad")
    if user.disabled:
        _verify(_DUMMY_HASH, password)
        return SignIn("bad")
    if user.locked_until is not None and user.locked_until > now:
        _verify(_DUMMY_HASH, password)
        return SignIn("locked", locked_until=user.locked_until)
    if not _verify(user.password_hash, password):
        after = store.record_failure(user.name, now)
        if after is not None and after.locked_until is not None:
            log.warning("an account was locked after %s failures", MAX_FAILURES)
            return SignIn("locked", locked_until=after.locked_until)
        return SignIn("bad")
    store.reset_failures(user.name)
    return SignIn("ok", user=user)


def _verify(password_hash: str, password: str) -> bool:
    """Tell whether the password matches the argon2 hash."""
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def add_demo_users(store: UserStore) -> UsersResult:
    """Add the :data:`DEMO_USERS` that are missing (for ``make demo``; idempotent).

    Parameters
    ----------
    store : UserStore
        The users file or the operational store.

    Returns
    -------
    UsersResult
        The demo users added now (none when all existed).
    """
    added = []
    for spec in DEMO_USERS:
        if store.get_user(spec["name"]) is None:
            fields = {k: v for k, v in spec.items() if k != "name"}
            added.extend(add_user(store, spec["name"], **fields).users)
    return UsersResult(action="added", store=_describe(store), users=added)
