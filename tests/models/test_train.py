from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from features.errors import DataError
from models.outcomes import ExtractWindow
from models.spec import ModelSpec, load_spec
from models.train import build_pipeline, plan_index_dates
from tests.models.conftest import TOY_EXTRACT_DATE, Trained


def test_plan_index_dates_purges_a_horizon_before_the_test_date() -> None:
    spec = load_spec("diabetes_harm_365d")
    window = ExtractWindow(date(2020, 11, 1), date(2026, 11, 23))
    fit, test = plan_index_dates(spec, window)
    assert test == date(2025, 11, 23)
    assert fit[-1] == date(2024, 11, 23)
    assert fit[0] >= window.start + timedelta(days=730)
    assert len(fit) == 9  # quarterly over two years


def test_plan_index_dates_too_short_extract() -> None:
    spec = load_spec("diabetes_harm_365d")
    with pytest.raises(DataError) as error:
        plan_index_dates(spec, ExtractWindow(date(2022, 6, 1), date(2026, 1, 1)))
    assert str(error.value).startswith(
        "The spec 'diabetes_harm_365d' has no usable index dates"
    )


def test_build_pipeline_per_estimator() -> None:
    kinds = {"hba1c_last_mmol_mol": "numeric", "days_since_diabetes_control": "numeric"}
    spec = load_spec("diabetes_harm_365d_rule")
    assert (
        type(build_pipeline(spec, kinds).named_steps["estimator"]).__name__
        == "RuleBaselineClassifier"
    )
    lr = ModelSpec.from_mapping(
        {
            "outcome": "diabetes_harm_365d",
            "cohort": "has_diabetes",
            "estimator": "logistic_regression",
            "features": list(kinds),
            "params": {"C": 0.1},
        },
        name="x",
        source="x",
    )
    pipe = build_pipeline(lr, kinds)
    assert pipe.named_steps["estimator"].C == 0.1
    assert "scale" in pipe.named_steps["preprocess"].transformers[0][1].named_steps


@pytest.mark.slow
def test_train_model_registers_first_version_as_champion(trained: Trained) -> None:
    result = trained.results["toy"]
    assert (result.version, result.champion, result.model_uri) == (
        "1",
        True,
        "models:/toy/1",
    )
    assert result.test_date == TOY_EXTRACT_DATE - timedelta(days=365)
    assert set(result.rows) == {"train", "calibration", "test"}
    assert all(
        d <= result.test_date - timedelta(days=365) for d in result.index_dates[:-1]
    )
    for name in (
        "precision_at_capacity",
        "roc_auc",
        "brier_score",
        "calibration_slope",
    ):
        m = result.metrics[name]
        assert m["ci_low"] <= m["value"] <= m["ci_high"]


@pytest.mark.slow
def test_train_model_learns_the_toy_signal(trained: Trained) -> None:
    for name in ("toy", "toy_hgb"):
        metrics = trained.results[name].metrics
        assert metrics["roc_auc"]["value"] > 0.65, name
        assert metrics["lift_at_capacity"]["value"] > 1.5, name


@pytest.mark.slow
def test_train_model_writes_labels_for_eligible_dates_only(trained: Trained) -> None:
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        dates = {
            r[0]
            for r in con.execute(
                "select distinct as_of_date from labels.diabetes_harm_365d"
            ).fetchall()
        }
    finally:
        con.close()
    assert max(dates) <= TOY_EXTRACT_DATE - timedelta(days=365)
