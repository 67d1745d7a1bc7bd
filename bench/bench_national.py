"""National scale on one machine: 6,000,000 citizens against a 1,000,000 baseline.

Usage::

    python -m bench.bench_national [--citizens 6000000] [--baseline-citizens 1000000]
        [--memory-limit 12GB] [--duckdb-threads N] [--work DIR] [--keep]
    make bench-national

For the baseline size, then the target size, in the same session, every step
runs in its own child process (so its memory is its own) while a sampling
thread here reads the resident memory of the child and all its descendants
every 0.2 s; the peak is the larger of that and the child's own ``ru_maxrss``.
The steps:

``synth``
    ``opspor synth`` equivalent: ``region_demo`` resized, Parquet, written
    chunk by chunk (the generator streams; nothing holds the whole extract).
``load``
    :func:`features.load.load_extract` into a fresh warehouse.
``training_features``
    The feature mart for the diabetes model's index dates (12 monthly dates and
    the test date), as :func:`models.train.plan_index_dates` picks them.
``training``
    :func:`models.train.train_model` of ``diabetes_harm_365d`` on those dates
    (the mart already built), registered as the champion.
``weekly``
    The Monday job for ``diabetes_bus`` in the extract's week: features for the
    one as-of date, then :func:`outreach.weekly.run_weekly` (score, explain,
    list, fairness audit, monitor), each stage timed. It runs last because it
    needs the champion that ``training`` registers.

DuckDB gets ``OPSPOR_DUCKDB_MEMORY_LIMIT`` (``--memory-limit``) and spills to
``OPSPOR_DUCKDB_TEMP_DIRECTORY`` inside the work folder. The work folder (a
fresh temporary folder under the output root unless ``--work`` is given) is
removed at the end unless ``--keep``. Results, with the cost per citizen of
each step at the target size relative to the baseline and the verdict against
issue 18's targets, go to ``bench/results/national.json``. A run of hours can be
cut short: after every step the figures so far are written (atomically) to
``national.partial.json`` beside the results, with ``"complete": false``; the
results file itself is only replaced by a complete run. Every step records the
machine's load average when it ends, so a step slowed by other work shows it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "national.json"
STEPS = ("synth", "load", "training_features", "training", "weekly")
PROGRAMME = "diabetes_bus"
SPEC = "diabetes_harm_365d"
#: Issue 18's targets on the 2-core, 24 GB machine.
TARGET_STEP_PEAK_GB = 16.0
TARGET_WEEKLY_SECONDS = 600.0
TARGET_BUILD_SECONDS = 45 * 60.0  # load + training features + training
TARGET_COST_RATIO = 1.3
SAMPLE_SECONDS = 0.2


# --- the steps (run inside a child process) -------------------------------------


def _settings() -> Any:
    from features.settings import EngineSettings

    return EngineSettings.from_env()


def _extract_dir(size_dir: Path) -> Path:
    return size_dir / "extract"


def step_synth(size_dir: Path, citizens: int) -> dict[str, Any]:
    """Generate the extract as Parquet, streamed chunk by chunk to disk."""
    from synthetic_data import generate_extract, load_profile

    out = _extract_dir(size_dir)
    generate_extract(load_profile("region_demo", citizens=citizens), out, fmt="parquet")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return {"extract_mb": round(size / 1e6, 1)}


def step_load(size_dir: Path, citizens: int) -> dict[str, Any]:
    """Load the extract into the warehouse."""
    from features.load import load_extract

    report = load_extract(_extract_dir(size_dir), settings=_settings())
    return {"unchanged": report.unchanged}


def _plan() -> tuple[Any, Any]:
    """The spec (12 monthly index dates) and its index-date plan in this extract."""
    import dataclasses

    from features.db import connect
    from models.outcomes import read_extract_window
    from models.spec import load_spec
    from models.train import plan_index_dates

    spec = dataclasses.replace(load_spec(SPEC), every="1mo", max_index_dates=12)
    con = connect(_settings().warehouse)
    try:
        window = read_extract_window(con)
    finally:
        con.close()
    return spec, plan_index_dates(spec, window)


def step_training_features(size_dir: Path, citizens: int) -> dict[str, Any]:
    """Build the mart for the training index dates and the test date."""
    from features.db import connect
    from models.matrix import ensure_features

    _, plan = _plan()
    dates = [*plan.fit_dates, plan.test_date]
    con = connect(_settings().warehouse)
    try:
        built = ensure_features(con, dates)
    finally:
        con.close()
    return {"dates": len(dates), "built": len(built)}


def step_training(size_dir: Path, citizens: int) -> dict[str, Any]:
    """Train and register the diabetes model on the built mart."""
    from models.train import train_model

    spec, _ = _plan()
    result = train_model(spec, settings=_settings())
    return {
        "rows": result.rows,
        "index_dates": len(result.index_dates),
        "roc_auc": result.metrics["roc_auc"],
        "precision_at_capacity": result.metrics["precision_at_capacity"],
    }


def _week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def step_weekly(size_dir: Path, citizens: int) -> dict[str, Any]:
    """Features for the week's as-of date, then the Monday job, stage by stage."""
    from features.db import connect
    from models.matrix import ensure_features
    from outreach.lists import parse_week, resolve_as_of
    from outreach.programmes import load_programme
    from outreach.weekly import STEPS as WEEKLY_STEPS
    from outreach.weekly import run_weekly

    settings = _settings()
    con = connect(settings.warehouse)
    try:
        extract_date = con.execute("select max(extract_date) from raw.extract_info")
        extract_date = extract_date.fetchall()[0][0]
        week = _week_of(extract_date)
        as_of = resolve_as_of(parse_week(week), extract_date)
        started = time.perf_counter()
        ensure_features(con, [as_of])
    finally:
        con.close()
    stages = {"features": round(time.perf_counter() - started, 1)}
    marks = [time.perf_counter()]

    def tick(done: int, total: int) -> None:
        marks.append(time.perf_counter())
        stages[WEEKLY_STEPS[done - 1]] = round(marks[-1] - marks[-2], 1)

    result = run_weekly(
        settings, programme=load_programme(PROGRAMME), week=week, progress=tick
    )
    return {
        "week": week,
        "as_of_date": str(as_of),
        "n_scored": result.n_scored,
        "n_reasons": result.n_reasons,
        "n_explained": result.n_explained,
        "listed": result.counts.get("listed"),
        "stage_seconds": stages,
    }


