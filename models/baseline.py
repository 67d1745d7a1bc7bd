"""The rule baseline: how coordinators pick citizens today, as a scikit-learn estimator.

A rule is ``feature op threshold`` (e.g. HbA1c over 75 mmol/mol, or no
diabetes control for 15 months, where never is also a yes). A citizen's rank
is the number of rules met; fitting only learns the event rate at each number,
so the baseline can be calibrated, validated and registered like any model.
:mod:`models.train` puts it at the end of a pipeline; :mod:`models.explain`
cites the rules a citizen meets as reasons.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["RuleBaselineClassifier"]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}
DEFAULT_RULES: tuple[Mapping[str, Any], ...] = (
    {"feature": 0, "op": ">", "threshold": 0.0},
)
BAD_RULE = (
    "Rule {index} {rule!r} needs a known feature, an op among {ops} "
    "and a numeric threshold."
)
NOT_BINARY = (
    "Only binary classification is supported. The type of the target is {y_type}."
)


class RuleBaselineClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Rank by the number of rules met; learn the event rate at each count.

    Parameters
    ----------
    rules : sequence of mapping, default=None
        Each ``{"feature": name or column index, "op": ">", "threshold": 75,
        "missing_is_met": False}``. ``None`` means one rule, column 0 > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Input column names, when fitted on a DataFrame.
    rules_ : tuple of mapping
        The rules applied (``rules`` or the default).
    rule_columns_ : ndarray of int
        Column index of each rule.
    level_log_odds_ : ndarray of shape (n_rules + 1,)
        Log-odds of the positive class by number of rules met; strictly increasing.
    """

    def __init__(self, rules: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.rules = rules

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def _rules(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.rules) if self.rules is not None else DEFAULT_RULES

    def _resolve(self, rules: tuple[Mapping[str, Any], ...]) -> NDArray[np.intp]:
        """Map each rule's feature to a column index, checking the rule."""
        names = list(getattr(self, "feature_names_in_", []))
        columns = []
        for index, rule in enumerate(rules):
            feature = rule.get("feature")
            ok = rule.get("op") in _OPS and isinstance(
                rule.get("threshold"), int | float
            )
            if isinstance(feature, str) and feature in names:
                columns.append(names.index(feature))
            elif isinstance(feature, int) and 0 <= feature < self.n_features_in_ and ok:
                columns.append(feature)
            else:
                ok = False
            if not ok:
                raise ValueError(
                    BAD_RULE.format(index=index, rule=dict(rule), ops=list(_OPS))
                )
        return np.asarray(columns, dtype=np.intp)

    def rules_met(self, X: Any) -> NDArray[np.bool_]:
        """Return a boolean matrix (n_samples, n_rules): which rule each row meets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        ndarray of bool
        """
        check_is_fitted(self)
        values = validate_data(
            self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64
        )
        return self._met(values)

    def _met(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        rules = self._rules()
        met = np.zeros((values.shape[0], len(rules)), dtype=bool)
        for j, (rule, column) in enumerate(zip(rules, self.rule_columns_, strict=True)):
            x = values[:, column]
            missing = np.isnan(x)
            with np.errstate(invalid="ignore"):
                hit = _OPS[str(rule["op"])](x, float(rule["threshold"]))
            met[:, j] = np.where(missing, bool(rule.get("missing_is_met", False)), hit)
        return met

    def fit(self, X: Any, y: Any) -> RuleBaselineClassifier:
        """Learn the event rate at each number of rules met.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,)
            Binary target.

        Returns
        -------
        self
        """
        values, target = validate_data(
            self, X, y, ensure_all_finite="allow-nan", dtype=np.float64
        )
        check_classification_targets(target)
        y_type = type_of_target(target, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(NOT_BINARY.format(y_type=y_type))
        self.classes_ = np.unique(target)
        self.rules_ = self._rules()
        self.rule_columns_ = self._resolve(self.rules_)
        counts = self._met(values).sum(axis=1)
        positive = target == self.classes_[-1]
        levels = np.arange(len(self.rule_columns_) + 1)
        n = np.array([(counts == k).sum() for k in levels], dtype=np.float64)
        events = np.array(
            [positive[counts == k].sum() for k in levels], dtype=np.float64
        )
        rates = np.maximum.accumulate((events + 0.5) / (n + 1.0))
        log_odds = np.log(rates) - np.log1p(-rates)
        self.level_log_odds_ = (
            log_odds + 1e-6 * levels
        )  # strictly increasing: rules order ranks
        return self

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """Return the learned log-odds of the positive class for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        counts = self.rules_met(X).sum(axis=1)
        return np.asarray(self.level_log_odds_[counts], dtype=np.float64)

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Return class probabilities, shape (n_samples, n_classes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        ndarray
        """
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        if len(self.classes_) == 1:
            return np.ones((len(p), 1))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> NDArray[Any]:
        """Return the more likely class for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        decision = self.decision_function(X)
        if len(self.classes_) == 1:
            return np.repeat(self.classes_[0], len(decision))
        return np.asarray(self.classes_[(decision > 0).astype(int)])
