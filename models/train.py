"""Training: from a spec and a loaded extract to a registered, validated model.

:func:`train_model` is the stage's entry point (``opspor train SPEC``). It plans
the index dates (:func:`plan_index_dates`), asks :mod:`features` for the mart
rows at those dates, writes the labels (:mod:`models.outcomes`), builds the
training matrix and its temporal, citizen-grouped split (:mod:`models.matrix`),
fits the pipeline of :func:`build_pipeline`, calibrates it on held-out citizens
(:mod:`models.calibrate`), validates it on the latest index date
(:mod:`models.validate`) and logs and registers it (:mod:`models.tracking`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.db import connect
from features.errors import ConfigError, DataError
from features.settings import EngineSettings
from models.baseline import RuleBaselineClassifier
from models.blend import BlendClassifier, check_blend_features
from models.broad import resolve_broad_features
from models.calibrate import (
    calibrate_model,
    calibration_slope,
    limited_threads,
    predict_risk,
    rank_order,
    raw_margin,
    recalibrate_in_the_large,
    shift_intercept,
)
from models.crossfit import cross_fitted_model, resolve_calibration
from models.matrix import (
    assign_splits,
    build_training_matrix,
    check_split,
    ensure_features,
    feature_kinds,
)
from models.outcomes import (
    ExtractWindow,
    build_labels,
    index_dates_between,
    outcome_contract,
    read_extract_window,
)
from models.reference import log_feature_reference
from models.reweight import citizen_weights, event_weights
from models.sampling import non_event_sample
from models.select import choose_max_iter
from models.spec import ModelSpec, parse_every
from models.validate import MetricEstimate, evaluate_predictions, k_values, save_plots

__all__ = [
    "Evaluation",
    "IndexPlan",
    "PreparedData",
    "TrainResult",
    "build_pipeline",
    "evaluate_model",
    "fit_model",
    "plan_index_dates",
    "prepare_training_data",
    "refit_model",
    "train_model",
    "training_rows",
]

logger = logging.getLogger(__name__)

NO_DATES = (
    "The spec {spec!r} has no usable index dates in this extract (covered {start} to "
    "{end}): it needs at least {washout} days of covered history before an index date, "
    "a {horizon}-day window after the test date, "
    "and training dates a whole window before the test date."
)
COHORT_MISMATCH = (
    "The 'cohort' parameter of {caller} must be the cohort of outcome {outcome!r} "
    "({expected!r}). "
    "Got {value!r} instead."
)
_HGB_DEFAULTS: Mapping[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
}
_LR_DEFAULTS: Mapping[str, Any] = {"C": 1.0, "max_iter": 2000}


@dataclass(frozen=True)
class PreparedData:
    """A labelled, split training matrix and where it came from."""

    matrix: pd.DataFrame
    kinds: dict[str, str]
    window: ExtractWindow
    plan: IndexPlan
    n_cohort_test: int
    #: The spec with its broad covariates chosen (models.broad); else as given.
    spec: ModelSpec

    @property
    def fit_dates(self) -> list[date]:
        """Training index dates (ascending)."""
        return self.plan.fit_dates

    @property
    def test_date(self) -> date:
        """The latest labelled date: validation, then the refit's last date."""
        return self.plan.test_date


@dataclass(frozen=True)
class Evaluation:
    """Test-set metrics (aggregates) of one model."""

    metrics: dict[str, MetricEstimate]
    ks: dict[str, int]
    n_test: int
    events_test: int
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult:
    """What ``opspor train`` reports: the registered version and its metrics."""

    name: str
    version: str
    model_uri: str
    run_id: str
    champion: bool
    outcome: str
    estimator: str
    test_date: date
    index_dates: list[date]
    rows: dict[str, int]
    events: dict[str, int]
    k_capacity: int
    metrics: dict[str, dict[str, float]]


# --- index dates and data ----------------------------------------------------


