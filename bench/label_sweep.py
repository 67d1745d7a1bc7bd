"""The label check judged across a family of synthetic worlds: false and missed flags.

``python -m bench.label_sweep [--worlds 101-106] [--citizens 200000]``

For each world (``synthetic_data.draw_world(seed)``, generated as
:mod:`bench.robustness` does, from ``region_demo``) the bench

1. generates the world's extract with its truth beside it and loads it uncut;
2. builds the scoring mart at the scoring date S (the latest quarter start a
   whole year before the extract date) and writes a constant score for every
   member of the diabetes cohort there, so no model is trained: the label check
   reads only the cohort, its audit attributes and the raw diagnoses and
   hospital contacts (:mod:`reports.frame`, :func:`reports.fairness.audit_fairness`
   with the packaged ``reports/fairness.toml``);
3. compares each education group's ``label_ascertainment`` flag with the truth:
   the share of its cohort's true complications that were ever recorded
   (``n_complications_recorded / n_complications_true`` in the truth file), as a
   ratio to the reference group's. A group *should* be flagged when that ratio is
   below ``1 - margin``; a flag elsewhere is false, a missing one missed;
4. records each cell's minimum detectable ratio (``detectable_ratio``: the true
   ratio the check would flag with 80 % power at the world's counts) and sorts
   every missed flag by it: ``blind_spot`` (the true ratio was above it: the
   audit said a gap that small could pass unseen), ``not_compared`` (no ratio
   could be shown) or ``in_sight`` (the check claimed it could see the gap).

Worlds 101 and up are the tuning worlds of :mod:`bench.robustness`; the label
check's settings were not tuned on them. Results go to
``bench/results/label_sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.robustness import planned_scoring_date, world_profile

MODEL_URI = "bench:constant"
SPEC = "diabetes_harm_365d"  # its cohort is the audited one
GROUPINGS = ("education_level", "education_split")
RESULTS = Path(__file__).parent / "results" / "label_sweep.json"

log = logging.getLogger(__name__)


def _settings(path: Path) -> Any:
    from features.settings import EngineSettings

    return EngineSettings(output_dir=path, mlflow_uri=f"sqlite:///{path / 'mlflow.db'}")


def _write_constant_scores(con: Any, as_of: date) -> pd.DataFrame:
    """Score the spec's cohort at ``as_of`` with one constant; return its ids."""
    from models.matrix import ensure_features, read_cohort_frame
    from models.spec import load_spec

    ensure_features(con, [as_of])
    cohort = read_cohort_frame(
        con, cohort=load_spec(SPEC).cohort, as_of=as_of, features=[], kinds={}
    )
    scores = cohort[["citizen_id", "as_of_date"]].assign(
        model_uri=MODEL_URI, risk_score=0.5, risk_rank=np.arange(1, len(cohort) + 1)
    )
    con.execute("create schema if not exists scoring")
    con.register("bench_scores", scores)
    con.execute("create or replace table scoring.scores as select * from bench_scores")
    con.unregister("bench_scores")
    return scores[["citizen_id"]]


