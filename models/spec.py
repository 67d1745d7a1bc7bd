"""Model specs: the settings object behind every trained model.

A spec (``models/specs/<name>.toml``) names the outcome and its cohort, the
feature columns of ``marts.scoring_features``, the estimator, the index dates
and the split, and how the model is validated. It is validated when it is
built, against the declarative :data:`CONSTRAINTS` table, so a bad file fails at
load with one message whose text is pinned in a test. :mod:`models.train` turns
a spec into a registered model; the spec's name is the model's name.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from features.constraints import (
    BAD_PARAMETER,
    Rule,
    check_parameter,
    float_range,
    int_range,
    is_int,
    list_of,
    one_of,
    str_matching,
)
from features.errors import ConfigError, NotFoundError

__all__ = [
    "AUDIT_ONLY_COLUMNS",
    "COHORT_FLAGS",
    "CONSTRAINTS",
    "BROAD_COHORTS",
    "BROAD_ID",
    "CohortFlag",
    "ESTIMATORS",
    "FEATURE_SETS",
    "ModelSpec",
    "available_specs",
    "load_spec",
    "parse_every",
]

Estimator = Literal[
    "rule_baseline", "logistic_regression", "hist_gradient_boosting", "blend"
]
Calibration = Literal["isotonic", "sigmoid"]
ESTIMATORS: tuple[str, ...] = (
    "rule_baseline",
    "logistic_regression",
    "hist_gradient_boosting",
    "blend",
)
CALIBRATIONS: tuple[str, ...] = ("isotonic", "sigmoid")
FeatureSet = Literal["curated", "broad", "both"]
FEATURE_SETS: tuple[str, ...] = get_args(FeatureSet)
CitizenWeights = Literal["rows", "equal", "sqrt"]
CITIZEN_WEIGHTS: tuple[str, ...] = get_args(CitizenWeights)
#: Cohorts whose rows marts.broad_covariates holds (features/sql/covariates).
BROAD_COHORTS: tuple[str, ...] = ("has_diabetes", "has_smi")
#: A broad covariate id: a family prefix no curated feature uses (see
#: features/sql/covariates/broad_covariates.yml), then a safe lower-case name.
BROAD_ID = re.compile(r"^(?:atc3_|atc4_|sks_|icpc_|hosp_|psych_|npu|lab_)[a-z0-9_]*$")
#: Boolean cohort flags of ``marts.scoring_features`` (pinned names).
CohortFlag = Literal[
    "has_diabetes",
    "has_smi",
    "has_copd",
    "has_heart_disease",
    "has_cancer",
    "has_chronic_back_pain",
]
COHORT_FLAGS: tuple[str, ...] = get_args(CohortFlag)
#: Carried for fairness audits, never a model feature.
AUDIT_ONLY_COLUMNS: tuple[str, ...] = ("education_level", "origin")
RULE_OPERATORS: tuple[str, ...] = (">", ">=", "<", "<=", "==")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_EVERY = re.compile(r"^([1-9][0-9]*)(d|w|mo|y)$")
AUDIT_FEATURE = "The feature {name!r} is used to audit, not to score."
MISSING_KEY = "The {name!r} parameter of {caller} is required but missing."
UNKNOWN_KEY = (
    "The {name!r} parameter of {caller} is not a spec parameter; allowed: {allowed}."
)
NAME_MISMATCH = (
    "The 'name' parameter of {caller} must equal the file name {stem!r}. "
    "Got {value!r} instead."
)
DATE_ORDER = (
    "The 'train_from' parameter of {caller} must be before 'train_to'. "
    "Got {value!r} instead."
)
BAD_RULE = (
    "The 'params.rules' parameter of {caller} must be a non-empty list of tables "
    "{{feature, op, threshold, missing_is_met}} whose feature is listed in 'features' "
    "and op "
    "is one of {ops}. Got {value!r} instead."
)
BROAD_COHORT = (
    "The 'feature_set' parameter of {caller} must be 'curated' for cohort "
    "{cohort!r}: marts.broad_covariates holds the rows of {cohorts} only. "
    "Got {value!r} instead."
)
BAD_BLEND = (
    "The 'params' parameter of {caller} must hold 'models', a non-empty list of "
    "unique model names other than the spec's own, and 'weights', as many positive "
    "numbers. Got {value!r} instead."
)
BAD_REWEIGHT = (
    "The 'reweight' parameter of {caller} must be a table of 'rules' and "
    "'event_weight' (a positive number), for the gradient boosting or the logistic "
    "regression. Got {value!r} instead."
)
SPEC_NOT_FOUND = (
    "No model spec {name!r}: expected models/specs/{name}.toml "
    "or a path to a TOML file."
)


_SHARES = Rule(
    "a non-empty list of floats in the range (0, 1)",
    lambda v: (
        isinstance(v, list | tuple)
        and len(v) > 0
        and all(
            isinstance(x, float | int) and not isinstance(x, bool) and 0 < x < 1
            for x in v
        )
    ),
)
_NAME_RULE = str_matching(_NAME)
_SHARE = float_range(0.05, 0.9, closed_high=False)
_OPTIONAL_DATE = Rule(
    "an ISO date (YYYY-MM-DD) or absent", lambda v: v is None or isinstance(v, date)
)

#: Declarative constraint table (scikit-learn's ``_parameter_constraints``).
CONSTRAINTS: Mapping[str, Rule] = {
    "name": _NAME_RULE,
    "outcome": _NAME_RULE,
    "cohort": one_of(COHORT_FLAGS),
    "features": list_of(
        "a non-empty list of unique column names matching ^[a-z][a-z0-9_]*$",
        pattern=_NAME,
        non_empty=True,
    ),
    "estimator": one_of(ESTIMATORS),
    "params": Rule("a table", lambda v: isinstance(v, Mapping)),
    "horizon_days": int_range(1),
    "train_from": _OPTIONAL_DATE,
    "train_to": _OPTIONAL_DATE,
    "every": Rule(
        "a period like '3mo', '1mo', '2w', '30d' or '1y'",
        lambda v: isinstance(v, str) and bool(_EVERY.match(v)),
    ),
    "max_index_dates": Rule(
        "an int in the range [2, inf) or absent",
        lambda v: v is None or (is_int(v) and v >= 2),
    ),
    "washout_days": int_range(0),
    "min_washout_days": int_range(0),
    "min_index_dates": int_range(1),
    "refit": Rule("a boolean", lambda v: isinstance(v, bool)),
    "test_share": _SHARE,
    "calibration_share": _SHARE,
    "capacity_k": int_range(1),
    "k_shares": _SHARES,
    "calibration": one_of(CALIBRATIONS),
    "random_state": int_range(0),
    "n_bootstrap": int_range(0),
    "feature_set": one_of(FEATURE_SETS),
    "broad_min_rows": int_range(1),
    "citizen_weights": one_of(CITIZEN_WEIGHTS),
    "max_iter_choices": Rule(
        "a non-empty list of unique positive ints or absent",
        lambda v: (
            v is None
            or (
                isinstance(v, list | tuple)
                and len(v) > 0
                and all(is_int(x) and x >= 1 for x in v)
                and len(set(v)) == len(v)
            )
        ),
    ),
    "calibration_folds": Rule(
        "an int in the range [2, 20] or absent",
        lambda v: v is None or (is_int(v) and 2 <= v <= 20),
    ),
    "crossfit_below_events": Rule(
        "an int in the range [1, inf) or absent",
        lambda v: v is None or (is_int(v) and v >= 1),
    ),
    "reweight": Rule(
        "a table {rules, event_weight} or absent",
        lambda v: v is None or isinstance(v, Mapping),
    ),
    "non_event_share": Rule(
        "a float in the range (0, 1] or absent",
        lambda v: (
            v is None
            or (isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 1)
        ),
    ),
    "sample_above_rows": Rule(
        "an int in the range [1, inf) or absent",
        lambda v: v is None or (is_int(v) and v >= 1),
    ),
    "broad_covariates": Rule(
        f"a list of unique broad covariate ids matching {BROAD_ID.pattern} or absent",
        lambda v: v is None or list_of("", pattern=BROAD_ID).ok(v),
    ),
}
_REQUIRED = ("outcome", "cohort", "features", "estimator")
#: Estimators fitted with sample weights (``reweight``, ``non_event_share``).
_WEIGHTED = ("hist_gradient_boosting", "logistic_regression")
BOOSTING_ONLY = (
    "The 'max_iter_choices' parameter of {caller} needs the gradient boosting "
    "(estimator 'hist_gradient_boosting'). Got estimator {estimator!r} instead."
)
WEIGHTED_ESTIMATOR = (
    "The {key!r} parameter of {caller} needs the gradient boosting or the "
    "logistic regression (they fit with weights). Got estimator {estimator!r} instead."
)
CROSSFIT_ESTIMATOR = (
    "The 'calibration_folds' parameter of {caller} needs the gradient boosting or "
    "the logistic regression (a pipeline fitted once per fold). "
    "Got estimator {estimator!r} instead."
)
SAMPLED_ESTIMATOR = (
    "The 'non_event_share' parameter of {caller} needs the gradient boosting or the "
    "logistic regression (they fit with weights). Got estimator {estimator!r} instead."
)


@dataclass(frozen=True)
class ModelSpec:
    """One model, validated when it is built.

    Parameters
    ----------
    name : str
        Registered model name; also the spec's file stem.
    outcome : str
        Label SQL ``models/sql/outcomes/<outcome>.sql``.
    cohort : str
        Boolean cohort flag of ``marts.scoring_features`` scored by the model.
    features : tuple of str
        Feature columns of ``marts.scoring_features``; never an audit attribute.
    estimator : {"rule_baseline", "logistic_regression", "hist_gradient_boosting", \
"blend"}
        The estimator at the end of the pipeline; ``"blend"`` combines registered
        models (:mod:`models.blend`).
    params : Mapping
        Estimator parameters (for the rule baseline: ``rules``; for a blend:
        ``models`` and ``weights``, and ``features`` must list every feature of
        those models).
    horizon_days : int
        Outcome window after each index date.
    train_from, train_to : date or None
        Range of index dates; ``None`` means as early / as late as the extract allows.
    every : str
        Step between index dates, e.g. ``"3mo"``.
    max_index_dates : int or None
        Keep only the latest this many eligible index dates.
    washout_days : int
        History wanted before an index date (and the look-back that makes a
        complication "new"); index dates with a full washout are used first.
    min_washout_days : int
        The shortest covered look-back a training date may have when the
        extract is too short for ``min_index_dates`` dates with a full washout;
        the shortening is logged and recorded, and the model sees each row's
        covered history (``history_days_*``).
    min_index_dates : int
        Training dates wanted at least (found by shortening the washout, then by
        stepping monthly, within the common coverage).
    refit : bool
        After validation on the latest labelled date, refit the registered model
        on every labelled date including it (test citizens still held out, so a
        promotion compares on unseen rows).
    test_share, calibration_share : float
        Share of citizens held out for testing and for calibration.
    capacity_k : int
        Weekly capacity of the programme the model serves.
    k_shares : tuple of float
        Further k as shares of the cohort.
    calibration : {"isotonic", "sigmoid"}
        Calibration method, fitted on held-out citizens.
    random_state : int
        Seed of the citizen split, the estimator and the bootstrap.
    n_bootstrap : int
        Bootstrap resamples behind each confidence interval (0 = none).
    feature_set : {"curated", "broad", "both"}
        Which features the model sees: the curated ``features``, the broad
        covariates of ``marts.broad_covariates`` only (``features`` is then
        still validated but not used), or both. Broad covariates need a cohort
        in :data:`BROAD_COHORTS`.
    broad_min_rows : int
        A broad covariate enters the model only if it is non-zero and non-NULL
        in at least this many training rows.
    broad_covariates : tuple of str or None
        The broad covariates the model uses. ``None`` (the default) means they are
        chosen at training (``broad_min_rows``); the spec logged with a trained
        model names them, so scoring builds exactly these columns.
    reweight : Mapping or None
        ``{rules, event_weight}``: training events meeting any rule (tables as
        the rule baseline's) count ``event_weight`` times (:mod:`models.reweight`);
        for the gradient boosting and the logistic regression.
    citizen_weights : {"rows", "equal", "sqrt"}
        How much each training citizen weighs in the fit. ``"rows"`` (the
        default) counts every row once, so a citizen seen at five index dates
        weighs five times; ``"equal"`` gives each citizen's rows together the
        weight of one citizen, ``"sqrt"`` the square root of their number
        (:func:`models.reweight.citizen_weights`). For the gradient boosting
        and the logistic regression; calibration rows stay unweighted.
    max_iter_choices : tuple of int or None
        For the gradient boosting: the numbers of boosting iterations to choose
        ``params.max_iter`` from, by log loss on the calibration citizens of a
        fit on the training citizens (:mod:`models.select`). ``None`` (the
        default) keeps ``params.max_iter`` as given.
    calibration_folds : int or None
        Cross-fitted calibration (:mod:`models.crossfit`): the training and
        calibration citizens are cut into this many folds by citizen, the
        calibration map is fitted on each row's out-of-fold raw score, and the
        pipeline on all of them. ``None`` (the default) fits the pipeline on
        the training citizens and the map on the calibration citizens. For the
        gradient boosting and the logistic regression.
    crossfit_below_events : int or None
        With ``calibration_folds``: cross-fit only when the calibration
        citizens' rows hold fewer events than this; with as many or more the
        held-out map is steady enough and the K extra fits are saved
        (:func:`models.crossfit.resolve_calibration`). ``None`` always
        cross-fits.
    non_event_share : float or None
        Fit on every training row with an event and this share of the rows
        without one, chosen by the salted citizen hash and weighted
        ``1 / share`` (:mod:`models.sampling`); calibration and test rows are
        never sampled. ``None`` (the default) fits on every row; for the
        gradient boosting and the logistic regression.
    sample_above_rows : int or None
        With ``non_event_share``: sample only when the training split holds
        more rows than this (a national extract), so smaller extracts fit on
        every row. ``None`` always samples.
    source : str
        Where the spec came from; the caller named in error messages.
    """

    name: str
    outcome: str
    cohort: str
    features: tuple[str, ...]
    estimator: Estimator
    params: Mapping[str, Any] = field(default_factory=dict)
    horizon_days: int = 365
    train_from: date | None = None
    train_to: date | None = None
    every: str = "3mo"
    max_index_dates: int | None = None
    washout_days: int = 730
    min_washout_days: int = 180
    min_index_dates: int = 4
    refit: bool = True
    test_share: float = 0.25
    calibration_share: float = 0.15
    capacity_k: int = 40
    k_shares: tuple[float, ...] = (0.01, 0.02, 0.05)
    calibration: Calibration = "sigmoid"
    random_state: int = 0
    n_bootstrap: int = 200
    feature_set: FeatureSet = "curated"
    broad_min_rows: int = 50
    broad_covariates: tuple[str, ...] | None = None
    reweight: Mapping[str, Any] | None = None
    non_event_share: float | None = None
    citizen_weights: CitizenWeights = "rows"
    max_iter_choices: tuple[int, ...] | None = None
    calibration_folds: int | None = None
    crossfit_below_events: int | None = None
    sample_above_rows: int | None = None
    source: str = "ModelSpec"

    def __post_init__(self) -> None:
        for spec_field in fields(self):
            if spec_field.name in CONSTRAINTS:
                check_parameter(
                    CONSTRAINTS[spec_field.name],
                    name=spec_field.name,
                    value=_plain(getattr(self, spec_field.name)),
                    caller=self.source,
                )
        for name in self.features:
            if name in AUDIT_ONLY_COLUMNS:
                raise ConfigError(AUDIT_FEATURE.format(name=name))
        if self.train_from and self.train_to and self.train_from >= self.train_to:
            raise ConfigError(
                DATE_ORDER.format(caller=self.source, value=self.train_from)
            )
        check_parameter(
            Rule(
                "a float such that test_share + calibration_share < 0.9",
                lambda v: self.test_share + v < 0.9,
            ),
            name="calibration_share",
            value=self.calibration_share,
            caller=self.source,
        )
        if self.estimator == "rule_baseline":
            _check_rules(self.params.get("rules"), self.features, self.source)
        if self.estimator == "blend":
            _check_blend(self.params, self.name, self.source)
        if self.reweight is not None:
            _check_reweight(self.reweight, self.features, self.estimator, self.source)
        if self.non_event_share is not None and self.estimator not in _WEIGHTED:
            raise ConfigError(
                SAMPLED_ESTIMATOR.format(caller=self.source, estimator=self.estimator)
            )
        if (
            self.max_iter_choices is not None
            and self.estimator != "hist_gradient_boosting"
        ):
            raise ConfigError(
                BOOSTING_ONLY.format(caller=self.source, estimator=self.estimator)
            )
        if self.calibration_folds is not None and self.estimator not in _WEIGHTED:
            raise ConfigError(
                CROSSFIT_ESTIMATOR.format(caller=self.source, estimator=self.estimator)
            )
        if self.crossfit_below_events is not None and self.calibration_folds is None:
            raise ConfigError(
                f"The 'crossfit_below_events' parameter of {self.source} needs "
                "'calibration_folds' (it says when to cross-fit). Add "
                "calibration_folds or delete crossfit_below_events."
            )
        if self.sample_above_rows is not None and self.non_event_share is None:
            raise ConfigError(
                f"The 'sample_above_rows' parameter of {self.source} needs "
                "'non_event_share' (it says when to sample). Add non_event_share "
                "or delete sample_above_rows."
            )
        if self.citizen_weights != "rows" and self.estimator not in _WEIGHTED:
            raise ConfigError(
                WEIGHTED_ESTIMATOR.format(
                    caller=self.source,
                    key="citizen_weights",
                    estimator=self.estimator,
                )
            )
        if self.feature_set != "curated" and self.cohort not in BROAD_COHORTS:
            raise ConfigError(
                BROAD_COHORT.format(
                    caller=self.source,
                    cohort=self.cohort,
                    cohorts=", ".join(BROAD_COHORTS),
                    value=self.feature_set,
                )
            )

    @property
    def model_features(self) -> tuple[str, ...]:
        """The model's columns: curated features and/or the chosen broad covariates."""
        curated = () if self.feature_set == "broad" else self.features
        broad = () if self.feature_set == "curated" else self.broad_covariates or ()
        return (*curated, *broad)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, name: str, source: str
    ) -> ModelSpec:
        """Build a spec from parsed TOML.

        Parameters
        ----------
        data : Mapping
            The parsed file.
        name : str
            The file stem, which the optional ``name`` key must equal.
        source : str
            The caller named in error messages.

        Returns
        -------
        ModelSpec

        Raises
        ------
        ConfigError
            A key is unknown, missing or out of range.
        """
        allowed = set(CONSTRAINTS)
        for key in data:
            if key not in allowed:
                raise ConfigError(
                    UNKNOWN_KEY.format(
                        name=key, caller=source, allowed=", ".join(sorted(allowed))
                    )
                )
        for key in _REQUIRED:
            if key not in data:
                raise ConfigError(MISSING_KEY.format(name=key, caller=source))
        if "name" in data and data["name"] != name:
            raise ConfigError(
                NAME_MISMATCH.format(caller=source, stem=name, value=data["name"])
            )
        values = {k: _freeze(v) for k, v in data.items() if k != "name"}
        return cls(name=name, source=source, **values)

    @classmethod
    def from_toml(cls, path: Path | str, *, caller: str | None = None) -> ModelSpec:
        """Read and validate a spec file.

        Parameters
        ----------
        path : Path or str
            The TOML file; its stem is the model name.
        caller : str, optional
            How to name the file in messages (default: the path as given).

        Returns
        -------
        ModelSpec

        Raises
        ------
        ConfigError
            The file is not valid TOML or a value breaks :data:`CONSTRAINTS`.
        """
        path = Path(path)
        source = caller or str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source} is not valid TOML: {error}") from error
        return cls.from_mapping(data, name=path.stem, source=source)

    def to_toml(self) -> str:
        """Return the resolved spec as TOML text (the artifact logged with each run)."""
        lines = [f"name = {_toml_value(self.name)}"]
        tables: list[str] = []
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            if spec_field.name in ("name", "source") or value is None:
                continue
            if isinstance(value, Mapping):
                tables.append(_toml_table(spec_field.name, value))
            else:
                lines.append(f"{spec_field.name} = {_toml_value(value)}")
        return "\n".join(lines + tables) + "\n"

    def flat_params(self) -> dict[str, str]:
        """Return every setting as ``key -> str`` for MLflow params (keys dotted)."""
        flat: dict[str, str] = {}
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            if isinstance(value, Mapping):
                for key, inner in value.items():
                    flat[f"{spec_field.name}.{key}"] = _toml_value(inner)
            elif spec_field.name != "source":
                flat[spec_field.name] = "" if value is None else _toml_value(value)
        return {k: _param_text(v) for k, v in flat.items()}


