from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from features.db import connect
from features.errors import NotFoundError
from models.calibrate import raw_margin
from models.explain import (
    FeatureInfo,
    explain_citizens,
    explain_scores,
    feature_catalogue,
    feature_contributions,
    feature_means,
    format_reason,
    top_reasons,
)
from models.matrix import cohort_batches, feature_kinds, read_cohort_frame
from models.score import load_registered_model, rank_citizens, score_citizens
from tests.models.conftest import TOY_EXTRACT_DATE, Trained

DAYS = FeatureInfo(
    "days_since_eye_screening",
    "days",
    {
        "en": "{value} days since the last eye screening",
        "da": "{value} dage siden sidste øjenscreening",
    },
    {"en": "No eye screening ever recorded", "da": "Ingen øjenscreening registreret"},
)
COUNT = FeatureInfo(
    "n_no_shows_365d",
    "appointments",
    {"en": "{value} missed appointments in the last year"},
)
FLAG = FeatureInfo("has_no_gp", "boolean", {"en": "No listed GP"})
SLOPE = FeatureInfo(
    "hba1c_slope",
    "mmol/mol per year",
    {"en": "HbA1c has changed by {value:+.0f} mmol/mol a year"},
)
PDC = FeatureInfo(
    "pdc",
    "proportion (0-1)",
    {"en": "Diabetes medicine collected for {value:.0%} of days"},
)


def test_format_reason_days_as_months_and_never() -> None:
    assert (
        format_reason(DAYS, 792.0, language="en")
        == "26 months since the last eye screening"
    )
    assert (
        format_reason(DAYS, 792.0, language="da")
        == "26 måneder siden sidste øjenscreening"
    )
    assert (
        format_reason(DAYS, 45.0, language="en")
        == "45 days since the last eye screening"
    )
    assert (
        format_reason(DAYS, float("nan"), language="en")
        == "No eye screening ever recorded"
    )


def test_format_reason_is_singular_for_one() -> None:
    tests = FeatureInfo(
        "n_hba1c_730d",
        "samples",
        {"da": "{value} målinger af langtidsblodsukker de seneste to år"},
        reason_one={"da": "1 måling af langtidsblodsukker de seneste to år"},
    )
    assert format_reason(tests, 1.0, language="da") == (
        "1 måling af langtidsblodsukker de seneste to år"
    )
    assert format_reason(tests, 2.0, language="da") == (
        "2 målinger af langtidsblodsukker de seneste to år"
    )
    assert format_reason(tests, 1.4, language="da") == (
        "1.4 målinger af langtidsblodsukker de seneste to år"
    )


def test_every_count_reason_has_its_singular() -> None:
    from features.catalogue import feature_reasons

    for name, entry in feature_reasons().items():
        template = entry["reason"].get("da", "")
        if template.startswith("{value} ") and entry["unit"] != "category":
            info = FeatureInfo(name, entry["unit"], entry["reason"],
                               reason_one=entry["reason_one"])  # fmt: skip
            for language in ("da", "en"):
                one = format_reason(info, 1, language=language)
                assert one == entry["reason_one"][language], (name, language)
                assert one.startswith("1 ") and "{" not in one


def test_format_reason_only_when_true() -> None:
    assert (
        format_reason(COUNT, 3.0, language="en")
        == "3 missed appointments in the last year"
    )
    assert format_reason(COUNT, 0.0, language="en") is None
    assert format_reason(FLAG, 1.0, language="en") == "No listed GP"
    assert format_reason(FLAG, 0.0, language="en") is None
    assert format_reason(COUNT, float("nan"), language="en") is None  # no "never" text
    assert format_reason(SLOPE, 0.2, language="en") is None  # would read "+0 mmol/mol"
    assert (
        format_reason(SLOPE, 4.4, language="en")
        == "HbA1c has changed by +4 mmol/mol a year"
    )
    assert (
        format_reason(PDC, 0.456, language="en")
        == "Diabetes medicine collected for 46% of days"
    )
    assert (
        format_reason(PDC, 0.0, language="en")
        == "Diabetes medicine collected for 0% of days"
    )


def test_feature_catalogue_has_reasons_for_every_shipped_feature() -> None:
    from features.catalogue import build_catalogue
    from models.spec import available_specs, load_spec

    catalogue = feature_catalogue()
    # context columns (covered history) describe the data, never the citizen
    context = {e["name"] for e in build_catalogue() if e["role"] == "context"}
    assert context and not context & set(catalogue)
    for name in available_specs():
        for feature in set(load_spec(name).features) - context:
            info = catalogue[feature]
            texts = [info.reason, *info.reason_by_value.values()]
            assert all(t.keys() >= {"da", "en"} for t in texts if t), (name, feature)
            assert any(texts), (name, feature)


