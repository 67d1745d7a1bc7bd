"""The audit's flags: which comparisons pass a threshold beyond chance.

Step three of :func:`reports.fairness.audit_fairness`. Three families of
comparisons (recall@k against the reference group, the label check, and
calibration within a group) are tested over every grouping at once, with a
multiplicity adjustment counted over the family and a standard error floored by
an analytic one, so a group with few events never looks certain. A flag's
words come from :mod:`~reports.fairness.narrative` (English) and
:mod:`~reports.fairness.narrative_da` (Danish).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from models.metrics import FloatArray
from reports.config import FairnessConfig, Grouping
from reports.fairness import narrative_da
from reports.fairness.cells import (
    Compared,
    compare,
    interval,
    reference_index,
    shown_cells,
)
from reports.fairness.compute import LABEL_METRIC
from reports.fairness.groups import Estimates, GroupCodes
from reports.fairness.narrative import calibration_message, ratio_message
from reports.fairness.result import DETECTION_POWER, OVERALL, Flag

__all__ = [
    "DETECTION_POWER",
    "detectable_ratios",
    "flag_all",
    "min_detectable_ratio",
]


# --- families and standard errors -----------------------------------------------


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
    ok = shown_cells(est, estimates["group_size"].n, labels, config.min_cell_size, refs)
    if family.code == "calibration_gap":
        low, high = interval(est.draws, config.confidence)
        se = np.fmax(
            _sd(est.draws),
            _binomial_se(estimates["observed_rate"], estimates["mean_predicted"]),
        )
        return [
            (g, est.estimate[g], low[g], high[g], se[g], est.estimate[g])
            for g in range(len(labels))
            if ok[g]
        ]
    shown = compare(est, refs, ok, "ratio", config.confidence)
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
    est: Estimates, idx: np.ndarray, shown: Compared, n_groups: int
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


# --- flags ----------------------------------------------------------------------


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


_Found = tuple[
    Grouping,
    Sequence[str],
    list[int],
    Mapping[str, Estimates],
    tuple[int, float, float, float, float, float],
]


def _family_candidates(
    config: FairnessConfig,
    family: _Family,
    codes: Mapping[str, GroupCodes],
    estimates: Mapping[str, Mapping[str, Estimates]],
) -> list[_Found]:
    """Every comparable group of one family, over all groupings it may flag."""
    found: list[_Found] = []
    for name, est in estimates.items():
        if name == OVERALL or family.metric not in est:
            continue
        if family.code == LABEL_METRIC and name in config.ascertainment_not_flagged:
            continue
        grouping = config.grouping(name)
        labels, group_n = codes[name].labels, est["group_size"].n
        refs = reference_index(grouping, labels, group_n.astype(float))
        for cand in _candidates(config, family, labels, refs, est):
            found.append((grouping, labels, refs, est, cand))
    return found


def min_detectable_ratio(
    se: float, z: float, threshold: float, power: float = DETECTION_POWER
) -> float:
    """Return the largest true ratio the label check flags with ``power``.

    The check flags when ``log(ratio) + z * se < log(threshold)``. With the
    estimated log ratio normal around the true one with standard error ``se``,
    it does so with probability ``power`` when the true ratio is
    ``threshold * exp(-(z + z_power) * se)``, ``z_power`` being the normal
    quantile of ``power``. Any smaller true ratio is flagged more often.

    Parameters
    ----------
    se : float
        Standard error of the log ratio to the reference group.
    z : float
        The flag's (multiplicity-widened) normal quantile.
    threshold : float
        ``1 - margin``: the ratio the interval must stay below.
    power : float
        Chance of a flag at the returned ratio, in (0, 1).

    Returns
    -------
    float
        The ratio, in (0, ``threshold``); NaN when ``se`` is not finite.
    """
    if not np.isfinite(se):
        return float("nan")
    z_power = NormalDist().inv_cdf(power)
    return float(threshold * np.exp(-(z + z_power) * se))


def detectable_ratios(
    config: FairnessConfig,
    codes: Mapping[str, GroupCodes],
    estimates: Mapping[str, Mapping[str, Estimates]],
) -> dict[str, dict[str, float]]:
    """Minimum detectable recording ratio of every group the label check compares.

    Uses the flag's own standard error (the bootstrap's, floored by the Poisson
    one, at the observed counts) and its own widened quantile, so the figure is
    what the check could see at this region's counts. Groups whose cell is
    suppressed, reference groups and groupings never flagged are absent.
    """
    if LABEL_METRIC not in estimates[OVERALL]:
        return {}
    family = _Family(LABEL_METRIC, LABEL_METRIC, 1.0 - config.ascertainment_margin)
    found = _family_candidates(config, family, codes, estimates)
    z = _z(config, len(found))
    out: dict[str, dict[str, float]] = {}
    for grouping, labels, _refs, _est, (g, *_values, se, _centre) in found:
        ratio = min_detectable_ratio(se, z, family.threshold)
        if np.isfinite(ratio):
            out.setdefault(grouping.name, {})[labels[g]] = ratio
    return out


def flag_all(
    config: FairnessConfig,
    codes: Mapping[str, GroupCodes],
    estimates: Mapping[str, Mapping[str, Estimates]],
) -> list[Flag]:
    """Return every flag; multiplicity is counted over all groupings of a family."""
    flags: list[Flag] = []
    for family in _families(config, list(estimates[OVERALL])):
        found = _family_candidates(config, family, codes, estimates)
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
        message = calibration_message(config, grouping, labels[g], predicted, values)
        message_da = narrative_da.calibration_message_da(
            config, grouping.name, labels[g], predicted, values
        )
    else:
        message = ratio_message(
            config, grouping, labels[g], labels[refs[g]], family.metric, values
        )
        message_da = narrative_da.ratio_message_da(
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
