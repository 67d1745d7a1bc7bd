"""The national benchmark's arithmetic and memory sampling (not the run itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from bench.bench_national import (
    STEPS,
    TARGET_STEP_PEAK_GB,
    PeakSampler,
    cost_ratios,
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