def _frame(trained: Trained, name: str) -> tuple[object, pd.DataFrame, dict[str, str]]:
    registered = load_registered_model(trained.settings, name)
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        kinds = feature_kinds(con, registered.spec.features, spec=name)
        frame = read_cohort_frame(
            con,
            cohort="has_diabetes",
            as_of=TOY_EXTRACT_DATE,
            features=registered.spec.features,
            kinds=kinds,
        )
    finally:
        con.close()
    return registered, frame, kinds


@pytest.mark.slow
@pytest.mark.parametrize("name", ["toy", "toy_hgb"])
def test_feature_contributions_add_up_to_the_ranked_margin(
    trained: Trained, name: str
) -> None:
    registered, frame, kinds = _frame(trained, name)
    X = frame[list(kinds)]
    contributions = feature_contributions(registered.model, X, kinds=kinds)
    assert list(contributions.columns) == list(
        kinds
    )  # one-hot levels and indicators grouped back
    base = raw_margin(registered.model, X) - contributions.sum(axis=1).to_numpy()
    assert np.allclose(
        base, base[0], atol=1e-6
    )  # margin = expected value + contributions


@pytest.mark.slow
@pytest.mark.parametrize("name", ["toy_hgb", "toy_rule"])
def test_reasons_agree_with_the_feature_values_they_cite(
    trained: Trained, name: str
) -> None:
    score_citizens(trained.settings, model=name, as_of=TOY_EXTRACT_DATE)
    result = explain_scores(
        trained.settings, model=name, as_of=TOY_EXTRACT_DATE, language="en"
    )
    assert result.n_reasons > 0
    registered, frame, _ = _frame(trained, name)
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        reasons = con.execute(
            "select * from scoring.reasons where model_uri = $u and as_of_date = $d "
            "and language = 'en'",
            {"u": registered.model_uri, "d": TOY_EXTRACT_DATE},
        ).df()
    finally:
        con.close()
    assert len(reasons) == result.n_reasons
    catalogue = feature_catalogue()
    values = frame.set_index("citizen_id")
    for row in reasons.itertuples():
        value = values.loc[row.citizen_id, row.feature]
        if pd.isna(value):
            assert pd.isna(row.feature_value)
        elif isinstance(value, str):
            assert row.feature_value == value
        else:
            assert float(row.feature_value) == pytest.approx(float(value))
        assert row.reason_text == format_reason(
            catalogue[row.feature], value, language="en"
        )
        assert row.contribution > 0
    ranks = reasons.groupby("citizen_id")["reason_rank"].apply(list)
    assert all(r == list(range(1, len(r) + 1)) and len(r) <= 3 for r in ranks)
    by_rank = reasons.sort_values(["citizen_id", "reason_rank"]).groupby("citizen_id")[
        "contribution"
    ]
    assert all(np.all(np.diff(c.to_numpy()) <= 1e-12) for _, c in by_rank)


@pytest.mark.slow
def test_rule_reasons_are_the_rules_met(trained: Trained) -> None:
    score_citizens(trained.settings, model="toy_rule", as_of=TOY_EXTRACT_DATE)
    explain_scores(
        trained.settings, model="toy_rule", as_of=TOY_EXTRACT_DATE, language="en"
    )
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select r.feature, m.hba1c_last_mmol_mol, m.days_since_diabetes_control "
            "from scoring.reasons r"
            " join marts.scoring_features m using (citizen_id, as_of_date)"
            " where r.model_uri = 'models:/toy_rule/1' and r.language = 'en'"
        ).fetchall()
    finally:
        con.close()
    assert rows
    for feature, hba1c, days in rows:
        if feature == "hba1c_last_mmol_mol":
            assert hba1c > 75
        else:
            assert days is None or days > 456


@pytest.mark.slow
def test_explain_scores_needs_scores_first(trained: Trained) -> None:
    with pytest.raises(
        NotFoundError, match=r"No scores for models:/toy_rule/1 at 2024-01-01"
    ):
        explain_scores(
            trained.settings,
            model="toy_rule@1",
            as_of=__import__("datetime").date(2024, 1, 1),
        )


def test_format_reason_by_value_for_cohort_columns() -> None:
    info = feature_catalogue()["diabetes_type"]
    assert format_reason(info, "type1", language="en") == "Type 1 diabetes"
    assert format_reason(info, "type2", language="da") == "Type 2-diabetes"
    assert format_reason(info, "missing", language="en") is None


