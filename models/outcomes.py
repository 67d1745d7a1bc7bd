"""Labels: the only code in Opspor that looks after the as-of date.

Each outcome is one SQL file in ``models/sql/outcomes/`` with a YAML contract
beside it (cohort, time at risk, censoring, why). :func:`build_labels` runs it
over ``main.spine`` and ``marts.scoring_features`` into ``labels.<outcome>``,
one row per cohort member and eligible index date. :func:`eligible_index_dates`
decides which index dates may be labelled at all: a full washout of extract
history before them, a whole outcome window before ``extract_date``.
:mod:`models.matrix` joins these labels to the features.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import Any

import duckdb

from features.build import create_macros
from features.coverage import COVERAGE_TABLES, measure_coverage
from features.db import (
    check_identifier,
    read_sql,
    read_yaml,
    run_sql,
    swap_table,
    table_exists,
)
from features.errors import ConfigError, DataError, NotFoundError

__all__ = [
    "ExtractWindow",
    "LabelSummary",
    "available_outcomes",
    "build_labels",
    "eligible_index_dates",
    "index_dates_between",
    "outcome_contract",
    "read_extract_window",
]

logger = logging.getLogger(__name__)

NO_EXTRACT = (
    "No extract is loaded in the warehouse; run `opspor load EXTRACT_DIR` first."
)
NO_EVENTS = "The loaded extract has no dated events, so no index date can be labelled."
UNKNOWN_OUTCOME = "Unknown outcome {name!r}; available: {available}."
NO_MART = "marts.scoring_features is missing; build features before labels."


@dataclass(frozen=True)
class ExtractWindow:
    """The span of history an extract holds.

    Parameters
    ----------
    start : date
        Where the common coverage begins: the latest coverage start among the
        event tables that hold events (``raw.coverage``). Index dates and their
        look-back stay on or after it, so no model learns from years that most
        tables do not cover.
    extract_date : date
        The date the extract was drawn; nothing after it is observed.
    extract_hash : str
        The loader's hash of the extract (a fingerprint, never person data).
    coverage : Mapping
        ``table -> coverage start`` (None for an empty table).
    """

    start: date
    extract_date: date
    extract_hash: str = ""
    coverage: Mapping[str, date | None] = field(default_factory=dict)

    def history_start(self, tables: Sequence[str] | None = None) -> date:
        """Return the latest coverage start among ``tables`` (default: all).

        Parameters
        ----------
        tables : sequence of str, optional
            Contract event tables a model reads; unknown or empty ones are skipped.

        Returns
        -------
        date
            The common coverage start of those tables (``start`` if none is known).
        """
        starts = [
            d
            for t, d in self.coverage.items()
            if d is not None and (tables is None or t in tables)
        ]
        return max(starts) if starts else self.start


@dataclass(frozen=True)
class LabelSummary:
    """Counts of one label build (aggregates only)."""

    outcome: str
    rows: int
    events: int
    censored: int


def available_outcomes() -> list[str]:
    """Return the outcome names shipped in ``models/sql/outcomes/``."""
    folder = resources.files("models") / "sql" / "outcomes"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql"))


def outcome_contract(outcome: str) -> dict[str, Any]:
    """Return the parsed YAML contract of an outcome.

    Parameters
    ----------
    outcome : str
        Outcome name, e.g. ``"diabetes_harm_365d"``.

    Returns
    -------
    dict
        Cohort, time at risk, censoring, why, columns.

    Raises
    ------
    ConfigError
        The outcome does not exist.
    """
    _check_outcome(outcome)
    contract: dict[str, Any] = read_yaml("models", "sql", "outcomes", f"{outcome}.yml")
    return contract


def _check_outcome(outcome: str) -> None:
    available = available_outcomes()
    if outcome not in available:
        raise ConfigError(
            UNKNOWN_OUTCOME.format(name=outcome, available=", ".join(available))
        )
    check_identifier(outcome, "Outcome")


def read_extract_window(con: duckdb.DuckDBPyConnection) -> ExtractWindow:
    """Read where the loaded extract's history begins and ends.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, with ``raw.*`` loaded.

    Returns
    -------
    ExtractWindow

    Raises
    ------
    NotFoundError
        No extract is loaded.
    DataError
        The extract holds no dated events.
    """
    if not table_exists(con, "raw", "extract_info"):
        raise NotFoundError(NO_EXTRACT)
    info = con.execute(
        "select extract_date, extract_hash from raw.extract_info limit 1"
    ).fetchone()
    if info is None:
        raise NotFoundError(NO_EXTRACT)
    coverage = _coverage(con, info[0])
    starts = [d for d in coverage.values() if d is not None]
    if not starts:
        raise DataError(NO_EVENTS)
    return ExtractWindow(
        start=max(starts),
        extract_date=info[0],
        extract_hash=str(info[1] or ""),
        coverage=coverage,
    )


def _coverage(
    con: duckdb.DuckDBPyConnection, extract_date: date
) -> dict[str, date | None]:
    """Read ``raw.coverage``; measure it for a warehouse loaded before it existed."""
    if table_exists(con, "raw", "coverage"):
        rows = con.execute("select table_name, coverage_from from raw.coverage")
        return {str(t): d for t, d in rows.fetchall()}
    present = {t: f"raw.{t}" for t in COVERAGE_TABLES if table_exists(con, "raw", t)}
    measured = measure_coverage(con, present, declared={}, extract_date=extract_date)
    return {t: c.start for t, c in measured.items()}


def eligible_index_dates(
    candidates: list[date],
    window: ExtractWindow,
    *,
    horizon_days: int,
    washout_days: int,
) -> list[date]:
    """Keep the index dates that can be labelled honestly.

    Parameters
    ----------
    candidates : list of date
        Proposed index dates.
    window : ExtractWindow
        The extract's history.
    horizon_days, washout_days : int
        Outcome window after, and the shortest covered history before, an index
        date (a spec's ``min_washout_days``).

    Returns
    -------
    list of date
        Sorted dates with ``date - washout >= window.start`` and
        ``date + horizon <= window.extract_date``.
    """
    first = window.start + timedelta(days=washout_days)
    last = window.extract_date - timedelta(days=horizon_days)
    return sorted({d for d in candidates if first <= d <= last})


def index_dates_between(
    first: date, last: date, *, every: tuple[int, str]
) -> list[date]:
    """Step back from ``last`` to ``first`` by ``every`` and return the dates ascending.

    Parameters
    ----------
    first, last : date
        Earliest and latest allowed index date.
    every : tuple of (int, str)
        Step as ``(n, unit)`` with unit ``d``, ``w``, ``mo`` or ``y``.

    Returns
    -------
    list of date
        Always includes ``last`` when ``first <= last``: the latest fully
        observed date is the test date.
    """
    n, unit = every
    dates: list[date] = []
    step = 0
    while True:
        current = _shift(last, -n * step, unit)
        if current < first:
            return sorted(dates)
        dates.append(current)
        step += 1


def _shift(day: date, n: int, unit: str) -> date:
    """Move a date by n units (months clamp to the month's last day)."""
    if unit == "d":
        return day + timedelta(days=n)
    if unit == "w":
        return day + timedelta(weeks=n)
    months = n * (12 if unit == "y" else 1)
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    for day_of_month in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, day_of_month)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def build_labels(
    con: duckdb.DuckDBPyConnection,
    outcome: str,
    *,
    window: ExtractWindow,
    horizon_days: int,
    washout_days: int,
    min_washout_days: int | None = None,
) -> LabelSummary:
    """Write ``labels.<outcome>`` for every cohort row of the spine at an eligible date.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse with ``raw.*``, ``main.spine`` and ``marts.scoring_features``.
    outcome : str
        Outcome name; its SQL is ``models/sql/outcomes/<outcome>.sql``.
    window : ExtractWindow
        The extract's history (decides eligible index dates).
    horizon_days, washout_days : int
        Outcome window and washout: a complication is new when it has no record
        in the covered part of ``[as_of_date - washout_days, as_of_date)``.
    min_washout_days : int, optional
        The shortest covered look-back an eligible index date may have
        (default: ``washout_days``).

    Returns
    -------
    LabelSummary
        Row, event and censored counts.

    Raises
    ------
    ConfigError
        Unknown outcome.
    NotFoundError
        The scoring mart has not been built.
    """
    _check_outcome(outcome)
    if not table_exists(con, "marts", "scoring_features"):
        raise NotFoundError(NO_MART)
    # Outcome SQL uses its own macros (censoring) and the feature macros
    # (complication groups); create both, so labels never depend on which
    # version last built the features.
    create_macros(con)
    run_sql(con, read_sql("models", "sql", "outcome_macros.sql"))
    # The outcome SQL labels the rows of its cohort (window, washout, exit day).
    run_sql(
        con,
        "create or replace temp table outcome_cohort as "
        + read_sql("models", "sql", "outcome_cohort.sql"),
        {
            "cohort": outcome_contract(outcome)["cohort"],
            "horizon_days": horizon_days,
            "washout_days": washout_days,
            "min_washout_days": (
                washout_days if min_washout_days is None else min_washout_days
            ),
            "extract_start": window.start,
            "extract_date": window.extract_date,
        },
    )
    views = _create_outcome_views(con, outcome)
    swap_table(con, "labels", outcome, _labels_sql(con, outcome))
    con.execute("drop view if exists temp.main.outcome_events")
    for view in views:
        con.execute(f"drop view temp.main.{view}")
    con.execute("drop table temp.main.outcome_cohort")
    row = con.execute(
        f"select count(*), coalesce(sum(label), 0), count(*) filter (where is_censored)"
        f" from labels.{outcome}"
    ).fetchone()
    assert row is not None
    summary = LabelSummary(
        outcome=outcome, rows=int(row[0]), events=int(row[1]), censored=int(row[2])
    )
    logger.info(
        "labels.%s: %s rows, %s events, %s censored",
        outcome,
        summary.rows,
        summary.events,
        summary.censored,
    )
    return summary


def _create_outcome_views(con: duckdb.DuckDBPyConnection, outcome: str) -> list[str]:
    """Create the shared views the outcome's contract lists under ``views``.

    A definition several outcomes share (e.g. what makes a diagnosis new) lives once,
    in ``models/sql/outcome_views/<view>.sql``, read over ``outcome_cohort``.
    """
    views: list[str] = list(outcome_contract(outcome).get("views", []))
    for view in views:
        sql = read_sql("models", "sql", "outcome_views", f"{view}.sql")
        run_sql(con, f"create or replace temp view {view} as " + sql)
    return views


def _labels_sql(con: duckdb.DuckDBPyConnection, outcome: str) -> str:
    """Return the SQL of ``labels.<outcome>``; an event outcome's via outcome_events.

    An event outcome (``events: true`` in its contract) selects its events, which
    the shared ``outcome_labels.sql`` turns into labels, censoring and time at risk.
    """
    sql = read_sql("models", "sql", "outcomes", f"{outcome}.sql")
    if not outcome_contract(outcome).get("events"):
        return sql
    run_sql(con, "create or replace temp view outcome_events as " + sql)
    return read_sql("models", "sql", "outcome_labels.sql")


def labels_missing(
    con: duckdb.DuckDBPyConnection, outcome: str, *, as_of_date: date
) -> bool:
    """Tell whether ``labels.<outcome>`` could hold ``as_of_date`` but does not.

    A date whose outcome window has not ended before ``extract_date`` (or that lacks
    the washout of history) can never be labelled, so it is never missing; nor is
    anything missing in a warehouse without a loaded extract and scoring mart.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (read only is enough).
    outcome : str
        Outcome name.
    as_of_date : date
        The date an audit or report needs labels at.

    Returns
    -------
    bool
    """
    from models.spec import load_spec

    _check_outcome(outcome)
    if not (
        table_exists(con, "raw", "extract_info")
        and table_exists(con, "marts", "scoring_features")
    ):
        return False
    spec = load_spec(outcome)
    window = read_extract_window(con)
    if not eligible_index_dates(
        [as_of_date],
        window,
        washout_days=spec.washout_days,
        horizon_days=spec.horizon_days,
    ):
        return False
    if not table_exists(con, "labels", outcome):
        return True
    row = con.execute(
        f"select count(*) from labels.{check_identifier(outcome, 'Outcome')}"
        " where as_of_date = $d",
        {"d": as_of_date},
    ).fetchone()
    return row is None or row[0] == 0


def ensure_labels(
    con: duckdb.DuckDBPyConnection, outcome: str, *, as_of_date: date
) -> LabelSummary | None:
    """Build ``labels.<outcome>`` when it lacks a date it could hold.

    Horizon and washout are those of the outcome's shipped spec
    (``models/specs/<outcome>.toml``); labels are built for every spine date, as
    training does. Used by the fairness audit to compare a ranking under the
    alternative outcomes even when no model of them was trained.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable warehouse with the scoring mart at ``as_of_date``.
    outcome : str
        Outcome name.
    as_of_date : date
        The date the caller needs.

    Returns
    -------
    LabelSummary or None
        ``None`` when nothing had to be built.
    """
    from models.spec import load_spec

    if not labels_missing(con, outcome, as_of_date=as_of_date):
        return None
    spec = load_spec(outcome)
    return build_labels(
        con,
        outcome,
        window=read_extract_window(con),
        horizon_days=spec.horizon_days,
        washout_days=spec.washout_days,
    )
