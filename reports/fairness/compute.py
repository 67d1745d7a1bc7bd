"""The audit's figures: per-citizen vectors, ratio specs and bootstrap estimates.

Step one of :func:`reports.fairness.audit_fairness`. The input frame (one row
per cohort citizen) becomes aligned arrays (score, selection, outcome), group
codes per grouping, and per-citizen vectors whose group sums give every figure
as a ratio of two sums (:class:`~reports.fairness.groups.RatioSpec`); the
group-aware re-rankings shown beside the list are computed here too. Every
grouping is estimated on the same bootstrap draws. Nothing here decides what is
shown, flagged or said: see :mod:`~reports.fairness.cells`,
:mod:`~reports.fairness.flags` and :mod:`~reports.fairness.narrative`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ConfigError, DataError
from models.metrics import FloatArray, top_k
from reports.config import INTERSECTION, FairnessConfig
from reports.fairness.groups import (
    Estimates,
    GroupCodes,
    RatioSpec,
    estimate_group_auroc,
    estimate_group_sums,
    ratio_estimates,
)
from reports.fairness.result import ALL, OVERALL

__all__ = [
    "BAD_CAPACITY",
    "BASE_SPECS",
    "EMPTY_FRAME",
    "LABEL_PREFIXES",
    "LABEL_METRIC",
    "LABEL_STRATA",
    "MISSING_COLUMNS",
    "MITIGATIONS",
    "check_frame",
    "citizen_arrays",
    "citizen_vectors",
    "curve_ks",
    "label_groups",
    "estimate_grouping",
    "group_codes",
    "mitigation_selections",
    "ratio_specs",
    "rerank_by_quota",
]


MISSING_COLUMNS = "The audit frame lacks the column(s) {columns}."


EMPTY_FRAME = "The audit frame has no citizens; there is nothing to audit."


BAD_CAPACITY = "The capacity k must be an int in the range [1, inf). Got {k!r} instead."


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


#: Frame column prefixes of the label check, one pair per complication group
#: (``<prefix><group>``): new complications first recorded at attended care and at
#: an acute admission (reports/sql/audit_ascertainment.sql, pivoted by
#: :mod:`reports.frame`).
LABEL_PREFIXES = ("n_found_at_care__", "n_found_at_admission__")


LABEL_METRIC = "label_ascertainment"


LABEL_STRATA = "age_band"  # the label check compares groups within age bands


MITIGATIONS = {
    "as_is": "the list as ranked",
    "equal_selection_rate": "slots shared in proportion to each group's size",
    "need_proportional": "slots shared by each group's observed need (hindsight)",
}


# --- input ----------------------------------------------------------------------


def check_frame(frame: pd.DataFrame, config: FairnessConfig, k: int) -> None:
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


def citizen_arrays(frame: pd.DataFrame, k: int) -> dict[str, FloatArray]:
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


def group_codes(frame: pd.DataFrame, config: FairnessConfig) -> dict[str, GroupCodes]:
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


def curve_ks(k: int, n: int, points: int) -> list[int]:
    """Capacities from k/4 to 4k (within the cohort), always including k."""
    grid = np.geomspace(max(1, k / 4), max(1, min(4 * k, n)), points)
    return sorted({int(round(x)) for x in grid} | {min(k, n)})


# --- mitigation -----------------------------------------------------------------


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


def mitigation_selections(
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


# --- vectors, specs and estimates -----------------------------------------------


def _bins(score: FloatArray, n_bins: int) -> FloatArray:
    """Risk-quantile bin (0..n_bins-1) of each citizen over the whole cohort."""
    edges = np.quantile(score, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, score, side="right").astype(float)


def citizen_vectors(
    frame: pd.DataFrame,
    arrays: Mapping[str, FloatArray],
    config: FairnessConfig,
    curve_k: Sequence[int],
    mitigations: Mapping[str, FloatArray],
) -> dict[str, FloatArray]:
    """Per-citizen vectors whose group sums give every figure."""
    return {
        **_outcome_vectors(arrays),
        **_care_vectors(frame, arrays["sel"], config),
        **_calibration_vectors(arrays, config.calibration_bins),
        **_selection_vectors(arrays, curve_k, mitigations),
    }


def _outcome_vectors(arrays: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """Vectors of the list's figures: selection, outcome, errors, score."""
    score, sel, y, obs, pos = (arrays[a] for a in ("score", "sel", "y", "obs", "pos"))
    neg = obs - pos
    return {
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


def _care_vectors(
    frame: pd.DataFrame, sel: FloatArray, config: FairnessConfig
) -> dict[str, FloatArray]:
    """Vectors of the optional columns: care gap, label check, alternative outcomes."""
    v: dict[str, FloatArray] = {}
    for col in _present(frame, config.care_gap):
        values = _float(frame[col])
        v[f"care:{col}"] = np.nan_to_num(values)
        v[f"care_n:{col}"] = (~np.isnan(values)) * 1.0
    if label_groups(frame):
        v["found_at_care"], v["expected_at_care"] = _label_vectors(frame)
    for col in _present(frame, config.alternative_outcomes):
        alt = np.nan_to_num(_float(frame[col]))
        v[f"alt_pos:{col}"], v[f"alt_sel_pos:{col}"] = alt, alt * sel
    return v


def _calibration_vectors(
    arrays: Mapping[str, FloatArray], n_bins: int
) -> dict[str, FloatArray]:
    """Observed, events and predicted risk per risk-quantile bin."""
    score, obs, pos = arrays["score"], arrays["obs"], arrays["pos"]
    bins = _bins(score, n_bins)
    v: dict[str, FloatArray] = {}
    for b in range(n_bins):
        inside = (bins == b) * obs
        v[f"cal_obs:{b}"], v[f"cal_y:{b}"] = inside, inside * pos
        v[f"cal_s:{b}"] = inside * score
    return v


def _selection_vectors(
    arrays: Mapping[str, FloatArray],
    curve_k: Sequence[int],
    mitigations: Mapping[str, FloatArray],
) -> dict[str, FloatArray]:
    """Events and observed among the picked, over the curve of k and re-rankings."""
    score, obs, pos = arrays["score"], arrays["obs"], arrays["pos"]
    v: dict[str, FloatArray] = {}
    for j, kk in enumerate(curve_k):
        chosen = top_k(score, kk).astype(float)
        v[f"curve_sel_pos:{j}"], v[f"curve_sel_obs:{j}"] = chosen * pos, chosen * obs
    for name, chosen in mitigations.items():
        v[f"mit_sel_pos:{name}"], v[f"mit_sel_obs:{name}"] = chosen * pos, chosen * obs
    return v


def label_groups(frame: pd.DataFrame) -> list[str]:
    """Complication groups with both label-check columns (none without age bands)."""
    if LABEL_STRATA not in frame.columns:
        return []
    care, admission = LABEL_PREFIXES
    return [
        c[len(care) :]
        for c in frame.columns
        if c.startswith(care) and f"{admission}{c[len(care) :]}" in frame.columns
    ]


def _label_vectors(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Found at care, and expected at care at the cohort's rate, per citizen.

    The yardstick is the complications first recorded at an acute admission,
    which need no control. Within each complication group and age band, a
    citizen's expected care-found complications are their admission-found ones
    times the cohort's care/admission ratio there (indirect standardisation):
    the groups differ in how often an admission finds them, and the young, type
    1 diabetes among them, differ in their mix. A group x band without any
    admission-found complication has no yardstick and counts on neither side.
    """
    bands = frame[LABEL_STRATA].astype("object").fillna("unknown").to_numpy()
    found, expected = np.zeros(len(frame)), np.zeros(len(frame))
    for group in label_groups(frame):
        care, admission = (
            np.nan_to_num(_float(frame[p + group])) for p in LABEL_PREFIXES
        )
        for band in pd.unique(bands):
            inside = bands == band
            total = admission[inside].sum()
            if total > 0:
                found[inside] += care[inside]
                expected[inside] += admission[inside] * care[inside].sum() / total
    return found, expected


def _present(frame: pd.DataFrame, columns: Mapping[str, str]) -> list[str]:
    """Return configured optional columns that the frame has."""
    return [c for c in columns if c in frame.columns]


def ratio_specs(
    frame: pd.DataFrame,
    config: FairnessConfig,
    curve_k: Sequence[int],
    mitigations: Mapping[str, FloatArray],
) -> dict[str, RatioSpec]:
    """Every ratio-of-sums figure by name (``section:key`` for the derived ones)."""
    specs = dict(BASE_SPECS)
    for col in _present(frame, config.care_gap):
        specs[f"care_gap:{col}"] = RatioSpec(f"care:{col}", f"care_n:{col}")
    if label_groups(frame):
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


def estimate_grouping(
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
