"""DuckDB's memory limit, threads and temp directory come from EngineSettings."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from features.db import BAD_DUCKDB_SETTING, connect
from features.errors import ConfigError
from features.settings import MEMORY_RULE, EngineSettings


def _setting(con: object, name: str) -> object:
    row = con.execute("select current_setting($n)", {"n": name}).fetchone()  # type: ignore[attr-defined]
    return row[0]


def test_connect_applies_the_engine_duckdb_settings(tmp_path: Path) -> None:
    settings = EngineSettings(
        output_dir=tmp_path,
        duckdb_memory_limit="1.5GiB",
        duckdb_threads=1,
        duckdb_temp_directory=tmp_path / "spill",
    )
    with closing(connect(settings.warehouse, settings=settings)) as con:
        assert _setting(con, "memory_limit") == "1.5 GiB"
        assert _setting(con, "threads") == 1
        assert _setting(con, "temp_directory") == str(tmp_path / "spill")


def test_connect_reads_the_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSPOR_DUCKDB_MEMORY_LIMIT", "512MiB")
    monkeypatch.setenv("OPSPOR_DUCKDB_THREADS", "1")
    with closing(connect(tmp_path / "w.duckdb", read_only=False)) as con:
        assert _setting(con, "memory_limit") == "512.0 MiB"
        assert _setting(con, "threads") == 1
    with closing(connect(None)) as con:
        assert _setting(con, "memory_limit") == "512.0 MiB"


def test_temp_directory_defaults_beside_the_warehouse(tmp_path: Path) -> None:
    settings = EngineSettings(output_dir=tmp_path / "out")
    assert settings.duckdb_config(settings.warehouse) == {
        "temp_directory": str(tmp_path / "out" / "duckdb_tmp")
    }
    assert settings.duckdb_config() == {
        "temp_directory": str(tmp_path / "out" / "duckdb_tmp")
    }
    with closing(connect(settings.warehouse, settings=settings)) as con:
        assert _setting(con, "temp_directory") == str(tmp_path / "out" / "duckdb_tmp")


def test_from_env_reads_the_duckdb_variables() -> None:
    settings = EngineSettings.from_env(
        {
            "OPSPOR_DUCKDB_MEMORY_LIMIT": " 12GB ",
            "OPSPOR_DUCKDB_THREADS": "2",
            "OPSPOR_DUCKDB_TEMP_DIRECTORY": "/tmp/spill",
        }
    )
    assert settings.duckdb_memory_limit == "12GB"
    assert settings.duckdb_threads == 2
    assert settings.duckdb_temp_directory == Path("/tmp/spill")
    assert settings.duckdb_config() == {
        "temp_directory": "/tmp/spill",
        "memory_limit": "12GB",
        "threads": "2",
    }


class TestErrorMessages:
    @pytest.mark.parametrize("limit", ["lots", "12", "12 parsecs", "-1GB", "50%"])
    def test_bad_memory_limit(self, limit: str) -> None:
        with pytest.raises(ConfigError) as info:
            EngineSettings(duckdb_memory_limit=limit)
        assert str(info.value) == (
            f"The 'duckdb_memory_limit' setting from EngineSettings must be "
            f"{MEMORY_RULE}. Got {limit!r} instead."
        )

    def test_bad_memory_limit_from_the_environment(self) -> None:
        with pytest.raises(ConfigError, match="'duckdb_memory_limit'"):
            EngineSettings.from_env({"OPSPOR_DUCKDB_MEMORY_LIMIT": "much"})

    def test_zero_threads(self) -> None:
        with pytest.raises(ConfigError) as info:
            EngineSettings(duckdb_threads=0)
        assert str(info.value) == (
            "The 'duckdb_threads' setting from EngineSettings must be a whole number "
            "of at least 1. Got 0 instead."
        )

    def test_threads_that_are_not_a_number(self) -> None:
        with pytest.raises(ConfigError) as info:
            EngineSettings.from_env({"OPSPOR_DUCKDB_THREADS": "two"})
        assert str(info.value) == (
            "The 'OPSPOR_DUCKDB_THREADS' setting from the environment must be a whole "
            "number of at least 1. Got 'two' instead."
        )

    def test_duckdb_refusing_a_setting(self, tmp_path: Path) -> None:
        # Validation stops bad values first; a value that slipped past it (set
        # after construction here) must still end as a ConfigError, not a crash.
        bad = EngineSettings(output_dir=tmp_path)
        object.__setattr__(bad, "duckdb_memory_limit", "12 parsecs")
        with pytest.raises(ConfigError) as info:
            connect(tmp_path / "w.duckdb", settings=bad)
        assert str(info.value).startswith(BAD_DUCKDB_SETTING.split("{")[0])
        assert "parsecs" in str(info.value)
