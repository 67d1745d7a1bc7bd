"""Ranking metrics and the bootstrap, shared by validation and the fairness audit.

One module for the figures both stages report, so a number means the same thing
on a model's validation page (:mod:`models.validate`) and in a fairness report
(:mod:`reports.fairness`, :mod:`reports.gp_contact`, :mod:`reports.compare`,
:mod:`reports.monitor_outcomes`). It sits in ``models`` because ``reports``
imports ``models`` and not the reverse.

- **Bootstrap**: :func:`bootstrap_counts` yields resamples as rows of counts
  (how often each citizen is drawn), in chunks to bound memory, so a metric is
  computed for every resample at once as a weighted figure;
  :func:`percentile_interval` turns the draws into an interval.
- **Top-k**: :func:`top_k` (who is picked at capacity k),
  :func:`precision_at_k_score` and :func:`top_k_events` (events among the first
  k units of weight of a ranking).
- **Discrimination and calibration, weighted**: :func:`weighted_auroc` (a
  Mann-Whitney count with ties counted half), :func:`auroc_presorted` and
  :func:`average_precision_presorted` for rows already sorted by score, and
  :func:`calibration_intercept_slope`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FloatArray",
    "Sampler",
    "auroc_presorted",
    "average_precision_presorted",
    "bootstrap_counts",
    "calibration_intercept_slope",
    "divide",
    "percentile_interval",
    "precision_at_k_score",
    "tie_starts",
    "top_k",
    "top_k_events",
    "weighted_auroc",
]

FloatArray = NDArray[np.float64]
#: How a resample is drawn: citizen indices counted, or one multinomial draw.
Sampler = Literal["indices", "multinomial"]
_CHUNK = 64  # bootstrap draws held in memory at once
_EPS = 1e-6


# --- bootstrap ---------------------------------------------------------------


def bootstrap_counts(
    n: int, *, n_bootstrap: int, seed: int, sampler: Sampler = "indices"
) -> Iterator[FloatArray]:
    """Yield chunks of resample counts (draws x citizens), drawn with replacement.

    Both samplers draw the same distribution (n citizens with replacement) from
    one seeded ``numpy.random.Generator``, but different streams: the audit
    counts drawn indices, validation draws a multinomial, and each keeps its own
    so figures already published and logged stay reproducible.

    Parameters
    ----------
    n : int
        Number of citizens.
    n_bootstrap : int
        Total number of resamples.
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives the same draws.
    sampler : {"indices", "multinomial"}
        How each resample is drawn.

    Yields
    ------
    ndarray
        Float array of shape (chunk, n): how often each citizen is in each resample.
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_bootstrap:
        size = min(_CHUNK, n_bootstrap - done)
        if sampler == "multinomial":
            yield rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        else:
            yield _counted_indices(rng, n, size)
        done += size


def _counted_indices(rng: np.random.Generator, n: int, size: int) -> FloatArray:
    """Draw ``size`` x ``n`` citizen indices and count them per resample."""
    picks = rng.integers(0, n, size=(size, n))
    offsets = (np.arange(size) * n)[:, None]
    counts = np.bincount((picks + offsets).ravel(), minlength=size * n)
    return counts.reshape(size, n).astype(np.float64)


