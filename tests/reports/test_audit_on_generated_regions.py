"""The fairness audit on the generator's regions, end to end (issues 6 and 13).

generate (region_small, with or without the planted knobs) -> load -> features ->
train diabetes_harm_365d -> score at its test date -> ``run_audit`` over the
whole region -> ``fairness.json``.

Two twin regions of the same size and seed, both with
``engagement_education_gradient = 3.0`` (engagement falls by three SD from long
tertiary to basic education, so care differs by education in both), differing
only in the generator's ``ascertainment_bias``: same citizens, same true
complications, only their recording differs.

- **planted**: ``ascertainment_bias`` on (late complications recorded only at an
  attended screening/control, unless an acute admission for one finds it);
- **balanced**: the bias off, the care gap still there.

What is asserted, and why:

- planted: a ``label_ascertainment`` flag for citizens with basic education
  (``education_level``) and for the survey's "none or short" split
  (``education_split``): a strict ``xfail``, see its reason (the planted
  under-recording is mostly inside the check's margin, and the yardstick has
  too few events at any test size).
- balanced: no ``label_ascertainment`` flag anywhere, though care differs by
  education (the false alarm of issue 13: the old check read attendance, then
  acute admissions, and flagged this world); no flag on any grouping that
  compares education groups and no breach flag (under_reach, gp_contact_bias,
  calibration_gap) anywhere, while the education comparisons are still made.
- under-reach end to end is in ``test_audit_hidden_need.py``: education is not
  under-reached in the generator's worlds (that module's docstring says why and
  what was tried), so the strict ``xfail`` that expected it here is gone.

Sizes: 30,000 citizens give ~2,800 diabetics in the cohort at the test date;
each region takes ~12-24 s on two idle cores (3-4 minutes on two busy ones).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from features.settings import EngineSettings
from tests.models.conftest import fewer_rounds

CITIZENS = 30_000
PLANTED_GRADIENT = 3.0
K_SHARE = 0.02  # capacity: 2 % of the cohort (~57, the Diabetes Bus takes 40 a week)
MODEL = "diabetes_harm_365d"
EDUCATION_GROUPINGS = {
    "education_level",
    "education_split",
    "education_x_sex",
    "education_x_age_band",
}


def _audit_region(root: Path, *, gradient: float, bias: bool) -> dict[str, Any]:
    """Generate, load, train, score and audit one region; return fairness.json."""
    from features.load import load_extract
    from models.score import score_citizens
    from models.spec import load_spec
    from models.train import train_model
    from reports.audit import run_audit
    from synthetic_data import generate_extract, load_profile

    profile = dataclasses.replace(
        load_profile("region_small", citizens=CITIZENS),
        engagement_education_gradient=gradient,
        ascertainment_bias=bias,
    )
    generated = generate_extract(profile, root / "extract", fmt="parquet")
    settings = EngineSettings(output_dir=root / "build")
    load_extract(generated.out_dir, settings=settings)
    # 120 boosting rounds, 30 validation draws (fewer_rounds): what is asserted
    # is what the audit flags on a ranking by risk, not the model's quality.
    trained = train_model(fewer_rounds(load_spec(MODEL)), settings=settings)
    scored = score_citizens(settings, model=f"{MODEL}@1", as_of=trained.test_date)
    result = run_audit(
        settings,
        programme="diabetes_bus",
        k=max(1, round(K_SHARE * scored.n_scored)),
        model=f"{MODEL}@1",
        municipalities=(),
        as_of_date=trained.test_date,
    )
    report: dict[str, Any] = json.loads(result.json.read_text(encoding="utf-8"))
    assert report["context"]["as_of_date"] == str(trained.test_date)
    assert report["n_cohort"] == scored.n_scored > 2000
    return report


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """fairness.json of the region with the education gradient and the bias."""
    root = tmp_path_factory.mktemp("planted")
    return _audit_region(root, gradient=PLANTED_GRADIENT, bias=True)


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """fairness.json of the planted region's twin: the gradient, but no bias."""
    root = tmp_path_factory.mktemp("balanced")
    return _audit_region(root, gradient=PLANTED_GRADIENT, bias=False)


