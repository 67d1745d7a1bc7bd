"""The load report: for every table, rows read = rows loaded + rows quarantined.

Produced by :func:`features.load.load_extract` (counted from the staged, checked
tables), stored in ``raw.load_reports`` and as JSON under
``<output_dir>/reports/load/``, and printed by ``opspor load``. It holds counts,
reasons and, for a refusal, example values of the offending columns; never whole
records (those stay in ``raw.quarantine`` inside DuckDB).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import duckdb

from features.contract import TableContract
from features.db import check_identifier
from features.errors import ExtractProblem
from features.files import atomic_write_text

__all__ = ["LoadReport", "TableCounts", "count_table", "format_report", "write_report"]


@dataclass(frozen=True)
class TableCounts:
    """Rows of one table: read from the file, loaded into raw.*, quarantined."""

    read: int
    loaded: int
    quarantined: int
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        """True when read = loaded + quarantined and the reasons add up."""
        reasons = sum(self.quarantine_reasons.values())
        return (
            self.read == self.loaded + self.quarantined and reasons == self.quarantined
        )


@dataclass(frozen=True)
class LoadReport:
    """The outcome of one load; :meth:`as_dict` is the pinned JSON shape.

    ``status`` is ``"loaded"`` (also for a passing ``dry_run``) or ``"refused"``;
    ``unchanged`` marks a re-load of the extract already in the warehouse.
    """

    status: Literal["loaded", "refused"]
    problems: list[ExtractProblem]
    tables: dict[str, TableCounts]
    extract_dir: str | None = None
    extract_hash: str | None = None
    extract_date: str | None = None
    source: str | None = None
    contract: str | None = None
    normalised: dict[str, int] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    loaded_at: str | None = None
    unchanged: bool = False
    dry_run: bool = False
    report_path: str | None = None
    #: Per event table: where its history starts (features.coverage.TableCoverage).
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def refused(
        cls,
        problems: list[ExtractProblem],
        *,
        extract_dir: str,
        extract_hash: str | None,
    ) -> LoadReport:
        """Build the report of a refused extract: its problems and no tables."""
        return cls("refused", list(problems), {}, extract_dir, extract_hash)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadReport:
        """Rebuild a report from :meth:`as_dict` output (e.g. from raw.load_reports)."""
        values = dict(data)
        values["problems"] = [
            ExtractProblem(**{**p, "examples": tuple(p["examples"])})
            for p in data["problems"]
        ]
        values["tables"] = {t: TableCounts(**c) for t, c in data["tables"].items()}
        return cls(**values)

    @classmethod
    def parse_json(cls, text: str) -> dict[str, Any]:
        """Parse a stored report's JSON text into a dict."""
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (lists, not tuples)."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self), default=str))
        return data

    def to_json(self) -> str:
        """Return the report as one JSON text."""
        return json.dumps(self.as_dict(), ensure_ascii=False)

    def with_extract_dir(self, extract_dir: Path) -> LoadReport:
        """Return a copy that records which folder was loaded."""
        return replace(self, extract_dir=str(extract_dir))

    def with_path(self, path: Path) -> LoadReport:
        """Return a copy that records where the report file is written."""
        return replace(self, report_path=str(path))

    @property
    def total_loaded(self) -> int:
        """Rows loaded over all tables."""
        return sum(t.loaded for t in self.tables.values())

    @property
    def reconciles(self) -> bool:
        """True when every table reconciles (read = loaded + quarantined)."""
        return all(t.reconciles for t in self.tables.values())


def count_table(
    con: duckdb.DuckDBPyConnection, table: TableContract
) -> tuple[TableCounts, dict[str, int]]:
    """Count one staged ``checked_<table>``: rows, loaded, quarantined by first reason.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The staging database holding ``checked_<table>``.
    table : TableContract
        The table's declaration (its code columns are counted as normalised).

    Returns
    -------
    tuple of (TableCounts, dict)
        The counts, and ``{"<table>.<column>": n}`` of loaded code values that
        were normalised (only non-zero entries).
    """
    name = check_identifier(table.name, "Table")
    codes = [check_identifier(c.name, "Column") for c in table.columns if c.code]
    normalised = [
        f'count(*) filter (where reason is null and "{c}__normalised")' for c in codes
    ]
    row = con.execute(
        "select count(*), count(*) filter (where reason is null)"
        + "".join(f", {n}" for n in normalised)
        + f" from checked_{name}"
    ).fetchone()
    assert row is not None
    reasons = con.execute(
        f"select reason, count(*) from checked_{name} where reason is not null"
        " group by reason order by reason"
    ).fetchall()
    counts = TableCounts(
        row[0], row[1], row[0] - row[1], {str(r): int(n) for r, n in reasons}
    )
    changed = {f"{name}.{c}": int(n) for c, n in zip(codes, row[2:], strict=True) if n}
    return counts, changed


def write_report(report: LoadReport) -> Path:
    """Write the report JSON atomically to ``report.report_path``.

    Parameters
    ----------
    report : LoadReport
        A report whose ``report_path`` is set.

    Returns
    -------
    Path
        The written file.
    """
    if report.report_path is None:
        raise ValueError("report_path is not set")
    text = json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
    return atomic_write_text(Path(report.report_path), text)


def format_report(report: LoadReport) -> str:
    """Format the report as a plain-text table for the terminal.

    Parameters
    ----------
    report : LoadReport
        The report to show.

    Returns
    -------
    str
        One header line and one line per table (or per problem when refused).
    """
    if report.status == "refused":
        return "\n".join(
            ["Extract refused:", *(f"  {p.message}" for p in report.problems)]
        )
    verb = "Validated (dry run)" if report.dry_run else "Loaded"
    if report.unchanged:
        verb = "Unchanged (already loaded)"
    digest = (report.extract_hash or "")[:12]
    head = f"{verb}: extract {report.extract_date} from {report.source} (hash {digest})"
    lines = [
        head,
        f"  {'table':<20}{'read':>12}{'loaded':>12}{'quarantined':>13}  reasons",
    ]
    for name, c in report.tables.items():
        reasons = ", ".join(f"{r}={n}" for r, n in c.quarantine_reasons.items())
        lines.append(
            f"  {name:<20}{c.read:>12,}{c.loaded:>12,}{c.quarantined:>13,}  {reasons}"
        )
    if report.coverage:
        lines.append(
            "  coverage from: "
            + ", ".join(
                f"{t} {c['from']} ({c['method']})" for t, c in report.coverage.items()
            )
        )
    if report.normalised:
        lines.append(
            "  normalised codes: "
            + ", ".join(f"{k}={v}" for k, v in report.normalised.items())
        )
    if report.ignored_columns:
        ignored = "; ".join(
            f"{t}: {', '.join(c)}" for t, c in report.ignored_columns.items()
        )
        lines.append(f"  ignored columns: {ignored}")
    if report.report_path:
        lines.append(f"  report: {report.report_path}")
    return "\n".join(lines)
