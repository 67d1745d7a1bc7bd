"""Drift metrics on hand-made data (issue 16)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from reports.drift import (
    last_full_months,
    median_ratio,
    month_series,
    population_stability_index,
    shares,
    volume_drop,
)


def test_population_stability_index_by_hand() -> None:
    # (0.3-0.5)ln(0.3/0.5) + (0.7-0.5)ln(0.7/0.5)
    expected = -0.2 * math.log(0.6) + 0.2 * math.log(1.4)
    assert population_stability_index([0.5, 0.5], [0.3, 0.7]) == pytest.approx(expected)


def test_population_stability_index_identical_is_zero() -> None:
    assert population_stability_index([0.1, 0.2, 0.7], [0.1, 0.2, 0.7]) == 0.0


def test_population_stability_index_empty_bin_is_finite() -> None:
    value = population_stability_index([0.5, 0.5, 0.0], [0.4, 0.4, 0.2])
    assert math.isfinite(value) and value > 0.25


def test_population_stability_index_length_mismatch() -> None:
    with pytest.raises(ValueError, match="Bin shares differ in length: 2 vs 3."):
        population_stability_index([0.5, 0.5], [0.2, 0.3, 0.5])


def test_last_full_months_leaves_out_the_extract_month() -> None:
    assert last_full_months(date(2026, 2, 10), 3) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]


def test_month_series_counts_absent_months_as_zero() -> None:
    months = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert month_series([(date(2026, 1, 1), 5), (date(2026, 3, 1), 7)], months) == [
        5,
        0,
        7,
    ]


def test_volume_drop_halved_by_hand() -> None:
    # 12 typical months of 100 (one month 80: median stays 100), then 3 months of 50
    months = last_full_months(date(2026, 11, 23), 15)
    counts = [100] * 12 + [50, 50, 50]
    counts[3] = 80
    recent, typical, drop = volume_drop(
        list(zip(months, counts, strict=True)),
        date(2026, 11, 23),
        recent_months=3,
        typical_months=12,
    )
    assert (recent, typical, drop) == (50.0, 100.0, 0.5)


def test_volume_drop_missing_recent_months_count_zero() -> None:
    months = last_full_months(date(2026, 11, 23), 15)
    volume = [(m, 40) for m in months[:12]]
    _, typical, drop = volume_drop(
        volume, date(2026, 11, 23), recent_months=3, typical_months=12
    )
    assert typical == 40.0 and drop == 1.0


def test_median_ratio_unit_change() -> None:
    mmol = [40.0, 48.0, 52.0, 60.0, 75.0]
    percent = [5.8, 6.5, 6.9, 7.6, 9.0]
    assert median_ratio(percent, mmol) == pytest.approx(6.9 / 52.0)
    assert math.isnan(median_ratio([], mmol))


def test_shares_of_counts() -> None:
    assert shares({"SKS": 1, "ICPC2": 3}) == {"SKS": 0.25, "ICPC2": 0.75}
    assert shares({"SKS": 0}) == {}
