"""Promotion: the ``champion`` alias moves only to a model at least as good at capacity.

:func:`promote_model` (``opspor promote NAME@VERSION [--force --reason TEXT]``)
rebuilds the challenger's test set from the warehouse (its latest fully
observed index date, its test group of citizens), scores it with the challenger
and with the current champion, and compares precision at the programme's
weekly capacity k. The alias moves only if the challenger is at least as good,
or with ``--force`` and a reason. Every decision is recorded: a tag on the
challenger's model version and a row in ``models.promotions``. A refusal raises
:class:`PromotionRefusedError` after it is recorded.

Both models are scored on the same rows. The champion's own training data may
overlap them if it was trained with another ``random_state`` (which salts the
citizen split) or test share; the shipped specs share one ``random_state`` so
that their test groups agree.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from features.db import connect, transaction
from features.errors import ConfigError, OpsporError
from features.settings import EngineSettings
from models.calibrate import predict_risk, rank_order, raw_margin
from models.matrix import (
    assign_splits,
    build_training_matrix,
    check_split,
    feature_kinds,
)
from models.metrics import precision_at_k_score
from models.score import RegisteredModel, load_registered_model
from models.train import prepare_training_data
from models.validate import k_values

__all__ = ["PromotionRefusedError", "PromotionResult", "promote_model"]

logger = logging.getLogger(__name__)

REFUSED = (
    "Version {version} of {name!r} was not promoted: its precision@{k} is "
    "{challenger:.3f} against "
    "{champion:.3f} for the champion (version {champion_version}) on the same test "
    "data "
    '({test_date}, {n} citizens). Use --force --reason "..." to override; '
    "the reason is recorded."
)
FORCE_NEEDS_REASON = (
    "--force needs --reason: say why the gate is overridden; the reason is recorded."
)
NEEDS_VERSION = (
    "Promote names one version: NAME@VERSION (e.g. diabetes_harm_365d@3). Got {ref!r}."
)
OTHER_OUTCOME = (
    "Version {version} of {name!r} predicts {challenger!r} but the champion predicts "
    "{champion!r}; "
    "they cannot be compared on the same test data."
)
PROMOTIONS_DDL = (
    "create table if not exists models.promotions ("
    " decided_at timestamp not null, name varchar not null, challenger_version "
    "varchar not null,"
    " champion_version varchar, decision varchar not null, metric varchar not null, k "
    "integer,"
    " test_date date, n_test integer, challenger_value double, champion_value double,"
    " forced boolean not null, reason varchar)"
)


class PromotionRefusedError(OpsporError):
    """The challenger is worse than the champion at capacity, and no override given."""


@dataclass(frozen=True)
class PromotionResult:
    """A promotion decision (also recorded in MLflow and ``models.promotions``)."""

    name: str
    version: str
    previous_champion: str | None
    decision: str
    promoted: bool
    forced: bool
    reason: str | None
    metric: str
    k: int | None
    test_date: date | None
    n_test: int | None
    challenger_value: float | None
    champion_value: float | None


def _test_rows(
    con: duckdb.DuckDBPyConnection,
    challenger: RegisteredModel,
    champion: RegisteredModel,
) -> tuple[pd.DataFrame, int, date]:
    """Return the challenger's test set, with the features of both models."""
    spec = challenger.spec
    data = prepare_training_data(con, spec, test_only=True)
    features = list(
        dict.fromkeys([*spec.model_features, *champion.spec.model_features])
    )
    kinds = feature_kinds(con, features, spec=spec.name)
    labelled = build_training_matrix(
        con,
        outcome=spec.outcome,
        features=features,
        dates=[data.test_date],
        kinds=kinds,
    )
    matrix = assign_splits(
        labelled,
        test_date=data.test_date,
        horizon_days=spec.horizon_days,
        test_share=spec.test_share,
        calibration_share=spec.calibration_share,
        random_state=spec.random_state,
    )
    test = matrix[matrix["split"] == "test"].reset_index(drop=True)
    check_split(test, "test", spec=spec.name)
    return test, len(labelled), data.test_date


def _precision(registered: RegisteredModel, test: pd.DataFrame, k: int) -> float:
    X = test[list(registered.spec.model_features)]
    order = rank_order(
        predict_risk(registered.model, X),
        raw_margin(registered.model, X),
        test["citizen_id"].to_numpy(),
    )
    return precision_at_k_score(test["label"].to_numpy(), order, k)


