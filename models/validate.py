"""Validation on the test set: ranking metrics at capacity, discrimination, calibration.

:func:`evaluate_predictions` takes the test labels, the calibrated risk and the
ranking (:func:`models.calibrate.rank_order`) and returns every metric with a
bootstrap confidence interval: precision, recall and lift at k for the
programme's capacity and for shares of the cohort, AUROC, AUPRC (average
precision), the Brier score, and the calibration intercept and slope of a
logistic recalibration. The bootstrap is vectorised: each resample is a row of
multinomial counts used as weights, so all resamples are scored at once. The
metrics and the resampling themselves are :mod:`models.metrics`, shared with the
fairness audit.
:func:`save_plots` draws the calibration, precision-recall and precision@k
curves. Everything here is an aggregate; :mod:`models.tracking` logs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.metrics import (
    auroc_presorted,
    average_precision_presorted,
    bootstrap_counts,
    calibration_intercept_slope,
    tie_starts,
    top_k_events,
)

__all__ = [
    "MetricEstimate",
    "evaluate_predictions",
    "k_values",
    "save_plots",
]


@dataclass(frozen=True)
class MetricEstimate:
    """A metric's point estimate and its bootstrap percentile interval."""

    value: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float]:
        """Return ``{"value", "ci_low", "ci_high"}``."""
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}


def k_values(
    *, capacity_k: int, k_shares: tuple[float, ...], n_test: int, n_cohort: int
) -> dict[str, int]:
    """Return the k at which to evaluate, named for the metrics.

    The test set holds only the test group's share of the cohort, so the
    weekly capacity is scaled by ``n_test / n_cohort``: picking ``capacity_k``
    of the whole cohort is picking that share of the test set.

    Parameters
    ----------
    capacity_k : int
        Citizens a programme can reach in a week.
    k_shares : tuple of float
        Further k as shares of the cohort (0.02 = the top 2 %).
    n_test : int
        Rows in the test set.
    n_cohort : int
        Labelled cohort rows at the test date (all groups).

    Returns
    -------
    dict
        ``{"capacity": k, "1pct": k, ...}``, each k in ``[1, n_test]``.
    """
    scale = n_test / max(n_cohort, 1)
    ks = {"capacity": round(capacity_k * scale)}
    for share in k_shares:
        ks[f"{share * 100:g}pct".replace(".", "_")] = round(share * n_test)
    return {name: int(min(max(k, 1), n_test)) for name, k in ks.items()}


def _metrics(
    y: NDArray[np.float64],
    risk: NDArray[np.float64],
    w: NDArray[np.float64],
    ks: Mapping[str, int],
    *,
    ranked: NDArray[np.intp],
    ascending: NDArray[np.intp],
    starts: NDArray[np.intp],
) -> dict[str, NDArray[np.float64]]:
    """Every metric for each row of weights ``w`` (rows aligned with ``y``)."""
    n = w.sum(axis=1)
    events = w @ y
    prevalence = events / n
    out: dict[str, NDArray[np.float64]] = {}
    for name, k in ks.items():
        tp = top_k_events(y[ranked], w[:, ranked], k)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"precision_at_{name}"] = tp / k
            out[f"recall_at_{name}"] = tp / events
            out[f"lift_at_{name}"] = (tp / k) / prevalence
    out["roc_auc"] = auroc_presorted(y[ascending], w[:, ascending], starts)
    out["average_precision"] = average_precision_presorted(
        y[ascending], w[:, ascending], starts
    )
    out["brier_score"] = (w @ (risk - y) ** 2) / n
    out["calibration_intercept"], out["calibration_slope"] = (
        calibration_intercept_slope(y, risk, w)
    )
    out["prevalence"] = prevalence
    return out


