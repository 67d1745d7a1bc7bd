"""Reach against a reference ranking: each group's recall@k under another ranking.

The audit's ``under_reach`` compares a group's recall@k with the reference
*group*'s under one ranking. That cannot see a group whose need the ranking
does not see when the reference group is served poorly too (a GP-journal-only
ranking lists citizens with severe mental illness at twice the rate of others,
yet lists a quarter of those with the outcome where the full model lists nine
tenths:
``tests/reports/test_audit_hidden_need.py``). This module compares a group's
recall@k under the audited ranking with the same group's under a reference
*ranking* of the same cohort at the same capacity k (``opspor audit
--reach-against``). Both recalls share their denominator, so the ratio is the
group's listed events under one ranking over those under the other.

A flag (the grouping's own code: ``under_reach``, or ``gp_contact_bias`` for GP
contact) needs the ratio under ``min_recall_ratio`` and the difference of the
two recalls below zero across its interval, the SE from a paired bootstrap over
citizens and the interval widened (Bonferroni) for every comparison made. At a
fixed k, reaching one group better reaches another less, so a reference flags
only when it lists at least as many citizens with the outcome in all
(precision@k no lower): the audited ranking then under-reaches the group
without buying precision with it. Against a less precise reference the figures
are shown, never flagged.
Groups with fewer than ``min_cell_size`` citizens with the outcome are not
shown, with their complements (:func:`reports.suppression.complementary_suppression`).
Aggregates only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from models.metrics import FloatArray, bootstrap_counts, percentile_interval, top_k
from reports.config import FairnessConfig
from reports.fairness.compute import group_codes
from reports.fairness.groups import GroupCodes
from reports.fairness.narrative import describe
from reports.fairness.narrative_da import describe_da, reach_message_da
from reports.fairness.result import OVERALL, Flag
from reports.suppression import complementary_suppression

__all__ = ["REACH_METRIC", "reach_against"]

#: Metric name of these flags in ``fairness.json``.
REACH_METRIC = "recall_at_k_vs_ranking"


@dataclass(frozen=True)
class _Reach:
    """One grouping's listed events under both rankings, with bootstrap draws."""

    labels: tuple[str, ...]
    events: FloatArray  # citizens with the outcome, per group
    audited: FloatArray  # of them listed by the audited ranking
    reference: FloatArray  # ... by the reference ranking
    draws_events: FloatArray  # (B, G) the same per resample
    draws_audited: FloatArray
    draws_reference: FloatArray
    shown: np.ndarray  # bool per group


def _listed(frame: pd.DataFrame, column: str, k: int) -> FloatArray:
    """Return 1.0 for citizens in a ranking's top k (unscored citizens never are)."""
    score = frame[column].to_numpy(dtype=float)
    scored = ~np.isnan(score)
    listed = top_k(np.where(scored, score, -np.inf), k) & scored
    return np.asarray(listed, dtype=np.float64)


