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

__all__ = ["event_weights", "rows_met"]

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
