"""Sign-in answers that do not reveal who exists, and per-address throttling."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

import outreach.app.users as users_module
from outreach.app.users import MAX_FAILURES, JsonUserStore, authenticate
from outreach.app.web.i18n import TEXT
from outreach.app.web.throttle import MAX_ADDRESS_FAILURES, SignInThrottle

_TOKEN = re.compile(r'value="[A-Za-z0-9_-]{40,}"')


def _client(web_app: Any, host: str) -> TestClient:
    return TestClient(web_app, follow_redirects=False, client=(host, 50000))


def _page(response: Any) -> str:
    """The page without its CSRF token (which differs per session)."""
    return _TOKEN.sub("", response.text)


def _lock(web_app: Any, web: Any, name: str) -> None:
    """Lock an account from enough addresses that none is throttled."""
    for i in range(MAX_FAILURES):
        client = _client(web_app, f"10.1.0.{i}")
        assert web.sign_in(client, name, "wrong-password").status_code == 401


def test_locked_unknown_and_wrong_password_get_the_same_page(web_app, web) -> None:
    _lock(web_app, web, "anna")
    answers = [
        web.sign_in(_client(web_app, "10.2.0.1"), "anna", web.PASSWORD),  # locked
        web.sign_in(_client(web_app, "10.2.0.2"), "nobody", web.PASSWORD),
        web.sign_in(_client(web_app, "10.2.0.3"), "dan", "wrong-password"),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({_page(a) for a in answers}) == 1
    assert TEXT["da"]["bad_credentials"] in answers[0].text


def test_an_address_is_throttled_whatever_name_it_tries(
    web_app, web, web_clock
) -> None:
    attacker = _client(web_app, "10.3.0.1")
    for name in ("nobody", "anna", "rita", "x", "y")[:MAX_ADDRESS_FAILURES]:
        assert web.sign_in(attacker, name, "wrong-password").status_code == 401
    for name in ("anna", "nobody"):  # even the right password waits
        refused = web.sign_in(attacker, name, web.PASSWORD)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "900"
        assert TEXT["da"]["throttled"] in refused.text
    assert web.sign_in(_client(web_app, "10.3.0.2"), "anna").status_code == 303
    web_clock["now"] = web.NOW + timedelta(minutes=15, seconds=1)
    assert web.sign_in(attacker, "anna", web.PASSWORD).status_code == 303


def test_one_address_cannot_lock_someone_elses_account(
    web_app, web, web_settings
) -> None:
    attacker = _client(web_app, "10.4.0.1")
    for _ in range(3 * MAX_FAILURES):
        web.sign_in(attacker, "anna", "wrong-password")
    store = JsonUserStore(web_settings.output_dir / "users.json")
    anna = store.get_user("anna")
    assert anna is not None and anna.locked_until is None
    assert web.sign_in(_client(web_app, "10.4.0.2"), "anna").status_code == 303


def test_throttle_forgets_failures_after_the_window(web, tmp_path) -> None:
    path = tmp_path / "sessions.sqlite3"
    throttle = SignInThrottle(path, max_failures=2, window=timedelta(minutes=15))
    throttle.record_failure("a", web.NOW)
    assert throttle.blocked_until("a", web.NOW) is None
    throttle.record_failure("a", web.NOW + timedelta(minutes=5))
    until = throttle.blocked_until("a", web.NOW + timedelta(minutes=6))
    assert until == web.NOW + timedelta(minutes=15)
    assert throttle.blocked_until("b", web.NOW) is None
    assert throttle.blocked_until("a", web.NOW + timedelta(minutes=15)) is None


def test_throttle_counts_the_failures_of_every_app_process(web, tmp_path) -> None:
    path = tmp_path / "sessions.sqlite3"
    first, second = SignInThrottle(path), SignInThrottle(path)
    for i in range(MAX_ADDRESS_FAILURES):
        (first if i % 2 else second).record_failure("10.5.0.1", web.NOW)
    assert first.blocked_until("10.5.0.1", web.NOW) is not None
    assert second.blocked_until("10.5.0.1", web.NOW) is not None
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("case", ["unknown", "wrong", "locked", "right"])
def test_every_sign_in_answer_verifies_exactly_one_hash(
    web_settings, web, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    store = JsonUserStore(web_settings.output_dir / "users.json")
    if case == "locked":
        for _ in range(MAX_FAILURES):
            authenticate(store, "anna", "wrong-password", now=web.NOW)
    calls: list[str] = []
    real = users_module._verify
    monkeypatch.setattr(
        users_module, "_verify", lambda h, p: calls.append(h) or real(h, p)
    )
    name = "nobody" if case == "unknown" else "anna"
    password = web.PASSWORD if case in ("locked", "right") else "wrong-password"
    answer = authenticate(store, name, password, now=web.NOW)
    assert len(calls) == 1
    assert answer.status == {"right": "ok", "locked": "locked"}.get(case, "bad")