def _audit(settings: Any, as_of: date, config: Any) -> Any:
    """Run the label check (the whole audit) on the constant-scored cohort."""
    from features.db import connect
    from reports.fairness import audit_fairness
    from reports.frame import AuditScope, build_audit_frame

    con = connect(settings.warehouse, read_only=True)
    try:
        frame = build_audit_frame(
            con,
            AuditScope(MODEL_URI, as_of),
            outcome=None,
            label_washout_days=config.ascertainment_washout_days,
        )
    finally:
        con.close()
    return audit_fairness(frame, config=config, k=max(1, len(frame) // 50))


def _truth_completeness(
    truth_path: Path, cohort: pd.DataFrame, citizens: pd.DataFrame, config: Any
) -> dict[str, dict[str, float]]:
    """Recorded / true complications by education group, over the reference's."""
    truth = pd.read_parquet(
        truth_path,
        columns=["citizen_id", "n_complications_true", "n_complications_recorded"],
    )
    rows = cohort.merge(truth, on="citizen_id").merge(citizens, on="citizen_id")
    out: dict[str, dict[str, float]] = {}
    for name in GROUPINGS:
        grouping = config.grouping(name)
        group = rows["education_level"].fillna("unknown").astype(str)
        if grouping.value_map:
            group = group.map(dict(grouping.value_map)).fillna("unknown")
        sums = rows.groupby(group)[["n_complications_recorded", "n_complications_true"]]
        totals = sums.sum()
        share = totals["n_complications_recorded"] / totals["n_complications_true"]
        ref = _reference(grouping.reference, rows.groupby(group).size())
        out[name] = {str(g): float(share[g] / share[ref]) for g in share.index}
    return out


def _reference(reference: str, sizes: pd.Series) -> str:
    """The grouping's reference group (``largest``: the biggest)."""
    return str(sizes.idxmax()) if reference == "largest" else reference


def _label_cells(audit: Any, name: str) -> dict[str, Any]:
    """The check's ratio to the reference (estimate, interval) per group."""
    cells = {}
    for group, data in audit.groupings[name]["groups"].items():
        cell = data.get("label_ascertainment") or {}
        cells[group] = {
            "n": cell.get("n"),
            "ratio": cell.get("ratio"),
            "detectable_ratio": cell.get("detectable_ratio"),
            "suppressed": bool(cell.get("suppressed")),
        }
    return cells


def run_world(seed: int, citizens: int, work: Path) -> dict[str, Any]:
    """Generate, load and label-check one world; compare flags with its truth."""
    from features.db import connect
    from features.load import load_extract
    from reports.config import FairnessConfig
    from synthetic_data import generate_extract

    started = time.perf_counter()
    profile, description = world_profile(seed, citizens)
    generated = generate_extract(profile, work / "extract", fmt="parquet")
    settings = _settings(work / "build")
    load_extract(generated.out_dir, settings=settings)
    as_of = planned_scoring_date(profile.extract_date)
    con = connect(settings.warehouse)
    try:
        cohort = _write_constant_scores(con, as_of)
        people = con.execute("select citizen_id, education_level from raw.citizens")
        people_frame = people.df()
    finally:
        con.close()
    config = FairnessConfig.from_toml()
    audit = _audit(settings, as_of, config)
    truth = _truth_completeness(generated.truth_path, cohort, people_frame, config)
    return _judge(seed, description, audit, truth, config, as_of, len(cohort), started)


def _judge(
    seed: int,
    description: dict[str, Any],
    audit: Any,
    truth: dict[str, dict[str, float]],
    config: Any,
    as_of: date,
    n_cohort: int,
    started: float,
) -> dict[str, Any]:
    """Flags against the truth: should, flagged, false and missed per group."""
    threshold = 1.0 - config.ascertainment_margin
    flagged = {
        (f.grouping, f.group) for f in audit.flags if f.code == "label_ascertainment"
    }
    groups = []
    for name in GROUPINGS:
        cells = _label_cells(audit, name)
        for group, true_ratio in truth[name].items():
            should = true_ratio < threshold
            flag = (name, group) in flagged
            groups.append(
                {
                    "grouping": name,
                    "group": group,
                    "true_recording_ratio": round(true_ratio, 3),
                    "should_flag": should,
                    "flagged": flag,
                    "false_flag": flag and not should,
                    "missed_flag": should and not flag,
                    "check": cells.get(group),
                    "miss": _miss_kind(
                        should and not flag, true_ratio, cells.get(group)
                    ),
                }
            )
    return {
        "seed": seed,
        "ascertainment_bias": description["ascertainment_bias"],
        "engagement_education_gradient": description["engagement_education_gradient"],
        "ascertainment_engagement_slope": description["ascertainment_engagement_slope"],
        "history_years": description["history_years"],
        "as_of_date": str(as_of),
        "n_cohort": n_cohort,
        "groups": groups,
        "other_label_flags": sorted(
            f"{g}: {v}" for g, v in flagged if g not in GROUPINGS
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _miss_kind(missed: bool, true_ratio: float, cell: dict[str, Any] | None) -> str:
    """Why a flag was missed, against what the check said it could see.

    ``blind_spot``: the true ratio was above the cell's minimum detectable
    ratio, so the audit said a gap this small could pass unseen (honest);
    ``not_compared``: the cell told no detectable ratio (suppressed, or no
    comparison); ``in_sight``: the true ratio was at or below it, so the check
    claimed it could see the gap and did not. Empty when nothing was missed.
    """
    if not missed:
        return ""
    detectable = (cell or {}).get("detectable_ratio")
    if detectable is None:
        return "not_compared"
    return "blind_spot" if true_ratio > detectable else "in_sight"


def summarise(worlds: list[dict[str, Any]]) -> dict[str, int]:
    """Counts over every world: groups that should be flagged, flags, false, missed."""
    rows = [g for w in worlds for g in w["groups"]]
    return {
        "worlds": len(worlds),
        "worlds_with_bias": sum(w["ascertainment_bias"] for w in worlds),
        "groups_compared": len(rows),
        "should_flag": sum(g["should_flag"] for g in rows),
        "flagged": sum(g["flagged"] for g in rows),
        "false_flags": sum(g["false_flag"] for g in rows),
        "missed_flags": sum(g["missed_flag"] for g in rows),
        **{
            f"missed_{kind}": sum(g.get("miss") == kind for g in rows)
            for kind in ("blind_spot", "not_compared", "in_sight")
        },
    }


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main(argv: list[str] | None = None) -> None:
    """Run the sweep and write bench/results/label_sweep.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default="101-106")
    parser.add_argument("--citizens", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=Path("build/bench/label_sweep"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    worlds = []
    for seed in _seeds(args.worlds):
        worlds.append(run_world(seed, args.citizens, args.work / f"world_{seed}"))
        print(json.dumps({k: v for k, v in worlds[-1].items() if k != "groups"}))
        result = {
            "citizens": args.citizens,
            "summary": summarise(worlds),
            "worlds": worlds,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
