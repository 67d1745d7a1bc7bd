"""Broad covariates as model columns: choice on training rows, the pivot, scoring."""

from __future__ import annotations

import math
import re
from datetime import date

import duckdb
import pandas as pd
import pytest

from features.errors import DataError, NotFoundError
from models.broad import (
    absent_value,
    add_broad_columns,
    choose_broad_covariates,
    resolve_broad_features,
)
from models.matrix import feature_kinds, read_cohort_frame
from models.spec import ModelSpec
from tests.models.conftest import make_mart
from tests.region_cache import TrainedRegion

D = date(2025, 1, 1)
LONG = [
    # atc3_a10b_365d in 3 rows; npu27300_last in 2; sks_de11_ever in 1.
    ("c1", D, "atc3_a10b_365d", 2.0),
    ("c2", D, "atc3_a10b_365d", 1.0),
    ("c3", D, "atc3_a10b_365d", 4.0),
    ("c1", D, "npu27300_last", 71.0),
    ("c2", D, "npu27300_last", 55.0),
    ("c3", D, "sks_de11_ever", 1.0),
    # Another date: never read for rows of D.
    ("c4", date(2024, 1, 1), "sks_de11_ever", 1.0),
]


def _long(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.broad_covariates (citizen_id varchar,"
        " as_of_date date, covariate_id varchar, value double)"
    )
    con.executemany("insert into marts.broad_covariates values (?, ?, ?, ?)", LONG)


def _rows(*ids: str, split: str = "train") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "citizen_id": list(ids),
            "as_of_date": pd.Timestamp(D),
            "label": 0,
            "split": split,
        }
    )


def _spec(**changes: object) -> ModelSpec:
    base = {
        "outcome": "diabetes_harm_365d",
        "cohort": "has_diabetes",
        "estimator": "logistic_regression",
        "features": ["age_years"],
    }
    return ModelSpec.from_mapping({**base, **changes}, name="x", source="x.toml")


def test_choose_broad_covariates_drops_those_below_min_rows() -> None:
    con = duckdb.connect()
    _long(con)
    rows = _rows("c1", "c2", "c3", "c4")
    assert choose_broad_covariates(con, rows, min_rows=2, spec="x") == [
        "atc3_a10b_365d",
        "npu27300_last",
    ]
    assert choose_broad_covariates(con, rows, min_rows=3, spec="x") == [
        "atc3_a10b_365d"
    ]
    # Only the given rows count: c3 alone has sks_de11_ever at D.
    assert choose_broad_covariates(con, _rows("c1"), min_rows=1, spec="x") == [
        "atc3_a10b_365d",
        "npu27300_last",
    ]


def test_add_broad_columns_fills_absent_counts_with_zero_and_values_with_null() -> None:
    con = duckdb.connect()
    _long(con)
    frame = _rows("c3", "c1", "c9").set_index(pd.Index([10, 11, 12]))
    before = frame.copy()
    ids = ["atc3_a10b_365d", "npu27300_last", "sks_de11_ever", "npu27300_days_since"]
    wide = add_broad_columns(con, frame, ids)
    pd.testing.assert_frame_equal(frame, before)  # the input is not changed
    assert list(wide.index) == [10, 11, 12]
    assert list(wide["atc3_a10b_365d"]) == [4.0, 2.0, 0.0]
    assert list(wide["sks_de11_ever"]) == [1.0, 0.0, 0.0]
    assert wide.loc[11, "npu27300_last"] == 71.0
    assert math.isnan(wide.loc[10, "npu27300_last"])
    assert wide["npu27300_days_since"].isna().all()


def test_absent_value_is_null_only_for_last_values_and_days_since() -> None:
    assert absent_value("npu27300_n_730d") == 0.0
    assert absent_value("hosp_acute_admission_365d") == 0.0
    assert math.isnan(absent_value("npu27300_last"))
    assert math.isnan(absent_value("lab_dnk35302_days_since"))


def test_resolve_broad_features_records_the_choice_in_the_spec() -> None:
    con = duckdb.connect()
    _long(con)
    matrix = pd.concat([_rows("c1", "c2", "c3"), _rows("c4", split="test")])
    matrix["age_years"] = 60.0
    spec = _spec(feature_set="both", broad_min_rows=2)
    out, resolved, kinds = resolve_broad_features(
        con, matrix, spec=spec, kinds={"age_years": "numeric"}
    )
    assert resolved.broad_covariates == ("atc3_a10b_365d", "npu27300_last")
    assert resolved.model_features == ("age_years", *resolved.broad_covariates)
    assert list(kinds) == list(resolved.model_features)
    assert set(kinds.values()) == {"numeric"}
    assert list(out["atc3_a10b_365d"]) == [2.0, 1.0, 4.0, 0.0]
    # A curated spec comes back unchanged, without broad columns.
    same, curated, _ = resolve_broad_features(
        con, matrix, spec=_spec(), kinds={"age_years": "numeric"}
    )
    assert curated == _spec() and list(same.columns) == list(matrix.columns)


