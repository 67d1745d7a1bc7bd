"""Generated regions with planted changes for the monitor's tests.

region_small is generated once (Parquet) and copied; a planted copy is edited
with DuckDB before loading, as a supplier's changed extract would arrive. The
generator itself is never changed.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

EXTRACT_DATE = date(2026, 11, 23)
#: First day of the last three full months before the extract date.
RECENT_START = date(2026, 8, 1)
#: From here the population's HbA1c drifts upward (the year before the extract).
DRIFT_START = date(2026, 2, 1)

#: Each planted change: table -> SQL select that rewrites it (reads `src`).
PLANTS = {
    # a table's volume halved in the last months
    "appointments": (
        "select * from src where scheduled_date < DATE '2026-08-01'"
        " or hash(citizen_id || scheduled_date::varchar) % 2 = 0"
    ),
    # HbA1c switched to percent units (NGSP = 0.0915 * IFCC + 2.15) in the last months,
    # and the population's HbA1c drifting upward before that (+12 mmol/mol).
    "lab_results": (
        "select citizen_id, sample_date, npu_code,"
        " case when npu_code <> 'NPU27300' then value"
        "  when sample_date >= DATE '2026-08-01'"
        "   then round(0.0915 * (value + 12) + 2.15, 1)"
        "  when sample_date >= DATE '2026-02-01' then value + 12"
        "  else value end as value,"
        " unit from src"
    ),
    # a code system that disappears
    "diagnoses": (
        "select * from src"
        " where code_system <> 'SKS' or diagnosis_date < DATE '2026-08-01'"
    ),
}


def plant_changes(source: Path, target: Path) -> Path:
    """Copy a Parquet extract and rewrite the planted tables; return ``target``."""
    shutil.copytree(source, target)
    con = duckdb.connect()
    try:
        for table, select in PLANTS.items():
            path = target / f"{table}.parquet"
            original = source / f"{table}.parquet"
            con.execute(f"create or replace view src as select * from '{original}'")
            con.execute(f"copy ({select}) to '{path}' (format parquet)")
    finally:
        con.close()
    return target


def monitor_without_a_model(
    extract: Path, settings: Any, *, programme: str, week: str
) -> Any:
    """Load ``extract`` and run the real ``run_monitor`` on it; return its result.

    Only the model registry lookup is replaced (no model is trained): nothing is
    scored and no list is evaluated, so the data section decides the verdict.
    """
    from features.load import load_extract
    from models.reference import feature_reference
    from reports import monitor
    from reports.monitor_inputs import ModelInfo

    model = ModelInfo(
        model_uri="models:/diabetes_harm_365d/3",
        cohort="is_diabetes_cohort",
        outcome="diabetes_harm",
        kinds={},
        reference=feature_reference(pd.DataFrame(), {}),
        fit_dates=(date(2025, 11, 24),),
        promised={},
        horizon_days=365,
    )
    load_extract(extract, settings=settings)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(monitor, "read_model_info", lambda *a: (model, "no-run"))
        return monitor.run_monitor(
            settings,
            programme=programme,
            model="diabetes_harm_365d@champion",
            week=week,
            log_to_mlflow=False,
        )
