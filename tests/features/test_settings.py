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