@dataclass(frozen=True)
class IndexPlan:
    """The index dates of a spec in an extract, and the look-back they have.

    ``washout_days`` is the shortest covered look-back of a training date: the
    spec's ``washout_days`` when the extract is long enough, shorter (and
    ``shortened``) when it is not.
    """

    fit_dates: list[date]
    test_date: date
    history_start: date
    washout_days: int
    shortened: bool
    step: str


def plan_index_dates(spec: ModelSpec, window: ExtractWindow) -> IndexPlan:
    """Choose the training index dates and the test date of a spec in an extract.

    The test date is the latest date with a whole outcome window before
    ``extract_date`` (or ``train_to``). Training dates step back from one
    horizon before it, every ``spec.every``, down to the first date with a
    full washout of covered history after the common coverage start (or
    ``train_from``); ``max_index_dates`` keeps the latest ones. When that gives
    fewer than ``min_index_dates`` dates (a short extract), the washout is
    shortened openly, down to ``min_washout_days``, and if need be the step
    becomes one month, so that the model still learns from several dates inside
    the coverage, never from uncovered years.

    Parameters
    ----------
    spec : ModelSpec
        The spec.
    window : ExtractWindow
        The extract's history and coverage.

    Returns
    -------
    IndexPlan

    Raises
    ------
    DataError
        The extract is too short for any training date.
    """
    start = window.start
    last = window.extract_date - timedelta(days=spec.horizon_days)
    if spec.train_to:
        last = min(last, spec.train_to)
    last_fit = last - timedelta(days=spec.horizon_days)
    step, fit = spec.every, _fit_dates(spec, start, last_fit)
    if len(fit) < spec.min_index_dates and not spec.train_from:
        for step in dict.fromkeys((spec.every, "1mo")):
            fit = _fit_dates(spec, start, last_fit, spec.min_washout_days, step)
            if len(fit) >= spec.min_index_dates:
                break
        fit = fit[-spec.min_index_dates :]
    if not fit:
        raise DataError(
            NO_DATES.format(
                spec=spec.name,
                start=start,
                end=window.extract_date,
                washout=spec.min_washout_days,
                horizon=spec.horizon_days,
            )
        )
    washout = min(spec.washout_days, (fit[0] - start).days)
    shortened = washout < spec.washout_days
    if shortened:
        logger.warning(
            "%s: the extract covers %s to %s; the washout is shortened from %s to %s "
            "days on the earliest training dates (step %s)",
            spec.name,
            start,
            window.extract_date,
            spec.washout_days,
            washout,
            step,
        )
    return IndexPlan(fit, last, start, washout, shortened, step)


def _fit_dates(
    spec: ModelSpec,
    start: date,
    last_fit: date,
    washout_days: int | None = None,
    step: str | None = None,
) -> list[date]:
    """Training dates from ``start + washout`` (or ``train_from``) to ``last_fit``."""
    days = spec.washout_days if washout_days is None else washout_days
    first = start + timedelta(days=days)
    if spec.train_from:
        first = max(first, spec.train_from)
    fit = index_dates_between(first, last_fit, every=parse_every(step or spec.every))
    return fit[-spec.max_index_dates :] if spec.max_index_dates else fit


def _check_cohort(spec: ModelSpec) -> None:
    expected = outcome_contract(spec.outcome).get("cohort")
    if expected != spec.cohort:
        raise ConfigError(
            COHORT_MISMATCH.format(
                caller=spec.source,
                outcome=spec.outcome,
                expected=expected,
                value=spec.cohort,
            )
        )


