"""Alerts of the monitor: one finding in plain words, with its figure and threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Alert"]


@dataclass(frozen=True)
class Alert:
    """One figure past its threshold in ``monitoring.toml``.

    Parameters
    ----------
    code : str
        ``volume_drop``, ``lab_value_shift``, ``code_system_lost``, ``code_lost``,
        ``quarantine_rate``, ``feature_drift``, ``missing_increase``,
        ``score_drift``, ``precision_shortfall``.
    section : str
        ``data``, ``inputs`` or ``performance``.
    subject : str
        What it is about (a table, an analyte, a feature).
    message : str
        Plain-language finding.
    value, threshold : float
        The figure and the threshold it passed.
    """

    code: str
    section: str
    subject: str
    message: str
    value: float
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        """Return the alert in ``monitoring.json`` shape."""
        value = None if math.isnan(self.value) else round(self.value, 6)
        return {
            "code": self.code,
            "section": self.section,
            "subject": self.subject,
            "message": self.message,
            "value": value,
            "threshold": self.threshold,
        }
