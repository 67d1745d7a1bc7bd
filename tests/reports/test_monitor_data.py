"""The monitor's data section on a generated region with planted changes (issue 16)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from features.settings import EngineSettings
from reports.monitor_config import MonitorConfig
from reports.monitor_data import monitor_data
from reports.monitor_inputs import ModelInfo, monitor_inputs
from tests.reports.monitor_regions import EXTRACT_DATE, plant_changes

URI = "models:/diabetes_harm_365d/1"


@pytest.fixture(scope="module")
def regions(
    tmp_path_factory: pytest.TempPathFactory, region_cache: Path
) -> dict[str, Path]:
    """Warehouses of region_small as generated (stable) and with planted changes.

    The session's region_small (``tests/region_cache.py``): its extract is planted
    into a copy, and the stable warehouse is a copy of the one loaded from it.
    """
    from features.load import load_extract

    root = tmp_path_factory.mktemp("monitor_data")
    planted = plant_changes(region_cache / "extract", root / "planted")
    settings = EngineSettings(output_dir=root / "build_planted")
    load_extract(planted, settings=settings)
    stable = root / "build_stable" / "opspor.duckdb"
    stable.parent.mkdir()
    shutil.copyfile(region_cache / "loaded.duckdb", stable)
    return {"stable": stable, "planted": settings.warehouse}


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
    """HbA1c sent in percent under NPU27300 is implausible for mmol/mol: the loader
    quarantines those rows (issue 14), so the monitor sees the lab table shrink."""
    section, alerts = _section(regions["planted"])
    assert alerts == {
        ("volume_drop", "appointments"),
        ("volume_drop", "lab_results"),
        ("code_system_lost", "diagnoses.SKS"),
    }
    drop = section["tables"]["appointments"]["drop"]
    assert 0.35 < drop < 0.65
    con = duckdb.connect(str(regions["planted"]), read_only=True)
    try:
        quarantined = con.execute(
            "select count(*) from raw.quarantine where table_name = 'lab_results'"
            " and reason = 'implausible_value'"
        ).fetchone()
    finally:
        con.close()
    assert quarantined is not None and quarantined[0] > 100
    assert section["code_mix"]["diagnoses.code_system"]["recent_share"]["SKS"] == 0.0


# --- inputs: the population's HbA1c drifting upward ----------------------------

REFERENCE_DATE = date(2026, 1, 19)
CURRENT_DATE = date(2026, 7, 20)  # after the drift began, before the unit change


def _inputs(db: Path) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """Build features at two dates, score the cohort by hand, run monitor_inputs.

    The model has no logged reference, so the monitor computes it from the mart
    at its training date (REFERENCE_DATE) and says so.
    """
    from features.build import build_features
    from models.matrix import feature_kinds
    from models.spec import load_spec

    spec = load_spec("diabetes_harm_365d")
    con = duckdb.connect(str(db))
    try:
        build_features(con, [REFERENCE_DATE, CURRENT_DATE], checks=False)
        con.execute("create schema if not exists scoring")
        con.execute(
            "create or replace table scoring.scores as select citizen_id, as_of_date,"
            " $uri as model_uri, 0.1 as risk_score, 1 as risk_rank"
            " from marts.scoring_features where has_diabetes",
            {"uri": URI},
        )
        model = ModelInfo(
            model_uri=URI,
            cohort="has_diabetes",
            outcome="diabetes_harm_365d",
            kinds=feature_kinds(con, list(spec.features), spec=spec.name),
            reference=None,
            fit_dates=(REFERENCE_DATE,),
            promised={},
            horizon_days=365,
        )
        section, alerts = monitor_inputs(
            con, model, as_of=CURRENT_DATE, list_id=None, config=MonitorConfig()
        )
    finally:
        con.close()
    return section, {(a.code, a.subject) for a in alerts}


#: Drifts in both regions, and truly: region_small's history starts in 2020-11,
#: so a diagnosis first recorded then has a duration that grows with the as-of
#: date (left-censored at the extract start). Every region shares this; the
#: planted change must add exactly the HbA1c features to it.
WINDOW_ARTEFACT = {("feature_drift", "diabetes_duration_years")}


def test_monitor_inputs_flags_the_hba1c_drift(regions: dict[str, Path]) -> None:
    section, alerts = _inputs(regions["planted"])
    added = alerts - WINDOW_ARTEFACT
    assert ("feature_drift", "hba1c_last_mmol_mol") in added
    assert {code for code, _ in added} == {"feature_drift"}
    assert {s for _, s in added} <= {f for f in section["features"] if "hba1c" in f}
    assert section["features"]["hba1c_last_mmol_mol"]["psi"] > 0.25
    assert section["reference_source"].startswith("computed from the warehouse rows")


def test_monitor_inputs_stable_region_raises_nothing(regions: dict[str, Path]) -> None:
    section, alerts = _inputs(regions["stable"])
    assert alerts == WINDOW_ARTEFACT
    assert section["features"]["hba1c_last_mmol_mol"]["psi"] < 0.1
    assert section["n_scored"] > 400
