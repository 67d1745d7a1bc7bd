from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from features.errors import ConfigError, NotFoundError
from models.spec import ModelSpec, available_specs, load_spec, parse_every

BASE = {
    "outcome": "diabetes_harm_365d",
    "cohort": "has_diabetes",
    "estimator": "logistic_regression",
    "features": ["age_years", "hba1c_last_mmol_mol"],
}


def _spec(**changes: object) -> ModelSpec:
    return ModelSpec.from_mapping(
        {**BASE, **changes}, name="x", source="models/specs/x.toml"
    )


def test_available_specs_ship_the_three_outcomes_and_comparisons() -> None:
    names = available_specs()
    for name in (
        "diabetes_harm_365d",
        "missed_care_365d",
        "smi_somatic_365d",
        "diabetes_harm_365d_logreg",
        "diabetes_harm_365d_rule",
    ):
        assert name in names


@pytest.mark.parametrize("name", available_specs())
def test_load_spec_shipped_spec_is_valid_and_named_by_file(name: str) -> None:
    spec = load_spec(name)
    assert spec.name == name
    assert spec.source == f"models/specs/{name}.toml"
    assert not {"education_level", "origin"} & set(spec.features)


def test_model_spec_horizon_zero_message_is_pinned() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(horizon_days=0)
    assert str(error.value) == (
        "The 'horizon_days' parameter of models/specs/x.toml must be an int in the "
        "range "
        "[1, inf). Got 0 instead."
    )


@pytest.mark.parametrize("column", ["education_level", "origin"])
def test_model_spec_audit_column_as_feature_is_refused(column: str) -> None:
    with pytest.raises(ConfigError) as error:
        _spec(features=["age_years", column])
    assert str(error.value) == f"The feature '{column}' is used to audit, not to score."


def test_model_spec_unknown_estimator_message() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(estimator="random_forest")
    assert str(error.value) == (
        "The 'estimator' parameter of models/specs/x.toml must be a str among "
        "['rule_baseline', 'logistic_regression', 'hist_gradient_boosting', "
        "'blend']. "
        "Got 'random_forest' instead."
    )


def test_model_spec_missing_and_unknown_keys() -> None:
    data = {k: v for k, v in BASE.items() if k != "cohort"}
    with pytest.raises(ConfigError) as error:
        ModelSpec.from_mapping(data, name="x", source="models/specs/x.toml")
    assert (
        str(error.value)
        == "The 'cohort' parameter of models/specs/x.toml is required but missing."
    )
    with pytest.raises(
        ConfigError,
        match="The 'horizon' parameter of models/specs/x.toml is not a spec",
    ):
        ModelSpec.from_mapping(
            {**BASE, "horizon": 3}, name="x", source="models/specs/x.toml"
        )


def test_model_spec_name_must_match_file() -> None:
    with pytest.raises(ConfigError) as error:
        ModelSpec.from_mapping(
            {**BASE, "name": "y"}, name="x", source="models/specs/x.toml"
        )
    assert str(error.value) == (
        "The 'name' parameter of models/specs/x.toml must equal the file name 'x'. "
        "Got 'y' instead."
    )


def test_model_spec_rule_baseline_needs_rules_on_listed_features() -> None:
    rules = [{"feature": "n_no_shows_365d", "op": ">", "threshold": 2}]
    with pytest.raises(
        ConfigError, match=r"The 'params.rules' parameter of models/specs/x.toml"
    ):
        _spec(estimator="rule_baseline", params={"rules": rules})
    ok = _spec(
        estimator="rule_baseline",
        params={"rules": [{"feature": "age_years", "op": ">", "threshold": 70}]},
    )
    assert ok.estimator == "rule_baseline"


def test_model_spec_shares_and_dates_are_checked() -> None:
    with pytest.raises(ConfigError, match="test_share \\+ calibration_share < 0.9"):
        _spec(test_share=0.5, calibration_share=0.45)
    with pytest.raises(
        ConfigError,
        match="'train_from' parameter of models/specs/x.toml must be before",
    ):
        _spec(train_from=date(2024, 1, 1), train_to=date(2023, 1, 1))
    with pytest.raises(ConfigError, match="'every' parameter"):
        _spec(every="quarterly")


def test_model_spec_to_toml_round_trips(tmp_path: Path) -> None:
    spec = load_spec("diabetes_harm_365d_rule")
    path = tmp_path / "diabetes_harm_365d_rule.toml"
    path.write_text(spec.to_toml(), encoding="utf-8")
    again = ModelSpec.from_toml(path, caller=spec.source)
    assert again == spec
    assert tomllib.loads(spec.to_toml())["name"] == "diabetes_harm_365d_rule"


def test_flat_params_are_strings_with_dotted_params() -> None:
    flat = load_spec("diabetes_harm_365d").flat_params()
    assert flat["estimator"] == '"hist_gradient_boosting"'
    assert flat["params.max_iter"] == "600"
    assert all(isinstance(v, str) for v in flat.values())