def _flagged(report: dict[str, Any], code: str) -> set[tuple[str, str]]:
    """(grouping, group) of every flag with this code."""
    return {(f["grouping"], f["group"]) for f in report["flags"] if f["code"] == code}


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "Issue 13: the label check compares complications first found at attended "
        "care with those first found at an acute admission for them (which needs "
        "no control), per complication group and age band over the covered "
        "history. It no longer false-alarms: on the balanced twin (gradient 3, "
        "bias off) it raises no label flag (30,000 citizens: 'none or short' vs "
        "'medium or long' 0.55, CI 0.21-1.13; 200,000, the check alone on the "
        "extract: 0.85, 0.58-1.17, where the old yardstick gave 0.48, 0.40-0.60, "
        "a flag). But it cannot flag this planted region: at 30,000, 0.57 "
        "(0.20-1.14), and basic vs long tertiary is not shown (long tertiary has "
        "under 10 expected); at 200,000, 0.72 (0.50-0.99) and basic 0.63 "
        "(0.35-1.08). Too few yardstick events (under 900 admission-found "
        "complications at 200,000, about 120 of them in 'medium or long'), and the "
        "planted under-recording is mostly inside the margin: of the same true "
        "complications the bias keeps 80.5 % found at care for 'none or short' "
        "and 94.8 % for 'medium or long' (0.85, above 1 - margin = 0.8), basic "
        "73 % vs long tertiary 94 % (0.78). A larger gap does not help at this "
        "size (2026-12-07): with the generator's ascertainment_engagement_slope "
        "at 1.0 on this region (recording kept at 0.49 of the reference's for "
        "'none or short', 0.30 for basic: past realistic), the check alone at "
        "30,000 citizens has 13 expected care-found complications in 'medium or "
        "long' and 88 in basic, so no ratio can be shown ('none or short' is "
        "hidden as the complement of the small 'unknown' cell, long tertiary is "
        "under 10). The family of worlds now draws such gaps (slope 0.25-1.5); "
        "see bench/results/label_sweep.json for what a 100,000-citizen world "
        "shows. Remove when a region big enough is affordable in a test."
    ),
)
def test_run_audit_planted_region_flags_label_problem_for_short_education(
    planted: dict[str, Any],
) -> None:
    flagged = _flagged(planted, "label_ascertainment")
    assert ("education_level", "basic") in flagged
    assert ("education_split", "none or short") in flagged
    assert not {g for g in flagged if g[1] in {"long_tertiary", "medium or long"}}
    for flag in planted["flags"]:
        if flag["code"] == "label_ascertainment":
            assert flag["severity"] == "warning"
            assert flag["estimate"] < 0.8 and flag["ci_high"] < 0.8
            assert "may be under-recorded" in flag["message"]


@pytest.mark.slow
def test_run_audit_compares_the_ranking_under_the_alternative_outcome(
    planted: dict[str, Any],
) -> None:
    # No missed_care_365d model was trained: the audit built its labels itself.
    groups = planted["groupings"]["education_split"]["groups"]
    needs = []
    for name in ("none or short", "medium or long"):
        alt = groups[name]["alternative_outcomes"]["y_true_missed_care_365d"]
        assert 0.0 <= alt["recall_at_k"]["estimate"] <= 1.0
        needs.append(alt["share_of_need"]["estimate"])
    # The planted gradient: short education carries most of the missed care.
    assert needs[0] > 0.8 > 0.1 > needs[1]
    # ... and the first page says how the list reaches it, beside the reference.
    assert (
        "Under the alternative outcome missed care within 365 days, the list reached"
        in planted["summary"][4]
    )
    assert "of citizens with medium or long further education." in planted["summary"][4]


@pytest.mark.slow
def test_run_audit_balanced_region_raises_no_education_or_breach_flag(
    balanced: dict[str, Any],
) -> None:
    assert not _flagged(balanced, "label_ascertainment")
    assert not [f for f in balanced["flags"] if f["grouping"] in EDUCATION_GROUPINGS]
    assert not [f for f in balanced["flags"] if f["severity"] == "breach"]
    basic = balanced["groupings"]["education_level"]["groups"]["basic"]
    split = balanced["groupings"]["education_split"]["groups"]["none or short"]
    for group in (basic, split):
        for cell in group["care_gap"].values():
            assert cell["ratio"] is not None and cell["ratio"]["estimate"] is not None
    # The label check is made for the split (at this size long tertiary alone has
    # too few admission-found complications to be shown as a reference).
    label = split["label_ascertainment"]
    assert label["ratio"] is not None and label["ratio"]["estimate"] is not None
    # ... and its summary says what the check could have seen, never "fine"
    assert 0.0 < label["detectable_ratio"] < 0.8
    assert balanced["summary"][4].startswith(
        "The label check raised no flag, which does not show that the outcome is "
        "recorded alike"
    )


@pytest.mark.slow
def test_run_audit_planted_region_is_honest_about_what_it_could_not_see(
    planted: dict[str, Any],
) -> None:
    # The bias keeps 0.78 of long tertiary's recording for basic education and
    # 0.85 of "medium or long"'s for "none or short" (see the xfail above): no
    # cell may claim it could see a gap that large and raise no flag.
    flagged = _flagged(planted, "label_ascertainment")
    truth = {
        ("education_level", "basic"): 0.78,
        ("education_split", "none or short"): 0.85,
    }
    for (name, group), kept in truth.items():
        cell = planted["groupings"][name]["groups"][group]["label_ascertainment"]
        detectable = cell.get("detectable_ratio")
        assert (name, group) in flagged or detectable is None or detectable < kept
    if not flagged:
        assert "does not show that the outcome is recorded alike" in (
            planted["summary"][4]
        ) or planted["summary"][4].startswith("The label check could compare no group")
