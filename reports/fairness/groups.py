"""Group metrics with bootstrap intervals, in vectorised numpy.

The estimation engine of :mod:`reports.fairness`. Every audit figure except
AUROC is a ratio of two sums over citizens (e.g. recall@k = on the list and had
the outcome / had the outcome). Sums per group are one sparse product, for the
full cohort and for every bootstrap resample of citizens
(:func:`models.metrics.bootstrap_counts`), so differences and ratios to the
reference group come from the same draws. AUROC is
:func:`models.metrics.weighted_auroc` on the same draws. The thin keyword-only
wrappers at the end follow fairlearn's style and are cross-checked against
``MetricFrame`` in tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from models.metrics import FloatArray, bootstrap_counts, divide, weighted_auroc

__all__ = [
    "Estimates",
    "GroupCodes",
    "RatioSpec",
    "brier_score_loss_by_group",
    "estimate_group_auroc",
    "estimate_group_sums",
    "false_positive_rate_by_group",
    "precision_at_k_by_group",
    "ratio_estimates",
    "recall_at_k_by_group",
    "recall_at_k_ratio",
    "roc_auc_score_by_group",
    "selection_rate_by_group",
]


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
        divide(num, den),
        divide(num_b, den_b),
        np.asarray(n, dtype=np.int64),
        num_sum=np.asarray(num, dtype=float),
        den_sum=np.asarray(den, dtype=float),
        binary=binary,
    )


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


# --- fairlearn-style wrappers: point estimates by group ---------------------


def _by_group(
    num: FloatArray, den: FloatArray, sensitive_features: Sequence[str] | pd.Series
) -> pd.Series:
    """sum(num)/sum(den) per group as a Series indexed by group label."""
    codes = GroupCodes.from_values(sensitive_features)
    point, _ = estimate_group_sums(
        codes, {"num": num, "den": den}, n_bootstrap=0, seed=0
    )
    return pd.Series(divide(point["num"], point["den"]), index=list(codes.labels))


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
