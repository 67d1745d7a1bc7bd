"""The audit: planted disparities flagged, a balanced region not, small cells gone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError, DataError
from reports.fairness import (
    BAD_CAPACITY,
    EMPTY_FRAME,
    MISSING_COLUMNS,
    audit_fairness,
    rerank_by_quota,
)
from reports.fairness.groups import GroupCodes
from tests.reports.conftest import hand_made_label_counts

K = 400
FIGURE_KEYS = {"n", "estimate", "ci_low", "ci_high", "suppressed"}


@pytest.fixture(scope="module")
def few_draws(config):
    """For tests that check no interval: the same audit with 20 bootstrap draws."""
    return config.with_overrides(n_bootstrap=20)


@pytest.fixture(scope="module")
def unobserved_audit(balanced_frame, few_draws):
    """The balanced frame's first 600 rows, outcome not yet observed for anyone."""
    small = balanced_frame.iloc[:600].drop(columns="selected")
    small = small.assign(y_true=pd.array([pd.NA] * 600, dtype="Int64"))
    return audit_fairness(small, config=few_draws, k=60)


def _codes(audit, grouping):
    return {(f.code, f.group) for f in audit.flags if f.grouping == grouping}


def test_audit_fairness_flags_planted_under_reach(planted_audit) -> None:
    assert ("under_reach", "basic") in _codes(planted_audit, "education_level")
    flag = next(
        f for f in planted_audit.flags if f.code == "under_reach" and f.group == "basic"
    )
    assert flag.severity == "breach"
    assert flag.estimate < 0.8 and flag.ci_high < 1
    assert flag.message.startswith(
        "Citizens with basic education who had the outcome were "
    )
    assert (
        "as likely to be on the list as those with long education (95% CI "
        in flag.message
    )


def test_audit_fairness_flags_planted_label_problem(planted_audit) -> None:
    codes = _codes(planted_audit, "education_level") | _codes(
        planted_audit, "education_split"
    )
    assert ("label_ascertainment", "basic") in codes
    assert ("label_ascertainment", "none or short") in codes
    label = [f for f in planted_audit.flags if f.code == "label_ascertainment"]
    assert all(f.severity == "warning" for f in label)
    assert "may be under-recorded" in label[0].message
    assert not {g for c, g in codes if g in {"long_tertiary", "medium or long"}}
    basic = planted_audit.groupings["education_level"]["groups"]["basic"]
    cell = basic["label_ascertainment"]
    assert cell["ratio"]["estimate"] < 0.8 and cell["ratio"]["ci_high"] < 0.8
    assert label[0].message.startswith("For citizens with ")
    assert (
        "complications found at attended care per complication found at an acute "
        "admission were" in label[0].message
    )
    assert "inden for samme komplikationstype og aldersgruppe" in label[0].message_da


def test_audit_fairness_care_gap_without_recording_bias_raises_no_label_flag(
    simulate, config
) -> None:
    frame = simulate(seed=11, planted=True, biased_recording=False)
    audit = audit_fairness(frame, config=config, k=K)
    assert not [f for f in audit.flags if f.code == "label_ascertainment"]
    basic = audit.groupings["education_level"]["groups"]["basic"]
    # the care gap is there, reported as what it is ...
    screening = basic["care_gap"]["attended_screening_365d"]
    assert screening["ratio"]["ci_high"] < 0.6
    assert "Care differed by group (informative, not a label flag)" in audit.summary[5]
    # ... and the label check sees none
    assert basic["label_ascertainment"]["ratio"]["ci_high"] > 0.8
    # no flag is never told as "no label problem": the sentence says what the
    # check could have seen, for the first grouping's least-powered group
    detectable = {
        (name, label): group["label_ascertainment"]["detectable_ratio"]
        for name, result in audit.groupings.items()
        for label, group in result["groups"].items()
        if group["label_ascertainment"]["detectable_ratio"] is not None
    }
    education = min(
        v
        for (n, g), v in detectable.items()
        if n == "education_level" and g != "unknown"
    )
    lowest, highest = min(detectable.values()), max(detectable.values())
    assert 0 < lowest <= education <= highest < 0.8
    assert audit.summary[4].startswith(
        "The label check raised no flag, which does not show that the outcome is "
        "recorded alike: at this region's counts it could have seen a recording gap "
        "only if complications of citizens with "
    )
    assert (
        f"were recorded at under {education:.2f} times the rate of citizens"
        in (audit.summary[4])
    )
    assert f"groups compared, from {lowest:.2f} to {highest:.2f}" in audit.summary[4]
    assert (
        "blev registreret under " + f"{education:.2f}".replace(".", ",")
        in (audit.summary_da[4])
    )


