"""The audit's entry point: :func:`audit_fairness` runs compute, cells, flags, words.

Input is one frame with a row per cohort citizen at the as-of date (built from
``scoring.scores``, ``marts.audit_attributes`` and the labels by
:mod:`reports.frame`); output is a :class:`~reports.fairness.result.FairnessAudit`
holding aggregates only, which :mod:`reports.render` writes as HTML, PDF and
``fairness.json``. This module only orders the steps and bundles their results.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from models.metrics import FloatArray
from reports.config import FairnessConfig
from reports.fairness import narrative_da
from reports.fairness.cells import (
    grouping_or_overall,
    grouping_result,
    mitigation_table,
)
from reports.fairness.compute import (
    check_frame,
    citizen_arrays,
    citizen_vectors,
    curve_ks,
    estimate_grouping,
    group_codes,
    mitigation_selections,
    ratio_specs,
)
from reports.fairness.flags import detectable_ratios, flag_all
from reports.fairness.narrative import summary_en
from reports.fairness.result import (
    ALL,
    DETECTION_POWER,
    OVERALL,
    FairnessAudit,
    Flag,
)

__all__ = [
    "audit_fairness",
    "with_flags",
]

log = logging.getLogger(__name__)


def audit_fairness(
    frame: pd.DataFrame,
    *,
    config: FairnessConfig,
    k: int,
    context: Mapping[str, Any] | None = None,
) -> FairnessAudit:
    """Audit a ranked cohort at capacity k, by every configured grouping.

    Parameters
    ----------
    frame : DataFrame
        One row per cohort citizen: ``y_score``; ``selected`` (bool; top-k by score
        when absent); ``y_true`` (1/0, null when not yet observable); the group
        columns of ``config``; optional ascertainment indicators and alternative
        outcome labels named in ``config``. Not modified.
    config : FairnessConfig
        Groupings, thresholds, bootstrap settings.
    k : int
        The programme's capacity.
    context : Mapping, optional
        Programme, week or model, as-of date; copied into the result.

    Returns
    -------
    FairnessAudit

    Raises
    ------
    ConfigError
        ``k`` is not a positive int.
    DataError
        The frame is empty or lacks a needed column.
    """
    check_frame(frame, config, k)
    arrays = citizen_arrays(frame, k)
    codes = group_codes(frame, config)
    curve_k = curve_ks(k, len(frame), config.curve_points)
    mitigations = mitigation_selections(arrays, codes[config.mitigation_grouping], k)
    vectors = citizen_vectors(frame, arrays, config, curve_k, mitigations)
    specs = ratio_specs(frame, config, curve_k, mitigations)
    estimates = {
        name: estimate_grouping(grouping_codes, vectors, specs, arrays, config)
        for name, grouping_codes in codes.items()
    }
    results = {
        name: grouping_result(
            grouping_or_overall(config, name), codes[name], est, config
        )
        for name, est in estimates.items()
    }
    _add_detectable(results, detectable_ratios(config, codes, estimates))
    flags = flag_all(config, codes, estimates)
    log.info("Audited %d citizens at k=%d: %d flag(s)", len(frame), k, len(flags))
    return _assemble(frame, arrays, config, k, results, flags, curve_k, context)


def _add_detectable(
    results: Mapping[str, Any], detectable: Mapping[str, Mapping[str, float]]
) -> None:
    """Put each label-check cell's minimum detectable ratio in it (None: not told).

    None where the cell is suppressed, the group is its own reference, or its
    grouping is never flagged.
    """
    for name, result in results.items():
        for label, group in result["groups"].items():
            cell = group.get("label_ascertainment")
            if cell is not None:
                found = detectable.get(name, {}).get(label)
                cell["detectable_ratio"] = None if found is None else round(found, 4)


def _assemble(
    frame: pd.DataFrame,
    arrays: Mapping[str, FloatArray],
    config: FairnessConfig,
    k: int,
    results: dict[str, Any],
    flags: list[Flag],
    curve_k: list[int],
    context: Mapping[str, Any] | None,
) -> FairnessAudit:
    """Bundle the per-grouping results into a FairnessAudit with its summary."""
    overall = results.pop(OVERALL)
    counts = {
        "n_cohort": int(len(frame)),
        "n_selected": int(arrays["sel"].sum()),
        "n_observed": int(arrays["obs"].sum()),
    }
    mitigation = mitigation_table(config, overall, results[config.mitigation_grouping])
    for result in results.values():
        for group in result["groups"].values():
            group.pop("mitigation")
    flags = _sorted(flags)
    summary = summary_en(config, counts, k, overall["groups"][ALL], results, flags)
    summary_da = narrative_da.summary_da(
        config, counts, k, overall["groups"][ALL]["metrics"], results, flags
    )
    return FairnessAudit(
        k=k,
        counts=counts,
        overall=overall["groups"][ALL]["metrics"],
        groupings=results,
        mitigation=mitigation,
        curve_k=curve_k,
        flags=tuple(flags),
        summary=summary,
        summary_da=summary_da,
        context=dict(context or {}),
        settings=_settings_dict(config),
    )


def _settings_dict(config: FairnessConfig) -> dict[str, Any]:
    """Return the settings that shaped the figures, for the JSON."""
    return {
        "min_cell_size": config.min_cell_size,
        "n_bootstrap": config.n_bootstrap,
        "confidence": config.confidence,
        "seed": config.seed,
        "flag_adjustment": config.flag_adjustment,
        "min_recall_ratio": config.min_recall_ratio,
        "max_calibration_gap": config.max_calibration_gap,
        "ascertainment_margin": config.ascertainment_margin,
        "ascertainment_washout_days": config.ascertainment_washout_days,
        "ascertainment_not_flagged": list(config.ascertainment_not_flagged),
        "ascertainment_detection_power": DETECTION_POWER,
        "care_gap": dict(config.care_gap),
    }


def _sorted(flags: list[Flag]) -> list[Flag]:
    """Breaches first, then by code, grouping and group."""
    return sorted(
        flags, key=lambda f: (f.severity != "breach", f.code, f.grouping, f.group)
    )


def with_flags(
    audit: FairnessAudit, config: FairnessConfig, flags: list[Flag]
) -> FairnessAudit:
    """Return the audit with more flags, and its summary told again with them.

    Parameters
    ----------
    audit : FairnessAudit
    config : FairnessConfig
        The audit's settings.
    flags : list of Flag
        Flags found after the audit (e.g. :func:`reports.reach.reach_against`).

    Returns
    -------
    FairnessAudit
    """
    every = _sorted([*audit.flags, *flags])
    overall = {"metrics": audit.overall}
    return replace(
        audit,
        flags=tuple(every),
        summary=summary_en(
            config, audit.counts, audit.k, overall, audit.groupings, every
        ),
        summary_da=narrative_da.summary_da(
            config, audit.counts, audit.k, audit.overall, audit.groupings, every
        ),
    )
