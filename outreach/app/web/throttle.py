"""Per-address throttling of failed sign-ins, kept in the memory of one app process.

The account lock-out of :mod:`outreach.app.users` (:data:`~outreach.app.users.
MAX_FAILURES` failures lock an account) stops guessing one account from many
addresses; this throttle stops one address from guessing at all: after
:data:`MAX_ADDRESS_FAILURES` failed sign-ins within :data:`WINDOW_MINUTES`,
an address is refused until its oldest failure leaves the window, whatever
name it types. Because the address limit is below the account limit, one
address cannot lock someone else's account. The count is per process and is
lost on restart (with several workers each counts its own share): it slows an
attacker down, the stored account lock is what holds. The address is the
request's client address; behind a TLS proxy on the same host uvicorn takes it
from ``X-Forwarded-For`` (its ``forwarded_allow_ips`` default trusts 127.0.0.1),
otherwise every visitor would share the proxy's address and its count.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

__all__ = ["MAX_ADDRESS_FAILURES", "WINDOW_MINUTES", "SignInThrottle"]

MAX_ADDRESS_FAILURES = 5
WINDOW_MINUTES = 15
#: Addresses remembered at most; the oldest are forgotten first.
MAX_ADDRESSES = 10_000


class SignInThrottle:
    """Failed sign-ins per client address in a sliding window.

    Parameters
    ----------
    max_failures : int
        Failures within the window after which an address is refused.
    window : timedelta
        How long a failure counts.
    """

    def __init__(
        self,
        max_failures: int = MAX_ADDRESS_FAILURES,
        window: timedelta = timedelta(minutes=WINDOW_MINUTES),
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def blocked_until(self, address: str, now: datetime) -> datetime | None:
        """Return when the address may try again, or None if it may now."""
        with self._lock:
            recent = self._recent(address, now)
            if len(recent) < self.max_failures:
                return None
            return recent[0] + self.window

    def record_failure(self, address: str, now: datetime) -> None:
        """Count one failed sign-in from the address."""
        with self._lock:
            self._recent(address, now).append(now)
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.pop(next(iter(self._failures)))

    def _recent(self, address: str, now: datetime) -> deque[datetime]:
        """Return the address's failures inside the window (drop older ones)."""
        times = self._failures.setdefault(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
