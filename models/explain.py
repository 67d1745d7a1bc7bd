"""Reasons: why a citizen ranks where they do, in plain words true of their data.

:func:`explain_scores` (``opspor explain``) reads the rows a model wrote to
``scoring.scores`` and explains the score that is ranked. The ranking is the
raw pipeline's margin (see :mod:`models.calibrate`), so contributions are
computed on the uncalibrated pipeline, in log-odds: SHAP's TreeExplainer for
gradient boosting; ``coef * (x - mean)`` for the logistic regression (exact
SHAP values of a linear model with independent features, the mean taken over
the citizens explained); for the rule baseline, the rules a citizen meets.
Columns made by the preprocessing (one-hot levels, missing indicators) are
summed back to their feature. The top positive contributions whose reason
would be true (a count above zero, a flag that is set; a never-recorded value
gets the ``reason_missing`` text) become reasons, worded by the feature
catalogue's templates (:mod:`features.catalogue`); a broad covariate's come from
``marts.broad_covariate_ref`` (:mod:`models.broad`). They go to
``scoring.reasons``.

Memory is bounded by the batch, not the cohort: the scored citizens are read,
explained and written ``batch_size`` at a time (id order,
:func:`models.matrix.cohort_batches`), all inside one transaction so a re-run
still replaces the reasons at once. SHAP values are per row, so batches change
nothing; the linear model's centring mean is taken over all explained citizens
in a first pass (:func:`feature_means`), so its contributions equal the
unbatched ones up to float rounding (a test checks identical reasons).

SHAP only where it is read: reasons are read for listed citizens only (the
list, the citizen page and the exports show the list's copy). The weekly run
therefore explains the first ``ranks`` ranks
(:meth:`features.settings.EngineSettings.ranks_to_explain`: max(5 x the weekly
capacities, 5,000) by default), and :func:`explain_citizens` explains anyone
else on demand, when a list needs him. The linear centre is always taken over
every scored citizen, so a citizen's reasons are the same whoever is explained
with him (a test checks this for the top ranks and on demand). A blend's linear
component is centred on each batch, as before, so its contributions move
slightly with the batch's members.
"""

from __future__ import annotations

import logging
import re
import string
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from features.db import connect, transaction
from features.errors import NotFoundError
from features.provenance import stamp_derived
from features.settings import EngineSettings
from models.baseline import RuleBaselineClassifier
from models.blend import BlendClassifier
from models.broad import broad_reason_rows
from models.calibrate import limited_threads, raw_pipeline
from models.matrix import (
    MISSING_CATEGORY,
    CitizenBatch,
    batch_condition,
    cohort_batches,
    feature_kinds,
    read_cohort_frame,
)
from models.score import RegisteredModel, load_registered_model

__all__ = [
    "EXPLAIN_BATCH_CITIZENS",
    "ExplainResult",
    "FeatureInfo",
    "OnDemand",
    "Selection",
    "explain_citizens",
    "explain_scores",
    "feature_catalogue",
    "feature_contributions",
    "feature_means",
    "format_reason",
    "on_demand_explainer",
    "top_reasons",
]

logger = logging.getLogger(__name__)

Language = Literal["da", "en"]
#: Citizens explained per batch (SHAP values and preprocessed features in memory).
EXPLAIN_BATCH_CITIZENS = 50_000
NO_SCORES = (
    "No scores for {uri} at {as_of}; "
    "run `opspor score --model {ref} --as-of {as_of}` first."
)
REASONS_DDL = (
    "create table if not exists scoring.reasons ("
    " citizen_id varchar not null, as_of_date date not null, reason_rank integer not "
    "null,"
    " feature varchar not null, feature_value varchar, contribution double not null,"
    " reason_text varchar not null, model_uri varchar not null, language varchar not "
    "null)"
)
#: Units whose value 0 (or false) would make a reason untrue or empty.
_ZERO_IS_NO_REASON = {
    "boolean",
    "appointments",
    "prescriptions",
    "admissions",
    "visits",
    "contact days",
    "samples",
    "redemptions",
    "diagnosis days",
    "contacts",
}
#: Units where a value shown as zero is still a reason ("collected for 0% of days").
_ZERO_IS_A_REASON = {"proportion (0-1)"}
#: "N days" reads as months above this many days ("no eye screening for 26 months").
_MONTHS_FROM_DAYS = 60
_DAYS_PER_MONTH = 30.44
_DAY_PHRASES: Mapping[str, tuple[str, str]] = {
    "en": ("{value} days", "{value} months"),
    "da": ("{value} dage", "{value} måneder"),
}