#: MLflow refuses a param value longer than this (mlflow.utils.validation).
_MAX_PARAM = 6000
_CUT = " ... (cut; the whole value is in spec/spec.toml)"


def _param_text(text: str) -> str:
    """Cut a param value MLflow would refuse (a long list of broad covariates)."""
    if len(text) <= _MAX_PARAM:
        return text
    return text[: _MAX_PARAM - len(_CUT)] + _CUT


def _check_rules(rules: Any, features: tuple[str, ...], caller: str) -> None:
    ok = (
        isinstance(rules, list | tuple)
        and len(rules) > 0
        and all(
            isinstance(r, Mapping)
            and r.get("feature") in features
            and r.get("op") in RULE_OPERATORS
            and isinstance(r.get("threshold"), int | float)
            and isinstance(r.get("missing_is_met", False), bool)
            for r in rules
        )
    )
    if not ok:
        raise ConfigError(
            BAD_RULE.format(caller=caller, ops=list(RULE_OPERATORS), value=rules)
        )


def _check_blend(params: Mapping[str, Any], name: str, caller: str) -> None:
    models, weights = params.get("models"), params.get("weights")
    ok = (
        set(params) == {"models", "weights"}
        and isinstance(models, list | tuple)
        and isinstance(weights, list | tuple)
        and 0 < len(models) == len(weights)
        and len(set(models)) == len(models)
        and all(isinstance(m, str) and _NAME.match(m) and m != name for m in models)
        and all(
            isinstance(w, int | float) and not isinstance(w, bool) and w > 0
            for w in weights
        )
    )
    if not ok:
        raise ConfigError(BAD_BLEND.format(caller=caller, value=dict(params)))


