"""The GP-contact comparison (reports.gp_contact) on hand-made cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.gp_contact import compare_gp_contact, render_gp_contact_html


def _cohort() -> pd.DataFrame:
    """300 citizens, 100 per GP-contact level, 30 events in each level.

    ``score_fair`` ranks every event above every non-event (ties by position,
    interleaved across levels); ``score_gp`` ranks regular-contact events first,
    then low, then none: the survey's extract.
    """
    levels = np.repeat(["none", "low", "regular"], 100)
    y = np.tile(np.r_[np.ones(30), np.zeros(70)], 3)
    order = np.tile(np.arange(100), 3)  # position within the level
    fair = np.where(y == 1, 1000 - order, -order).astype(float)
    gp_rank = {"regular": 2, "low": 1, "none": 0}
    gp = np.array([gp_rank[v] for v in levels]) * 1000 + fair
    return pd.DataFrame(
        {
            "score_model": fair,
            "score_gp": gp,
            "y_true": y,
            "gp_contact_level": levels,
            "education_level": np.tile(["basic", "vocational"], 150),
        }
    )


def test_a_gp_biased_ranking_reaches_regular_contact_first() -> None:
    result = compare_gp_contact(
        _cohort(), rankings=["model", "gp"], k=30, n_bootstrap=200, seed=1
    )
    gp = result["rankings"]["gp"]["gp_contact_level"]
    assert gp["equal_outcome"]["regular"]["estimate"] == 1.0
    assert gp["equal_outcome"]["none"]["estimate"] == 0.0
    gap = gp["gap_regular_vs_none"]["equal_outcome"]
    assert gap["estimate"] == 1.0 and gap["ci_low"] > 0.9
    fair = result["rankings"]["model"]["gp_contact_level"]
    shares = [fair["equal_outcome"][g]["estimate"] for g in ("none", "low", "regular")]
    assert shares == [pytest.approx(10 / 30)] * 3
    fair_gap = fair["gap_regular_vs_none"]["equal_outcome"]
    assert fair_gap["estimate"] == pytest.approx(0.0)
    assert fair_gap["ci_low"] < 0 < fair_gap["ci_high"]
    make_up = [fair["list_share"][g]["estimate"] for g in ("none", "low", "regular")]
    assert sum(make_up) == pytest.approx(1.0)
    assert result["n_events"] == 90 and result["k"] == 30


def test_equal_band_reads_need_from_the_primary_model() -> None:
    result = compare_gp_contact(
        _cohort(), rankings=["model", "gp"], k=30, n_bootstrap=50, seed=2
    )
    # Percentile >= 0.80 as the list's bands (cume_dist): the 60 best events and
    # the three tied at the boundary, 21 per level.
    band = result["rankings"]["gp"]["gp_contact_level"]["equal_band"]
    assert [band[g]["n"] for g in ("none", "low", "regular")] == [21, 21, 21]
    assert band["regular"]["estimate"] == 1.0 and band["none"]["estimate"] == 0.0


def test_small_cells_are_suppressed_and_the_page_holds_no_rows() -> None:
    cohort = _cohort()
    cohort.loc[cohort["gp_contact_level"] == "none", "y_true"] = np.r_[
        np.ones(5), np.zeros(95)
    ]
    result = compare_gp_contact(cohort, rankings=["model", "gp"], k=30, n_bootstrap=20)
    cell = result["rankings"]["model"]["gp_contact_level"]["equal_outcome"]["none"]
    assert cell == {"n": 5, "estimate": None, "ci_low": None, "ci_high": None}
    gap = result["rankings"]["model"]["gp_contact_level"]["gap_regular_vs_none"]
    assert gap["equal_outcome"]["estimate"] is None
    page = render_gp_contact_html(result)
    assert "suppressed" in page and "citizen_id" not in page
