"""The fairness report's "reach against a reference ranking" tables (da and en).

Reads the ``reach_against`` section of ``fairness.json``
(:func:`reports.reach.reach_against`) and lays it out as one table per
reference ranking and grouping: every group of the grouping, its citizens with
the outcome, how many of them each ranking lists in its top k, the ratio with
its interval, and whether it raised a flag. A group that the audit suppressed
(fewer than ``min_cell_size`` citizens with the outcome, or its complement) has
no cell there and is shown as "—" throughout. Aggregates only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["REACH_TEXT", "SUPPRESSED", "reach_lines", "reach_view"]

#: How a suppressed cell reads.
SUPPRESSED = "—"

#: Every text of the section, per language.
REACH_TEXT: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Reach against a reference ranking",
        "note": (
            "Among citizens who had the outcome, per group: how many each ranking "
            "lists in its top {k}, and the ratio of the audited ranking's to the "
            "reference's with its {confidence} interval (paired bootstrap). A group "
            "is flagged when the ratio is under {min_ratio} and the interval "
            "supports it, and only when the reference lists at least as many "
            "citizens with the outcome in all; against a less precise reference the "
            "figures are shown, never flagged. Groups with fewer than {min_cell} "
            "citizens with the outcome are not shown ({suppressed})."
        ),
        "totals": (
            "{reference} lists {reference_events} citizens with the outcome in all, "
            "the audited ranking {audited_events}: {verdict}."
        ),
        "can_flag": "its groups can be flagged",
        "shown_only": "shown only, never flagged",
        "group": "Group",
        "n": "With the outcome",
        "audited": "Listed: audited",
        "reference": "Listed: {reference}",
        "ratio": "Ratio (interval)",
        "flagged": "Flagged",
        "yes": "yes",
        "no": "no",
    },
    "da": {
        "title": "Rækkevidde mod en referencerangering",
        "note": (
            "Blandt borgere, som fik udfaldet, pr. gruppe: hvor mange hver rangering "
            "sætter blandt sine top {k}, og forholdet mellem den auditerede "
            "rangerings og referencens tal med {confidence} interval (parret "
            "bootstrap). En gruppe markeres, når forholdet er under {min_ratio}, og "
            "intervallet støtter det, og kun når referencen i alt sætter mindst lige "
            "så mange borgere med udfaldet på listen; mod en mindre præcis reference "
            "vises tallene, men markeres aldrig. Grupper med færre end {min_cell} "
            "borgere med udfaldet vises ikke ({suppressed})."
        ),
        "totals": (
            "{reference} sætter i alt {reference_events} borgere med udfaldet på "
            "listen, den auditerede rangering {audited_events}: {verdict}."
        ),
        "can_flag": "dens grupper kan markeres",
        "shown_only": "vises kun, markeres aldrig",
        "group": "Gruppe",
        "n": "Med udfaldet",
        "audited": "På listen: auditeret",
        "reference": "På listen: {reference}",
        "ratio": "Forhold (interval)",
        "flagged": "Markeret",
        "yes": "ja",
        "no": "nej",
    },
}


def _text(languages: Sequence[str], key: str, **values: Any) -> str:
    """One text in every language shown, joined by " / "."""
    return " / ".join(REACH_TEXT[lang][key].format(**values) for lang in languages)


def _ratio(cell: Mapping[str, Any]) -> str:
    """Return the ratio and its interval, as '0.29 (0.17–0.43)'."""
    return f"{cell['ratio']:.2f} ({cell['ci_low']:.2f}–{cell['ci_high']:.2f})"


def _listed(cell: Mapping[str, Any], recall: str) -> str:
    """Return one ranking's listed events, as '12 (27%)'."""
    count = round(cell[recall] * cell["n_with_outcome"])
    return f"{count} ({100 * cell[recall]:.0f}%)"


def _row(
    label: str, cell: Mapping[str, Any] | None, languages: Sequence[str]
) -> list[str]:
    """One group's row; every figure "—" when the group is suppressed."""
    if cell is None:
        return [label, *[SUPPRESSED] * 5]
    flagged = _text(languages, "yes" if cell.get("flagged") else "no")
    return [
        label,
        str(cell["n_with_outcome"]),
        _listed(cell, "recall_audited"),
        _listed(cell, "recall_reference"),
        _ratio(cell),
        flagged,
    ]


