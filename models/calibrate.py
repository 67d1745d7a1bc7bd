"""Calibration on held-out citizens, and the scores every later stage ranks by.

:mod:`models.train` fits the pipeline on the training set, then
:func:`calibrate_model` freezes it (``sklearn.frozen.FrozenEstimator``) and fits
a sigmoid or isotonic map from its raw margin to a probability on the
calibration set: citizens the pipeline never saw. The registered model is the
calibrated wrapper; :func:`raw_pipeline` unwraps the fitted pipeline again.

Both maps are monotone non-decreasing in the raw margin (the decision
function: log-odds for the logistic regression and the gradient boosting).
Isotonic regression is so by construction; a sigmoid (Platt) map is only when
its fitted slope is positive. Held-out rows in which the margin does not rank
the outcome (a model that learnt its training citizens by heart, a small
calibration group) give a slope of zero or below, and such a map would turn
the ranking upside down: robustness world 1 ranked at 0.09 of the true-risk
ranking with the map, 0.49 with the margin itself. :func:`calibrate_model`
then fixes the slope at one (the model's own log-odds) and fits only the
intercept, with a warning (:data:`SLOPE_NOT_RISING`). So
:func:`rank_order` ranks by calibrated risk and breaks its ties (isotonic
plateaus) by the raw margin, then by citizen id: the ranking is the raw
model's ranking, which is why :mod:`models.explain` explains the raw model's
log-odds with SHAP and not the calibrated wrapper, which SHAP cannot see into.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from features.errors import DataError
from features.settings import EngineSettings
from models.blend import BlendClassifier

__all__ = [
    "FIXED_SLOPE",
    "SLOPE_NOT_RISING",
    "calibrate_model",
    "calibrate_on_margins",
    "calibration_slope",
    "limited_threads",
    "predict_risk",
    "rank_order",
    "raw_margin",
    "raw_pipeline",
    "recalibrate_in_the_large",
    "shift_intercept",
]

logger = logging.getLogger(__name__)

#: The slope (on the raw margin) a sigmoid map gets when the fitted one does not rise.
FIXED_SLOPE = 1.0
SLOPE_NOT_RISING = (
    "The sigmoid calibration map fitted on {n} held-out rows ({events} events) "
    "does not rise with the model's margin (slope {slope:+.3f}): the margin does "
    "not rank citizens the model never saw, and the map would reverse the ranking. "
    "Its slope is fixed at 1 (the model's own log-odds) and only its intercept is "
    "fitted. Check the training report: the model may have learnt its training "
    "citizens by heart, or the calibration group is small."
)
ONE_CLASS = (
    "The calibration set has {n} rows and {events} events; "
    "calibration needs both classes."
)


def calibrate_model(
    pipeline: Pipeline | BlendClassifier,
    X: pd.DataFrame,
    y: NDArray[Any] | pd.Series,
    *,
    method: str,
) -> CalibratedClassifierCV:
    """Fit a calibration map on held-out rows, leaving the pipeline as it is.

    Parameters
    ----------
    pipeline : Pipeline
        The fitted pipeline (preprocessing + estimator).
    X : pandas.DataFrame
        Calibration rows (citizens not in the training set).
    y : array-like
        Their labels.
    method : {"sigmoid", "isotonic"}
        The calibration map.

    Returns
    -------
    CalibratedClassifierCV
        The calibrated model around a frozen copy of ``pipeline``. A sigmoid
        map that does not rise with the margin gets slope 1 and a refitted
        intercept (logged as a warning), so it never reverses the ranking.

    Raises
    ------
    DataError
        The calibration rows hold one class only.
    """
    labels = np.asarray(y)
    calibrated = _wrapped(pipeline, X, labels, method)
    if _falls(calibrated, labels):
        _fix_slope(calibrated, X, labels)
    return calibrated


def calibrate_on_margins(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: NDArray[Any] | pd.Series,
    margins: NDArray[np.float64],
    *,
    method: str,
) -> CalibratedClassifierCV:
    """Wrap a fitted pipeline in a calibration map fitted on given raw margins.

    For cross-fitting (:mod:`models.crossfit`): ``margins`` are the rows'
    out-of-fold margins, the scores the pipeline gives citizens it never saw,
    while the wrapped ``pipeline`` was fitted on every row of ``X``. The map
    sees what the deployed model will give unseen citizens, not its own
    (over-fitted) scores of the rows it learnt.

    Parameters
    ----------
    pipeline : Pipeline
        The fitted pipeline (fitted on ``X``).
    X : pandas.DataFrame
        The rows (used only to set up the wrapper).
    y : array-like
        Their labels.
    margins : ndarray
        Each row's out-of-fold raw margin.
    method : {"sigmoid", "isotonic"}
        The calibration map.

    Returns
    -------
    CalibratedClassifierCV
        As :func:`calibrate_model` returns it; a sigmoid map that does not
        rise gets slope 1 and an intercept fitted on ``margins``.

    Raises
    ------
    DataError
        The rows hold one class only.
    """
    labels = np.asarray(y)
    calibrated = _wrapped(pipeline, X, labels, method)
    calibrator = calibrated.calibrated_classifiers_[0].calibrators[0]
    calibrator.fit(np.asarray(margins, dtype=np.float64), labels)
    if _falls(calibrated, labels):
        calibrator.a_, calibrator.b_ = -FIXED_SLOPE, 0.0
        shift_intercept(calibrated, margins, labels)
    return calibrated


def _wrapped(
    pipeline: Pipeline, X: pd.DataFrame, labels: NDArray[Any], method: str
) -> CalibratedClassifierCV:
    """Wrap a fitted pipeline and fit the map on its own margins of ``X``."""
    if len(np.unique(labels)) < 2:
        raise DataError(ONE_CLASS.format(n=len(labels), events=int(labels.sum())))
    calibrated = CalibratedClassifierCV(
        FrozenEstimator(pipeline), method=method, ensemble=False
    )
    with limited_threads():
        calibrated.fit(X, labels)
    return calibrated


def _falls(calibrated: CalibratedClassifierCV, labels: NDArray[Any]) -> bool:
    """Tell (and warn) whether a sigmoid map falls with the margin."""
    slope = calibration_slope(calibrated)
    if slope is None or slope > 0:
        return False
    logger.warning(
        SLOPE_NOT_RISING.format(n=len(labels), events=int(labels.sum()), slope=slope)
    )
    return True


def calibration_slope(model: CalibratedClassifierCV) -> float | None:
    """Return a sigmoid map's slope on the raw margin (None for isotonic).

    Positive means the calibrated risk rises with the margin. scikit-learn
    stores the map as ``1 / (1 + exp(a * margin + b))``, so the slope is ``-a``.
    """
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    a = getattr(calibrator, "a_", None)
    return None if a is None else -float(a)


def _fix_slope(model: CalibratedClassifierCV, X: pd.DataFrame, y: NDArray[Any]) -> None:
    """Set a sigmoid map's slope to :data:`FIXED_SLOPE`; fit its intercept on ``X``."""
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    calibrator.a_ = -FIXED_SLOPE
    calibrator.b_ = 0.0
    recalibrate_in_the_large(model, X, y)


