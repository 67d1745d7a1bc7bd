"""The programme report: listed, reached, screened and declined, by week and over time.

Reads the frozen lists and recorded outcomes of one programme
(``outreach/sql/report_outcomes.sql``) and aggregates them overall and by
education level, so coordinators and reviewers see whether the least educated
are reached, not only listed. Groups with fewer than ``min_cell_size`` listed
citizens are suppressed, and so is the next smallest group beside a lone
suppressed one (complementary suppression). Aggregates only: no citizen id
leaves DuckDB.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from features.db import read_sql, table_exists
from features.errors import NotFoundError
from features.files import atomic_write
from outreach.app.store import ensure_outreach_tables
from outreach.lists import parse_week
from reports.suppression import complementary_suppression

__all__ = [
    "EDUCATION_LEVELS",
    "MIN_CELL_SIZE",
    "ProgrammeReport",
    "build_programme_report",
]

log = logging.getLogger(__name__)

MIN_CELL_SIZE = 10
EDUCATION_LEVELS = (
    "basic",
    "upper_secondary",
    "vocational",
    "short_tertiary",
    "medium_tertiary",
    "long_tertiary",
    "unknown",
)
NO_LISTS = "No frozen lists for programme {programme!r}{week}. Run `opspor list` first."
NO_AUDIT = "marts.audit_attributes is missing. Run `opspor features` first."
_COUNTS = ("listed", "reached", "screened", "declined")


@dataclass(frozen=True)
class ProgrammeReport:
    """Rows per (scope, week, education level); counts are None when suppressed."""

    programme: str
    weeks: list[str]
    min_cell_size: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    path: str | None = None


def _aggregate(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Count listed, reached, screened, declined per group."""
    return (
        frame.groupby(keys, sort=True, observed=True)
        .agg(
            listed=("list_id", "size"),
            reached=("is_reached", "sum"),
            screened=("is_screened", "sum"),
            declined=("is_declined", "sum"),
        )
        .reset_index()
    )


def _hidden(table: pd.DataFrame, min_cell_size: int) -> list[bool]:
    """Rows under the minimum size, plus complements among each week's groups.

    The education rows of a week add up to that week's overall row, so one
    hidden row alone would follow from the total and its siblings.
    """
    listed = table["listed"].to_numpy()
    weeks = (
        table["week"] if "week" in table.columns else pd.Series(["all"] * len(table))
    )
    siblings = [list(idx) for idx in weeks.groupby(weeks).indices.values()]
    mask = complementary_suppression(listed, listed < min_cell_size, siblings)
    return [bool(x) for x in mask]


def _rows(
    table: pd.DataFrame, *, scope: str, min_cell_size: int
) -> list[dict[str, Any]]:
    """Report rows with rates; a group under the minimum cell size is suppressed.

    Groups by education are also suppressed as complements (see ``_hidden``).
    """
    out = []
    table = table.reset_index(drop=True)
    hidden = (
        _hidden(table, min_cell_size)
        if "education_level" in table.columns
        else [int(n) < min_cell_size for n in table["listed"]]
    )
    for record, suppressed in zip(table.to_dict(orient="records"), hidden, strict=True):
        listed = int(record["listed"])
        counts = {k: None if suppressed else int(record[k]) for k in _COUNTS}
        rates = {
            f"{k}_rate": None if suppressed else round(int(record[k]) / listed, 4)
            for k in ("reached", "screened", "declined")
        }
        out.append(
            {
                "scope": scope,
                "week": record.get("week", "all"),
                "education_level": record.get("education_level", "all"),
                **counts,
                **rates,
                "suppressed": suppressed,
            }
        )
    return out


def build_programme_report(
    con: duckdb.DuckDBPyConnection,
    programme: str,
    *,
    week: str | None = None,
    min_cell_size: int = MIN_CELL_SIZE,
    out_path: Path | None = None,
    areas: Sequence[str] | None = None,
) -> ProgrammeReport:
    """Aggregate recorded outcomes of a programme's lists, overall and by education.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    programme : str
        Programme name.
    week : str, optional
        One ISO week; default every week with a frozen list.
    min_cell_size : int
        Groups with fewer listed citizens are suppressed (counts and rates None).
    out_path : Path, optional
        Also write the rows as ``.csv`` or ``.json`` (atomically).
    areas : sequence of str, optional
        Only citizens listed in these municipalities (a coordinator's); default all.

    Returns
    -------
    ProgrammeReport
        Scopes ``week`` (per week) and ``all_weeks``; education level ``all``
        for the overall rows.

    Raises
    ------
    NotFoundError
        No frozen list, or no ``marts.audit_attributes``.
    """
    if week is not None:
        parse_week(week)
    ensure_outreach_tables(con)
    if not table_exists(con, "marts", "audit_attributes"):
        raise NotFoundError(NO_AUDIT)
    frame = con.execute(
        read_sql("outreach", "sql", "report_outcomes.sql"),
        {
            "programme": programme,
            "week": week,
            "areas": None if areas is None else list(areas),
        },
    ).df()
    if frame.empty:
        raise NotFoundError(
            NO_LISTS.format(programme=programme, week=f" week {week}" if week else "")
        )
    frame["education_level"] = pd.Categorical(
        frame["education_level"], categories=list(EDUCATION_LEVELS)
    )
    rows = [
        *_rows(_aggregate(frame, ["week"]), scope="week", min_cell_size=min_cell_size),
        *_rows(
            _aggregate(frame, ["week", "education_level"]),
            scope="week",
            min_cell_size=min_cell_size,
        ),
        *_rows(
            _aggregate(frame.assign(all="all"), ["all"]),
            scope="all_weeks",
            min_cell_size=min_cell_size,
        ),
        *_rows(
            _aggregate(frame, ["education_level"]),
            scope="all_weeks",
            min_cell_size=min_cell_size,
        ),
    ]
    report = ProgrammeReport(
        programme=programme,
        weeks=sorted(frame["week"].unique().tolist()),
        min_cell_size=min_cell_size,
        rows=rows,
    )
    if out_path is not None:
        _write(out_path, report)
        report = ProgrammeReport(**{**report.__dict__, "path": str(out_path)})
    log.info("programme report %s: %s rows", programme, len(rows))
    return report


def _write(path: Path, report: ProgrammeReport) -> None:
    """Write the report rows as CSV or JSON by suffix."""
    if path.suffix.lower() == ".json":
        text = json.dumps(report.__dict__, ensure_ascii=False, indent=1, default=str)
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    else:
        atomic_write(
            path, lambda tmp: pd.DataFrame(report.rows).to_csv(tmp, index=False)
        )