def percentile_interval(
    draws: FloatArray, *, confidence: float, min_valid: float = 0.5
) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of bootstrap draws per column; NaN when too few are finite.

    Parameters
    ----------
    draws : ndarray (B, G)
        Bootstrap values; NaN or inf where undefined in a resample.
    confidence : float
        Interval level, e.g. 0.95.
    min_valid : float
        Least share of finite draws needed for an interval.

    Returns
    -------
    (low, high) : tuple of ndarray (G,)
    """
    clean = np.where(np.isfinite(draws), draws, np.nan)
    valid = (
        np.isfinite(clean).mean(axis=0) >= min_valid
        if len(clean)
        else np.zeros(0, bool)
    )
    alpha = (1.0 - confidence) / 2.0
    low = np.full(clean.shape[1], np.nan)
    high = np.full(clean.shape[1], np.nan)
    if valid.any():
        ordered = np.sort(clean[:, valid], axis=0)  # NaN sort last
        finite = np.isfinite(ordered).sum(axis=0)
        low[valid] = _sorted_percentile(ordered, finite, 100 * alpha)
        high[valid] = _sorted_percentile(ordered, finite, 100 * (1 - alpha))
    return low, high


def _sorted_percentile(
    ordered: FloatArray, finite: NDArray[Any], p: float
) -> FloatArray:
    """``np.nanpercentile(..., p, axis=0)`` of column-sorted draws, bit for bit.

    numpy's own goes column by column in Python (``apply_along_axis``); on an
    audit's thousands of cells that was 3.5 of its 16 s. This is numpy's
    ``linear`` method, its virtual index and interpolation written out the same
    way, over every column at once: the first ``finite[j]`` rows of column ``j``
    are its finite draws in order.
    """
    q = np.true_divide(p, 100)
    virtual = (finite - 1) * q
    below = np.floor(virtual).astype(np.intp)
    above = below + 1
    last = finite - 1
    top = virtual >= last
    below[top], above[top] = last[top], last[top]
    columns = np.arange(ordered.shape[1])
    a, b = ordered[below, columns], ordered[above, columns]
    t = virtual - below
    diff = b - a
    out: FloatArray = a + diff * t
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out


def divide(num: FloatArray, den: FloatArray) -> FloatArray:
    """Elementwise num / den with NaN where den is zero."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


# --- top-k ---------------------------------------------------------------------


def top_k(score: FloatArray, k: int) -> NDArray[np.bool_]:
    """Select the k highest scores (ties broken by position, as a stable sort)."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    selected = np.zeros(len(order), dtype=bool)
    selected[order[: max(0, min(k, len(order)))]] = True
    return selected


def precision_at_k_score(
    y_true: NDArray[Any], order: NDArray[np.intp], k: int
) -> float:
    """Share of events among the first ``k`` rows of a ranking.

    Parameters
    ----------
    y_true : ndarray of {0, 1}
        Labels.
    order : ndarray of int
        Row positions from highest to lowest rank.
    k : int
        How many are picked.

    Returns
    -------
    float
    """
    return float(np.asarray(y_true)[order[:k]].mean())


def top_k_events(y: FloatArray, weights: FloatArray, k: int) -> FloatArray:
    """Events among the first k units of weight, per resample (rows of ``weights``).

    Parameters
    ----------
    y : ndarray (m,)
        Outcome, 0 or 1, in ranking order (highest first).
    weights : ndarray (B, m)
        Weight of each row in each resample, in the same order.
    k : int
        Capacity; a row straddling the k-th unit counts in part.

    Returns
    -------
    ndarray (B,)
    """
    before = np.cumsum(weights, axis=1) - weights
    take = np.clip(k - before, 0.0, weights)
    return np.asarray(take @ y)


# --- discrimination --------------------------------------------------------------


def tie_starts(sorted_score: FloatArray) -> NDArray[np.intp]:
    """Return the first position of each run of equal scores in a sorted array."""
    s = np.asarray(sorted_score)
    if len(s) == 0:
        return np.array([], dtype=np.intp)
    return np.flatnonzero(np.r_[True, s[1:] != s[:-1]]).astype(np.intp)


def auroc_presorted(
    y: FloatArray, weights: FloatArray, starts: NDArray[np.intp]
) -> FloatArray:
    """Weighted AUROC per resample, rows sorted by ascending score.

    Parameters
    ----------
    y : ndarray (m,)
        Outcome, 0 or 1, sorted by ascending score.
    weights : ndarray (B, m)
        Weight of each row in each resample, in the same order.
    starts : ndarray of int
        :func:`tie_starts` of the sorted scores (tied rows count half).

    Returns
    -------
    ndarray (B,)
        NaN when a row has no positive or no negative weight.
    """
    pos = np.add.reduceat(weights * y, starts, axis=1)
    neg = np.add.reduceat(weights * (1.0 - y), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    return divide(num, pos.sum(axis=1) * neg.sum(axis=1))


def weighted_auroc(score: FloatArray, y: FloatArray, weights: FloatArray) -> FloatArray:
    """AUROC for each row of ``weights`` (Mann-Whitney with ties counted half).

    Parameters
    ----------
    score : ndarray (m,)
        Predicted risk.
    y : ndarray (m,)
        Observed outcome, 0 or 1.
    weights : ndarray (B, m)
        Weight of each citizen in each resample (1 everywhere for the point estimate).

    Returns
    -------
    ndarray (B,)
        AUROC per row; NaN when a row has no positive or no negative weight.
    """
    order = np.argsort(score, kind="stable")
    starts = tie_starts(score[order])
    if len(starts) == 0:
        return np.full(weights.shape[0], np.nan)
    return auroc_presorted(y[order], weights[:, order], starts)


def average_precision_presorted(
    y: FloatArray, weights: FloatArray, starts: NDArray[np.intp]
) -> FloatArray:
    """Weighted average precision (AUPRC) with ties, rows sorted by ascending score.

    Parameters
    ----------
    y, weights, starts
        As for :func:`auroc_presorted`.

    Returns
    -------
    ndarray (B,)
    """
    pos = np.add.reduceat(weights * y, starts, axis=1)[:, ::-1]
    tot = np.add.reduceat(weights, starts, axis=1)[:, ::-1]
    tp, seen = np.cumsum(pos, axis=1), np.cumsum(tot, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, tp / seen, 0.0)
        return np.asarray((pos * precision).sum(axis=1) / pos.sum(axis=1))


# --- calibration -----------------------------------------------------------------


def calibration_intercept_slope(
    y_true: NDArray[Any],
    risk: FloatArray,
    weights: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Calibration intercept (slope fixed at 1) and slope of a logistic recalibration.

    Parameters
    ----------
    y_true : ndarray of {0, 1}
        Labels.
    risk : ndarray
        Predicted probabilities.
    weights : ndarray of shape (n_resamples, n), optional
        Row weights per resample; one unweighted fit if omitted.

    Returns
    -------
    (ndarray, ndarray)
        Intercepts and slopes, one per resample. A perfectly calibrated model
        has intercept 0 and slope 1.
    """
    p = np.clip(np.asarray(risk, dtype=np.float64), _EPS, 1 - _EPS)
    x = np.log(p) - np.log1p(-p)
    y = np.asarray(y_true, dtype=np.float64)
    w = np.ones((1, len(y))) if weights is None else weights
    intercept, _ = _logistic_fit(x, y, w, slope=False)
    _, slope = _logistic_fit(x, y, w, slope=True)
    return intercept, slope