def recalibrate_in_the_large(
    model: CalibratedClassifierCV, X: pd.DataFrame, y: NDArray[Any]
) -> float:
    """Move a sigmoid map's intercept until the mean risk on ``X`` is ``y``'s rate.

    The slope of the map stays; only calibration-in-the-large changes. Used by
    the refit to anchor the risk at the latest labelled date.

    Parameters
    ----------
    model : CalibratedClassifierCV
        A model calibrated with ``method="sigmoid"`` (changed in place).
    X : pandas.DataFrame
        Rows of the reference date.
    y : array-like
        Their labels (both classes present).

    Returns
    -------
    float
        The shift added to the map's intercept (on the log-odds scale).
    """
    return shift_intercept(model, raw_margin(model, X), y)


def shift_intercept(
    model: CalibratedClassifierCV, margin: NDArray[np.float64], y: NDArray[Any]
) -> float:
    """Move a sigmoid map's intercept until its mean risk on ``margin`` is ``y``'s rate.

    :func:`recalibrate_in_the_large` on given raw margins (out-of-fold ones
    for a cross-fitted model). Returns the shift added to the intercept.
    """
    from scipy.optimize import brentq

    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    margin = np.asarray(margin, dtype=np.float64)
    target = float(np.mean(y))

    def gap(shift: float) -> float:
        logits = -(calibrator.a_ * margin + calibrator.b_ + shift)
        return float(np.mean(1.0 / (1.0 + np.exp(-logits)))) - target

    shift = float(brentq(gap, -20.0, 20.0))
    calibrator.b_ = float(calibrator.b_ + shift)
    return shift


def limited_threads() -> Any:
    """Return a context that caps OpenMP at ``EngineSettings.model_threads`` threads.

    Measured on the 2-core machine while other jobs ran: 313,000 rows, 100 trees
    took 5.8 s on one thread and 22.6 s on two (OpenMP threads spin while they
    wait for a core). Set ``OPSPOR_MODEL_THREADS`` to use more on a dedicated
    machine.
    """
    threads = EngineSettings.from_env().model_threads
    return threadpool_limits(limits=threads, user_api="openmp")


def raw_pipeline(model: Any) -> Pipeline | BlendClassifier:
    """Return the fitted, uncalibrated pipeline (or blend) inside a calibrated model.

    Parameters
    ----------
    model : CalibratedClassifierCV, Pipeline or BlendClassifier
        A model as registered (or a bare pipeline or blend, returned as is).

    Returns
    -------
    Pipeline or BlendClassifier
    """
    if isinstance(model, CalibratedClassifierCV):
        inner = model.calibrated_classifiers_[0].estimator
        inner = inner.estimator if isinstance(inner, FrozenEstimator) else inner
        return inner
    if isinstance(model, Pipeline | BlendClassifier):
        return model
    raise TypeError(f"Not an Opspor model: {type(model).__name__}")


def predict_risk(model: Any, X: pd.DataFrame) -> NDArray[np.float64]:
    """Return the calibrated probability of the outcome for each row."""
    with limited_threads():
        return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def raw_margin(model: Any, X: pd.DataFrame) -> NDArray[np.float64]:
    """Return the raw pipeline's decision function (log-odds) for each row."""
    with limited_threads():
        return np.asarray(raw_pipeline(model).decision_function(X), dtype=np.float64)


def rank_order(
    risk: NDArray[np.float64],
    margin: NDArray[np.float64],
    citizen_ids: pd.Series | NDArray[Any],
) -> NDArray[np.intp]:
    """Return row positions from highest to lowest risk.

    Ties in calibrated risk are broken by the raw margin, then by citizen id
    (ascending), so a ranking is deterministic.

    Parameters
    ----------
    risk, margin : ndarray
        Calibrated risk and raw margin.
    citizen_ids : array-like of str
        Pseudonymous ids.

    Returns
    -------
    ndarray of int
        ``order[0]`` is the row ranked first.
    """
    ids = np.asarray(citizen_ids, dtype=object).astype(str)
    # np.lexsort sorts by the last key first; negate to sort descending.
    return np.lexsort((ids, -np.asarray(margin), -np.asarray(risk))).astype(np.intp)
