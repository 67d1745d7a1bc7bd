"""Cross-fitted calibration: a spec's ``calibration_folds``.

Without it, :func:`models.train.fit_model` fits the pipeline on the training
citizens (60 %) and the calibration map on the calibration citizens (15 %). In
a 30,000-citizen region the calibration group holds a few hundred citizens with
diabetes and about a hundred events, so the map's slope is noisy: on the
robustness worlds the calibration slope at the scoring date ranged from 0.5 to
6.7 (target 0.8-1.2).

With ``calibration_folds = K`` the training and calibration citizens are pooled
and cut into K folds by a salted hash of the citizen id (all of a citizen's
index dates in one fold):

1. for each fold, the pipeline is fitted on the other folds and scores the
   fold's rows: every pooled row gets an *out-of-fold* raw margin, the kind of
   score the deployed model gives a citizen it never saw;
2. the calibration map (sigmoid or isotonic) is fitted on all those
   out-of-fold margins: 75 % of the citizens instead of 15 %, five times as
   many as the calibration group alone;
3. the registered pipeline is fitted on every pooled row, and wrapped in that
   map (:func:`models.calibrate.calibrate_on_margins`).

The test citizens stay out of every fit. The map is fitted on the margins of
fold models that each saw (K-1)/K of the rows, a little less than the final
pipeline; with K = 5 the difference is small and the map errs, if anything,
on the flat side. In-fold margins (the final pipeline's own scores of the
rows it learnt) would give a too-steep map: a tree model's scores of its
training rows are further from the mean than of new rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.calibrate import calibrate_on_margins, limited_threads
from models.matrix import citizen_draws
from models.spec import ModelSpec

__all__ = [
    "CrossFit",
    "citizen_folds",
    "cross_fitted_model",
    "out_of_fold_margins",
    "resolve_calibration",
]

#: The splits pooled for cross-fitting (``refit_*`` are mapped onto these first).
POOLED = ("train", "calibration")


@dataclass(frozen=True)
class CrossFit:
    """A cross-fitted model and what its map was fitted on."""

    model: Any
    #: Out-of-fold raw margin of every pooled row (indexed like the matrix).
    margins: pd.Series
    folds: int
    rows: int
    events: int
    citizens: int

    def report(self) -> dict[str, Any]:
        """Return the training report's entry (aggregates only)."""
        return {
            "method": "cross-fitted",
            "folds": self.folds,
            "rows": self.rows,
            "events": self.events,
            "citizens": self.citizens,
            "fitted_on": "out-of-fold margins of the training and calibration "
            "citizens (folds by citizen)",
        }


def citizen_folds(
    citizen_ids: pd.Series | NDArray[Any], *, n_folds: int, random_state: int
) -> NDArray[np.intp]:
    """Assign each citizen to one of ``n_folds`` folds by a salted hash of the id.

    Every row of a citizen gets the same fold, whatever the index date, and the
    folds do not depend on the train/calibration/test split's salt.

    Parameters
    ----------
    citizen_ids : array-like of str
        Pseudonymous ids, one per row.
    n_folds : int
        Number of folds (at least 2).
    random_state : int
        Salt of the hash.

    Returns
    -------
    ndarray of int
        Fold number in ``0 .. n_folds - 1`` of each row.
    """
    ids = pd.Series(np.asarray(citizen_ids, dtype=object))
    unique = pd.unique(ids)
    draws = citizen_draws(unique, salt=f"opspor-fold-{random_state}:")
    fold = np.minimum((draws * n_folds).astype(np.intp), n_folds - 1)
    mapping = dict(zip(unique, fold, strict=True))
    folds: NDArray[np.intp] = ids.map(mapping).to_numpy(dtype=np.intp)
    return folds


