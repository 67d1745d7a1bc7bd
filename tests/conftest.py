"""Fixtures shared by every test package: warehouses, settings, a trained region."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB warehouse, closed after the test."""
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every OPSPOR_* output at tmp_path; return the output root."""
    out = tmp_path / "build"
    monkeypatch.setenv("OPSPOR_OUTPUT_DIR", str(out))
    monkeypatch.delenv("OPSPOR_DB", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("OPSPOR_MLFLOW_URI", raising=False)
    return out


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the heaviest test files first (``tests/schedule.py`` says why).

    A stable sort on the file's place in ``heavy_files.txt``: tests keep their
    order within a file and every unlisted file keeps its place after them.
    """
    from tests.schedule import heavy_files

    rank = {name: i for i, name in enumerate(heavy_files())}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def region_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's trained region_small, built once for every worker (read only)."""
    from tests.region_cache import ensure_cache, shared_root

    return ensure_cache(shared_root(tmp_path_factory))


@pytest.fixture
def trained_region(region_cache: Path, tmp_path: Path) -> Any:
    """This test's own copy of the trained region_small (``tests/region_cache.py``)."""
    from tests.region_cache import copy_region

    return copy_region(region_cache, tmp_path / "build")
