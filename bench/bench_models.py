"""The models stage at scale: the 200,000-citizen experiment, the 1,000,000 benchmark.

Usage::

    python -m bench.bench_models experiment [--citizens 200000] [--work DIR]
    python -m bench.bench_models benchmark [--citizens 1000000] [--work DIR]
    python -m bench.bench_models robustness [--worlds 1-10] [--citizens 200000]

``robustness``: the default specs trained as a user would in each world of the
synthetic family and compared with the world's true risk (:mod:`bench.robustness`).

``experiment``: on a synthetic region (``region_demo`` resized), train the rule
baseline, the logistic regression and the gradient boosting of
``diabetes_harm_365d`` on the same split, and compare precision@k at k = 2 % of
the test cohort with the ranking by the generator's true risk (the ground-truth
file ``<extract>.truth_risk.parquet``), as a ratio with a paired bootstrap
interval. The test date is moved to a quarter start (the truth file's index
dates), i.e. ``train_to`` = the latest quarter start a whole year before
``extract_date``.

``benchmark``: time ``train_model`` on 12 monthly index dates (cold: building
the features for 13 dates inside; warm: features already built), then
``score_citizens`` plus ``explain_scores`` for every citizen with diabetes at
``extract_date``. Each phase runs in a fresh child process so its peak memory is
its own ``ru_maxrss``. Targets (2 cores): training under 3 minutes, scoring plus
explaining under 1 minute.

Both write their section of ``bench/results/models.json``. Figures are measured,
never assumed; the load average at the start is recorded because the machine
may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

TUNING_RESULTS = Path(__file__).parent / "results" / "robustness_tuning.json"
RESULTS = Path(__file__).resolve().parent / "results" / "models.json"
TARGET_TRAIN_SECONDS = 180.0
TARGET_SCORE_EXPLAIN_SECONDS = 60.0
SPECS = ("diabetes_harm_365d_rule", "diabetes_harm_365d_logreg", "diabetes_harm_365d")


# --- shared ------------------------------------------------------------------


def _extract(work: Path, citizens: int) -> Path:
    """Generate (once) a Parquet extract of ``citizens`` citizens; return its folder."""
    from synthetic_data import generate_extract, load_profile

    out = work / f"extract_{citizens}"
    if not (out / "extract.json").exists():
        generate_extract(
            load_profile("region_demo", citizens=citizens), out, fmt="parquet"
        )
    return out


def _settings(work: Path, citizens: int) -> Any:
    from features.settings import EngineSettings

    return EngineSettings(output_dir=work / f"build_{citizens}")


def _load(work: Path, citizens: int) -> dict[str, Any]:
    from features.load import load_extract

    started = time.perf_counter()
    report = load_extract(_extract(work, citizens), settings=_settings(work, citizens))
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "unchanged": report.unchanged,
    }


def _write(section: str, body: dict[str, Any]) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = body
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    os.replace(tmp, RESULTS)


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- the experiment ------------------------------------------------------------


def _quarter_test_date(extract_date: date) -> date:
    """The latest quarter start at least a year before the extract date."""
    last = date(extract_date.year - 1, extract_date.month, extract_date.day)
    return date(last.year, 3 * ((last.month - 1) // 3) + 1, 1)


def _paired_precision(
    y: Any, true_risk: Any, orders: dict[str, Any], k: int, n_boot: int, seed: int
) -> dict[str, Any]:
    """Return precision@k per ranking and its ratio to true risk (paired bootstrap).

    Observed precision counts the labels among the top k. Expected precision is
    the mean true risk of the top k: what the same ranking would catch on
    average, free of the luck of which risks turned into events that year.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(y)
    ranks = {name: np.empty(n, dtype=np.int64) for name in orders}
    for name, order in orders.items():
        ranks[name][order] = np.arange(n)
    observed: dict[str, list[float]] = {name: [] for name in orders}
    expected: dict[str, list[float]] = {name: [] for name in orders}
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        for name in orders:
            top = idx[np.argsort(ranks[name][idx], kind="stable")[:k]]
            observed[name].append(float(y[top].mean()))
            expected[name].append(float(true_risk[top].mean()))
    out: dict[str, Any] = {}
    for name, order in orders.items():
        out[name] = {}
        for kind, draws, values in (
            ("", observed, y),
            ("expected_", expected, true_risk),
        ):
            point = float(values[order[:k]].mean())
            truth_point = float(values[orders["true_risk"][:k]].mean())
            mine, truth = np.array(draws[name]), np.array(draws["true_risk"])
            ratio = mine / np.where(truth > 0, truth, np.nan)
            out[name][f"{kind}precision_at_k"] = point
            out[name][f"{kind}ci"] = [
                float(np.percentile(mine, q)) for q in (2.5, 97.5)
            ]
            if name != "true_risk":
                out[name][f"{kind}ratio_to_true_risk"] = point / truth_point
                out[name][f"{kind}ratio_ci"] = [
                    float(np.nanpercentile(ratio, q)) for q in (2.5, 97.5)
                ]
    return out


