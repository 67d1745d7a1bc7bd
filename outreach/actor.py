"""Who acts, and when: the actor and the timestamp every outreach write records.

:func:`resolve_actor` names the person acting (``--user``, else ``$USER``, else
``"cli"``); :func:`now_utc` is the naive UTC second the operational tables and
the audit log store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from features.settings import EngineSettings

__all__ = ["now_utc", "resolve_actor"]


def resolve_actor(user: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Name the person acting: ``--user``, else ``$USER``, else ``"cli"``."""
    default = EngineSettings.from_env(env).default_actor
    return (user or default or "cli").strip() or "cli"


def now_utc() -> datetime:
    """Return the time now in UTC to the second, without tzinfo (DuckDB timestamp)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