def _logistic_fit(
    x: FloatArray, y: FloatArray, w: FloatArray, *, slope: bool
) -> tuple[FloatArray, FloatArray]:
    """Fit ``logit P(y) = a + b x`` (or ``a + x``, an offset) per row of w."""
    a = np.zeros(w.shape[0])
    b = np.ones(w.shape[0])
    with np.errstate(
        divide="ignore", invalid="ignore"
    ):  # constant risk: slope undefined (NaN)
        return _newton(x, y, w, a, b, slope=slope)


def _newton(
    x: FloatArray,
    y: FloatArray,
    w: FloatArray,
    a: FloatArray,
    b: FloatArray,
    *,
    slope: bool,
) -> tuple[FloatArray, FloatArray]:
    """Take 25 Newton-Raphson steps (these small fits converge well before)."""
    for _ in range(25):
        eta = a[:, None] + b[:, None] * x[None, :]
        mu = 1.0 / (1.0 + np.exp(-np.clip(eta, -30, 30)))
        v = w * mu * (1.0 - mu) + 1e-12
        ga = (w * (y - mu)).sum(axis=1)
        haa = v.sum(axis=1)
        if not slope:
            a = a + ga / haa
            continue
        gb = (w * (y - mu) * x).sum(axis=1)
        hab, hbb = (v * x).sum(axis=1), (v * x * x).sum(axis=1)
        det = haa * hbb - hab**2
        a = a + (hbb * ga - hab * gb) / det
        b = b + (haa * gb - hab * ga) / det
    return a, b
