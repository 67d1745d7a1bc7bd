"""The mitigation figures at several list sizes, on hand-made rankings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench.mitigation import (
    against_champion,
    collect,
    education_at,
    education_at_sizes,
    goal_summary,
    list_sizes,
    ranking_frame,
    table,
)


def _citizens(n: int = 400) -> tuple[pd.Series, pd.Series]:
    """True risks falling with the id; every third citizen basic education."""
    index = pd.Index([f"c{i:03d}" for i in range(n)], name="citizen_id")
    risk = pd.Series(np.linspace(0.9, 0.01, n), index=index)
    education = pd.Series(
        ["basic" if i % 3 == 0 else "higher" for i in range(n)], index=index
    )
    return risk, education


def test_the_true_ranking_itself_scores_one_in_every_draw() -> None:
    risk, education = _citizens()
    ranks = risk.rank(ascending=False)
    figures = education_at(ranking_frame(risk, ranks, education), 40)
    assert figures["basic"] == figures["basic_true_ranking"] == 14
    assert figures["basic_share_ratio"] == 1.0
    assert figures["ratio_to_true_risk"] == 1.0
    assert figures["ratio_to_true_risk_ci"] == [1.0, 1.0]
    assert figures["basic_share_ratio_ci"] == [1.0, 1.0]


def test_a_list_without_basic_education_has_share_ratio_zero() -> None:
    risk, education = _citizens()
    # the list ranks every higher-education citizen first, in true-risk order
    key = risk - (education == "basic").astype(float)
    frame = ranking_frame(risk, key.rank(ascending=False), education)
    figures = education_at(frame, 30)
    assert figures["basic"] == 0 and figures["basic_true_ranking"] == 10
    assert figures["basic_share_ratio"] == 0.0
    assert figures["basic_share_ratio_ci"] == [0.0, 0.0]
    assert figures["ratio_to_true_risk"] < 1.0
    lo, hi = figures["ratio_to_true_risk_ci"]
    assert lo <= hi < 1.0


def test_citizens_the_model_did_not_score_are_never_on_its_list() -> None:
    risk, education = _citizens()
    # the 10 riskiest are outside the model's cohort; the rest in true order
    ranks = risk.rank(ascending=False).iloc[10:]
    figures = education_at(ranking_frame(risk, ranks, education), 10, n_bootstrap=0)
    expected = risk.iloc[10:20].mean() / risk.iloc[:10].mean()
    assert math.isclose(figures["ratio_to_true_risk"], expected)
    assert figures["basic_share_ratio_ci"] is None


def test_list_sizes_are_the_benchs_k_and_shares_of_the_scored_cohort() -> None:
    assert list_sizes(50, 2600) == [("k", 50), ("1%", 26), ("5%", 130), ("10%", 260)]
    assert list_sizes(1, 20)[1] == ("1%", 1)
    risk, education = _citizens()
    sizes = education_at_sizes(
        ranking_frame(risk, risk.rank(ascending=False).iloc[:200], education),
        12,
        n_bootstrap=0,
    )
    assert {label: f["k"] for label, f in sizes.items()} == {
        "k": 12,
        "1%": 2,
        "5%": 10,
        "10%": 20,
    }


def _entry(precision: float, share: float | None) -> dict[str, object]:
    return {
        "education_at_k": {
            "5%": {
                "k": 100,
                "basic": 0 if share is None else round(40 * share),
                "basic_true_ranking": 0 if share is None else 40,
                "basic_share_ratio": share,
                "basic_share_ratio_ci": None,
                "expected_precision_at_k": precision,
                "ratio_to_true_risk": precision / 0.5,
                "ratio_to_true_risk_ci": None,
            }
        }
    }


def _world(seed: int, bias: bool, mitigation: dict[str, object]) -> dict[str, object]:
    return {
        "world": seed,
        "mechanisms": {"ascertainment_bias": bias},
        "specs": {"diabetes_harm_365d": _entry(0.30, 0.80), "m": mitigation},
    }


def test_the_proposed_goal_measures_precision_against_the_champion() -> None:
    # 0.28 / 0.30 = 0.93 of the champion, 0.56 of the true ranking
    met = against_champion(_world(1, True, _entry(0.28, 1.0)), "m")["5%"]
    assert math.isclose(met["precision_vs_champion"], 0.28 / 0.30)
    assert met["goal_proposed"] and not met["goal_issue"]
    costly = against_champion(_world(1, True, _entry(0.25, 1.0)), "m")["5%"]
    assert not costly["goal_proposed"]  # 0.83 of the champion
    short = against_champion(_world(1, True, _entry(0.30, 0.9)), "m")["5%"]
    assert not short["goal_proposed"]  # basic share 0.90x
    assert not against_champion(_world(1, True, _entry(0.3, None)), "m")["5%"][
        "goal_proposed"
    ]


def test_goal_summary_counts_biased_worlds_only() -> None:
    worlds = [
        _world(1, True, _entry(0.28, 1.0)),
        _world(2, True, _entry(0.20, 1.2)),
        _world(3, False, _entry(0.30, 1.0)),
    ]
    summary = goal_summary(worlds, "m")
    assert summary["biased_worlds"] == [1, 2]
    assert summary["5%"]["worlds_goal_proposed"] == 1
    assert summary["5%"]["worlds_goal_issue"] == 0
    assert summary["5%"]["basic_share_ratio"] == [1.0, 1.2]
    assert math.isclose(summary["5%"]["median_basic_share_ratio"], 1.1)


def test_table_has_a_row_per_biased_world_and_spec_and_n_a_without_reference() -> None:
    worlds = [_world(1, True, _entry(0.28, None)), _world(3, False, _entry(0.3, 1.0))]
    text = table(worlds, ("diabetes_harm_365d", "m"))
    rows = text.splitlines()[2:]
    assert len(rows) == 2
    assert "0.56 (0.93)" in rows[1] and "n/a (0/0)" in rows[1]
    assert "0.60 (1.00)" in rows[0] and "0.80 (32/40)" in rows[0]
    assert "nan" not in text


def test_collect_keeps_the_last_entry_of_each_world_across_runs(
    tmp_path: Path,
) -> None:
    for name, worlds in {
        "a": [_world(2, True, _entry(0.1, 1.0)), _world(1, True, _entry(0.1, 1.0))],
        "b": [_world(2, True, _entry(0.28, 1.0))],
    }.items():
        (tmp_path / name).mkdir()
        lines = "".join(json.dumps(w) + "\n" for w in worlds)
        (tmp_path / name / "worlds.jsonl").write_text(lines, encoding="utf-8")
    body = collect([tmp_path / "a", tmp_path / "b"], ("m",), citizens=1000)
    assert body["seeds"] == [1, 2]
    assert body["summary"]["m"]["5%"]["worlds_goal_proposed"] == 1
