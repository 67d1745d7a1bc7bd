"""The audit's cells: references, comparisons, suppression and the JSON sections.

Step two of :func:`reports.fairness.audit_fairness`. Each estimate becomes a
cell (``n``, ``estimate``, ``ci_low``, ``ci_high``, ``suppressed``) with its
difference and ratio to the group's reference group on the same bootstrap
draws. Cells under ``min_cell_size``, and cells that could be worked out from
their siblings, are suppressed here, before anything leaves the package. The
flags (:mod:`~reports.fairness.flags`) use the same references and the same
rule for which cells are shown.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.metrics import FloatArray, percentile_interval
from reports.config import INTERSECTION, FairnessConfig, Grouping
from reports.fairness.compute import LABEL_METRIC, MITIGATIONS
from reports.fairness.groups import Estimates, GroupCodes
from reports.fairness.narrative import describe
from reports.fairness.result import ALL, OVERALL, num
from reports.suppression import complementary_suppression, sibling_sets

__all__ = [
    "Compared",
    "compare",
    "grouping_or_overall",
    "grouping_result",
    "interval",
    "mitigation_table",
    "reference_index",
    "shown_cells",
]

log = logging.getLogger(__name__)


# --- references and comparisons -------------------------------------------------


def grouping_or_overall(config: FairnessConfig, name: str) -> Grouping:
    """Return the configured grouping, or a one-group stand-in for the whole cohort."""
    if name == OVERALL:
        return Grouping(name=OVERALL, column=None, reference=ALL, phrase="{group}")
    return config.grouping(name)


def reference_index(
    grouping: Grouping, labels: Sequence[str], sizes: FloatArray
) -> list[int]:
    """Index of each group's reference group (-1 when there is none)."""
    largest = int(np.argmax(sizes))
    lookup = {label: i for i, label in enumerate(labels)}
    ref = grouping.reference
    if ref.endswith(INTERSECTION + "*"):
        head = ref[: -len(INTERSECTION + "*")]
        return [
            lookup.get(head + INTERSECTION + lb.split(INTERSECTION, 1)[-1], -1)
            for lb in labels
        ]
    if ref == "largest":
        return [largest] * len(labels)
    if ref not in lookup:
        if len(labels) > 1:  # one group alone (a cohort of has_smi) compares with none
            log.warning(
                "Reference group of %s absent; using the largest group", grouping.name
            )
        return [largest] * len(labels)
    return [lookup[ref]] * len(labels)