def prepare_training_data(
    con: duckdb.DuckDBPyConnection, spec: ModelSpec, *, test_only: bool = False
) -> PreparedData:
    """Build features and labels for a spec and return its split training matrix.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse with an extract loaded.
    spec : ModelSpec
        The spec.
    test_only : bool
        Build only the test date (for re-evaluation at promotion).

    Returns
    -------
    PreparedData
    """
    _check_cohort(spec)
    window = read_extract_window(con)
    plan = plan_index_dates(spec, window)
    fit_dates, test_date = plan.fit_dates, plan.test_date
    dates = [test_date] if test_only else [*fit_dates, test_date]
    ensure_features(con, dates)
    kinds = feature_kinds(con, spec.features, spec=spec.name)
    build_labels(
        con,
        spec.outcome,
        window=window,
        horizon_days=spec.horizon_days,
        washout_days=spec.washout_days,
        min_washout_days=min(plan.washout_days, spec.washout_days),
    )
    labelled = build_training_matrix(
        con, outcome=spec.outcome, features=spec.features, dates=dates, kinds=kinds
    )
    matrix = assign_splits(
        labelled,
        test_date=test_date,
        horizon_days=spec.horizon_days,
        test_share=spec.test_share,
        calibration_share=spec.calibration_share,
        random_state=spec.random_state,
        refit=spec.refit and not test_only,
    )
    n_cohort = int((labelled["as_of_date"].dt.date == test_date).sum())
    matrix, spec, kinds = resolve_broad_features(con, matrix, spec=spec, kinds=kinds)
    return PreparedData(matrix, kinds, window, plan, n_cohort, spec)


# --- the pipeline --------------------------------------------------------------


def build_pipeline(spec: ModelSpec, kinds: Mapping[str, str]) -> Pipeline:
    """Return the unfitted pipeline of a spec: preprocessing, then the estimator.

    Numeric features are imputed by their median with a missing indicator
    (a never-recorded "days since" is informative) and, for the logistic
    regression, standardised; categorical features are one-hot encoded. The
    rule baseline sees its rule features untouched.

    Parameters
    ----------
    spec : ModelSpec
        Estimator, its params and the random state.
    kinds : Mapping
        ``feature -> "categorical" | "numeric"``.

    Returns
    -------
    Pipeline
        Steps ``preprocess`` and ``estimator``.
    """
    if spec.estimator == "rule_baseline":
        rules = [dict(r) for r in spec.params["rules"]]
        used = list(dict.fromkeys(str(r["feature"]) for r in rules))
        select = ColumnTransformer(
            [("rules", "passthrough", used)], verbose_feature_names_out=False
        )
        return Pipeline(
            [
                ("preprocess", select.set_output(transform="pandas")),
                ("estimator", RuleBaselineClassifier(rules)),
            ]
        )
    numeric = [f for f, k in kinds.items() if k == "numeric"]
    categorical = [f for f, k in kinds.items() if k == "categorical"]
    numeric_steps: list[tuple[str, Any]] = [
        (
            "impute",
            SimpleImputer(
                strategy="median", add_indicator=True, keep_empty_features=True
            ),
        )
    ]
    if spec.estimator == "logistic_regression":
        numeric_steps.append(("scale", StandardScaler()))
    preprocess = ColumnTransformer(
        [
            ("num", Pipeline(numeric_steps), numeric),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("estimator", _estimator(spec))])


def _estimator(spec: ModelSpec) -> Any:
    """Return the spec's estimator with its params over Opspor's defaults."""
    params = {k: v for k, v in spec.params.items() if k != "rules"}
    if spec.estimator == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(
            **{**_HGB_DEFAULTS, **params, "random_state": spec.random_state}
        )
    return LogisticRegression(
        **{**_LR_DEFAULTS, **params, "random_state": spec.random_state}
    )


