"""The fairness audit: group metrics at capacity k, label check, flags, summary.

:func:`audit_fairness` takes one frame with a row per cohort citizen and returns
a :class:`FairnessAudit` of aggregates only; :mod:`reports.render` writes it as
HTML, PDF and ``fairness.json``. Every figure carries a bootstrap interval, every
group is compared to its reference group on the same draws, and cells under
``min_cell_size`` are suppressed before anything leaves this package.

The package is split by the question each module answers, in the order the
audit runs (each module imports only those above it):

- :mod:`~reports.fairness.result`: what the audit returns (``FairnessAudit``,
  ``Flag``); the leaf.
- :mod:`~reports.fairness.groups`: group sums, ratios and AUROC with bootstrap
  draws (the shared metrics of :mod:`models.metrics` applied per group).
- :mod:`~reports.fairness.narrative` and :mod:`~reports.fairness.narrative_da`:
  the words, in English and Danish; they read figures and never compute them.
- :mod:`~reports.fairness.compute`: per-citizen vectors, ratio specs, the
  re-rankings, the estimates.
- :mod:`~reports.fairness.cells`: references, comparisons, suppression, JSON.
- :mod:`~reports.fairness.flags`: which comparisons pass a threshold.
- :mod:`~reports.fairness.pipeline`: :func:`audit_fairness`, which runs them.

Compute, flags and narrative change for different reasons (a new figure, a new
threshold rule, a reworded sentence), so each can be reviewed and tested on its
own; the narrative is the one place a reviewer reads to check what a reader is
told. Cells sit apart from compute because suppression is the privacy rule every
figure passes through, and flags reuse it.
"""

from __future__ import annotations

from reports.fairness.compute import (
    BAD_CAPACITY,
    EMPTY_FRAME,
    MISSING_COLUMNS,
    MITIGATIONS,
    rerank_by_quota,
)
from reports.fairness.pipeline import audit_fairness
from reports.fairness.result import FairnessAudit, Flag

__all__ = [
    "BAD_CAPACITY",
    "EMPTY_FRAME",
    "MISSING_COLUMNS",
    "MITIGATIONS",
    "FairnessAudit",
    "Flag",
    "audit_fairness",
    "rerank_by_quota",
]
