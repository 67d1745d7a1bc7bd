"""Fixtures for the feature SQL tests: hand-made raw rows, a build, and row fetching."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import duckdb
import pytest

from features.build import FeatureBuild, build_features
from tests.features.sql.raw_tables import RawRows, create_raw


@pytest.fixture
def make_raw(con: duckdb.DuckDBPyConnection) -> Callable[[RawRows], None]:
    """Return ``make_raw(rows)``: write hand-made raw rows into the test warehouse."""
    return lambda rows: create_raw(con, rows)


@pytest.fixture
def build(con: duckdb.DuckDBPyConnection) -> Callable[..., FeatureBuild]:
    """Return ``build(dates, checks=True)``: build every layer for the dates."""

    def run(dates: Sequence[date], checks: bool = True) -> FeatureBuild:
        return build_features(con, dates, checks=checks)

    return run


@pytest.fixture
def rows_of(con: duckdb.DuckDBPyConnection) -> Callable[..., list[dict[str, Any]]]:
    """Return ``rows_of(relation, columns)``: the rows of a relation as sorted dicts."""

    def fetch(
        relation: str, columns: Sequence[str], where: str = "true"
    ) -> list[dict[str, Any]]:
        cols = ", ".join(columns)
        result = con.execute(
            f"select {cols} from {relation} where {where} order by all"
        )
        return [dict(zip(columns, r, strict=True)) for r in result.fetchall()]

    return fetch