def _group_sums(
    codes: GroupCodes, vectors: list[FloatArray], config: FairnessConfig
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Per-group sums of each vector, and the same per bootstrap resample (B, G)."""
    n, g = len(codes.codes), len(codes.labels)
    onehot = np.zeros((n, g))
    onehot[np.arange(n), codes.codes] = 1.0
    weighted = np.hstack([onehot * v[:, None] for v in vectors])  # (n, V * G)
    chunks = [
        counts @ weighted
        for counts in bootstrap_counts(
            n, n_bootstrap=config.n_bootstrap, seed=config.seed
        )
    ]
    draws = np.vstack(chunks) if chunks else np.zeros((0, len(vectors) * g))
    sums = np.ones(n) @ weighted
    return (
        [sums[i * g : (i + 1) * g] for i in range(len(vectors))],
        [draws[:, i * g : (i + 1) * g] for i in range(len(vectors))],
    )


def _reach(
    codes: GroupCodes,
    need: FloatArray,
    listed: tuple[FloatArray, FloatArray],
    config: FairnessConfig,
) -> _Reach:
    """Events and listed events per group under both rankings."""
    (events, audited, reference), draws = _group_sums(
        codes, [need, need * listed[0], need * listed[1]], config
    )
    small = events < config.min_cell_size
    shown = ~complementary_suppression(events.astype(np.int64), small) & (reference > 0)
    d_events, d_audited, d_reference = draws
    return _Reach(
        codes.labels,
        events,
        audited,
        reference,
        d_events,
        d_audited,
        d_reference,
        shown,
    )


def _z(config: FairnessConfig, m: int) -> float:
    """Return the two-sided interval's normal quantile, Bonferroni-widened over m."""
    alpha = 1.0 - config.confidence
    if config.flag_adjustment == "bonferroni":
        alpha /= max(1, m)
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def _cells(reach: _Reach, config: FairnessConfig) -> list[dict[str, Any]]:
    """One cell per shown group: both recalls, their ratio and interval, the SE."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_draws = reach.draws_audited / reach.draws_reference
        diff_draws = (reach.draws_audited - reach.draws_reference) / np.maximum(
            reach.draws_events, 1.0
        )
    low, high = percentile_interval(ratio_draws, confidence=config.confidence)
    se = np.nanstd(
        np.where(np.isfinite(diff_draws), diff_draws, np.nan), axis=0, ddof=1
    )
    return [
        {
            "group": label,
            "n_with_outcome": int(reach.events[g]),
            "recall_audited": float(reach.audited[g] / reach.events[g]),
            "recall_reference": float(reach.reference[g] / reach.events[g]),
            "ratio": float(reach.audited[g] / reach.reference[g]),
            "ci_low": float(low[g]),
            "ci_high": float(high[g]),
            "se_difference": float(se[g]),
        }
        for g, label in enumerate(reach.labels)
        if reach.shown[g]
    ]


def _breaches(cell: Mapping[str, Any], config: FairnessConfig, z: float) -> bool:
    """Ratio under the threshold, and the recall difference below 0 across z SE."""
    diff = cell["recall_audited"] - cell["recall_reference"]
    se = cell["se_difference"]
    return bool(
        cell["ratio"] < config.min_recall_ratio
        and np.isfinite(se)
        and diff + z * se < 0
    )


def _flag(
    config: FairnessConfig, grouping: str, cell: Mapping[str, Any], reference: str
) -> Flag:
    """Build the flag of one group, in English and Danish."""
    found = config.grouping(grouping)
    values = (cell["ratio"], cell["ci_low"], cell["ci_high"])
    ci = f"({config.confidence:.0%} CI {values[1]:.2f}–{values[2]:.2f})"
    message = (
        f"Citizens {describe(config, found, cell['group'])} who had the outcome were "
        f"{values[0]:.2f} times as likely to be on the list as under {reference} at "
        f"the same capacity {ci}: {cell['recall_audited']:.0%} of them listed against "
        f"{cell['recall_reference']:.0%}."
    )
    code = found.flag
    return Flag(
        code,
        grouping,
        cell["group"],
        message,
        config.severity_of(code),
        REACH_METRIC,
        *values,
        message_da=reach_message_da(
            config, describe_da(config, grouping, cell["group"]), reference, cell
        ),
    )


def reach_against(
    frame: pd.DataFrame,
    *,
    audited: str,
    references: Mapping[str, str],
    k: int,
    config: FairnessConfig,
) -> tuple[dict[str, Any], list[Flag]]:
    """Compare each group's recall@k under the audited ranking with a reference's.

    Parameters
    ----------
    frame : DataFrame
        The audit frame: ``y_true``, the groupings' columns and one score column
        per ranking. Not modified.
    audited : str
        Score column of the audited ranking.
    references : Mapping
        Reference ranking name (``NAME@VERSION``) -> its score column.
    k : int
        Capacity, the same for both rankings.
    config : FairnessConfig
        Groupings, ``min_recall_ratio``, ``min_cell_size``, bootstrap settings.

    Returns
    -------
    (dict, list of Flag)
        ``k``, ``listed_events`` (citizens with the outcome listed, per ranking),
        ``references``: ``{reference: {grouping: [cell, ...]}}``, each cell
        with ``flagged`` (it raised a flag); and the flags.
    """
    need = frame["y_true"].fillna(0).to_numpy(dtype=float)
    codes = {n: c for n, c in group_codes(frame, config).items() if n != OVERALL}
    mine = _listed(frame, audited, k)
    listed = {ref: _listed(frame, col, k) for ref, col in references.items()}
    figures = {
        ref: {
            name: _cells(_reach(c, need, (mine, theirs), config), config)
            for name, c in codes.items()
        }
        for ref, theirs in listed.items()
    }
    events = {ref: float(need @ theirs) for ref, theirs in listed.items()}
    # A trade-off of precision is shown, not flagged: see the module docstring.
    flagging = {ref for ref, n in events.items() if n >= need @ mine}
    m = sum(len(cells) for per in figures.values() for cells in per.values())
    z = _z(config, m)
    for ref, per in figures.items():
        for cell in (c for cells in per.values() for c in cells):
            cell["flagged"] = ref in flagging and _breaches(cell, config, z)
    flags = [
        _flag(config, name, cell, ref)
        for ref in sorted(flagging)
        for name, cells in figures[ref].items()
        for cell in cells
        if cell["flagged"]
    ]
    summary = {"audited": float(need @ mine), **events}
    return {"k": k, "listed_events": summary, "references": figures}, flags
