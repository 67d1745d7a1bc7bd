"""Models of Opspor: labels, training, validation, calibration, scores, reasons, MLflow.

Data flow: ``marts.scoring_features`` (from :mod:`features`) and the label SQL of
``models/sql/outcomes/`` -> :func:`train_model` (a registered, validated model)
-> :func:`score_citizens` (``scoring.scores``) -> :func:`explain_scores`
(``scoring.reasons``); :func:`promote_model` moves a name's ``champion`` alias.
Entry points load lazily, so ``import models`` stays cheap for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "ModelSpec",
    "PromotionRefusedError",
    "RuleBaselineClassifier",
    "TrainResult",
    "build_labels",
    "build_training_matrix",
    "explain_scores",
    "load_spec",
    "promote_model",
    "score_citizens",
    "train_model",
]

_WHERE = {
    "ModelSpec": "models.spec",
    "load_spec": "models.spec",
    "PromotionRefusedError": "models.promote",
    "promote_model": "models.promote",
    "RuleBaselineClassifier": "models.baseline",
    "TrainResult": "models.train",
    "train_model": "models.train",
    "build_labels": "models.outcomes",
    "build_training_matrix": "models.matrix",
    "explain_scores": "models.explain",
    "score_citizens": "models.score",
}


def __getattr__(name: str) -> Any:
    """Import an entry point on first use."""
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
