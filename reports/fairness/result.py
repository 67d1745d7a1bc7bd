"""What one fairness audit returns: a FairnessAudit holding its Flags.

The leaf of :mod:`reports.fairness`: the result types every other module of the
package fills in or reads, and :func:`num`, the one rule for a number in
``fairness.json`` (a finite float, else null). Aggregates only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ALL",
    "DETECTION_POWER",
    "FairnessAudit",
    "Flag",
    "OVERALL",
    "num",
]

OVERALL = "overall"
ALL = "all"
#: Power at which the label check's minimum detectable recording ratio is told.
DETECTION_POWER = 0.8


@dataclass(frozen=True)
class Flag:
    """One finding in plain words; ``severity="breach"`` fails a release gate."""

    code: str
    grouping: str
    group: str
    message: str
    severity: str
    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    message_da: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the flag in ``fairness.json`` shape."""
        return {
            "code": self.code,
            "grouping": self.grouping,
            "group": self.group,
            "message": self.message,
            "message_da": self.message_da,
            "severity": self.severity,
            "metric": self.metric,
            "estimate": num(self.estimate),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
        }


@dataclass(frozen=True)
class FairnessAudit:
    """Aggregated result of one audit; holds no person-level data.

    Attributes
    ----------
    k : int
        Capacity audited.
    counts : dict
        ``n_cohort``, ``n_selected``, ``n_observed`` (outcome observable).
    overall : dict
        Metric -> cell over the whole cohort.
    groupings : dict
        Grouping -> reference, columns and per-group cells (see ``fairness.json``).
    mitigation : dict
        Re-ranking comparison at the same capacity (shown, never applied).
    curve_k : list of int
        Capacities of the curve over k.
    flags : tuple of Flag
    summary : tuple of str
        Six plain-language sentences for the first page.
    context : dict
        Programme, scope, as-of date, model URI as given by the caller.
    comparison : dict
        Alternative models ranked beside the audited one (``reports.compare``).
    reach : dict
        Each group's recall@k against reference rankings (``reports.reach``);
        ``reach_against`` in ``fairness.json``.
    """

    k: int
    counts: dict[str, int]
    overall: dict[str, Any]
    groupings: dict[str, Any]
    mitigation: dict[str, Any]
    curve_k: list[int]
    flags: tuple[Flag, ...]
    summary: tuple[str, ...]
    context: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    summary_da: tuple[str, ...] = ()
    comparison: dict[str, Any] = field(default_factory=dict)
    reach: dict[str, Any] = field(default_factory=dict)

    @property
    def breaches(self) -> tuple[Flag, ...]:
        """Flags whose severity is ``breach``."""
        return tuple(f for f in self.flags if f.severity == "breach")

    def to_dict(self) -> dict[str, Any]:
        """Everything in ``fairness.json``: figures, intervals, flags, summary."""
        return {
            "schema": "opspor-fairness/1",
            "context": dict(self.context),
            "k": self.k,
            **self.counts,
            "settings": dict(self.settings),
            "summary": list(self.summary),
            "summary_da": list(self.summary_da),
            "flags": [f.as_dict() for f in self.flags],
            "overall": self.overall,
            "groupings": self.groupings,
            "curve_k": list(self.curve_k),
            "mitigation": self.mitigation,
            "comparison": dict(self.comparison),
            "reach_against": dict(self.reach),
        }


def num(value: Any) -> float | None:
    """Return a finite float, else None (JSON null)."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
