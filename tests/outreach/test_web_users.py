"""Users of the web app: JSON file, argon2 hashes, scope rules, lock-out, the CLI."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.errors import ConfigError, NotFoundError
from outreach.app.accounts import set_disabled
from outreach.app.cli import app as cli
from outreach.app.users import (
    LOCK_MINUTES,
    MAX_FAILURES,
    JsonUserStore,
    add_user,
    authenticate,
    list_users,
    next_failure_state,
    remove_user,
)

NOW = datetime(2026, 11, 27, 9, 0, 0)
PASSWORD = "a-long-password"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same algorithm (argon2id), cheap parameters: these tests verify many times."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        "outreach.app.users._hasher",
        PasswordHasher(time_cost=1, memory_cost=64, parallelism=1),
    )


@pytest.fixture
def store(tmp_path: Path) -> JsonUserStore:
    return JsonUserStore(tmp_path / "users.json")


def _coordinator(store: JsonUserStore, name: str = "anna") -> None:
    add_user(
        store,
        name,
        role="coordinator",
        password=PASSWORD,
        programmes=["diabetes_bus"],
        municipalities=["390"],
    )


def test_add_user_keeps_only_an_argon2_hash_in_a_private_file(
    store: JsonUserStore,
) -> None:
    _coordinator(store)
    text = store.path.read_text()
    assert PASSWORD not in text
    record = json.loads(text)["users"][0]
    assert record["password_hash"].startswith("$argon2id$")
    assert record["municipalities"] == ["390"]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_list_users_never_shows_hashes(store: JsonUserStore) -> None:
    _coordinator(store)
    add_user(store, "rita", role="reviewer", password=PASSWORD)
    result = list_users(store)
    assert [u["name"] for u in result.users] == ["anna", "rita"]
    assert "argon2" not in json.dumps(result.users)


def test_remove_user_then_it_cannot_sign_in(store: JsonUserStore) -> None:
    _coordinator(store)
    remove_user(store, "anna")
    assert authenticate(store, "anna", PASSWORD, now=NOW).status == "bad"


def test_authenticate_accepts_the_right_password_case_insensitive_name(
    store: JsonUserStore,
) -> None:
    _coordinator(store)
    answer = authenticate(store, " Anna ", PASSWORD, now=NOW)
    assert answer.status == "ok"
    assert answer.user is not None and answer.user.programmes == ("diabetes_bus",)


def test_authenticate_locks_after_max_failures_and_unlocks_after_the_period(
    store: JsonUserStore,
) -> None:
    _coordinator(store)
    answers = [
        authenticate(store, "anna", "wrong-password", now=NOW).status
        for _ in range(MAX_FAILURES)
    ]
    assert answers == ["bad"] * (MAX_FAILURES - 1) + ["locked"]
    assert authenticate(store, "anna", PASSWORD, now=NOW).status == "locked"
    later = NOW + timedelta(minutes=LOCK_MINUTES, seconds=1)
    assert authenticate(store, "anna", PASSWORD, now=later).status == "ok"
    user = store.get_user("anna")
    assert user is not None and user.failed_attempts == 0 and user.locked_until is None


def test_a_good_sign_in_forgets_earlier_failures(store: JsonUserStore) -> None:
    _coordinator(store)
    for _ in range(MAX_FAILURES - 1):
        authenticate(store, "anna", "wrong-password", now=NOW)
    authenticate(store, "anna", PASSWORD, now=NOW)
    assert authenticate(store, "anna", "wrong-password", now=NOW).status == "bad"


def test_next_failure_state_does_not_extend_a_running_lock() -> None:
    until = NOW + timedelta(minutes=5)
    assert next_failure_state(0, until, NOW) == (0, until)
    assert next_failure_state(MAX_FAILURES - 1, None, NOW) == (
        0,
        NOW + timedelta(minutes=LOCK_MINUTES),
    )


class TestErrorMessages:
    def test_bad_name(self, store: JsonUserStore) -> None:
        with pytest.raises(ConfigError) as error:
            add_user(store, "Anna Smith", role="reviewer", password=PASSWORD)
        assert str(error.value) == (
            "The user name 'Anna Smith' must be 2-40 characters: a lower-case letter, "
            "then "
            "letters, digits, '.', '_' or '-'."
        )

    def test_bad_role(self, store: JsonUserStore) -> None:
        with pytest.raises(ConfigError) as error:
            add_user(store, "root", role="superuser", password=PASSWORD)
        assert str(error.value) == (
            "The role 'superuser' is not one of "
            "('coordinator', 'data_scientist', 'reviewer', 'admin')."
        )

    def test_coordinator_without_scope(self, store: JsonUserStore) -> None:
        with pytest.raises(ConfigError) as error:
            add_user(
                store,
                "anna",
                role="coordinator",
                password=PASSWORD,
                programmes=["diabetes_bus"],
            )
        assert str(error.value) == (
            "A coordinator needs at least one --programme and one --municipality."
        )

    def test_reviewer_with_scope(self, store: JsonUserStore) -> None:
        with pytest.raises(ConfigError) as error:
            add_user(
                store,
                "rita",
                role="reviewer",
                password=PASSWORD,
                municipalities=["390"],
            )
        assert str(error.value) == (
            "Only coordinators are scoped to programmes and municipalities; "
            "a reviewer sees "
            "aggregates only."
        )

    def test_unknown_programme(self, store: JsonUserStore) -> None:
        with pytest.raises(
            ConfigError, match=r"^Unknown programme 'bus'. Available: \["
        ):
            add_user(
                store,
                "anna",
                role="coordinator",
                password=PASSWORD,
                programmes=["bus"],
                municipalities=["390"],
            )

    def test_bad_municipality(self, store: JsonUserStore) -> None:
        with pytest.raises(ConfigError) as error:
            add_user(
                store,
                "anna",
                role="coordinator",
                password=PASSWORD,
                programmes=["diabetes_bus"],
                municipalities=["0390"],
            )
        assert (
            str(error.value) == "The municipality '0390' is not a 3-digit kommunekode."
        )

    def test_short_password(self, store: JsonUserStore) -> None:
        with pytest.raises(ConfigError) as error:
            add_user(store, "rita", role="reviewer", password="short")
        assert str(error.value) == "The password must have at least 8 characters."

    def test_duplicate(self, store: JsonUserStore) -> None:
        add_user(store, "rita", role="reviewer", password=PASSWORD)
        with pytest.raises(ConfigError) as error:
            add_user(store, "rita", role="reviewer", password=PASSWORD)
        assert str(error.value) == "The user 'rita' exists already; remove it first."

    def test_remove_unknown(self, store: JsonUserStore) -> None:
        with pytest.raises(NotFoundError) as error:
            remove_user(store, "nobody")
        assert str(error.value) == "No user named 'nobody'."


def test_cli_users_add_list_remove(tmp_path: Path) -> None:
    runner = CliRunner()
    out = ["--output-dir", str(tmp_path)]
    added = runner.invoke(
        cli,
        [
            *out,
            "users",
            "add",
            "anna",
            "--role",
            "coordinator",
            "--programme",
            "diabetes_bus",
            "--municipality",
            "390",
            "--municipality",
            "376",
            "--password-stdin",
            "--json",
        ],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["users"][0]["municipalities"] == ["390", "376"]
    listed = runner.invoke(cli, [*out, "users", "list"])
    assert "anna" in listed.stdout and "390,376" in listed.stdout
    assert "disabled" not in listed.stdout
    store = JsonUserStore(tmp_path / "users.json")
    assert authenticate(store, "anna", PASSWORD, now=NOW).status == "ok"
    set_disabled(store, "anna", True)
    assert "disabled" in runner.invoke(cli, [*out, "users", "list"]).stdout
    assert authenticate(store, "anna", PASSWORD, now=NOW).status == "bad"
    removed = runner.invoke(cli, [*out, "users", "remove", "anna"])
    assert removed.exit_code == 0
    assert store.get_user("anna") is None


def test_cli_users_add_needs_password_stdin_and_maps_errors_to_exit_2(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["--output-dir", str(tmp_path), "users", "add", "rita", "--role", "reviewer"],
    )
    assert result.exit_code == 2
    assert (
        "ConfigError: Give the password on standard input with --password-stdin."
        in result.output
    )
    unknown = runner.invoke(
        cli, ["--output-dir", str(tmp_path), "users", "remove", "nobody"]
    )
    assert unknown.exit_code == 1
    assert "NotFoundError: No user named 'nobody'." in unknown.output


def test_cli_serve_refuses_several_workers_on_the_embedded_store(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("OPSPOR_OPERATIONAL_DB", raising=False)
    result = CliRunner().invoke(
        cli, ["--output-dir", str(tmp_path), "serve", "--workers", "2"]
    )
    assert result.exit_code == 2
    assert "needs OPSPOR_OPERATIONAL_DB" in result.output


def test_serve_gives_slow_starting_workers_time_to_import_the_app(
    tmp_path: Path, monkeypatch
) -> None:
    import uvicorn

    from features.settings import EngineSettings
    from outreach.app.web.app import WORKER_START_SECONDS, serve

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    for name in (
        "OPSPOR_OUTPUT_DIR",
        "OPSPOR_DB",
        "OPSPOR_OPERATIONAL_DB",
        "OPSPOR_TLS",
    ):
        monkeypatch.setenv(name, "")  # serve() sets them for its workers; restored
    settings = EngineSettings(
        output_dir=tmp_path, operational_db="postgresql://db.example/ops"
    )
    serve(settings, workers=4)
    [kwargs] = calls
    assert kwargs["workers"] == 4
    assert kwargs["timeout_worker_healthcheck"] == WORKER_START_SECONDS >= 30


def test_cli_users_add_demo_is_idempotent(tmp_path: Path) -> None:
    runner = CliRunner()
    out = ["--output-dir", str(tmp_path)]
    first = runner.invoke(cli, [*out, "users", "add-demo", "--json"])
    assert first.exit_code == 0, first.output
    assert [u["name"] for u in json.loads(first.stdout)["users"]] == [
        "koordinator",
        "analytiker",
        "revisor",
        "administrator",
    ]
    again = runner.invoke(cli, [*out, "users", "add-demo"])
    assert "all existed already" in again.stdout
    store = JsonUserStore(tmp_path / "users.json")
    assert authenticate(store, "revisor", "demo-revisor", now=NOW).status == "ok"
    assert store.get_user("administrator").role == "admin"
