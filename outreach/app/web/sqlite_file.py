"""A small SQLite file of the web app's own (sessions, sign-in throttle).

Created with mode 0600 on first use; each ``transaction()`` is one committed
transaction, and the file's tables are created by the first one. Shared by
:mod:`outreach.app.web.sessions` and :mod:`outreach.app.web.throttle`, which
keep their state in the same ``sessions.sqlite3`` so every app process on a
host sees it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

__all__ = ["SqliteFile"]


class SqliteFile:
    """One SQLite file and the DDL that creates its tables (idempotent)."""

    def __init__(self, path: Path, *ddl: str) -> None:
        self.path = Path(path)
        self.ddl = ddl
        self._ready = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside one transaction (committed on success)."""
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as con, con:
            if not self._ready:
                for statement in self.ddl:
                    con.execute(statement)
                self._ready = True
            yield con
