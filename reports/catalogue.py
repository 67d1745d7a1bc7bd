"""The feature catalogue that model cards and governance packs cite: each purpose.

A view of the one feature catalogue, :mod:`features.catalogue` (read from the
YAML contracts beside the feature SQL): its features, context and cohort columns,
then the audit attributes, each in the shape the pack's table shows (the English
reason).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from features.catalogue import audit_catalogue, build_catalogue

__all__ = ["feature_catalogue", "render_catalogue_markdown"]


def _reason(value: Any) -> str:
    """Return the English reason template of a column (a string or per-language map)."""
    if isinstance(value, Mapping):
        return str(value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One catalogue entry in the pack's shape."""
    return {
        "name": str(entry["name"]),
        "table": str(entry.get("view", "")),
        "role": str(entry.get("role", "")),
        "description": str(entry.get("description", "")),
        "reason": _reason(entry.get("reason")),
        "window": str(entry.get("window") or ""),
        "source": str(entry.get("source_table") or ""),
    }


def feature_catalogue(names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Return every catalogued column (features, cohort flags, audit attributes).

    Parameters
    ----------
    names : sequence of str, optional
        Keep only these columns, in this order (e.g. a model's feature list);
        a name without a contract is kept with an empty description.

    Returns
    -------
    list of dict
        ``name, table, role, description, reason, window, source``.
    """
    rows = [_row(e) for e in build_catalogue() + audit_catalogue()]
    if names is None:
        return _dedupe(rows)
    by_name = {r["name"]: r for r in _dedupe(rows)}
    empty = {
        "table": "",
        "role": "feature",
        "description": "",
        "reason": "",
        "window": "",
        "source": "",
    }
    return [by_name.get(n, {"name": n, **empty}) for n in names]


def _dedupe(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep one row per column name: the first contract that defines it."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(str(row["name"]), row)
    return list(seen.values())


def render_catalogue_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Return the catalogue as a Markdown table (the pack's feature_catalogue.md)."""
    lines = [
        "# Feature catalogue",
        "",
        "Each column the engine computes per citizen and as-of date, what it measures "
        "and why",
        "it is there. Audit attributes are used only to audit fairness, never to "
        "score.",
        "",
        "| Column | Role | Table | Description (purpose) | Reason shown to "
        "coordinators |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row.get(k, "") for k in ("name", "role", "table", "description", "reason")
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"