@dataclass(frozen=True)
class FeatureInfo:
    """What the catalogue says about one feature: its unit and reason templates."""

    name: str
    unit: str = ""
    reason: Mapping[str, str] = field(default_factory=dict)
    reason_missing: Mapping[str, str] = field(default_factory=dict)
    reason_by_value: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The singular of ``reason`` for a count of exactly one ("1 måling").
    reason_one: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExplainResult:
    """What ``opspor explain`` reports."""

    model_uri: str
    as_of_date: date
    n_citizens: int
    n_reasons: int
    language: str
    table: str = "scoring.reasons"
    #: The ranks explained (``None``: every scored citizen).
    ranks: int | None = None


def _info(column: Mapping[str, Any]) -> FeatureInfo:
    return FeatureInfo(
        name=column["name"],
        unit=str(column.get("unit") or ""),
        reason=dict(column.get("reason") or {}),
        reason_one=dict(column.get("reason_one") or {}),
        reason_missing=dict(column.get("reason_missing") or {}),
        reason_by_value={
            k: dict(v) for k, v in (column.get("reason_by_value") or {}).items()
        },
    )


def feature_catalogue() -> dict[str, FeatureInfo]:
    """Return the reason templates of every column a model may rank with.

    The templates are the feature catalogue's
    (:func:`features.catalogue.feature_reasons`): the features, and the cohort
    columns whose contract words a reason (e.g. ``diabetes_type``).

    Returns
    -------
    dict
        ``feature name -> FeatureInfo``.
    """
    return dict(_shipped_catalogue())


@cache
def _shipped_catalogue() -> dict[str, FeatureInfo]:
    """Read the catalogue's templates once per process (seconds: every contract)."""
    from features.catalogue import feature_reasons

    return {
        name: _info({"name": name, **templates})
        for name, templates in feature_reasons().items()
    }


# --- contributions ---------------------------------------------------------------


def _source_features(
    names: list[str], features: list[str], categorical: list[str]
) -> list[str]:
    """Map each preprocessed column back to the feature it came from."""
    sources = []
    for name in names:
        block, _, column = name.partition("__")
        if block == "cat":
            match = max((f for f in categorical if column.startswith(f + "_")), key=len)
            sources.append(match)
        else:
            base = column.removeprefix("missingindicator_")
            sources.append(base if base in features else column)
    return sources


def _group(
    values: NDArray[np.float64], sources: list[str], features: list[str]
) -> pd.DataFrame:
    """Sum columns by their source feature; columns in ``features`` order."""
    position = {f: i for i, f in enumerate(features)}
    summing = np.zeros((len(sources), len(features)))
    for column, source in enumerate(sources):
        summing[column, position[source]] = 1.0
    return pd.DataFrame(values @ summing, columns=features)


