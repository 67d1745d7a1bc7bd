"""Per-address throttling of failed sign-ins, shared by the app processes of a host.

The account lock-out of :mod:`outreach.app.users` (:data:`~outreach.app.users.
MAX_FAILURES` failures lock an account) stops guessing one account from many
addresses; this throttle stops one address from guessing at all: after
:data:`MAX_ADDRESS_FAILURES` failed sign-ins within :data:`WINDOW_MINUTES`,
an address is refused until its oldest failure leaves the window, whatever
name it types. Because the address limit is below the account limit, one
address cannot lock someone else's account. The failures are kept in the
``signin_failures`` table of ``<output_dir>/sessions.sqlite3`` (beside the
session records), so every app process of the host counts the same ones.
The address is the request's client address; behind a TLS proxy on the same
host uvicorn takes it from ``X-Forwarded-For`` (its ``forwarded_allow_ips``
default trusts 127.0.0.1), otherwise every visitor would share the proxy's
address and its count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from outreach.app.web.sqlite_file import SqliteFile

__all__ = ["MAX_ADDRESS_FAILURES", "WINDOW_MINUTES", "SignInThrottle"]

MAX_ADDRESS_FAILURES = 5
WINDOW_MINUTES = 15
_SCHEMA = """
create table if not exists signin_failures (address text not null, at text not null)
"""
_INDEX = (
    "create index if not exists signin_failures_address on signin_failures(address)"
)


class SignInThrottle:
    """Failed sign-ins per client address in a sliding window (a SQLite table).

    Parameters
    ----------
    path : Path
        The SQLite file (``sessions.sqlite3``); created (mode 0600) on first use.
    max_failures : int
        Failures within the window after which an address is refused.
    window : timedelta
        How long a failure counts.
    """

    def __init__(
        self,
        path: Path,
        max_failures: int = MAX_ADDRESS_FAILURES,
        window: timedelta = timedelta(minutes=WINDOW_MINUTES),
    ) -> None:
        self.path = Path(path)
        self._file = SqliteFile(self.path, _SCHEMA, _INDEX)
        self.max_failures = max_failures
        self.window = window

    def blocked_until(self, address: str, now: datetime) -> datetime | None:
        """Return when the address may try again, or None if it may now."""
        since = (now - self.window).isoformat()
        with self._file.transaction() as con:
            con.execute("delete from signin_failures where at <= ?", (since,))
            recent = con.execute(
                "select at from signin_failures where address = ? order by at",
                (address,),
            ).fetchall()
        if len(recent) < self.max_failures:
            return None
        return datetime.fromisoformat(recent[0][0]) + self.window

    def record_failure(self, address: str, now: datetime) -> None:
        """Count one failed sign-in from the address."""
        with self._file.transaction() as con:
            con.execute(
                "insert into signin_failures values (?, ?)", (address, now.isoformat())
            )
