"""The ranking judged across a family of synthetic worlds, never one region.

``python -m bench.bench_models robustness [--worlds 1-10] [--citizens 200000]``

For each world (``synthetic_data.draw_world(seed)``: mechanisms, coverage and
history drawn from documented ranges) the bench does what a new user would:

1. generate the world's extract (its truth beside it), pick the scoring date S
   (the latest truth index date a whole year before the extract date) and cut
   the extract at S (:func:`synthetic_data.cut.cut_extract`);
2. ``opspor load`` the cut extract, ``opspor train`` each spec untouched (no
   per-world tuning), ``opspor score`` at S;
3. compare with the world's truth at S: expected precision@k (mean true risk
   of the top k, k = 100 per 100,000 citizens) as a share of the true-risk
   ranking's, realised precision@k (true harm events, Wilson interval), the
   rule's ratio, the features' ceiling (the same features fitted to the true
   risk, cross-fitted), calibration against the recorded outcome at S (labels
   built from the uncut extract: calibration-in-the-large and slope) and
   against the true risk, and the basic-education share of the top k against
   the true-risk ranking's.

Worlds used to choose anything (hyperparameters, defaults) must not be the
reported ones: report seeds 1-10, tune on 101 and up.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.mitigation import education_at_sizes, goal_summary, ranking_frame

DEFAULT_SPECS = ("diabetes_harm_365d", "diabetes_harm_365d_rule")
RULE_SPEC = "diabetes_harm_365d_rule"
FIRST_TUNING_WORLD = 101  # seeds from here on choose things; 1-10 are reported
TRUE_RISK = "true_risk_harm_365d"
TRUE_EVENT = "true_event_harm_365d"
PER_CITIZENS = 1000  # k = 100 per 100,000 citizens


@dataclasses.dataclass(frozen=True)
class Truth:
    """Where a family of specs finds its truth, and its rule."""

    path_field: str  # the GenerationResult field of the truth file
    risk: str
    event: str
    rule: str


#: Specs named smi_* rank citizens with severe mental illness: their truth is
#: the SMI truth (synthetic_data.smi_truth); every other spec's is the diabetes one.
TRUTHS = {
    "diabetes": Truth("truth_risk_path", TRUE_RISK, TRUE_EVENT, RULE_SPEC),
    "smi": Truth(
        "truth_smi_path",
        "true_risk_smi_somatic_365d",
        "true_event_smi_somatic_365d",
        "smi_somatic_365d_rule",
    ),
}


def family(specs: tuple[str, ...]) -> str:
    """``"smi"`` when every spec is an SMI spec, else ``"diabetes"``.

    Raises
    ------
    ValueError
        If SMI and other specs are mixed (they have different cohorts and truths).
    """
    smi = [s.startswith("smi_") for s in specs]
    if any(smi) and not all(smi):
        raise ValueError(f"SMI and other specs cannot share a run: {', '.join(specs)}")
    return "smi" if smi and all(smi) else "diabetes"


def read_truth(result: Any, specs: tuple[str, ...]) -> pd.DataFrame:
    """The truth of the specs' family, its columns named TRUE_RISK and TRUE_EVENT."""
    truth_of = TRUTHS[family(specs)]
    truth = pd.read_parquet(getattr(result, truth_of.path_field))
    truth = truth.rename(columns={truth_of.risk: TRUE_RISK, truth_of.event: TRUE_EVENT})
    truth["index_date"] = pd.to_datetime(truth["index_date"]).dt.date
    return truth


