"""A password an admin set is temporary: the user must change it (issue 15).

The account functions run on both user stores (``users.json`` and PostgreSQL's
``outreach.users``, skipped without a server); the web journey and the CLI run
on the JSON file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from features.errors import ConfigError
from outreach.app.accounts import (
    SAME_PASSWORD,
    change_own_password,
    reset_password,
)
from outreach.app.cli import app
from outreach.app.users import JsonUserStore, UserStore, add_user, authenticate

_TEMPORARY = re.compile(r'<code class="temporary">([^<]+)</code>')
NEW = "my-own-password-1"
runner = CliRunner()


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash new passwords with cheap argon2 parameters (tests, not strength)."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr("outreach.app.users._hasher", cheap)


@pytest.fixture(params=["json", "postgresql"])
def users(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UserStore]:
    """An empty user store of each kind."""
    if request.param == "json":
        yield JsonUserStore(tmp_path / "users.json")
        return
    yield request.getfixturevalue("postgres_store")


def test_reset_marks_the_password_temporary_until_the_user_changes_it(
    users: UserStore,
) -> None:
    add_user(users, "rita", role="reviewer", password="first-password")
    assert users.get_user("rita").must_change is False
    user, temporary = reset_password(users, "rita")
    assert user.must_change is True and users.get_user("rita").must_change is True
    with pytest.raises(ConfigError, match=re.escape(SAME_PASSWORD)):
        change_own_password(users, "rita", temporary, temporary, temporary)
    assert users.get_user("rita").must_change is True
    changed = change_own_password(users, "rita", temporary, NEW, NEW)
    assert changed.must_change is False and users.get_user("rita").must_change is False
    assert authenticate(users, "rita", NEW).status == "ok"


def test_a_user_added_by_an_admin_must_change_and_a_typed_reset_too(
    users: UserStore,
) -> None:
    add_user(users, "bo", role="reviewer", password="typed-by-admin", must_change=True)
    assert users.get_user("bo").public()["must_change"] is True
    change_own_password(users, "bo", "typed-by-admin", NEW, NEW)
    reset_password(users, "bo", "typed-again-by-admin")
    assert users.get_user("bo").must_change is True


def test_a_users_file_from_before_keeps_its_users_without_the_mark(
    tmp_path: Path,
) -> None:
    path = tmp_path / "users.json"
    add_user(JsonUserStore(path), "rita", role="reviewer", password="first-password")
    data = json.loads(path.read_text())
    for record in data["users"]:
        record.pop("must_change")
    path.write_text(json.dumps(data))
    assert JsonUserStore(path).get_user("rita").must_change is False


# --- the web journey ------------------------------------------------------------


def _reset_by_admin(client_for: Any, web: Any, name: str) -> str:
    admin = client_for("ada")
    token = web.csrf_of(admin, "/account/password")
    page = admin.post(f"/admin/users/{name}/password", data={"csrf_token": token})
    return _TEMPORARY.search(page.text).group(1)


def _change(client: Any, web: Any, current: str, new: str) -> Any:
    token = web.csrf_of(client, "/account/password")
    data = {"current": current, "new": new, "repeated": new, "csrf_token": token}
    return client.post("/account/password", data=data)


def test_after_a_reset_every_page_asks_for_a_new_password_first(
    client_for, web_app, web
) -> None:
    temporary = _reset_by_admin(client_for, web, "anna")
    anna = client_for()
    assert web.sign_in(anna, "anna", temporary).headers["location"] == (
        "/account/password"
    )
    for path in ("/lists", "/lists/diabetes_bus/2026-W48", "/opt-outs", "/"):
        response = anna.get(path)
        assert (response.status_code, response.headers["location"]) == (
            303,
            "/account/password",
        ), path
    page = anna.get("/account/password")
    assert page.status_code == 200
    assert "Du er logget ind med en midlertidig adgangskode" in page.text
    assert _change(anna, web, temporary, temporary).status_code == 303
    assert "skal være en anden end den nuværende" in anna.get("/account/password").text
    assert anna.get("/lists").status_code == 303
    done = _change(anna, web, temporary, NEW)
    assert done.headers["location"] == "/lists"
    assert anna.get("/lists").status_code == 200
    assert "midlertidig" not in anna.get("/account/password").text
    with web_app.state.opspor.operational() as store:
        log = store.read_audit_log(None)
    changed = log[log["event"] == "password_changed"]["counts"].map(json.loads)
    assert changed.tolist() == [{"user": "anna", "temporary": True}]


def test_a_user_an_admin_adds_must_change_the_password_at_first_sign_in(
    client_for, web
) -> None:
    admin = client_for("ada")
    token = web.csrf_of(admin, "/admin/users")
    page = admin.post(
        "/admin/users",
        data={"name": "bo", "role": "reviewer", "csrf_token": token},
    )
    assert "skal skifte adgangskode" in page.text
    temporary = _TEMPORARY.search(page.text).group(1)
    assert "bo" in admin.get("/admin/users").text
    bo = client_for()
    assert web.sign_in(bo, "bo", temporary).headers["location"] == "/account/password"
    assert bo.get("/reports").headers["location"] == "/account/password"
    assert _change(bo, web, temporary, NEW).headers["location"] == "/reports"
    assert bo.get("/reports").status_code == 200


def test_a_temporary_password_can_still_sign_out(client_for, web) -> None:
    temporary = _reset_by_admin(client_for, web, "rita")
    rita = client_for()
    web.sign_in(rita, "rita", temporary)
    token = web.csrf_of(rita, "/account/password")
    assert rita.post("/signout", data={"csrf_token": token}).status_code == 303
    assert rita.get("/account/password").headers["location"].startswith("/signin")


# --- the CLI --------------------------------------------------------------------


def _cli(out: Path, *args: str, stdin: str | None = None) -> Any:
    result = runner.invoke(app, ["--output-dir", str(out), "users", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return result


def test_cli_add_and_reset_mark_the_password_temporary(tmp_path: Path) -> None:
    _cli(tmp_path, "add", "rita", "--role", "reviewer", "--password-stdin",
         stdin="typed-by-admin\n")  # fmt: skip
    listed = _cli(tmp_path, "list").stdout
    assert "rita" in listed and "must change password" in listed
    store = JsonUserStore(tmp_path / "users.json")
    change_own_password(store, "rita", "typed-by-admin", NEW, NEW)
    assert "must change" not in _cli(tmp_path, "list").stdout
    reset = _cli(tmp_path, "reset-password", "rita", "--json")
    [user] = json.loads(reset.stdout)["users"]
    assert user["must_change"] is True and user["sessions_ended"] == 0
    assert authenticate(store, "rita", user["temporary_password"]).status == "ok"
    typed = _cli(tmp_path, "reset-password", "rita", "--password-stdin",
                 stdin="another-typed-one\n")  # fmt: skip
    assert "they must change it at sign-in" in typed.stdout
    assert "Temporary password" not in typed.stdout
    assert authenticate(store, "rita", "another-typed-one").status == "ok"


def test_cli_reset_of_an_unknown_user_fails(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--output-dir", str(tmp_path), "users", "reset-password", "nobody"]
    )
    assert result.exit_code != 0
    assert "No user named 'nobody'" in result.stderr