def test_audit_fairness_flags_gp_contact_bias(planted_audit) -> None:
    assert ("gp_contact_bias", "none") in _codes(planted_audit, "gp_contact_level")
    assert "under_reach" not in {
        c for c, _ in _codes(planted_audit, "gp_contact_level")
    }


def test_audit_fairness_balanced_region_raises_no_flag(balanced_audit) -> None:
    assert balanced_audit.flags == ()
    assert balanced_audit.breaches == ()
    assert "No group" in balanced_audit.summary[2]


def test_audit_fairness_summary_has_six_sentences(planted_audit) -> None:
    assert len(planted_audit.summary) == 6
    assert planted_audit.summary[0].startswith("This audit covers 4,000 citizens")
    assert "basic education" in planted_audit.summary[2]


def test_audit_fairness_summary_tells_reach_under_the_alternative_outcome(
    planted_audit, planted_frame, few_draws
) -> None:
    last = planted_audit.summary[4]
    assert "Under the alternative outcome missed care within 365 days" in last
    assert last.endswith("of citizens with long education.") or last.endswith(
        "of citizens with medium or long further education."
    )
    without = audit_fairness(
        planted_frame.drop(columns=["y_true_missed_care_365d"]),
        config=few_draws,
        k=400,
    )
    assert "alternative outcome" not in without.summary[4]


def test_audit_fairness_json_schema(planted_audit) -> None:
    data = json.loads(json.dumps(planted_audit.to_dict()))
    assert set(data["groupings"]) >= {
        "education_level",
        "education_split",
        "sex",
        "gp_contact_level",
    }
    for grouping in data["groupings"].values():
        assert {"columns", "reference", "groups"} <= set(grouping)
        for group in grouping["groups"].values():
            for metric, cell in group["metrics"].items():
                assert set(cell) >= FIGURE_KEYS, metric
                assert {"difference", "ratio"} <= set(cell)
    for flag in data["flags"]:
        assert {"code", "grouping", "group", "message"} <= set(flag)
        assert flag["code"] in {
            "under_reach",
            "calibration_gap",
            "label_ascertainment",
            "gp_contact_bias",
        }
    assert set(data["overall"]) >= {
        "roc_auc_score",
        "brier_score_loss",
        "precision_at_k",
        "recall_at_k",
    }


def test_audit_fairness_intervals_cover_estimates(planted_audit) -> None:
    cells = [
        cell
        for grouping in planted_audit.groupings.values()
        for group in grouping["groups"].values()
        for cell in group["metrics"].values()
        if not cell["suppressed"] and cell["ci_low"] is not None
    ]
    assert len(cells) > 100
    inside = [c["ci_low"] - 1e-9 <= c["estimate"] <= c["ci_high"] + 1e-9 for c in cells]
    assert np.mean(inside) > 0.97


def test_audit_fairness_reference_has_no_comparison(planted_audit) -> None:
    groups = planted_audit.groupings["education_level"]["groups"]
    assert groups["long_tertiary"]["metrics"]["recall_at_k"]["ratio"] is None
    basic = groups["basic"]["metrics"]["recall_at_k"]
    long = groups["long_tertiary"]["metrics"]["recall_at_k"]
    assert basic["ratio"]["estimate"] == pytest.approx(
        basic["estimate"] / long["estimate"]
    )
    assert basic["difference"]["estimate"] == pytest.approx(
        basic["estimate"] - long["estimate"]
    )
    assert groups["basic"]["reference"] == "long_tertiary"


def test_audit_fairness_intersection_reference_is_same_stratum(planted_audit) -> None:
    groups = planted_audit.groupings["education_x_sex"]["groups"]
    assert groups["none or short × F"]["reference"] == "medium or long × F"
    assert groups["none or short × M"]["reference"] == "medium or long × M"