def fit_model(
    matrix: pd.DataFrame,
    spec: ModelSpec,
    kinds: Mapping[str, str],
    *,
    blend: BlendClassifier | None = None,
    fitted: Any | None = None,
) -> Any:
    """Fit the pipeline on the training split and calibrate it on the calibration split.

    With ``spec.calibration_folds`` the two splits are pooled and the map is
    cross-fitted instead (:func:`models.crossfit.cross_fitted_model`).

    Parameters
    ----------
    matrix : pandas.DataFrame
        A :class:`models.matrix.TrainingMatrix`.
    spec : ModelSpec
        The spec.
    kinds : Mapping
        ``feature -> "categorical" | "numeric"``.
    blend : BlendClassifier, optional
        For ``estimator = "blend"``: the registered models to combine
        (:func:`load_blend`); only the calibration is fitted here.
    fitted : Pipeline, optional
        The pipeline already fitted on exactly these training rows with this
        spec's parameters (the iteration selection's fit when it chose its
        largest number, :attr:`models.select.IterationChoice.widest`): used as
        the training fit instead of fitting it again. Ignored when the map is
        cross-fitted or for a blend.

    Returns
    -------
    CalibratedClassifierCV
        The calibrated model; :func:`models.calibrate.raw_pipeline` unwraps it.
    """
    features = list(spec.model_features)
    for split in ("train", "calibration"):
        check_split(matrix, split, spec=spec.name)
    if spec.calibration_folds is not None and blend is None:
        return cross_fitted_model(matrix, spec, kinds).model
    calibration = matrix[matrix["split"] == "calibration"]
    if fitted is not None and blend is None:
        pipeline = fitted
    else:
        unfitted = build_pipeline(spec, kinds) if blend is None else blend
        train, labels, weights = training_rows(matrix, spec)
        with limited_threads():
            pipeline = unfitted.fit(train[features], labels, **weights)
    return calibrate_model(
        pipeline,
        calibration[features],
        calibration["label"].to_numpy(),
        method=spec.calibration,
    )


def _sampling_record(spec: ModelSpec, rows: Mapping[str, int]) -> dict[str, Any] | None:
    """Return the training report's entry on non-event sampling, if asked."""
    if spec.non_event_share is None:
        return None
    return {
        "non_event_share": spec.non_event_share,
        "sample_above_rows": spec.sample_above_rows,
        "train_rows": int(rows.get("train", 0)),
        "sampled": samples_non_events(spec, int(rows.get("train", 0))),
    }


def samples_non_events(spec: ModelSpec, train_rows: int) -> bool:
    """Tell whether a fit on ``train_rows`` training rows samples its non-events.

    ``non_event_share`` samples; ``sample_above_rows`` limits it to training
    splits holding more rows than that.
    """
    if spec.non_event_share is None:
        return False
    return spec.sample_above_rows is None or train_rows > spec.sample_above_rows


def training_rows(
    matrix: pd.DataFrame, spec: ModelSpec
) -> tuple[pd.DataFrame, NDArray[Any], dict[str, Any]]:
    """Return the training rows, their labels and the fit arguments (weights).

    Rows are sampled (``non_event_share``) and weighted (``reweight``,
    ``citizen_weights``) as the spec says; no weights when it asks for none.
    The sample is drawn on the ids and labels alone, so the matrix is copied
    once, into the rows fitted on (a national matrix is gigabytes wide).
    """
    rows = np.flatnonzero((matrix["split"] == "train").to_numpy())
    row_weights = np.ones(len(rows))
    sampled = samples_non_events(spec, len(rows))
    if sampled:
        assert spec.non_event_share is not None
        head = matrix[["citizen_id", "label"]].iloc[rows]
        keep, row_weights = non_event_sample(
            head,
            head["label"].to_numpy(),
            share=spec.non_event_share,
            random_state=spec.random_state,
        )
        rows = rows[keep]
    train = matrix.iloc[rows]
    labels = train["label"].to_numpy()
    if spec.reweight is not None:
        row_weights = row_weights * event_weights(train, labels, spec.reweight)
    if spec.citizen_weights != "rows":
        row_weights = row_weights * citizen_weights(
            train["citizen_id"], spec.citizen_weights
        )
    weights: dict[str, Any] = {}
    if spec.reweight is not None or sampled or spec.citizen_weights != "rows":
        weights = {"estimator__sample_weight": row_weights}
    return train, labels, weights


