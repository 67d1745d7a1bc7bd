"""The spine: which citizens, at which as-of dates, features are computed for.

``opspor features`` turns ``--as-of DATE`` or ``--as-of-range A:B --every 1mo``
into a list of dates here, and :func:`write_spine` writes ``main.spine`` (every
citizen of ``raw.citizens`` crossed with those dates). The spine is the only
varying input of the feature SQL, so many as-of dates are built in one pass.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Sequence
from datetime import date

import duckdb

from features.db import read_sql, swap_table
from features.errors import ConfigError

__all__ = [
    "BAD_AS_OF",
    "BAD_EVERY",
    "AS_OF_CHOICE",
    "BAD_RANGE",
    "NO_DATES",
    "as_of_dates_between",
    "parse_as_of",
    "parse_as_of_range",
    "resolve_as_of_dates",
    "write_spine",
]

logger = logging.getLogger(__name__)

BAD_AS_OF = "The as-of date must be an ISO date (YYYY-MM-DD). Got {value!r} instead."
BAD_RANGE = (
    "The as-of range must be START:END with ISO dates and START <= END."
    " Got {value!r} instead."
)
BAD_EVERY = (
    "The 'every' step must be a positive number followed by d, w, mo or y "
    "(e.g. 1mo, 3mo, 1w). Got {value!r} instead."
)
NO_DATES = "At least one as-of date is needed to build features."
AS_OF_CHOICE = "Give exactly one of --as-of DATE and --as-of-range START:END."
_EVERY = re.compile(r"^([1-9][0-9]*)(d|w|mo|y)$")


def parse_as_of(text: str) -> date:
    """Parse one ISO as-of date, raising ConfigError with :data:`BAD_AS_OF`."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise ConfigError(BAD_AS_OF.format(value=text)) from error


def _add_months(start: date, months: int) -> date:
    """``start`` plus whole months, the day clamped to the month's length."""
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def as_of_dates_between(start: date, end: date, every: str) -> list[date]:
    """Return the dates from ``start`` to ``end`` (inclusive) in steps of ``every``.

    Parameters
    ----------
    start, end : date
        First date and last allowed date.
    every : str
        Step such as ``1w``, ``14d``, ``1mo``, ``3mo`` or ``1y``. Month steps are
        counted from ``start`` (31 Jan + 1mo is 28/29 Feb, + 2mo is 31 Mar).

    Returns
    -------
    list of date

    Raises
    ------
    ConfigError
        If ``every`` is malformed or ``start`` is after ``end``.
    """
    match = _EVERY.match(every.strip())
    if not match:
        raise ConfigError(BAD_EVERY.format(value=every))
    if start > end:
        raise ConfigError(BAD_RANGE.format(value=f"{start}:{end}"))
    n, unit = int(match.group(1)), match.group(2)
    dates: list[date] = []
    k = 0
    while True:
        if unit in ("d", "w"):
            step = date.fromordinal(
                start.toordinal() + k * n * (7 if unit == "w" else 1)
            )
        else:
            step = _add_months(start, k * n * (12 if unit == "y" else 1))
        if step > end:
            return dates
        dates.append(step)
        k += 1


def parse_as_of_range(text: str, every: str) -> list[date]:
    """Parse ``START:END`` and return the dates of :func:`as_of_dates_between`."""
    parts = text.split(":")
    if len(parts) != 2:
        raise ConfigError(BAD_RANGE.format(value=text))
    try:
        start, end = (date.fromisoformat(p.strip()) for p in parts)
    except ValueError as error:
        raise ConfigError(BAD_RANGE.format(value=text)) from error
    if start > end:
        raise ConfigError(BAD_RANGE.format(value=text))
    return as_of_dates_between(start, end, every)


def resolve_as_of_dates(
    as_of: str | None, as_of_range: str | None, every: str
) -> list[date]:
    """Turn the CLI's ``--as-of`` or ``--as-of-range``/``--every`` into dates.

    Parameters
    ----------
    as_of : str or None
        One ISO date.
    as_of_range : str or None
        ``START:END``; exactly one of the two must be given.
    every : str
        Step of the range (see :func:`as_of_dates_between`).

    Returns
    -------
    list of date

    Raises
    ------
    ConfigError
        If both or neither are given (:data:`AS_OF_CHOICE`) or a value is malformed.
    """
    if (as_of is None) == (as_of_range is None):
        raise ConfigError(AS_OF_CHOICE)
    if as_of is not None:
        return [parse_as_of(as_of)]
    return parse_as_of_range(str(as_of_range), every)


def write_spine(con: duckdb.DuckDBPyConnection, as_of_dates: Sequence[date]) -> int:
    """Write ``main.spine``: every citizen of ``raw.citizens`` at every as-of date.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A warehouse with ``raw.citizens`` loaded.
    as_of_dates : sequence of date
        The dates; duplicates are dropped.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ConfigError
        If no date is given.
    """
    dates = sorted(set(as_of_dates))
    if not dates:
        raise ConfigError(NO_DATES)
    swap_table(
        con,
        "main",
        "spine",
        read_sql("features", "sql", "spine.sql"),
        {"as_of_dates": dates},
    )
    n = int(con.execute("select count(*) from main.spine").fetchall()[0][0])
    logger.info("Wrote the spine: %d rows for %d as-of dates", n, len(dates))
    return n