def out_of_fold_margins(
    pooled: pd.DataFrame,
    spec: ModelSpec,
    kinds: Mapping[str, str],
    folds: NDArray[np.intp],
) -> NDArray[np.float64]:
    """Each row's raw margin from the pipeline fitted on the other folds.

    Parameters
    ----------
    pooled : pandas.DataFrame
        Rows with the features, ``label``, ``citizen_id`` (and what the spec's
        weights read).
    spec : ModelSpec
        The spec (pipeline, sampling, weights).
    kinds : Mapping
        ``feature -> "categorical" | "numeric"``.
    folds : ndarray of int
        The fold of each row (:func:`citizen_folds`).

    Returns
    -------
    ndarray
        Out-of-fold margin of every row, aligned with ``pooled``.
    """
    features = list(spec.model_features)
    margins = np.full(len(pooled), np.nan)
    for fold in np.unique(folds):
        held = folds == fold
        pipeline = _fit_pipeline(pooled[~held], spec, kinds)
        with limited_threads():
            margins[held] = pipeline.decision_function(pooled.loc[held, features])
    return margins


def cross_fitted_model(
    matrix: pd.DataFrame, spec: ModelSpec, kinds: Mapping[str, str]
) -> CrossFit:
    """Fit the pipeline on the pooled citizens and its map on out-of-fold margins.

    Parameters
    ----------
    matrix : pandas.DataFrame
        A :class:`models.matrix.TrainingMatrix`; its ``train`` and
        ``calibration`` rows are pooled, the rest is left out.
    spec : ModelSpec
        A spec with ``calibration_folds``.
    kinds : Mapping
        ``feature -> "categorical" | "numeric"``.

    Returns
    -------
    CrossFit
    """
    if spec.calibration_folds is None:
        raise ValueError(f"The spec {spec.name!r} has no calibration_folds")
    n_folds = spec.calibration_folds
    pooled = matrix[matrix["split"].isin(POOLED)]
    folds = citizen_folds(
        pooled["citizen_id"], n_folds=n_folds, random_state=spec.random_state
    )
    margins = out_of_fold_margins(pooled, spec, kinds, folds)
    pipeline = _fit_pipeline(pooled, spec, kinds)
    labels = pooled["label"].to_numpy()
    features = list(spec.model_features)
    model = calibrate_on_margins(
        pipeline, pooled[features], labels, margins, method=spec.calibration
    )
    return CrossFit(
        model=model,
        margins=pd.Series(margins, index=pooled.index),
        folds=n_folds,
        rows=len(pooled),
        events=int(labels.sum()),
        citizens=int(pooled["citizen_id"].nunique()),
    )


def _fit_pipeline(rows: pd.DataFrame, spec: ModelSpec, kinds: Mapping[str, str]) -> Any:
    """Fit the spec's pipeline on ``rows`` (sampled and weighted as the spec says)."""
    from models.train import build_pipeline, training_rows

    train, labels, weights = training_rows(rows.assign(split="train"), spec)
    pipeline = build_pipeline(spec, kinds)
    with limited_threads():
        return pipeline.fit(train[list(spec.model_features)], labels, **weights)


def resolve_calibration(
    matrix: pd.DataFrame, spec: ModelSpec
) -> tuple[ModelSpec, dict[str, Any]]:
    """Decide, for this extract, whether the spec's calibration is cross-fitted.

    With ``crossfit_below_events`` a spec cross-fits only while the calibration
    citizens' rows hold fewer events than that: a two-parameter map fitted on a
    few hundred events is steady on its own, and a large extract is spared the
    K extra fits. The returned spec drops ``calibration_folds`` (and the
    threshold) when the held-out map is used, so the logged spec says what was
    done; the decision keeps the threshold and the count.

    Parameters
    ----------
    matrix : pandas.DataFrame
        A :class:`models.matrix.TrainingMatrix` with its ``calibration`` split.
    spec : ModelSpec
        The spec.

    Returns
    -------
    (ModelSpec, dict)
        The spec as trained, and the decision for the training report
        (empty when the spec has no threshold).
    """
    if spec.calibration_folds is None or spec.crossfit_below_events is None:
        return spec, {}
    held = matrix[matrix["split"] == "calibration"]
    events = int(held["label"].sum())
    cross_fit = events < spec.crossfit_below_events
    decision = {
        "calibration_events": events,
        "crossfit_below_events": spec.crossfit_below_events,
        "cross_fitted": cross_fit,
    }
    if cross_fit:
        return spec, decision
    return replace(spec, calibration_folds=None, crossfit_below_events=None), decision