def _check_reweight(
    reweight: Mapping[str, Any], features: tuple[str, ...], estimator: str, caller: str
) -> None:
    weight = reweight.get("event_weight")
    ok = (
        set(reweight) == {"rules", "event_weight"}
        and estimator in ("hist_gradient_boosting", "logistic_regression")
        and isinstance(weight, int | float)
        and not isinstance(weight, bool)
        and weight > 0
    )
    if not ok:
        raise ConfigError(BAD_REWEIGHT.format(caller=caller, value=dict(reweight)))
    _check_rules(reweight["rules"], features, caller)


def _plain(value: Any) -> Any:
    """Tuples back to lists so that constraint texts and messages read like TOML."""
    return list(value) if isinstance(value, tuple) else value


def _freeze(value: Any) -> Any:
    if isinstance(value, list) and all(not isinstance(v, dict) for v in value):
        return tuple(value)
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, date | int | float):
        return str(value) if not isinstance(value, date) else value.isoformat()
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"Cannot write {type(value).__name__} as TOML.")


def _toml_table(name: str, values: Mapping[str, Any]) -> str:
    body = "\n".join(f"{k} = {_toml_value(v)}" for k, v in values.items())
    return f"\n[{name}]\n{body}"


def parse_every(every: str) -> tuple[int, str]:
    """Split a period like ``"3mo"`` into ``(3, "mo")``; units d, w, mo, y."""
    match = _EVERY.match(every)
    if match is None:
        raise ConfigError(
            BAD_PARAMETER.format(
                name="every", caller="ModelSpec", rule=CONSTRAINTS["every"], value=every
            )
        )
    return int(match.group(1)), match.group(2)


def available_specs() -> list[str]:
    """Return the names of the specs shipped in ``models/specs/``."""
    folder = resources.files("models") / "specs"
    return sorted(
        p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_spec(name_or_path: str | Path) -> ModelSpec:
    """Load a shipped spec by name, or any spec file by path.

    Parameters
    ----------
    name_or_path : str or Path
        ``"diabetes_harm_365d"`` or ``"models/specs/diabetes_harm_365d.toml"``.

    Returns
    -------
    ModelSpec

    Raises
    ------
    NotFoundError
        Neither a file nor a shipped spec of that name exists.
    ConfigError
        The spec is invalid.
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return ModelSpec.from_toml(path)
    stem = path.stem if path.suffix == ".toml" else str(name_or_path)
    packaged = resources.files("models") / "specs" / f"{stem}.toml"
    if _NAME.match(stem) and packaged.is_file():
        return ModelSpec.from_toml(
            Path(str(packaged)), caller=f"models/specs/{stem}.toml"
        )
    raise NotFoundError(SPEC_NOT_FOUND.format(name=stem))
