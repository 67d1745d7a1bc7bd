"""Alternative rankings side by side at capacity k (hand-made rows)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError, NotFoundError
from reports.compare import TRUE_RISK, compare_rankings, read_truth_risk

K = 40


def _frame() -> pd.DataFrame:
    """200 citizens: 0-99 basic education, 100-199 long; 0-29 and 100-109 had it.

    The champion lists long education 100-129 and basic 30-39 (10 of its 40 had
    the outcome); the alternative lists exactly the 40 who had it.
    """
    i = np.arange(200)
    y = ((i < 30) | ((i >= 100) & (i < 110))).astype(int)
    champion = np.select([(i >= 100) & (i < 130), (i >= 30) & (i < 40)], [2.0, 1.0])
    alternative = np.select([i < 30, (i >= 100) & (i < 110)], [2.0, 1.0])
    return pd.DataFrame(
        {
            "y_true": pd.array(y, dtype="Int64"),
            "y_true_other": pd.array(np.where(i < 5, pd.NA, 0), dtype="Int64"),
            "education_level": np.where(i < 100, "basic", "long_tertiary"),
            "y_score": champion,
            "y_score__alt": alternative,
        }
    )


def test_compare_rankings_precision_and_composition(config) -> None:
    frame = _frame()
    before = frame.copy()
    result = compare_rankings(
        frame,
        {"champion": "y_score", "alt@1": "y_score__alt"},
        k=K,
        config=config,
        outcomes=["y_true_other"],
    )
    pd.testing.assert_frame_equal(frame, before)
    assert result["k"] == K
    champion, alt = (result["rankings"][m] for m in ("champion", "alt@1"))
    assert champion["precision_at_k"]["y_true"] == {
        "n": 40,
        "estimate": pytest.approx(0.25),
        "suppressed": False,
    }
    assert alt["precision_at_k"]["y_true"]["estimate"] == pytest.approx(1.0)
    # the other outcome: observed for 35 of the alternative's 40 (0-4 not yet)
    assert alt["precision_at_k"]["y_true_other"]["n"] == 35
    level = champion["composition"]["education_level"]
    assert level["long_tertiary"]["share_of_list"] == pytest.approx(0.75)
    assert level["basic"]["share_of_list"] == pytest.approx(0.25)
    assert level["basic"]["share_of_need"] == pytest.approx(0.75)
    split = alt["composition"]["education_split"]
    assert split["none or short"]["share_of_list"] == pytest.approx(0.75)
    assert split["medium or long"]["share_of_list"] == pytest.approx(0.25)


def test_compare_rankings_suppresses_small_groups(config) -> None:
    frame = _frame()
    # a third group of 5 listed citizens (ids 30-34, in the champion's list)
    frame = frame.assign(
        education_level=np.where(
            np.arange(200) < 5 + 30,
            np.where(np.arange(200) >= 30, "vocational", frame["education_level"]),
            frame["education_level"],
        )
    )
    result = compare_rankings(frame, {"champion": "y_score"}, k=K, config=config)
    level = result["rankings"]["champion"]["composition"]["education_level"]
    assert (
        level["vocational"]["suppressed"]
        and level["vocational"]["share_of_list"] is None
    )
    # 5 basic listed (35-39) is also under 10; long (30) stays
    assert level["basic"]["suppressed"]
    assert level["long_tertiary"]["share_of_list"] == pytest.approx(0.75)


def _with_truth(frame: pd.DataFrame) -> pd.DataFrame:
    """True risk 0.9 for 0-29, 0.5 for 100-109, 0.2 for 110-129, 0.1 for 30-39.

    Everyone else 0.01; 190-199 are not in the truth (NaN, risk 0). The
    alternative's top 40 is the true-risk ranking's.
    """
    i = np.arange(200)
    risk = np.select(
        [i < 30, (i >= 100) & (i < 110), (i >= 110) & (i < 130), (i >= 30) & (i < 40)],
        [0.9, 0.5, 0.2, 0.1],
        default=0.01,
    )
    return frame.assign(true_risk=np.where(i >= 190, np.nan, risk))


def test_compare_rankings_tells_expected_precision_against_the_truth(config) -> None:
    frame = _with_truth(_frame())
    result = compare_rankings(
        frame,
        {"champion": "y_score", "alt@1": "y_score__alt"},
        k=K,
        config=config,
        truth="true_risk",
    )
    best = (30 * 0.9 + 10 * 0.5) / 40
    true = result["true_ranking"]
    assert true["expected_precision_at_k"]["estimate"] == pytest.approx(best)
    assert true["composition"]["education_level"]["basic"][
        "share_of_list"
    ] == pytest.approx(0.75)
    champion = result["rankings"]["champion"]["expected_precision_at_k"]
    # 100-109 at 0.5, 110-129 at 0.2, 30-39 at 0.1
    assert champion["n"] == K
    assert champion["estimate"] == pytest.approx((5 + 4 + 1) / 40)
    assert champion["share_of_true_ranking"] == pytest.approx(0.25 / best)
    alt = result["rankings"]["alt@1"]["expected_precision_at_k"]
    assert alt["share_of_true_ranking"] == pytest.approx(1.0)


def test_compare_rankings_without_truth_has_no_expected_precision(config) -> None:
    result = compare_rankings(
        _with_truth(_frame()), {"champion": "y_score"}, k=K, config=config
    )
    assert "true_ranking" not in result
    assert "expected_precision_at_k" not in result["rankings"]["champion"]


def test_citizens_the_truth_does_not_list_count_as_risk_zero(config) -> None:
    frame = _with_truth(_frame())
    # a ranking that lists the 10 citizens the truth does not know, then 0-29
    i = np.arange(200)
    frame = frame.assign(y_score=np.select([i >= 190, i < 30], [2.0, 1.0]))
    result = compare_rankings(
        frame, {"champion": "y_score"}, k=K, config=config, truth="true_risk"
    )
    expected = result["rankings"]["champion"]["expected_precision_at_k"]
    assert expected["estimate"] == pytest.approx(30 * 0.9 / 40)


def _truth_file(path: Path) -> Path:
    pd.DataFrame(
        {
            "citizen_id": ["a", "b", "a"],
            "index_date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-04-01"]),
            "true_risk_harm_365d": [0.1, 0.2, 0.3],
            "true_event_harm_365d": [False, True, False],
        }
    ).to_parquet(path)
    return path


def test_read_truth_risk_takes_the_audited_date(tmp_path: Path) -> None:
    truth = read_truth_risk(_truth_file(tmp_path / "t.parquet"), date(2025, 4, 1))
    assert truth.to_dict("list") == {"citizen_id": ["a"], TRUE_RISK: [0.3]}


def test_read_truth_risk_refuses_a_date_or_file_it_does_not_hold(
    tmp_path: Path,
) -> None:
    path = _truth_file(tmp_path / "t.parquet")
    with pytest.raises(NotFoundError, match="2025-01-01 to 2025-04-01"):
        read_truth_risk(path, date(2025, 2, 1))
    with pytest.raises(NotFoundError, match="Cannot read the truth file"):
        read_truth_risk(tmp_path / "missing.parquet", date(2025, 1, 1))
    pd.DataFrame({"citizen_id": ["a"], "risk": [0.1]}).to_parquet(tmp_path / "x.pq")
    with pytest.raises(ConfigError, match="must hold citizen_id, index_date"):
        read_truth_risk(tmp_path / "x.pq", date(2025, 1, 1))