def test_resolve_broad_features_with_nothing_common_enough_message_is_pinned() -> None:
    con = duckdb.connect()
    _long(con)
    with pytest.raises(DataError) as error:
        resolve_broad_features(
            con,
            _rows("c1"),
            spec=_spec(feature_set="broad", broad_min_rows=5),
            kinds={"age_years": "numeric"},
        )
    assert str(error.value) == (
        "The spec 'x' has feature_set 'broad' but no broad covariate is non-zero in "
        "5 training rows (broad_min_rows); lower it or use a larger extract."
    )


def test_broad_covariates_without_the_table_message_is_pinned() -> None:
    con = duckdb.connect()
    with pytest.raises(NotFoundError) as error:
        choose_broad_covariates(con, _rows("c1"), min_rows=1, spec="x")
    assert str(error.value) == (
        "The spec 'x' uses broad covariates but the warehouse has no "
        "marts.broad_covariates; run `opspor features` with this Opspor first."
    )


def test_scoring_frame_of_a_citizen_lacking_a_covariate_gets_zero_or_null() -> None:
    con = duckdb.connect()
    make_mart(
        con,
        [
            {"citizen_id": c, "as_of_date": D, "age_years": 50, "has_diabetes": True}
            for c in ("c1", "c3", "c9")
        ],
    )
    _long(con)
    features = ["age_years", "atc3_a10b_365d", "npu27300_last"]
    kinds = feature_kinds(con, features, spec="x")
    assert kinds == dict.fromkeys(features, "numeric")
    frame = read_cohort_frame(
        con, cohort="has_diabetes", as_of=D, features=features, kinds=kinds
    ).set_index("citizen_id")
    assert frame.loc["c9", "atc3_a10b_365d"] == 0.0
    assert math.isnan(frame.loc["c9", "npu27300_last"])
    assert math.isnan(frame.loc["c3", "npu27300_last"])
    assert frame.loc["c1", "npu27300_last"] == 71.0


def test_no_curated_mart_column_looks_like_a_broad_covariate() -> None:
    from features.catalogue import build_catalogue
    from models.broad import is_broad_covariate

    names = [e["name"] for e in build_catalogue()]
    assert names and not [n for n in names if is_broad_covariate(n)]
    from models.broad import CURATED_TWINS

    assert set(CURATED_TWINS.values()) <= set(names)
    assert all(is_broad_covariate(twin) for twin in CURATED_TWINS)


@pytest.mark.slow
def test_small_region_trains_scores_and_explains_with_broad_covariates(
    trained_region: TrainedRegion,
) -> None:
    from models.explain import explain_scores
    from models.score import load_registered_model, score_citizens
    from models.spec import load_spec

    # This test's own copy of region_small with the champion trained once per session
    # (tests/region_cache.py): the champion takes the broad covariates beside the
    # curated features (feature_set = "both").
    settings = trained_region.settings
    name = "diabetes_harm_365d"
    registered = load_registered_model(settings, name)
    broad = registered.spec.broad_covariates or ()
    # Chosen on the training rows, recorded in the logged spec, part of the model.
    assert len(broad) >= 10 and registered.spec.feature_set == "both"
    assert registered.spec.model_features == (*load_spec(name).features, *broad)
    assert load_spec("diabetes_harm_365d_curated").feature_set == "curated"
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        as_of = con.execute("select extract_date from raw.extract_info").fetchone()[0]
    finally:
        con.close()
    scored = score_citizens(settings, model=name, as_of=as_of)
    explained = explain_scores(settings, model=name, as_of=as_of, language="en")
    assert scored.n_scored == explained.n_citizens > 100
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        reasons = con.execute(
            "select feature, reason_text from scoring.reasons where model_uri = $uri",
            {"uri": registered.model_uri},
        ).fetchall()
    finally:
        con.close()
    from_broad = [(f, t) for f, t in reasons if f in broad]
    assert from_broad, "no broad covariate among the reasons"
    code = re.compile(r"\b(?:[A-Z]\d\d[A-Z0-9]*|D[A-Z]\d\d\w*|NPU\d+)\b|\{")
    assert not [t for _, t in from_broad if code.search(t)]


def test_resolve_broad_features_leaves_out_twins_of_curated_features() -> None:
    con = duckdb.connect()
    _long(con)
    matrix = _rows("c1", "c2", "c3")
    matrix["hba1c_last_mmol_mol"] = 60.0
    kinds = {"hba1c_last_mmol_mol": "numeric"}
    both = _spec(feature_set="both", broad_min_rows=2, features=["hba1c_last_mmol_mol"])
    _, resolved, _ = resolve_broad_features(con, matrix, spec=both, kinds=kinds)
    assert resolved.broad_covariates == ("atc3_a10b_365d",)
    # With the broad covariates alone, the twin is the model's only HbA1c.
    broad = _spec(
        feature_set="broad", broad_min_rows=2, features=["hba1c_last_mmol_mol"]
    )
    _, resolved, _ = resolve_broad_features(con, matrix, spec=broad, kinds=kinds)
    assert resolved.broad_covariates == ("atc3_a10b_365d", "npu27300_last")
