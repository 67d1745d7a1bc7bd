"""The national benchmark's arithmetic, memory sampling and progress file.

The steps themselves (hours at 6M) are not run here: a fake ``measure_step``
stands in for the child processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import json
from pathlib import Path

import pytest

import bench.bench_national as national
from bench.bench_national import (
    STEPS,
    TARGET_STEP_PEAK_GB,
    PeakSampler,
    cost_ratios,
    partial_path,
    tree_rss,
    verdict,
)


def _run(citizens: int, seconds: dict[str, float], peak_mb: float) -> dict[str, Any]:
    steps = {s: {"wall_seconds": seconds[s], "peak_mb": peak_mb} for s in STEPS}
    return {"citizens": citizens, "steps": steps}


def test_cost_ratios_are_seconds_per_citizen_relative_to_the_baseline() -> None:
    base = _run(1_000_000, dict.fromkeys(STEPS, 100.0), 1000.0)
    target_seconds = {**dict.fromkeys(STEPS, 600.0), "weekly": 900.0}
    target = _run(6_000_000, target_seconds, 1000.0)
    ratios = cost_ratios(base, target)
    assert ratios == {**dict.fromkeys(STEPS, 1.0), "weekly": 1.5}


def test_verdict_checks_each_of_the_four_targets() -> None:
    fast = {**dict.fromkeys(STEPS, 60.0)}
    ok = verdict(_run(6_000_000, fast, 1000.0), dict.fromkeys(STEPS, 1.0))
    assert ok["all_met"] and ok["load_features_training_seconds"] == 180.0
    heavy = verdict(
        _run(6_000_000, fast, TARGET_STEP_PEAK_GB * 1024 + 1),
        {**dict.fromkeys(STEPS, 1.0), "load": 1.31},
    )
    assert heavy["checks"] == {
        "every_step_within_16gb": False,
        "weekly_under_10_minutes": True,
        "load_features_training_under_45_minutes": True,
        "cost_per_citizen_ratio_at_most_1_3": False,
    }
    slow = verdict(
        _run(6_000_000, {**fast, "weekly": 600.0, "training": 2700.0}, 1.0),
        dict.fromkeys(STEPS, 1.0),
    )
    assert not slow["checks"]["weekly_under_10_minutes"]
    assert not slow["checks"]["load_features_training_under_45_minutes"]


def test_peak_sampler_counts_the_children_of_the_step() -> None:
    # The parent holds little; its child allocates ~100 MB and waits to be read.
    code = (
        "import subprocess, sys; "
        "subprocess.run([sys.executable, '-c', "
        "'import time; b = bytearray(100 * 2**20); time.sleep(0.6)'])"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    with PeakSampler(child.pid, every=0.05) as sampler:
        child.wait()
    assert sampler.peak_bytes > 100 * 2**20
    assert tree_rss(child.pid) == 0  # ended
    assert tree_rss(os.getpid()) > 0


def test_a_run_writes_its_figures_after_every_step_and_only_a_complete_run_replaces_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "national.json"
    results.write_text('{"old": true}\n')
    seen: list[dict[str, object] | None] = []

    def fake_step(
        name: str, size_dir: Path, citizens: int, env: dict[str, str]
    ) -> dict[str, object]:
        partial = partial_path(results)
        seen.append(json.loads(partial.read_text()) if partial.exists() else None)
        return {"wall_seconds": citizens / 1000, "peak_mb": 100.0}

    monkeypatch.setattr(national, "measure_step", fake_step)
    args = national._parser().parse_args(
        ["--citizens", "6000", "--baseline-citizens", "1000"]
    )
    args.work, args.results = tmp_path / "work", results
    body = national.run(args)
    # Before the first step nothing; before the second, the first step's figures.
    assert seen[0] is None
    assert seen[1] is not None and seen[1]["complete"] is False
    assert list(seen[1]["baseline"]["steps"]) == [STEPS[0]]  # type: ignore[index]
    # Before the target's first step, the whole baseline and no target yet.
    before_target = seen[len(STEPS)]
    assert before_target is not None and "target" not in before_target
    assert list(before_target["baseline"]["steps"]) == list(STEPS)  # type: ignore[index]
    step = before_target["baseline"]["steps"][STEPS[0]]  # type: ignore[index]
    assert len(step["load_average_at_end"]) == 3
    # The complete run replaces the results and removes the progress file.
    assert body["complete"] is True and json.loads(results.read_text()) == json.loads(
        json.dumps(body, default=str)
    )
    assert not partial_path(results).exists()
    assert body["cost_per_citizen_ratio"] == dict.fromkeys(STEPS, 1.0)


def test_a_run_cut_short_leaves_the_results_and_its_figures_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "national.json"
    results.write_text('{"old": true}\n')
    calls = {"n": 0}

    def failing_step(
        name: str, size_dir: Path, citizens: int, env: dict[str, str]
    ) -> dict[str, object]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError(f"step {name} failed")
        return {"wall_seconds": 1.0, "peak_mb": 100.0}

    monkeypatch.setattr(national, "measure_step", failing_step)
    args = national._parser().parse_args(["--citizens", "6000"])
    args.work, args.results = tmp_path / "work", results
    with pytest.raises(RuntimeError, match="step"):
        national.run(args)
    assert json.loads(results.read_text()) == {"old": True}
    partial = json.loads(partial_path(results).read_text())
    assert partial["complete"] is False
    assert list(partial["baseline"]["steps"]) == list(STEPS[:2])
