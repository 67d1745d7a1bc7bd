"""The robustness bench's figures on hand-made worlds (no generation, no training)."""

from __future__ import annotations

import math

import pandas as pd

from bench.robustness import (
    _education_summary,
    _ranking_entry,
    share_ratio,
    table,
    top_k_ranked,
    with_rule,
)


def _truth() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "true_risk_harm_365d": [0.9, 0.8, 0.1, 0.05, 0.02],
            "true_event_harm_365d": [True, False, False, False, True],
        },
        index=pd.Index(["a", "b", "c", "d", "e"], name="citizen_id"),
    )


def test_top_k_follows_the_products_ranks_not_row_order() -> None:
    # the rule's three levels tie; the rank decides, as on the weekly list
    ranks = pd.Series([3, 1, 2, 5, 4], index=["a", "b", "c", "d", "e"])
    assert list(top_k_ranked(ranks, 2)) == ["b", "c"]


def test_share_ratio_is_none_when_the_true_ranking_has_no_basic_education() -> None:
    assert share_ratio(0.5, 0.0) is None
    assert share_ratio(0.3, 0.6) == 0.5


def test_the_rule_is_always_run() -> None:
    assert with_rule(("m",)) == ("m", "diabetes_harm_365d_rule")
    assert with_rule(("m", "m_rule")) == ("m", "m_rule")


def test_ranking_entry_counts_basic_education_and_reports_n_a() -> None:
    at = _truth()
    education = pd.Series(
        ["higher", "higher", "basic", "basic", "basic"], index=at.index
    )
    world = {"k": 2, "true_risk_top_k_expected": 0.85, "basic_share_true_ranking": 0.0}
    entry = _ranking_entry(at, pd.Index(["a", "c"]), at.index, education, world)
    assert entry["basic"] == 1 and entry["basic_share"] == 0.5
    assert entry["basic_share_ratio"] is None
    assert math.isclose(entry["ratio_to_true_risk"], 0.5 / 0.85)
    assert entry["realised_precision_at_k"] == 0.5


def _world(seed: int, bias: bool, ratio: float | None) -> dict[str, object]:
    spec = {
        "ratio_to_true_risk": 0.8,
        "realised_precision_at_k": 0.3,
        "realised_ci": [0.1, 0.5],
        "basic": 0 if ratio is None else 3,
        "basic_share_ratio": ratio,
    }
    return {
        "world": seed,
        "k": 10,
        "basic_true_ranking": 0 if ratio is None else 4,
        "mechanisms": {"history_years": 4, "ascertainment_bias": bias},
        "specs": {"m": spec},
    }


def test_table_shows_n_a_for_a_missing_rule_and_share_ratio() -> None:
    text = table([_world(101, True, None)], "m", None)
    row = text.splitlines()[-1]
    assert "nan" not in text
    assert row.count("n/a") == 5  # rule, ceiling, calibration x2, basic share
    assert "(0/0)" in row


def test_education_summary_looks_at_biased_worlds_only() -> None:
    worlds = [_world(1, True, 0.8), _world(2, True, None), _world(3, False, 0.5)]
    summary = _education_summary(worlds, "m")
    assert summary["biased_worlds"] == 2
    assert summary["basic_share_ratio_biased"] == [0.8]
    assert summary["basic_share_ratio_biased_unknown"] == 1
    assert summary["worst_basic_share_ratio_biased"] == 0.8


def test_read_worlds_keeps_the_last_run_of_each_asked_seed(tmp_path) -> None:
    import json

    from bench.robustness import read_worlds

    lines = [{"world": 102, "n": 1}, {"world": 101, "n": 1}, {"world": 102, "n": 2}]
    path = tmp_path / "worlds.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    worlds = read_worlds(tmp_path, [101, 102, 103])
    assert [(w["world"], w["n"]) for w in worlds] == [(101, 1), (102, 2)]


def test_calibration_interval_covers_a_calibrated_slope_and_narrows_with_rows() -> None:
    import numpy as np

    from bench.robustness import calibration

    rng = np.random.default_rng(3)

    def figures(n: int, steep: float) -> dict:
        logit = rng.normal(-2.0, 1.0, n)
        outcome = rng.random(n) < 1 / (1 + np.exp(-steep * logit))
        return calibration(
            1 / (1 + np.exp(-logit)), outcome.astype(int), n_bootstrap=40
        )

    small, large, flat = figures(600, 1.0), figures(6_000, 1.0), figures(6_000, 0.5)
    assert small["slope_ci"][0] < 1.0 < small["slope_ci"][1]
    assert np.diff(large["slope_ci"])[0] < np.diff(small["slope_ci"])[0] / 2
    assert flat["slope_ci"][1] < 0.8  # a real mis-calibration lies outside
    lo, hi = small["in_the_large_ci"]
    assert lo <= small["in_the_large"] <= hi


def test_table_shows_the_calibration_intervals() -> None:
    world = _world(101, True, 0.5)
    world["specs"]["m"]["calibration_recorded"] = {
        "in_the_large": 0.01,
        "in_the_large_ci": [-0.002, 0.02],
        "slope": 1.31,
        "slope_ci": [0.9, 1.8],
    }
    row = table([world], "m", None).splitlines()[-1]
    assert "| +1.0 (-0.2 to +2.0) | 1.31 (0.90 to 1.80) |" in row


def test_calibration_slope_is_the_logistic_regression_coefficient() -> None:
    import numpy as np
    import pytest
    from sklearn.linear_model import LogisticRegression

    from bench.robustness import _slope

    rng = np.random.default_rng(4)
    logit = rng.normal(-2.0, 1.2, 3000)
    outcome = (rng.random(3000) < 1 / (1 + np.exp(-0.7 * logit))).astype(int)
    fit = LogisticRegression(C=1e9, max_iter=1000).fit(logit.reshape(-1, 1), outcome)
    # sklearn stops at its tolerance; Newton converges to the maximum
    assert _slope(logit, outcome) == pytest.approx(fit.coef_[0][0], rel=1e-3)
    assert np.isnan(_slope(logit, np.zeros(3000, dtype=int)))
