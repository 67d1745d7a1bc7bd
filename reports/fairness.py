"""The fairness audit: group metrics at capacity k, label check, flags, summary.

Input is one frame with a row per cohort citizen at the as-of date (built from
``scoring.scores``, ``marts.audit_attributes`` and the labels by
:mod:`reports.frame`); output is a :class:`FairnessAudit` holding aggregates
only, which :mod:`reports.render` writes as HTML, PDF and ``fairness.json``.
Every figure carries a bootstrap interval, every group is compared to its
reference group on the same draws, and cells under ``min_cell_size`` are
suppressed before anything leaves this module.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features.errors import ConfigError, DataError
from reports import danish
from reports.config import INTERSECTION, FairnessConfig, Grouping
from reports.metrics import (
    Estimates,
    FloatArray,
    GroupCodes,
    RatioSpec,
    estimate_group_auroc,
    estimate_group_sums,
    percentile_interval,
    ratio_estimates,
    top_k,
)
from reports.suppression import complementary_suppression, sibling_sets

__all__ = [
    "BAD_CAPACITY",
    "EMPTY_FRAME",
    "FairnessAudit",
    "Flag",
    "MISSING_COLUMNS",
    "audit_fairness",
    "rerank_by_quota",
]

log = logging.getLogger(__name__)

MISSING_COLUMNS = "The audit frame lacks the column(s) {columns}."
EMPTY_FRAME = "The audit frame has no citizens; there is nothing to audit."
BAD_CAPACITY = "The capacity k must be an int in the range [1, inf). Got {k!r} instead."
OVERALL = "overall"
ALL = "all"

BASE_SPECS: dict[str, RatioSpec] = {
    "selection_rate": RatioSpec("sel", "one"),
    "share_of_cohort": RatioSpec("one", "one", "total"),
    "share_of_list": RatioSpec("sel", "sel", "total"),
    "share_of_need": RatioSpec("pos", "pos", "total"),
    "precision_at_k": RatioSpec("sel_pos", "sel_obs"),
    "recall_at_k": RatioSpec("sel_pos", "pos"),
    "false_positive_rate": RatioSpec("sel_neg", "neg"),
    "observed_rate": RatioSpec("pos", "obs"),
    "mean_predicted": RatioSpec("score_obs", "obs"),
    "calibration_in_the_large": RatioSpec("resid_obs", "obs"),
    "brier_score_loss": RatioSpec("sq_obs", "obs"),
}
#: Columns of reports/sql/audit_ascertainment.sql read by the label check.
LABEL_COLUMNS = (
    "n_complications_found_at_care",
    "n_complications_found_at_admission",
    "n_acute_diabetes_admissions",
)
LABEL_METRIC = "label_ascertainment"
LABEL_STRATA = "age_band"  # the label check compares groups within age bands
MITIGATIONS = {
    "as_is": "the list as ranked",
    "equal_selection_rate": "slots shared in proportion to each group's size",
    "need_proportional": "slots shared by each group's observed need (hindsight)",
}


@dataclass(frozen=True)
class Flag:
    """One finding in plain words; ``severity="breach"`` fails a release gate."""

    code: str
    grouping: str
    group: str
    message: str
    severity: str
    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    message_da: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the flag in ``fairness.json`` shape."""
        return {
            "code": self.code,
            "grouping": self.grouping,
            "group": self.group,
            "message": self.message,
            "message_da": self.message_da,
            "severity": self.severity,
            "metric": self.metric,
            "estimate": _num(self.estimate),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
        }


@dataclass(frozen=True)
class FairnessAudit:
    """Aggregated result of one audit; holds no person-level data.

    Attributes
    ----------
    k : int
        Capacity audited.
    counts : dict
        ``n_cohort``, ``n_selected``, ``n_observed`` (outcome observable).
    overall : dict
        Metric -> cell over the whole cohort.
    groupings : dict
        Grouping -> reference, columns and per-group cells (see ``fairness.json``).
    mitigation : dict
        Re-ranking comparison at the same capacity (shown, never applied).
    curve_k : list of int
        Capacities of the curve over k.
    flags : tuple of Flag
    summary : tuple of str
        Six plain-language sentences for the first page.
    context : dict
        Programme, scope, as-of date, model URI as given by the caller.
    """

    k: int
    counts: dict[str, int]
    overall: dict[str, Any]
    groupings: dict[str, Any]
    mitigation: dict[str, Any]
    curve_k: list[int]
    flags: tuple[Flag, ...]
    summary: tuple[str, ...]
    context: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    summary_da: tuple[str, ...] = ()
    comparison: dict[str, Any] = field(default_factory=dict)

    @property
    def breaches(self) -> tuple[Flag, ...]:
        """Flags whose severity is ``breach``."""
        return tuple(f for f in self.flags if f.severity == "breach")

    def to_dict(self) -> dict[str, Any]:
        """Everything in ``fairness.json``: figures, intervals, flags, summary."""
        return {
            "schema": "opspor-fairness/1",
            "context": dict(self.context),
            "k": self.k,
            **self.counts,
            "settings": dict(self.settings),
            "summary": list(self.summary),
            "summary_da": list(self.summary_da),
            "flags": [f.as_dict() for f in self.flags],
            "overall": self.overall,
            "groupings": self.groupings,
            "curve_k": list(self.curve_k),
            "mitigation": self.mitigation,
            "comparison": dict(self.comparison),
        }


# --- entry -------------------------------------------------------------------


def audit_fairness(
    frame: pd.DataFrame,
    *,
    config: FairnessConfig,
    k: int,
    context: Mapping[str, Any] | None = None,
) -> FairnessAudit:
    """Audit a ranked cohort at capacity k, by every configured grouping.

    Parameters
    ----------
    frame : DataFrame
        One row per cohort citizen: ``y_score``; ``selected`` (bool; top-k by score
        when absent); ``y_true`` (1/0, null when not yet observable); the group
        columns of ``config``; optional ascertainment indicators and alternative
        outcome labels named in ``config``. Not modified.
    config : FairnessConfig
        Groupings, thresholds, bootstrap settings.
    k : int
        The programme's capacity.
    context : Mapping, optional
        Programme, week or model, as-of date; copied into the result.

    Returns
    -------
    FairnessAudit

    Raises
    ------
    ConfigError
        ``k`` is not a positive int.
    DataError
        The frame is empty or lacks a needed column.
    """
    _check_frame(frame, config, k)
    arrays = _arrays(frame, k)
    codes = _group_codes(frame, config)
    curve_k = _curve_ks(k, len(frame), config.curve_points)
    mitigations = _mitigations(arrays, codes[config.mitigation_grouping], k)
    vectors = _vectors(frame, arrays, config, curve_k, mitigations)
    specs = _specs(frame, config, curve_k, mitigations)
    estimates = {
        name: _estimate(grouping_codes, vectors, specs, arrays, config)
        for name, grouping_codes in codes.items()
    }
    results = {
        name: _grouping_result(
            _grouping_or_overall(config, name), codes[name], est, config
        )
        for name, est in estimates.items()
    }
    flags = _flag_all(config, codes, estimates)
    log.info("Audited %d citizens at k=%d: %d flag(s)", len(frame), k, len(flags))
    return _assemble(frame, arrays, config, k, results, flags, curve_k, context)