def _origin(
    con: Any, extract: Path, test_date: date
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train the three specs with ``train_to = test_date``; rank that date's test group.

    Returns (arrays, models): ``arrays`` holds the test rows' ``citizen_id``,
    ``y``, generator ``risk`` (``-1`` where the truth file has none) and one
    rank order per ranking, ``true_risk`` included; ``models`` their metrics.
    """
    import dataclasses

    import duckdb
    import numpy as np

    from models.calibrate import predict_risk, rank_order, raw_margin
    from models.spec import load_spec
    from models.train import evaluate_model, fit_model, prepare_training_data

    orders: dict[str, Any] = {}
    models: dict[str, Any] = {}
    test = None
    for name in SPECS:
        spec = dataclasses.replace(load_spec(name), train_to=test_date)
        t0 = time.perf_counter()
        data = prepare_training_data(con, spec)
        spec = data.spec  # broad covariates chosen
        t1 = time.perf_counter()
        model = fit_model(data.matrix, spec, data.kinds)
        t2 = time.perf_counter()
        test = data.matrix[data.matrix["split"] == "test"].reset_index(drop=True)
        evaluation, _ = evaluate_model(model, test, spec, n_cohort=data.n_cohort_test)
        X = test[list(spec.model_features)]
        orders[name] = rank_order(
            predict_risk(model, X), raw_margin(model, X), test["citizen_id"].to_numpy()
        )
        models[name] = {
            "estimator": spec.estimator,
            "seconds_data": round(t1 - t0, 1),
            "seconds_fit": round(t2 - t1, 1),
            "rows": {k: int(v) for k, v in data.matrix["split"].value_counts().items()},
            "metrics": {k: m.as_dict() for k, m in evaluation.metrics.items()},
        }
    assert test is not None
    truth_path = extract.with_name(extract.name + ".truth_risk.parquet")
    truth = duckdb.sql(
        f"select citizen_id, true_risk_harm_365d as r from '{truth_path}' where "
        f"index_date = $d",
        params={"d": test_date},
    ).df()
    risk = (
        test[["citizen_id"]].merge(truth, on="citizen_id", how="left")["r"].to_numpy()
    )
    risk = np.where(np.isfinite(risk), risk, -1.0)
    orders["true_risk"] = rank_order(risk, risk, test["citizen_id"].to_numpy())
    arrays = {
        "citizen_id": test["citizen_id"].to_numpy(),
        "y": test["label"].to_numpy().astype(float),
        "risk": risk,
        "orders": orders,
    }
    return arrays, models


def _weighted_top(order: Any, weight: Any, k: int) -> Any:
    """Rows chosen by a top-k over a resample given as row weights (counts)."""
    import numpy as np

    w = weight[order]
    taken = np.cumsum(w) - w < k
    chosen = np.zeros(len(order), dtype=float)
    chosen[order[taken]] = w[taken]
    return chosen


def _pooled_precision(
    origins: list[dict[str, Any]], n_boot: int, seed: int
) -> dict[str, Any]:
    """Precision@k (2 % per origin) pooled over origins, citizens resampled jointly.

    A citizen of the test group is a test citizen at every origin, so the
    bootstrap draws citizens once and weights their rows at every origin.
    """
    import numpy as np

    names = list(origins[0]["orders"])
    ids = np.unique(np.concatenate([o["citizen_id"] for o in origins]))
    rows = [np.searchsorted(ids, o["citizen_id"]) for o in origins]
    ks = [max(1, round(0.02 * len(o["y"]))) for o in origins]
    rng = np.random.default_rng(seed)

    def pooled(counts: Any) -> dict[str, tuple[float, float]]:
        out = {}
        for name in names:
            hits = expect = chosen = 0.0
            for o, r, k in zip(origins, rows, ks, strict=True):
                sel = _weighted_top(o["orders"][name], counts[r], k)
                hits += float(sel @ o["y"])
                expect += float(sel @ np.maximum(o["risk"], 0.0))
                chosen += float(sel.sum())
            out[name] = (hits / chosen, expect / chosen)
        return out

    point = pooled(np.ones(len(ids)))
    draws = [
        pooled(np.bincount(rng.integers(0, len(ids), len(ids)), minlength=len(ids)))
        for _ in range(n_boot)
    ]
    result: dict[str, Any] = {}
    for name in names:
        result[name] = {}
        for j, kind in enumerate(("", "expected_")):
            mine = np.array([d[name][j] for d in draws])
            truth = np.array([d["true_risk"][j] for d in draws])
            result[name][f"{kind}precision_at_k"] = point[name][j]
            result[name][f"{kind}ci"] = [
                float(np.percentile(mine, q)) for q in (2.5, 97.5)
            ]
            if name != "true_risk":
                result[name][f"{kind}ratio_to_true_risk"] = (
                    point[name][j] / point["true_risk"][j]
                )
                result[name][f"{kind}ratio_ci"] = [
                    float(np.percentile(mine / truth, q)) for q in (2.5, 97.5)
                ]
    return result


def _quarters_back(test_date: date, n: int) -> list[date]:
    """``test_date`` and the ``n - 1`` quarter starts before it, oldest first."""
    dates = []
    for i in range(n):
        month = test_date.month - 3 * i
        year = test_date.year + (month - 1) // 12
        dates.append(date(year, (month - 1) % 12 + 1, 1))
    return sorted(dates)


def experiment(
    work: Path, citizens: int, n_boot: int = 1000, n_origins: int = 4
) -> dict[str, Any]:
    """Run the 200k experiment; return (and write) its figures.

    The primary figures are at the latest test date (the specs' own temporal
    validation). ``rolling`` repeats it at the ``n_origins`` latest quarter
    starts, each model trained only on index dates a horizon before its own
    test date, and pools precision@k over them: four times the selections, so
    narrower intervals for the same question.
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from features.db import connect
    from models.outcomes import read_extract_window

    machine = _machine()
    started = time.perf_counter()
    extract = _extract(work, citizens)
    generated = round(time.perf_counter() - started, 1)
    loaded = _load(work, citizens)
    con = connect(_settings(work, citizens).warehouse)
    test_date = _quarter_test_date(read_extract_window(con).extract_date)
    origins = {
        d: _origin(con, extract, d) for d in _quarters_back(test_date, n_origins)
    }
    con.close()
    latest, models = origins[test_date]
    y, risk = latest["y"], latest["risk"]
    k = max(1, round(0.02 * len(y)))
    paired = _paired_precision(
        y, np.maximum(risk, 0.0), latest["orders"], k, n_boot, seed=20261123
    )
    pooled = _pooled_precision(
        [arrays for arrays, _ in origins.values()], n_boot, seed=20261123
    )
    body = {
        "citizens": citizens,
        "machine": machine,
        "seconds_generate": generated,
        "load": loaded,
        "test_date": test_date,
        "n_test": len(y),
        "events_test": int(y.sum()),
        "prevalence_test": float(y.mean()),
        "k": k,
        "k_rule": "2 % of the test cohort (diabetes, test group, test date)",
        "truth_coverage_of_test_rows": float((risk >= 0).mean()),
        "true_risk_roc_auc": float(roc_auc_score(y, risk)),
        "true_risk_mean": float(risk[risk >= 0].mean()),
        "precision_at_k": paired,
        "rolling": {
            "test_dates": list(origins),
            "n_test": [len(a["y"]) for a, _ in origins.values()],
            "k": [max(1, round(0.02 * len(a["y"]))) for a, _ in origins.values()],
            "precision_at_k": pooled,
        },
        "goals": {
            "hgb_vs_rule": paired["diabetes_harm_365d"]["precision_at_k"]
            / max(paired["diabetes_harm_365d_rule"]["precision_at_k"], 1e-9),
            "hgb_vs_rule_target": 2.0,
            "hgb_ratio_to_true_risk": paired["diabetes_harm_365d"][
                "ratio_to_true_risk"
            ],
            "hgb_ratio_target": 0.85,
            "rolling_hgb_vs_rule": pooled["diabetes_harm_365d"]["precision_at_k"]
            / max(pooled["diabetes_harm_365d_rule"]["precision_at_k"], 1e-9),
            "rolling_hgb_ratio_to_true_risk": pooled["diabetes_harm_365d"][
                "ratio_to_true_risk"
            ],
        },
        "models": models,
        "bootstrap": n_boot,
    }
    _write("experiment_200k", body)
    return body


# --- the benchmark -------------------------------------------------------------

PHASE = """
import json, resource, sys, time, dataclasses, logging
from datetime import date
from pathlib import Path
sys.path.insert(0, {root!r})
from bench.bench_models import _settings
from models.spec import load_spec
phase, work, citizens = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
settings = _settings(work, citizens)
started = time.perf_counter()
out = {{}}
if phase in ("train_cold", "train_warm"):
    from models.train import train_model
    spec = load_spec("diabetes_harm_365d")
    spec = dataclasses.replace(spec, every="1mo", max_index_dates=12)
    r = train_model(spec, settings=settings)
    out = {{"version": r.version, "rows": r.rows, "index_dates": len(r.index_dates),
           "precision_at_capacity": r.metrics["precision_at_capacity"],
           "roc_auc": r.metrics["roc_auc"]}}
elif phase == "score_explain":
    from features.db import connect
    from models.score import score_citizens
    from models.explain import explain_scores
    con = connect(settings.warehouse)
    extract_date = con.execute("select extract_date from raw.extract_info").fetchone()
    extract_date = extract_date[0]
    con.close()
    t0 = time.perf_counter()
    s = score_citizens(settings, model="diabetes_harm_365d", as_of=extract_date)
    t1 = time.perf_counter()
    e = explain_scores(settings, model="diabetes_harm_365d", as_of=extract_date)
    t2 = time.perf_counter()
    out = {{"n_scored": s.n_scored, "n_reasons": e.n_reasons,
           "seconds_score": round(t1 - t0, 1), "seconds_explain": round(t2 - t1, 1)}}
elif phase == "features_for_score_date":
    from features.db import connect
    from models.matrix import ensure_features
    con = connect(settings.warehouse)
    extract_date = con.execute("select extract_date from raw.extract_info").fetchone()
    extract_date = extract_date[0]
    out = {{"built": [str(d) for d in ensure_features(con, [extract_date])]}}
    con.close()
out["seconds"] = round(time.perf_counter() - started, 1)
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
print(json.dumps(out, default=str))
"""


def _phase(name: str, work: Path, citizens: int) -> dict[str, Any]:
    root = str(Path(__file__).resolve().parents[1])
    code = PHASE.format(root=root)
    done = subprocess.run(
        [sys.executable, "-c", code, name, str(work), str(citizens)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _forget_features(work: Path, citizens: int) -> None:
    """Make the next stage rebuild the mart (a cold start after a fresh load)."""
    from features.db import connect

    con = connect(_settings(work, citizens).warehouse)
    try:
        con.execute("drop table if exists models.feature_builds")
    finally:
        con.close()


def benchmark(work: Path, citizens: int) -> dict[str, Any]:
    """Time training, then scoring plus explaining; return (and write) the figures."""
    machine = _machine()
    started = time.perf_counter()
    _extract(work, citizens)
    generated = round(time.perf_counter() - started, 1)
    loaded = _load(work, citizens)
    _forget_features(work, citizens)
    cold = _phase("train_cold", work, citizens)
    warm = _phase("train_warm", work, citizens)
    features = _phase("features_for_score_date", work, citizens)
    scored = _phase("score_explain", work, citizens)
    body = {
        "citizens": citizens,
        "machine": machine,
        "seconds_generate": generated,
        "load": loaded,
        "train_12_index_dates_cold": cold,
        "train_12_index_dates_warm": warm,
        "features_for_score_date": features,
        "score_and_explain_diabetes_cohort": scored,
        "targets": {
            "train_seconds": TARGET_TRAIN_SECONDS,
            "train_cold_met": cold["seconds"] <= TARGET_TRAIN_SECONDS,
            "train_warm_met": warm["seconds"] <= TARGET_TRAIN_SECONDS,
            "score_explain_seconds": TARGET_SCORE_EXPLAIN_SECONDS,
            "score_explain_met": scored["seconds"] <= TARGET_SCORE_EXPLAIN_SECONDS,
        },
        "notes": (
            "cold = train_model building the features of 13 dates itself; warm = the "
            "same spec "
            "again with the mart already built (a second version is registered). "
            "score_explain is measured after the features of the score date were built "
            "(features_for_score_date), and includes loading the model from MLflow."
        ),
    }
    _write("benchmark_1m", body)
    return body


# --- robustness across worlds --------------------------------------------------


def _seeds(text: str) -> list[int]:
    """``"1-10"`` or ``"3,7,9"`` to a list of world seeds."""
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(x) for x in text.split(",")]


def robustness(
    work: Path,
    citizens: int,
    seeds: list[int],
    specs: str,
    *,
    summarise_only: bool = False,
) -> dict[str, Any]:
    """Run :mod:`bench.robustness` and write its section of the results.

    With ``summarise_only`` nothing is run: the worlds already in
    ``worlds.jsonl`` (of ``seeds``; a run stopped or resumed on other seeds)
    are summarised and written.
    """
    from bench import robustness as rb

    names = rb.with_rule(tuple(s for s in specs.split(",") if s))
    if summarise_only:
        worlds = rb.read_worlds(work / "robustness", seeds)
        body = rb.collect(worlds, citizens, names)
    else:
        body = rb.run(seeds, work / "robustness", citizens, names)
    body["machine"] = _machine()
    rule = next((s for s in names if s.endswith("_rule")), None)
    body["tables"] = {s: rb.table(body["worlds"], s, rule) for s in names if s != rule}
    if min(seeds) >= rb.FIRST_TUNING_WORLD:  # tuning worlds: their own file
        body["purpose"] = "tuning (worlds 101 and up; never the reported 1-10)"
        TUNING_RESULTS.write_text(json.dumps(body, indent=2, default=str) + "\n")
    else:
        _write(f"robustness_{citizens}", body)
    for name, text in body["tables"].items():
        sys.stderr.write(f"\n{name}\n{text}\n{json.dumps(body['summary'][name])}\n")
    return body


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the experiment or the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["experiment", "benchmark", "robustness"])
    parser.add_argument("--citizens", type=int, default=None)
    parser.add_argument(
        "--worlds", default="1-10", help="robustness: world seeds, e.g. 1-10 or 3,7"
    )
    parser.add_argument(
        "--specs",
        default="diabetes_harm_365d,diabetes_harm_365d_rule",
        help="robustness: specs to train in every world (comma separated)",
    )
    parser.add_argument(
        "--summarise-only",
        action="store_true",
        help="robustness: summarise the worlds already in --work's worlds.jsonl",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(os.environ.get("OPSPOR_OUTPUT_DIR", "build")) / "bench_models",
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.what == "experiment":
        body = experiment(args.work, args.citizens or 200_000)
    elif args.what == "robustness":
        body = robustness(
            args.work,
            args.citizens or 200_000,
            _seeds(args.worlds),
            args.specs,
            summarise_only=args.summarise_only,
        )
    else:
        body = benchmark(args.work, args.citizens or 1_000_000)
    sys.stdout.write(json.dumps(body, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