def feature_contributions(
    model: Any,
    X: pd.DataFrame,
    *,
    kinds: Mapping[str, str],
    center: NDArray[np.float64] | None = None,
) -> pd.DataFrame:
    """Return each feature's contribution to each row's raw score (log-odds).

    Parameters
    ----------
    model : estimator
        The calibrated model (or the raw pipeline).
    X : pandas.DataFrame
        The features of the rows to explain.
    kinds : Mapping
        ``feature -> "categorical" | "numeric"``.
    center : ndarray, optional
        The linear model's centring point in preprocessed columns
        (:func:`feature_means` over every citizen explained); default: the mean
        of ``X``'s rows. Ignored by the other estimators.

    Returns
    -------
    pandas.DataFrame
        Same index as ``X``; for the rule baseline, 1.0 per rule met.
    """
    pipeline = raw_pipeline(model)
    if isinstance(pipeline, BlendClassifier):
        return pipeline.contributions(X, kinds, _component_contributions)
    estimator = pipeline.named_steps["estimator"]
    features = list(kinds)
    if isinstance(estimator, RuleBaselineClassifier):
        met = estimator.rules_met(
            pipeline.named_steps["preprocess"].transform(X)
        ).astype(np.float64)
        sources = [str(r["feature"]) for r in estimator.rules_]
        return _group(met, sources, features).set_axis(X.index)
    preprocess = pipeline.named_steps["preprocess"]
    Xt = np.asarray(preprocess.transform(X), dtype=np.float64)
    if hasattr(estimator, "coef_"):
        mean = Xt.mean(axis=0) if center is None else center
        values = estimator.coef_[0] * (Xt - mean)
    else:
        explainer = _shap().TreeExplainer(estimator)
        with limited_threads():
            values = np.asarray(
                explainer.shap_values(Xt, check_additivity=False), dtype=np.float64
            )
    categorical = [f for f, k in kinds.items() if k == "categorical"]
    sources = _source_features(
        list(preprocess.get_feature_names_out()), features, categorical
    )
    return _group(values, sources, features).set_axis(X.index)


def _component_contributions(
    model: Any, X: pd.DataFrame, kinds: Mapping[str, str]
) -> pd.DataFrame:
    """One blended model's contributions (keyword-free, for BlendClassifier)."""
    return feature_contributions(model, X, kinds=kinds)


def feature_means(model: Any, batches: Iterable[pd.DataFrame]) -> NDArray[np.float64]:
    """Return the mean preprocessed row over all ``batches`` (the linear centre).

    Parameters
    ----------
    model : estimator
        The calibrated model (or the raw pipeline).
    batches : iterable of pandas.DataFrame
        The features of the rows to explain, a batch at a time.

    Returns
    -------
    ndarray
        One value per preprocessed column; empty if there were no rows.
    """
    preprocess = raw_pipeline(model).named_steps["preprocess"]
    total: NDArray[np.float64] | None = None
    rows = 0
    for X in batches:
        if X.empty:  # a batch nobody in it was scored (scikit-learn refuses 0 rows)
            continue
        Xt = np.asarray(preprocess.transform(X), dtype=np.float64)
        total = Xt.sum(axis=0) if total is None else total + Xt.sum(axis=0)
        rows += len(Xt)
    return np.empty(0) if total is None or rows == 0 else total / rows


def _shap() -> Any:
    """Import shap, whose plotting import warns about matplotlib's colormap API."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap
    return shap


# --- reasons ---------------------------------------------------------------------


def _plain_number(value: Any, *, template: str = "{value}") -> Any:
    """Show integral floats as ints; others to one decimal unless the template says."""
    if isinstance(value, str | bool | np.bool_):
        return value
    number = float(value)
    if number.is_integer():
        return int(number)
    return round(number, 1) if "{value}" in template else number


def _value_text(value: Any) -> str | None:
    """Return the stored feature_value: the exact value as text, None if missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def format_reason(info: FeatureInfo, value: Any, *, language: Language) -> str | None:
    """Word one reason from a feature's template, or None if it would not be true.

    Parameters
    ----------
    info : FeatureInfo
        The feature's unit and templates.
    value : Any
        The citizen's value (NaN/None = never recorded).
    language : {"da", "en"}
        The template language.

    Returns
    -------
    str or None
        ``None`` when no true reason can be worded (a zero count, an unset
        flag, a missing value without a ``reason_missing`` text).
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return info.reason_missing.get(language)
    if isinstance(value, str) and info.reason_by_value:
        return info.reason_by_value.get(value, {}).get(language)
    template = info.reason.get(language)
    if template is None or (isinstance(value, str) and value == MISSING_CATEGORY):
        return None
    if (
        info.unit in _ZERO_IS_NO_REASON
        and not isinstance(value, str)
        and float(value) == 0
    ):
        return None
    if info.unit == "days" and float(value) > _MONTHS_FROM_DAYS:
        days, months = _DAY_PHRASES[language]
        if days in template:
            template = template.replace(days, months)
            value = round(float(value) / _DAYS_PER_MONTH)
    shown = _plain_number(value, template=template)
    if (
        info.unit not in _ZERO_IS_A_REASON
        and not isinstance(shown, str)
        and _shows_zero(template, shown)
    ):
        return None
    if _is_one(shown) and language in info.reason_one:
        template = info.reason_one[language]  # "1 måling", not "1 målinger"
    return template.format(value=shown)


def _is_one(value: Any) -> bool:
    """Tell whether a shown value is the number one (not True, not text)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 1


