"""Benchmark ``opspor monitor``'s sections against the feature build of one date.

Usage::

    python -m bench.bench_monitor --citizens 1000000 --out /tmp/opspor-bench-monitor

Generates a region (``synthetic_data``, Parquet), loads it, then times in the same
session:

- baseline: ``build_features`` for one as-of date (the extract date);
- the monitor's three sections on that warehouse: the data section (load
  reports, monthly volumes, code mix, lab medians), inputs and scores (every
  feature of ``diabetes_harm_365d`` against a reference computed from the mart
  at a training date, i.e. the slower fallback path, plus score bins and
  the list composition), and realised performance (no lists: the early exit).

The features are built for two dates (reference and current) before the
monitor runs; the cohort is scored by a fixed formula in SQL so no model has
to be trained (the monitor only reads ``scoring.scores``). MLflow and the HTML
rendering are not timed (they do not grow with the region).

Writes ``bench/results/monitor.json`` with seconds and the ratio monitor /
feature build of one date.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "monitor.json"
REFERENCE_DATE = date(2025, 11, 24)
URI = "models:/diabetes_harm_365d/1"


def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def run(citizens: int, out: Path) -> dict[str, Any]:
    """Generate, load and build; time the feature build and each monitor section."""
    from features.build import build_features
    from features.db import connect
    from features.load import load_extract
    from features.settings import EngineSettings
    from models.matrix import feature_kinds
    from models.spec import load_spec
    from reports.monitor_config import MonitorConfig
    from reports.monitor_data import monitor_data
    from reports.monitor_inputs import ModelInfo, monitor_inputs
    from reports.monitor_outcomes import monitor_performance
    from synthetic_data import generate_extract, load_profile

    profile = load_profile("region_small", citizens=citizens)
    extract = generate_extract(profile, out / "extract", fmt="parquet")
    settings = EngineSettings(output_dir=out / "build")
    load_extract(extract.out_dir, settings=settings)
    con = connect(settings.warehouse)
    try:
        extract_date = con.execute("select max(extract_date) from raw.extract_info")
        as_of: date = extract_date.fetchone()[0]  # type: ignore[index]
        build_one, _ = _timed(lambda: build_features(con, [as_of]))
        build_two, _ = _timed(lambda: build_features(con, [REFERENCE_DATE, as_of]))
        con.execute("create schema if not exists scoring")
        con.execute(
            "create or replace table scoring.scores as select citizen_id, as_of_date,"
            " $uri as model_uri, least(1.0, 0.01 + coalesce(hba1c_last_mmol_mol, 50)"
            " / 200) as risk_score, 1 as risk_rank"
            " from marts.scoring_features where has_diabetes",
            {"uri": URI},
        )
        spec = load_spec("diabetes_harm_365d")
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
        config = MonitorConfig.from_toml()
        data_s, (_, data_alerts) = _timed(
            lambda: monitor_data(con, extract_date=as_of, config=config)
        )
        inputs_s, (inputs, input_alerts) = _timed(
            lambda: monitor_inputs(con, model, as_of=as_of, list_id=None, config=config)
        )
        perf_s, _ = _timed(
            lambda: monitor_performance(
                con, model, programme="diabetes_bus", extract_date=as_of, config=config
            )
        )
    finally:
        con.close()
    monitor_s = data_s + inputs_s + perf_s
    return {
        "citizens": citizens,
        "n_scored": inputs["n_scored"],
        "feature_build_one_date_s": round(build_one, 2),
        "feature_build_two_dates_s": round(build_two, 2),
        "monitor_data_s": round(data_s, 2),
        "monitor_inputs_s": round(inputs_s, 2),
        "monitor_performance_s": round(perf_s, 2),
        "monitor_s": round(monitor_s, 2),
        "ratio_monitor_to_feature_build": round(monitor_s / build_one, 3),
        "alerts": [a.code + ":" + a.subject for a in [*data_alerts, *input_alerts]],
        "load_average": os.getloadavg(),
    }


def main() -> None:
    """Parse arguments, run, print and write ``bench/results/monitor.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/opspor-bench-monitor"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    result = run(args.citizens, args.out)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