def evaluate_predictions(
    y_true: NDArray[Any],
    risk: NDArray[np.float64],
    order: NDArray[np.intp],
    *,
    ks: Mapping[str, int],
    n_bootstrap: int,
    random_state: int,
) -> dict[str, MetricEstimate]:
    """Score a ranking on the test set, with bootstrap percentile intervals.

    Parameters
    ----------
    y_true : ndarray of {0, 1}
        Test labels.
    risk : ndarray
        Calibrated risk of each row.
    order : ndarray of int
        The ranking, from :func:`models.calibrate.rank_order`.
    ks : Mapping
        ``name -> k`` from :func:`k_values`.
    n_bootstrap : int
        Number of resamples (0 = intervals equal the point estimate).
    random_state : int
        Seed of the resampling.

    Returns
    -------
    dict
        ``metric name -> MetricEstimate``; 95 % intervals.
    """
    y = np.asarray(y_true, dtype=np.float64)
    risk = np.asarray(risk, dtype=np.float64)
    ascending = np.argsort(risk, kind="stable").astype(np.intp)
    starts = tie_starts(risk[ascending])
    kw = {"ranked": order, "ascending": ascending, "starts": starts}
    point = _metrics(y, risk, np.ones((1, len(y))), ks, **kw)
    draws = _bootstrap(
        y, risk, ks, n_bootstrap=n_bootstrap, random_state=random_state, kw=kw
    )
    result = {}
    for name, value in point.items():
        # A degenerate resample (too few events) can give an infinite slope; the
        # interval is taken over the resamples where the metric is defined.
        finite = draws[name][np.isfinite(draws[name])] if n_bootstrap else np.empty(0)
        low, high = (
            np.percentile(finite, [2.5, 97.5]) if len(finite) else (value[0], value[0])
        )
        result[name] = MetricEstimate(float(value[0]), float(low), float(high))
    return result


def _bootstrap(
    y: NDArray[np.float64],
    risk: NDArray[np.float64],
    ks: Mapping[str, int],
    *,
    n_bootstrap: int,
    random_state: int,
    kw: dict[str, Any],
) -> dict[str, NDArray[np.float64]]:
    """Metrics over ``n_bootstrap`` multinomial resamples, in blocks to bound memory."""
    blocks = [
        _metrics(y, risk, w, ks, **kw)
        for w in bootstrap_counts(
            len(y), n_bootstrap=n_bootstrap, seed=random_state, sampler="multinomial"
        )
    ]
    if not blocks:
        return {}
    return {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}


def save_plots(
    y_true: NDArray[Any],
    risk: NDArray[np.float64],
    order: NDArray[np.intp],
    *,
    out_dir: Path,
    capacity_k: int,
    title: str,
) -> list[Path]:
    """Draw the calibration, precision-recall and precision@k curves as PNG files.

    Parameters
    ----------
    y_true : ndarray of {0, 1}
        Test labels.
    risk : ndarray
        Calibrated risk.
    order : ndarray of int
        The ranking.
    out_dir : Path
        Folder to write to.
    capacity_k : int
        The k marked on the precision@k curve.
    title : str
        Plot title (model name and version; never person data).

    Returns
    -------
    list of Path
        The three files.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y_true, dtype=np.float64)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(5, 5))
    bins = np.array_split(np.argsort(risk, kind="stable"), 10)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot(
        [risk[b].mean() for b in bins if len(b)],
        [y[b].mean() for b in bins if len(b)],
        "o-",
        label="deciles",
    )
    ax.set(
        xlabel="predicted risk",
        ylabel="observed event rate",
        title=f"Calibration: {title}",
    )
    ax.legend()
    paths.append(_save(fig, out_dir / "calibration.png"))
    fig, ax = plt.subplots(figsize=(5, 5))
    precision, recall, _ = precision_recall_curve(y, risk)
    ax.plot(recall, precision)
    ax.axhline(y.mean(), linestyle="--", color="grey", label="prevalence")
    ax.set(xlabel="recall", ylabel="precision", title=f"Precision-recall: {title}")
    ax.legend()
    paths.append(_save(fig, out_dir / "precision_recall.png"))
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = np.arange(1, len(y) + 1)
    ax.plot(ks, np.cumsum(y[order]) / ks)
    ax.axvline(
        capacity_k, linestyle="--", color="grey", label=f"capacity k = {capacity_k}"
    )
    ax.set(
        xscale="log",
        xlabel="k (citizens picked)",
        ylabel="precision@k",
        title=f"Precision@k: {title}",
    )
    ax.legend()
    paths.append(_save(fig, out_dir / "precision_at_k.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    """Write a figure and close it."""
    from matplotlib import pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
