"""Group metrics with bootstrap intervals, in vectorised numpy.

Every audit figure except AUROC is a ratio of two sums over citizens (e.g.
recall@k = on the list and had the outcome / had the outcome). Sums per group
are one sparse product, for the full cohort and for every bootstrap resample of
citizens (drawn with one seeded ``numpy.random.Generator``), so differences and
ratios to the reference group come from the same draws. AUROC uses a weighted
Mann-Whitney count on the same draws. The thin keyword-only wrappers at the end
follow fairlearn's style and are cross-checked against ``MetricFrame`` in tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

__all__ = [
    "Estimates",
    "GroupCodes",
    "RatioSpec",
    "bootstrap_counts",
    "brier_score_loss_by_group",
    "estimate_group_sums",
    "estimate_group_auroc",
    "false_positive_rate_by_group",
    "percentile_interval",
    "precision_at_k_by_group",
    "ratio_estimates",
    "roc_auc_score_by_group",
    "recall_at_k_by_group",
    "recall_at_k_ratio",
    "selection_rate_by_group",
    "top_k",
    "weighted_auroc",
]

FloatArray = NDArray[np.float64]
_CHUNK = 64  # bootstrap draws held in memory at once


@dataclass(frozen=True)
class GroupCodes:
    """Integer group code per citizen and the label of each code."""

    codes: NDArray[np.int64]
    labels: tuple[str, ...]

    @classmethod
    def from_values(cls, values: Sequence[str] | pd.Series) -> GroupCodes:
        """Encode string group values; labels sorted for a stable order."""
        series = pd.Series(values, dtype="object").astype(str)
        labels = tuple(sorted(series.unique()))
        lookup = {label: i for i, label in enumerate(labels)}
        return cls(np.asarray(series.map(lookup), dtype=np.int64), labels)


@dataclass(frozen=True)
class RatioSpec:
    """A metric as sum(numerator) / sum(denominator) over citizens.

    ``scope="group"`` sums both inside the group; ``scope="total"`` divides the
    group's numerator by the cohort-wide denominator (a share).
    """

    numerator: str
    denominator: str
    scope: str = "group"


@dataclass(frozen=True)
class Estimates:
    """Point estimates, bootstrap draws and cell counts of one metric by group."""

    estimate: FloatArray  # (G,)
    draws: FloatArray  # (B, G)
    n: NDArray[np.int64]  # (G,) citizens in the cell that decides suppression
    num_sum: FloatArray | None = None  # (G,) numerator sums on the cohort
    den_sum: FloatArray | None = None  # (G,) denominator sums on the cohort
    binary: bool = True  # numerator is 0/1 per citizen (a proportion, not a rate)


def top_k(score: FloatArray, k: int) -> NDArray[np.bool_]:
    """Select the k highest scores (ties broken by position, as a stable sort)."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    selected = np.zeros(len(order), dtype=bool)
    selected[order[: max(0, min(k, len(order)))]] = True
    return selected


