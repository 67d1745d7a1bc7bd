from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.baseline import RuleBaselineClassifier

RULES = [
    {"feature": "hba1c", "op": ">", "threshold": 75},
    {
        "feature": "days_since_control",
        "op": ">",
        "threshold": 456,
        "missing_is_met": True,
    },
]


def _expected_failures(estimator: RuleBaselineClassifier) -> dict[str, str]:
    return {
        "check_classifiers_train": "a fixed rule does not reach sklearn's accuracy bar"
    }


@parametrize_with_checks(
    [RuleBaselineClassifier()], expected_failed_checks=_expected_failures
)
def test_rule_baseline_passes_sklearn_checks(estimator, check) -> None:
    check(estimator)


def test_rule_baseline_counts_rules_by_hand() -> None:
    X = pd.DataFrame(
        {
            "hba1c": [80.0, 80.0, 60.0, 60.0, np.nan, 75.0],
            "days_since_control": [500.0, 100.0, 500.0, np.nan, 100.0, 456.0],
        }
    )
    y = np.array([1, 1, 0, 1, 0, 0])
    model = RuleBaselineClassifier(RULES).fit(X, y)
    met = model.rules_met(X)
    assert met.tolist() == [
        [True, True],
        [True, False],
        [False, True],
        [False, True],
        [False, False],
        [False, False],
    ]
    # Rates by count met: 0 -> 0/2, 1 -> 2/3, 2 -> 1/1; +0.5/+1 smoothing, monotone.
    rates = 1 / (1 + np.exp(-model.level_log_odds_))
    assert rates == pytest.approx([0.5 / 3, 2.5 / 4, 1.5 / 2], abs=1e-5)
    order = np.argsort(-model.decision_function(X), kind="stable")
    assert order[0] == 0 and set(order[-2:]) == {4, 5}


def test_rule_baseline_unknown_feature_is_refused() -> None:
    X = pd.DataFrame({"hba1c": [80.0, 60.0]})
    with pytest.raises(ValueError, match="Rule 1"):
        RuleBaselineClassifier(RULES).fit(X, [1, 0])
