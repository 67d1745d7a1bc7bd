"""Where each event table's history starts: declared in ``extract.json`` or inferred.

Real deliveries rarely cover one period: laboratory results may reach back a
decade while bookings or prescriptions start three years before the extract.
The contract lets a supplier say so with an optional ``coverage`` object in
``extract.json`` (``{"lab_results": {"from": "2017-01-01"}, ...}``). For every
event table without an entry, :func:`infer_coverage_start` reads the table's
monthly volume and takes the first month from which the volume stays at a
stable share of its typical level (:data:`STABLE_SHARE` of the median of the
last :data:`TYPICAL_MONTHS` full months, over every run of
:data:`RUN_MONTHS` months). A few events before a table's start are history
the supplier happened to carry, not coverage.

The loader computes one :class:`TableCoverage` per event table, shows it in
the load report and writes it to ``raw.coverage`` (and ``raw.extract_info``);
the feature SQL reads it through ``staging.stg_coverage`` (covered history per
table) and :mod:`models` plans index dates inside the common coverage.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb

from features.db import check_identifier
from features.errors import ExtractProblem

__all__ = [
    "COVERAGE_TABLES",
    "MIN_TYPICAL_ROWS",
    "RUN_MONTHS",
    "STABLE_SHARE",
    "TYPICAL_MONTHS",
    "TableCoverage",
    "check_declared_coverage",
    "infer_coverage_start",
    "measure_coverage",
    "monthly_volume",
    "read_declared_coverage",
]

#: Event tables and the date that places an event in time.
COVERAGE_TABLES: Mapping[str, str] = {
    "diagnoses": "diagnosis_date",
    "prescriptions": "issued_date",
    "appointments": "scheduled_date",
    "lab_results": "sample_date",
    "hospital_contacts": "start_date",
}
#: A table is covered from the first month after which every run of RUN_MONTHS
#: months averages at least STABLE_SHARE of the median of its last TYPICAL_MONTHS
#: full months.
STABLE_SHARE = 0.3
RUN_MONTHS = 3
TYPICAL_MONTHS = 12
#: Below this typical monthly volume a table is too sparse to tell a gap from
#: chance: its coverage starts with its first event.
MIN_TYPICAL_ROWS = 20.0

Method = Literal["declared", "inferred", "empty"]

BAD_COVERAGE = (
    "extract.json: 'coverage' must be an object of event tables, each "
    '{{"from": "YYYY-MM-DD"}} on or before extract_date; tables: {tables}. '
    "Got {value!r} for {key!r}."
)


@dataclass(frozen=True)
class TableCoverage:
    """Where one event table's history starts, and how that was decided.

    Parameters
    ----------
    table : str
        The contract table.
    start : date or None
        First covered day (a month start when inferred); None for an empty table.
    method : {"declared", "inferred", "empty"}
        From ``extract.json``, from the table's monthly volume, or no events.
    first_event : date or None
        The table's earliest event date.
    rows_before : int
        Events dated before ``start`` (kept as history, counted here).
    typical_monthly_rows : float
        Median monthly volume of the last full months (the inference's yardstick).
    """

    table: str
    start: date | None
    method: Method
    first_event: date | None
    rows_before: int
    typical_monthly_rows: float

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used in the load report."""
        return {
            "from": self.start.isoformat() if self.start else None,
            "method": self.method,
            "first_event": self.first_event.isoformat() if self.first_event else None,
            "rows_before": self.rows_before,
            "typical_monthly_rows": round(self.typical_monthly_rows, 1),
        }


def check_declared_coverage(
    doc: Mapping[str, Any], extract_date: date | None
) -> tuple[dict[str, date], list[ExtractProblem]]:
    """Read the optional ``coverage`` object of a parsed ``extract.json``.

    Parameters
    ----------
    doc : Mapping
        The parsed ``extract.json``.
    extract_date : date or None
        The extract's date, when it parsed (a start after it is a problem).

    Returns
    -------
    (dict of str to date, list of ExtractProblem)
        The declared start per table, and one problem per bad entry.
    """
    declared = doc.get("coverage")
    if declared is None:
        return {}, []
    tables = ", ".join(COVERAGE_TABLES)
    if not isinstance(declared, Mapping):
        message = BAD_COVERAGE.format(tables=tables, value=declared, key="coverage")
        return {}, [ExtractProblem("extract.json", "coverage", 1, (), message)]
    starts: dict[str, date] = {}
    problems: list[ExtractProblem] = []
    for key, value in declared.items():
        start = _declared_start(key, value, extract_date)
        if start is None:
            message = BAD_COVERAGE.format(tables=tables, value=value, key=key)
            problems.append(
                ExtractProblem("extract.json", "coverage", 1, (str(key),), message)
            )
        else:
            starts[key] = start
    return starts, problems


def read_declared_coverage(
    extract_dir: Path, extract_date: date | None
) -> tuple[dict[str, date], list[ExtractProblem]]:
    """Read the ``coverage`` object of ``<extract_dir>/extract.json``, if any.

    A missing or unreadable ``extract.json`` is reported by the contract's own
    check; here it only means no coverage was declared.
    """
    try:
        doc = json.loads((extract_dir / "extract.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, []
    if not isinstance(doc, Mapping):
        return {}, []
    return check_declared_coverage(doc, extract_date)


def _declared_start(
    key: object, value: object, extract_date: date | None
) -> date | None:
    """Return the declared start of one entry, or None when it is malformed."""
    if key not in COVERAGE_TABLES or not isinstance(value, Mapping):
        return None
    text = value.get("from")
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        start = date.fromisoformat(text)
    except ValueError:
        return None
    if extract_date is not None and start > extract_date:
        return None
    return start


def monthly_volume(
    con: duckdb.DuckDBPyConnection, relation: str, date_column: str, extract_date: date
) -> list[tuple[date, int]]:
    """Return ``(month start, events)`` for every month with events before the extract.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection that can read ``relation``.
    relation : str
        A schema-qualified table name (checked identifiers only).
    date_column : str
        The column that dates an event.
    extract_date : date
        Events on or after it (scheduled bookings) are not history.

    Returns
    -------
    list of (date, int)
        Ascending by month; months without events are absent.
    """
    column = check_identifier(date_column, "Column")
    parts = [check_identifier(p, "Table") for p in relation.split(".")]
    rows = con.execute(
        f"select date_trunc('month', {column})::date as month, count(*)"
        f" from {'.'.join(parts)} where {column} < $extract_date"
        " group by 1 order by 1",
        {"extract_date": extract_date},
    ).fetchall()
    return [(row[0], int(row[1])) for row in rows]


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def infer_coverage_start(
    volume: Sequence[tuple[date, int]], extract_date: date
) -> tuple[date | None, float]:
    """Infer where a table's coverage starts from its monthly volume.

    Months without events count as zero. The last month (that of
    ``extract_date``, usually partial) is left out of the yardstick and the runs.

    Parameters
    ----------
    volume : sequence of (date, int)
        Monthly event counts (month start, events), as :func:`monthly_volume`.
    extract_date : date
        The extract's date.

    Returns
    -------
    (date or None, float)
        The first covered month (None without events) and the typical monthly
        volume it was measured against.
    """
    if not volume:
        return None, 0.0
    counts = {_month_index(m): n for m, n in volume}
    first, end = min(counts), _month_index(extract_date)
    months = [counts.get(i, 0) for i in range(first, max(end, first + 1))]
    typical = float(statistics.median(months[-TYPICAL_MONTHS:]))
    if typical < MIN_TYPICAL_ROWS:
        return _month_start(first), typical
    threshold = STABLE_SHARE * typical
    start = 0
    for i in range(len(months) - RUN_MONTHS + 1):
        if sum(months[i : i + RUN_MONTHS]) / RUN_MONTHS < threshold:
            start = i + 1
    start = min(start, len(months) - 1)
    while start < len(months) - 1 and months[start] < threshold:
        start += 1
    return _month_start(first + start), typical


def measure_coverage(
    con: duckdb.DuckDBPyConnection,
    relations: Mapping[str, str],
    *,
    declared: Mapping[str, date],
    extract_date: date,
) -> dict[str, TableCoverage]:
    """Decide the coverage of every event table.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection that can read each relation.
    relations : Mapping
        ``table -> schema-qualified relation`` holding that table's loaded rows;
        a table without a relation is left out.
    declared : Mapping
        Starts declared in ``extract.json`` (they win over the inference).
    extract_date : date
        The extract's date.

    Returns
    -------
    dict of str to TableCoverage
        One entry per table of ``relations``, in :data:`COVERAGE_TABLES` order.
    """
    result: dict[str, TableCoverage] = {}
    for table, column in COVERAGE_TABLES.items():
        if table not in relations:
            continue
        volume = monthly_volume(con, relations[table], column, extract_date)
        inferred, typical = infer_coverage_start(volume, extract_date)
        start = declared.get(table, inferred)
        method: Method = (
            "declared" if table in declared else "inferred" if volume else "empty"
        )
        before = sum(n for m, n in volume if start is not None and m < start)
        if start is not None and table in declared:
            before = _rows_before(con, relations[table], column, start)
        result[table] = TableCoverage(
            table=table,
            start=start,
            method=method,
            first_event=_first_event(con, relations[table], column, extract_date),
            rows_before=before,
            typical_monthly_rows=typical,
        )
    return result


def _first_event(
    con: duckdb.DuckDBPyConnection, relation: str, column: str, extract_date: date
) -> date | None:
    row = con.execute(
        f"select min({column}) from {relation} where {column} < $d", {"d": extract_date}
    ).fetchone()
    return row[0] if row else None


def _rows_before(
    con: duckdb.DuckDBPyConnection, relation: str, column: str, start: date
) -> int:
    row = con.execute(
        f"select count(*) from {relation} where {column} < $d", {"d": start}
    ).fetchone()
    return int(row[0]) if row else 0