def bootstrap_counts(n: int, *, n_bootstrap: int, seed: int) -> Iterator[FloatArray]:
    """Yield chunks of resample counts (draws x citizens), drawn with replacement.

    Parameters
    ----------
    n : int
        Number of citizens.
    n_bootstrap : int
        Total number of resamples.
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives the same draws.

    Yields
    ------
    ndarray
        Float array of shape (chunk, n): how often each citizen is in each resample.
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_bootstrap:
        size = min(_CHUNK, n_bootstrap - done)
        picks = rng.integers(0, n, size=(size, n))
        offsets = (np.arange(size) * n)[:, None]
        counts = np.bincount((picks + offsets).ravel(), minlength=size * n)
        yield counts.reshape(size, n).astype(np.float64)
        done += size


def _design(codes: GroupCodes, vectors: Mapping[str, FloatArray]) -> sparse.csr_matrix:
    """Return a sparse (citizens x groups*vectors) matrix, vectors in group blocks."""
    names = list(vectors)
    n, n_vec = len(codes.codes), len(names)
    values = np.column_stack([np.asarray(vectors[v], dtype=np.float64) for v in names])
    cols = codes.codes[:, None] * n_vec + np.arange(n_vec)[None, :]
    rows = np.repeat(np.arange(n), n_vec)
    shape = (n, len(codes.labels) * n_vec)
    return sparse.csr_matrix((values.ravel(), (rows, cols.ravel())), shape=shape)


def estimate_group_sums(
    codes: GroupCodes,
    vectors: Mapping[str, FloatArray],
    *,
    n_bootstrap: int,
    seed: int,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Sum each vector within each group, on the cohort and on every resample.

    Parameters
    ----------
    codes : GroupCodes
        Group of each citizen.
    vectors : Mapping
        Name -> per-citizen values to sum.
    n_bootstrap, seed : int
        Resamples and Generator seed (the same seed across groupings pairs draws).

    Returns
    -------
    point : dict
        Name -> (G,) sums on the cohort.
    draws : dict
        Name -> (B, G) sums on each resample.
    """
    design = _design(codes, vectors)
    n_groups, n_vec = len(codes.labels), len(vectors)
    point_flat = np.asarray(design.sum(axis=0)).ravel()
    chunks = [np.empty((0, n_groups * n_vec))] + [
        np.asarray((design.T @ counts.T).T)
        for counts in bootstrap_counts(
            len(codes.codes), n_bootstrap=n_bootstrap, seed=seed
        )
    ]
    draws_flat = np.vstack(chunks).reshape(-1, n_groups, n_vec)
    point = point_flat.reshape(n_groups, n_vec)
    names = list(vectors)
    return (
        {v: point[:, i] for i, v in enumerate(names)},
        {v: draws_flat[:, :, i] for i, v in enumerate(names)},
    )


def ratio_estimates(
    spec: RatioSpec,
    point: Mapping[str, FloatArray],
    draws: Mapping[str, FloatArray],
    counts: Mapping[str, FloatArray],
    *,
    binary: bool = True,
) -> Estimates:
    """Turn group sums into a metric's estimates, draws and suppression counts."""
    num, den = point[spec.numerator], point[spec.denominator]
    num_b, den_b = draws[spec.numerator], draws[spec.denominator]
    if spec.scope == "total":
        den = np.full_like(den, den.sum())
        den_b = np.repeat(den_b.sum(axis=1, keepdims=True), den_b.shape[1], axis=1)
        n = counts[spec.numerator]
    else:
        n = counts[spec.denominator]
    return Estimates(
        _divide(num, den),
        _divide(num_b, den_b),
        np.asarray(n, dtype=np.int64),
        num_sum=np.asarray(num, dtype=float),
        den_sum=np.asarray(den, dtype=float),
        binary=binary,
    )


