from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.calibrate import rank_order
from models.metrics import calibration_intercept_slope, precision_at_k_score
from models.validate import evaluate_predictions, k_values, save_plots


@pytest.fixture
def predictions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    risk = np.round(rng.beta(1, 6, 3000), 2)  # rounded: many ties
    y = (rng.random(3000) < risk).astype(int)
    order = rank_order(risk, risk, np.array([f"P-{i:05d}" for i in range(3000)]))
    return y, risk, order


def test_precision_at_k_by_hand() -> None:
    y = np.array([0, 1, 1, 0, 1])
    order = np.array([1, 3, 2, 0, 4])
    assert precision_at_k_score(y, order, 2) == 0.5
    assert precision_at_k_score(y, order, 3) == pytest.approx(2 / 3)


def test_evaluate_predictions_matches_sklearn(predictions) -> None:
    y, risk, order = predictions
    m = evaluate_predictions(
        y, risk, order, ks={"capacity": 60}, n_bootstrap=50, random_state=0
    )
    assert m["roc_auc"].value == pytest.approx(roc_auc_score(y, risk))
    assert m["average_precision"].value == pytest.approx(
        average_precision_score(y, risk)
    )
    assert m["brier_score"].value == pytest.approx(brier_score_loss(y, risk))
    assert m["precision_at_capacity"].value == pytest.approx(y[order[:60]].mean())
    assert m["recall_at_capacity"].value == pytest.approx(y[order[:60]].sum() / y.sum())
    assert m["lift_at_capacity"].value == pytest.approx(y[order[:60]].mean() / y.mean())


def test_evaluate_predictions_intervals_bracket_the_estimate(predictions) -> None:
    y, risk, order = predictions
    m = evaluate_predictions(
        y, risk, order, ks={"capacity": 60}, n_bootstrap=100, random_state=0
    )
    for name, estimate in m.items():
        assert estimate.ci_low <= estimate.value <= estimate.ci_high, name
    assert m["roc_auc"].ci_high - m["roc_auc"].ci_low > 0.01
    none = evaluate_predictions(
        y, risk, order, ks={"capacity": 60}, n_bootstrap=0, random_state=0
    )
    assert none["roc_auc"].ci_low == none["roc_auc"].value == none["roc_auc"].ci_high


def test_calibration_intercept_slope_of_a_calibrated_model(predictions) -> None:
    y, risk, _ = predictions
    intercept, slope = calibration_intercept_slope(y, np.clip(risk, 0.005, 0.995))
    assert abs(intercept[0]) < 0.15 and abs(slope[0] - 1) < 0.15
    over_intercept, over_slope = calibration_intercept_slope(
        y, np.clip(risk * 2, 0.005, 0.995)
    )
    assert over_intercept[0] < -0.3  # doubled risks: observed below predicted


def test_k_values_scale_capacity_to_the_test_share() -> None:
    ks = k_values(capacity_k=40, k_shares=(0.01, 0.025), n_test=250, n_cohort=1000)
    assert ks == {"capacity": 10, "1pct": 2, "2_5pct": 6}


def test_save_plots_writes_three_pngs(predictions, tmp_path: Path) -> None:
    y, risk, order = predictions
    paths = save_plots(y, risk, order, out_dir=tmp_path, capacity_k=60, title="t")
    assert [p.name for p in paths] == [
        "calibration.png",
        "precision_recall.png",
        "precision_at_k.png",
    ]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_evaluate_predictions_intervals_skip_undefined_resamples(
    predictions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resample whose slope diverges (-inf, as on few events) is left out."""
    import models.validate as validate

    y, risk, order = predictions
    real = validate._bootstrap

    def with_a_diverged_resample(*args, **kwargs):
        draws = real(*args, **kwargs)
        draws["calibration_slope"][:3] = [-np.inf, np.inf, np.nan]
        return draws

    monkeypatch.setattr(validate, "_bootstrap", with_a_diverged_resample)
    m = evaluate_predictions(
        y, risk, order, ks={"capacity": 60}, n_bootstrap=50, random_state=0
    )
    slope = m["calibration_slope"]
    assert np.isfinite([slope.ci_low, slope.ci_high]).all()
    assert slope.ci_low <= slope.value <= slope.ci_high