def _assemble(
    frame: pd.DataFrame,
    arrays: Mapping[str, FloatArray],
    config: FairnessConfig,
    k: int,
    results: dict[str, Any],
    flags: list[Flag],
    curve_k: list[int],
    context: Mapping[str, Any] | None,
) -> FairnessAudit:
    """Bundle the per-grouping results into a FairnessAudit with its summary."""
    overall = results.pop(OVERALL)
    counts = {
        "n_cohort": int(len(frame)),
        "n_selected": int(arrays["sel"].sum()),
        "n_observed": int(arrays["obs"].sum()),
    }
    mitigation = _mitigation_table(config, overall, results[config.mitigation_grouping])
    for result in results.values():
        for group in result["groups"].values():
            group.pop("mitigation")
    flags = sorted(
        flags, key=lambda f: (f.severity != "breach", f.code, f.grouping, f.group)
    )
    summary = _summary(config, counts, k, overall["groups"][ALL], results, flags)
    summary_da = danish.summary_da(
        config, counts, k, overall["groups"][ALL]["metrics"], results, flags
    )
    return FairnessAudit(
        k=k,
        counts=counts,
        overall=overall["groups"][ALL]["metrics"],
        groupings=results,
        mitigation=mitigation,
        curve_k=curve_k,
        flags=tuple(flags),
        summary=summary,
        summary_da=summary_da,
        context=dict(context or {}),
        settings=_settings_dict(config),
    )


def _settings_dict(config: FairnessConfig) -> dict[str, Any]:
    """Return the settings that shaped the figures, for the JSON."""
    return {
        "min_cell_size": config.min_cell_size,
        "n_bootstrap": config.n_bootstrap,
        "confidence": config.confidence,
        "seed": config.seed,
        "flag_adjustment": config.flag_adjustment,
        "min_recall_ratio": config.min_recall_ratio,
        "max_calibration_gap": config.max_calibration_gap,
        "ascertainment_margin": config.ascertainment_margin,
        "ascertainment_lookback_days": config.ascertainment_lookback_days,
        "ascertainment_washout_days": config.ascertainment_washout_days,
        "ascertainment_not_flagged": list(config.ascertainment_not_flagged),
        "care_gap": dict(config.care_gap),
    }


# --- input -------------------------------------------------------------------


def _check_frame(frame: pd.DataFrame, config: FairnessConfig, k: int) -> None:
    """Refuse a bad capacity, an empty frame or missing columns."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ConfigError(BAD_CAPACITY.format(k=k))
    needed = ["y_score", "y_true"] + [g.column for g in config.groupings if g.column]
    missing = sorted({c for c in needed if c not in frame.columns})
    if missing:
        raise DataError(MISSING_COLUMNS.format(columns=", ".join(missing)))
    if len(frame) == 0:
        raise DataError(EMPTY_FRAME)


def _float(series: pd.Series) -> FloatArray:
    """Return a column as float with NaN for null (booleans become 0/1)."""
    return np.asarray(
        pd.to_numeric(series.astype("Float64"), errors="coerce"), dtype=float
    )


def _arrays(frame: pd.DataFrame, k: int) -> dict[str, FloatArray]:
    """Score, selection and outcome as aligned numpy arrays."""
    score = _float(frame["y_score"])
    if "selected" in frame.columns:
        selected = frame["selected"].fillna(False).astype(bool).to_numpy()
    else:
        selected = top_k(score, k)
    y = _float(frame["y_true"])
    obs = (~np.isnan(y)).astype(float)
    pos = np.nan_to_num(y) * obs
    return {
        "score": score,
        "sel": selected.astype(float),
        "y": y,
        "obs": obs,
        "pos": pos,
    }


def _labels(series: pd.Series, value_map: Mapping[str, str]) -> pd.Series:
    """Return each citizen's group as a string; null -> ``unknown``; recoded."""

    def one(value: Any) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return "unknown"
        if isinstance(value, bool | np.bool_):
            return "true" if value else "false"
        return str(value)

    labels = series.astype("object").map(one)
    if value_map:
        labels = labels.map(lambda v: value_map.get(v, "unknown"))
    return labels


def _group_codes(frame: pd.DataFrame, config: FairnessConfig) -> dict[str, GroupCodes]:
    """Group codes per grouping, plus the one-group ``overall``."""
    values: dict[str, pd.Series] = {}
    for grouping in config.groupings:
        if grouping.column:
            values[grouping.name] = _labels(frame[grouping.column], grouping.value_map)
        else:
            first, second = (values[p] for p in grouping.of)
            values[grouping.name] = first + INTERSECTION + second
    codes = {OVERALL: GroupCodes.from_values(pd.Series([ALL] * len(frame)))}
    codes.update({name: GroupCodes.from_values(v) for name, v in values.items()})
    return codes


def _curve_ks(k: int, n: int, points: int) -> list[int]:
    """Capacities from k/4 to 4k (within the cohort), always including k."""
    grid = np.geomspace(max(1, k / 4), max(1, min(4 * k, n)), points)
    return sorted({int(round(x)) for x in grid} | {min(k, n)})


# --- mitigation --------------------------------------------------------------


def _allocate(shares: FloatArray, k: int, sizes: FloatArray) -> FloatArray:
    """Largest-remainder allocation of k slots by share, capped by group size."""
    total = shares.sum()
    raw = k * shares / total if total > 0 else np.zeros_like(shares)
    quota = np.minimum(np.floor(raw), sizes)
    for g in np.argsort(-(raw - np.floor(raw)), kind="stable"):
        if quota.sum() >= k:
            break
        if quota[g] < sizes[g]:
            quota[g] += 1
    return quota


