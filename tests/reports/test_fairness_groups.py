"""The audit's group metrics against fairlearn's MetricFrame and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import brier_score_loss, precision_score, roc_auc_score

from reports.fairness import audit_fairness
from reports.fairness.groups import (
    GroupCodes,
    brier_score_loss_by_group,
    false_positive_rate_by_group,
    precision_at_k_by_group,
    recall_at_k_by_group,
    recall_at_k_ratio,
    roc_auc_score_by_group,
    selection_rate_by_group,
)

TOL = 1e-9


def _fairlearn(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Fairlearn's by-group figures on the same predictions."""
    observed = frame[frame["y_true"].notna()]
    y_obs = observed["y_true"].astype(int).to_numpy()
    sel_obs = observed["selected"].astype(int).to_numpy()
    on_list = MetricFrame(
        metrics={
            "recall_at_k": true_positive_rate,
            "precision_at_k": lambda t, p: precision_score(t, p, zero_division=np.nan),
            "false_positive_rate": false_positive_rate,
        },
        y_true=y_obs,
        y_pred=sel_obs,
        sensitive_features=observed[column].to_numpy(),
    ).by_group
    risk = MetricFrame(
        metrics={"brier_score_loss": brier_score_loss, "roc_auc_score": roc_auc_score},
        y_true=y_obs,
        y_pred=observed["y_score"].to_numpy(),
        sensitive_features=observed[column].to_numpy(),
    ).by_group
    rate = MetricFrame(
        metrics={"selection_rate": selection_rate},
        y_true=np.zeros(len(frame), dtype=int),
        y_pred=frame["selected"].astype(int).to_numpy(),
        sensitive_features=frame[column].to_numpy(),
    ).by_group
    return pd.concat([on_list, risk, rate], axis=1)


def test_audit_fairness_group_metrics_equal_metricframe(planted_frame, config) -> None:
    expected = _fairlearn(planted_frame, "education_level")
    audit = audit_fairness(planted_frame, config=config, k=400)
    groups = audit.groupings["education_level"]["groups"]
    compared = 0
    for group, row in expected.iterrows():
        for metric, value in row.items():
            cell = groups[group]["metrics"][metric]
            if cell["suppressed"]:
                continue
            assert cell["estimate"] == pytest.approx(value, abs=TOL), (group, metric)
            compared += 1
    assert compared >= 0.9 * expected.size


@pytest.mark.parametrize(
    ("ours", "theirs", "on_score"),
    [
        (selection_rate_by_group, selection_rate, False),
        (recall_at_k_by_group, true_positive_rate, False),
        (false_positive_rate_by_group, false_positive_rate, False),
        (
            precision_at_k_by_group,
            lambda t, p: precision_score(t, p, zero_division=np.nan),
            False,
        ),
        (brier_score_loss_by_group, brier_score_loss, True),
        (roc_auc_score_by_group, roc_auc_score, True),
    ],
)
def test_wrappers_equal_metricframe_by_group(
    planted_frame, ours, theirs, on_score
) -> None:
    observed = planted_frame[planted_frame["y_true"].notna()]
    y_true = observed["y_true"].astype(int)
    y_pred = observed["y_score"] if on_score else observed["selected"].astype(int)
    groups = observed["sex"] + "/" + observed["education_level"]
    mine = ours(y_true, y_pred, sensitive_features=groups)
    frame = MetricFrame(
        metrics=theirs, y_true=y_true, y_pred=y_pred, sensitive_features=groups
    )
    assert np.allclose(
        mine.sort_index(), frame.by_group.sort_index(), atol=TOL, equal_nan=True
    )


def test_recall_at_k_ratio_is_one_for_reference(planted_frame) -> None:
    ratio = recall_at_k_ratio(
        planted_frame["y_true"],
        planted_frame["selected"],
        sensitive_features=planted_frame["education_level"],
        reference="long_tertiary",
    )
    assert ratio["long_tertiary"] == pytest.approx(1.0)
    assert ratio["basic"] < 0.8


def test_recall_at_k_by_group_undefined_without_need() -> None:
    recall = recall_at_k_by_group(
        [0, 0, 1, None], [1, 0, 1, 1], sensitive_features=list("aabb")
    )
    assert np.isnan(recall["a"])  # fairlearn would say 0.0; no need means no recall
    assert recall["b"] == 1.0


def test_group_codes_sorted_and_stable() -> None:
    codes = GroupCodes.from_values(["b", "a", "b", "c"])
    assert codes.labels == ("a", "b", "c")
    assert codes.codes.tolist() == [1, 0, 1, 2]
