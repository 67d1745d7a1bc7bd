"""Complementary suppression: no hidden cell follows from a total and its siblings."""

from __future__ import annotations

import numpy as np

from reports.suppression import complementary_suppression, sibling_sets


def test_complementary_suppression_hides_next_smallest_when_one_is_hidden() -> None:
    sizes = [120, 8, 45, 30]
    mask = complementary_suppression(sizes, [s < 10 for s in sizes])
    assert mask.tolist() == [False, True, False, True]


def test_complementary_suppression_leaves_two_hidden_cells_alone() -> None:
    sizes = [120, 8, 45, 3]
    mask = complementary_suppression(sizes, [s < 10 for s in sizes])
    assert mask.tolist() == [False, True, False, True]


def test_complementary_suppression_nothing_hidden_changes_nothing() -> None:
    hidden = np.array([False, False])
    mask = complementary_suppression([50, 60], hidden)
    assert mask.tolist() == [False, False]
    assert mask is not hidden


def test_complementary_suppression_follows_intersections_to_a_fixed_point() -> None:
    labels = ["a × F", "a × M", "b × F", "b × M"]
    sizes = [5, 40, 50, 60]
    sets = sibling_sets(labels, " × ")
    assert sorted(map(sorted, sets)) == [[0, 1], [0, 1, 2, 3], [0, 2], [1, 3], [2, 3]]
    mask = complementary_suppression(sizes, [s < 10 for s in sizes], sets)
    # a × F hidden -> a × M (its row sibling) and b × F (its column sibling),
    # then b × M, the last visible cell of its row and column.
    assert mask.tolist() == [True, True, True, True]


def test_audit_fairness_suppresses_a_complement_beside_one_small_group(
    simulate, config
) -> None:
    from reports.fairness import audit_fairness

    frame = simulate(n=1500, seed=3)
    frame = frame.assign(
        sex=np.where(np.arange(len(frame)) < 6, "X", frame["sex"].to_numpy())
    )
    audit = audit_fairness(frame, config=config.with_overrides(n_bootstrap=20), k=150)
    groups = audit.groupings["sex"]["groups"]
    assert groups["X"]["suppressed"] is True
    smaller = min(("F", "M"), key=lambda g: int((frame["sex"] == g).sum()))
    larger = ({"F", "M"} - {smaller}).pop()
    # the cohort total minus the one shown group would give the other two together,
    # so with only X hidden its size would follow: the smaller one is hidden too.
    assert groups[smaller]["suppressed"] is True and groups[smaller]["n"] is None
    assert groups[smaller]["metrics"]["share_of_cohort"]["estimate"] is None
    assert groups[larger]["suppressed"] is False