def rerank_by_quota(
    score: FloatArray, codes: GroupCodes, *, k: int, shares: FloatArray
) -> FloatArray:
    """Group-aware re-ranking: each group's best scores fill its share of k slots.

    Parameters
    ----------
    score : ndarray
        Risk per citizen.
    codes : GroupCodes
        Group of each citizen.
    k : int
        Capacity.
    shares : ndarray (G,)
        Relative share of the slots for each group.

    Returns
    -------
    ndarray
        1.0 for selected citizens, 0.0 otherwise; leftover slots go to the best
        remaining scores.
    """
    sizes = np.bincount(codes.codes, minlength=len(codes.labels)).astype(float)
    quota = _allocate(np.asarray(shares, dtype=float), min(k, len(score)), sizes)
    order = np.argsort(-score, kind="stable")
    rank_in_group = np.empty(len(score), dtype=np.int64)
    for g in range(len(codes.labels)):
        members = order[codes.codes[order] == g]
        rank_in_group[members] = np.arange(len(members))
    selected = rank_in_group < quota[codes.codes]
    leftover = min(k, len(score)) - int(selected.sum())
    if leftover > 0:
        rest = order[~selected[order]][:leftover]
        selected[rest] = True
    return selected.astype(float)


def _mitigations(
    arrays: Mapping[str, FloatArray], codes: GroupCodes, k: int
) -> dict[str, FloatArray]:
    """Return selections of the re-ranking alternatives, beside the list as it is."""
    n_groups = len(codes.labels)
    sizes = np.bincount(codes.codes, minlength=n_groups).astype(np.float64)
    need = np.asarray(
        np.bincount(codes.codes, weights=arrays["pos"], minlength=n_groups),
        dtype=np.float64,
    )
    return {
        "as_is": arrays["sel"],
        "equal_selection_rate": rerank_by_quota(
            arrays["score"], codes, k=k, shares=sizes
        ),
        "need_proportional": rerank_by_quota(arrays["score"], codes, k=k, shares=need),
    }


# --- vectors and specs ------------------------------------------------------


def _bins(score: FloatArray, n_bins: int) -> FloatArray:
    """Risk-quantile bin (0..n_bins-1) of each citizen over the whole cohort."""
    edges = np.quantile(score, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, score, side="right").astype(float)


def _vectors(
    frame: pd.DataFrame,
    arrays: Mapping[str, FloatArray],
    config: FairnessConfig,
    curve_k: Sequence[int],
    mitigations: Mapping[str, FloatArray],
) -> dict[str, FloatArray]:
    """Per-citizen vectors whose group sums give every figure."""
    score, sel, y, obs, pos = (arrays[a] for a in ("score", "sel", "y", "obs", "pos"))
    neg = obs - pos
    v: dict[str, FloatArray] = {
        "one": np.ones(len(score)),
        "sel": sel,
        "obs": obs,
        "pos": pos,
        "neg": neg,
        "sel_pos": sel * pos,
        "sel_obs": sel * obs,
        "sel_neg": sel * neg,
        "score_obs": score * obs,
        "resid_obs": (np.nan_to_num(y) - score) * obs,
        "sq_obs": (score - np.nan_to_num(y)) ** 2 * obs,
    }
    for col in _present(frame, config.care_gap):
        values = _float(frame[col])
        v[f"care:{col}"], v[f"care_n:{col}"] = (
            np.nan_to_num(values),
            (~np.isnan(values)) * 1.0,
        )
    if all(c in frame.columns for c in (*LABEL_COLUMNS, LABEL_STRATA)):
        care, admission, acute = (
            np.nan_to_num(_float(frame[c])) for c in LABEL_COLUMNS
        )
        v["found_at_care"] = care
        v["expected_at_care"] = _expected_at_care(frame, care, admission + acute)
    for col in _present(frame, config.alternative_outcomes):
        alt = np.nan_to_num(_float(frame[col]))
        v[f"alt_pos:{col}"], v[f"alt_sel_pos:{col}"] = alt, alt * sel
    bins = _bins(score, config.calibration_bins)
    for b in range(config.calibration_bins):
        inside = (bins == b) * obs
        v[f"cal_obs:{b}"], v[f"cal_y:{b}"], v[f"cal_s:{b}"] = (
            inside,
            inside * pos,
            inside * score,
        )
    for j, kk in enumerate(curve_k):
        chosen = top_k(score, kk).astype(float)
        v[f"curve_sel_pos:{j}"], v[f"curve_sel_obs:{j}"] = chosen * pos, chosen * obs
    for name, chosen in mitigations.items():
        v[f"mit_sel_pos:{name}"], v[f"mit_sel_obs:{name}"] = chosen * pos, chosen * obs
    return v


def _expected_at_care(
    frame: pd.DataFrame, found: FloatArray, hospital: FloatArray
) -> FloatArray:
    """Complications each citizen would have found at care at the cohort's rate.

    Hospital-recorded harm times the cohort's found-at-care / hospital ratio in
    the citizen's age band (indirect standardisation): young citizens, type 1
    diabetes among them, have many acute admissions per complication whatever
    their care, so comparing raw ratios across groups of different ages would
    read age as under-recording.
    """
    bands = frame[LABEL_STRATA].astype("object").fillna("unknown").to_numpy()
    expected = np.zeros(len(found))
    for band in pd.unique(bands):
        inside = bands == band
        total = hospital[inside].sum()
        if total > 0:
            expected[inside] = hospital[inside] * found[inside].sum() / total
    return expected


def _present(frame: pd.DataFrame, columns: Mapping[str, str]) -> list[str]:
    """Return configured optional columns that the frame has."""
    return [c for c in columns if c in frame.columns]