def test_living_situation_reads_in_words() -> None:
    from models.explain import feature_catalogue

    info = feature_catalogue()["living_situation"]
    assert format_reason(info, "supported_housing", language="da") == (
        "Boform: botilbud"
    )
    assert format_reason(info, "shelter", language="en") == "Living situation: shelter"


# --- batches ----------------------------------------------------------------------
# Scoring and explaining in batches of citizens (models.matrix.cohort_batches) bound
# memory at national scale; the batch size must change nothing a coordinator sees:
# ranks, risks and reasons. Kept in this file so that `make test`'s per-file workers
# train the toy models once for both.

SMALL = 400
REASON_KEY = ["citizen_id", "reason_rank"]


def _table(trained: Trained, sql: str, uri: str) -> pd.DataFrame:
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        return con.execute(sql, {"u": uri, "d": TOY_EXTRACT_DATE}).df()
    finally:
        con.close()


def _run(trained: Trained, name: str, batch: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score and explain with one batch size; return the stored scores and reasons."""
    score = score_citizens(
        trained.settings, model=name, as_of=TOY_EXTRACT_DATE, batch_size=batch
    )
    explain_scores(
        trained.settings,
        model=name,
        as_of=TOY_EXTRACT_DATE,
        language="en",
        batch_size=batch,
    )
    scores = _table(
        trained,
        "select * from scoring.scores where model_uri = $u and as_of_date = $d"
        " order by risk_rank",
        score.model_uri,
    )
    reasons = _table(
        trained,
        "select * exclude (language) from scoring.reasons where model_uri = $u"
        " and as_of_date = $d and language = 'en' order by citizen_id, reason_rank",
        score.model_uri,
    )
    return scores, reasons


def _unbatched(trained: Trained, name: str) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """The whole cohort in memory at once: the ranking and reasons before batching."""
    registered = load_registered_model(trained.settings, name)
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        kinds = feature_kinds(con, registered.spec.model_features, spec=name)
        frame = read_cohort_frame(
            con,
            cohort=registered.spec.cohort,
            as_of=TOY_EXTRACT_DATE,
            features=list(kinds),
            kinds=kinds,
        )
    finally:
        con.close()
    scores = rank_citizens(
        registered.model,
        frame,
        features=list(registered.spec.model_features),
        model_uri=registered.model_uri,
    )
    contributions = feature_contributions(
        registered.model, frame[list(kinds)], kinds=kinds
    )
    reasons = top_reasons(
        frame, contributions, catalogue=feature_catalogue(), top=3, language="en"
    )
    return scores, reasons, registered


def _same_reasons(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Identical reasons; contributions equal up to float rounding of the mean."""
    got = got.sort_values(REASON_KEY, ignore_index=True)
    want = want.sort_values(REASON_KEY, ignore_index=True)
    columns = [*REASON_KEY, "feature", "feature_value", "reason_text"]
    pd.testing.assert_frame_equal(
        got[columns].astype(str), want[columns].astype(str), check_dtype=False
    )
    np.testing.assert_allclose(
        got["contribution"], want["contribution"], rtol=1e-9, atol=1e-12
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["toy", "toy_hgb"])
def test_batched_scores_and_reasons_equal_unbatched(
    trained: Trained, name: str
) -> None:
    # toy: the linear model, whose centring mean spans batches; toy_hgb: SHAP.
    # (The rule baseline's reasons are the rules each row meets: per row.)
    scores, reasons = _run(trained, name, SMALL)
    assert len(scores) > 3 * SMALL  # really several batches
    whole, whole_reasons, registered = _unbatched(trained, name)
    assert scores["citizen_id"].tolist() == whole["citizen_id"].tolist()
    assert scores["risk_rank"].tolist() == whole["risk_rank"].tolist()
    # The logistic model's matrix product rounds differently by batch (1e-16).
    np.testing.assert_allclose(scores["risk_score"], whole["risk_score"], rtol=1e-12)
    whole_reasons = whole_reasons.assign(model_uri=registered.model_uri)
    _same_reasons(reasons, whole_reasons[reasons.columns])


# --- SHAP only where it is read ---------------------------------------------------
# The weekly run explains the first N ranks (EngineSettings.ranks_to_explain); a
# citizen below them is explained on demand when a list needs him. Either way his
# reasons must be the ones explaining everybody would have stored.

TOP_RANKS = 150


def _reasons_at(trained: Trained, uri: str) -> pd.DataFrame:
    return _table(
        trained,
        "select r.* exclude (language), s.risk_rank from scoring.reasons as r"
        " join scoring.scores as s using (citizen_id, as_of_date, model_uri)"
        " where r.model_uri = $u and r.as_of_date = $d and r.language = 'en'"
        " order by citizen_id, reason_rank",
        uri,
    )


def _explain(trained: Trained, name: str, ranks: int | None) -> pd.DataFrame:
    result = explain_scores(
        trained.settings,
        model=name,
        as_of=TOY_EXTRACT_DATE,
        language="en",
        ranks=ranks,
    )
    assert result.ranks == ranks
    return _reasons_at(trained, result.model_uri)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["toy", "toy_hgb"])
