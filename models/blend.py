"""A blend of registered models: one ranking from several calibrated risks.

A spec with ``estimator = "blend"`` names registered models and their weights
(``[params] models = [...]``, ``weights = [...]``). :class:`BlendClassifier`
scores a row with the weighted mean of the models' calibrated risks on the
log-odds scale,

    margin = sum_i w_i * logit(p_i) / sum_i w_i,

and the blend spec's own calibration then maps that margin to its outcome's
probability on its calibration citizens, like any other model. Log-odds keep a
model of a rarer outcome (e.g. harm a hospital records) on the same footing as
one of a common outcome: a row's relative risk counts, not the base rate.

Every component must be calibrated with a sigmoid map, ``p = 1 / (1 + exp(a m
+ b))`` of its raw margin ``m``; then ``logit(p_i) = -a_i m_i - b_i`` and the
blend's margin is a sum of the components' raw margins, so its explanation is
the same weighted sum of their explanations (:meth:`BlendClassifier.contributions`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV

from features.errors import ConfigError

__all__ = ["BlendClassifier", "check_blend_features", "component_slope"]

NOT_SIGMOID = (
    "A blend needs models calibrated with calibration = 'sigmoid'; {model!r} is not."
)
MISSING_FEATURES = (
    "The blend {name!r} must list every feature of its model {model!r} in 'features'; "
    "missing: {missing}."
)

#: Contributions of one component: (model, X, kinds) -> frame of log-odds parts.
Explainer = Callable[[Any, pd.DataFrame, Mapping[str, str]], pd.DataFrame]


def component_slope(model: Any) -> float:
    """Return ``d logit(p) / d margin`` of a sigmoid-calibrated model (``-a``)."""
    if not isinstance(model, CalibratedClassifierCV) or model.method != "sigmoid":
        raise ValueError("not a sigmoid-calibrated model")
    return float(-model.calibrated_classifiers_[0].calibrators[0].a_)


class BlendClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Weighted mean of fitted models' calibrated log-odds.

    Parameters
    ----------
    models : sequence of estimators
        Fitted, sigmoid-calibrated models (as registered).
    features : sequence of sequence of str
        Each model's input columns.
    weights : sequence of float
        Positive weights, one per model (normalised to sum to 1).
    names : sequence of str
        The models' names (for messages).
    """

    def __init__(
        self,
        models: Sequence[Any] = (),
        features: Sequence[Sequence[str]] = (),
        weights: Sequence[float] = (),
        names: Sequence[str] = (),
    ) -> None:
        self.models = models
        self.features = features
        self.weights = weights
        self.names = names

    def fit(self, X: pd.DataFrame, y: Any) -> BlendClassifier:
        """Check the components; nothing is learnt (calibration follows outside)."""
        for model, name in zip(self.models, self.names, strict=True):
            try:
                component_slope(model)
            except ValueError as error:
                raise ConfigError(NOT_SIGMOID.format(model=name)) from error
        total = float(sum(self.weights))
        self.weights_ = np.asarray(self.weights, dtype=np.float64) / total
        self.classes_ = np.unique(np.asarray(y))
        return self

    def decision_function(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Weighted mean of the components' calibrated log-odds."""
        margin = np.zeros(len(X))
        for weight, model, columns in zip(
            self.weights_, self.models, self.features, strict=True
        ):
            p = np.clip(model.predict_proba(X[list(columns)])[:, 1], 1e-9, 1 - 1e-9)
            margin += weight * np.log(p / (1.0 - p))
        return margin

    def predict_proba(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Return the margin through the logistic function (uncalibrated)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> NDArray[Any]:
        """Return the class on whose side of a zero margin a row falls."""
        return np.asarray(self.classes_[(self.decision_function(X) > 0).astype(int)])

    def contributions(
        self, X: pd.DataFrame, kinds: Mapping[str, str], explain: Explainer
    ) -> pd.DataFrame:
        """Each feature's part of the blend's margin: the components' parts, weighted.

        ``explain(model, X, kinds)`` gives one component's parts of its raw
        margin; each is scaled by the weight and the slope of its sigmoid map.
        """
        total = pd.DataFrame(0.0, index=X.index, columns=list(kinds))
        for weight, model, columns in zip(
            self.weights_, self.models, self.features, strict=True
        ):
            own = {c: kinds[c] for c in columns}
            parts = explain(model, X[list(columns)], own)
            total[list(columns)] += weight * component_slope(model) * parts
        return total


def check_blend_features(
    name: str, features: Sequence[str], components: Mapping[str, Sequence[str]]
) -> None:
    """Raise ConfigError unless the blend spec lists every component's feature."""
    for model, columns in components.items():
        missing = [c for c in columns if c not in features]
        if missing:
            raise ConfigError(
                MISSING_FEATURES.format(
                    name=name, model=model, missing=", ".join(missing)
                )
            )
