"""The audit's words in English: group descriptions, flag messages, the summary.

Step four of :func:`reports.fairness.audit_fairness`, and the vocabulary of the
steps before it: :func:`describe` words a group ("with basic education") for
the JSON and every sentence; :func:`ratio_message` and
:func:`calibration_message` word a flag; :func:`summary_en` writes the six
sentences of the report's first page from the finished cells and flags. It reads
figures, never computes them. :mod:`~reports.fairness.narrative_da` says the
same in Danish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.config import INTERSECTION, FairnessConfig, Grouping
from reports.fairness.result import DETECTION_POWER, OVERALL, Flag

__all__ = [
    "calibration_message",
    "describe",
    "flags_by_code",
    "Blindness",
    "label_blindness",
    "label_checked",
    "ratio_message",
    "summary_en",
]


# --- groups and flags -----------------------------------------------------------


def describe(config: FairnessConfig, grouping: Grouping, label: str) -> str:
    """Plain-language description of a group ("with basic education")."""
    if grouping.name == OVERALL:
        return "in the cohort"
    if grouping.column:
        return grouping.describe(label)
    parts = label.split(INTERSECTION, 1)
    described = [
        config.grouping(p).describe(v) for p, v in zip(grouping.of, parts, strict=True)
    ]
    return " and ".join(described)


def ratio_message(
    config: FairnessConfig,
    grouping: Grouping,
    label: str,
    reference: str,
    metric: str,
    values: tuple[float, float, float],
) -> str:
    """Plain-language sentence for a ratio flag."""
    ratio, low, high = values
    who, ref = (
        describe(config, grouping, label),
        describe(config, grouping, reference),
    )
    ci = f"({config.confidence:.0%} CI {low:.2f}–{high:.2f})"
    if metric == "recall_at_k":
        text = (
            f"Citizens {who} who had the outcome were {ratio:.2f} times as likely to "
            "be on "
            f"the list as those {ref} {ci}."
        )
        if grouping.flag == "gp_contact_bias":
            text += " The list may favour citizens who are already in regular care."
        return text
    return (
        f"For citizens {who}, complications found at attended care per complication "
        f"found at an acute admission were {ratio:.2f} times those {ref}, within the "
        f"same complication groups and age bands {ci}: their outcome may be "
        "under-recorded, so a model trained on it may under-rank them."
    )


def calibration_message(
    config: FairnessConfig,
    grouping: Grouping,
    label: str,
    predicted: float,
    values: tuple[float, float, float],
) -> str:
    """Plain-language sentence for a calibration flag."""
    gap, low, high = values
    return (
        f"For citizens {describe(config, grouping, label)}, the model predicted an "
        f"average risk of {predicted:.1%} but {predicted + gap:.1%} had the outcome "
        f"(difference {100 * gap:+.1f} percentage points, {config.confidence:.0%} CI "
        f"{100 * low:+.1f} to {100 * high:+.1f})."
    )


# --- summary --------------------------------------------------------------------


def summary_en(
    config: FairnessConfig,
    counts: Mapping[str, int],
    k: int,
    overall: Mapping[str, Any],
    results: Mapping[str, Any],
    flags: Sequence[Flag],
) -> tuple[str, ...]:
    """Six plain-language sentences for the first page of the report.

    When no outcome can be observed yet (a weekly audit of this week's list),
    reach and calibration are said to be not yet known rather than fine.
    """
    by_code = flags_by_code(flags)
    if counts["n_observed"] == 0:
        return _unobserved_summary(config, counts, k, results, by_code)
    return (
        _cohort_sentence(counts, k),
        _performance_sentence(config, overall["metrics"]),
        _reach_sentence(config, by_code.get("under_reach", [])),
        _healthy_sentence(config, results, by_code.get("gp_contact_bias", [])),
        _label_sentence(
            config,
            results,
            by_code.get("label_ascertainment", []),
            by_code.get("calibration_gap", []),
        )
        + _alternative_clause(config, results, by_code.get("label_ascertainment", [])),
        _care_gap_sentence(config, results),
    )


def flags_by_code(flags: Sequence[Flag]) -> dict[str, list[Flag]]:
    """Group flags by code, in their order."""
    by_code: dict[str, list[Flag]] = {}
    for flag in flags:
        by_code.setdefault(flag.code, []).append(flag)
    return by_code


def _cohort_sentence(counts: Mapping[str, int], k: int) -> str:
    """Sentence one: who the audit covers."""
    return (
        f"This audit covers {counts['n_cohort']:,} citizens in the cohort; "
        f"{counts['n_selected']:,} were on the list at capacity k = {k:,}, and the "
        "outcome "
        f"could be observed for {counts['n_observed']:,} of them."
    )


def _unobserved_summary(
    config: FairnessConfig,
    counts: Mapping[str, int],
    k: int,
    results: Mapping[str, Any],
    by_code: Mapping[str, list[Flag]],
) -> tuple[str, ...]:
    """Return the six sentences when no citizen's outcome can be observed yet."""
    return (
        _cohort_sentence(counts, k),
        "The outcome could not yet be observed for any citizen, so how well the "
        "list finds need is not yet known.",
        "Whether the list reaches each group's need is not yet known: the outcome "
        "of its citizens lies in the future (audit this list again once its "
        "outcome window has passed).",
        "Whether the list favours citizens already in regular GP contact is not yet "
        "known, for the same reason.",
        _label_sentence(config, results, by_code.get("label_ascertainment", []), None),
        _care_gap_sentence(config, results),
    )


def _fmt(cell: Mapping[str, Any], pattern: str) -> str | None:
    """Format a cell as 'value (95% CI low–high)' or None when suppressed."""
    if cell.get("suppressed") or cell.get("estimate") is None:
        return None
    text = pattern.format(cell["estimate"])
    if cell.get("ci_low") is not None and cell.get("ci_high") is not None:
        text += (
            f" (CI {pattern.format(cell['ci_low'])}–{pattern.format(cell['ci_high'])})"
        )
    return text


def _performance_sentence(config: FairnessConfig, metrics: Mapping[str, Any]) -> str:
    """Sentence two: precision, recall and AUROC of the list."""
    precision = _fmt(metrics.get("precision_at_k", {}), "{:.0%}")
    recall = _fmt(metrics.get("recall_at_k", {}), "{:.0%}")
    auroc = _fmt(metrics.get("roc_auc_score", {}), "{:.2f}")
    if precision is None or recall is None:
        return (
            "The outcome could not yet be observed for enough citizens, so how well "
            "the list finds need is not yet known."
        )
    return (
        f"Of the listed citizens whose outcome could be observed, {precision} had it, "
        "and the list "
        f"reached {recall} of all citizens who had the outcome; the ranking's AUROC "
        "was "
        f"{auroc or 'not available'}."
    )


def _reach_sentence(config: FairnessConfig, flags: Sequence[Flag]) -> str:
    """Sentence three: under-reach."""
    if not flags:
        return (
            "No group of citizens who had the outcome was markedly less likely to be "
            "on the list "
            "than its reference group (recall ratio under "
            f"{config.min_recall_ratio:.2f} with the "
            "interval below 1)."
        )
    worst = min(flags, key=lambda f: f.estimate)
    return (
        f"Under-reach was flagged for {len(flags)} group(s), most strongly here: "
        f"{worst.message}"
    )


def _healthy_sentence(
    config: FairnessConfig, results: Mapping[str, Any], flags: Sequence[Flag]
) -> str:
    """Sentence four: the "we help the healthy" check."""
    if flags:
        worst = min(flags, key=lambda f: f.estimate)
        return f"The list may help the healthy: {worst.message}"
    cell = results.get("gp_contact_level", {}).get("groups", {}).get("none", {})
    ratio = (cell.get("metrics", {}).get("recall_at_k") or {}).get("ratio")
    detail = ""
    if ratio and ratio.get("estimate") is not None and ratio.get("ci_low") is not None:
        detail = (
            f" (ratio {ratio['estimate']:.2f} for no GP contact, CI "
            f"{ratio['ci_low']:.2f}–{ratio['ci_high']:.2f})"
        )
    return (
        "Among citizens who had the outcome, those with little or no GP contact were "
        "not "
        f"markedly less likely to be on the list than those in regular contact{detail}."
    )


def _in_grouping_order(config: FairnessConfig, flags: Sequence[Flag]) -> list[Flag]:
    """Sort flags by their grouping's place in the config, then by estimate."""
    order = {g.name: i for i, g in enumerate(config.groupings)}
    return sorted(flags, key=lambda f: (order.get(f.grouping, 99), f.estimate))


def _alternative_clause(
    config: FairnessConfig, results: Mapping[str, Any], labels: Sequence[Flag]
) -> str:
    """Close sentence five with the reach of need under the alternative outcomes.

    Told for the first group whose label was flagged (in the order of the
    groupings) that can be compared with its reference group, else for the
    survey's "none or short" education split; empty when no alternative outcome
    was labelled or every such cell is suppressed.
    """
    candidates = [(f.grouping, f.group) for f in _in_grouping_order(config, labels)]
    for grouping, group in [*candidates, ("education_split", "none or short")]:
        text = _alternative_text(config, results, grouping, group)
        if text:
            return text
    return ""


def _alternative_text(
    config: FairnessConfig, results: Mapping[str, Any], grouping: str, group: str
) -> str:
    """Tell a group's recall@k under each alternative outcome and its reference's."""
    groups = results.get(grouping, {}).get("groups", {})
    reference = groups.get(group, {}).get("reference")
    parts = []
    for column, title in config.alternative_outcomes.items():
        a = _alternative_recall(groups.get(group, {}), column)
        b = _alternative_recall(groups.get(reference, {}), column)
        if a is None or b is None:
            continue
        described = describe(config, config.grouping(grouping), group)
        ref_described = describe(config, config.grouping(grouping), str(reference))
        parts.append(
            f" Under the alternative outcome {title}, the list reached {a} of the "
            f"need of citizens {described} and {b} of citizens {ref_described}."
        )
    return "".join(parts)


def _alternative_recall(cell: Mapping[str, Any], column: str) -> str | None:
    """Format a group's recall@k under one alternative outcome; None if absent."""
    found = (cell.get("alternative_outcomes", {}).get(column) or {}).get("recall_at_k")
    return _fmt(found, "{:.0%}") if found else None


def _label_sentence(
    config: FairnessConfig,
    results: Mapping[str, Any],
    labels: Sequence[Flag],
    calibration: Sequence[Flag] | None,
) -> str:
    """Sentence five: the label check and calibration (None: not yet known)."""
    if calibration is None:
        calib = "; calibration within groups is not yet known"
    elif calibration:
        calib = f"; calibration gaps were flagged for {len(calibration)} group(s)"
    else:
        calib = "; predicted and observed risk agreed within every group"
    if not labels:
        if not label_checked(results):
            return (
                "The label check (complications found at attended care against those "
                "found at an acute admission) could not be made: no such records were "
                f"counted for this cohort{calib}."
            )
        return _blind_sentence(config, label_blindness(config, results)) + f"{calib}."
    seen: list[str] = []
    for flag in _in_grouping_order(config, labels):
        text = "citizens " + describe(
            config, config.grouping(flag.grouping), flag.group
        )
        if text not in seen:
            seen.append(text)
    shown = ", ".join(seen[:2]) + (
        f" and {len(seen) - 2} other group(s)" if len(seen) > 2 else ""
    )
    return (
        f"The outcome may be under-recorded for {shown}: fewer of their "
        "complications were found at attended care per complication found at an "
        "acute admission, "
        f"which makes a model trained on it under-rank them{calib}."
    )


@dataclass(frozen=True)
class Blindness:
    """What the label check could see, told for one group and as a range.

    ``ratio`` is the minimum detectable recording ratio of ``group`` of
    ``grouping`` against ``reference``: a true gap is seen with
    :data:`~reports.fairness.compute.DETECTION_POWER` only below it. The group
    is the least-powered one of the first grouping in the config's order (the
    one the programme is read by), a known group before an ``unknown`` one;
    ``lowest`` and ``highest`` span all
    ``n_compared`` groups of every grouping.
    """

    grouping: str
    group: str
    reference: str
    ratio: float
    lowest: float
    highest: float
    n_compared: int
    n_unseen: int = 0


def _unseen(config: FairnessConfig, results: Mapping[str, Any]) -> int:
    """Count groups the label check could flag but could not compare at all.

    A group with a label cell (possibly suppressed), in a grouping that may be
    flagged, that is not its own reference and has no detectable ratio: its
    cell or its reference's was too small to show.
    """
    return sum(
        1
        for name, result in results.items()
        if name not in config.ascertainment_not_flagged
        for label, group in result["groups"].items()
        if (cell := group.get("label_ascertainment")) is not None
        and group.get("reference") != label
        and cell.get("detectable_ratio") is None
    )


def label_blindness(
    config: FairnessConfig, results: Mapping[str, Any]
) -> Blindness | None:
    """Return what the label check could see (None: no group compared)."""
    order = {g.name: i for i, g in enumerate(config.groupings)}
    found = [
        (
            order.get(name, len(order)),
            "unknown" in label.split(INTERSECTION),
            cell["detectable_ratio"],
            name,
            label,
        )
        for name, result in results.items()
        for label, group in result["groups"].items()
        if (cell := group.get("label_ascertainment"))
        and cell.get("detectable_ratio") is not None
    ]
    if not found:
        return None
    _, _, ratio, name, label = min(found)
    reference = str(results[name]["groups"][label]["reference"])
    ratios = [f[2] for f in found]
    return Blindness(
        name,
        label,
        reference,
        ratio,
        min(ratios),
        max(ratios),
        len(found),
        _unseen(config, results),
    )


def _blind_sentence(config: FairnessConfig, blind: Blindness | None) -> str:
    """Tell what the label check could have seen when it raised no flag."""
    if blind is None:
        return (
            "The label check could compare no group with its reference: too few "
            "complications were found at an acute admission to show"
        )
    grouping = config.grouping(blind.grouping)
    spread = (
        f"; over all {blind.n_compared} groups compared, from {blind.lowest:.2f} "
        f"to {blind.highest:.2f}"
        if blind.n_compared > 1
        else ""
    ) + (
        f"; {blind.n_unseen} other group(s) too small to compare at all"
        if blind.n_unseen
        else ""
    )
    return (
        "The label check raised no flag, which does not show that the outcome is "
        "recorded alike: at this region's counts it could have seen a recording "
        "gap only if complications of citizens "
        f"{describe(config, grouping, blind.group)} were recorded at under "
        f"{blind.ratio:.2f} times the rate of citizens "
        f"{describe(config, grouping, blind.reference)} "
        f"({DETECTION_POWER:.0%} power{spread})"
    )


def label_checked(results: Mapping[str, Any]) -> bool:
    """Tell whether any group has a (possibly suppressed) label-check cell."""
    return any(
        group.get("label_ascertainment") is not None
        for result in results.values()
        for group in result["groups"].values()
    )


def _care_gap_sentence(config: FairnessConfig, results: Mapping[str, Any]) -> str:
    """Sentence six: the widest care gap whose interval excludes parity."""
    gaps = [
        (cell["ratio"]["estimate"], name, label, indicator, cell["ratio"])
        for name, result in results.items()
        if len(result["columns"]) == 1
        for label, group in result["groups"].items()
        for indicator, cell in group.get("care_gap", {}).items()
        if cell.get("ratio")
        and cell["ratio"]["ci_high"] is not None
        and cell["ratio"]["ci_high"] < 1.0
    ]
    if not gaps:
        return (
            "Care (attendance, testing, redemption) did not differ between groups "
            "with an interval that excludes parity."
        )
    ratio, name, label, indicator, cell = min(gaps, key=lambda g: g[0])
    grouping = config.grouping(name)
    reference = results[name]["groups"][label]["reference"]
    return (
        f"Care differed by group (informative, not a label flag): citizens "
        f"{describe(config, grouping, label)} had {config.care_gap[indicator]} "
        f"{ratio:.2f} times as often as those "
        f"{describe(config, grouping, str(reference))} (CI {cell['ci_low']:.2f}–"
        f"{cell['ci_high']:.2f}); this is the gap outreach exists to close, "
        "not evidence that the outcome is recorded less."
    )
