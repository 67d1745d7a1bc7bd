"""Drift metrics on aggregates: population stability, volume drop, median shift.

Each function takes counts, shares or value arrays and returns a number; none
reads the warehouse. :mod:`reports.monitor_data` and :mod:`reports.monitor_inputs`
apply them, and the tests check each on hand-made data.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

__all__ = [
    "PSI_FLOOR",
    "last_full_months",
    "median_ratio",
    "month_series",
    "population_stability_index",
    "shares",
    "volume_drop",
]

#: Shares below this are raised to it, so an empty bin gives a finite PSI.
PSI_FLOOR = 1e-4


def population_stability_index(
    expected: Sequence[float], actual: Sequence[float]
) -> float:
    """Return the PSI of two bin-share vectors: sum((a - e) * ln(a / e)).

    Parameters
    ----------
    expected, actual : sequence of float
        Shares per bin (reference, current); each is renormalised to sum to 1
        after raising empty bins to :data:`PSI_FLOOR`.

    Returns
    -------
    float
        0 for identical shares; 0.1-0.25 is usually read as a moderate shift,
        above 0.25 as a major one.
    """
    e = np.maximum(np.asarray(expected, dtype=float), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), PSI_FLOOR)
    if e.shape != a.shape or e.size == 0:
        raise ValueError(f"Bin shares differ in length: {e.size} vs {a.size}.")
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def last_full_months(extract_date: date, n: int) -> list[date]:
    """Return the ``n`` full months before the month of ``extract_date``, ascending."""
    end = _month_index(extract_date)
    return [_month_start(i) for i in range(end - n, end)]


def month_series(
    volume: Sequence[tuple[date, int]], months: Sequence[date]
) -> list[int]:
    """Return the count of each of ``months`` (absent months count 0)."""
    counts = {_month_index(m): n for m, n in volume}
    return [counts.get(_month_index(m), 0) for m in months]


def volume_drop(
    volume: Sequence[tuple[date, int]],
    extract_date: date,
    *,
    recent_months: int,
    typical_months: int,
) -> tuple[float, float, float]:
    """Compare the recent monthly volume with the typical one before it.

    Parameters
    ----------
    volume : sequence of (date, int)
        ``(month start, events)`` as :func:`features.coverage.monthly_volume`.
    extract_date : date
        The extract's date; its (partial) month is left out.
    recent_months, typical_months : int
        The last ``recent_months`` full months are compared with the median of
        the ``typical_months`` months before them.

    Returns
    -------
    (float, float, float)
        Recent mean per month, typical (median) per month, and the drop
        ``1 - recent / typical`` (0 when typical is 0; negative for a rise).
    """
    months = last_full_months(extract_date, recent_months + typical_months)
    series = month_series(volume, months)
    typical = float(statistics.median(series[:typical_months]))
    recent = float(np.mean(series[typical_months:]))
    drop = 0.0 if typical == 0 else 1.0 - recent / typical
    return recent, typical, drop


def median_ratio(recent: Sequence[float], typical: Sequence[float]) -> float:
    """Median of ``recent`` over the median of ``typical`` (nan when undefined)."""
    if len(recent) == 0 or len(typical) == 0:
        return float("nan")
    base = float(np.median(typical))
    return float("nan") if base == 0 else float(np.median(recent)) / base


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each key's share of the total (empty for a zero total)."""
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}
