from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError
from models.calibrate import raw_margin, raw_pipeline
from models.matrix import citizen_groups
from models.sampling import non_event_sample
from models.spec import ModelSpec
from models.train import fit_model

CITIZENS = [f"P{i:05d}" for i in range(4_000)]


def _rows() -> tuple[pd.DataFrame, np.ndarray]:
    """Every citizen at three index dates; one in twenty has an event each time."""
    frame = pd.DataFrame({"citizen_id": CITIZENS * 3})
    labels = (np.arange(len(frame)) % 20 == 0).astype(int)
    return frame, labels


def test_keeps_every_event_and_a_share_of_the_rest_weighted_back() -> None:
    frame, labels = _rows()
    keep, weights = non_event_sample(frame, labels, share=0.25, random_state=0)
    assert keep[labels == 1].all()
    kept_share = keep[labels == 0].mean()
    assert 0.22 < kept_share < 0.28
    assert len(weights) == keep.sum()
    assert set(weights[labels[keep] == 1]) == {1.0}
    assert set(weights[labels[keep] == 0]) == {4.0}
    # The weighted non-events stand for all of them (to the sampling error).
    assert weights[labels[keep] == 0].sum() == pytest.approx(
        (labels == 0).sum(), rel=0.1
    )


def test_the_same_citizens_are_kept_at_every_index_date_and_run() -> None:
    frame, labels = _rows()
    keep, _ = non_event_sample(frame, np.zeros_like(labels), share=0.3, random_state=0)
    by_citizen = pd.Series(keep).groupby(frame["citizen_id"]).nunique()
    assert (by_citizen == 1).all()  # kept at all dates or at none
    again, _ = non_event_sample(frame, np.zeros_like(labels), share=0.3, random_state=0)
    assert (keep == again).all()
    other, _ = non_event_sample(frame, np.zeros_like(labels), share=0.3, random_state=1)
    assert (keep != other).any()


def test_the_sample_is_independent_of_the_split() -> None:
    # Another salt than the split's: the training group is sampled evenly,
    # not only the citizens whose split draw happens to be low.
    ids = pd.Series(CITIZENS)
    groups = citizen_groups(ids, test_share=0.2, calibration_share=0.2, random_state=0)
    train = pd.DataFrame({"citizen_id": ids[groups == "train"]})
    keep, _ = non_event_sample(
        train, np.zeros(len(train), dtype=int), share=0.25, random_state=0
    )
    assert 0.21 < keep.mean() < 0.29


def test_share_one_keeps_everything_unweighted() -> None:
    frame, labels = _rows()
    keep, weights = non_event_sample(frame, labels, share=1.0, random_state=0)
    assert keep.all() and set(weights) == {1.0}


def _spec(**changes: object) -> ModelSpec:
    values: dict[str, object] = {
        "outcome": "diabetes_harm_365d",
        "cohort": "has_diabetes",
        "features": ("hba1c_last_mmol_mol",),
        "estimator": "hist_gradient_boosting",
        **changes,
    }
    return ModelSpec.from_mapping(values, name="sampled", source="sampled.toml")


def test_spec_option_is_off_by_default_and_checked() -> None:
    assert _spec().non_event_share is None
    assert _spec(non_event_share=0.2).non_event_share == 0.2
    assert "non_event_share = 0.2" in _spec(non_event_share=0.2).to_toml()
    for bad in (0, 1.5, True, "half"):
        with pytest.raises(ConfigError, match="'non_event_share' parameter"):
            _spec(non_event_share=bad)
    with pytest.raises(ConfigError, match="needs the gradient boosting"):
        _spec(
            non_event_share=0.2,
            estimator="rule_baseline",
            params={
                "rules": [
                    {"feature": "hba1c_last_mmol_mol", "op": ">", "threshold": 53}
                ]
            },
        )


def test_a_sampled_fit_keeps_the_event_rate_and_the_ranking() -> None:
    # Dropping 80 % of the non-events without weights would triple the raw
    # model's risk; weighted by 1 / share it stays near the event rate, and the
    # ranking (what a list uses) stays close to the full fit's.
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(6_000, 2)), columns=["a", "b"])
    logit = -2.5 + X["a"] - 0.7 * X["b"]
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    matrix = X.assign(
        citizen_id=[f"C{i}" for i in range(len(X))],
        label=y,
        split=np.where(np.arange(len(X)) < 4_500, "train", "calibration"),
    )
    kinds = {"a": "numeric", "b": "numeric"}
    base = {"estimator": "logistic_regression", "features": ("a", "b")}
    full = fit_model(matrix, _spec(**base), kinds)
    sampled = fit_model(matrix, _spec(**base, non_event_share=0.2), kinds)
    train = matrix[matrix["split"] == "train"]
    risk = raw_pipeline(sampled).predict_proba(train[["a", "b"]])[:, 1]
    assert risk.mean() == pytest.approx(train["label"].mean(), abs=0.02)
    margins = (raw_margin(full, X), raw_margin(sampled, X))
    assert np.corrcoef(*margins)[0, 1] > 0.99


def test_sample_above_rows_samples_only_a_training_split_larger_than_it() -> None:
    from models.train import samples_non_events, training_rows

    with pytest.raises(ConfigError, match="'sample_above_rows' parameter"):
        _spec(sample_above_rows=1000)
    with pytest.raises(ConfigError, match="'sample_above_rows' parameter"):
        _spec(non_event_share=0.2, sample_above_rows=0)
    frame, labels = _rows()  # 12,000 rows, one in twenty an event
    matrix = frame.assign(hba1c_last_mmol_mol=1.0, label=labels, split="train")
    small = _spec(non_event_share=0.25, sample_above_rows=len(matrix))
    large = _spec(non_event_share=0.25, sample_above_rows=len(matrix) - 1)
    assert not samples_non_events(small, len(matrix))
    assert samples_non_events(large, len(matrix))
    assert samples_non_events(_spec(non_event_share=0.25), 1)  # no threshold
    assert not samples_non_events(_spec(), 10**9)  # no share
    # At the threshold every row is fitted, unweighted; above it the sample.
    rows, _, fit_args = training_rows(matrix, small)
    assert len(rows) == len(matrix) and fit_args == {}
    rows, y, fit_args = training_rows(matrix, large)
    assert y.sum() == labels.sum() and len(rows) < 0.35 * len(matrix)
    assert set(fit_args["estimator__sample_weight"]) == {1.0, 4.0}
    assert "sample_above_rows = 11999" in large.to_toml()
