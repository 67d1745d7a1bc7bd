"""Mitigations against the champion at several k: education and what it costs.

``python -m bench.mitigation RUN_DIR... --specs a,b --citizens N --out FILE.json``
summarises robustness work dirs (:func:`bench.robustness.run`, one world each).

Issue 13 asks of a mitigation, in worlds with the ascertainment bias, that
basic education's share of the top k reach 0.95x the true-risk ranking's while
expected precision stays at 0.90x the true-risk ranking's. At the bench's k
(1 per 1,000 citizens) the basic-education count is a dozen citizens or so,
so the share is read here at larger k as well (shares of the scored cohort),
each with a bootstrap interval:

- the citizens of the world's truth at the scoring date are drawn with
  replacement (with their rank in the model's list, their true risk and their
  education); in each draw the model's top k and the true-risk top k are taken
  again and both ratios computed; the interval is the 2.5th-97.5th percentile;
- ``precision_vs_champion`` is a spec's expected precision over the champion's
  in the same world at the same k: the cost of the mitigation against what the
  champion's features reach, since no spec reaches 0.90x of the true ranking
  (``features_ceiling_ratio`` in :mod:`bench.robustness`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CHAMPION = "diabetes_harm_365d"
#: Shares of the scored cohort at which the education share is read, beside the
#: bench's own k.
COHORT_SHARES = (0.01, 0.05, 0.10)
N_BOOTSTRAP = 200
BOOTSTRAP_SEED = 20261208
GOAL_BASIC_SHARE_RATIO = 0.95
GOAL_PRECISION_VS_TRUE = 0.90
GOAL_PRECISION_VS_CHAMPION = 0.90


def list_sizes(k: int, n_scored: int) -> list[tuple[str, int]]:
    """The bench's k and each cohort share's k, labelled (``"k"``, ``"1%"``...)."""
    sizes = [("k", k)]
    for share in COHORT_SHARES:
        sizes.append((f"{share:.0%}", max(1, round(share * n_scored))))
    return sizes


def ranking_frame(
    risk: pd.Series, ranks: pd.Series, education: pd.Series
) -> pd.DataFrame:
    """One row per citizen of the truth or the list: true risk, list rank, basic.

    Citizens the model did not score have no rank (never on its list);
    scored citizens missing from the truth have true risk 0, as in
    :func:`bench.robustness._ranking_entry`.
    """
    index = risk.index.union(ranks.index)
    return pd.DataFrame(
        {
            "risk": risk.reindex(index).fillna(0.0).to_numpy(float),
            "rank": ranks.reindex(index).to_numpy(float),
            "basic": (education.reindex(index) == "basic").to_numpy(bool),
        },
        index=index,
    )


def _figures(
    risk: np.ndarray, rank: np.ndarray, basic: np.ndarray, k: int
) -> tuple[int, int, float, float]:
    """Basic count of the model's and the true top k, and their mean true risks."""
    listed = np.flatnonzero(~np.isnan(rank))
    model = listed[np.argsort(rank[listed], kind="stable")[:k]]
    best = np.argsort(-risk, kind="stable")[:k]
    return (
        int(basic[model].sum()),
        int(basic[best].sum()),
        float(risk[model].mean()),
        float(risk[best].mean()),
    )


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _interval(values: list[float | None]) -> list[float] | None:
    known = [v for v in values if v is not None]
    if len(known) < 0.9 * len(values):  # too many draws without a reference
        return None
    return [float(np.percentile(known, 2.5)), float(np.percentile(known, 97.5))]


def education_at(
    frame: pd.DataFrame, k: int, n_bootstrap: int = N_BOOTSTRAP
) -> dict[str, Any]:
    """Basic share and expected precision of the model's top k against the truth's.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`ranking_frame`'s rows.
    k : int
        List size.
    n_bootstrap : int
        Draws of the citizens for the intervals (0: none).

    Returns
    -------
    dict
        Counts, ratios and their 95 % bootstrap intervals (None where the
        true-risk top k holds no basic-education citizen in too many draws).
    """
    risk, rank, basic = (frame[c].to_numpy() for c in ("risk", "rank", "basic"))
    b_model, b_true, p_model, p_true = _figures(risk, rank, basic, k)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    shares, precisions = [], []
    for _ in range(n_bootstrap):
        draw = rng.integers(0, len(frame), len(frame))
        bm, bt, pm, pt = _figures(risk[draw], rank[draw], basic[draw], k)
        shares.append(_ratio(bm, bt))
        precisions.append(_ratio(pm, pt))
    return {
        "k": k,
        "basic": b_model,
        "basic_true_ranking": b_true,
        "basic_share_ratio": _ratio(b_model, b_true),
        "basic_share_ratio_ci": _interval(shares) if n_bootstrap else None,
        "expected_precision_at_k": p_model,
        "ratio_to_true_risk": _ratio(p_model, p_true),
        "ratio_to_true_risk_ci": _interval(precisions) if n_bootstrap else None,
    }


def education_at_sizes(
    frame: pd.DataFrame, k: int, n_bootstrap: int = N_BOOTSTRAP
) -> dict[str, dict[str, Any]]:
    """:func:`education_at` at the bench's k and at each share of the cohort."""
    n_scored = int((~frame["rank"].isna()).sum())
    return {
        label: education_at(frame, size, n_bootstrap)
        for label, size in list_sizes(k, n_scored)
    }


