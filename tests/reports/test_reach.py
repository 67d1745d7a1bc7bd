"""Reach against a reference ranking (reports.reach), on simulated audit frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.config import FairnessConfig
from reports.reach import REACH_METRIC, reach_against
from tests.reports.conftest import simulate_frame

K = 400
SMI = ("has_smi", "true")  # the group labels of fairness.toml


def _hidden_need(mask_of: str, value: object, seed: int) -> pd.DataFrame:
    """4,000 citizens; a group with high need, and two rankings of them.

    Members of the group (``frame[mask_of] == value``) have the outcome with
    probability 0.6 (others about 0.2). ``y_score`` sees it (0.6 for them);
    ``y_score__blind`` is the same ranking with the group put last, so it lists
    fewer citizens with the outcome in all.
    """
    f = simulate_frame(n=4000, seed=seed)
    rng = np.random.default_rng(seed)
    mask = (f[mask_of] == value).to_numpy()
    y = f["y_true"].copy()
    y[mask] = (rng.random(int(mask.sum())) < 0.6).astype(int)
    sees = np.where(mask, 0.6, f["y_score"])
    return f.assign(y_true=y, y_score=sees, y_score__blind=np.where(mask, 0.0, sees))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Severe mental illness carries the hidden need."""
    return _hidden_need("has_smi", True, 21)


def _flags(frame: pd.DataFrame, audited: str, reference: str, config: FairnessConfig):
    return reach_against(
        frame, audited=audited, references={"ref@1": reference}, k=K, config=config
    )


def test_a_ranking_blind_to_a_group_is_flagged_against_one_that_sees_it(
    frame: pd.DataFrame, config: FairnessConfig
) -> None:
    figures, flags = _flags(frame, "y_score__blind", "y_score", config)
    flagged = {(f.grouping, f.group): f for f in flags}
    flag = flagged[SMI]
    assert (flag.code, flag.severity, flag.metric) == (
        "under_reach",
        "breach",
        REACH_METRIC,
    )
    assert flag.estimate == 0.0 and flag.ci_high < 0.8
    assert "as under ref@1 at the same capacity" in flag.message
    assert "0 % af dem på listen mod" in flag.message_da
    cell = next(
        c for c in figures["references"]["ref@1"]["has_smi"] if c["group"] == "true"
    )
    assert cell["recall_audited"] == 0.0 < cell["recall_reference"]
    assert cell["n_with_outcome"] >= 10
    # Each cell says whether it raised a flag, for the report's table.
    marked = {
        (grouping, c["group"])
        for grouping, cells in figures["references"]["ref@1"].items()
        for c in cells
        if c["flagged"]
    }
    assert marked == set(flagged)
    # The reference lists more citizens with the outcome in all.
    assert figures["listed_events"]["audited"] < figures["listed_events"]["ref@1"]


def test_gp_contact_uses_its_own_flag_code(config: FairnessConfig) -> None:
    frame = _hidden_need("gp_contact_level", "none", 22)
    _, flags = _flags(frame, "y_score__blind", "y_score", config)
    codes = {(f.grouping, f.group): f.code for f in flags}
    assert codes[("gp_contact_level", "none")] == "gp_contact_bias"


def test_against_a_less_precise_reference_figures_are_shown_never_flagged(
    frame: pd.DataFrame, config: FairnessConfig
) -> None:
    figures, flags = _flags(frame, "y_score", "y_score__blind", config)
    assert flags == []
    (others,) = figures["references"]["ref@1"]["has_smi"]
    # The less precise ranking reaches citizens without the hidden need better...
    assert others["group"] == "false" and others["ratio"] < 0.8
    assert others["flagged"] is False
    # ... and none of those with it: no ratio to show for them.
    assert figures["listed_events"]["audited"] > figures["listed_events"]["ref@1"]


def test_the_same_ranking_is_never_flagged(
    frame: pd.DataFrame, config: FairnessConfig
) -> None:
    figures, flags = _flags(frame, "y_score", "y_score", config)
    assert flags == []
    for cells in figures["references"]["ref@1"].values():
        assert all(c["ratio"] == 1.0 for c in cells)


def test_groups_with_few_outcomes_are_hidden_with_a_complement(
    frame: pd.DataFrame, config: FairnessConfig
) -> None:
    figures, _ = _flags(frame, "y_score__blind", "y_score", config)
    shown = {c["group"] for c in figures["references"]["ref@1"]["living_situation"]}
    y = frame["y_true"].fillna(0).to_numpy(dtype=float)
    events = pd.Series(y).groupby(frame["living_situation"]).sum()
    small = set(events[events < config.min_cell_size].index)
    assert small and not small & shown
    # A single small group would be worked out from the total: one more is hidden.
    assert len(shown) <= len(events) - max(2, len(small))
    for cells in figures["references"]["ref@1"].values():
        assert all(c["n_with_outcome"] >= config.min_cell_size for c in cells)


def test_with_flags_adds_reach_flags_and_tells_the_summary_again(
    frame: pd.DataFrame, config: FairnessConfig, balanced_audit
) -> None:
    from reports.fairness.pipeline import with_flags

    _, flags = _flags(frame, "y_score__blind", "y_score", config)
    assert not [f for f in balanced_audit.flags if f.code == "under_reach"]
    told = with_flags(
        balanced_audit, config, [f for f in flags if f.grouping == "has_smi"]
    )
    assert [f.metric for f in told.flags if f.code == "under_reach"] == [REACH_METRIC]
    assert told.breaches and told.flags[0].severity == "breach"
    assert told.summary[2].startswith("Under-reach was flagged for 1 group(s)")
    assert "med svær psykisk sygdom" in told.summary_da[2]
    assert told.summary[:2] == balanced_audit.summary[:2]
    assert balanced_audit.summary[2].startswith("No group")  # not modified
