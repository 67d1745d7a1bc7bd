"""What the label check could see: its minimum detectable recording ratio.

The closed form on hand-made standard errors, checked against a simulation of
the flag rule, and the per-cell figure of ``fairness.json`` on hand-made counts:
more events bring it closer to 1, a gap far below it is still flagged, and a
suppressed cell or a reference group tells none.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from reports.fairness import audit_fairness, narrative, narrative_da
from reports.fairness.flags import min_detectable_ratio
from reports.fairness.narrative import label_blindness
from reports.render import render_fairness_html
from tests.reports.conftest import hand_made_label_counts

THRESHOLD = 0.8  # 1 - the packaged margin


def test_min_detectable_ratio_from_a_known_se() -> None:
    # se 0.1, z 1.96, 80 % power (z 0.8416): 0.8 * exp(-2.8016 * 0.1)
    assert min_detectable_ratio(0.1, 1.96, THRESHOLD) == pytest.approx(
        0.8 * np.exp(-0.28016), abs=1e-4
    )
    # at 50 % power the ratio is the one whose interval just touches the threshold
    assert min_detectable_ratio(0.1, 1.96, THRESHOLD, power=0.5) == pytest.approx(
        0.8 * np.exp(-0.196)
    )
    assert min_detectable_ratio(0.0, 1.96, THRESHOLD) == pytest.approx(THRESHOLD)
    assert np.isnan(min_detectable_ratio(float("nan"), 1.96, THRESHOLD))


def test_min_detectable_ratio_nears_the_threshold_as_events_grow() -> None:
    # Poisson SE of the log ratio of four counts, each count scaled up
    ratios = [
        min_detectable_ratio(np.sqrt(4 / n), 2.5, THRESHOLD) for n in (25, 100, 1000)
    ]
    assert ratios[0] < ratios[1] < ratios[2] < THRESHOLD
    assert ratios[0] == pytest.approx(0.8 * np.exp(-(2.5 + 0.8416) * 0.4), abs=1e-3)


def test_min_detectable_ratio_is_flagged_with_its_power() -> None:
    # the flag rule (log ratio + z * se below log threshold) on simulated
    # estimates around the detectable ratio fires 80 % of the time
    se, z = 0.3, 2.4
    ratio = min_detectable_ratio(se, z, THRESHOLD)
    rng = np.random.default_rng(5)
    estimates = rng.normal(np.log(ratio), se, 200_000)
    rate = np.mean(estimates + z * se < np.log(THRESHOLD))
    assert rate == pytest.approx(0.8, abs=0.005)
    # a true ratio halfway to the threshold is flagged far less often
    halfway = rng.normal(np.log((ratio + THRESHOLD) / 2), se, 200_000)
    assert np.mean(halfway + z * se < np.log(THRESHOLD)) < 0.6


@pytest.fixture(scope="module")
def audits(simulate, config):
    """The hand-made counts audited at scale 1 and 3 (few bootstrap draws)."""
    fast = config.with_overrides(n_bootstrap=40)
    return {
        scale: audit_fairness(
            hand_made_label_counts(simulate, scale),
            config=fast,
            k=200 * scale,
            context={"programme": "test"},
        )
        for scale in (1, 3)
    }


def _cell(audit, group="basic"):
    return audit.groupings["education_level"]["groups"][group]["label_ascertainment"]


def test_detectable_ratio_in_each_cell_bounded_by_the_poisson_se(audits) -> None:
    cell = _cell(audits[1])
    # counts found 200 / expected 300 (basic), 400 / 300 (long); the flag's SE is
    # at least the Poisson one and its quantile at least 1.96, so the detectable
    # ratio is at most the one they give
    poisson = np.sqrt(sum(1 / (c + 0.5) for c in (200, 300, 400, 300)))
    bound = THRESHOLD * np.exp(-(1.96 + NormalDist().inv_cdf(0.8)) * poisson)
    assert 0.3 < cell["detectable_ratio"] <= bound
    assert _cell(audits[1], "long_tertiary")["detectable_ratio"] is None  # reference
    assert audits[1].settings["ascertainment_detection_power"] == 0.8


def test_more_events_bring_the_detectable_ratio_closer_to_one(audits) -> None:
    small, large = (_cell(audits[s])["detectable_ratio"] for s in (1, 3))
    assert small < large < THRESHOLD
    assert _cell(audits[3])["ratio"]["estimate"] == pytest.approx(0.5)


def test_a_gap_far_below_the_detectable_ratio_is_still_flagged(audits) -> None:
    audit = audits[3]
    assert _cell(audit)["ratio"]["estimate"] < _cell(audit)["detectable_ratio"] - 0.1
    flagged = {
        (f.grouping, f.group) for f in audit.flags if f.code == "label_ascertainment"
    }
    assert ("education_level", "basic") in flagged


def test_suppressed_cell_tells_no_detectable_ratio(simulate, config) -> None:
    hidden = config.with_overrides(n_bootstrap=20, min_cell_size=400)
    audit = audit_fairness(hand_made_label_counts(simulate, 1), config=hidden, k=200)
    cell = _cell(audit)
    assert cell["suppressed"] and cell["detectable_ratio"] is None


def test_report_shows_what_the_label_check_could_see(audits) -> None:
    audit = audits[1]
    html = render_fairness_html(audit, [], lang="en")
    assert "<th>could see a gap below</th>" in html
    assert f"<td>{_cell(audit)['detectable_ratio']:.2f}</td>" in html
    assert "No flag is not a clean bill" in html


def _results(basic: float | None, vocational: float | None) -> dict:
    def group(ratio: float | None) -> dict:
        cell = {"detectable_ratio": ratio, "suppressed": ratio is None}
        return {"reference": "long_tertiary", "label_ascertainment": cell}

    return {
        "education_level": {
            "groups": {
                "basic": group(basic),
                "vocational": group(vocational),
                "long_tertiary": group(None),  # the reference
            }
        }
    }


def test_summary_names_what_the_check_could_see_and_what_it_could_not(
    config,
) -> None:
    results = _results(0.41, None)
    blind = label_blindness(config, results)
    assert blind is not None
    assert (blind.group, blind.ratio, blind.n_compared, blind.n_unseen) == (
        "basic",
        0.41,
        1,
        1,
    )
    english = narrative._label_sentence(config, results, [], [])
    assert (
        "could have seen a recording gap only if complications of citizens with "
        "basic education were recorded at under 0.41 times the rate of citizens "
        "with long education (80% power; 1 other group(s) too small to compare "
        "at all)"
    ) in english
    assert "no sign" not in english
    danish = narrative_da._label_da(config, results, [], [])
    assert "blev registreret under 0,41 gange så ofte som hos borgere med lang" in (
        danish
    )
    assert "yderligere 1 gruppe(r) for små til at sammenligne" in danish


def test_summary_when_no_group_could_be_compared(config) -> None:
    results = _results(None, None)
    assert label_blindness(config, results) is None
    assert narrative._label_sentence(config, results, [], []).startswith(
        "The label check could compare no group with its reference"
    )
    assert narrative_da._label_da(config, results, [], []).startswith(
        "Registreringstjekket kunne ikke sammenligne nogen gruppe"
    )