def _divide(num: FloatArray, den: FloatArray) -> FloatArray:
    """Elementwise num / den with NaN where den is zero."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


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
    s, yy, w = score[order], y[order], weights[:, order]
    starts = (
        np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.array([], int)
    )
    if len(starts) == 0:
        return np.full(weights.shape[0], np.nan)
    pos = np.add.reduceat(w * yy, starts, axis=1)
    neg = np.add.reduceat(w * (1.0 - yy), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    return _divide(num, pos.sum(axis=1) * neg.sum(axis=1))


def estimate_group_auroc(
    codes: GroupCodes, score: FloatArray, y: FloatArray, *, n_bootstrap: int, seed: int
) -> Estimates:
    """AUROC within each group among citizens with an observed outcome, with draws.

    Parameters
    ----------
    codes : GroupCodes
        Group of each citizen.
    score, y : ndarray
        Risk and outcome (NaN = not observable; such citizens are left out).
    n_bootstrap, seed : int
        The same resamples as :func:`estimate_group_sums`.

    Returns
    -------
    Estimates
    """
    observed = ~np.isnan(y)
    n_groups = len(codes.labels)
    members = [np.flatnonzero(observed & (codes.codes == g)) for g in range(n_groups)]
    point = np.array(
        [weighted_auroc(score[i], y[i], np.ones((1, len(i))))[0] for i in members]
    )
    parts: list[FloatArray] = [np.empty((0, n_groups))]
    for counts in bootstrap_counts(
        len(codes.codes), n_bootstrap=n_bootstrap, seed=seed
    ):
        parts.append(
            np.column_stack(
                [weighted_auroc(score[i], y[i], counts[:, i]) for i in members]
            )
        )
    n = np.array([len(i) for i in members], dtype=np.int64)
    return Estimates(point, np.vstack(parts), n)


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
        qs = np.nanpercentile(clean[:, valid], [100 * alpha, 100 * (1 - alpha)], axis=0)
        low[valid], high[valid] = qs[0], qs[1]
    return low, high


# --- fairlearn-style wrappers: point estimates by group ---------------------


def _by_group(
    num: FloatArray, den: FloatArray, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """sum(num)/sum(den) per group as a Series indexed by group label."""
    codes = GroupCodes.from_values(sensitive_features)
    point, _ = estimate_group_sums(
        codes, {"num": num, "den": den}, n_bootstrap=0, seed=0
    )
    return pd.Series(_divide(point["num"], point["den"]), index=list(codes.labels))


def _arrays(
    y_true: object, y_pred: object
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Outcome (NaN allowed), prediction and the observed mask as float arrays."""
    y = np.asarray(
        pd.Series(y_true, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
    )
    pred = np.asarray(y_pred, dtype=float)
    return y, pred, (~np.isnan(y)).astype(float)


def selection_rate_by_group(
    y_true: object, y_pred: object, *, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """Share of each group on the list (``y_pred`` = selected)."""
    _, pred, _ = _arrays(y_true, y_pred)
    return _by_group(pred, np.ones_like(pred), sensitive_features)


def recall_at_k_by_group(
    y_true: object, y_pred: object, *, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """Share of each group's citizens with the outcome who are on the list."""
    y, pred, obs = _arrays(y_true, y_pred)
    pos = np.nan_to_num(y) * obs
    return _by_group(pred * pos, pos, sensitive_features)


def precision_at_k_by_group(
    y_true: object, y_pred: object, *, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """Share of each group's listed citizens (outcome observed) who had the outcome."""
    y, pred, obs = _arrays(y_true, y_pred)
    return _by_group(pred * np.nan_to_num(y) * obs, pred * obs, sensitive_features)


def false_positive_rate_by_group(
    y_true: object, y_pred: object, *, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """Share of each group's citizens without the outcome who are on the list."""
    y, pred, obs = _arrays(y_true, y_pred)
    neg = (1.0 - np.nan_to_num(y)) * obs
    return _by_group(pred * neg, neg, sensitive_features)


def brier_score_loss_by_group(
    y_true: object, y_prob: object, *, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """Mean squared error of the risk score per group (outcome observed)."""
    y, prob, obs = _arrays(y_true, y_prob)
    return _by_group((prob - np.nan_to_num(y)) ** 2 * obs, obs, sensitive_features)


def roc_auc_score_by_group(
    y_true: object, y_score: object, *, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """AUROC of the risk score within each group (outcome observed)."""
    y, score, _ = _arrays(y_true, y_score)
    codes = GroupCodes.from_values(sensitive_features)
    result = estimate_group_auroc(codes, score, y, n_bootstrap=0, seed=0)
    return pd.Series(result.estimate, index=list(codes.labels))


def recall_at_k_ratio(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: Sequence[str] | pd.Series,
    reference: str,
) -> pd.Series:
    """Recall@k of each group divided by the reference group's recall@k."""
    recall = recall_at_k_by_group(y_true, y_pred, sensitive_features=sensitive_features)
    return recall / recall[reference]
