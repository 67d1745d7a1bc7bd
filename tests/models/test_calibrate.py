from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from features.errors import DataError
from models.calibrate import (
    FIXED_SLOPE,
    calibrate_model,
    calibration_slope,
    predict_risk,
    rank_order,
    raw_margin,
    raw_pipeline,
)


@pytest.fixture
def fitted() -> tuple[Pipeline, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=600)})
    y = (rng.random(600) < 1 / (1 + np.exp(-2 * X["x"]))).astype(int)
    pipe = Pipeline(
        [("preprocess", StandardScaler()), ("estimator", LogisticRegression())]
    )
    return pipe.fit(X[:300], y[:300]), X, y


def test_raw_pipeline_unwraps_the_calibrated_model(fitted) -> None:
    pipe, X, y = fitted
    model = calibrate_model(pipe, X[300:], y[300:], method="isotonic")
    assert raw_pipeline(model) is pipe
    assert np.allclose(raw_margin(model, X), pipe.decision_function(X))


def test_calibrated_risk_is_monotone_in_the_raw_margin(fitted) -> None:
    pipe, X, y = fitted
    for method in ("sigmoid", "isotonic"):
        model = calibrate_model(pipe, X[300:], y[300:], method=method)
        by_margin = np.argsort(raw_margin(model, X))
        assert np.all(np.diff(predict_risk(model, X)[by_margin]) >= -1e-12)


def test_calibrate_model_needs_both_classes(fitted) -> None:
    pipe, X, _ = fitted
    with pytest.raises(DataError) as error:
        calibrate_model(pipe, X[:5], np.zeros(5), method="sigmoid")
    assert (
        str(error.value) == "The calibration set has 5 rows and 0 events; "
        "calibration needs both classes."
    )


def test_rank_order_breaks_ties_by_margin_then_id() -> None:
    risk = np.array([0.2, 0.5, 0.5, 0.5, 0.1])
    margin = np.array([0.0, 1.0, 2.0, 1.0, 3.0])
    ids = np.array(["e", "d", "c", "a", "b"])
    assert rank_order(risk, margin, ids).tolist() == [2, 3, 1, 0, 4]


def test_a_sigmoid_map_that_would_reverse_the_ranking_keeps_the_margins_order(
    fitted, caplog
) -> None:
    # Held-out rows whose outcome falls with the margin (a model that learnt its
    # training rows by heart): Platt's fit would then reverse the ranking, as in
    # robustness world 1 (ratio 0.09 to the true-risk ranking, slope -9.2).
    pipe, X, y = fitted
    held_out = X[300:]
    reversed_y = (held_out["x"].to_numpy() < -0.5).astype(int)
    with caplog.at_level("WARNING", logger="models.calibrate"):
        model = calibrate_model(pipe, held_out, reversed_y, method="sigmoid")
    assert calibration_slope(model) == FIXED_SLOPE
    risk, margin = predict_risk(model, X), raw_margin(model, X)
    assert np.all(np.diff(risk[np.argsort(margin)]) > 0)
    assert risk[held_out.index].mean() == pytest.approx(reversed_y.mean(), abs=1e-6)
    assert "does not rise with the model's margin" in caplog.text


def test_a_rising_sigmoid_map_is_left_as_fitted(fitted, caplog) -> None:
    pipe, X, y = fitted
    with caplog.at_level("WARNING", logger="models.calibrate"):
        model = calibrate_model(pipe, X[300:], y[300:], method="sigmoid")
    slope = calibration_slope(model)
    assert slope is not None and slope > 0 and slope != FIXED_SLOPE
    assert caplog.text == ""
    assert (
        calibration_slope(calibrate_model(pipe, X[300:], y[300:], method="isotonic"))
        is None
    )
