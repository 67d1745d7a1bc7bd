"""Benchmark the feature build with and without the broad covariates, in one session.

Run ``.venv/bin/python -m bench.bench_broad --db WAREHOUSE`` on a warehouse with an
extract loaded (``opspor load``). It builds the features for 12 monthly as-of dates
(contract checks included) alternately without the broad covariates (the
``covariates`` layer and the two timelines tables behind it left out) and with
them, ``--rounds`` times each, every build in its own process so that its peak RSS
is its own, and reports the median seconds of each, their ratio and the rows of
``marts.broad_covariates``. Times are wall-clock seconds of this session on this
machine (other work may share the cores; the ratio is the figure to compare).
Writes ``bench/results/broad.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "broad.json"
DATES = [date(2024, m, 1) for m in range(1, 13)]
_BROAD_STEMS = {"tl_covariate_events", "tl_covariate_labs"}


def _without_broad() -> None:
    """Leave the broad covariates out of this process's feature build."""
    import features.build as build
    from features.checks import sql_stems

    layers = build.layers
    build.layers = lambda: [x for x in layers() if x.folder != "covariates"]  # type: ignore[assignment]
    build.sql_stems = lambda folder: [  # type: ignore[assignment]
        s for s in sql_stems(folder) if s not in _BROAD_STEMS
    ]


def _build(db: str, broad: bool, queue: Any) -> None:
    import duckdb

    from features.build import build_features

    if not broad:
        _without_broad()
    con = duckdb.connect(db)
    started = time.perf_counter()
    result = build_features(con, DATES)
    seconds = time.perf_counter() - started
    rows = 0
    if broad:
        rows = con.execute("select count(*) from marts.broad_covariates").fetchone()[0]
    con.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        {
            "seconds": seconds,
            "peak_mb": peak_mb,
            "spine_rows": result.n_rows,
            "rows": rows,
        }
    )


def _run(db: str, broad: bool) -> dict[str, Any]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_build, args=(db, broad, queue))
    process.start()
    out: dict[str, Any] = queue.get()
    process.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="warehouse with an extract loaded")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"curated": [], "with_broad": []}
    for _ in range(args.rounds):
        runs["curated"].append(_run(args.db, broad=False))
        runs["with_broad"].append(_run(args.db, broad=True))
        print(runs["curated"][-1], runs["with_broad"][-1], flush=True)
    median = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    result = {
        "db": args.db,
        "dates": [d.isoformat() for d in DATES],
        "spine_rows": runs["curated"][0]["spine_rows"],
        "broad_covariate_rows": runs["with_broad"][0]["rows"],
        "seconds_median": {k: round(v, 1) for k, v in median.items()},
        "ratio_with_to_without": round(median["with_broad"] / median["curated"], 3),
        "peak_mb": {k: round(max(r["peak_mb"] for r in v)) for k, v in runs.items()},
        "runs": runs,
        "load_average": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
