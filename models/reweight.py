"""Event weights for groups whose harm is recorded less: a spec's ``reweight``.

Where complications are recorded mainly at attended screenings, a citizen who
stays away has harm the data never shows, and a model learns "engaged -> harm
recorded". A spec can answer with inverse-recording weights: training rows
whose label is an event and who meet any of the ``reweight.rules`` (observed
engagement, e.g. no eye screening for two years; the same rule tables as the
rule baseline) count ``event_weight`` times in the fit. Weighting whole groups
would not move a flexible model's ranking (it fits each group's own rate);
weighting their recorded events by about one over the share recorded does.
Calibration stays on unweighted held-out rows, so risks keep the recorded
outcome's scale. Education and origin are never used (audit only).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["citizen_weights", "event_weights", "rows_met"]

_OPS: Mapping[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}


def rows_met(frame: pd.DataFrame, rules: Any) -> NDArray[np.bool_]:
    """Rows meeting any rule (``missing_is_met`` decides for a missing value)."""
    met = np.zeros(len(frame), dtype=bool)
    for rule in rules:
        x = pd.to_numeric(frame[str(rule["feature"])], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        with np.errstate(invalid="ignore"):
            hit = _OPS[str(rule["op"])](x, float(rule["threshold"]))
        missing = bool(rule.get("missing_is_met", False))
        met |= np.where(np.isnan(x), missing, hit)
    return met


def event_weights(
    frame: pd.DataFrame, labels: NDArray[Any], reweight: Mapping[str, Any]
) -> NDArray[np.float64]:
    """One weight per row: ``event_weight`` for events meeting a rule, else 1."""
    events = np.asarray(labels).astype(bool)
    boost = events & rows_met(frame, reweight["rules"])
    return np.where(boost, float(reweight["event_weight"]), 1.0)


def citizen_weights(citizen_ids: Any, mode: str) -> NDArray[np.float64]:
    """One weight per row so that each citizen's rows weigh alike (mean weight 1).

    A citizen seen at ``n`` index dates has ``n`` near-identical rows; counted
    as they are (``"rows"``) such citizens dominate the fit and a flexible model
    learns them by heart. ``"equal"`` gives each row ``1 / n`` (every citizen
    weighs one), ``"sqrt"`` ``1 / sqrt(n)`` (a citizen weighs ``sqrt(n)``). The
    weights are then scaled to a mean of 1, so the estimator's regularisation
    keeps the scale it has with unit weights.

    Parameters
    ----------
    citizen_ids : array-like
        The citizen of each training row.
    mode : {"rows", "equal", "sqrt"}
        The spec's ``citizen_weights``.

    Returns
    -------
    numpy.ndarray
        Positive weights, one per row, with mean 1.
    """
    ids = pd.Series(np.asarray(citizen_ids))
    if mode == "rows" or ids.empty:
        return np.ones(len(ids))
    rows = ids.map(ids.value_counts()).to_numpy(dtype=np.float64)
    raw: NDArray[np.float64] = 1.0 / (rows if mode == "equal" else np.sqrt(rows))
    return raw / float(raw.mean())