def planned_scoring_date(extract_date: date) -> date:
    """The first day of the latest quarter that starts a whole year before the extract.

    It is one of the truth file's index dates (quarter starts), and the outcome
    year after it lies inside the extract.
    """
    last = extract_date - timedelta(days=365)
    return date(last.year, 3 * ((last.month - 1) // 3) + 1, 1)


def world_profile(seed: int, citizens: int) -> tuple[Any, dict[str, Any]]:
    """Return the generator profile of world ``seed`` and its description.

    The world's history and coverage are drawn as the *delivered* extract's: the
    bench cuts the extract at the scoring date, so every table's coverage is
    moved back by the time between the scoring date and the generated extract's
    date. A world drawn with three years of common history then delivers three
    years before the scoring date, as the suppliers' extracts do.
    """
    from synthetic_data import apply_world, draw_world, load_profile

    base = load_profile("region_demo", citizens=citizens)
    gap = (base.extract_date - planned_scoring_date(base.extract_date)).days / 365.25
    world = draw_world(seed)
    history = world.history_years + math.ceil(gap)
    coverage = {
        t: history if t == "lab_results" else min(history, round(y + gap, 3))
        for t, y in world.coverage_years.items()
    }
    shifted = dataclasses.replace(world, history_years=history, coverage_years=coverage)
    description = {
        **dataclasses.asdict(world),
        "delivered_history_years": world.history_years,
    }
    return apply_world(base, shifted), description


def scoring_date(truth: pd.DataFrame, extract_date: date) -> date:
    """The latest truth index date with a whole outcome year before the extract."""
    dates = sorted(
        {d for d in truth["index_date"] if d + timedelta(365) <= extract_date}
    )
    if not dates:
        raise ValueError("the truth has no index date a year before the extract date")
    return dates[-1]


def wilson(hits: int, n: int, z: float = 1.96) -> list[float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return [math.nan, math.nan]
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [centre - half, centre + half]


def top_k(scores: pd.Series, k: int) -> pd.Index:
    """Index labels of the k highest scores (ties broken by index order)."""
    return scores.sort_values(ascending=False, kind="stable").index[:k]


def top_k_ranked(ranks: pd.Series, k: int) -> pd.Index:
    """Index labels of the k first ranks: the list ``opspor score`` ranked.

    The rank breaks ties in risk (the rule's few levels, isotonic plateaus) as
    the product does (raw margin, then citizen id), not by row order.
    """
    return ranks.sort_values(kind="stable").index[:k]


def share_ratio(share: float, reference: float) -> float | None:
    """``share / reference``, or None (shown as n/a) when the reference is 0."""
    return share / reference if reference > 0 else None


def with_rule(specs: tuple[str, ...]) -> tuple[str, ...]:
    """The specs, with their family's coordinator rule added when none is among them.

    The rule's ratio is one of the figures every world reports.
    """
    if any(s.endswith("_rule") for s in specs):
        return specs
    return (*specs, TRUTHS[family(specs)].rule)


N_BOOTSTRAP = 200  # resamples of citizens for the calibration intervals


def calibration(
    pred: np.ndarray,
    outcome: np.ndarray,
    *,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """Calibration-in-the-large (mean predicted minus observed) and slope.

    The slope is the coefficient of a logistic regression of the outcome on
    the logit of the prediction (1 = perfectly spread risks). Each comes with
    a 95 % percentile interval over ``n_bootstrap`` resamples of the rows (one
    row per citizen at the scoring date), so a slope of 1.3 on a few hundred
    events can be told from a real mis-calibration.
    """
    p = np.clip(np.asarray(pred, dtype=float), 1e-6, 1 - 1e-6)
    y = np.asarray(outcome)
    logit = np.log(p / (1 - p))
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(p), len(p)) for _ in range(n_bootstrap)]
    slopes = [_slope(logit[i], y[i]) for i in draws]
    citl = [float(p[i].mean() - y[i].mean()) for i in draws]
    return {
        "n": len(pred),
        "events": int(np.sum(y)),
        "mean_predicted": float(np.mean(pred)),
        "mean_observed": float(np.mean(y)),
        "in_the_large": float(np.mean(pred) - np.mean(y)),
        "in_the_large_ci": _percentiles(citl),
        "slope": _slope(logit, y),
        "slope_ci": _percentiles(slopes),
    }


def _slope(logit: np.ndarray, outcome: np.ndarray) -> float:
    """The outcome's logistic regression coefficient on ``logit`` (nan: one class).

    Unpenalised maximum likelihood of ``outcome ~ a + b logit`` by Newton's
    method (two parameters, so each of the bootstrap's fits takes a moment).
    """
    y = np.asarray(outcome, dtype=float)
    if len(np.unique(y)) < 2:
        return math.nan
    X = np.column_stack([np.ones(len(logit)), np.asarray(logit, dtype=float)])
    beta = np.array([math.log(y.mean() / (1 - y.mean())), 0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(X @ beta)))
        hessian = X.T @ (X * (p * (1 - p))[:, None])
        step = np.linalg.lstsq(hessian, X.T @ (y - p), rcond=None)[0]
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            return math.nan
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[1])


def _percentiles(values: list[float]) -> list[float]:
    """The 2.5 and 97.5 percentiles of the finite values (nan when there are none)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return [math.nan, math.nan]
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))]


def features_ceiling(
    frame: pd.DataFrame, features: list[str], risk: pd.Series
) -> pd.Series:
    """Cross-fitted prediction of the true risk from the spec's features."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    X = frame[features].copy()
    for column in X.columns:
        if not pd.api.types.is_numeric_dtype(X[column]):
            X[column] = X[column].astype("category")
        elif pd.api.types.is_bool_dtype(X[column]):
            X[column] = X[column].astype(float)
    fold = (pd.util.hash_pandas_object(frame["citizen_id"], index=False) % 2).to_numpy()
    out = pd.Series(np.nan, index=frame.index)
    for f in (0, 1):
        model = HistGradientBoostingRegressor(
            max_iter=300,
            learning_rate=0.05,
            categorical_features="from_dtype",
            random_state=0,
        )
        model.fit(X[fold != f], risk[fold != f])
        out[fold == f] = model.predict(X[fold == f])
    return out


def _settings(path: Path) -> Any:
    from features.settings import EngineSettings

    return EngineSettings(output_dir=path, mlflow_uri=f"sqlite:///{path / 'mlflow.db'}")


def _scores(settings: Any, spec: str, as_of: date) -> pd.DataFrame:
    from features.db import connect
    from models.score import score_citizens
    from models.spec import load_spec
    from models.train import train_model

    train_model(load_spec(spec), settings=settings)
    scored = score_citizens(settings, model=spec, as_of=as_of)
    con = connect(settings.warehouse)
    try:
        return con.execute(
            "select citizen_id, risk_score, risk_rank from scoring.scores"
            " where as_of_date = $d and model_uri = $uri",
            {"d": as_of, "uri": scored.model_uri},
        ).df()
    finally:
        con.close()


def _recorded_labels(work: Path, full: Path, spec: str, as_of: date) -> pd.DataFrame:
    """Labels at ``as_of`` from the uncut extract: the outcome as it was recorded."""
    from features.build import build_features
    from features.db import connect
    from features.load import load_extract

    settings = _settings(work / "full")
    built = work / "full" / f".features-{as_of.isoformat()}"
    if not built.exists():  # a second outcome of the same world reuses the build
        load_extract(full, settings=settings)
    con = connect(settings.warehouse)
    try:
        if not built.exists():
            build_features(con, [as_of], checks=False)
            built.touch()
        return labels_at(con, spec, as_of)
    finally:
        con.close()


def labels_at(con: Any, spec: str, as_of: date) -> pd.DataFrame:
    """``citizen_id, label`` of the spec's outcome at ``as_of`` (features built there).

    Labels every covered date (``min_washout_days=0``): the bench compares
    with the truth at one date, whatever the spec's training plan would use.
    """
    from models.outcomes import build_labels, read_extract_window
    from models.spec import load_spec

    loaded = load_spec(spec)
    build_labels(
        con,
        loaded.outcome,
        window=read_extract_window(con),
        horizon_days=loaded.horizon_days,
        washout_days=loaded.washout_days,
        min_washout_days=0,
    )
    frame: pd.DataFrame = con.execute(
        f'select citizen_id, label from labels."{loaded.outcome}"'
        " where as_of_date = $d and label is not null",
        {"d": as_of},
    ).df()
    return frame


def _education(settings: Any) -> pd.Series:
    from features.db import connect

    con = connect(settings.warehouse)
    try:
        frame = con.execute("select citizen_id, education_level from raw.citizens").df()
    finally:
        con.close()
    return frame.set_index("citizen_id")["education_level"]


def _mart(settings: Any, spec: str, as_of: date) -> tuple[pd.DataFrame, list[str]]:
    """The registered model's input rows at ``as_of`` and its feature names."""
    from features.db import connect
    from models.matrix import feature_kinds, read_cohort_frame
    from models.score import load_registered_model

    resolved = load_registered_model(settings, spec).spec
    features = list(resolved.model_features)
    con = connect(settings.warehouse)
    try:
        kinds = feature_kinds(con, features, spec=resolved.name)
        frame = read_cohort_frame(
            con, cohort=resolved.cohort, as_of=as_of, features=features, kinds=kinds
        )
    finally:
        con.close()
    return frame, features


def evaluate_world(
    seed: int, work: Path, citizens: int, specs: tuple[str, ...] = DEFAULT_SPECS
) -> dict[str, Any]:
    """Generate, cut, load, train, score and compare one world with its truth."""
    from features.load import load_extract
    from synthetic_data import generate_extract
    from synthetic_data.cut import cut_extract

    started = time.perf_counter()
    profile, description = world_profile(seed, citizens)
    full = work / "extract"
    result = generate_extract(profile, full, fmt="parquet")
    truth = read_truth(result, specs)
    extract_date = date.fromisoformat(
        json.loads((full / "extract.json").read_text())["extract_date"]
    )
    as_of = scoring_date(truth, extract_date)
    assert as_of == planned_scoring_date(extract_date), (as_of, extract_date)
    cut = cut_extract(full, work / "cut", as_of)
    settings = _settings(work / "cut_build")
    load = load_extract(cut, settings=settings)
    at = truth[truth["index_date"] == as_of].set_index("citizen_id")
    k = max(1, citizens // PER_CITIZENS)
    best = top_k(at[TRUE_RISK], k)
    best_expected = float(at.loc[best, TRUE_RISK].mean())
    education = _education(settings)
    out: dict[str, Any] = {
        "world": seed,
        "mechanisms": description,
        "extract_date": extract_date,
        "scoring_date": as_of,
        "coverage": load.coverage,
        "k": k,
        "true_risk_top_k_expected": best_expected,
        "truth_mean_risk": float(at[TRUE_RISK].mean()),
        "basic_true_ranking": int((education.reindex(best) == "basic").sum()),
        "basic_share_true_ranking": float((education.reindex(best) == "basic").mean()),
        "specs": {},
    }
    labels: dict[str, pd.DataFrame] = {}  # per outcome
    ceilings: dict[tuple[str, ...], float] = {}
    all_scores: dict[str, pd.Series] = {}
    for spec in specs:
        scored = _scores(settings, spec, as_of).set_index("citizen_id")
        scores = all_scores[spec] = scored["risk_score"]
        chosen = top_k_ranked(scored["risk_rank"], k)
        entry = _ranking_entry(at, chosen, scores.index, education, out)
        ranked = ranking_frame(at[TRUE_RISK], scored["risk_rank"], education)
        entry["education_at_k"] = education_at_sizes(ranked, k)
        if not spec.endswith("_rule"):
            outcome = _outcome(spec)
            if outcome not in labels:
                labels[outcome] = _recorded_labels(work, full, spec, as_of)
            entry.update(_calibration_entry(labels[outcome], scores, at))
            _keep_scores(work / f"scores_{spec}.parquet", labels[outcome], scores, at)
            frame, features = _mart(settings, spec, as_of)
            key = tuple(features)
            if key not in ceilings:  # specs with the same features share it
                ceilings[key] = _ceiling_ratio(frame, features, at, k, best_expected)
            entry["features_ceiling_ratio"] = ceilings[key]
        out["specs"][spec] = entry
    if family(specs) == "smi":
        out["smi"] = _smi_comparison(settings, all_scores, at, labels, as_of, k)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def _outcome(spec: str) -> str:
    from models.spec import load_spec

    return load_spec(spec).outcome


def _smi_comparison(
    settings: Any,
    scores: dict[str, pd.Series],
    at: pd.DataFrame,
    labels: dict[str, pd.DataFrame],
    as_of: date,
    k: int,
) -> dict[str, Any]:
    """The SMI rankings by GP-contact level, need read from the truth and labels."""
    from bench.smi_compare import TRUE_EVENT as SMI_EVENT
    from bench.smi_compare import TRUE_RISK as SMI_RISK
    from bench.smi_compare import compare, read_groups

    truth_at = at.rename(columns={TRUE_RISK: SMI_RISK, TRUE_EVENT: SMI_EVENT})
    recorded = {o: f.set_index("citizen_id")["label"] for o, f in labels.items()}
    return compare(scores, truth_at, read_groups(settings, as_of), recorded, k)


def _ranking_entry(
    at: pd.DataFrame,
    chosen: pd.Index,
    scored: pd.Index,
    education: pd.Series,
    world: dict[str, Any],
) -> dict[str, Any]:
    """Compare a top k with the truth: expected and realised precision, education."""
    k = world["k"]
    risk = at[TRUE_RISK].reindex(chosen).fillna(0.0)
    events = at[TRUE_EVENT].reindex(chosen).fillna(False).astype(int)
    basic = int((education.reindex(chosen) == "basic").sum())
    best = top_k(at[TRUE_RISK], k)
    return {
        "n_scored": len(scored),
        # share of the true-risk top k the model could rank at all (its cohort)
        "true_top_k_in_cohort": float(best.isin(scored).mean()),
        "expected_precision_at_k": float(risk.mean()),
        "ratio_to_true_risk": float(risk.mean() / world["true_risk_top_k_expected"]),
        "realised_precision_at_k": float(events.mean()),
        "realised_ci": wilson(int(events.sum()), k),
        "basic": basic,
        "basic_share": basic / k,
        "basic_share_ratio": share_ratio(basic / k, world["basic_share_true_ranking"]),
    }


def _calibration_entry(
    labels: pd.DataFrame, scores: pd.Series, at: pd.DataFrame
) -> dict[str, Any]:
    """Calibration against the recorded outcome and against the true risk."""
    both = labels.join(scores, on="citizen_id", how="inner")
    truth_risk = at[TRUE_RISK].reindex(scores.index).fillna(0.0)
    return {
        "calibration_recorded": calibration(
            both["risk_score"].to_numpy(), both["label"].to_numpy()
        ),
        "calibration_true_risk": {
            "in_the_large": float(scores.mean() - truth_risk.mean())
        },
    }


def _keep_scores(
    path: Path, labels: pd.DataFrame, scores: pd.Series, at: pd.DataFrame
) -> None:
    """Keep the scored rows beside the world's work (scratch) for later analysis.

    Synthetic citizens only: risk score, recorded label and true risk at S.
    """
    frame = scores.to_frame().join(labels.set_index("citizen_id"), how="left")
    frame[TRUE_RISK] = at[TRUE_RISK].reindex(frame.index)
    frame.reset_index().to_parquet(path, index=False)


def _ceiling_ratio(
    frame: pd.DataFrame,
    features: list[str],
    at: pd.DataFrame,
    k: int,
    best_expected: float,
) -> float:
    """The features' ceiling: their fit to the true risk, as a share of the best."""
    target = at[TRUE_RISK].reindex(frame["citizen_id"]).fillna(0.0)
    ceiling = features_ceiling(frame, features, target.to_numpy())
    ceiling.index = frame["citizen_id"]
    top = top_k(ceiling, k)
    return float(at[TRUE_RISK].reindex(top).fillna(0.0).mean() / best_expected)


def summarise(worlds: list[dict[str, Any]], spec: str) -> dict[str, Any]:
    """Median and worst figures of one spec across worlds, against the targets."""
    ratios = [w["specs"][spec]["ratio_to_true_risk"] for w in worlds]
    summary: dict[str, Any] = {
        "worlds": len(worlds),
        "median_ratio": float(np.median(ratios)),
        "worst_ratio": float(np.min(ratios)),
        "target_median_ratio": 0.90,
        "target_worst_ratio": 0.85,
    }
    cal = [w["specs"][spec].get("calibration_recorded") for w in worlds]
    if all(c is not None for c in cal):
        citl = [c["in_the_large"] for c in cal]
        slopes = [c["slope"] for c in cal]
        summary.update(
            {
                "worst_abs_in_the_large": float(np.max(np.abs(citl))),
                "slopes": [float(s) for s in slopes],
                "slopes_in_target": sum(0.8 <= s <= 1.2 for s in slopes),
                "slope_intervals_missing_target": sum(
                    not _overlaps(c.get("slope_ci"), (0.8, 1.2)) for c in cal
                ),
                "target_abs_in_the_large": 0.015,
                "target_slope": [0.8, 1.2],
                "calibration_met": bool(
                    np.max(np.abs(citl)) <= 0.015
                    and all(0.8 <= s <= 1.2 for s in slopes)
                ),
            }
        )
    summary["ranking_met"] = bool(
        summary["median_ratio"] >= 0.90 and summary["worst_ratio"] >= 0.85
    )
    summary.update(_education_summary(worlds, spec))
    if all("education_at_k" in w["specs"][spec] for w in worlds):
        summary["education_at_k_biased"] = goal_summary(worlds, spec)
    return summary


def _overlaps(interval: list[float] | None, target: tuple[float, float]) -> bool:
    """Whether a (bootstrap) interval meets the target range (True when unknown)."""
    if not interval or not all(math.isfinite(v) for v in interval):
        return True
    return interval[0] <= target[1] and interval[1] >= target[0]


def _education_summary(worlds: list[dict[str, Any]], spec: str) -> dict[str, Any]:
    """Basic education's share of the top k against the truth's, in biased worlds.

    Worlds whose true-risk top k holds no basic-education citizen give no ratio
    and are counted apart.
    """
    biased = [w for w in worlds if w.get("mechanisms", {}).get("ascertainment_bias")]
    ratios = [w["specs"][spec]["basic_share_ratio"] for w in biased]
    known = [r for r in ratios if r is not None]
    return {
        "biased_worlds": len(biased),
        "basic_share_ratio_biased": known,
        "basic_share_ratio_biased_unknown": len(ratios) - len(known),
        "worst_basic_share_ratio_biased": min(known) if known else None,
        "target_basic_share_ratio": 0.95,
    }


def _figure(value: float | None, spec: str = ".2f") -> str:
    """A number for the table, or n/a when it is missing or not a number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def _interval(ci: list[float] | None, scale: float = 1.0, spec: str = ".2f") -> str:
    """`` (lo to hi)`` for the table; empty when the run kept no interval."""
    if not ci:
        return ""
    lo, hi = (_figure(None if v is None else scale * v, spec) for v in ci)
    return f" ({lo} to {hi})"


def table(worlds: list[dict[str, Any]], spec: str, rule: str | None) -> str:
    """The per-world table for the closing note and the README (Markdown)."""
    head = (
        "| world | history (y) | ascertainment bias | k | ratio to true-risk ranking "
        "| realised precision@k (95 % CI) | rule's ratio | features' ceiling "
        "| calibration in the large (pp) | slope "
        "| basic share / true ranking's (basic in top k: model/truth) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for w in worlds:
        s = w["specs"][spec]
        m = w.get("mechanisms", {})
        cal = s.get("calibration_recorded", {})
        lo, hi = s["realised_ci"]
        rule_spec = w["specs"].get(rule) if rule else None
        rule_ratio = rule_spec["ratio_to_true_risk"] if rule_spec else None
        citl = cal.get("in_the_large")
        basic = f"{s.get('basic', '?')}/{w.get('basic_true_ranking', '?')}"
        rows.append(
            f"| {w['world']} | {m.get('history_years', '?')} "
            f"| {m.get('ascertainment_bias', '?')} | {w['k']} "
            f"| {s['ratio_to_true_risk']:.2f} "
            f"| {s['realised_precision_at_k']:.2f} ({lo:.2f}-{hi:.2f}) "
            f"| {_figure(rule_ratio)} | {_figure(s.get('features_ceiling_ratio'))} "
            f"| {_figure(None if citl is None else 100 * citl, '+.1f')}"
            f"{_interval(cal.get('in_the_large_ci'), 100, '+.1f')} "
            f"| {_figure(cal.get('slope'))}{_interval(cal.get('slope_ci'))} "
            f"| {_figure(s['basic_share_ratio'])} ({basic}) |"
        )
    return "\n".join([head, *rows])


def run(
    seeds: list[int], work: Path, citizens: int, specs: tuple[str, ...] = DEFAULT_SPECS
) -> dict[str, Any]:
    """Evaluate every world; return per-world figures and the summary per spec."""
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    specs = with_rule(specs)
    worlds = []
    work.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        world = evaluate_world(seed, work / f"world_{seed}", citizens, specs)
        worlds.append(world)
        # each world as it ends, so a long run that is stopped keeps its figures
        with (work / "worlds.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(world, default=str) + "\n")
        ratios = {s: world["specs"][s]["ratio_to_true_risk"] for s in specs}
        print(json.dumps({"world": seed, "seconds": world["seconds"], **ratios}))
    return collect(worlds, citizens, specs)


def collect(
    worlds: list[dict[str, Any]], citizens: int, specs: tuple[str, ...]
) -> dict[str, Any]:
    """Per-world figures and the summary per spec."""
    return {
        "citizens": citizens,
        "seeds": [w["world"] for w in worlds],
        "worlds": worlds,
        "summary": {s: summarise(worlds, s) for s in specs},
    }


def read_worlds(work: Path, seeds: list[int]) -> list[dict[str, Any]]:
    """The worlds a stopped or resumed run kept in ``worlds.jsonl`` (last of each seed).

    Runs append there as each world ends, so a run cut short, or continued on
    further seeds, is summarised without repeating a world.
    """
    kept: dict[int, dict[str, Any]] = {}
    for line in (work / "worlds.jsonl").read_text(encoding="utf-8").splitlines():
        world = json.loads(line)
        kept[world["world"]] = world
    return [kept[s] for s in seeds if s in kept]