STEP_FUNCTIONS: dict[str, Callable[[Path, int], dict[str, Any]]] = {
    "synth": step_synth,
    "load": step_load,
    "training_features": step_training_features,
    "training": step_training,
    "weekly": step_weekly,
}


def run_step(name: str, size_dir: Path, citizens: int) -> dict[str, Any]:
    """Run one step in this process; return its figures and its own peak memory."""
    started = time.perf_counter()
    out = STEP_FUNCTIONS[name](size_dir, citizens)
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["self_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return out


# --- measuring a child (in the parent) --------------------------------------------


class PeakSampler:
    """Sample the resident memory of a process and its descendants in a thread."""

    def __init__(self, pid: int, every: float = SAMPLE_SECONDS) -> None:
        self.pid = pid
        self.every = every
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, tree_rss(self.pid))
            self._stop.wait(self.every)


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (0 once it has ended)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def measure_step(
    name: str, size_dir: Path, citizens: int, env: dict[str, str]
) -> dict[str, Any]:
    """Run one step in a child process; add wall time and peak memory (tree)."""
    root = str(Path(__file__).resolve().parents[1])
    command = [sys.executable, "-m", "bench.bench_national", "--step", name]
    command += ["--size-dir", str(size_dir), "--citizens", str(citizens)]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with PeakSampler(child.pid) as sampler:
        stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"step {name} failed:\n{stderr.decode()[-4000:]}")
    out: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    sampled_mb = sampler.peak_bytes / 2**20
    out["wall_seconds"] = round(wall, 1)
    out["sampled_peak_rss_mb"] = round(sampled_mb, 1)
    out["peak_mb"] = round(max(sampled_mb, out["self_peak_rss_mb"]), 1)
    return out


# --- the run ----------------------------------------------------------------------


