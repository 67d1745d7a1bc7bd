"""Fixtures shared by every test package: an in-memory warehouse and isolated settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