def _shows_zero(template: str, value: Any) -> bool:
    """Tell whether the template would print the value as zero ("+0 mmol/mol")."""
    for _, field_name, spec, _ in string.Formatter().parse(template):
        if field_name == "value":
            digits = re.sub(r"[^0-9]", "", format(value, spec or ""))
            return digits != "" and int(digits) == 0
    return False


def top_reasons(
    frame: pd.DataFrame,
    contributions: pd.DataFrame,
    *,
    catalogue: Mapping[str, FeatureInfo],
    top: int,
    language: Language,
) -> pd.DataFrame:
    """Pick each citizen's top positive, true reasons.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``citizen_id``, ``as_of_date`` and the features (raw values).
    contributions : pandas.DataFrame
        From :func:`feature_contributions`, aligned with ``frame``.
    catalogue : Mapping
        ``feature -> FeatureInfo``.
    top : int
        Reasons per citizen at most.
    language : {"da", "en"}
        Template language.

    Returns
    -------
    pandas.DataFrame
        ``citizen_id``, ``as_of_date``, ``reason_rank``, ``feature``,
        ``feature_value``, ``contribution``, ``reason_text``.
    """
    features = [f for f in contributions.columns if f in catalogue]
    values = contributions[features].to_numpy(dtype=np.float64)
    candidates = np.where(values > 0, values, -np.inf)
    order = np.argsort(-candidates, axis=1, kind="stable")
    raw = frame[features].to_numpy(dtype=object)
    ids, days = frame["citizen_id"].to_numpy(), frame["as_of_date"].to_numpy()
    rows = []
    for i in range(len(frame)):
        rank = 0
        for j in order[i]:
            if rank == top or not np.isfinite(candidates[i, j]):
                break
            text = format_reason(catalogue[features[j]], raw[i, j], language=language)
            if text is not None:
                rank += 1
                rows.append(
                    (
                        ids[i],
                        days[i],
                        rank,
                        features[j],
                        _value_text(raw[i, j]),
                        values[i, j],
                        text,
                    )
                )
    columns = [
        "citizen_id",
        "as_of_date",
        "reason_rank",
        "feature",
        "feature_value",
        "contribution",
        "reason_text",
    ]
    return pd.DataFrame(rows, columns=columns)


