"""Server-side session records: what a signed cookie's session id stands for.

The cookie (:class:`outreach.app.web.auth.SessionCodec`) carries a random
session id, never the user name. :class:`SessionStore` keeps one row per id
(only its SHA-256, so the file gives no usable ids) with the user, when it
started and when it was last seen. A request's session is valid while it is
neither idle longer than ``session_idle_minutes`` nor older than
``session_max_hours`` (:class:`features.settings.EngineSettings`); signing out
ends it, and :meth:`SessionStore.end_all` ends every session of a user (call it
on a password change or reset, a disable or a removal: ``opspor users remove``
does). The rows live in ``<output_dir>/sessions.sqlite3``, a SQLite file every
app process on the host shares (SQLite serialises the writes); with the app on
several hosts this file would have to move to the operational store.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from features.settings import EngineSettings
from outreach.app.web.sqlite_file import SqliteFile

__all__ = ["SESSIONS_FILE", "SessionLimits", "SessionStore", "session_store"]

log = logging.getLogger(__name__)

SESSIONS_FILE = "sessions.sqlite3"
#: last_seen is written at most this often per session (fewer writes; the idle
#: limit is then exact to within this step).
TOUCH_EVERY = timedelta(seconds=60)
_SCHEMA = """
create table if not exists sessions (
    id_hash text primary key,
    user_name text not null,
    started_at text not null,
    last_seen text not null
)
"""


@dataclass(frozen=True)
class SessionLimits:
    """How long a session lives: idle and absolute limits."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> SessionLimits:
        """Read the limits from the engine settings."""
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
        )


def _hash(session_id: str) -> str:
    """Return the stored form of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Session rows in a SQLite file (see the module docstring).

    Parameters
    ----------
    path : Path
        The SQLite file; created (mode 0600) on first use.
    limits : SessionLimits
        Idle and absolute timeouts.
    """

    def __init__(self, path: Path, limits: SessionLimits) -> None:
        self.path = Path(path)
        self._file = SqliteFile(self.path, _SCHEMA)
        self.limits = limits

    def start(self, user_name: str, now: datetime) -> str:
        """Record a new session of a user; return its id (for the cookie only)."""
        session_id = secrets.token_urlsafe(32)
        with self._file.transaction() as con:
            oldest = (now - self.limits.absolute).isoformat()
            con.execute("delete from sessions where started_at < ?", (oldest,))
            con.execute(
                "insert into sessions values (?, ?, ?, ?)",
                (_hash(session_id), user_name, now.isoformat(), now.isoformat()),
            )
        return session_id

    def user_of(self, session_id: str, now: datetime) -> str | None:
        """Return the user of a live session and mark it seen; None if ended.

        An idle or too old session is deleted on the way.
        """
        key = _hash(session_id)
        with self._file.transaction() as con:
            row = con.execute(
                "select user_name, started_at, last_seen from sessions "
                "where id_hash = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            started, seen = (
                datetime.fromisoformat(row[1]),
                datetime.fromisoformat(row[2]),
            )
            if now - seen > self.limits.idle or now - started > self.limits.absolute:
                con.execute("delete from sessions where id_hash = ?", (key,))
                return None
            if now - seen >= TOUCH_EVERY:
                con.execute(
                    "update sessions set last_seen = ? where id_hash = ?",
                    (now.isoformat(), key),
                )
        return str(row[0])

    def _expired(self, started: datetime, seen: datetime, now: datetime) -> bool:
        """Tell whether a session is idle too long or too old."""
        return now - seen > self.limits.idle or now - started > self.limits.absolute

    def end(self, session_id: str) -> None:
        """End one session (sign-out)."""
        with self._file.transaction() as con:
            con.execute("delete from sessions where id_hash = ?", (_hash(session_id),))

    def end_all(self, user_name: str) -> int:
        """End every session of a user; return how many there were."""
        with self._file.transaction() as con:
            cursor = con.execute(
                "delete from sessions where user_name = ?", (user_name,)
            )
        if cursor.rowcount:
            log.info("ended %s session(s) of a user", cursor.rowcount)
        return int(cursor.rowcount)


def session_store(settings: EngineSettings) -> SessionStore:
    """Return the session store of an output root (``sessions.sqlite3``)."""
    return SessionStore(
        settings.output_dir / SESSIONS_FILE, SessionLimits.from_settings(settings)
    )
