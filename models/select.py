"""Boosting iterations chosen on held-out citizens: a spec's ``max_iter_choices``.

A gradient boosting with a fixed number of iterations fits a small extract's
training citizens by heart: each citizen appears at several nearly identical
index dates, and scikit-learn switches its own early stopping off below
10,000 rows. On the tuning worlds (``bench.robustness``, seeds 101-108, 30,000
citizens) 600 iterations ranked at a median 0.65 of the true-risk ranking,
100-250 at 0.71-0.73. How many a region supports depends on how many
citizens it has, so the number is chosen per extract, never fixed per world:

1. fit the spec's pipeline once with the largest choice, on the training
   citizens (their sample weights as :func:`models.train.fit_model` gives them);
2. score the calibration citizens after each choice of iterations
   (``staged_predict_proba``, so one fit serves every choice) and take the
   choice with the lowest log loss, a smooth figure over every held-out row
   (not precision at a few hundred rows); ties go to fewer iterations;
3. train as before with ``params.max_iter`` set to the choice. When the
   choice reaches the iterations the fit of step 1 ran (the largest choice, as
   on large extracts, or beyond where scikit-learn's early stopping ended it),
   that fit *is* the training fit (same rows, weights, parameters and seed), so
   :func:`models.train.train_model` hands it to
   :func:`models.train.fit_model` instead of fitting it a second time
   (``IterationChoice.widest``; one fit of three saved; identical model).

The calibration citizens thus serve twice: for this one-number choice and
for the two-parameter calibration map. Both are low-dimensional fits, and the
test citizens stay unseen by either, so the validation on them stays honest.
The choice and each candidate's log loss are recorded (aggregates only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import log_loss

from models.calibrate import limited_threads
from models.spec import ModelSpec

__all__ = ["IterationChoice", "choose_max_iter", "staged_log_loss"]


@dataclass(frozen=True)
class IterationChoice:
    """The chosen number of boosting iterations and what it was chosen on."""

    max_iter: int
    log_loss: dict[int, float]
    rows_validation: int
    events_validation: int
    #: The pipeline fitted with the largest choice on the training rows (never
    #: logged); the training fit itself when :attr:`is_widest`.
    widest: Any = field(default=None, repr=False, compare=False)
    #: Iterations the widest fit ran: fewer than the largest choice where
    #: scikit-learn's own early stopping ended it (above 10,000 rows).
    iterations_run: int = 0

    @property
    def is_widest(self) -> bool:
        """Tell whether the widest fit is the training fit of the choice.

        True when the choice reaches the iterations that fit ran: a fit asked
        for that many runs the same iterations (same rows, weights, parameters
        and seed; early stopping ends it at the same one).
        """
        return self.widest is not None and self.max_iter >= self.iterations_run

    def params(self) -> dict[str, str]:
        """Return MLflow params: the choice and each candidate's validation log loss."""
        out = {"selection.max_iter": str(self.max_iter)}
        out.update(
            {f"selection.log_loss.{n}": f"{v:.5f}" for n, v in self.log_loss.items()}
        )
        return out

    def report(self) -> dict[str, Any]:
        """Return the training report's entry (aggregates only)."""
        return {
            "chosen_max_iter": self.max_iter,
            "validation_log_loss": {
                str(n): round(v, 5) for n, v in self.log_loss.items()
            },
            "rows_validation": self.rows_validation,
            "events_validation": self.events_validation,
            "validated_on": "calibration citizens (fitted on training citizens)",
            "iterations_run_by_widest_fit": self.iterations_run,
            "selection_fit_reused": self.is_widest,
        }


def staged_log_loss(
    pipeline: Any, X: pd.DataFrame, y: NDArray[Any], choices: tuple[int, ...]
) -> dict[int, float]:
    """Log loss on ``X`` after each number of iterations in ``choices``.

    ``pipeline`` is a fitted preprocessing + gradient boosting pipeline; a
    choice beyond the iterations it ran scores as its last iteration.
    """
    Xt = pipeline[:-1].transform(X)
    wanted = set(choices)
    losses: dict[int, float] = {}
    proba = None
    for i, proba in enumerate(pipeline[-1].staged_predict_proba(Xt), start=1):
        if i in wanted:
            losses[i] = float(log_loss(y, proba[:, 1], labels=[0, 1]))
    last = math.nan if proba is None else float(log_loss(y, proba[:, 1], labels=[0, 1]))
    return {n: losses.get(n, last) for n in sorted(wanted)}


def choose_max_iter(
    matrix: pd.DataFrame, spec: ModelSpec, kinds: Mapping[str, str]
) -> tuple[ModelSpec, IterationChoice]:
    """Choose ``params.max_iter`` from ``spec.max_iter_choices`` on held-out citizens.

    Parameters
    ----------
    matrix : pandas.DataFrame
        The training matrix (its ``calibration`` rows validate).
    spec : ModelSpec
        A gradient boosting spec with ``max_iter_choices``.
    kinds : Mapping
        ``feature -> "categorical" | "numeric"``.

    Returns
    -------
    (ModelSpec, IterationChoice)
        The spec with ``params.max_iter`` set to the choice, and the record.
    """
    from models.train import build_pipeline, training_rows

    choices = tuple(sorted(spec.max_iter_choices or ()))
    features = list(spec.model_features)
    widest = replace(spec, params={**spec.params, "max_iter": choices[-1]})
    train, labels, fit_args = training_rows(matrix, widest)
    pipeline = build_pipeline(widest, kinds)
    with limited_threads():
        pipeline.fit(train[features], labels, **fit_args)
    held = matrix[matrix["split"] == "calibration"]
    y = held["label"].to_numpy()
    with limited_threads():
        losses = staged_log_loss(pipeline, held[features], y, choices)
    best = min(losses, key=lambda n: (round(losses[n], 12), n))
    ran = int(getattr(pipeline[-1], "n_iter_", choices[-1]))
    choice = IterationChoice(
        best, losses, len(held), int(np.sum(y)), widest=pipeline, iterations_run=ran
    )
    return replace(spec, params={**spec.params, "max_iter": best}), choice
