"""The feature catalogue that model cards and governance packs cite: each purpose.

Uses ``features.catalogue`` when that module exists; otherwise reads the YAML
contracts beside the feature SQL (``features/sql/**/*.yml``) behind the one
function :func:`feature_catalogue`, so callers never depend on which.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

__all__ = ["FEATURE_ROLES", "feature_catalogue", "render_catalogue_markdown"]

FEATURE_ROLES = ("feature", "cohort", "audit")


def _sql_root() -> Path:
    """Return the ``features/sql`` folder (found via a module file, not by name)."""
    spec = importlib.util.find_spec("features.db")
    if (
        spec is None or spec.origin is None
    ):  # pragma: no cover - features is our own package
        raise ModuleNotFoundError("features.db")
    return Path(spec.origin).resolve().parent / "sql"


def _reason(value: Any) -> str:
    """Return the English reason template of a column (a string or per-language map)."""
    if isinstance(value, Mapping):
        return str(value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _from_yaml(root: Path) -> list[dict[str, Any]]:
    """Catalogue rows read straight from the feature YAML contracts."""
    rows: list[dict[str, Any]] = []
    for path in sorted(root.rglob("*.yml")):
        try:
            contract = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            # A broken contract fails features' own checks; skip it here, loudly.
            log.warning("Feature catalogue skips %s: not valid YAML", path.name)
            continue
        if not isinstance(contract, Mapping):
            continue
        for column in contract.get("columns", []) or []:
            role = column.get("role")
            if role not in FEATURE_ROLES:
                continue
            rows.append(
                {
                    "name": str(column.get("name")),
                    "table": str(contract.get("name", path.stem)),
                    "role": str(role),
                    "description": " ".join(str(column.get("description", "")).split()),
                    "reason": _reason(column.get("reason")),
                    "window": str(column.get("window", "") or ""),
                    "source": str(column.get("source_table", "") or ""),
                }
            )
    return rows


def _from_features() -> list[dict[str, Any]]:
    """Return ``features.catalogue.build_catalogue()`` rows in our shape (or none)."""
    try:
        module = importlib.import_module("features.catalogue")
    except ModuleNotFoundError:
        return []
    return [
        {
            "name": str(e["name"]),
            "table": str(e.get("view", "")),
            "role": str(e.get("role", "")),
            "description": str(e.get("description", "")),
            "reason": _reason(e.get("reason")),
            "window": str(e.get("window") or ""),
            "source": str(e.get("source_table") or ""),
        }
        for e in module.build_catalogue()
    ]


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
    rows = _from_features() or _from_yaml(_sql_root())
    if not any(r["role"] == "audit" for r in rows):
        rows += [r for r in _from_yaml(_sql_root()) if r["role"] == "audit"]
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