# --- the entry point -------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which of a model's scored citizens to explain at one date.

    ``ranks``: only the first ``ranks`` ranks (``None``: every rank);
    ``citizen_ids``: only these citizens (``None``: anyone). Both may be set.
    """

    ranks: int | None = None
    citizen_ids: tuple[str, ...] | None = None

    def condition(self) -> tuple[str, dict[str, Any]]:
        """Return the extra ``where`` on ``scoring.scores`` and its parameters."""
        sql, params = "", dict[str, Any]()
        if self.ranks is not None:
            sql += " and risk_rank <= $ranks"
            params["ranks"] = self.ranks
        if self.citizen_ids is not None:
            sql += " and citizen_id in (select unnest(cast($ids as varchar[])))"
            params["ids"] = list(self.citizen_ids)
        return sql, params


EVERYONE = Selection()


def _scored_batch(
    con: duckdb.DuckDBPyConnection,
    registered: RegisteredModel,
    batch: CitizenBatch,
    *,
    as_of: date,
    kinds: dict[str, str],
    selection: Selection = EVERYONE,
) -> pd.DataFrame:
    """Return the features of the selected citizens of one batch this model scored."""
    bounds, params = batch_condition(batch, "citizen_id")
    chosen, chosen_params = selection.condition()
    scored = con.execute(
        "select citizen_id from scoring.scores where model_uri = $uri and"
        f" as_of_date = $d{bounds}{chosen}",
        {"uri": registered.model_uri, "d": as_of, **params, **chosen_params},
    ).fetchall()
    if not scored:
        return pd.DataFrame()
    return read_cohort_frame(
        con,
        cohort=registered.spec.cohort,
        as_of=as_of,
        features=list(kinds),
        kinds=kinds,
        batch=batch,
        citizen_ids=[str(row[0]) for row in scored],
    )


def _has_scores(con: duckdb.DuckDBPyConnection) -> bool:
    from features.db import table_exists

    return table_exists(con, "scoring", "scores")


def _linear_centre(
    model: Any, frames: Iterable[pd.DataFrame], features: list[str]
) -> NDArray[np.float64] | None:
    """Return the linear model's centre over every scored citizen, else None.

    Every scored citizen, not only the ones explained now, so a citizen's
    reasons do not depend on which others are explained with them (the top
    ranks on the weekly run, one citizen on demand). A blend has none: a
    linear model inside it is centred on each batch's mean.
    """
    pipeline = raw_pipeline(model)
    if isinstance(pipeline, BlendClassifier):
        return None
    if not hasattr(pipeline.named_steps["estimator"], "coef_"):
        return None
    return feature_means(
        model, (frame[features] for frame in frames if not frame.empty)
    )


def _insert_reasons(
    con: duckdb.DuckDBPyConnection,
    reasons: pd.DataFrame,
    *,
    model_uri: str,
    language: str,
) -> None:
    """Append one batch's reasons (inside the caller's transaction)."""
    con.register("_reasons", reasons.assign(model_uri=model_uri, language=language))
    try:
        con.execute(
            "insert into scoring.reasons select citizen_id, cast(as_of_date as date),"
            " cast(reason_rank as integer), feature, feature_value, contribution,"
            " reason_text, model_uri, language from _reasons"
        )
    finally:
        con.unregister("_reasons")


@dataclass(frozen=True)
class _Explaining:
    """What every batch of one ``explain_scores`` call shares."""

    registered: RegisteredModel
    kinds: dict[str, str]
    catalogue: Mapping[str, FeatureInfo]
    centre: NDArray[np.float64] | None
    top: int
    language: Language


def _explain_batch(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, job: _Explaining
) -> int:
    """Explain one batch and append its reasons; return the number of reasons."""
    contributions = feature_contributions(
        job.registered.model,
        frame[list(job.kinds)],
        kinds=job.kinds,
        center=job.centre,
    )
    reasons = top_reasons(
        frame,
        contributions,
        catalogue=job.catalogue,
        top=job.top,
        language=job.language,
    )
    _insert_reasons(
        con, reasons, model_uri=job.registered.model_uri, language=job.language
    )
    return len(reasons)


def _replace_reasons(
    con: duckdb.DuckDBPyConnection,
    frames: Iterator[pd.DataFrame],
    job: _Explaining,
    *,
    as_of: date,
    ref: str,
) -> tuple[int, int]:
    """Replace this model's reasons at this date, batch by batch, in one transaction.

    Returns the numbers of citizens and reasons; NotFoundError (rolled back) if
    the model scored nobody at ``as_of``.
    """
    uri = job.registered.model_uri
    con.execute("create schema if not exists scoring")
    con.execute(REASONS_DDL)
    n_citizens = n_reasons = 0
    with transaction(con):
        con.execute(
            "delete from scoring.reasons"
            " where model_uri = $uri and as_of_date = $d and language = $lang",
            {"uri": uri, "d": as_of, "lang": job.language},
        )
        for frame in frames:
            if not frame.empty:
                n_citizens += len(frame)
                n_reasons += _explain_batch(con, frame, job)
        if n_citizens == 0:
            raise NotFoundError(NO_SCORES.format(uri=uri, as_of=as_of, ref=ref))
        stamp_derived(con, "reasons", as_of_dates=[as_of], model_uri=uri)
    return n_citizens, n_reasons


@dataclass(frozen=True)
class _Reading:
    """How one call reads the scored cohort: batch by batch, all or a selection."""

    con: duckdb.DuckDBPyConnection
    registered: RegisteredModel
    as_of: date
    kinds: dict[str, str]
    batches: list[CitizenBatch]

    def frames(self, selection: Selection = EVERYONE) -> Iterator[pd.DataFrame]:
        """Yield the features of the selected scored citizens, a batch at a time."""
        for batch in self.batches:
            yield _scored_batch(
                self.con,
                self.registered,
                batch,
                as_of=self.as_of,
                kinds=self.kinds,
                selection=selection,
            )


def _prepare(reading: _Reading, *, top: int, language: Language) -> _Explaining:
    """Gather what every batch shares: templates and the linear centre."""
    catalogue = feature_catalogue()
    catalogue.update(
        (row["name"], _info(row))
        for row in broad_reason_rows(reading.con, list(reading.kinds))
    )
    centre = _linear_centre(
        reading.registered.model, reading.frames(), list(reading.kinds)
    )
    return _Explaining(
        reading.registered, reading.kinds, catalogue, centre, top, language
    )


def _reading(
    con: duckdb.DuckDBPyConnection,
    registered: RegisteredModel,
    *,
    as_of: date,
    batch_size: int,
) -> _Reading:
    """Return how to read this model's scored cohort at ``as_of`` in batches."""
    spec = registered.spec
    kinds = feature_kinds(con, spec.model_features, spec=spec.name)
    batches = cohort_batches(con, cohort=spec.cohort, as_of=as_of, size=batch_size)
    return _Reading(con, registered, as_of, kinds, batches)