def _table(
    grouping: str,
    cells: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    languages: Sequence[str],
) -> dict[str, Any]:
    """One grouping's table: every group it has, shown or suppressed."""
    by_group = {c["group"]: c for c in cells}
    ordered = list(labels) + [g for g in by_group if g not in labels]
    return {
        "grouping": grouping,
        "rows": [
            {"cells": _row(g, by_group.get(g), languages), "shown": g in by_group}
            for g in ordered
        ],
    }


def _header(reference: str, languages: Sequence[str]) -> list[str]:
    """Column headings of a reference's tables."""
    keys = ("group", "n", "audited")
    return [
        *(_text(languages, key) for key in keys),
        _text(languages, "reference", reference=reference),
        _text(languages, "ratio"),
        _text(languages, "flagged"),
    ]


def _reference(
    name: str,
    per_grouping: Mapping[str, Sequence[Mapping[str, Any]]],
    events: Mapping[str, float],
    groupings: Mapping[str, Any],
    languages: Sequence[str],
) -> dict[str, Any]:
    """Everything shown for one reference ranking."""
    can_flag = events.get(name, 0.0) >= events.get("audited", 0.0)
    totals = [
        REACH_TEXT[lang]["totals"].format(
            reference=name,
            reference_events=round(events.get(name, 0.0)),
            audited_events=round(events.get("audited", 0.0)),
            verdict=REACH_TEXT[lang]["can_flag" if can_flag else "shown_only"],
        )
        for lang in languages
    ]
    return {
        "name": name,
        "totals": totals,
        "header": _header(name, languages),
        "tables": [
            _table(g, cells, list(groupings.get(g, {}).get("groups", {})), languages)
            for g, cells in per_grouping.items()
        ],
    }


def _note_values(settings: Mapping[str, Any], k: int, lang: str) -> dict[str, Any]:
    """Return the note's figures as written in ``lang`` ('95 %' and '0,8' in Danish)."""
    confidence = f"{100 * settings.get('confidence', 0.95):.0f}"
    ratio = f"{settings.get('min_recall_ratio', 0.8):g}"
    if lang == "da":
        confidence, ratio = f"{confidence} %", ratio.replace(".", ",")
    else:
        confidence += "%"
    return {
        "k": k,
        "confidence": confidence,
        "min_ratio": ratio,
        "min_cell": settings.get("min_cell_size", "–"),
        "suppressed": SUPPRESSED,
    }


def reach_view(
    audit: Mapping[str, Any], languages: Sequence[str]
) -> dict[str, Any] | None:
    """Lay out ``fairness.json``'s ``reach_against`` for the report.

    Parameters
    ----------
    audit : Mapping
        The audit as in ``fairness.json`` (:meth:`FairnessAudit.to_dict`).
    languages : sequence of {"da", "en"}
        Languages shown, in order.

    Returns
    -------
    dict or None
        ``title`` and ``notes`` (one per language) and ``references``: per
        reference ranking its ``totals`` sentences, ``header`` and ``tables``
        (``grouping``, ``rows`` of cells); None when the audit has no
        reference ranking.
    """
    reach = audit.get("reach_against") or {}
    if not reach.get("references"):
        return None
    settings = audit.get("settings", {})
    return {
        "titles": [REACH_TEXT[lang]["title"] for lang in languages],
        "notes": [
            REACH_TEXT[lang]["note"].format(**_note_values(settings, reach["k"], lang))
            for lang in languages
        ],
        "references": [
            _reference(
                name,
                per_grouping,
                reach.get("listed_events", {}),
                audit.get("groupings", {}),
                languages,
            )
            for name, per_grouping in reach["references"].items()
        ],
    }


def reach_lines(view: Mapping[str, Any]) -> list[str]:
    """Return the same tables as plain text lines, for the PDF.

    Parameters
    ----------
    view : Mapping
        From :func:`reach_view`.

    Returns
    -------
    list of str
    """
    lines = [" / ".join(view["titles"]), ""]
    for reference in view["references"]:
        lines += [*reference["totals"], ""]
        for table in reference["tables"]:
            lines.append(f"{table['grouping']}:")
            lines.append("  " + " | ".join(reference["header"]))
            lines += ["  " + " | ".join(row["cells"]) for row in table["rows"]]
            lines.append("")
    return lines
