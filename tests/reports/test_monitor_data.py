"""The monitor's data section on a generated region with planted changes (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from features.settings import EngineSettings
from reports.monitor_config import MonitorConfig
from reports.monitor_data import monitor_data
from tests.reports.monitor_regions import EXTRACT_DATE, plant_changes


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Warehouses of region_small as generated (stable) and with planted changes."""
    from features.load import load_extract
    from synthetic_data import generate_extract, load_profile

    root = tmp_path_factory.mktemp("monitor_data")
    stable = generate_extract(
        load_profile("region_small"), root / "stable", fmt="parquet"
    )
    planted = plant_changes(stable.out_dir, root / "planted")
    out = {}
    for name, folder in (("stable", stable.out_dir), ("planted", planted)):
        settings = EngineSettings(output_dir=root / f"build_{name}")
        load_extract(folder, settings=settings)
        out[name] = settings.warehouse
    return out


def _section(db: Path) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        section, alerts = monitor_data(
            con, extract_date=EXTRACT_DATE, config=MonitorConfig.from_toml()
        )
    finally:
        con.close()
    return section, {(a.code, a.subject) for a in alerts}


def test_monitor_data_stable_region_raises_nothing(regions: dict[str, Path]) -> None:
    section, alerts = _section(regions["stable"])
    assert alerts == set()
    assert section["lab_values"]["NPU27300"]["ratio"] == pytest.approx(1.0, abs=0.1)
    assert len(section["loads"]) == 1


def test_monitor_data_flags_each_planted_change(regions: dict[str, Path]) -> None:
    section, alerts = _section(regions["planted"])
    assert alerts == {
        ("volume_drop", "appointments"),
        ("lab_value_shift", "lab_results.NPU27300"),
        ("code_system_lost", "diagnoses.SKS"),
    }
    drop = section["tables"]["appointments"]["drop"]
    assert 0.35 < drop < 0.65
    assert section["lab_values"]["NPU27300"]["recent_median"] < 12
    assert section["code_mix"]["diagnoses.code_system"]["recent_share"]["SKS"] == 0.0