def _specs(
    frame: pd.DataFrame,
    config: FairnessConfig,
    curve_k: Sequence[int],
    mitigations: Mapping[str, FloatArray],
) -> dict[str, RatioSpec]:
    """Every ratio-of-sums figure by name (``section:key`` for the derived ones)."""
    specs = dict(BASE_SPECS)
    for col in _present(frame, config.care_gap):
        specs[f"care_gap:{col}"] = RatioSpec(f"care:{col}", f"care_n:{col}")
    if all(c in frame.columns for c in (*LABEL_COLUMNS, LABEL_STRATA)):
        specs[LABEL_METRIC] = RatioSpec("found_at_care", "expected_at_care")
    for col in _present(frame, config.alternative_outcomes):
        specs[f"alt_recall:{col}"] = RatioSpec(f"alt_sel_pos:{col}", f"alt_pos:{col}")
        specs[f"alt_share:{col}"] = RatioSpec(
            f"alt_pos:{col}", f"alt_pos:{col}", "total"
        )
    for b in range(config.calibration_bins):
        specs[f"cal_observed:{b}"] = RatioSpec(f"cal_y:{b}", f"cal_obs:{b}")
        specs[f"cal_predicted:{b}"] = RatioSpec(f"cal_s:{b}", f"cal_obs:{b}")
    for j in range(len(curve_k)):
        specs[f"curve_recall:{j}"] = RatioSpec(f"curve_sel_pos:{j}", "pos")
        specs[f"curve_precision:{j}"] = RatioSpec(
            f"curve_sel_pos:{j}", f"curve_sel_obs:{j}"
        )
    for name in mitigations:
        specs[f"mit_recall:{name}"] = RatioSpec(f"mit_sel_pos:{name}", "pos")
        specs[f"mit_precision:{name}"] = RatioSpec(
            f"mit_sel_pos:{name}", f"mit_sel_obs:{name}"
        )
    return specs


def _estimate(
    codes: GroupCodes,
    vectors: Mapping[str, FloatArray],
    specs: Mapping[str, RatioSpec],
    arrays: Mapping[str, FloatArray],
    config: FairnessConfig,
) -> dict[str, Estimates]:
    """Estimates (point, draws, counts) of every figure for one grouping."""
    boot = {"n_bootstrap": config.n_bootstrap, "seed": config.seed}
    point, draws = estimate_group_sums(codes, vectors, **boot)
    counts = {name: np.rint(point[name]) for name in point}
    binary = {name: bool(np.isin(v, (0.0, 1.0)).all()) for name, v in vectors.items()}
    estimates = {
        name: ratio_estimates(spec, point, draws, counts, binary=binary[spec.numerator])
        for name, spec in specs.items()
    }
    estimates["roc_auc_score"] = estimate_group_auroc(
        codes, arrays["score"], arrays["y"], **boot
    )
    estimates["group_size"] = Estimates(
        point["one"], draws["one"], np.asarray(counts["one"], dtype=np.int64)
    )
    return estimates


# --- cells, references, comparisons -----------------------------------------


def _grouping_or_overall(config: FairnessConfig, name: str) -> Grouping:
    """Return the configured grouping, or a one-group stand-in for the whole cohort."""
    if name == OVERALL:
        return Grouping(name=OVERALL, column=None, reference=ALL, phrase="{group}")
    return config.grouping(name)


def _reference_index(
    grouping: Grouping, labels: Sequence[str], sizes: FloatArray
) -> list[int]:
    """Index of each group's reference group (-1 when there is none)."""
    largest = int(np.argmax(sizes))
    lookup = {label: i for i, label in enumerate(labels)}
    ref = grouping.reference
    if ref.endswith(INTERSECTION + "*"):
        head = ref[: -len(INTERSECTION + "*")]
        return [
            lookup.get(head + INTERSECTION + lb.split(INTERSECTION, 1)[-1], -1)
            for lb in labels
        ]
    if ref == "largest":
        return [largest] * len(labels)
    if ref not in lookup:
        log.warning(
            "Reference group of %s absent; using the largest group", grouping.name
        )
        return [largest] * len(labels)
    return [lookup[ref]] * len(labels)


def _num(value: Any) -> float | None:
    """Return a finite float, else None (JSON null)."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _interval(draws: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of draws (B, G); NaN when there are no draws."""
    if draws.shape[0] == 0:
        nan = np.full(draws.shape[1], np.nan)
        return nan, nan.copy()
    return percentile_interval(draws, confidence=confidence)


@dataclass(frozen=True)
class _Compared:
    """Comparison of one metric to the reference group, on the same draws."""

    estimate: FloatArray  # (G,)
    low: FloatArray
    high: FloatArray
    valid: np.ndarray


