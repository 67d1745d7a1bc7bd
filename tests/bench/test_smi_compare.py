"""The SMI comparison against the truth, on hand-made cohorts (no training).

bench.smi_compare reads need from the generator's true SMI risk: precision@k as
a share of the true-risk ranking's, and the share listed by GP-contact level
among citizens of equal true need. bench.robustness picks the SMI truth and
rule for SMI specs.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bench.robustness import TRUE_EVENT, TRUE_RISK, family, read_truth, with_rule
from bench.smi_compare import TRUE_EVENT as SMI_EVENT
from bench.smi_compare import TRUE_RISK as SMI_RISK
from bench.smi_compare import (
    comparison_frame,
    gp_contact_against_truth,
    precision_against_truth,
)

N = 120  # 40 citizens per GP-contact level


def _cohort() -> tuple[dict[str, pd.Series], pd.DataFrame, pd.DataFrame]:
    ids = pd.Index([f"c{i:03d}" for i in range(N)], name="citizen_id")
    level = np.array(["none", "low", "regular"])[np.arange(N) % 3]
    risk = np.linspace(0.9, 0.01, N)  # need does not depend on GP contact
    truth = pd.DataFrame({SMI_RISK: risk, SMI_EVENT: np.arange(N) < 30}, index=ids)
    gp_bonus = (level == "regular") * 1.0 + (level == "low") * 0.5
    scores = {
        # lists by true need: the same share at every GP-contact level
        "fair": pd.Series(risk, index=ids),
        # lists by GP contact first: the survey's failure
        "gp": pd.Series(gp_bonus + 0.1 * risk, index=ids),
    }
    groups = pd.DataFrame(
        {"gp_contact_level": level, "education_level": "basic"}, index=ids
    )
    return scores, truth, groups


def test_precision_is_a_share_of_the_true_risk_rankings() -> None:
    scores, truth, groups = _cohort()
    frame = comparison_frame(scores, truth, groups)
    result = precision_against_truth(frame, ["fair", "gp"], k=10)
    assert result["truth"]["ratio_to_true_risk"] == pytest.approx(1.0)
    assert result["fair"]["ratio_to_true_risk"] == pytest.approx(1.0)
    # "gp" lists the ten highest-risk regulars: rows 2, 5, ..., 29
    regulars = np.linspace(0.9, 0.01, N)[2:30:3]
    best = np.linspace(0.9, 0.01, N)[:10].mean()
    assert result["gp"]["ratio_to_true_risk"] == pytest.approx(regulars.mean() / best)
    assert result["gp"]["realised_precision_at_k"] == 1.0  # all ten are events


def test_gp_contact_gap_among_equal_true_need_finds_the_survey_failure() -> None:
    scores, truth, groups = _cohort()
    frame = comparison_frame(scores, truth, groups)
    result = gp_contact_against_truth(frame, ["fair", "gp"], k=30, n_bootstrap=50)
    fair, gp = result["rankings"]["fair"], result["rankings"]["gp"]
    # equal true need: the top fifth by true risk (24 citizens, 8 per level)
    assert fair["equal_true_band"] == {"none": 1.0, "low": 1.0, "regular": 1.0}
    assert fair["gap_equal_true_band"]["estimate"] == 0.0
    assert gp["equal_true_band"] == {"none": 0.0, "low": 0.0, "regular": 1.0}
    assert gp["gap_equal_true_band"]["estimate"] == 1.0
    assert gp["gap_equal_true_band"]["ci_low"] > 0.5
    assert result["n_true_events"] == 30


def test_smi_specs_take_the_smi_truth_and_rule(tmp_path: Path) -> None:
    assert family(("smi_somatic_365d", "smi_somatic_harm_365d")) == "smi"
    assert family(("diabetes_harm_365d",)) == "diabetes"
    assert with_rule(("smi_somatic_harm_365d",))[-1] == "smi_somatic_365d_rule"
    with pytest.raises(ValueError):
        family(("smi_somatic_365d", "diabetes_harm_365d"))
    path = tmp_path / "x.truth_smi.parquet"
    pd.DataFrame(
        {
            "citizen_id": ["a"],
            "index_date": pd.to_datetime(["2025-01-01"]),
            SMI_RISK: [0.2],
            SMI_EVENT: [True],
        }
    ).to_parquet(path)
    truth = read_truth(SimpleNamespace(truth_smi_path=path), ("smi_somatic_365d",))
    assert truth.loc[0, TRUE_RISK] == 0.2 and bool(truth.loc[0, TRUE_EVENT])
    assert str(truth.loc[0, "index_date"]) == "2025-01-01"