def test_top_ranks_and_on_demand_reasons_equal_explaining_everyone(
    trained: Trained, name: str
) -> None:
    # toy: the linear model, centred over every scored citizen whoever is
    # explained; toy_hgb: SHAP values per row.
    score_citizens(trained.settings, model=name, as_of=TOY_EXTRACT_DATE)
    everyone = _explain(trained, name, None)
    top = _explain(trained, name, TOP_RANKS)
    assert top["risk_rank"].max() <= TOP_RANKS < everyone["risk_rank"].max()
    assert top["citizen_id"].nunique() > TOP_RANKS * 0.9  # nearly all have reasons
    _same_reasons(top, everyone[everyone["risk_rank"] <= TOP_RANKS])
    below = everyone[everyone["risk_rank"] > TOP_RANKS]
    asked = sorted(set(below["citizen_id"]))[::40]
    registered = load_registered_model(trained.settings, name)
    con = connect(trained.settings.warehouse)
    try:
        n = explain_citizens(
            con,
            registered,
            as_of=TOY_EXTRACT_DATE,
            citizen_ids=[*asked, "not-scored"],
            language="en",
            batch_size=SMALL,  # the linear centre spans batches here too
        )
    finally:
        con.close()
    assert n == len(asked)
    demanded = _reasons_at(trained, registered.model_uri)
    want = everyone[everyone["citizen_id"].isin([*top["citizen_id"], *asked])]
    _same_reasons(demanded, want)  # the top ranks' reasons are left alone


@pytest.mark.slow
def test_cohort_batches_cover_the_cohort_once(trained: Trained) -> None:
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        kinds = {"age_years": "numeric"}
        whole = read_cohort_frame(
            con, cohort="has_diabetes", as_of=TOY_EXTRACT_DATE, features=[], kinds={}
        )
        batches = cohort_batches(
            con, cohort="has_diabetes", as_of=TOY_EXTRACT_DATE, size=SMALL
        )
        parts = [
            read_cohort_frame(
                con,
                cohort="has_diabetes",
                as_of=TOY_EXTRACT_DATE,
                features=list(kinds),
                kinds=kinds,
                batch=batch,
            )
            for batch in batches
        ]
    finally:
        con.close()
    assert [len(p) for p in parts[:-1]] == [SMALL] * (len(parts) - 1)
    assert 1 <= len(parts[-1]) <= SMALL
    ids = pd.concat(parts)["citizen_id"].tolist()
    assert ids == whole["citizen_id"].tolist()
    assert batches[-1][1] is None


def _linear_pipeline() -> tuple[Any, pd.DataFrame, dict[str, str]]:
    """A small fitted pipeline shaped like Opspor's: preprocess, then estimator."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(7)
    X = pd.DataFrame(
        {
            "age_years": rng.normal(60, 10, 300),
            "n_no_shows_365d": rng.poisson(1.0, 300).astype(float),
            "sex": rng.choice(["F", "M"], 300),
        }
    )
    y = (X["n_no_shows_365d"] + rng.normal(0, 1, 300) > 1).astype(int)
    preprocess = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age_years", "n_no_shows_365d"]),
            ("cat", OneHotEncoder(), ["sex"]),
        ]
    )
    pipeline = Pipeline(
        [("preprocess", preprocess), ("estimator", LogisticRegression())]
    ).fit(X, y)
    kinds = {"age_years": "numeric", "n_no_shows_365d": "numeric", "sex": "categorical"}
    return pipeline, X, kinds


def test_linear_contributions_centred_over_all_batches_equal_unbatched() -> None:
    pipeline, X, kinds = _linear_pipeline()
    whole = feature_contributions(pipeline, X, kinds=kinds)
    parts = [X.iloc[:0], X.iloc[:110], X.iloc[110:111], X.iloc[111:]]
    centre = feature_means(pipeline, parts)
    batched = pd.concat(
        [
            feature_contributions(pipeline, part, kinds=kinds, center=centre)
            for part in parts
            if not part.empty
        ]
    )
    np.testing.assert_allclose(batched.to_numpy(), whole.to_numpy(), rtol=1e-12)
    # Centred on its own rows only, a batch would explain something else.
    alone = feature_contributions(pipeline, X.iloc[:110], kinds=kinds)
    assert not np.allclose(alone.to_numpy(), whole.iloc[:110].to_numpy())
