"""Citizen weights and boosting iterations chosen on held-out citizens."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError
from models import tracking
from models.calibrate import raw_pipeline
from models.reweight import citizen_weights
from models.select import choose_max_iter
from models.spec import ModelSpec
from models.train import fit_model
from tests.models.conftest import AB_FEATURES, AB_KINDS, Trained, ab_spec

FEATURES, KINDS = AB_FEATURES, AB_KINDS


def _spec(**changes: object) -> ModelSpec:
    return ab_spec("selected", **changes)


def test_equal_citizen_weights_sum_alike_per_citizen_with_mean_one() -> None:
    ids = ["A"] * 5 + ["B"] * 1 + ["C"] * 4
    weights = citizen_weights(ids, "equal")
    per = pd.Series(weights).groupby(ids).sum()
    assert per.to_numpy() == pytest.approx([per["A"]] * 3)
    assert weights.mean() == pytest.approx(1.0)
    sqrt = pd.Series(citizen_weights(ids, "sqrt")).groupby(ids).sum()
    # a citizen at n dates weighs sqrt(n): A (5 rows) against B (1 row)
    assert sqrt["A"] / sqrt["B"] == pytest.approx(np.sqrt(5))
    assert set(citizen_weights(ids, "rows")) == {1.0}


def test_spec_keys_are_off_by_default_and_checked() -> None:
    spec = _spec()
    assert (spec.citizen_weights, spec.max_iter_choices) == ("rows", None)
    chosen = _spec(max_iter_choices=[100, 50], citizen_weights="sqrt")
    assert chosen.max_iter_choices == (100, 50)
    assert "max_iter_choices = [100, 50]" in chosen.to_toml()
    for bad in ([], [0, 5], [5, 5], "many", [1.5]):
        with pytest.raises(ConfigError, match="'max_iter_choices' parameter"):
            _spec(max_iter_choices=bad)
    with pytest.raises(ConfigError, match="'citizen_weights' parameter"):
        _spec(citizen_weights="per_row")
    lr = {"estimator": "logistic_regression"}
    with pytest.raises(ConfigError, match="needs the gradient boosting"):
        _spec(**lr, max_iter_choices=[10, 20])
    assert _spec(**lr, citizen_weights="equal").citizen_weights == "equal"


def _matrix(
    rng: np.random.Generator, y_of: object, citizens: int, dates: int
) -> pd.DataFrame:
    """Citizens at ``dates`` nearly identical rows; 70 % train, 30 % calibration."""
    base = rng.normal(size=(citizens, 2))
    rows = np.repeat(base, dates, axis=0) + rng.normal(
        scale=0.01, size=(citizens * dates, 2)
    )
    frame = pd.DataFrame(rows, columns=list(FEATURES))
    frame["citizen_id"] = np.repeat([f"C{i}" for i in range(citizens)], dates)
    frame["label"] = y_of(frame)  # type: ignore[operator]
    held = np.repeat(np.arange(citizens) % 10 < 3, dates)
    frame["split"] = np.where(held, "calibration", "train")
    return frame


def test_selection_takes_few_iterations_where_many_learn_noise_by_heart() -> None:
    rng = np.random.default_rng(3)
    noise = _matrix(
        rng, lambda f: (rng.random(len(f)) < 0.2).astype(int), citizens=400, dates=5
    )
    params = {"learning_rate": 0.3, "max_leaf_nodes": 31, "min_samples_leaf": 2}
    spec, choice = choose_max_iter(
        noise, _spec(params=params, max_iter_choices=[5, 200]), KINDS
    )
    assert choice.max_iter == 5 == spec.params["max_iter"]
    assert choice.log_loss[5] < choice.log_loss[200]
    # Not the largest choice: its fit of 200 iterations is not the training fit.
    assert not choice.is_widest and not choice.report()["selection_fit_reused"]


def test_selection_takes_many_iterations_for_a_planted_signal() -> None:
    rng = np.random.default_rng(4)
    signal = _matrix(
        rng,
        lambda f: (rng.random(len(f)) < 1 / (1 + np.exp(-3 * f["a"] * f["b"]))).astype(
            int
        ),
        citizens=1500,
        dates=1,
    )
    params = {"learning_rate": 0.1, "max_leaf_nodes": 7}
    spec, choice = choose_max_iter(
        signal, _spec(params=params, max_iter_choices=[2, 150]), KINDS
    )
    assert choice.max_iter == 150 == spec.params["max_iter"]
    assert choice.rows_validation == int((signal["split"] == "calibration").sum())
    assert choice.params()["selection.max_iter"] == "150"
    # The largest choice: the selection's fit is the training fit, reused by
    # fit_model, and the calibrated model equals one fitted afresh.
    assert choice.is_widest and choice.report()["selection_fit_reused"]
    reused = fit_model(signal, spec, KINDS, fitted=choice.widest)
    fresh = fit_model(signal, spec, KINDS)
    assert raw_pipeline(reused) is choice.widest
    rows = signal[list(FEATURES)]
    np.testing.assert_array_equal(
        reused.predict_proba(rows)[:, 1], fresh.predict_proba(rows)[:, 1]
    )
    # A cross-fitted map fits its own pipelines: the selection's fit is not used.
    crossed = fit_model(
        signal, replace(spec, calibration_folds=3), KINDS, fitted=choice.widest
    )
    assert raw_pipeline(crossed) is not choice.widest


def test_a_fit_ended_by_early_stopping_is_reused_for_a_choice_beyond_it() -> None:
    # Above 10,000 rows scikit-learn's early stopping ends the widest fit before
    # the largest choice; a choice at or beyond where it ended runs the same
    # iterations, so the selection's fit is still the training fit.
    rng = np.random.default_rng(5)
    signal = _matrix(
        rng,
        lambda f: (rng.random(len(f)) < 1 / (1 + np.exp(-2 * f["a"]))).astype(int),
        citizens=16_000,
        dates=1,
    )
    params = {"learning_rate": 0.3, "max_leaf_nodes": 7, "min_samples_leaf": 50}
    spec, choice = choose_max_iter(
        signal, _spec(params=params, max_iter_choices=[1, 1000]), KINDS
    )
    assert choice.iterations_run < 1000 == choice.max_iter
    assert choice.is_widest
    assert choice.report()["iterations_run_by_widest_fit"] == choice.iterations_run
    reused = fit_model(signal, spec, KINDS, fitted=choice.widest)
    fresh = fit_model(signal, spec, KINDS)
    assert raw_pipeline(fresh)[-1].n_iter_ == choice.iterations_run
    rows = signal[list(FEATURES)]
    np.testing.assert_array_equal(
        reused.predict_proba(rows)[:, 1], fresh.predict_proba(rows)[:, 1]
    )


@pytest.mark.slow
def test_the_choice_is_recorded_in_mlflow_and_the_training_report(
    trained: Trained,
) -> None:
    import mlflow

    result = trained.results["toy_hgb"]  # max_iter_choices = [20, 60]
    tracking.resolve_model(trained.settings, "toy_hgb")  # sets the tracking URI
    params = mlflow.get_run(result.run_id).data.params
    chosen = params["selection.max_iter"]
    assert chosen in {"20", "60"}
    assert params["params.max_iter"] == chosen
    assert {"selection.log_loss.20", "selection.log_loss.60"} <= set(params)
    report = json.loads(
        tracking.load_run_text(trained.settings, result.run_id, "data/fingerprint.json")
    )["iteration_selection"]
    assert report["chosen_max_iter"] == int(chosen)
    assert set(report["validation_log_loss"]) == {"20", "60"}
    assert report["selection_fit_reused"] is (chosen == "60")
    assert report["rows_validation"] > 0


def test_fit_model_weighs_each_citizen_once_with_equal_weights() -> None:
    # One training citizen at 300 dates, every one an event, among 300 citizens
    # at one date with few events: counted per row the model's mean risk on
    # the training rows is about one half; with each citizen weighing one, the
    # repeated citizen counts once and the weighted mean risk is the citizens'
    # event rate (about 6 %).
    from models.calibrate import raw_pipeline

    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(2 * n, 2)), columns=list(FEATURES))
    frame["citizen_id"] = ["R"] * n + [f"C{i}" for i in range(n)]
    frame["label"] = np.r_[np.ones(n), (np.arange(n) % 20 == 0)].astype(int)
    frame["split"] = "train"
    held = frame.iloc[n:].assign(split="calibration")
    matrix = pd.concat([frame, held], ignore_index=True)
    lr = {"estimator": "logistic_regression"}
    train = matrix[matrix["split"] == "train"]
    weights = citizen_weights(train["citizen_id"], "equal")
    risks = {}
    for mode in ("rows", "equal"):
        model = fit_model(matrix, _spec(**lr, citizen_weights=mode), KINDS)
        risk = raw_pipeline(model).predict_proba(train[list(FEATURES)])[:, 1]
        risks[mode] = np.average(risk, weights=weights)
    assert risks["rows"] > 0.3
    assert risks["equal"] == pytest.approx(16 / 301, abs=0.02)
