"""Scores: the calibrated risk and rank of every cohort member on an as-of date.

:func:`score_citizens` (``opspor score --model NAME[@alias|version] --as-of
DATE``) loads a registered model and the spec it was trained with, makes sure
the scoring mart holds the date, scores the cohort members alive and resident
then, and writes ``scoring.scores``: one row per citizen with the model version
in ``model_uri``. Rank 1 is the highest risk; ties are broken by the raw margin
and then by citizen id (:func:`models.calibrate.rank_order`). Re-scoring the
same model and date replaces its rows in one transaction. :mod:`models.explain`
and the outreach lists read the table.

Memory is bounded by the batch, not the cohort: citizens are read from the mart
``batch_size`` at a time (in id order, :func:`models.matrix.cohort_batches`),
scored, and appended to a temporary table; the rank is then one SQL window
over that table, which DuckDB spills to its temp directory when it must. The
ranks equal :func:`rank_citizens` on the whole cohort at once (a test checks
this on the toy region).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from features.db import connect, transaction
from features.errors import DataError
from features.provenance import stamp_derived
from features.settings import EngineSettings
from models.calibrate import predict_risk, rank_order, raw_margin
from models.matrix import (
    CitizenBatch,
    cohort_batches,
    ensure_features,
    feature_kinds,
    read_cohort_frame,
)
from models.outcomes import read_extract_window
from models.spec import ModelSpec

__all__ = [
    "SCORE_BATCH_CITIZENS",
    "ScoreResult",
    "Scores",
    "load_registered_model",
    "rank_citizens",
    "score_citizens",
]

logger = logging.getLogger(__name__)

AFTER_EXTRACT = (
    "Cannot score at {as_of}: the loaded extract ends on {extract_date}, and a score "
    "needs the citizen's history up to its as-of date."
)
#: Citizens scored per batch: about 100 MB of features and predictions at 60
#: features, whatever the size of the cohort.
SCORE_BATCH_CITIZENS = 200_000
_BATCH_DDL = (
    "create or replace temp table _score_batches ("
    " citizen_id varchar not null, risk_score double not null, margin double not null)"
)
SCORES_DDL = (
    "create table if not exists scoring.scores ("
    " citizen_id varchar not null, as_of_date date not null, model_uri varchar not "
    "null,"
    " risk_score double not null, risk_rank integer not null)"
)


class Scores(pa.DataFrameModel):
    """Contract of ``scoring.scores`` rows for one model and as-of date."""

    citizen_id: Series[str] = pa.Field(nullable=False, unique=True)
    as_of_date: Series[pd.Timestamp] = pa.Field(nullable=False)
    model_uri: Series[str] = pa.Field(nullable=False)
    risk_score: Series[float] = pa.Field(ge=0.0, le=1.0)
    risk_rank: Series[int] = pa.Field(ge=1, unique=True)

    class Config:
        """Exactly the pinned columns; types are coerced."""

        strict = True
        coerce = True


class BatchScores(pa.DataFrameModel):
    """Contract of one batch's predictions before they are ranked."""

    citizen_id: Series[str] = pa.Field(nullable=False, unique=True)
    risk_score: Series[float] = pa.Field(ge=0.0, le=1.0)
    margin: Series[float] = pa.Field(nullable=False)

    class Config:
        """Exactly the pinned columns; types are coerced."""

        strict = True
        coerce = True


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model version, its spec and the fitted model."""

    name: str
    version: str
    model_uri: str
    run_id: str
    spec: ModelSpec
    model: Any


@dataclass(frozen=True)
class ScoreResult:
    """What ``opspor score`` reports."""

    model_uri: str
    as_of_date: date
    cohort: str
    n_scored: int
    table: str = "scoring.scores"


def load_registered_model(settings: EngineSettings, ref: str) -> RegisteredModel:
    """Resolve ``NAME[@alias|version]``; load its model and the spec it was trained on.

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    ref : str
        Model reference; a bare name means its champion.

    Returns
    -------
    RegisteredModel

    Raises
    ------
    NotFoundError
        No such model, version or alias.
    """
    from models import tracking

    resolved = tracking.resolve_model(settings, ref)
    text = tracking.load_run_text(settings, resolved.run_id, "spec/spec.toml")
    spec = ModelSpec.from_mapping(
        tomllib.loads(text),
        name=resolved.name,
        source=f"{resolved.model_uri} (spec.toml)",
    )
    model = tracking.load_model(settings, resolved)
    return RegisteredModel(
        resolved.name,
        resolved.version,
        resolved.model_uri,
        resolved.run_id,
        spec,
        model,
    )


def rank_citizens(
    model: Any, frame: pd.DataFrame, *, features: list[str], model_uri: str
) -> pd.DataFrame:
    """Score and rank rows of the mart.

    Parameters
    ----------
    model : estimator
        The calibrated model.
    frame : pandas.DataFrame
        ``citizen_id``, ``as_of_date`` and the features.
    features : list of str
        The model's features.
    model_uri : str
        ``models:/NAME/VERSION``.

    Returns
    -------
    pandas.DataFrame
        A :class:`Scores` frame ordered by rank.
    """
    X = frame[features]
    risk = predict_risk(model, X) if len(frame) else np.empty(0)
    margin = raw_margin(model, X) if len(frame) else np.empty(0)
    order = rank_order(risk, margin, frame["citizen_id"].to_numpy())
    ranks = np.empty(len(frame), dtype=np.int64)
    ranks[order] = np.arange(1, len(frame) + 1)
    scores = pd.DataFrame(
        {
            "citizen_id": frame["citizen_id"].astype(str).to_numpy(),
            "as_of_date": pd.to_datetime(frame["as_of_date"]).to_numpy(),
            "model_uri": model_uri,
            "risk_score": risk,
            "risk_rank": ranks,
        }
    ).sort_values("risk_rank", ignore_index=True)
    return Scores.validate(scores)


def _score_batch(
    con: duckdb.DuckDBPyConnection,
    registered: RegisteredModel,
    batch: CitizenBatch,
    *,
    as_of: date,
    kinds: dict[str, str],
) -> int:
    """Predict one batch of the cohort and append it to ``_score_batches``."""
    spec = registered.spec
    frame = read_cohort_frame(
        con,
        cohort=spec.cohort,
        as_of=as_of,
        features=spec.model_features,
        kinds=kinds,
        batch=batch,
    )
    X = frame[list(spec.model_features)]
    predicted = BatchScores.validate(
        pd.DataFrame(
            {
                "citizen_id": frame["citizen_id"].astype(str).to_numpy(),
                "risk_score": predict_risk(registered.model, X),
                "margin": raw_margin(registered.model, X),
            }
        )
    )
    con.register("_score_batch", predicted)
    try:
        con.execute("insert into _score_batches select * from _score_batch")
    finally:
        con.unregister("_score_batch")
    return len(predicted)


def _write_scores(
    con: duckdb.DuckDBPyConnection, *, model_uri: str, as_of: date
) -> None:
    """Rank ``_score_batches`` and replace this model's rows at this date at once.

    The order is :func:`models.calibrate.rank_order`'s: risk, then raw margin,
    both descending, then citizen id ascending.
    """
    con.execute("create schema if not exists scoring")
    con.execute(SCORES_DDL)
    with transaction(con):
        con.execute(
            "delete from scoring.scores where model_uri = $uri and as_of_date = $d",
            {"uri": model_uri, "d": as_of},
        )
        con.execute(
            "insert into scoring.scores select citizen_id, $d, $uri, risk_score,"
            " cast(row_number() over (order by risk_score desc, margin desc,"
            " citizen_id) as integer) from _score_batches",
            {"uri": model_uri, "d": as_of},
        )
        stamp_derived(con, "scores", as_of_dates=[as_of], model_uri=model_uri)


def score_citizens(
    settings: EngineSettings,
    *,
    model: str,
    as_of: date,
    batch_size: int = SCORE_BATCH_CITIZENS,
) -> ScoreResult:
    """Score every cohort member alive and resident at ``as_of`` with a model.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and MLflow store.
    model : str
        ``NAME``, ``NAME@ALIAS`` or ``NAME@VERSION``.
    as_of : date
        The as-of date; features are built for it if the mart lacks it.
    batch_size : int
        Citizens read and scored at a time; the result does not depend on it.

    Returns
    -------
    ScoreResult

    Raises
    ------
    NotFoundError
        Unknown model, or no extract loaded.
    DataError
        ``as_of`` is after the extract date.
    """
    registered = load_registered_model(settings, model)
    spec = registered.spec
    con = connect(settings.warehouse, settings=settings)
    try:
        window = read_extract_window(con)
        if as_of > window.extract_date:
            raise DataError(
                AFTER_EXTRACT.format(as_of=as_of, extract_date=window.extract_date)
            )
        ensure_features(con, [as_of])
        kinds = feature_kinds(con, spec.model_features, spec=spec.name)
        con.execute(_BATCH_DDL)
        n_scored = sum(
            _score_batch(con, registered, batch, as_of=as_of, kinds=kinds)
            for batch in cohort_batches(
                con, cohort=spec.cohort, as_of=as_of, size=batch_size
            )
        )
        _write_scores(con, model_uri=registered.model_uri, as_of=as_of)
        con.execute("drop table _score_batches")
    finally:
        con.close()
    logger.info(
        "scored %s citizens with %s at %s", n_scored, registered.model_uri, as_of
    )
    return ScoreResult(registered.model_uri, as_of, spec.cohort, n_scored)
