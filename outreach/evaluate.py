"""Evaluating outreach honestly: listed versus randomly held-out citizens.

With ``holdout_share > 0``, :mod:`outreach.rank` holds back a seeded random
share of the citizens who would have been listed (``outreach.holdouts``). Once
the follow-up window has passed relative to the loaded extract,
:func:`evaluate_outreach` compares, among the same rank band, the share with an
attended relevant control and the share with an acute hospital contact:
listed versus held out (intention to treat, the honest estimate) and, for
reference, listed-and-reached versus held out (biased by who can be reached).
Intervals are percentile bootstrap intervals. Aggregates only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.db import read_sql, table_exists
from features.errors import NotFoundError
from outreach.app.store import ensure_outreach_tables
from outreach.programmes import Programme

__all__ = ["EvaluationResult", "evaluate_outreach"]

log = logging.getLogger(__name__)

MIN_HELD_OUT = 20
NOT_ENOUGH = (
    "Not enough weeks yet: {n_weeks} list week(s) of {programme!r} have {days} days "
    "of follow-up "
    "before the extract date {extract_date}, with {n_held_out} held-out citizen(s); "
    "at least {minimum} are needed."
)
ESTIMATE_NOTE = (
    "listed_vs_held_out is the intention-to-treat estimate; "
    "reached_vs_held_out is biased by who can be reached."
)
NO_EXTRACT = (
    "No extract is loaded (raw.extract_info). Run `opspor load EXTRACT_DIR` first."
)
_OUTCOMES = {
    "has_attended_control": "attended relevant control",
    "has_acute_contact": "acute hospital contact",
}


@dataclass(frozen=True)
class EvaluationResult:
    """The effect estimate of outreach, or why there is none yet."""

    programme: str
    status: str
    message: str
    follow_up_days: int
    extract_date: str
    n_weeks: int
    n_listed: int
    n_held_out: int
    estimates: list[dict[str, Any]] = field(default_factory=list)


def _bootstrap(
    a: np.ndarray, b: np.ndarray, *, n_boot: int, seed: int
) -> tuple[float, float]:
    """95% percentile interval of mean(a) - mean(b), resampling each arm."""
    rng = np.random.default_rng(seed)
    means_a = a[rng.integers(0, len(a), size=(n_boot, len(a)))].mean(axis=1)
    means_b = b[rng.integers(0, len(b), size=(n_boot, len(b)))].mean(axis=1)
    low, high = np.percentile(means_a - means_b, [2.5, 97.5])
    return float(low), float(high)


def _estimate(
    treated: pd.Series,
    held: pd.Series,
    *,
    outcome: str,
    comparison: str,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    """One difference in proportions with its bootstrap interval."""
    a = treated.to_numpy(dtype=float)
    b = held.to_numpy(dtype=float)
    low, high = (
        _bootstrap(a, b, n_boot=n_boot, seed=seed)
        if len(a)
        else (float("nan"), float("nan"))
    )
    return {
        "outcome": outcome,
        "comparison": comparison,
        "n_treated": int(len(a)),
        "n_held_out": int(len(b)),
        "treated_rate": round(float(a.mean()), 4) if len(a) else None,
        "held_out_rate": round(float(b.mean()), 4),
        "difference": round(float(a.mean() - b.mean()), 4) if len(a) else None,
        "ci_low": round(low, 4) if len(a) else None,
        "ci_high": round(high, 4) if len(a) else None,
    }


def evaluate_outreach(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    *,
    follow_up_days: int | None = None,
    min_held_out: int = MIN_HELD_OUT,
    n_boot: int = 2000,
    seed: int = 0,
) -> EvaluationResult:
    """Estimate the effect of outreach from the randomised hold-outs.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (``outreach.*``, ``raw.appointments``, ``raw.hospital_contacts``).
    programme : Programme
        Its relevant controls and default follow-up window.
    follow_up_days : int, optional
        Window after the list week's Monday; default ``programme.follow_up_days``.
    min_held_out : int
        Fewest held-out citizens with a full follow-up needed for an estimate.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    EvaluationResult
        ``status`` ``ok`` with estimates, or ``not_enough_weeks`` with the reason.

    Raises
    ------
    NotFoundError
        No extract is loaded.
    """
    days = follow_up_days or programme.follow_up_days
    ensure_outreach_tables(con)
    if not table_exists(con, "raw", "extract_info"):
        raise NotFoundError(NO_EXTRACT)
    extract_date = con.execute(
        "select max(extract_date) from raw.extract_info"
    ).fetchone()[0]  # type: ignore[index]
    frame = con.execute(
        read_sql("outreach", "sql", "evaluate_followup.sql"),
        {
            "programme": programme.name,
            "follow_up_days": days,
            "extract_date": extract_date,
            "relevant_controls": list(programme.relevant_controls),
        },
    ).df()
    listed, held = frame[frame["arm"] == "listed"], frame[frame["arm"] == "held_out"]
    base: dict[str, Any] = {
        "programme": programme.name,
        "follow_up_days": days,
        "extract_date": str(extract_date),
        "n_weeks": int(frame["week"].nunique()),
        "n_listed": len(listed),
        "n_held_out": len(held),
    }
    if len(held) < min_held_out:
        message = NOT_ENOUGH.format(
            n_weeks=base["n_weeks"],
            programme=programme.name,
            days=days,
            extract_date=extract_date,
            n_held_out=len(held),
            minimum=min_held_out,
        )
        return EvaluationResult(status="not_enough_weeks", message=message, **base)
    estimates = [
        _estimate(
            group[column],
            held[column],
            outcome=label,
            comparison=comparison,
            n_boot=n_boot,
            seed=seed,
        )
        for column, label in _OUTCOMES.items()
        for comparison, group in (
            ("listed_vs_held_out", listed),
            ("reached_vs_held_out", listed[listed["is_reached"]]),
        )
    ]
    log.info(
        "evaluated %s: %s listed, %s held out", programme.name, len(listed), len(held)
    )
    return EvaluationResult(
        status="ok",
        message=ESTIMATE_NOTE,
        estimates=estimates,
        **base,
    )
