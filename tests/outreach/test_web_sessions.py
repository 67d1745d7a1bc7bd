"""Server-side sessions: revoked on sign-out and removal, idle and absolute timeouts."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.app.web.auth import SESSION_COOKIE
from outreach.app.web.errors import HSTS
from outreach.app.web.sessions import SESSIONS_FILE


def _old_cookie_client(web_app: Any, cookie: str) -> TestClient:
    client = TestClient(web_app, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def test_cookie_carries_a_session_id_not_the_user(client_for, web_app) -> None:
    client = client_for("anna")
    data = web_app.state.opspor.codec.loads(client.cookies[SESSION_COOKIE])
    assert set(data) >= {"sid", "csrf"}
    assert "user" not in data
    assert "anna" not in str(data)
    path = web_app.state.opspor.settings.output_dir / SESSIONS_FILE
    with sqlite3.connect(path) as con:
        rows = con.execute("select id_hash, user_name from sessions").fetchall()
    assert [r[1] for r in rows] == ["anna"]
    assert rows[0][0] != data["sid"]  # only a hash of the id is stored


def test_old_cookie_stops_working_after_sign_out(client_for, web_app, web) -> None:
    client = client_for("anna")
    old = client.cookies[SESSION_COOKIE]
    token = web.csrf_of(client, "/lists")
    assert client.post("/signout", data={"csrf_token": token}).status_code == 303
    replayed = _old_cookie_client(web_app, old)
    assert replayed.get("/lists").status_code == 303  # back to sign-in


def test_session_ends_after_thirty_idle_minutes(client_for, web_clock, web) -> None:
    client = client_for("anna")
    web_clock["now"] = web.NOW + timedelta(minutes=29)
    assert client.get("/lists").status_code == 200
    web_clock["now"] = web.NOW + timedelta(minutes=58)  # 29 idle minutes again
    assert client.get("/lists").status_code == 200
    web_clock["now"] = web.NOW + timedelta(minutes=58 + 31)
    assert client.get("/lists").status_code == 303
    web_clock["now"] += timedelta(minutes=1)
    assert client.get("/lists").status_code == 303  # ended, not just paused


def test_session_ends_after_twelve_hours_however_busy(
    client_for, web_clock, web
) -> None:
    client = client_for("rita")
    for step in range(1, 37):  # every 20 minutes for 12 hours
        web_clock["now"] = web.NOW + timedelta(minutes=20 * step)
        assert client.get("/reports").status_code == 200, step
    web_clock["now"] = web.NOW + timedelta(hours=12, minutes=1)
    assert client.get("/reports").status_code == 303


def test_ending_all_sessions_of_a_user_signs_them_out(client_for, web_app) -> None:
    first, second, other = client_for("anna"), client_for("anna"), client_for("rita")
    assert web_app.state.opspor.sessions.end_all("anna") == 2
    assert first.get("/lists").status_code == 303
    assert second.get("/lists").status_code == 303
    assert other.get("/reports").status_code == 200


def test_cli_users_remove_ends_the_users_sessions(
    client_for, web_app, web_settings
) -> None:
    from outreach.app.cli import app as cli

    client = client_for("anna")
    result = CliRunner().invoke(
        cli, ["--output-dir", str(web_settings.output_dir), "users", "remove", "anna"]
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(web_settings.output_dir / SESSIONS_FILE) as con:
        assert con.execute("select count(*) from sessions").fetchone() == (0,)
    assert client.get("/lists").status_code == 303


def test_signing_in_again_ends_the_previous_session(client_for, web_app, web):
    client = client_for("anna")
    old = client.cookies[SESSION_COOKIE]
    token = web.csrf_of(client, "/lists")  # someone signs in on the same browser
    form = {"username": "rita", "password": web.PASSWORD, "csrf_token": token}
    assert client.post("/signin", data=form).status_code == 303
    assert client.get("/reports").status_code == 200
    assert _old_cookie_client(web_app, old).get("/lists").status_code == 303


@pytest.mark.parametrize("tls", [False, True])
def test_secure_cookie_and_hsts_only_when_served_over_tls(
    web_settings, web, tls: bool
) -> None:
    from outreach.app.web import create_app

    settings = dataclasses.replace(web_settings, tls=tls)
    app = create_app(settings, secret_key="s" * 40, clock=lambda: web.NOW)
    client = TestClient(app, follow_redirects=False, base_url="https://testserver")
    response = web.sign_in(client, "rita")
    cookie = response.headers["set-cookie"]
    assert ("Secure" in cookie) is tls
    assert (response.headers.get("Strict-Transport-Security") == HSTS) is tls
    page = client.get("/reports")
    assert (page.headers.get("Strict-Transport-Security") == HSTS) is tls
    assert page.status_code == 200


def test_session_settings_come_from_the_environment() -> None:
    settings = EngineSettings.from_env(
        {
            "OPSPOR_TLS": "yes",
            "OPSPOR_SESSION_IDLE_MINUTES": "10",
            "OPSPOR_SESSION_MAX_HOURS": "8",
        }
    )
    assert (settings.tls, settings.session_idle_minutes) == (True, 10)
    assert settings.session_max_hours == 8
    defaults = EngineSettings.from_env({})
    assert (defaults.tls, defaults.session_idle_minutes) == (False, 30)
    assert defaults.session_max_hours == 12


class TestErrorMessages:
    def test_idle_minutes_must_be_a_whole_number(self) -> None:
        with pytest.raises(ConfigError) as error:
            EngineSettings.from_env({"OPSPOR_SESSION_IDLE_MINUTES": "half an hour"})
        assert str(error.value) == (
            "The 'OPSPOR_SESSION_IDLE_MINUTES' setting from the environment must be "
            "a whole number of at least 1. Got 'half an hour' instead."
        )

    def test_max_hours_must_be_at_least_one(self) -> None:
        with pytest.raises(ConfigError) as error:
            EngineSettings(session_max_hours=0)
        assert str(error.value) == (
            "The 'session_max_hours' setting from EngineSettings must be a whole "
            "number of at least 1. Got 0 instead."
        )


def test_cli_serve_tls_makes_the_cookie_secure(tmp_path, monkeypatch) -> None:
    import uvicorn

    from outreach.app.cli import app as cli

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    monkeypatch.delenv("OPSPOR_TLS", raising=False)
    runner = CliRunner()
    out = ["--output-dir", str(tmp_path), "serve"]
    assert runner.invoke(cli, [*out, "--tls"]).exit_code == 0
    assert runner.invoke(cli, out).exit_code == 0
    assert [a.state.opspor.codec.secure for a in served] == [True, False]
