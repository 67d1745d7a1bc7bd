"""Session-scoped synthetic extracts for the generator's tests (each generated once)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import duckdb
import pytest

from synthetic_data import (
    GenerationResult,
    SyntheticProfile,
    generate_extract,
    load_profile,
)

Generate = Callable[..., GenerationResult]


@pytest.fixture(scope="session")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Generate:
    """Generate a profile variant once: generate(name, fmt=..., **overrides)."""
    cache: dict[tuple[object, ...], GenerationResult] = {}

    def run(
        name: str = "region_small", *, fmt: str = "csv", **overrides: object
    ) -> GenerationResult:
        key = (name, fmt, tuple(sorted(overrides.items())))
        if key not in cache:
            profile: SyntheticProfile = dataclasses.replace(
                load_profile(name), **overrides
            )
            out = tmp_path_factory.mktemp("synth") / name
            cache[key] = generate_extract(profile, out, fmt=fmt)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def small_extract(generate: Generate) -> GenerationResult:
    """region_small as CSV (the test region, 5,000 citizens)."""
    return generate("region_small", fmt="csv")


@pytest.fixture(scope="session")
def region_30k(generate: Generate) -> GenerationResult:
    """A 30,000-citizen region as Parquet, for gradients that need more citizens."""
    return generate("region_demo", fmt="parquet")


@pytest.fixture
def tiny_profile() -> SyntheticProfile:
    """A 300-citizen profile for tests of writing behaviour."""
    return load_profile("region_small", citizens=300)


TABLES = [
    "citizens",
    "diagnoses",
    "prescriptions",
    "appointments",
    "lab_results",
    "hospital_contacts",
]


@pytest.fixture(scope="session")
def open_extract() -> Callable[[GenerationResult], duckdb.DuckDBPyConnection]:
    """open_extract(result): DuckDB with a view per table, plus truth, truth_risk."""

    def run(result: GenerationResult) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        reader = "read_csv_auto" if result.fmt == "csv" else "read_parquet"
        for table in TABLES:
            path = result.out_dir / f"{table}.{result.fmt}"
            con.execute(f"create view {table} as select * from {reader}('{path}')")
        con.execute(
            f"create view truth as select * from read_parquet('{result.truth_path}')"
        )
        con.execute(
            "create view truth_risk as select * from "
            f"read_parquet('{result.truth_risk_path}')"
        )
        return con

    return run