def against_champion(
    world: dict[str, Any], spec: str, champion: str = CHAMPION
) -> dict[str, dict[str, Any]]:
    """Per list size: the spec's figures, its precision over the champion's, the goals.

    ``goal_issue`` is the issue's goal (basic share >= 0.95x and expected
    precision >= 0.90x the true ranking's); ``goal_proposed`` keeps the share
    and asks precision >= 0.90x the champion's instead.
    """
    mine = world["specs"][spec].get("education_at_k") or {}
    theirs = world["specs"].get(champion, {}).get("education_at_k") or {}
    out: dict[str, dict[str, Any]] = {}
    for label, figures in mine.items():
        base = theirs.get(label, {}).get("expected_precision_at_k")
        vs_champion = _ratio(figures["expected_precision_at_k"], base or 0.0)
        share = figures["basic_share_ratio"]
        share_met = share is not None and share >= GOAL_BASIC_SHARE_RATIO
        true_ratio = figures["ratio_to_true_risk"] or 0.0
        out[label] = {
            **figures,
            "precision_vs_champion": vs_champion,
            "goal_issue": share_met and true_ratio >= GOAL_PRECISION_VS_TRUE,
            "goal_proposed": share_met
            and vs_champion is not None
            and vs_champion >= GOAL_PRECISION_VS_CHAMPION,
        }
    return out


def goal_summary(
    worlds: list[dict[str, Any]], spec: str, champion: str = CHAMPION
) -> dict[str, Any]:
    """In biased worlds, per list size: how often each goal is met, and the figures."""
    biased = [w for w in worlds if w.get("mechanisms", {}).get("ascertainment_bias")]
    per_world = [against_champion(w, spec, champion) for w in biased]
    labels = sorted({label for p in per_world for label in p}, key=_size_order)
    summary: dict[str, Any] = {"biased_worlds": [w["world"] for w in biased]}
    for label in labels:
        rows = [p[label] for p in per_world if label in p]
        shares = [r["basic_share_ratio"] for r in rows]
        known = [s for s in shares if s is not None]
        costs = [r["precision_vs_champion"] for r in rows]
        summary[label] = {
            "basic_share_ratio": shares,
            "median_basic_share_ratio": float(np.median(known)) if known else None,
            "precision_vs_champion": costs,
            "ratio_to_true_risk": [r["ratio_to_true_risk"] for r in rows],
            "worlds_goal_issue": sum(bool(r["goal_issue"]) for r in rows),
            "worlds_goal_proposed": sum(bool(r["goal_proposed"]) for r in rows),
        }
    return summary


def _size_order(label: str) -> float:
    return 0.0 if label == "k" else float(label.rstrip("%"))


def _cell(figures: dict[str, Any]) -> str:
    """``ratio [lo-hi] (model/truth)`` of the basic share, n/a without a reference."""
    share = figures["basic_share_ratio"]
    ci = figures.get("basic_share_ratio_ci")
    counts = f"({figures['basic']}/{figures['basic_true_ranking']})"
    if share is None:
        return f"n/a {counts}"
    interval = f" [{ci[0]:.2f}-{ci[1]:.2f}]" if ci else ""
    return f"{share:.2f}{interval} {counts}"


def table(worlds: list[dict[str, Any]], specs: tuple[str, ...]) -> str:
    """Per biased world and spec: precision and basic share at each size (Markdown)."""
    biased = [w for w in worlds if w.get("mechanisms", {}).get("ascertainment_bias")]
    sizes: list[str] = []
    for w in biased:
        for s in specs:
            for label in w["specs"].get(s, {}).get("education_at_k") or {}:
                if label not in sizes:
                    sizes.append(label)
    sizes.sort(key=_size_order)
    head = ["world", "spec"]
    for label in sizes:
        head += [
            f"{label}: share of true ranking (vs champion)",
            f"{label}: basic share ratio [95 % CI] (model/truth)",
        ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in biased:
        for s in specs:
            figures = against_champion(w, s) if s in w["specs"] else {}
            cells = [str(w["world"]), s]
            for label in sizes:
                f = figures.get(label)
                if f is None:
                    cells += ["n/a", "n/a"]
                    continue
                vs = f["precision_vs_champion"]
                ratio = f["ratio_to_true_risk"]
                precision = "n/a" if ratio is None else f"{ratio:.2f}"
                if vs is not None:
                    precision += f" ({vs:.2f})"
                cells += [precision, _cell(f)]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def collect(runs: list[Path], specs: tuple[str, ...], citizens: int) -> dict[str, Any]:
    """The worlds of several robustness work dirs, their goal summaries and table.

    Each dir is a :func:`bench.robustness.run` work dir (one world each, so a
    stopped run keeps the worlds that ended); the last entry of a world wins.
    """
    kept: dict[int, dict[str, Any]] = {}
    for run in runs:
        lines = (run / "worlds.jsonl").read_text(encoding="utf-8").splitlines()
        for line in lines:
            world = json.loads(line)
            kept[world["world"]] = world
    worlds = [kept[seed] for seed in sorted(kept)]
    return {
        "seeds": sorted(kept),
        "citizens": citizens,
        "worlds": worlds,
        "goals": {
            "issue": "basic share >= 0.95x and expected precision >= 0.90x the "
            "true-risk ranking's",
            "proposed": "basic share >= 0.95x the true-risk ranking's and expected "
            "precision >= 0.90x the champion's",
        },
        "summary": {s: goal_summary(worlds, s) for s in specs},
        "table": table(worlds, specs),
    }


def main(argv: list[str] | None = None) -> int:
    """Summarise robustness work dirs into a results file and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="robustness work dirs")
    parser.add_argument("--specs", required=True, help="comma-separated spec names")
    parser.add_argument("--citizens", type=int, required=True, help="the runs' size")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    specs = tuple(s for s in args.specs.split(",") if s)
    body = collect(args.runs, specs, args.citizens)
    args.out.write_text(
        json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8"
    )
    sys.stdout.write(body["table"] + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