def test_audit_fairness_suppresses_small_cells(balanced_frame, few_draws) -> None:
    frame = balanced_frame.copy()
    frame.loc[frame.index[:7], "living_situation"] = "prison"
    frame.loc[frame.index[7:], "living_situation"] = frame.loc[
        frame.index[7:], "living_situation"
    ].replace("prison", "own_home")
    audit = audit_fairness(frame, config=few_draws, k=K)
    prison = audit.groupings["living_situation"]["groups"]["prison"]
    assert prison["suppressed"] is True and prison["n"] is None
    for cell in prison["metrics"].values():
        assert cell == {
            **cell,
            "n": None,
            "estimate": None,
            "ci_low": None,
            "ci_high": None,
            "suppressed": True,
        }
        assert cell["ratio"] is None and cell["difference"] is None
    assert all(c["estimate"] is None for c in prison["care_gap"].values())
    assert prison["label_ascertainment"]["suppressed"] is True
    assert all(b["observed_rate"]["suppressed"] for b in prison["calibration"])
    assert all(p["recall_at_k"]["suppressed"] for p in prison["curve"])
    assert not [f for f in audit.flags if f.group == "prison"]


def test_audit_fairness_suppresses_metric_with_small_denominator(
    balanced_frame, few_draws
) -> None:
    audit = audit_fairness(
        balanced_frame, config=few_draws.with_overrides(min_cell_size=60), k=K
    )
    shelter = audit.groupings["education_level"]["groups"]["unknown"]["metrics"]
    # ~80 citizens with unknown education, far fewer on the list or with the outcome
    assert shelter["selection_rate"]["suppressed"] is False
    assert shelter["recall_at_k"]["suppressed"] is True
    assert shelter["share_of_list"]["suppressed"] is True


def test_audit_fairness_same_seed_same_json(balanced_frame, few_draws) -> None:
    small = balanced_frame.iloc[:800]
    first = audit_fairness(small, config=few_draws, k=80).to_dict()
    again = audit_fairness(small, config=few_draws, k=80).to_dict()
    assert json.dumps(first) == json.dumps(again)


def test_audit_fairness_does_not_mutate_frame(balanced_frame, few_draws) -> None:
    small = balanced_frame.iloc[:500].copy()
    before = small.copy()
    audit_fairness(small, config=few_draws, k=50)
    pd.testing.assert_frame_equal(small, before)


def test_audit_fairness_top_k_when_selected_absent(balanced_frame, few_draws) -> None:
    small = balanced_frame.iloc[:600]
    with_sel = audit_fairness(
        small.assign(
            selected=small["y_score"].rank(ascending=False, method="first") <= 60
        ),
        config=few_draws,
        k=60,
    )
    without = audit_fairness(small.drop(columns="selected"), config=few_draws, k=60)
    assert without.counts["n_selected"] == 60
    assert with_sel.overall["recall_at_k"] == without.overall["recall_at_k"]


def test_audit_fairness_unobservable_outcome(unobserved_audit) -> None:
    audit = unobserved_audit
    assert audit.counts["n_observed"] == 0
    assert audit.overall["recall_at_k"]["estimate"] is None
    assert audit.overall["selection_rate"]["estimate"] == pytest.approx(0.1)
    assert "not yet known" in audit.summary[1]
    assert "not yet known" in audit.summary[2] and "not yet known" in audit.summary[3]
    assert audit.summary[4].endswith("calibration within groups is not yet known.")
    assert "agreed within every group" not in " ".join(audit.summary)


def test_audit_fairness_mitigation_shown_not_applied(planted_audit) -> None:
    table = planted_audit.mitigation
    assert table["applied"] is False
    assert set(table["strategies"]) == {
        "as_is",
        "equal_selection_rate",
        "need_proportional",
    }
    as_is = table["strategies"]["as_is"]
    assert (
        as_is["recall_at_k"]["estimate"]
        == planted_audit.overall["recall_at_k"]["estimate"]
    )
    fairer = table["strategies"]["equal_selection_rate"]
    assert fairer["min_recall_ratio"] > as_is["min_recall_ratio"]


def test_audit_fairness_curve_includes_capacity(planted_audit) -> None:
    assert K in planted_audit.curve_k
    j = planted_audit.curve_k.index(K)
    basic = planted_audit.groupings["education_level"]["groups"]["basic"]
    assert basic["curve"][j]["recall_at_k"]["estimate"] == pytest.approx(
        basic["metrics"]["recall_at_k"]["estimate"]
    )


def test_rerank_by_quota_fills_k_by_share() -> None:
    codes = GroupCodes.from_values(["a"] * 50 + ["b"] * 50)
    score = np.r_[np.linspace(1, 0.5, 50), np.linspace(0.4, 0, 50)]
    selected = rerank_by_quota(score, codes, k=10, shares=np.array([1.0, 1.0]))
    assert selected.sum() == 10
    assert selected[:50].sum() == 5 and selected[50:].sum() == 5
    assert selected[:5].all() and selected[50:55].all()


