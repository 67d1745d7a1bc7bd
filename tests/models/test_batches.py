"""Scoring and explaining in batches of citizens give the unbatched results.

Memory at national scale is bounded by reading the cohort a batch at a time
(:func:`models.matrix.cohort_batches`); these tests pin that the batch size
changes nothing a coordinator sees: ranks, risks and reasons.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.explain import (
    explain_scores,
    feature_catalogue,
    feature_contributions,
    top_reasons,
)
from models.matrix import cohort_batches, feature_kinds, read_cohort_frame
from models.score import load_registered_model, rank_citizens, score_citizens
from tests.models.conftest import TOY_EXTRACT_DATE, Trained

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
    from models.explain import feature_means

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
