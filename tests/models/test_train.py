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
    plan = plan_index_dates(spec, window)
    fit, test = plan.fit_dates, plan.test_date
    assert test == date(2025, 11, 23)
    assert fit[-1] == date(2024, 11, 23)
    assert fit[0] >= window.start + timedelta(days=730)
    assert len(fit) == 9  # quarterly over two years
    assert (plan.washout_days, plan.shortened, plan.step) == (730, False, "3mo")


def test_plan_index_dates_of_a_three_year_extract_shortens_the_washout() -> None:
    spec = load_spec("diabetes_harm_365d")
    window = ExtractWindow(date(2023, 11, 24), date(2026, 11, 23))
    plan = plan_index_dates(spec, window)
    assert len(plan.fit_dates) >= 4
    assert plan.fit_dates[-1] == date(2024, 11, 23)
    assert plan.shortened and plan.washout_days < 730
    assert plan.washout_days >= spec.min_washout_days
    assert plan.washout_days == (plan.fit_dates[0] - window.start).days
    assert all(d - timedelta(days=180) >= window.start for d in plan.fit_dates)


def test_plan_index_dates_steps_monthly_when_quarters_are_too_few() -> None:
    spec = load_spec("diabetes_harm_365d")
    window = ExtractWindow(date(2024, 2, 1), date(2026, 11, 23))
    plan = plan_index_dates(spec, window)
    assert plan.step == "1mo" and len(plan.fit_dates) == 4
    assert plan.fit_dates == [
        date(2024, 8, 23),
        date(2024, 9, 23),
        date(2024, 10, 23),
        date(2024, 11, 23),
    ]


def test_plan_index_dates_starts_at_the_common_coverage() -> None:
    spec = load_spec("diabetes_harm_365d")
    window = ExtractWindow(
        date(2022, 11, 1),
        date(2026, 11, 23),
        coverage={"lab_results": date(2017, 1, 1), "diagnoses": date(2022, 11, 1)},
    )
    plan = plan_index_dates(spec, window)
    assert plan.history_start == date(2022, 11, 1)
    assert min(plan.fit_dates) >= date(2022, 11, 1) + timedelta(days=180)


def test_plan_index_dates_too_short_extract() -> None:
    spec = load_spec("diabetes_harm_365d")
    with pytest.raises(DataError) as error:
        plan_index_dates(spec, ExtractWindow(date(2024, 1, 1), date(2026, 1, 1)))
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
    assert set(result.rows) == {
        "train",
        "calibration",
        "test",
        "refit_train",
        "refit_calibration",
    }
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


def test_refit_model_fits_every_date_and_anchors_the_latest() -> None:
    import numpy as np
    import pandas as pd

    from models.calibrate import predict_risk
    from models.train import refit_model

    rng = np.random.default_rng(3)
    n = 4000
    x = rng.normal(size=n)
    split = rng.choice(
        ["train", "calibration", "test", "refit_train", "refit_calibration"],
        size=n,
        p=[0.4, 0.1, 0.2, 0.2, 0.1],
    )
    latest = np.char.startswith(split.astype(str), "refit")
    # the latest date has a higher event rate than the earlier one
    logit = x - 1.5 + np.where(latest, 0.8, 0.0)
    matrix = pd.DataFrame(
        {
            "citizen_id": [f"P{i}" for i in range(n)],
            "as_of_date": pd.to_datetime(np.where(latest, "2025-01-01", "2024-01-01")),
            "label": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
            "split": split,
            "hba1c_last_mmol_mol": x,
        }
    )
    spec = ModelSpec.from_mapping(
        {
            "outcome": "diabetes_harm_365d",
            "cohort": "has_diabetes",
            "estimator": "logistic_regression",
            "features": ["hba1c_last_mmol_mol"],
        },
        name="probe",
        source="probe",
    )
    model, info = refit_model(matrix, spec, {"hba1c_last_mmol_mol": "numeric"})
    assert info["index_dates"] == ["2024-01-01", "2025-01-01"]
    assert info["rows_train"] == int(np.isin(split, ["train", "refit_train"]).sum())
    assert info["rows_in_the_large"] == int(latest.sum())
    assert info["intercept_shift"] < 0  # the risk rises towards the latest date
    rows = matrix[latest]
    risk = predict_risk(model, rows[["hba1c_last_mmol_mol"]])
    assert abs(risk.mean() - rows["label"].mean()) < 1e-6
