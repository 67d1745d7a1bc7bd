"""The model stages in one shape: ``run_<stage>(settings, request) -> result``.

The CLI (:mod:`outreach.app.cli`) and the web app call these and nothing
deeper. Each request is a frozen dataclass of parsed values; each wrapper calls
the engine function that does the work (:func:`models.train.train_model`,
:func:`models.promote.promote_model`, :func:`models.score.score_citizens`,
:func:`models.explain.explain_scores`) and returns its frozen result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypeAlias

from features.settings import EngineSettings
from models.explain import ExplainResult, Language, explain_scores
from models.promote import PromotionResult, promote_model
from models.score import ScoreResult, score_citizens
from models.spec import ModelSpec
from models.train import TrainResult, train_model

__all__ = [
    "ExplainRequest",
    "ExplainResult",
    "PromoteRequest",
    "PromoteResult",
    "ScoreRequest",
    "ScoreResult",
    "TrainRequest",
    "TrainResult",
    "run_explain",
    "run_promote",
    "run_score",
    "run_train",
]

PromoteResult: TypeAlias = PromotionResult


@dataclass(frozen=True)
class TrainRequest:
    """Train, calibrate, validate, log and register the model ``spec`` describes."""

    spec: ModelSpec


@dataclass(frozen=True)
class PromoteRequest:
    """Make ``model`` (``NAME@VERSION``) champion, ``force`` needing a ``reason``."""

    model: str
    force: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class ScoreRequest:
    """Score every cohort member at ``as_of`` with ``model`` (NAME[@ALIAS|@VERSION])."""

    model: str
    as_of: date


@dataclass(frozen=True)
class ExplainRequest:
    """Explain the scores of ``model`` at ``as_of``: ``top`` reasons in ``language``.

    ``ranks``: only the first ``ranks`` ranks (``None``: every scored citizen).
    """

    model: str
    as_of: date
    top: int = 3
    language: Language = "da"
    ranks: int | None = None


def run_train(settings: EngineSettings, request: TrainRequest) -> TrainResult:
    """Train and register one model.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and MLflow store.
    request : TrainRequest
        The validated model spec.

    Returns
    -------
    TrainResult
        The registered URI and the test metrics.

    Raises
    ------
    NotFoundError
        No extract is loaded.
    DataError
        Too little history, or a split without both classes.
    """
    return train_model(request.spec, settings=settings)


def run_promote(settings: EngineSettings, request: PromoteRequest) -> PromoteResult:
    """Move the champion alias if the challenger is at least as good at capacity.

    Parameters
    ----------
    settings : EngineSettings
        The MLflow store.
    request : PromoteRequest
        The version to promote and whether to force it.

    Returns
    -------
    PromoteResult
        The decision and the two precisions at capacity.

    Raises
    ------
    PromotionRefusedError
        The challenger is worse at capacity and ``force`` is not given.
    """
    return promote_model(
        settings, request.model, force=request.force, reason=request.reason
    )


def run_score(settings: EngineSettings, request: ScoreRequest) -> ScoreResult:
    """Write calibrated risk and rank of every cohort member to ``scoring.scores``.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and MLflow store.
    request : ScoreRequest
        The model reference and the as-of date.

    Returns
    -------
    ScoreResult

    Raises
    ------
    NotFoundError
        Unknown model, or no extract loaded.
    """
    return score_citizens(settings, model=request.model, as_of=request.as_of)


def run_explain(settings: EngineSettings, request: ExplainRequest) -> ExplainResult:
    """Explain each score in plain language into ``scoring.reasons``.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and MLflow store.
    request : ExplainRequest
        Model, as-of date, reasons per citizen and their language.

    Returns
    -------
    ExplainResult

    Raises
    ------
    NotFoundError
        The model is unknown or has not scored this date.
    """
    return explain_scores(
        settings,
        model=request.model,
        as_of=request.as_of,
        top=request.top,
        language=request.language,
        ranks=request.ranks,
    )