def interval(draws: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of draws (B, G); NaN when there are no draws."""
    if draws.shape[0] == 0:
        nan = np.full(draws.shape[1], np.nan)
        return nan, nan.copy()
    return percentile_interval(draws, confidence=confidence)


@dataclass(frozen=True)
class Compared:
    """Comparison of one metric to the reference group, on the same draws."""

    estimate: FloatArray  # (G,)
    low: FloatArray
    high: FloatArray
    valid: np.ndarray


def compare(
    est: Estimates, refs: Sequence[int], ok: np.ndarray, kind: str, confidence: float
) -> Compared:
    """Compare every group to its reference (NaN where not comparable)."""
    idx = np.asarray([r if r >= 0 else 0 for r in refs])
    valid = np.asarray(
        [r >= 0 and r != g and ok[g] and ok[r] for g, r in enumerate(refs)]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ratio":
            point, draws = (
                est.estimate / est.estimate[idx],
                est.draws / est.draws[:, idx],
            )
        else:
            point, draws = (
                est.estimate - est.estimate[idx],
                est.draws - est.draws[:, idx],
            )
    low, high = interval(draws, confidence)
    nan = np.full(len(point), np.nan)
    return Compared(
        np.where(valid, point, nan),
        np.where(valid, low, nan),
        np.where(valid, high, nan),
        valid,
    )


# --- suppression and cells ------------------------------------------------------


def _is_reference(refs: Sequence[int], n_groups: int) -> NDArray[np.bool_]:
    """Mark the groups that some group is compared with."""
    marks = np.zeros(n_groups, dtype=bool)
    marks[[r for r in refs if r >= 0]] = True
    return marks


def _hidden_groups(
    group_n: np.ndarray, labels: Sequence[str], min_cell: int, refs: Sequence[int]
) -> NDArray[np.bool_]:
    """Return the suppressed groups: under the minimum size, and complements."""
    return complementary_suppression(
        group_n,
        group_n < min_cell,
        sibling_sets(labels, INTERSECTION),
        keep=_is_reference(refs, len(labels)),
    )


def shown_cells(
    est: Estimates,
    group_n: np.ndarray,
    labels: Sequence[str],
    min_cell: int,
    refs: Sequence[int] = (),
) -> NDArray[np.bool_]:
    """Return the cells shown (not suppressed, nor given away by siblings).

    The group and the metric's own cell must be big enough, and no cell may be
    worked out from its siblings and their total (complementary suppression).
    A reference group (``refs``: each group's reference index) is hidden as a
    complement only when no other sibling can be: every comparison needs it.
    """
    ok = (
        ~_hidden_groups(group_n, labels, min_cell, refs)
        & (est.n >= min_cell)
        & np.isfinite(est.estimate)
    )
    return ~complementary_suppression(
        est.n,
        ~ok,
        sibling_sets(labels, INTERSECTION),
        keep=_is_reference(refs, len(labels)),
    )


def _cell(est: Estimates, g: int, ok: bool, low: float, high: float) -> dict[str, Any]:
    """One figure in JSON shape; everything null when suppressed."""
    if not ok:
        return {
            "n": None,
            "estimate": None,
            "ci_low": None,
            "ci_high": None,
            "suppressed": True,
        }
    return {
        "n": int(est.n[g]),
        "estimate": num(est.estimate[g]),
        "ci_low": num(low),
        "ci_high": num(high),
        "suppressed": False,
    }


def _comparison(c: Compared, g: int) -> dict[str, float | None] | None:
    """Difference or ratio of group g in JSON shape (None when not comparable)."""
    if not c.valid[g]:
        return None
    return {
        "estimate": num(c.estimate[g]),
        "ci_low": num(c.low[g]),
        "ci_high": num(c.high[g]),
    }


def _metric_cells(
    est: Estimates,
    refs: Sequence[int],
    group_n: np.ndarray,
    labels: Sequence[str],
    config: FairnessConfig,
) -> list[dict[str, Any]]:
    """Return one metric's cells for every group, with difference and ratio."""
    ok = shown_cells(est, group_n, labels, config.min_cell_size, refs)
    low, high = interval(est.draws, config.confidence)
    diff = compare(est, refs, ok, "difference", config.confidence)
    ratio = compare(est, refs, ok, "ratio", config.confidence)
    cells = []
    for g in range(len(est.estimate)):
        cell = _cell(est, g, bool(ok[g]), low[g], high[g])
        cell["difference"], cell["ratio"] = _comparison(diff, g), _comparison(ratio, g)
        cells.append(cell)
    return cells


def grouping_result(
    grouping: Grouping,
    codes: GroupCodes,
    estimates: Mapping[str, Estimates],
    config: FairnessConfig,
) -> dict[str, Any]:
    """JSON-ready result of one grouping: reference and per-group sections."""
    group_n = estimates["group_size"].n
    refs = reference_index(grouping, codes.labels, group_n.astype(float))
    cells = {
        name: _metric_cells(est, refs, group_n, codes.labels, config)
        for name, est in estimates.items()
        if name != "group_size"
    }
    hidden = _hidden_groups(group_n, codes.labels, config.min_cell_size, refs)
    groups = {}
    for g, label in enumerate(codes.labels):
        suppressed = bool(hidden[g])
        groups[label] = {
            "n": None if suppressed else int(group_n[g]),
            "suppressed": suppressed,
            "reference": codes.labels[refs[g]] if refs[g] >= 0 else None,
            "description": describe(config, grouping, label),
            **_sections(config, {name: c[g] for name, c in cells.items()}),
        }
    reference: str | None = grouping.reference
    if "*" not in grouping.reference:
        reference = codes.labels[refs[0]] if refs and refs[0] >= 0 else None
    columns = [grouping.column] if grouping.column else list(grouping.of)
    return {"columns": columns, "reference": reference, "groups": groups}


def _sections(
    config: FairnessConfig, cells: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """Split one group's cells into the JSON sections."""
    return {
        "metrics": {m: cells[m] for m in config.metrics if m in cells},
        "care_gap": _keyed(cells, "care_gap:"),
        "label_ascertainment": cells.get(LABEL_METRIC),
        "alternative_outcomes": {
            col: {
                "recall_at_k": cells[f"alt_recall:{col}"],
                "share_of_need": cells[f"alt_share:{col}"],
            }
            for col in config.alternative_outcomes
            if f"alt_recall:{col}" in cells
        },
        **_curves(config, cells),
    }


def _keyed(
    cells: Mapping[str, dict[str, Any]], prefix: str
) -> dict[str, dict[str, Any]]:
    """Cells whose key starts with ``prefix``, keyed by the rest of the key."""
    return {k[len(prefix) :]: c for k, c in cells.items() if k.startswith(prefix)}


def _curves(
    config: FairnessConfig, cells: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """Return the calibration bins, the curve over k and the re-rankings' cells."""
    n_curve = len(_keyed(cells, "curve_recall:"))
    return {
        "calibration": [
            {
                "bin": b + 1,
                "mean_predicted": cells[f"cal_predicted:{b}"],
                "observed_rate": cells[f"cal_observed:{b}"],
            }
            for b in range(config.calibration_bins)
        ],
        "curve": [
            {
                "recall_at_k": cells[f"curve_recall:{j}"],
                "precision_at_k": cells[f"curve_precision:{j}"],
            }
            for j in range(n_curve)
        ],
        "mitigation": {
            name: {
                "recall_at_k": cell,
                "precision_at_k": cells[f"mit_precision:{name}"],
            }
            for name, cell in _keyed(cells, "mit_recall:").items()
        },
    }


# --- mitigation table -----------------------------------------------------------


def mitigation_table(
    config: FairnessConfig, overall: Mapping[str, Any], by_group: Mapping[str, Any]
) -> dict[str, Any]:
    """Precision and recall at the same k, as ranked and re-ranked, side by side."""
    strategies = {}
    for name, description in MITIGATIONS.items():
        groups = {
            label: group["mitigation"][name]["recall_at_k"]
            for label, group in by_group["groups"].items()
        }
        ratios = [
            c["ratio"]["estimate"] for c in groups.values() if c["ratio"] is not None
        ]
        strategies[name] = {
            "description": description,
            "precision_at_k": overall["groups"][ALL]["mitigation"][name][
                "precision_at_k"
            ],
            "recall_at_k": overall["groups"][ALL]["mitigation"][name]["recall_at_k"],
            "min_recall_ratio": min((r for r in ratios if r is not None), default=None),
            "recall_at_k_by_group": groups,
        }
    return {
        "grouping": config.mitigation_grouping,
        "applied": False,
        "note": "Shown for comparison only; the list is never re-ranked by this audit.",
        "strategies": strategies,
    }
