"""Feature drift, score bins and small-cell suppression on hand-made data (issue 16)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reports.monitor_config import MonitorConfig
from reports.monitor_inputs import _alerts, feature_drift, score_bins, suppress_counts

REFERENCE = {
    "features": {
        "x": {
            "kind": "numeric",
            "edges": [10.0, 20.0],
            "shares": [0.25, 0.5, 0.25],
            "missing_share": 0.0,
        },
        "c": {
            "kind": "categorical",
            "categories": ["a", "b"],
            "shares": [0.5, 0.5, 0.0],
            "missing_share": 0.1,
        },
    }
}


def test_feature_drift_same_distribution_is_zero() -> None:
    frame = pd.DataFrame({"x": [5.0, 12.0, 15.0, 25.0], "c": ["a", "b"] * 2})
    drift = feature_drift(frame, REFERENCE, min_cell_size=1)
    assert drift["x"]["psi"] == pytest.approx(0.0)
    assert drift["x"]["shares"] == [0.25, 0.5, 0.25]


def test_feature_drift_shifted_values_by_hand() -> None:
    # every value above 20: shares (1e-4, 1e-4, 1) renormalised against (.25, .5, .25)
    frame = pd.DataFrame({"x": [21.0, 30.0, 40.0, 50.0], "c": ["a", "b", None, None]})
    drift = feature_drift(frame, REFERENCE, min_cell_size=1)
    a = np.array([1e-4, 1e-4, 1.0]) / 1.0002
    e = np.array([0.25, 0.5, 0.25])
    assert drift["x"]["psi"] == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
    assert drift["c"]["missing_share"] == 0.5
    codes = {(a.code, a.subject) for a in _alerts(_section(drift), MonitorConfig())}
    assert codes == {("feature_drift", "x"), ("missing_increase", "c")}


def _section(drift: dict[str, object]) -> dict[str, object]:
    scores = {"psi": None, "first_scored": None}
    return {"as_of_date": "2026-11-23", "features": drift, "scores": scores}


def test_feature_drift_too_few_rows_is_not_judged() -> None:
    frame = pd.DataFrame({"x": [21.0, 30.0], "c": ["a", "b"]})
    drift = feature_drift(frame, REFERENCE, min_cell_size=10)
    assert drift["x"]["psi"] is None and drift["x"]["shares"] is None


def test_score_bins_by_hand() -> None:
    assert score_bins([0.0, 0.05, 0.15, 0.99, 1.0]) == pytest.approx(
        [0.4, 0.2, 0, 0, 0, 0, 0, 0, 0, 0.4]
    )


def test_suppress_counts_hides_small_cells_and_their_complement() -> None:
    cells = suppress_counts({"basic": 30, "long": 5, "vocational": 12}, 10)
    assert cells["long"] == {"n": None, "share": None, "suppressed": True}
    # one hidden cell could be had from the total: the next smallest is hidden too
    assert cells["vocational"]["suppressed"] is True
    assert cells["basic"] == {"n": 30, "share": 30 / 47, "suppressed": False}


def test_suppress_counts_nothing_small() -> None:
    cells = suppress_counts({"390": 14, "376": 13}, 10)
    assert not any(c["suppressed"] for c in cells.values())
    assert math.isclose(sum(c["share"] for c in cells.values()), 1.0)


def test_calendar_feature_drift_is_shown_without_an_alert() -> None:
    """A feature that grows with the calendar keeps its PSI but raises no alert."""
    frame = pd.DataFrame({"x": [21.0, 30.0, 40.0, 50.0], "c": ["a", "b", None, None]})
    drift = feature_drift(frame, REFERENCE, min_cell_size=1)
    config = MonitorConfig().with_overrides(calendar_features={"x*": "grows weekly"})
    codes = {(a.code, a.subject) for a in _alerts(_section(drift), config)}
    assert codes == {("missing_increase", "c")}
    assert drift["x"]["psi"] > config.max_psi
    assert config.calendar_reason("x_days") == "grows weekly"
    assert config.calendar_reason("c") is None
