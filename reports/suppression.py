"""Complementary suppression of small cells, shared by every aggregate we publish.

A cell under the minimum size is hidden; but when a grouping publishes its total
(the cohort, a marginal group, a week) and every sibling but one, the hidden cell
is the total minus the siblings. :func:`complementary_suppression` therefore also
hides the next smallest cell of any set of siblings in which exactly one cell is
hidden, and repeats until no set has exactly one. Cells marked ``keep`` (a
grouping's reference group, the one figure every comparison divides by) are
hidden as complements only when no other visible sibling is left. The fairness audit
(:mod:`reports.fairness`), the programme report
(:mod:`outreach.programme_report`) and the audit-log summary
(:mod:`reports.governance`) all call it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["complementary_suppression", "sibling_sets"]


def complementary_suppression(
    sizes: ArrayLike,
    hidden: ArrayLike,
    siblings: Sequence[Sequence[int]] | None = None,
    keep: ArrayLike | None = None,
) -> NDArray[np.bool_]:
    """Extend a suppression mask so no hidden cell follows from a total.

    Parameters
    ----------
    sizes : array-like (n,)
        Size of each cell (the count that decides suppression); the smallest
        visible sibling is hidden first (ties: the first in order).
    hidden : array-like of bool (n,)
        Cells already suppressed (under the minimum size, or undefined).
    siblings : sequence of index sequences, optional
        Sets of cells that add up to a published total; default one set of all.
    keep : array-like of bool (n,), optional
        Cells to hide last: a complement is taken from the other visible
        siblings while there is one (the reference group stays shown).

    Returns
    -------
    ndarray of bool (n,)
        A new mask: ``hidden`` plus the complementary cells. A set never holds
        exactly one hidden cell (unless it has only one cell).
    """
    mask = np.array(hidden, dtype=bool, copy=True)
    size = np.asarray(sizes, dtype=float)
    kept = np.zeros(len(mask), bool) if keep is None else np.asarray(keep, bool)
    sets = [np.arange(len(mask))] if siblings is None else siblings
    groups = [np.asarray(s, dtype=np.int64) for s in sets if len(s) > 1]
    changed = True
    while changed:
        changed = False
        for cells in groups:
            if int(mask[cells].sum()) != 1:
                continue
            mask[_complement(cells[~mask[cells]], size, kept)] = True
            changed = True
    return mask


def _complement(
    visible: NDArray[np.int64], size: NDArray[np.float64], kept: NDArray[np.bool_]
) -> int:
    """Pick the sibling to hide: the smallest visible, a kept one only if no other."""
    order = np.lexsort((size[visible], kept[visible]))
    return int(visible[order[0]])


def sibling_sets(labels: Sequence[str], separator: str) -> list[list[int]]:
    """Return the sets of sibling groups that add up to a published total.

    A plain grouping's groups add up to the cohort; an intersection's
    (``"a × b"``) also add up, along each part, to the marginal groups.

    Parameters
    ----------
    labels : sequence of str
        Group labels, intersections joined by ``separator``.
    separator : str
        The intersection separator.

    Returns
    -------
    list of list of int
    """
    sets = [list(range(len(labels)))]
    parts = [label.split(separator) for label in labels]
    for position in range(max((len(p) for p in parts), default=1)):
        if all(len(p) == 1 for p in parts):
            break
        keys: dict[str, list[int]] = {}
        for i, p in enumerate(parts):
            keys.setdefault(p[position] if position < len(p) else "", []).append(i)
        sets += list(keys.values())
    return sets
