from __future__ import annotations

from pathlib import Path

import pytest

from features.errors import ConfigError
from features.settings import EngineSettings


def test_from_env_defaults_to_build_folder() -> None:
    settings = EngineSettings.from_env({})
    assert settings.output_dir == Path("build")
    assert settings.warehouse == Path("build/opspor.duckdb")
    assert settings.tracking_uri.startswith("sqlite:///")
    assert settings.tracking_uri.endswith("build/mlflow.db")


def test_from_env_reads_opspor_variables() -> None:
    settings = EngineSettings.from_env(
        {
            "OPSPOR_OUTPUT_DIR": "/tmp/o",
            "OPSPOR_DB": "/tmp/w.duckdb",
            "MLFLOW_TRACKING_URI": "http://x:5000",
        }
    )
    assert settings.output_dir == Path("/tmp/o")
    assert settings.warehouse == Path("/tmp/w.duckdb")
    assert settings.tracking_uri == "http://x:5000"


def test_from_env_reads_the_operational_store_url() -> None:
    url = "postgresql://opspor@db.example/opspor"
    assert EngineSettings.from_env({"OPSPOR_OPERATIONAL_DB": url}).operational_db == url
    assert EngineSettings.from_env({}).operational_db is None


def test_from_env_option_beats_environment() -> None:
    settings = EngineSettings.from_env(
        {"OPSPOR_DB": "/tmp/env.duckdb"}, db_path=Path("/tmp/cli.duckdb")
    )
    assert settings.warehouse == Path("/tmp/cli.duckdb")


def test_from_env_ignores_unset_overrides() -> None:
    settings = EngineSettings.from_env({"OPSPOR_OUTPUT_DIR": "/tmp/o"}, output_dir=None)
    assert settings.output_dir == Path("/tmp/o")


class TestErrorMessages:
    def test_bad_log_level(self) -> None:
        with pytest.raises(ConfigError) as info:
            EngineSettings.from_env({"OPSPOR_LOG_LEVEL": "loud"})
        assert str(info.value) == (
            "The 'log_level' setting from EngineSettings must be one of "
            "('DEBUG', 'INFO', 'WARNING', 'ERROR'). Got 'LOUD' instead."
        )


def test_from_env_reads_every_runtime_variable() -> None:
    settings = EngineSettings.from_env(
        {
            "OPSPOR_MODEL_THREADS": "4",
            "OPSPOR_LOCK_WAIT": "2.5",
            "OPSPOR_OPERATIONAL_DB": "postgresql://opspor@db/opspor",
            "OPSPOR_SECRET_KEY": "s" * 32,
            "USER": "anna",
        }
    )
    assert settings.model_threads == 4
    assert settings.lock_wait == 2.5
    assert settings.operational_db == "postgresql://opspor@db/opspor"
    assert settings.secret_key == "s" * 32
    assert settings.default_actor == "anna"
    assert "s" * 32 not in repr(settings)


def test_runtime_defaults_without_environment() -> None:
    settings = EngineSettings.from_env({})
    assert (settings.model_threads, settings.lock_wait) == (1, 10.0)
    assert settings.operational_db is None
    assert settings.secret_key is None
    assert settings.default_actor is None


@pytest.mark.parametrize(("given", "wait"), [("-3", 0.0), ("soon", 10.0), ("", 10.0)])
def test_lock_wait_is_lenient_as_before(given: str, wait: float) -> None:
    assert EngineSettings.from_env({"OPSPOR_LOCK_WAIT": given}).lock_wait == wait


def test_bad_model_threads() -> None:
    with pytest.raises(ConfigError) as info:
        EngineSettings.from_env({"OPSPOR_MODEL_THREADS": "many"})
    assert str(info.value) == (
        "The 'OPSPOR_MODEL_THREADS' setting from the environment must be a whole "
        "number of at least 1. Got 'many' instead."
    )


def test_weekly_run_explains_five_times_the_capacities_at_least_5000() -> None:
    settings = EngineSettings.from_env({})
    assert settings.ranks_to_explain([40, 25]) == 5_000
    assert settings.ranks_to_explain([1_000, 500]) == 7_500
    assert EngineSettings(explain_ranks=800).ranks_to_explain([1_000]) == 800
    everyone = EngineSettings.from_env({"OPSPOR_EXPLAIN_RANKS": "0"})
    assert everyone.ranks_to_explain([40]) is None


@pytest.mark.parametrize("given", ["-1", "all"])
def test_bad_explain_ranks(given: str) -> None:
    with pytest.raises(ConfigError) as info:
        EngineSettings.from_env({"OPSPOR_EXPLAIN_RANKS": given})
    assert str(info.value) == (
        "The 'OPSPOR_EXPLAIN_RANKS' setting from the environment must be a whole "
        "number of at least 0 (0: explain every scored citizen). "
        f"Got {given!r} instead."
    )
    with pytest.raises(ConfigError, match="'explain_ranks' setting from Engine"):
        EngineSettings(explain_ranks=-5)
