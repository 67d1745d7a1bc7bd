"""The blend estimator (spec ``estimator = "blend"``) and event reweighting.

Hand-made frames and two small logistic models; one end-to-end blend on the
session's toy region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError
from models.blend import BlendClassifier, check_blend_features
from models.calibrate import calibrate_model, predict_risk, raw_margin
from models.explain import feature_contributions
from models.reweight import event_weights, rows_met
from models.spec import ModelSpec
from models.train import build_pipeline, fit_model

KINDS = {"a": "numeric", "b": "numeric", "c": "numeric"}


def _spec(name: str = "x", **changes: object) -> ModelSpec:
    base: dict[str, object] = {
        "outcome": "diabetes_harm_365d",
        "cohort": "has_diabetes",
        "estimator": "logistic_regression",
        "features": ["a", "b", "c"],
    }
    return ModelSpec.from_mapping({**base, **changes}, name=name, source="x.toml")


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(1200, 3)), columns=["a", "b", "c"])
    logit = -1.5 + X["a"] - 0.8 * X["b"] + 0.5 * X["c"]
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


def _component(
    X: pd.DataFrame, y: np.ndarray, columns: list[str], method: str
) -> object:
    kinds = dict.fromkeys(columns, "numeric")
    spec = _spec(features=columns)
    pipe = build_pipeline(spec, kinds).fit(X[columns][:600], y[:600])
    return calibrate_model(pipe, X[columns][600:], y[600:], method=method)


@pytest.fixture(scope="module")
def blend(frame: tuple[pd.DataFrame, np.ndarray]) -> BlendClassifier:
    X, y = frame
    first = _component(X, y, ["a", "b"], "sigmoid")
    second = _component(X, y, ["b", "c"], "sigmoid")
    return BlendClassifier(
        models=[first, second],
        features=[["a", "b"], ["b", "c"]],
        weights=[1.0, 3.0],
        names=["first", "second"],
    ).fit(X, y)


def test_blend_margin_is_the_weighted_mean_of_calibrated_log_odds(
    frame: tuple[pd.DataFrame, np.ndarray], blend: BlendClassifier
) -> None:
    X, _ = frame
    p1 = predict_risk(blend.models[0], X[["a", "b"]])
    p2 = predict_risk(blend.models[1], X[["b", "c"]])
    expected = 0.25 * np.log(p1 / (1 - p1)) + 0.75 * np.log(p2 / (1 - p2))
    assert np.allclose(blend.decision_function(X), expected)
    assert np.allclose(blend.predict_proba(X)[:, 1], 1 / (1 + np.exp(-expected)))


def test_calibrated_blend_ranks_by_its_margin(
    frame: tuple[pd.DataFrame, np.ndarray], blend: BlendClassifier
) -> None:
    X, y = frame
    model = calibrate_model(blend, X[600:], y[600:], method="sigmoid")
    assert np.allclose(raw_margin(model, X), blend.decision_function(X))
    order = np.argsort(raw_margin(model, X))
    assert np.all(np.diff(predict_risk(model, X)[order]) >= -1e-12)


def test_blend_explanation_adds_up_to_its_margin(
    frame: tuple[pd.DataFrame, np.ndarray], blend: BlendClassifier
) -> None:
    X, _ = frame
    parts = feature_contributions(blend, X, kinds=KINDS)
    assert list(parts.columns) == ["a", "b", "c"]
    # parts are centred on the mean row: they add up to the margin up to a constant
    gap = blend.decision_function(X) - parts.sum(axis=1).to_numpy()
    assert np.ptp(gap) < 1e-8
    assert (parts["a"].abs() > 0).any() and (parts["c"].abs() > 0).any()


def test_blend_refuses_a_component_not_calibrated_by_a_sigmoid(
    frame: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = frame
    isotonic = _component(X, y, ["a"], "isotonic")
    unfitted = BlendClassifier(
        models=[isotonic], features=[["a"]], weights=[1.0], names=["iso"]
    )
    with pytest.raises(ConfigError) as error:
        unfitted.fit(X, y)
    assert str(error.value) == (
        "A blend needs models calibrated with calibration = 'sigmoid'; 'iso' is not."
    )


def test_blend_spec_must_list_every_component_feature() -> None:
    check_blend_features("b", ["a", "b"], {"m": ["a"]})
    with pytest.raises(ConfigError) as error:
        check_blend_features("b", ["a"], {"m": ["a", "c", "d"]})
    assert str(error.value) == (
        "The blend 'b' must list every feature of its model 'm' in 'features'; "
        "missing: c, d."
    )


@pytest.mark.parametrize(
    "params",
    [
        {"models": ["m1", "m2"], "weights": [1.0]},
        {"models": [], "weights": []},
        {"models": ["m1"], "weights": [0.0]},
        {"models": ["x"], "weights": [1.0]},
        {"models": ["m1", "m1"], "weights": [1, 1]},
        {"models": ["m1"]},
    ],
)
def test_blend_spec_params_are_checked(params: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as error:
        _spec(estimator="blend", params=params)
    assert str(error.value).startswith(
        "The 'params' parameter of x.toml must hold 'models', a non-empty list of "
        "unique model names other than the spec's own, and 'weights', as many "
        "positive numbers. Got "
    )


def test_blend_spec_loads_with_models_and_weights() -> None:
    spec = _spec(estimator="blend", params={"models": ["m1", "m2"], "weights": [1, 2]})
    assert spec.params["models"] == ["m1", "m2"]
    assert 'models = ["m1", "m2"]' in spec.to_toml()


# --- reweighting -------------------------------------------------------------

RULES = [
    {"feature": "a", "op": ">", "threshold": 1.0},
    {"feature": "b", "op": "<=", "threshold": 0.0, "missing_is_met": True},
]


def test_rows_met_any_rule_and_missing_as_told() -> None:
    rows = pd.DataFrame({"a": [2.0, 0.0, 0.0, np.nan], "b": [1.0, -1.0, 1.0, np.nan]})
    assert rows_met(rows, RULES).tolist() == [True, True, False, True]
    only_a = [{"feature": "a", "op": ">", "threshold": 1.0}]
    assert rows_met(rows, only_a).tolist() == [True, False, False, False]


def test_event_weights_boost_events_meeting_a_rule_only() -> None:
    rows = pd.DataFrame({"a": [2.0, 2.0, 0.0, 0.0], "b": [1.0, 1.0, 1.0, 1.0]})
    weights = event_weights(
        rows, np.array([1, 0, 1, 0]), {"rules": RULES, "event_weight": 3.0}
    )
    assert weights.tolist() == [3.0, 1.0, 1.0, 1.0]


def test_reweighting_raises_the_risk_ranked_in_the_boosted_group(
    frame: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = frame
    split = np.where(np.arange(len(X)) < 800, "train", "calibration")
    matrix = X.assign(label=y, split=split)
    reweight = {
        "rules": [{"feature": "c", "op": ">", "threshold": 0.5}],
        "event_weight": 4.0,
    }
    plain = fit_model(matrix, _spec(), KINDS)
    boosted = fit_model(matrix, _spec(reweight=reweight), KINDS)
    group = (X["c"] > 0.5).to_numpy()
    lift = raw_margin(boosted, X) - raw_margin(plain, X)
    assert lift[group].mean() > lift[~group].mean() + 0.5


def test_reweight_spec_is_checked() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(
            estimator="rule_baseline",
            params={"rules": RULES},
            reweight={"rules": RULES, "event_weight": 2.0},
        )
    assert "The 'reweight' parameter of x.toml must be a table of 'rules'" in str(
        error.value
    )
    with pytest.raises(ConfigError):
        _spec(reweight={"rules": RULES, "event_weight": -1})
    with pytest.raises(ConfigError):
        _spec(
            reweight={
                "rules": [{"feature": "zz", "op": ">", "threshold": 1}],
                "event_weight": 2,
            }
        )


# --- end to end on the toy region ---------------------------------------------


def test_blend_spec_trains_scores_and_explains(trained: object) -> None:
    from models.explain import explain_scores
    from models.score import load_registered_model, score_citizens
    from models.train import train_model
    from tests.models.conftest import TOY_EXTRACT_DATE, write_spec

    settings, specs = trained.settings, trained.specs  # type: ignore[attr-defined]
    extra = (
        'refit = false\n[params]\nmodels = ["toy", "toy_hgb"]\nweights = [1.0, 1.0]\n'
    )
    path = write_spec(specs, "toy_blend", "blend", extra)
    result = train_model(ModelSpec.from_toml(path), settings=settings)
    assert result.estimator == "blend"
    registered = load_registered_model(settings, "toy_blend")
    inner = registered.model.calibrated_classifiers_[0].estimator.estimator
    assert isinstance(inner, BlendClassifier)
    assert inner.names == ["toy", "toy_hgb"]
    scored = score_citizens(settings, model="toy_blend", as_of=TOY_EXTRACT_DATE)
    assert scored.n_scored > 0
    explained = explain_scores(
        settings, model="toy_blend", as_of=TOY_EXTRACT_DATE, language="en"
    )
    assert explained.n_citizens == scored.n_scored and explained.n_reasons > 0