def _child_env(size_dir: Path, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env["OPSPOR_OUTPUT_DIR"] = str(size_dir / "build")
    env.pop("OPSPOR_DB", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("OPSPOR_MLFLOW_URI", None)
    env["OPSPOR_DUCKDB_TEMP_DIRECTORY"] = str(size_dir / "duckdb_tmp")
    if args.memory_limit:
        env["OPSPOR_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
    if args.duckdb_threads:
        env["OPSPOR_DUCKDB_THREADS"] = str(args.duckdb_threads)
    return env


def run_size(
    work: Path,
    citizens: int,
    args: argparse.Namespace,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run every step for one size; remove its folder afterwards unless kept.

    ``progress`` is called with the size's figures so far after every step.
    """
    size_dir = work / f"citizens_{citizens}"
    size_dir.mkdir(parents=True, exist_ok=True)
    env = _child_env(size_dir, args)
    steps: dict[str, Any] = {}
    done = {"citizens": citizens, "steps": steps}
    try:
        for name in STEPS:
            sys.stderr.write(f"[{citizens:,}] {name} ...\n")
            steps[name] = measure_step(name, size_dir, citizens, env)
            steps[name]["load_average_at_end"] = [
                round(x, 2) for x in os.getloadavg()
            ]
            sys.stderr.write(
                f"[{citizens:,}] {name}: {steps[name]['wall_seconds']} s, "
                f"{steps[name]['peak_mb']} MB\n"
            )
            if progress is not None:
                progress(done)
    finally:
        if not args.keep:
            shutil.rmtree(size_dir, ignore_errors=True)
    return done


def partial_path(results: Path) -> Path:
    """Where a run in progress writes its figures so far (beside the results)."""
    return results.with_name(results.stem + ".partial.json")


def cost_ratios(baseline: dict[str, Any], target: dict[str, Any]) -> dict[str, float]:
    """Seconds per citizen at the target size over that at the baseline, per step."""
    scale = target["citizens"] / baseline["citizens"]
    ratios = {}
    for name in STEPS:
        base = baseline["steps"][name]["wall_seconds"]
        ratios[name] = round(target["steps"][name]["wall_seconds"] / (base * scale), 2)
    return ratios


def verdict(target: dict[str, Any], ratios: dict[str, float]) -> dict[str, Any]:
    """Check the target-size run against issue 18's four targets."""
    steps = target["steps"]
    build = sum(
        steps[s]["wall_seconds"] for s in ("load", "training_features", "training")
    )
    checks = {
        "every_step_within_16gb": all(
            s["peak_mb"] <= TARGET_STEP_PEAK_GB * 1024 for s in steps.values()
        ),
        "weekly_under_10_minutes": steps["weekly"]["wall_seconds"]
        < TARGET_WEEKLY_SECONDS,
        "load_features_training_under_45_minutes": build < TARGET_BUILD_SECONDS,
        "cost_per_citizen_ratio_at_most_1_3": all(
            r <= TARGET_COST_RATIO for r in ratios.values()
        ),
    }
    return {
        "load_features_training_seconds": round(build, 1),
        "checks": checks,
        "all_met": all(checks.values()),
    }


def _machine() -> dict[str, Any]:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _write(body: dict[str, Any], results: Path) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    tmp = results.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2, default=str) + "\n")
    os.replace(tmp, results)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Baseline then target in one session; write and return the results."""
    machine = _machine()
    own_work = args.work is None
    output_root = Path(os.environ.get("OPSPOR_OUTPUT_DIR", "build"))
    output_root.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(
        tempfile.mkdtemp(prefix="bench_national_", dir=output_root)
    )
    head = {
        "machine": machine,
        "duckdb": {
            "memory_limit": args.memory_limit,
            "threads": args.duckdb_threads or "DuckDB default (all cores)",
        },
    }
    sizes: dict[str, Any] = {}

    def progress(key: str) -> Callable[[dict[str, Any]], None]:
        def write(done: dict[str, Any]) -> None:
            sizes[key] = done
            body = {**head, **sizes, "complete": False}
            _write(body, partial_path(args.results))

        return write

    try:
        baseline = run_size(
            work, args.baseline_citizens, args, progress=progress("baseline")
        )
        target = run_size(work, args.citizens, args, progress=progress("target"))
    finally:
        if own_work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ratios = cost_ratios(baseline, target)
    body = {
        **head,
        "baseline": baseline,
        "target": target,
        "cost_per_citizen_ratio": ratios,
        "verdict": verdict(target, ratios),
        "complete": True,
        "targets": {
            "step_peak_gb": TARGET_STEP_PEAK_GB,
            "weekly_seconds": TARGET_WEEKLY_SECONDS,
            "load_features_training_seconds": TARGET_BUILD_SECONDS,
            "cost_per_citizen_ratio": TARGET_COST_RATIO,
        },
    }
    _write(body, args.results)
    partial_path(args.results).unlink(missing_ok=True)
    return body


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=6_000_000)
    parser.add_argument("--baseline-citizens", type=int, default=1_000_000)
    parser.add_argument(
        "--memory-limit", default="12GB", help="DuckDB memory_limit per step"
    )
    parser.add_argument("--duckdb-threads", type=int, default=None)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--size-dir", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, or (``--step``) one step inside a child process."""
    args = _parser().parse_args(argv)
    out = run_step(args.step, args.size_dir, args.citizens) if args.step else run(args)
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
