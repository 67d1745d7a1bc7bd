"""Cross-fitted calibration (``calibration_folds``) on hand-made matrices."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError
from models.calibrate import calibration_slope, predict_risk
from models.crossfit import citizen_folds, cross_fitted_model, out_of_fold_margins
from models.spec import ModelSpec
from tests.models.conftest import AB_FEATURES, AB_KINDS, ab_spec

FEATURES, KINDS = AB_FEATURES, AB_KINDS
#: A boosting that learns its training citizens by heart (tiny leaves, fast steps).
RULE = {"feature": "a", "op": ">", "threshold": 1.0}
OVERFIT = {"max_iter": 150, "learning_rate": 0.3, "max_leaf_nodes": 31}


def _spec(**changes: object) -> ModelSpec:
    values: dict[str, object] = {
        "params": {**OVERFIT, "min_samples_leaf": 2},
        "random_state": 7,
        **changes,
    }
    return ab_spec("crossfit", **values)


def _citizens(rng: np.random.Generator, n: int, dates: int, start: int) -> pd.DataFrame:
    """``n`` citizens at ``dates`` nearly identical rows; a weak signal in ``a``.

    The outcome is drawn once per row from ``sigmoid(-1.5 + 0.8 a)``.
    """
    base = rng.normal(size=(n, 2))
    rows = np.repeat(base, dates, axis=0) + rng.normal(scale=0.01, size=(n * dates, 2))
    frame = pd.DataFrame(rows, columns=list(FEATURES))
    frame["citizen_id"] = np.repeat([f"C{i}" for i in range(start, start + n)], dates)
    risk = 1 / (1 + np.exp(1.5 - 0.8 * frame["a"]))
    frame["label"] = (rng.random(len(frame)) < risk).astype(int)
    return frame


def _matrix(rng: np.random.Generator) -> pd.DataFrame:
    """1,000 citizens at 4 dates: 80 % train, 20 % calibration."""
    frame = _citizens(rng, 1000, 4, 0)
    number = frame["citizen_id"].str[1:].astype(int)
    frame["split"] = np.where(number % 5 == 0, "calibration", "train")
    return frame


def _slope(risk: np.ndarray, outcome: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression

    p = np.clip(risk, 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p)).reshape(-1, 1)
    return float(LogisticRegression(C=1e6).fit(logit, outcome).coef_[0][0])


def test_folds_keep_each_citizens_rows_together_and_use_every_fold() -> None:
    ids = pd.Series([f"P{i}" for i in range(500) for _ in range(3)])
    folds = citizen_folds(ids, n_folds=5, random_state=1)
    per_citizen = pd.Series(folds).groupby(ids.to_numpy()).nunique()
    assert (per_citizen == 1).all()
    counts = np.bincount(folds[::3], minlength=5)
    assert counts.min() > 60  # about 100 citizens each
    shuffled = ids.sample(frac=1.0, random_state=0)
    again = citizen_folds(shuffled, n_folds=5, random_state=1)
    assert (again == folds[shuffled.index]).all()  # by id, not by position
    other = citizen_folds(ids, n_folds=5, random_state=2)
    assert (other != folds).any()  # salted


def test_out_of_fold_margins_come_from_models_that_never_saw_the_citizen() -> None:
    # Labels are pure noise: a model scoring citizens it learnt by heart
    # separates their events (in-fold); out of fold it cannot.
    rng = np.random.default_rng(11)
    pooled = _citizens(rng, 600, 4, 0)
    pooled["label"] = np.repeat((rng.random(600) < 0.2).astype(int), 4)
    spec = _spec(calibration_folds=4)
    folds = citizen_folds(pooled["citizen_id"], n_folds=4, random_state=7)
    margins = out_of_fold_margins(pooled, spec, KINDS, folds)
    from sklearn.metrics import roc_auc_score

    assert not np.isnan(margins).any()
    assert abs(roc_auc_score(pooled["label"], margins) - 0.5) < 0.07
    crossfit = cross_fitted_model(pooled.assign(split="train"), spec, KINDS)
    features = list(FEATURES)
    final = crossfit.model.calibrated_classifiers_[0].estimator.estimator
    in_fold = final.decision_function(pooled[features])
    assert roc_auc_score(pooled["label"], in_fold) > 0.9


def test_the_map_fitted_out_of_fold_is_calibrated_on_new_citizens() -> None:
    # An over-fitting boosting: a map fitted on its own (in-fold) scores of the
    # rows it learnt is too steep, and its risks of new citizens too extreme
    # (calibration slope well below 1);
    # fitted on out-of-fold scores its slope on new citizens is near 1 (the
    # fold models saw 4/5 of the rows, so their scores are a little noisier
    # than the final model's: the map errs on the side of too little spread).
    rng = np.random.default_rng(12)
    matrix = _matrix(rng)
    new = _citizens(rng, 4000, 1, 10_000)
    spec = _spec(calibration_folds=5)
    crossfit = cross_fitted_model(matrix, spec, KINDS)
    assert crossfit.folds == 5
    assert crossfit.rows == len(matrix)
    assert crossfit.citizens == 1000
    slope_new = _slope(predict_risk(crossfit.model, new[list(FEATURES)]), new["label"])
    assert 0.8 < slope_new < 1.6
    # the same model with its map refitted on in-fold margins
    from models.calibrate import calibrate_on_margins, raw_margin

    pipeline = crossfit.model.calibrated_classifiers_[0].estimator.estimator
    X = matrix[list(FEATURES)]
    in_fold = calibrate_on_margins(
        pipeline, X, matrix["label"], raw_margin(crossfit.model, X), method="sigmoid"
    )
    flat = _slope(predict_risk(in_fold, new[list(FEATURES)]), new["label"])
    assert flat < 0.6
    assert calibration_slope(crossfit.model) < 0.7 * calibration_slope(in_fold)


def test_fit_model_cross_fits_only_when_the_spec_asks() -> None:
    from models.train import fit_model

    rng = np.random.default_rng(13)
    matrix = _matrix(rng)
    held = fit_model(matrix, _spec(), KINDS)
    crossed = fit_model(matrix, _spec(calibration_folds=5), KINDS)
    expected = cross_fitted_model(matrix, _spec(calibration_folds=5), KINDS).model
    X = matrix[list(FEATURES)].head(50)
    assert predict_risk(crossed, X) == pytest.approx(predict_risk(expected, X))
    assert predict_risk(held, X) != pytest.approx(predict_risk(crossed, X))


def test_refit_anchors_the_risk_on_out_of_fold_margins_at_the_latest_date() -> None:
    from models.train import refit_model

    rng = np.random.default_rng(14)
    matrix = _matrix(rng)
    latest = _citizens(rng, 800, 1, 20_000)
    latest["label"] = (rng.random(len(latest)) < 0.35).astype(int)  # a higher rate
    number = latest["citizen_id"].str[1:].astype(int)
    latest["split"] = np.where(number % 5 == 0, "refit_calibration", "refit_train")
    frame = pd.concat([matrix, latest], ignore_index=True)
    frame["as_of_date"] = pd.Timestamp("2024-01-01")
    spec = _spec(calibration_folds=5)
    model, record = refit_model(frame, spec, KINDS)
    assert record["intercept_shift"] is not None
    pooled = frame.assign(split=frame["split"].str.replace("refit_", ""))
    rows = frame.index[len(matrix) :]  # the latest date's
    margins = cross_fitted_model(pooled, spec, KINDS).margins[rows]
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    risk = 1 / (1 + np.exp(calibrator.a_ * margins + calibrator.b_))
    assert risk.mean() == pytest.approx(latest["label"].mean(), abs=1e-6)


def test_the_key_is_off_by_default_checked_and_written_to_toml() -> None:
    assert _spec().calibration_folds is None
    spec = _spec(calibration_folds=5)
    assert "calibration_folds = 5" in spec.to_toml()
    assert spec.flat_params()["calibration_folds"] == "5"
    for bad in (1, 0, 21, 2.5, "five"):
        with pytest.raises(ConfigError, match="'calibration_folds' parameter"):
            _spec(calibration_folds=bad)
    rules = {"estimator": "rule_baseline"}
    with pytest.raises(ConfigError, match="fitted once per fold"):
        _spec(**rules, params={"rules": [RULE]}, calibration_folds=5)


def test_cross_fitting_only_below_the_event_threshold() -> None:
    """A large calibration group keeps the held-out map (one fit, no K extra)."""
    from models.crossfit import resolve_calibration

    matrix = _matrix(np.random.default_rng(5))
    events = int(matrix.loc[matrix["split"] == "calibration", "label"].sum())
    few = _spec(calibration_folds=5, crossfit_below_events=events + 1)
    resolved, decision = resolve_calibration(matrix, few)
    assert resolved.calibration_folds == 5
    assert decision == {
        "calibration_events": events,
        "crossfit_below_events": events + 1,
        "cross_fitted": True,
    }
    enough = _spec(calibration_folds=5, crossfit_below_events=events)
    resolved, decision = resolve_calibration(matrix, enough)
    assert resolved.calibration_folds is None
    assert "calibration_folds" not in resolved.to_toml()  # the logged spec says so
    assert decision["cross_fitted"] is False
    always = _spec(calibration_folds=5)
    assert resolve_calibration(matrix, always) == (always, {})


def test_the_threshold_needs_folds_and_a_positive_count() -> None:
    with pytest.raises(ConfigError, match="needs 'calibration_folds'"):
        _spec(crossfit_below_events=200)
    for bad in (0, -1, 2.5):
        with pytest.raises(ConfigError, match="'crossfit_below_events' parameter"):
            _spec(calibration_folds=5, crossfit_below_events=bad)


def _train_toy(toy_region: tuple[Any, Any], name: str, extra: str) -> tuple[str, str]:
    """Train a toy logistic spec with ``extra`` keys: its run id and fingerprint."""
    from models import tracking
    from models.train import train_model
    from tests.models.conftest import write_spec

    settings, folder = toy_region
    path = write_spec(folder, name, "logistic_regression", extra)
    result = train_model(ModelSpec.from_toml(path), settings=settings)
    text = tracking.load_run_text(settings, result.run_id, "data/fingerprint.json")
    return result.run_id, text


@pytest.mark.slow
def test_train_model_records_the_cross_fitted_calibration(
    toy_region: tuple[Any, Any],
) -> None:
    import mlflow

    from models import tracking

    run_id, text = _train_toy(toy_region, "toy_cf", "calibration_folds = 3\n")
    tracking.resolve_model(toy_region[0], "toy_cf")  # sets the tracking URI
    assert mlflow.get_run(run_id).data.params["calibration_folds"] == "3"
    record = json.loads(text)["calibration"]
    assert record["folds"] == 3
    assert record["fitted_on"].startswith("out-of-fold margins")
    assert record["citizens_validated_model"] > 0
    assert "P-0" not in text  # aggregates only: no toy citizen id


@pytest.mark.slow
def test_train_model_records_a_held_out_map_above_the_threshold(
    toy_region: tuple[Any, Any],
) -> None:
    extra = "calibration_folds = 3\ncrossfit_below_events = 1\n"
    _, text = _train_toy(toy_region, "toy_cf1", extra)
    record = json.loads(text)["calibration"]
    assert record["cross_fitted"] is False
    assert record["calibration_events"] >= 1
    assert record["folds"] is None
    assert record["fitted_on"].startswith("calibration citizens")
