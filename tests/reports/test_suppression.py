"""Complementary suppression: no hidden cell follows from a total and its siblings."""

from __future__ import annotations

import numpy as np
import pytest

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


# --- the reference group survives, and nothing hidden follows from totals -------


def _derivable(sets: list[list[int]], mask: np.ndarray) -> list[int]:
    """Hidden cells whose value follows from the published totals and shown cells.

    Each set publishes its total, so the hidden cells of a set sum to a known
    number; a hidden cell is given away when its indicator lies in the span of
    those sums (linear algebra, not just "one hidden cell per set").
    """
    hidden = np.flatnonzero(mask)
    rows = np.array([[i in s for i in hidden] for s in sets], dtype=float)
    rank = np.linalg.matrix_rank(rows)
    return [
        int(h)
        for j, h in enumerate(hidden)
        if np.linalg.matrix_rank(np.vstack([rows, np.eye(len(hidden))[j]])) == rank
    ]


def test_complement_spares_the_reference_when_another_sibling_can_go() -> None:
    # "none or short", "medium or long" (the reference), "unknown" (too small):
    # the old rule hid the smaller visible group, the reference every ratio needs.
    sizes = np.array([300, 40, 5])
    small = sizes < 10
    plain = complementary_suppression(sizes, small)
    kept = complementary_suppression(sizes, small, keep=[False, True, False])
    assert plain.tolist() == [False, True, True]
    assert kept.tolist() == [True, False, True]
    assert _derivable([[0, 1, 2]], kept) == []
    assert _derivable([[0, 1, 2]], small) == [2]  # the check can fail


def test_complement_hides_the_reference_only_when_no_other_sibling_is_left() -> None:
    sizes = np.array([5, 40])
    mask = complementary_suppression(sizes, sizes < 10, keep=[False, True])
    assert mask.tolist() == [True, True]


def test_complement_keeps_the_references_of_an_intersection() -> None:
    labels = [
        "none or short × F",
        "none or short × M",
        "medium or long × F",
        "medium or long × M",
        "unknown × F",
        "unknown × M",
    ]
    sizes = np.array([200, 180, 30, 25, 4, 12])
    sets = sibling_sets(labels, " × ")
    keep = np.array([label.startswith("medium or long") for label in labels])
    plain = complementary_suppression(sizes, sizes < 10, sets)
    kept = complementary_suppression(sizes, sizes < 10, sets, keep=keep)
    assert plain[keep].all()  # before: both reference cells hidden
    assert kept.tolist() == [True, True, False, False, True, True]
    assert _derivable(sets, plain) == [] and _derivable(sets, kept) == []


@pytest.mark.parametrize("seed", range(40))
def test_no_hidden_cell_follows_from_totals_with_references_kept(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, cols = ["a", "b", "c"], ["x", "y", "z"]
    labels = [f"{r} × {c}" for r in rows for c in cols]
    sizes = rng.integers(0, 60, len(labels))
    sets = sibling_sets(labels, " × ")
    keep = np.array([label.startswith("b ×") for label in labels])
    mask = complementary_suppression(sizes, sizes < 10, sets, keep=keep)
    assert _derivable(sets, mask) == []
    assert mask[sizes < 10].all()


def test_shown_cells_keep_the_reference_label_cell() -> None:
    from reports.fairness.cells import shown_cells
    from reports.fairness.groups import Estimates

    labels = ["basic", "long_tertiary", "unknown", "vocational"]
    # the label check's own cells (yardstick counts): unknown has too few, and
    # the reference, long tertiary, is the smallest of the rest
    est = Estimates(
        estimate=np.array([0.8, 1.0, 0.9, 0.95]),
        draws=np.ones((3, 4)),
        n=np.array([700, 40, 6, 300]),
    )
    group_n = np.array([4000, 500, 60, 2500])
    refs = [1, 1, 1, 1]
    before = shown_cells(est, group_n, labels, 10)
    assert before.tolist() == [True, False, False, True]  # no ratio can be shown
    shown = shown_cells(est, group_n, labels, 10, refs)
    assert shown.tolist() == [True, True, False, False]  # basic vs long stays