def test_rerank_by_quota_leftover_goes_to_best_scores() -> None:
    codes = GroupCodes.from_values(["a"] * 3 + ["b"] * 20)
    score = np.linspace(1, 0, 23)
    selected = rerank_by_quota(score, codes, k=10, shares=np.array([9.0, 1.0]))
    assert selected.sum() == 10 and selected[:3].all()


class TestErrorMessages:
    def test_missing_columns(self, balanced_frame, config) -> None:
        with pytest.raises(DataError) as error:
            audit_fairness(
                balanced_frame.drop(columns=["y_true", "sex"]), config=config, k=5
            )
        assert str(error.value) == MISSING_COLUMNS.format(columns="sex, y_true")
        assert str(error.value) == "The audit frame lacks the column(s) sex, y_true."

    def test_empty_frame(self, balanced_frame, config) -> None:
        with pytest.raises(DataError) as error:
            audit_fairness(balanced_frame.iloc[:0], config=config, k=5)
        assert str(error.value) == EMPTY_FRAME

    @pytest.mark.parametrize("k", [0, -1, 2.5])
    def test_bad_capacity(self, balanced_frame, config, k) -> None:
        with pytest.raises(ConfigError) as error:
            audit_fairness(balanced_frame, config=config, k=k)
        assert str(error.value) == BAD_CAPACITY.format(k=k)
        assert str(error.value).startswith(
            "The capacity k must be an int in the range [1, inf)."
        )


def test_flag_message_plain_words(config) -> None:
    from reports.fairness.narrative import ratio_message

    grouping = config.grouping("education_level")
    message = ratio_message(
        config, grouping, "basic", "long_tertiary", "recall_at_k", (0.62, 0.48, 0.79)
    )
    assert message == (
        "Citizens with basic education who had the outcome were 0.62 times as likely "
        "to be on the list as those with long education (95% CI 0.48–0.79)."
    )


def _calibration_frame(simulate) -> pd.DataFrame:
    """800 citizens with basic education and 800 with long: scores 0.1 and 0.3.

    Long education: the outcome rate equals the score in both halves (40 of 400 at
    0.1, 120 of 400 at 0.3). Basic: 120 of 400 at 0.1 and 200 of 400 at 0.3, so
    the model under-predicts by exactly 20 percentage points.
    """
    frame = simulate(n=1600, seed=5).drop(columns=["selected"])
    education = np.repeat(["basic", "long_tertiary"], 800)
    score = np.tile(np.repeat([0.1, 0.3], 400), 2)
    events = {("basic", 0.1): 120, ("basic", 0.3): 200}
    y = np.zeros(1600, dtype=int)
    for start, (level, s) in zip(
        range(0, 1600, 400),
        [(e, s) for e in ("basic", "long_tertiary") for s in (0.1, 0.3)],
        strict=True,
    ):
        y[start : start + events.get((level, s), round(400 * s))] = 1
    return frame.assign(
        education_level=education, y_score=score, y_true=pd.array(y, dtype="Int64")
    )


def test_audit_fairness_calibration_within_groups_known_values(
    simulate, config
) -> None:
    audit = audit_fairness(
        _calibration_frame(simulate),
        config=config.with_overrides(calibration_bins=2, n_bootstrap=50),
        k=160,
    )
    groups = audit.groupings["education_level"]["groups"]
    expected = {
        "basic": [(0.1, 0.3), (0.3, 0.5)],
        "long_tertiary": [(0.1, 0.1), (0.3, 0.3)],
    }
    for level, bins in expected.items():
        got = [
            (b["mean_predicted"]["estimate"], b["observed_rate"]["estimate"])
            for b in groups[level]["calibration"]
        ]
        assert got == [pytest.approx(pair) for pair in bins]
    metrics = groups["basic"]["metrics"]
    assert metrics["calibration_in_the_large"]["estimate"] == pytest.approx(0.2)
    assert metrics["mean_predicted"]["estimate"] == pytest.approx(0.2)
    assert metrics["observed_rate"]["estimate"] == pytest.approx(0.4)
    assert groups["long_tertiary"]["metrics"]["calibration_in_the_large"][
        "estimate"
    ] == pytest.approx(0.0)