def _compare(
    est: Estimates, refs: Sequence[int], ok: np.ndarray, kind: str, confidence: float
) -> _Compared:
    """Compare every group to its reference (NaN where not comparable)."""
    idx = np.asarray([r if r >= 0 else 0 for r in refs])
    valid = np.asarray(
        [r >= 0 and r != g and ok[g] and ok[r] for g, r in enumerate(refs)]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ratio":
            point, draws = (
                est.estimate / est.estimate[idx],
                est.draws / est.draws[:, idx],
            )
        else:
            point, draws = (
                est.estimate - est.estimate[idx],
                est.draws - est.draws[:, idx],
            )
    low, high = _interval(draws, confidence)
    nan = np.full(len(point), np.nan)
    return _Compared(
        np.where(valid, point, nan),
        np.where(valid, low, nan),
        np.where(valid, high, nan),
        valid,
    )


def _hidden_groups(
    group_n: np.ndarray, labels: Sequence[str], min_cell: int
) -> NDArray[np.bool_]:
    """Return the suppressed groups: under the minimum size, and complements."""
    return complementary_suppression(
        group_n, group_n < min_cell, sibling_sets(labels, INTERSECTION)
    )


def _ok(
    est: Estimates, group_n: np.ndarray, labels: Sequence[str], min_cell: int
) -> NDArray[np.bool_]:
    """Return the cells shown (not suppressed, nor given away by siblings).

    The group and the metric's own cell must be big enough, and no cell may be
    worked out from its siblings and their total (complementary suppression).
    """
    ok = (
        ~_hidden_groups(group_n, labels, min_cell)
        & (est.n >= min_cell)
        & np.isfinite(est.estimate)
    )
    return ~complementary_suppression(est.n, ~ok, sibling_sets(labels, INTERSECTION))


def _cell(est: Estimates, g: int, ok: bool, low: float, high: float) -> dict[str, Any]:
    """One figure in JSON shape; everything null when suppressed."""
    if not ok:
        return {
            "n": None,
            "estimate": None,
            "ci_low": None,
            "ci_high": None,
            "suppressed": True,
        }
    return {
        "n": int(est.n[g]),
        "estimate": _num(est.estimate[g]),
        "ci_low": _num(low),
        "ci_high": _num(high),
        "suppressed": False,
    }


def _comparison(c: _Compared, g: int) -> dict[str, float | None] | None:
    """Difference or ratio of group g in JSON shape (None when not comparable)."""
    if not c.valid[g]:
        return None
    return {
        "estimate": _num(c.estimate[g]),
        "ci_low": _num(c.low[g]),
        "ci_high": _num(c.high[g]),
    }


def _metric_cells(
    est: Estimates,
    refs: Sequence[int],
    group_n: np.ndarray,
    labels: Sequence[str],
    config: FairnessConfig,
) -> list[dict[str, Any]]:
    """Return one metric's cells for every group, with difference and ratio."""
    ok = _ok(est, group_n, labels, config.min_cell_size)
    low, high = _interval(est.draws, config.confidence)
    diff = _compare(est, refs, ok, "difference", config.confidence)
    ratio = _compare(est, refs, ok, "ratio", config.confidence)
    cells = []
    for g in range(len(est.estimate)):
        cell = _cell(est, g, bool(ok[g]), low[g], high[g])
        cell["difference"], cell["ratio"] = _comparison(diff, g), _comparison(ratio, g)
        cells.append(cell)
    return cells


def _grouping_result(
    grouping: Grouping,
    codes: GroupCodes,
    estimates: Mapping[str, Estimates],
    config: FairnessConfig,
) -> dict[str, Any]:
    """JSON-ready result of one grouping: reference and per-group sections."""
    group_n = estimates["group_size"].n
    refs = _reference_index(grouping, codes.labels, group_n.astype(float))
    cells = {
        name: _metric_cells(est, refs, group_n, codes.labels, config)
        for name, est in estimates.items()
        if name != "group_size"
    }
    hidden = _hidden_groups(group_n, codes.labels, config.min_cell_size)
    groups = {}
    for g, label in enumerate(codes.labels):
        suppressed = bool(hidden[g])
        groups[label] = {
            "n": None if suppressed else int(group_n[g]),
            "suppressed": suppressed,
            "reference": codes.labels[refs[g]] if refs[g] >= 0 else None,
            "description": _describe(config, grouping, label),
            **_sections(config, {name: c[g] for name, c in cells.items()}),
        }
    reference: str | None = grouping.reference
    if "*" not in grouping.reference:
        reference = codes.labels[refs[0]] if refs and refs[0] >= 0 else None
    columns = [grouping.column] if grouping.column else list(grouping.of)
    return {"columns": columns, "reference": reference, "groups": groups}


def _sections(
    config: FairnessConfig, cells: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """Split one group's cells into the JSON sections."""
    metrics = {m: cells[m] for m in config.metrics if m in cells}
    care_gap = {
        key.split(":", 1)[1]: cell
        for key, cell in cells.items()
        if key.startswith("care_gap:")
    }
    alternatives = {
        col: {
            "recall_at_k": cells[f"alt_recall:{col}"],
            "share_of_need": cells[f"alt_share:{col}"],
        }
        for col in config.alternative_outcomes
        if f"alt_recall:{col}" in cells
    }
    calibration = [
        {
            "bin": b + 1,
            "mean_predicted": cells[f"cal_predicted:{b}"],
            "observed_rate": cells[f"cal_observed:{b}"],
        }
        for b in range(config.calibration_bins)
    ]
    n_curve = sum(1 for key in cells if key.startswith("curve_recall:"))
    curve = [
        {
            "recall_at_k": cells[f"curve_recall:{j}"],
            "precision_at_k": cells[f"curve_precision:{j}"],
        }
        for j in range(n_curve)
    ]
    mitigation = {
        key.split(":", 1)[1]: {
            "recall_at_k": cell,
            "precision_at_k": cells[f"mit_precision:{key.split(':', 1)[1]}"],
        }
        for key, cell in cells.items()
        if key.startswith("mit_recall:")
    }
    return {
        "metrics": metrics,
        "care_gap": care_gap,
        "label_ascertainment": cells.get(LABEL_METRIC),
        "alternative_outcomes": alternatives,
        "calibration": calibration,
        "curve": curve,
        "mitigation": mitigation,
    }


def _describe(config: FairnessConfig, grouping: Grouping, label: str) -> str:
    """Plain-language description of a group ("with basic education")."""
    if grouping.name == OVERALL:
        return "in the cohort"
    if grouping.column:
        return grouping.describe(label)
    parts = label.split(INTERSECTION, 1)
    described = [
        config.grouping(p).describe(v) for p, v in zip(grouping.of, parts, strict=True)
    ]
    return " and ".join(described)


# --- flags ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Family:
    """One family of comparisons whose flags share a multiplicity adjustment."""

    metric: str
    code: (
        str | None
    )  # None: the grouping's own flag code (under_reach / gp_contact_bias)
    threshold: float


def _families(config: FairnessConfig, metrics: Sequence[str]) -> list[_Family]:
    """Recall@k, the label check (when its counts exist), and calibration."""
    families = [_Family("recall_at_k", None, config.min_recall_ratio)]
    if LABEL_METRIC in metrics:
        families.append(
            _Family(LABEL_METRIC, LABEL_METRIC, 1.0 - config.ascertainment_margin)
        )
    return families + [
        _Family(
            "calibration_in_the_large", "calibration_gap", config.max_calibration_gap
        )
    ]


def _z(config: FairnessConfig, m: int) -> float:
    """Return the normal quantile of a two-sided interval, Bonferroni-widened."""
    alpha = 1.0 - config.confidence
    if config.flag_adjustment == "bonferroni":
        alpha /= max(1, m)
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def _candidates(
    config: FairnessConfig,
    family: _Family,
    labels: Sequence[str],
    refs: Sequence[int],
    estimates: Mapping[str, Estimates],
) -> list[tuple[int, float, float, float, float, float]]:
    """Return (group, estimate, ci_low, ci_high, SE, centre) per comparable group.

    The SE is the bootstrap's, floored by an analytic one: a group with no events
    has bootstrap draws that are all zero, and would otherwise look certain.
    """
    est = estimates[family.metric]
    ok = _ok(est, estimates["group_size"].n, labels, config.min_cell_size)
    if family.code == "calibration_gap":
        low, high = _interval(est.draws, config.confidence)
        se = np.fmax(
            _sd(est.draws),
            _binomial_se(estimates["observed_rate"], estimates["mean_predicted"]),
        )
        return [
            (g, est.estimate[g], low[g], high[g], se[g], est.estimate[g])
            for g in range(len(labels))
            if ok[g]
        ]
    shown = _compare(est, refs, ok, "ratio", config.confidence)
    idx = np.asarray([r if r >= 0 else 0 for r in refs])
    if family.code == LABEL_METRIC:
        return _log_ratio_candidates(est, idx, shown, len(labels))
    centre = est.estimate - est.estimate[idx]
    se = np.fmax(_sd(est.draws - est.draws[:, idx]), _pooled_se(est, idx))
    return [
        (g, shown.estimate[g], shown.low[g], shown.high[g], se[g], centre[g])
        for g in range(len(labels))
        if shown.valid[g]
    ]


def _log_ratio_candidates(
    est: Estimates, idx: np.ndarray, shown: _Compared, n_groups: int
) -> list[tuple[int, float, float, float, float, float]]:
    """Candidates of the label check: centre and SE on the log scale.

    The SE is the bootstrap's SD of the log ratio of ratios, floored by the
    Poisson one of its four counts (0.5 added to each), so a group with few
    events never looks certain.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(est.estimate / est.estimate[idx])
        log_draws = np.log(est.draws / est.draws[:, idx])
    a, b = (np.asarray(x, dtype=float) + 0.5 for x in (est.num_sum, est.den_sum))
    poisson = np.sqrt(1 / a + 1 / b + 1 / a[idx] + 1 / b[idx])
    se = np.fmax(_sd(log_draws), poisson)
    return [
        (g, shown.estimate[g], shown.low[g], shown.high[g], se[g], centre[g])
        for g in range(n_groups)
        if shown.valid[g]
    ]


def _pooled_se(est: Estimates, idx: np.ndarray) -> FloatArray:
    """SE of group minus reference under "no difference": pooled binomial or Poisson.

    Floors the bootstrap SE, which is zero for a group whose every draw is zero.
    """
    a, n = np.asarray(est.num_sum, dtype=float), np.asarray(est.den_sum, dtype=float)
    pooled = (a + a[idx]) / np.maximum(n + n[idx], 1.0)
    spread = pooled * (1.0 - pooled) if est.binary else pooled
    return np.asarray(
        np.sqrt(
            np.clip(spread, 0.0, None)
            * (1.0 / np.maximum(n, 1.0) + 1.0 / np.maximum(n[idx], 1.0))
        ),
        dtype=np.float64,
    )


def _binomial_se(observed: Estimates, predicted: Estimates) -> FloatArray:
    """Return the SE of an observed event rate.

    The larger of the binomial SE at the observed rate
    (0.5-corrected, so zero events are not certain) and at the predicted risk.
    """
    events = np.asarray(observed.num_sum, dtype=float)
    n = np.maximum(np.asarray(observed.den_sum, dtype=float), 1.0)
    p = (events + 0.5) / (n + 1.0)
    q = np.clip(np.nan_to_num(predicted.estimate), 0.0, 1.0)
    return np.asarray(
        np.sqrt(np.fmax(p * (1.0 - p), q * (1.0 - q)) / n), dtype=np.float64
    )


def _sd(draws: FloatArray) -> FloatArray:
    """Bootstrap standard error per column (NaN without finite draws)."""
    clean = np.where(np.isfinite(draws), draws, np.nan)
    if clean.shape[0] < 2:
        return np.full(clean.shape[1], np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanstd(clean, axis=0, ddof=1), dtype=np.float64)


def _breaches(
    family: _Family, estimate: float, se: float, centre: float, z: float
) -> bool:
    """Tell whether the estimate is past the threshold, widened interval too.

    Ratios: the ratio is under the threshold and the group's shortfall (``centre``,
    group minus reference) stays below zero across the widened interval, so the
    ratio's upper bound is below 1. Label check: the widened interval of the log
    ratio lies wholly below ``log(1 - margin)`` (the threshold). Calibration: the
    gap is over the threshold and its widened interval excludes zero.
    """
    if not (np.isfinite(se) and np.isfinite(centre)):
        return False
    if family.code == LABEL_METRIC:
        return bool(centre + z * se < np.log(family.threshold))
    if family.code == "calibration_gap":
        return abs(estimate) > family.threshold and (
            centre - z * se > 0 or centre + z * se < 0
        )
    return bool(estimate < family.threshold and centre + z * se < 0.0)


def _flag_all(
    config: FairnessConfig,
    codes: Mapping[str, GroupCodes],
    estimates: Mapping[str, Mapping[str, Estimates]],
) -> list[Flag]:
    """Return every flag; multiplicity is counted over all groupings of a family."""
    flags: list[Flag] = []
    for family in _families(config, list(estimates[OVERALL])):
        found = []
        for name, est in estimates.items():
            if name == OVERALL or family.metric not in est:
                continue
            if family.code == LABEL_METRIC and name in config.ascertainment_not_flagged:
                continue
            grouping = config.grouping(name)
            labels, group_n = codes[name].labels, est["group_size"].n
            refs = _reference_index(grouping, labels, group_n.astype(float))
            for cand in _candidates(config, family, labels, refs, est):
                found.append((grouping, labels, refs, est, cand))
        z = _z(config, len(found))
        for grouping, labels, refs, est, (g, value, low, high, se, centre) in found:
            if _breaches(family, value, se, centre, z):
                flags.append(
                    _flag(
                        config,
                        family,
                        grouping,
                        labels,
                        refs,
                        est,
                        g,
                        (value, low, high),
                    )
                )
    return flags


def _flag(
    config: FairnessConfig,
    family: _Family,
    grouping: Grouping,
    labels: Sequence[str],
    refs: Sequence[int],
    est: Mapping[str, Estimates],
    g: int,
    values: tuple[float, float, float],
) -> Flag:
    """Build one flag with its plain-language message, in English and Danish."""
    code = family.code or grouping.flag
    if code == "calibration_gap":
        predicted = float(est["mean_predicted"].estimate[g])
        message = _calibration_message(config, grouping, labels[g], predicted, values)
        message_da = danish.calibration_message_da(
            config, grouping.name, labels[g], predicted, values
        )
    else:
        message = _ratio_message(
            config, grouping, labels[g], labels[refs[g]], family.metric, values
        )
        message_da = danish.ratio_message_da(
            config, grouping.name, labels[g], labels[refs[g]], family.metric, values
        )
    return Flag(
        code,
        grouping.name,
        labels[g],
        message,
        config.severity_of(code),
        family.metric,
        *values,
        message_da=message_da,
    )


def _ratio_message(
    config: FairnessConfig,
    grouping: Grouping,
    label: str,
    reference: str,
    metric: str,
    values: tuple[float, float, float],
) -> str:
    """Plain-language sentence for a ratio flag."""
    ratio, low, high = values
    who, ref = (
        _describe(config, grouping, label),
        _describe(config, grouping, reference),
    )
    ci = f"({config.confidence:.0%} CI {low:.2f}–{high:.2f})"
    if metric == "recall_at_k":
        text = (
            f"Citizens {who} who had the outcome were {ratio:.2f} times as likely to "
            "be on "
            f"the list as those {ref} {ci}."
        )
        if grouping.flag == "gp_contact_bias":
            text += " The list may favour citizens who are already in regular care."
        return text
    return (
        f"For citizens {who}, complications found at attended care per harm recorded "
        f"in hospital (acute diabetes admissions, complications first found at an "
        f"admission) were {ratio:.2f} times those {ref} within the same age bands "
        f"{ci}: their outcome may be "
        "under-recorded, so a model trained on it may under-rank them."
    )


def _calibration_message(
    config: FairnessConfig,
    grouping: Grouping,
    label: str,
    predicted: float,
    values: tuple[float, float, float],
) -> str:
    """Plain-language sentence for a calibration flag."""
    gap, low, high = values
    return (
        f"For citizens {_describe(config, grouping, label)}, the model predicted an "
        f"average risk of {predicted:.1%} but {predicted + gap:.1%} had the outcome "
        f"(difference {100 * gap:+.1f} percentage points, {config.confidence:.0%} CI "
        f"{100 * low:+.1f} to {100 * high:+.1f})."
    )


# --- mitigation table and summary ---------------------------------------------


def _mitigation_table(
    config: FairnessConfig, overall: Mapping[str, Any], by_group: Mapping[str, Any]
) -> dict[str, Any]:
    """Precision and recall at the same k, as ranked and re-ranked, side by side."""
    strategies = {}
    for name, description in MITIGATIONS.items():
        groups = {
            label: group["mitigation"][name]["recall_at_k"]
            for label, group in by_group["groups"].items()
        }
        ratios = [
            c["ratio"]["estimate"] for c in groups.values() if c["ratio"] is not None
        ]
        strategies[name] = {
            "description": description,
            "precision_at_k": overall["groups"][ALL]["mitigation"][name][
                "precision_at_k"
            ],
            "recall_at_k": overall["groups"][ALL]["mitigation"][name]["recall_at_k"],
            "min_recall_ratio": min((r for r in ratios if r is not None), default=None),
            "recall_at_k_by_group": groups,
        }
    return {
        "grouping": config.mitigation_grouping,
        "applied": False,
        "note": "Shown for comparison only; the list is never re-ranked by this audit.",
        "strategies": strategies,
    }


def _summary(
    config: FairnessConfig,
    counts: Mapping[str, int],
    k: int,
    overall: Mapping[str, Any],
    results: Mapping[str, Any],
    flags: Sequence[Flag],
) -> tuple[str, ...]:
    """Six plain-language sentences for the first page of the report.

    When no outcome can be observed yet (a weekly audit of this week's list),
    reach and calibration are said to be not yet known rather than fine.
    """
    by_code: dict[str, list[Flag]] = {}
    for flag in flags:
        by_code.setdefault(flag.code, []).append(flag)
    if counts["n_observed"] == 0:
        return _unobserved_summary(config, counts, k, results, by_code)
    return (
        _cohort_sentence(counts, k),
        _performance_sentence(config, overall["metrics"]),
        _reach_sentence(config, by_code.get("under_reach", [])),
        _healthy_sentence(config, results, by_code.get("gp_contact_bias", [])),
        _label_sentence(
            config,
            results,
            by_code.get("label_ascertainment", []),
            by_code.get("calibration_gap", []),
        )
        + _alternative_clause(config, results, by_code.get("label_ascertainment", [])),
        _care_gap_sentence(config, results),
    )


def _cohort_sentence(counts: Mapping[str, int], k: int) -> str:
    """Sentence one: who the audit covers."""
    return (
        f"This audit covers {counts['n_cohort']:,} citizens in the cohort; "
        f"{counts['n_selected']:,} were on the list at capacity k = {k:,}, and the "
        "outcome "
        f"could be observed for {counts['n_observed']:,} of them."
    )


def _unobserved_summary(
    config: FairnessConfig,
    counts: Mapping[str, int],
    k: int,
    results: Mapping[str, Any],
    by_code: Mapping[str, list[Flag]],
) -> tuple[str, ...]:
    """Return the six sentences when no citizen's outcome can be observed yet."""
    return (
        _cohort_sentence(counts, k),
        "The outcome could not yet be observed for any citizen, so how well the "
        "list finds need is not yet known.",
        "Whether the list reaches each group's need is not yet known: the outcome "
        "of its citizens lies in the future (audit this list again once its "
        "outcome window has passed).",
        "Whether the list favours citizens already in regular GP contact is not yet "
        "known, for the same reason.",
        _label_sentence(config, results, by_code.get("label_ascertainment", []), None),
        _care_gap_sentence(config, results),
    )


def _fmt(cell: Mapping[str, Any], pattern: str) -> str | None:
    """Format a cell as 'value (95% CI low–high)' or None when suppressed."""
    if cell.get("suppressed") or cell.get("estimate") is None:
        return None
    text = pattern.format(cell["estimate"])
    if cell.get("ci_low") is not None and cell.get("ci_high") is not None:
        text += (
            f" (CI {pattern.format(cell['ci_low'])}–{pattern.format(cell['ci_high'])})"
        )
    return text


def _performance_sentence(config: FairnessConfig, metrics: Mapping[str, Any]) -> str:
    """Sentence two: precision, recall and AUROC of the list."""
    precision = _fmt(metrics.get("precision_at_k", {}), "{:.0%}")
    recall = _fmt(metrics.get("recall_at_k", {}), "{:.0%}")
    auroc = _fmt(metrics.get("roc_auc_score", {}), "{:.2f}")
    if precision is None or recall is None:
        return (
            "The outcome could not yet be observed for enough citizens, so how well "
            "the list finds need is not yet known."
        )
    return (
        f"Of the listed citizens whose outcome could be observed, {precision} had it, "
        "and the list "
        f"reached {recall} of all citizens who had the outcome; the ranking's AUROC "
        "was "
        f"{auroc or 'not available'}."
    )


def _reach_sentence(config: FairnessConfig, flags: Sequence[Flag]) -> str:
    """Sentence three: under-reach."""
    if not flags:
        return (
            "No group of citizens who had the outcome was markedly less likely to be "
            "on the list "
            "than its reference group (recall ratio under "
            f"{config.min_recall_ratio:.2f} with the "
            "interval below 1)."
        )
    worst = min(flags, key=lambda f: f.estimate)
    return (
        f"Under-reach was flagged for {len(flags)} group(s), most strongly here: "
        f"{worst.message}"
    )


def _healthy_sentence(
    config: FairnessConfig, results: Mapping[str, Any], flags: Sequence[Flag]
) -> str:
    """Sentence four: the "we help the healthy" check."""
    if flags:
        worst = min(flags, key=lambda f: f.estimate)
        return f"The list may help the healthy: {worst.message}"
    cell = results.get("gp_contact_level", {}).get("groups", {}).get("none", {})
    ratio = (cell.get("metrics", {}).get("recall_at_k") or {}).get("ratio")
    detail = ""
    if ratio and ratio.get("estimate") is not None and ratio.get("ci_low") is not None:
        detail = (
            f" (ratio {ratio['estimate']:.2f} for no GP contact, CI "
            f"{ratio['ci_low']:.2f}–{ratio['ci_high']:.2f})"
        )
    return (
        "Among citizens who had the outcome, those with little or no GP contact were "
        "not "
        f"markedly less likely to be on the list than those in regular contact{detail}."
    )


def _in_grouping_order(config: FairnessConfig, flags: Sequence[Flag]) -> list[Flag]:
    """Sort flags by their grouping's place in the config, then by estimate."""
    order = {g.name: i for i, g in enumerate(config.groupings)}
    return sorted(flags, key=lambda f: (order.get(f.grouping, 99), f.estimate))


def _alternative_clause(
    config: FairnessConfig, results: Mapping[str, Any], labels: Sequence[Flag]
) -> str:
    """Close sentence five with the reach of need under the alternative outcomes.

    Told for the first group whose label was flagged (in the order of the
    groupings) that can be compared with its reference group, else for the
    survey's "none or short" education split; empty when no alternative outcome
    was labelled or every such cell is suppressed.
    """
    candidates = [(f.grouping, f.group) for f in _in_grouping_order(config, labels)]
    for grouping, group in [*candidates, ("education_split", "none or short")]:
        text = _alternative_text(config, results, grouping, group)
        if text:
            return text
    return ""


def _alternative_text(
    config: FairnessConfig, results: Mapping[str, Any], grouping: str, group: str
) -> str:
    """Tell a group's recall@k under each alternative outcome and its reference's."""
    groups = results.get(grouping, {}).get("groups", {})
    reference = groups.get(group, {}).get("reference")
    parts = []
    for column, title in config.alternative_outcomes.items():
        a = _alternative_recall(groups.get(group, {}), column)
        b = _alternative_recall(groups.get(reference, {}), column)
        if a is None or b is None:
            continue
        described = _describe(config, config.grouping(grouping), group)
        ref_described = _describe(config, config.grouping(grouping), str(reference))
        parts.append(
            f" Under the alternative outcome {title}, the list reached {a} of the "
            f"need of citizens {described} and {b} of citizens {ref_described}."
        )
    return "".join(parts)


def _alternative_recall(cell: Mapping[str, Any], column: str) -> str | None:
    """Format a group's recall@k under one alternative outcome; None if absent."""
    found = (cell.get("alternative_outcomes", {}).get(column) or {}).get("recall_at_k")
    return _fmt(found, "{:.0%}") if found else None


def _label_sentence(
    config: FairnessConfig,
    results: Mapping[str, Any],
    labels: Sequence[Flag],
    calibration: Sequence[Flag] | None,
) -> str:
    """Sentence five: the label check and calibration (None: not yet known)."""
    if calibration is None:
        calib = "; calibration within groups is not yet known"
    elif calibration:
        calib = f"; calibration gaps were flagged for {len(calibration)} group(s)"
    else:
        calib = "; predicted and observed risk agreed within every group"
    if not labels:
        if not _label_checked(results):
            return (
                "The label check (complications found at attended care against harm "
                "recorded in hospital) could not be made: no such records were "
                f"counted for this cohort{calib}."
            )
        return (
            "Complications found at attended care, per harm recorded in hospital "
            "(acute diabetes admissions, complications first found at an "
            "admission), gave no sign that the outcome is under-recorded in any "
            f"group{calib}."
        )
    seen: list[str] = []
    for flag in _in_grouping_order(config, labels):
        text = "citizens " + _describe(
            config, config.grouping(flag.grouping), flag.group
        )
        if text not in seen:
            seen.append(text)
    shown = ", ".join(seen[:2]) + (
        f" and {len(seen) - 2} other group(s)" if len(seen) > 2 else ""
    )
    return (
        f"The outcome may be under-recorded for {shown}: fewer of their "
        "complications were found at attended care per harm recorded in hospital, "
        f"which makes a model trained on it under-rank them{calib}."
    )


def _label_checked(results: Mapping[str, Any]) -> bool:
    """Tell whether any group has a (possibly suppressed) label-check cell."""
    return any(
        group.get("label_ascertainment") is not None
        for result in results.values()
        for group in result["groups"].values()
    )


def _care_gap_sentence(config: FairnessConfig, results: Mapping[str, Any]) -> str:
    """Sentence six: the widest care gap whose interval excludes parity."""
    gaps = [
        (cell["ratio"]["estimate"], name, label, indicator, cell["ratio"])
        for name, result in results.items()
        if len(result["columns"]) == 1
        for label, group in result["groups"].items()
        for indicator, cell in group.get("care_gap", {}).items()
        if cell.get("ratio")
        and cell["ratio"]["ci_high"] is not None
        and cell["ratio"]["ci_high"] < 1.0
    ]
    if not gaps:
        return (
            "Care (attendance, testing, redemption) did not differ between groups "
            "with an interval that excludes parity."
        )
    ratio, name, label, indicator, cell = min(gaps, key=lambda g: g[0])
    grouping = config.grouping(name)
    reference = results[name]["groups"][label]["reference"]
    return (
        f"Care differed by group (informative, not a label flag): citizens "
        f"{_describe(config, grouping, label)} had {config.care_gap[indicator]} "
        f"{ratio:.2f} times as often as those "
        f"{_describe(config, grouping, str(reference))} (CI {cell['ci_low']:.2f}–"
        f"{cell['ci_high']:.2f}); this is the gap outreach exists to close, "
        "not evidence that the outcome is recorded less."
    )
