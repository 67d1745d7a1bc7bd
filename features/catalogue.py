"""The feature catalogue: every feature and cohort flag, from the SQL contracts.

The contracts beside ``features/sql/citizen/*.sql`` (and the scoring mart's own
columns) are the single source of each feature's description, window, source table,
unit and plain-language reason in Danish and English, and this module is the one
catalogue every stage reads. :func:`build_catalogue` collects them;
:func:`write_catalogue` writes ``feature_catalogue.md`` and ``feature_catalogue.json``
(``opspor features catalogue``); :func:`feature_reasons` hands the reason templates
to the explanation step of ``models``; :func:`audit_catalogue` lists the audit
attributes (``marts.audit_attributes``) that the model card and governance pack of
``reports`` cite beside the features.
:func:`broad_catalogue` lists the families of broad covariates
(``marts.broad_covariates``) from ``features/sql/seeds/broad_families.csv``, the
table ``marts.broad_covariate_ref`` words each covariate from.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from features.checks import Contract, load_contract
from features.files import atomic_write_text

__all__ = [
    "CatalogueFiles",
    "audit_catalogue",
    "broad_catalogue",
    "build_catalogue",
    "feature_reasons",
    "write_catalogue",
]

logger = logging.getLogger(__name__)

_ROLES = ("feature", "context", "cohort")
_MART = "marts/scoring_features.yml"
_AUDIT = "marts/audit_attributes.yml"
_FIELDS = ("window", "source_table", "unit")
_HEADER = (
    "| name | role | description | window | source | unit | reason (da) | reason (en) |"
)
_INTRO = (
    "Generated from the contract files in `features/sql/` by"
    " `opspor features catalogue`; do not edit by hand. Every feature uses only"
    " events dated before `as_of_date`."
    " Reasons are Python format templates with `{value}`; a boolean's reason describes"
    " the value TRUE, and `reason_missing` is shown when the value is NULL"
    " (never recorded). Education level and origin are audit attributes"
    " (`marts.audit_attributes`), never features."
)


_BROAD_VIEW = "broad_covariates"
_BROAD_INTRO = (
    "Broad covariates (`marts.broad_covariates`, long format as in OHDSI"
    " FeatureExtraction) are written for the diabetes and SMI cohorts; a model uses"
    ' them with `feature_set = "broad"` or `"both"` in its spec. One row per'
    " family and window below: `{name}` is the group's name from the name tables in"
    " `features/sql/seeds` (or its family's fallback, never a raw code) and `{code}`"
    " its code; `marts.broad_covariate_ref` holds every covariate of the loaded"
    " extract with its reasons worded. Laboratory analytes whose code is not an NPU"
    " code are named `lab_<code>_...`."
)


@dataclass(frozen=True)
class CatalogueFiles:
    """What ``opspor features catalogue`` wrote."""

    markdown: Path
    json: Path
    n_entries: int


def _entry(contract: Contract, column: Mapping[str, Any]) -> dict[str, Any]:
    """One catalogue row from a contract column."""
    entry: dict[str, Any] = {
        "name": column["name"],
        "role": column.get("role"),
        "view": contract.name,
        "description": " ".join(str(column.get("description", "")).split()),
    }
    entry.update({f: column.get(f) for f in _FIELDS})
    entry["reason"] = dict(column.get("reason") or {})
    entry["reason_one"] = dict(column.get("reason_one") or {})
    entry["reason_missing"] = dict(column.get("reason_missing") or {})
    entry["reason_by_value"] = {
        str(k): dict(v) for k, v in (column.get("reason_by_value") or {}).items()
    }
    return entry


def build_catalogue() -> list[dict[str, Any]]:
    """Return every feature and cohort flag of the scoring mart, view by view.

    Returns
    -------
    list of dict
        Keys ``name``, ``role``, ``view``, ``description``, ``window``,
        ``source_table``, ``unit``, ``reason``, ``reason_one`` (the singular, for
        a count of one) and ``reason_missing`` (each ``{"da": ..., "en": ...}``,
        empty when not applicable) and
        ``reason_by_value`` (value -> ``{"da", "en"}``, for a categorical column).
    """
    mart = load_contract(_MART)
    entries: list[dict[str, Any]] = []
    for parent in mart.body.get("inherits") or []:
        contract = load_contract(f"{parent}.yml")
        entries.extend(
            _entry(contract, c) for c in contract.columns if c.get("role") in _ROLES
        )
    own = mart.body.get("columns") or []
    entries.extend(_entry(mart, c) for c in own if c.get("role") in _ROLES)
    return entries


def audit_catalogue() -> list[dict[str, Any]]:
    """Return the audit attributes: what the fairness audit groups citizens by.

    They are never features (a model spec refuses ``education_level`` and
    ``origin``), so they carry no reasons.

    Returns
    -------
    list of dict
        The keys of :func:`build_catalogue`, ``role`` ``"audit"``.
    """
    contract = load_contract(_AUDIT)
    return [_entry(contract, c) for c in contract.columns if c.get("role") == "audit"]


def broad_catalogue() -> list[dict[str, Any]]:
    """Return one entry per broad covariate family and window.

    Returns
    -------
    list of dict
        The keys of :func:`build_catalogue`, ``role`` ``"broad_family"`` and
        ``name`` the id pattern (e.g. ``atc3_<atc level 3, e.g. a10b>_365d``);
        the templates hold ``{name}`` where the group's name goes.
    """
    path = resources.files("features").joinpath("sql", "seeds", "broad_families.csv")
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return [
        {
            "name": row["id_pattern"],
            "role": "broad_family",
            "view": _BROAD_VIEW,
            "description": row["description"],
            "window": row["window"],
            "source_table": row["source_table"],
            "unit": row["unit"],
            "reason": {"da": row["reason_da"], "en": row["reason_en"]},
            "reason_missing": (
                {"da": row["reason_missing_da"], "en": row["reason_missing_en"]}
                if row["reason_missing_da"]
                else {}
            ),
            "reason_by_value": {},
        }
        for row in rows
    ]


def feature_reasons() -> dict[str, dict[str, Any]]:
    """Return the reason templates of every column a model may rank with.

    Features, and the cohort columns whose contract words a reason (e.g.
    ``diabetes_type``, which some models use); context columns describe the data,
    never the citizen, and have none.

    Returns
    -------
    dict
        ``{name: {"unit", "reason", "reason_one", "reason_missing",
        "reason_by_value"}}``; ``reason_one`` words a count of exactly one
        ("1 måling", not "1 målinger").
    """
    keys = ("reason", "reason_one", "reason_missing", "reason_by_value")
    return {
        e["name"]: {"unit": e["unit"], **{k: e[k] for k in keys}}
        for e in build_catalogue()
        if e["role"] == "feature" or (e["role"] == "cohort" and _worded(e))
    }


def _worded(entry: Mapping[str, Any]) -> bool:
    """Tell whether a catalogue entry words a reason (for a value or in general)."""
    return bool(entry["reason"] or entry["reason_by_value"])


def _cell(value: Any) -> str:
    """Render a Markdown table cell: pipes escaped, '' for nothing."""
    return "" if value in (None, "", {}) else str(value).replace("|", "\\|")


def _markdown(entries: list[dict[str, Any]]) -> str:
    """Render the catalogue as one Markdown table per view."""
    lines = ["# Opspor feature catalogue", "", _INTRO, ""]
    for view in dict.fromkeys(e["view"] for e in entries):
        lines += [f"## {view}", ""]
        lines += [_HEADER, "|---" * len(_HEADER.split("|")[1:-1]) + "|"]
        if view == _BROAD_VIEW:
            lines += [_BROAD_INTRO, ""]
        for e in (e for e in entries if e["view"] == view):
            cells = [e["name"], e["role"], e["description"], *(e[f] for f in _FIELDS)]
            cells += [e["reason"].get("da"), e["reason"].get("en")]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_catalogue(out_dir: Path) -> CatalogueFiles:
    """Write ``feature_catalogue.md`` and ``feature_catalogue.json`` to ``out_dir``.

    Both list the curated features (:func:`build_catalogue`), then the broad
    covariate families (:func:`broad_catalogue`).

    Parameters
    ----------
    out_dir : Path
        Folder to write to; created if missing. Each file is written atomically.

    Returns
    -------
    CatalogueFiles
    """
    entries = build_catalogue() + broad_catalogue()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / "feature_catalogue.md", out_dir / "feature_catalogue.json"
    atomic_write_text(md, _markdown(entries))
    atomic_write_text(js, json.dumps(entries, ensure_ascii=False, indent=2) + "\n")
    logger.info("Wrote the feature catalogue: %d entries", len(entries))
    return CatalogueFiles(md, js, len(entries))
