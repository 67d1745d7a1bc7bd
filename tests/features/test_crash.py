"""Crash tests: a load or a features build killed at several points.

Each case runs ``opspor`` in its own process (tests/crash_harness.py) and kills
it on entering one function, with SIGKILL or SIGTERM. Afterwards the warehouse
holds the old state or the new one, the load report agrees with what was
published, and no staging copy is left (after SIGKILL the next load removes
the abandoned one; after SIGTERM none is ever left).
"""

from __future__ import annotations

import json
import shutil
import signal
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from features.build import build_features
from features.contract import TABLES
from features.load import load_extract
from features.settings import EngineSettings
from features.staging import stale_staging_folders
from tests.crash_harness import expected_returncode, run_killed
from tests.features.conftest import ExtractBuilder, tiny_tables

KILL, TERM = signal.SIGKILL, signal.SIGTERM
# (point, nth call, signal, published?): while staging, checking, inside the
# publishing transaction, and after its commit (before the report file).
LOAD_POINTS = [
    ("features.load:_stage_sources", 1, KILL, False),
    ("features.load:_stage_sources", 1, TERM, False),
    ("features.load:merge_duplicate_citizens", 1, KILL, False),
    ("features.load:_replace_table", 3, KILL, False),
    ("features.load:_replace_table", 3, TERM, False),
    ("features.load:_append_report", 1, KILL, False),
    ("features.load:write_report", 1, KILL, True),
]


@pytest.fixture
def settings(tmp_path: Path) -> EngineSettings:
    return EngineSettings(output_dir=tmp_path / "build")


def _state(warehouse: Path) -> dict[str, Any]:
    """The published extract: hash, raw rows per table, and its stored report."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(extract_hash,)] = con.execute(
            "select extract_hash from raw.extract_info"
        ).fetchall()
        rows = {
            t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in TABLES
        }
        report = con.execute(
            "select report from raw.load_reports where extract_hash = $h"
            " order by loaded_at desc limit 1",
            {"h": extract_hash},
        ).fetchone()[0]
    return {"hash": extract_hash, "rows": rows, "report": json.loads(report)}


def _newer(tiny_extract: Any) -> Path:
    builder = tiny_extract.builder().add("diagnoses", diagnosis_date=date(2026, 11, 30))
    builder.add("lab_results", value=-50.0)  # one implausible row for the report
    builder.info["extract_date"] = "2026-12-01"
    return builder.write("newer")


@pytest.mark.parametrize(("point", "nth", "sig", "published"), LOAD_POINTS)
def test_killed_load_leaves_old_or_new_state_and_no_staging(
    tiny_extract, settings, point: str, nth: int, sig, published: bool
) -> None:
    old = load_extract(tiny_extract.csv, settings=settings)
    before = _state(settings.warehouse)
    newer = _newer(tiny_extract)
    env = {"OPSPOR_OUTPUT_DIR": str(settings.output_dir)}
    args = ["load", str(newer), "--db", str(settings.warehouse)]
    done = run_killed(point, sig, args, env=env, nth=nth)
    assert done.returncode == expected_returncode(sig), done.stderr
    assert "Traceback" not in done.stderr
    after = _state(settings.warehouse)
    if published:
        assert after["hash"] != old.extract_hash
    else:
        assert after == before
    loaded = {t: c["loaded"] for t, c in after["report"]["tables"].items()}
    assert loaded == after["rows"]  # the report agrees with what was published
    if sig == signal.SIGTERM:
        assert stale_staging_folders(settings.warehouse) == []
    again = load_extract(newer, settings=settings)  # sweeps an abandoned stage
    assert stale_staging_folders(settings.warehouse) == []
    assert again.unchanged is published
    stored = json.loads(Path(again.report_path or "").read_text(encoding="utf-8"))
    assert stored["extract_hash"] == again.extract_hash
    assert stored["tables"] == _state(settings.warehouse)["report"]["tables"]
    assert not list(Path(settings.output_dir).glob("**/*.tmp"))


FEATURE_POINTS = [
    ("features.build:_materialise_tables", 1, KILL, False),
    ("features.build:_check_layer", 3, TERM, False),
    ("features.build:stamp_derived", 1, KILL, False),
    ("features.build:_count_features", 1, KILL, True),
]


FIRST = date(2026, 6, 1)


def _mart_dates(warehouse: Path) -> tuple[list[date], list[date]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mart = con.execute(
            "select distinct as_of_date from marts.scoring_features order by 1"
        ).fetchall()
        stamps = con.execute(
            "select as_of_date from provenance.stamps where kind = 'features'"
            " order by 1"
        ).fetchall()
    return [r[0] for r in mart], [r[0] for r in stamps]


@pytest.fixture(scope="module")
def built_at_first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output root with the tiny extract loaded and its mart built at FIRST.

    Built once; each kill point starts from its own copy.
    """
    root = tmp_path_factory.mktemp("built")
    extract = ExtractBuilder(root / "extracts", tiny_tables()).write("tiny_csv")
    settings = EngineSettings(output_dir=root / "build")
    load_extract(extract, settings=settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        build_features(con, [FIRST])
    return settings.output_dir


@pytest.mark.parametrize(("point", "nth", "sig", "built"), FEATURE_POINTS)
def test_killed_features_build_leaves_old_or_new_mart(
    built_at_first, settings, point: str, nth: int, sig, built: bool
) -> None:
    shutil.copytree(built_at_first, settings.output_dir, dirs_exist_ok=True)
    first, second = FIRST, date(2026, 9, 1)
    env = {"OPSPOR_OUTPUT_DIR": str(settings.output_dir)}
    args = ["features", "--as-of", second.isoformat(), "--db", str(settings.warehouse)]
    done = run_killed(point, sig, args, env=env, nth=nth)
    assert done.returncode == expected_returncode(sig), done.stderr
    mart, stamps = _mart_dates(settings.warehouse)
    assert mart == ([second] if built else [first])
    assert mart[0] in stamps  # the stamp was committed with the mart
    assert stale_staging_folders(settings.warehouse) == []