def explain_scores(
    settings: EngineSettings,
    *,
    model: str,
    as_of: date,
    top: int = 3,
    language: Language = "da",
    batch_size: int = EXPLAIN_BATCH_CITIZENS,
    ranks: int | None = None,
) -> ExplainResult:
    """Explain the scores a model wrote at ``as_of`` and store the reasons.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and MLflow store.
    model : str
        ``NAME``, ``NAME@ALIAS`` or ``NAME@VERSION``.
    as_of : date
        The as-of date that was scored.
    top : int
        Reasons per citizen at most.
    language : {"da", "en"}
        Language of ``reason_text``.
    batch_size : int
        Citizens read and explained at a time; the reasons do not depend on it.
    ranks : int, optional
        Explain only the first ``ranks`` ranks (the weekly run:
        :meth:`EngineSettings.ranks_to_explain`); anyone else is explained on
        demand (:func:`explain_citizens`) with the same reasons. ``None``
        explains every scored citizen.

    Returns
    -------
    ExplainResult

    Raises
    ------
    NotFoundError
        The model is unknown or has not scored this date.
    """
    registered = load_registered_model(settings, model)
    con = connect(settings.warehouse, settings=settings)
    try:
        if not _has_scores(con):
            raise NotFoundError(
                NO_SCORES.format(uri=registered.model_uri, as_of=as_of, ref=model)
            )
        reading = _reading(con, registered, as_of=as_of, batch_size=batch_size)
        job = _prepare(reading, top=top, language=language)
        n_citizens, n_reasons = _replace_reasons(
            con, reading.frames(Selection(ranks=ranks)), job, as_of=as_of, ref=model
        )
    finally:
        con.close()
    logger.info("explained %s citizens with %s reasons", n_citizens, n_reasons)
    return ExplainResult(
        registered.model_uri, as_of, n_citizens, n_reasons, language, ranks=ranks
    )