def _record(
    con: duckdb.DuckDBPyConnection, settings: EngineSettings, result: PromotionResult
) -> None:
    """Write the decision to models.promotions and tag the challenger's version."""
    from models import tracking

    row: dict[str, Any] = {
        "decided_at": datetime.now(),
        "name": result.name,
        "challenger_version": result.version,
        "champion_version": result.previous_champion,
        "decision": result.decision,
        "metric": result.metric,
        "k": result.k,
        "test_date": result.test_date,
        "n_test": result.n_test,
        "challenger_value": result.challenger_value,
        "champion_value": result.champion_value,
        "forced": result.forced,
        "reason": result.reason,
    }
    con.execute("create schema if not exists models")
    con.execute(PROMOTIONS_DDL)
    with transaction(con):
        con.execute(
            "insert into models.promotions values ($decided_at, $name, "
            "$challenger_version,"
            " $champion_version, $decision, $metric, $k, $test_date, $n_test, "
            "$challenger_value,"
            " $champion_value, $forced, $reason)",
            row,
        )
    summary = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
    tracking.tag_version(
        settings, result.name, result.version, {"opspor.promotion": json.dumps(summary)}
    )


def promote_model(
    settings: EngineSettings,
    ref: str,
    *,
    force: bool = False,
    reason: str | None = None,
) -> PromotionResult:
    """Move ``champion`` to ``NAME@VERSION`` if it is at least as good at capacity.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and MLflow store.
    ref : str
        ``NAME@VERSION``.
    force : bool
        Promote even if worse (needs ``reason``).
    reason : str, optional
        Why the gate is overridden; recorded.

    Returns
    -------
    PromotionResult

    Raises
    ------
    ConfigError
        ``ref`` names no version, or ``--force`` without a reason.
    PromotionRefusedError
        The challenger is worse at capacity and ``force`` is not given.
    """
    from models import tracking

    name, which = tracking.parse_model_ref(ref)
    if which is None or not which.isdigit():
        raise ConfigError(NEEDS_VERSION.format(ref=ref))
    if force and not (reason and reason.strip()):
        raise ConfigError(FORCE_NEEDS_REASON)
    challenger = load_registered_model(settings, ref)
    current = tracking.champion_version(settings, name)
    con = connect(settings.warehouse)
    try:
        result = _decide(con, settings, challenger, current, force=force, reason=reason)
        _record(con, settings, result)
    finally:
        con.close()
    if not result.promoted:
        raise PromotionRefusedError(
            REFUSED.format(
                version=result.version,
                name=name,
                k=result.k,
                challenger=result.challenger_value,
                champion=result.champion_value,
                champion_version=current,
                test_date=result.test_date,
                n=result.n_test,
            )
        )
    tracking.set_alias(settings, name, challenger.version)
    logger.info(
        "%s: champion is now version %s (%s)", name, challenger.version, result.decision
    )
    return result


def _decide(
    con: duckdb.DuckDBPyConnection,
    settings: EngineSettings,
    challenger: RegisteredModel,
    current: str | None,
    *,
    force: bool,
    reason: str | None,
) -> PromotionResult:
    """Compare challenger and champion on the same test rows and decide."""
    base: dict[str, Any] = {
        "name": challenger.name,
        "version": challenger.version,
        "previous_champion": current,
        "forced": force,
        "reason": reason,
        "metric": "precision_at_capacity",
    }
    if current is None or current == challenger.version:
        return PromotionResult(
            **base,
            decision="no_champion" if current is None else "already_champion",
            promoted=True,
            k=None,
            test_date=None,
            n_test=None,
            challenger_value=None,
            champion_value=None,
        )
    champion = load_registered_model(settings, f"{challenger.name}@{current}")
    if champion.spec.outcome != challenger.spec.outcome:
        raise ConfigError(
            OTHER_OUTCOME.format(
                version=challenger.version,
                name=challenger.name,
                challenger=challenger.spec.outcome,
                champion=champion.spec.outcome,
            )
        )
    test, n_cohort, test_date = _test_rows(con, challenger, champion)
    spec = challenger.spec
    k = k_values(
        capacity_k=spec.capacity_k,
        k_shares=spec.k_shares,
        n_test=len(test),
        n_cohort=n_cohort,
    )["capacity"]
    ours, theirs = _precision(challenger, test, k), _precision(champion, test, k)
    better = ours >= theirs
    decision = "promoted" if better else ("forced" if force else "refused")
    return PromotionResult(
        **base,
        decision=decision,
        promoted=better or force,
        k=k,
        test_date=test_date,
        n_test=len(test),
        challenger_value=ours,
        champion_value=theirs,
    )