def test_load_spec_unknown_name_is_not_found() -> None:
    with pytest.raises(NotFoundError) as error:
        load_spec("no_such_model")
    assert str(error.value) == (
        "No model spec 'no_such_model': expected models/specs/no_such_model.toml or a "
        "path to a TOML file."
    )


def test_parse_every_units() -> None:
    assert parse_every("3mo") == (3, "mo")
    assert parse_every("2w") == (2, "w")
    with pytest.raises(ConfigError) as error:
        parse_every("0mo")
    assert str(error.value) == (
        "The 'every' parameter of ModelSpec must be a period like '3mo', '1mo', "
        "'2w', '30d' or '1y'. Got '0mo' instead."
    )


def test_model_spec_unknown_cohort_lists_flags_in_order() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(cohort="has_flu")
    assert str(error.value) == (
        "The 'cohort' parameter of models/specs/x.toml must be a str among "
        "['has_diabetes', 'has_smi', 'has_copd', 'has_heart_disease', 'has_cancer', "
        "'has_chronic_back_pain']. Got 'has_flu' instead."
    )


def test_model_spec_test_share_is_open_above() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(test_share=0.9)
    assert str(error.value) == (
        "The 'test_share' parameter of models/specs/x.toml must be a float in the "
        "range [0.05, 0.9). Got 0.9 instead."
    )


def test_model_spec_share_sum_message_is_pinned() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(test_share=0.5, calibration_share=0.45)
    assert str(error.value) == (
        "The 'calibration_share' parameter of models/specs/x.toml must be a float "
        "such that test_share + calibration_share < 0.9. Got 0.45 instead."
    )


def test_model_spec_duplicate_features_refused() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(features=["age_years", "age_years"])
    assert str(error.value) == (
        "The 'features' parameter of models/specs/x.toml must be a non-empty list of "
        "unique column names matching ^[a-z][a-z0-9_]*$. "
        "Got ['age_years', 'age_years'] instead."
    )


def test_model_spec_feature_set_defaults_to_curated() -> None:
    spec = _spec()
    assert (spec.feature_set, spec.broad_min_rows, spec.broad_covariates) == (
        "curated",
        50,
        None,
    )
    assert spec.model_features == spec.features


def test_model_spec_model_features_follow_the_feature_set() -> None:
    ids = ["atc3_a10b_365d", "npu27300_last"]
    both = _spec(feature_set="both", broad_covariates=ids)
    broad = _spec(feature_set="broad", broad_covariates=ids)
    curated = _spec(broad_covariates=ids)
    assert both.model_features == (*both.features, *ids)
    assert broad.model_features == tuple(ids)
    assert curated.model_features == curated.features


def test_model_spec_bad_feature_set_message_is_pinned() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(feature_set="wide")
    assert str(error.value) == (
        "The 'feature_set' parameter of models/specs/x.toml must be a str among "
        "['curated', 'broad', 'both']. Got 'wide' instead."
    )


def test_model_spec_broad_min_rows_zero_message_is_pinned() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(broad_min_rows=0)
    assert str(error.value) == (
        "The 'broad_min_rows' parameter of models/specs/x.toml must be an int in the "
        "range [1, inf). Got 0 instead."
    )


def test_model_spec_broad_covariate_must_carry_a_family_prefix() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(feature_set="both", broad_covariates=["age_years"])
    assert str(error.value) == (
        "The 'broad_covariates' parameter of models/specs/x.toml must be a list of "
        "unique broad covariate ids matching "
        "^(?:atc3_|atc4_|sks_|icpc_|hosp_|psych_|npu|lab_)[a-z0-9_]*$ or absent. "
        "Got ['age_years'] instead."
    )


def test_model_spec_broad_features_need_a_broad_cohort() -> None:
    with pytest.raises(ConfigError) as error:
        _spec(cohort="has_copd", feature_set="both")
    assert str(error.value) == (
        "The 'feature_set' parameter of models/specs/x.toml must be 'curated' for "
        "cohort 'has_copd': marts.broad_covariates holds the rows of has_diabetes, "
        "has_smi only. Got 'both' instead."
    )


def test_model_spec_chosen_broad_covariates_survive_the_logged_toml() -> None:
    spec = _spec(feature_set="both", broad_covariates=["sks_de11_ever"])
    again = ModelSpec.from_mapping(
        tomllib.loads(spec.to_toml()), name="x", source="logged"
    )
    assert again.model_features == spec.model_features


def test_flat_params_cut_a_value_mlflow_would_refuse() -> None:
    ids = [f"sks_d{i:05d}_365d" for i in range(800)]
    flat = _spec(feature_set="both", broad_covariates=ids).flat_params()
    assert len(flat["broad_covariates"]) == 6000
    assert flat["broad_covariates"].endswith(
        "(cut; the whole value is in spec/spec.toml)"
    )
    assert flat["features"] == '["age_years", "hba1c_last_mmol_mol"]'
