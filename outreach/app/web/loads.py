"""The load reports ``opspor load`` wrote, and their trend across loads.

Every load that is published writes ``<output_dir>/reports/load/<hash[:12]>.json``
(:mod:`features.load_report`): per table the rows read, loaded and quarantined
(by first reason), where each event table's history starts (coverage), the
normalised codes and ignored columns. :func:`load_reports` reads them, oldest
first; :func:`load_trend` lays the tables out across loads and flags a table
whose loaded rows collapse against the previous loads of the same source;
:func:`quarantine_by_column` counts the current load's quarantined rows by table,
reason and column from ``raw.quarantine`` (counts only; never a record).
File paths in a report are not passed on: the pages show no path.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from features.db import table_exists
from features.errors import NotFoundError

__all__ = [
    "COLLAPSE_SHARE",
    "COLLAPSE_WINDOW",
    "NO_LOAD",
    "current_extract_hash",
    "load_report",
    "load_reports",
    "load_trend",
    "quarantine_by_column",
    "sparkline",
]

log = logging.getLogger(__name__)

NO_LOAD = "No such load report."
#: Loaded rows under this share of the median of the previous loads are flagged.
COLLAPSE_SHARE = 0.5
#: How many previous loads (of the same source) that median is taken over.
COLLAPSE_WINDOW = 3
_ID = re.compile(r"^[0-9a-f]{12}$")
_FIELDS = ("extract_hash", "extract_date", "source", "contract", "loaded_at", "status")
_QUARANTINE = """
select table_name,
       split_part(first_reason, '(', 1) as reason,
       nullif(rtrim(split_part(first_reason, '(', 2), ')'), '') as column_name,
       count(*) as n
from (
    select table_name, split_part(detail, '; ', 1) as first_reason
    from raw.quarantine
)
group by all
order by table_name, n desc, reason, column_name
"""


def _mapping(value: Any) -> dict[str, Any]:
    """Return ``value`` as a dict when it is a JSON object, else {}."""
    return dict(value) if isinstance(value, Mapping) else {}


def _counts(raw: Any) -> dict[str, Any]:
    """Return one table's counts from a report (0 where missing)."""
    raw = _mapping(raw)
    return {
        "read": int(raw.get("read") or 0),
        "loaded": int(raw.get("loaded") or 0),
        "quarantined": int(raw.get("quarantined") or 0),
        "reasons": _mapping(raw.get("quarantine_reasons")),
    }


def _summary(load_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the pages show of one report (no file paths)."""
    report: dict[str, Any] = {key: str(data.get(key) or "") for key in _FIELDS}
    tables = _mapping(data.get("tables"))
    report["tables"] = {str(t): _counts(c) for t, c in tables.items()}
    for key in ("coverage", "normalised", "ignored_columns"):
        report[key] = _mapping(data.get(key))
    report["id"] = load_id
    report["reconciles"] = all(
        c["read"] == c["loaded"] + c["quarantined"] for c in report["tables"].values()
    )
    return report


def _read(path: Path) -> dict[str, Any] | None:
    """Read one report file (None when unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("could not read a load report")
        return None
    return _summary(path.stem, data) if isinstance(data, dict) else None


def load_reports(output_dir: Path) -> list[dict[str, Any]]:
    """Every load report written so far, oldest load first.

    Parameters
    ----------
    output_dir : Path
        The output root (reports are under ``reports/load/``).

    Returns
    -------
    list of dict
        ``id`` (the hash's first 12 characters), ``extract_hash, extract_date,
        source, contract, loaded_at, status, tables`` (``read, loaded,
        quarantined, reasons`` per table), ``coverage, normalised,
        ignored_columns, reconciles``.
    """
    folder = output_dir / "reports" / "load"
    found = [
        report
        for path in folder.glob("*.json")
        if _ID.match(path.stem) and (report := _read(path)) is not None
    ]
    return sorted(found, key=lambda r: (r["loaded_at"], r["id"]))


def load_report(output_dir: Path, load_id: str) -> dict[str, Any]:
    """Return one load report by its id.

    Raises
    ------
    NotFoundError
        A malformed id or no such report.
    """
    if not _ID.match(load_id):
        raise NotFoundError(NO_LOAD)
    report = _read(output_dir / "reports" / "load" / f"{load_id}.json")
    if report is None:
        raise NotFoundError(NO_LOAD)
    return report


def _collapsed(loaded: int, previous: Sequence[int]) -> bool:
    """Tell whether ``loaded`` is under COLLAPSE_SHARE of the previous median."""
    if not previous:
        return False
    return loaded < COLLAPSE_SHARE * statistics.median(previous)


def load_trend(reports: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each table's counts across loads, with the collapse flag.

    Parameters
    ----------
    reports : sequence of dict
        From :func:`load_reports`, oldest first.

    Returns
    -------
    dict
        ``table -> [{"id", "loaded_at", "extract_date", "source", "read",
        "loaded", "quarantined", "coverage_from", "collapsed"}]`` in load
        order. ``collapsed`` is true when the loaded rows fall under
        :data:`COLLAPSE_SHARE` of the median of the previous
        :data:`COLLAPSE_WINDOW` loads of the same source that had the table.
    """
    trend: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        for table, counts in report["tables"].items():
            rows = trend.setdefault(table, [])
            earlier = [r["loaded"] for r in rows if r["source"] == report["source"]]
            coverage = report["coverage"].get(table)
            rows.append(
                {
                    **{
                        k: report[k]
                        for k in ("id", "loaded_at", "extract_date", "source")
                    },
                    **{k: counts[k] for k in ("read", "loaded", "quarantined")},
                    "coverage_from": (coverage or {}).get("from") or "",
                    "collapsed": _collapsed(
                        counts["loaded"], earlier[-COLLAPSE_WINDOW:]
                    ),
                }
            )
    return dict(sorted(trend.items()))


def sparkline(values: Sequence[int], *, width: int = 160, height: int = 32) -> str:
    """Return SVG polyline points drawing ``values`` from 0 to their maximum.

    Parameters
    ----------
    values : sequence of int
        One value per load, oldest first.
    width, height : int
        The drawing's size in SVG units.

    Returns
    -------
    str
        ``"x,y x,y ..."``; a single value is drawn as a flat line.
    """
    if not values:
        return ""
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    points = [
        (i * step, height - 2 - (height - 4) * v / top) for i, v in enumerate(values)
    ]
    if len(points) == 1:
        points.append((width, points[0][1]))
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def quarantine_by_column(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Count the loaded extract's quarantined rows by table, first reason and column.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.

    Returns
    -------
    list of dict
        ``table_name, reason, column_name`` (None when the reason names none)
        and ``n``; [] when nothing is loaded.
    """
    if not table_exists(con, "raw", "quarantine"):
        return []
    columns = ("table_name", "reason", "column_name", "n")
    return [
        dict(zip(columns, row, strict=True))
        for row in con.execute(_QUARANTINE).fetchall()
    ]


def current_extract_hash(con: duckdb.DuckDBPyConnection) -> str | None:
    """Return the hash of the extract in ``raw.*`` (``raw.extract_info``), or None."""
    if not table_exists(con, "raw", "extract_info"):
        return None
    row = con.execute("select extract_hash from raw.extract_info").fetchone()
    return str(row[0]) if row and row[0] else None