def explain_citizens(
    con: duckdb.DuckDBPyConnection,
    registered: RegisteredModel,
    *,
    as_of: date,
    citizen_ids: Sequence[str],
    top: int = 3,
    language: Language = "da",
    batch_size: int = EXPLAIN_BATCH_CITIZENS,
) -> int:
    """Explain named scored citizens on demand and store their reasons.

    For a person-level page or list that needs a citizen below the ranks the
    weekly run explained. The reasons are the ones :func:`explain_scores`
    would have stored for them (same centre, same templates); their earlier
    rows for this model, date and language are replaced in one transaction,
    and everybody else's are left alone.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse with ``scoring.scores``.
    registered : RegisteredModel
        The model whose scores are explained.
    as_of : date
        The scored as-of date.
    citizen_ids : sequence of str
        Who to explain; ids the model did not score at ``as_of`` are skipped.
    top : int
        Reasons per citizen at most.
    language : {"da", "en"}
        Language of ``reason_text``.
    batch_size : int
        Citizens read at a time (the linear centre's pass over the cohort).

    Returns
    -------
    int
        The number of citizens explained.
    """
    if not citizen_ids or not _has_scores(con):
        return 0
    reading = _reading(con, registered, as_of=as_of, batch_size=batch_size)
    job = _prepare(reading, top=top, language=language)
    ids = tuple(sorted(set(map(str, citizen_ids))))
    con.execute(REASONS_DDL)
    n_citizens = 0
    with transaction(con):
        con.execute(
            "delete from scoring.reasons where model_uri = $uri and as_of_date = $d"
            " and language = $lang and citizen_id in"
            " (select unnest(cast($ids as varchar[])))",
            {"uri": registered.model_uri, "d": as_of, "lang": language, "ids": ids},
        )
        for frame in reading.frames(Selection(citizen_ids=ids)):
            if not frame.empty:
                n_citizens += len(frame)
                _explain_batch(con, frame, job)
    logger.info("explained %s citizens on demand", n_citizens)
    return n_citizens


#: Explains listed citizens without reasons: ``(con, model_uri, as_of, ids)``
#: to the number explained (see :func:`on_demand_explainer`).
OnDemand = Callable[[duckdb.DuckDBPyConnection, str, date, Sequence[str]], int]


def on_demand_explainer(
    settings: EngineSettings, *, top: int, language: Language
) -> OnDemand:
    """Return a function that explains named citizens on the caller's connection.

    The model is loaded from MLflow when it is first needed, once per URI; a
    model the store does not hold explains nobody (the list then refuses the
    citizens without reasons, as before).

    Parameters
    ----------
    settings : EngineSettings
        Where the MLflow store is.
    top : int
        Reasons per citizen at most.
    language : {"da", "en"}
        Language of ``reason_text``.

    Returns
    -------
    callable
        ``(con, model_uri, as_of, citizen_ids) -> citizens explained``.
    """
    loaded: dict[str, RegisteredModel] = {}

    def explain(
        con: duckdb.DuckDBPyConnection,
        model_uri: str,
        as_of: date,
        citizen_ids: Sequence[str],
    ) -> int:
        if model_uri not in loaded:
            name, _, version = model_uri.removeprefix("models:/").partition("/")
            try:
                loaded[model_uri] = load_registered_model(settings, f"{name}@{version}")
            except NotFoundError:  # not in this MLflow store: the list says so
                logger.warning("cannot explain on demand: %s is not registered", name)
                return 0
        return explain_citizens(
            con,
            loaded[model_uri],
            as_of=as_of,
            citizen_ids=citizen_ids,
            top=top,
            language=language,
        )

    return explain