def test_audit_fairness_calibration_gap_fires_on_constructed_case(
    simulate, config
) -> None:
    audit = audit_fairness(
        _calibration_frame(simulate),
        config=config.with_overrides(calibration_bins=2, n_bootstrap=50),
        k=160,
    )
    gaps = [f for f in audit.flags if f.code == "calibration_gap"]
    assert ("education_level", "basic") in {(f.grouping, f.group) for f in gaps}
    assert ("education_level", "long_tertiary") not in {
        (f.grouping, f.group) for f in gaps
    }
    basic = next(f for f in gaps if f.grouping == "education_level")
    assert basic.severity == "breach"
    assert basic.estimate == pytest.approx(0.2)
    assert basic.message.startswith(
        "For citizens with basic education, the model predicted an average risk of "
        "20.0% but 40.0% had the outcome (difference +20.0 percentage points"
    )


def test_audit_fairness_label_ratio_from_hand_made_counts(simulate, config) -> None:
    # One age band; 1000 citizens with basic and 1000 with long education.
    # Kidney: basic 200 found at an admission and 200 at care, long 200 and 400;
    # nerve: 100 at an admission in each group, none at care. Cohort kidney ratio
    # 600/400 = 1.5, so expected at care 300 in each group (nerve adds 0): basic
    # 200/300, long 400/300, ratio to the reference exactly 0.5. Eye complications,
    # never found at an admission, count on neither side however many there are.
    frame = hand_made_label_counts(simulate)
    basic = np.arange(2000) < 1000
    index = np.arange(2000) % 1000
    frame = frame.assign(
        n_found_at_admission__eye=0,
        n_found_at_care__eye=np.where(basic, index < 50, index < 900).astype(int),
    )
    audit = audit_fairness(frame, config=config, k=200)
    groups = audit.groupings["education_level"]["groups"]
    cell = groups["basic"]["label_ascertainment"]
    assert cell["n"] == 300 and cell["estimate"] == pytest.approx(200 / 300)
    assert groups["long_tertiary"]["label_ascertainment"]["estimate"] == (
        pytest.approx(400 / 300)
    )
    ratio = cell["ratio"]
    assert ratio["estimate"] == pytest.approx(0.5)
    assert ratio["ci_low"] < 0.5 < ratio["ci_high"] < 0.8
    flags = {
        (f.grouping, f.group) for f in audit.flags if f.code == "label_ascertainment"
    }
    assert ("education_level", "basic") in flags
    # a margin wider than the shortfall leaves it unflagged
    wide = audit_fairness(
        frame, config=config.with_overrides(ascertainment_margin=0.6), k=200
    )
    assert not [f for f in wide.flags if f.code == "label_ascertainment"]


def test_audit_fairness_summary_and_flags_in_danish(planted_audit) -> None:
    assert len(planted_audit.summary_da) == 6
    observed = f"{planted_audit.counts['n_observed']:,}".replace(",", ".")
    assert planted_audit.summary_da[0] == (
        "Auditten omfatter 4.000 borgere i kohorten; 400 var på listen ved "
        f"kapacitet k = 400, og udfaldet kunne observeres for {observed} af dem."
    )
    flag = next(
        f for f in planted_audit.flags if f.code == "under_reach" and f.group == "basic"
    )
    assert flag.message_da.startswith(
        "Borgere med grundskole, som fik udfaldet, havde 0,"
    )
    assert "som borgere med lang videregående uddannelse (95 % CI 0," in (
        flag.message_da
    )
    label = next(f for f in planted_audit.flags if f.code == "label_ascertainment")
    assert "kan være underregistreret" in label.message_da
    assert planted_audit.to_dict()["flags"][0]["message_da"]


def test_audit_fairness_danish_summary_when_nothing_is_observed(
    unobserved_audit,
) -> None:
    audit = unobserved_audit
    assert "vides endnu ikke" in audit.summary_da[2]
    assert audit.summary_da[4].endswith("kalibreringen i grupperne kendes endnu ikke.")


def test_audit_fairness_label_check_shown_not_flagged_for_care_groupings(
    planted_audit,
) -> None:
    low = planted_audit.groupings["gp_contact_level"]["groups"]["low"]
    assert low["label_ascertainment"]["ratio"]["ci_high"] < 0.8  # shown ...
    assert (
        not [  # ... never flagged: GP contact is itself care received
            f
            for f in planted_audit.flags
            if f.code == "label_ascertainment" and f.grouping.startswith("gp_contact")
        ]
    )
