"""Benchmark the synthetic generator: 1,000,000 citizens (about 30 million event rows).

Usage::

    python -m bench.bench_synth [--citizens 1000000] [--csv] [--out DIR] [--keep]

Each run happens in a fresh child process, so its peak memory is the child's own
``ru_maxrss`` (from ``os.wait4``), not this process's. Runs, in one session:

1. ``baseline_100k``: the same generator at a tenth of the size (Parquet);
2. ``generate_only``: the full size with writing switched off;
3. ``parquet``: the full size written as Parquet (the target run);
4. ``csv`` (with ``--csv``): the full size written as CSV.

Speed is reported as ratios to the baseline run in the same session
(``ratio_to_baseline_scaled`` = seconds / (10 x baseline seconds): 1.0 means
linear scaling), plus the share of time spent writing. Targets: under 60 s and
under 4 GB peak on a 2-core machine. Prints one JSON line and writes
``bench/results/synth.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "synth.json"
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 4096.0

# The child: generate with a progress bar on stderr; print the result as JSON.
GENERATE = """
import json, sys
from pathlib import Path
from rich.console import Console
from rich.progress import Progress
from synthetic_data import generate_extract, load_profile

citizens, fmt, out = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
profile = load_profile("region_demo", citizens=citizens)
with Progress(console=Console(stderr=True), transient=True) as bar:
    task = bar.add_task(f"{citizens:,} citizens ({fmt})", total=citizens)
    advance = lambda done, total: bar.update(task, completed=done)
    result = generate_extract(profile, out, fmt=fmt, progress=advance)
print(json.dumps({"rows": result.rows}))
"""
# The child: build every chunk exactly as generate_extract does, but write nothing.
GENERATE_ONLY = """
import json, sys
import numpy as np
from synthetic_data import load_profile
from synthetic_data.generate import CHUNK_SIZE, build_chunk
from synthetic_data.population import Calendar

citizens = int(sys.argv[1])
profile = load_profile("region_demo", citizens=citizens)
cal = Calendar.from_profile(profile)
starts = range(0, citizens, CHUNK_SIZE)
seeds = np.random.SeedSequence(profile.seed).spawn(len(starts))
rows = 0
for index, (lo, seed) in enumerate(zip(starts, seeds)):
    hi = min(lo + CHUNK_SIZE, citizens)
    tables, *_ = build_chunk(profile, cal, index, lo, hi, seed)
    rows += sum(t.num_rows for t in tables.values())
    del tables  # as generate_extract does: a chunk is dropped once it is written
print(json.dumps({"rows": {"all": rows}}))
"""


def _measure(code: str, *args: str) -> dict[str, Any]:
    """Run ``python -c code args`` in a child; wall and CPU seconds, peak RSS, rows."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"benchmark child failed with exit code {child.returncode}")
    rows = sum(json.loads(output)["rows"].values())
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "rows": rows,
        "rows_per_second": round(rows / seconds),
    }


def _size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.iterdir()) / 2**20, 1)


def run(citizens: int, out: Path, with_csv: bool) -> dict[str, Any]:
    """Run the session's measurements and return the result record."""
    out.mkdir(parents=True, exist_ok=True)
    base_n = citizens // 10
    result: dict[str, Any] = {
        "benchmark": "synth",
        "citizens": citizens,
        "cpus": os.cpu_count(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }
    result["baseline_100k"] = _measure(
        GENERATE, str(base_n), "parquet", str(out / "base")
    )
    result["generate_only"] = _measure(GENERATE_ONLY, str(citizens))
    result["parquet"] = _measure(GENERATE, str(citizens), "parquet", str(out / "pq"))
    result["parquet"]["size_mb"] = _size_mb(out / "pq")
    if with_csv:
        result["csv"] = _measure(GENERATE, str(citizens), "csv", str(out / "csv"))
        result["csv"]["size_mb"] = _size_mb(out / "csv")
    _ratios(result, citizens / base_n)
    result["targets"] = {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_PEAK_MB}
    runs = [result[k] for k in ("parquet", "csv") if k in result]
    result["within_target"] = all(
        r["seconds"] < TARGET_SECONDS and r["peak_rss_mb"] < TARGET_PEAK_MB
        for r in runs
    )
    return result


def _ratios(result: dict[str, Any], scale: float) -> None:
    """Add ratios to the scaled baseline and the share of time spent writing.

    CPU-second ratios are given beside wall-clock ones: on a shared machine the
    wall clock also measures the neighbours.
    """
    for clock in ("seconds", "cpu_seconds"):
        base = result["baseline_100k"][clock] * scale
        for key in ("generate_only", "parquet", "csv"):
            if key in result:
                ratio = round(result[key][clock] / base, 2)
                result[key][f"ratio_to_baseline_scaled_{clock}"] = ratio
        share = 1 - result["generate_only"][clock] / result["parquet"][clock]
        result[f"write_share_parquet_{clock}"] = round(share, 2)


def _write(result: dict[str, Any]) -> None:
    """Write the results file atomically."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--csv", action="store_true", help="also time CSV output")
    parser.add_argument("--out", type=Path, default=Path("/tmp/opspor-bench-synth"))
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated extracts"
    )
    args = parser.parse_args(argv)
    try:
        result = run(args.citizens, args.out, args.csv)
    finally:
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)
    _write(result)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if result["within_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
