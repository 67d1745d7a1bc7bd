"""Alternative rankings side by side at capacity k (hand-made rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.compare import compare_rankings

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