def refit_model(
    matrix: pd.DataFrame,
    spec: ModelSpec,
    kinds: Mapping[str, str],
    *,
    blend: BlendClassifier | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Refit on every labelled date, the validated test date included.

    The pipeline is fitted on the training group at every date (``train`` and
    ``refit_train``) and calibrated on the calibration group at every date.
    Labels at early dates of a short extract carry old complications first
    recorded in the window (their look-back is short), so a sigmoid map's
    intercept is then moved, in ``calibrate.recalibrate_in_the_large``, until
    the mean risk of every non-test citizen at the latest date equals their
    observed rate: the date nearest to the one the model will score. The test
    group stays unseen, so a promotion still compares models on rows neither
    was fitted on. With ``spec.calibration_folds`` both groups are pooled and
    cross-fitted (:mod:`models.crossfit`), and the intercept is moved on the
    latest rows' out-of-fold margins, the scores the map was fitted on.

    Parameters
    ----------
    matrix : pandas.DataFrame
        A :class:`models.matrix.TrainingMatrix` with ``refit_*`` rows.
    spec : ModelSpec
        The spec.
    kinds : Mapping
        ``feature -> "categorical" | "numeric"``.
    blend : BlendClassifier, optional
        The registered models a blend spec combines.

    Returns
    -------
    (CalibratedClassifierCV, dict)
        The refitted model and what it was fitted on (aggregates only).
    """
    split = matrix["split"].map(
        {
            "train": "train",
            "refit_train": "train",
            "calibration": "calibration",
            "refit_calibration": "calibration",
        }
    )
    frame = matrix.assign(split=split.fillna(""))
    latest = matrix[matrix["split"].isin(["refit_train", "refit_calibration"])]
    anchor = spec.calibration == "sigmoid" and latest["label"].nunique() == 2
    shift = None
    if spec.calibration_folds is not None and blend is None:
        for name in ("train", "calibration"):
            check_split(frame, name, spec=spec.name)
        crossfit = cross_fitted_model(frame, spec, kinds)
        model = crossfit.model
        if anchor:  # the map saw out-of-fold margins; so does its anchor
            shift = shift_intercept(
                model, crossfit.margins[latest.index].to_numpy(), latest["label"]
            )
    else:
        model = fit_model(frame, spec, kinds, blend=blend)
        if anchor:
            shift = recalibrate_in_the_large(
                model, latest[list(spec.model_features)], latest["label"].to_numpy()
            )
    dates = sorted({d.date().isoformat() for d in matrix["as_of_date"]})
    return model, {
        "index_dates": dates,
        "rows_train": int((frame["split"] == "train").sum()),
        "rows_calibration": int((frame["split"] == "calibration").sum()),
        "rows_in_the_large": len(latest),
        "intercept_shift": shift,
    }


def evaluate_model(
    model: Any,
    test: pd.DataFrame,
    spec: ModelSpec,
    *,
    n_cohort: int,
    plot_dir: Path | None = None,
) -> tuple[Evaluation, list[Path]]:
    """Score the test rows and compute every metric with intervals (and plots).

    Parameters
    ----------
    model : estimator
        The calibrated model.
    test : pandas.DataFrame
        Test rows (features, ``citizen_id``, ``label``).
    spec : ModelSpec
        Capacity, k shares, bootstrap size, seed.
    n_cohort : int
        Labelled cohort rows at the test date (scales the capacity k).
    plot_dir : Path, optional
        Where to draw the plots; none if omitted.

    Returns
    -------
    (Evaluation, list of Path)
    """
    check_split(test, "test", spec=spec.name)
    X = test[list(spec.model_features)]
    y = test["label"].to_numpy()
    risk = predict_risk(model, X)
    order = rank_order(risk, raw_margin(model, X), test["citizen_id"].to_numpy())
    ks = k_values(
        capacity_k=spec.capacity_k,
        k_shares=spec.k_shares,
        n_test=len(test),
        n_cohort=n_cohort,
    )
    metrics = evaluate_predictions(
        y,
        risk,
        order,
        ks=ks,
        n_bootstrap=spec.n_bootstrap,
        random_state=spec.random_state,
    )
    plots: list[Path] = []
    if plot_dir is not None:
        plots = save_plots(
            y, risk, order, out_dir=plot_dir, capacity_k=ks["capacity"], title=spec.name
        )
    summary = {
        "n": len(test),
        "events": int(y.sum()),
        "mean_risk": float(risk.mean()),
        "risk_quantiles": {
            str(q): float(np.quantile(risk, q))
            for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
        },
        "k": ks,
    }
    return Evaluation(metrics, ks, len(test), int(y.sum()), summary), plots


def load_blend(settings: EngineSettings, spec: ModelSpec) -> BlendClassifier:
    """Load the registered champions a blend spec names, as an unfitted blend.

    Raises
    ------
    NotFoundError
        A named model is not registered (train it first).
    ConfigError
        The blend spec does not list every feature a named model uses.
    """
    from models.score import load_registered_model

    names = [str(m) for m in spec.params["models"]]
    loaded = [load_registered_model(settings, name) for name in names]
    features = {r.name: list(r.spec.model_features) for r in loaded}
    check_blend_features(spec.name, spec.features, features)
    return BlendClassifier(
        models=[r.model for r in loaded],
        features=list(features.values()),
        weights=[float(w) for w in spec.params["weights"]],
        names=names,
    )


def _example_row(train: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """Return one synthetic row: numeric medians and categorical modes."""
    row: dict[str, Any] = {}
    for name, kind in kinds.items():
        column = train[name]
        if kind == "numeric":
            row[name] = float(column.median()) if column.notna().any() else 0.0
        else:
            row[name] = str(column.mode().iloc[0])
    return pd.DataFrame([row]).astype(
        {n: object for n, k in kinds.items() if k == "categorical"}
    )


def _calibration_record(spec: ModelSpec, matrix: pd.DataFrame) -> dict[str, Any]:
    """How the calibration map was fitted, for the training report (aggregates only)."""
    if spec.calibration_folds is not None and spec.estimator != "blend":
        pooled = matrix[matrix["split"].isin(["train", "calibration"])]
        return {
            "method": spec.calibration,
            "fitted_on": "out-of-fold margins (cross-fitted, folds by citizen)",
            "folds": spec.calibration_folds,
            "citizens_validated_model": int(pooled["citizen_id"].nunique()),
        }
    held = matrix[matrix["split"] == "calibration"]
    return {
        "method": spec.calibration,
        "fitted_on": "calibration citizens (held out from the pipeline's fit)",
        "folds": None,
        "citizens_validated_model": int(held["citizen_id"].nunique()),
    }


def _rounded(value: float | None) -> float | None:
    """Round a figure of the training report to four decimals (None stays None)."""
    return None if value is None else round(value, 4)


def _counts(matrix: pd.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    grouped = matrix.groupby("split")["label"]
    return (
        {k: int(v) for k, v in grouped.size().items()},
        {k: int(v) for k, v in grouped.sum().items()},
    )


# --- the entry point -----------------------------------------------------------


def train_model(spec: ModelSpec, *, settings: EngineSettings) -> TrainResult:
    """Train, calibrate, validate, log and register the model a spec describes.

    Parameters
    ----------
    spec : ModelSpec
        The spec; its name is the registered model's name.
    settings : EngineSettings
        Warehouse and MLflow store.

    Returns
    -------
    TrainResult

    Raises
    ------
    NotFoundError
        No extract is loaded.
    DataError
        Too little history, or a split without both classes.
    ConfigError
        A feature is not in the mart, or the cohort does not match the outcome.
    """
    from models import tracking

    con = connect(settings.warehouse)
    try:
        data = prepare_training_data(con, spec)
    finally:
        con.close()
    spec = data.spec  # broad covariates chosen, so the logged spec names them
    selection: dict[str, Any] = {}
    selection_params: dict[str, str] = {}
    prefit = None
    if spec.max_iter_choices:
        spec, choice = choose_max_iter(data.matrix, spec, data.kinds)
        selection, selection_params = choice.report(), choice.params()
        # The largest choice: its selection fit is the training fit (models/select.py).
        prefit = choice.widest if choice.is_widest else None
    spec, calibration_decision = resolve_calibration(data.matrix, spec)
    blend = load_blend(settings, spec) if spec.estimator == "blend" else None
    model = fit_model(data.matrix, spec, data.kinds, blend=blend, fitted=prefit)
    prefit = None  # not kept beside the model
    test = data.matrix[data.matrix["split"] == "test"]
    rows, events = _counts(data.matrix)
    refit: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        evaluation, plots = evaluate_model(
            model, test, spec, n_cohort=data.n_cohort_test, plot_dir=Path(tmp)
        )
        metrics = {name: m.as_dict() for name, m in evaluation.metrics.items()}
        validated_slope = _rounded(calibration_slope(model))
        if spec.refit:
            model, refit = refit_model(data.matrix, spec, data.kinds, blend=blend)
        fingerprint = {
            "extract_hash": data.window.extract_hash,
            "extract_start": data.window.start.isoformat(),
            "extract_date": data.window.extract_date.isoformat(),
            "coverage": {
                t: d.isoformat() if d else None for t, d in data.window.coverage.items()
            },
            "fit_index_dates": [d.isoformat() for d in data.fit_dates],
            "test_index_date": data.test_date.isoformat(),
            "washout_days": data.plan.washout_days,
            "washout_shortened": data.plan.shortened,
            "calibration_slope": _rounded(calibration_slope(model)),
            "validated_calibration_slope": validated_slope,
            "index_step": data.plan.step,
            "validated_model": "fitted on fit_index_dates, tested at test_index_date",
            "registered_model": (
                {"refit": True, **refit} if spec.refit else {"refit": False}
            ),
            "rows": rows,
            "events": events,
            "cohort_rows_at_test_date": data.n_cohort_test,
            "iteration_selection": selection or None,
            "non_event_sampling": _sampling_record(spec, rows),
            "calibration": {
                **_calibration_record(spec, data.matrix),
                **calibration_decision,
            },
        }
        record = tracking.log_training_run(
            settings,
            name=spec.name,
            outcome=spec.outcome,
            params={
                **spec.flat_params(),
                **selection_params,
                "k_capacity_test": str(evaluation.ks["capacity"]),
            },
            spec_toml=spec.to_toml(),
            model=model,
            metrics=metrics,
            fingerprint=fingerprint,
            prediction_summary=evaluation.summary,
            plots=plots,
            example=_example_row(
                data.matrix[data.matrix["split"] == "train"], data.kinds
            ),
            known_ids=frozenset(data.matrix["citizen_id"]),
            tags={
                "opspor.spec": spec.name,
                "opspor.outcome": spec.outcome,
                "opspor.estimator": spec.estimator,
                "opspor.washout_days": str(data.plan.washout_days),
                "opspor.washout_shortened": str(data.plan.shortened).lower(),
                "opspor.refit": str(spec.refit).lower(),
            },
        )
    train = data.matrix[data.matrix["split"] == "train"]
    ids = frozenset(train["citizen_id"])
    log_feature_reference(settings, record.run_id, train, data.kinds, known_ids=ids)
    return TrainResult(
        name=record.name,
        version=record.version,
        model_uri=record.model_uri,
        run_id=record.run_id,
        champion=record.champion,
        outcome=spec.outcome,
        estimator=spec.estimator,
        test_date=data.test_date,
        index_dates=[*data.fit_dates, data.test_date],
        rows=rows,
        events=events,
        k_capacity=evaluation.ks["capacity"],
        metrics=metrics,
    )
