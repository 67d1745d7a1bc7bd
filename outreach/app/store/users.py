"""The web app's ``users`` table, kept in the operational store on PostgreSQL.

With the embedded store, users live in ``users.json`` (:mod:`outreach.app.users`);
when several app processes share PostgreSQL they live in ``outreach.users`` and
:class:`UserTable` gives :class:`~outreach.app.store.store.OperationalStore` the
``UserStore`` protocol of :mod:`outreach.app.users`. A failed sign-in is counted
under a row lock, so two processes never lose one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from outreach.app.store.backends import Backend, insert_sql

__all__ = ["USER_COLUMNS", "UserTable"]

USER_COLUMNS = (
    "name", "role", "password_hash", "programmes", "municipalities", "language",
    "failed_attempts", "locked_until", "created_at", "must_change",
)  # fmt: skip
_FOR_UPDATE = """
select failed_attempts, locked_until from outreach.users
where name = :name for update
"""
_SET_FAILURES = """
update outreach.users set failed_attempts = :failed, locked_until = :until
where name = :name
"""
_UPDATE = """
update outreach.users set role = :role, password_hash = :password_hash,
programmes = :programmes, municipalities = :municipalities, language = :language,
failed_attempts = :failed_attempts, locked_until = :locked_until,
must_change = :must_change
where name = :name
"""
_RESET = """
update outreach.users set failed_attempts = 0, locked_until = null
where name = :name and (failed_attempts > 0 or locked_until is not null)
"""


class UserTable:
    """Users in ``outreach.users`` (PostgreSQL only; see the module docstring)."""

    backend: Backend

    def get_user(self, name: str) -> Any:
        """Return the user of that name, or None."""
        from outreach.app.users import User

        rows = self.backend.rows(
            "select * from outreach.users where name = :name", {"name": name}
        )
        if not rows:
            return None
        record = rows[0]
        for key in ("programmes", "municipalities"):
            record[key] = json.loads(record[key])
        return User.from_record(record)

    def all_users(self) -> list[Any]:
        """Return every user, by name."""
        rows = self.backend.rows("select name from outreach.users order by name")
        return [self.get_user(str(r["name"])) for r in rows]

    def insert_user(self, user: Any) -> bool:
        """Add a user; False if the name is taken."""
        sql = insert_sql("users", USER_COLUMNS, self.backend.skip_conflicts)
        with self.backend.transaction() as tx:
            return bool(tx.execute(sql, _record(user)))

    def update_user(self, user: Any) -> bool:
        """Replace the stored user of that name; False if there was none."""
        with self.backend.transaction() as tx:
            return bool(tx.execute(_UPDATE, _record(user)))

    def delete_user(self, name: str) -> bool:
        """Remove a user; False if there was none."""
        with self.backend.transaction() as tx:
            sql = "delete from outreach.users where name = :name"
            return bool(tx.execute(sql, {"name": name}))

    def record_failure(self, name: str, now: datetime) -> Any:
        """Count a failed sign-in under a row lock; lock after too many."""
        from outreach.app.users import next_failure_state

        with self.backend.transaction() as tx:
            rows = tx.fetch(_FOR_UPDATE, {"name": name})
            if not rows:
                return None
            failed, until = next_failure_state(int(rows[0][0]), rows[0][1], now)
            tx.execute(_SET_FAILURES, {"failed": failed, "until": until, "name": name})
        return self.get_user(name)

    def reset_failures(self, name: str) -> None:
        """Forget failed sign-ins after a good one."""
        with self.backend.transaction() as tx:
            tx.execute(_RESET, {"name": name})


def _record(user: Any) -> dict[str, Any]:
    """Return a user's row: scopes as JSON text, times as datetimes."""
    return {
        **user.as_record(),
        "programmes": json.dumps(list(user.programmes)),
        "municipalities": json.dumps(list(user.municipalities)),
        "locked_until": user.locked_until,
        "created_at": user.created_at,
    }
