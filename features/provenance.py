"""Which extract each derived table was computed from: stamps and their check.

Every stage that writes person-level results from ``raw.*`` (the feature build,
scoring, reasons) stamps what it wrote with the hash of the extract loaded at
the time, in ``provenance.stamps``. Before a list is built, :func:`mixed_kinds`
compares those stamps with the extract loaded now, so a list is never ranked
from features, scores or reasons of an earlier extract or another region.
Tables written before stamps existed (no stamp for the as-of date) are not
refused; a stamp that names another extract always is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

import duckdb

from features.db import table_exists

__all__ = ["MIXED_EXTRACT", "StampKind", "mixed_kinds", "stamp_derived"]

StampKind = Literal["features", "scores", "reasons"]

MIXED_EXTRACT = (
    "The {kinds} at as-of date {as_of} stem from another extract ({stamped}) than "
    "the loaded one ({loaded}); rebuild them (`opspor weekly`, or features, score "
    "and explain) before building a list."
)
_DDL = (
    "create table if not exists provenance.stamps (kind varchar not null,"
    " model_uri varchar not null, as_of_date date not null, extract_hash varchar,"
    " stamped_at timestamp not null)"
)


def _loaded_hash(con: duckdb.DuckDBPyConnection) -> str | None:
    """Return the hash of the extract in ``raw.extract_info`` (None when none)."""
    if not table_exists(con, "raw", "extract_info"):
        return None
    row = con.execute("select extract_hash from raw.extract_info limit 1").fetchone()
    return None if row is None else str(row[0])


def stamp_derived(
    con: duckdb.DuckDBPyConnection,
    kind: StampKind,
    *,
    as_of_dates: Sequence[date],
    model_uri: str = "",
) -> None:
    """Record that ``kind`` rows at ``as_of_dates`` come from the loaded extract.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (inside the writer's transaction, when it has one).
    kind : {"features", "scores", "reasons"}
        What was written.
    as_of_dates : sequence of date
        The as-of dates written.
    model_uri : str
        The model whose scores or reasons were written ("" for features).
    """
    con.execute("create schema if not exists provenance")
    con.execute(_DDL)
    params = {"k": kind, "m": model_uri, "d": sorted(set(as_of_dates))}
    con.execute(
        "delete from provenance.stamps where kind = $k and model_uri = $m"
        " and list_contains($d, as_of_date)",
        params,
    )
    con.execute(
        "insert into provenance.stamps select $k, $m, unnest($d), $h, $at",
        {**params, "h": _loaded_hash(con), "at": datetime.now().replace(microsecond=0)},
    )


def mixed_kinds(
    con: duckdb.DuckDBPyConnection, *, as_of: date, model_uri: str
) -> tuple[list[str], str | None, str | None]:
    """Return the kinds stamped from another extract than the loaded one.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    as_of : date
        The list's as-of date.
    model_uri : str
        The model whose scores and reasons the list uses.

    Returns
    -------
    tuple of (list of str, str or None, str or None)
        The mismatching kinds (empty when all match), the first foreign hash
        and the loaded hash.
    """
    loaded = _loaded_hash(con)
    if not table_exists(con, "provenance", "stamps"):
        return [], None, loaded
    rows = con.execute(
        "select kind, extract_hash from provenance.stamps where as_of_date = $d"
        " and (kind = 'features' or model_uri = $m)"
        " and extract_hash is distinct from $h order by kind",
        {"d": as_of, "m": model_uri, "h": loaded},
    ).fetchall()
    kinds = sorted({str(k) for k, _ in rows})
    return kinds, (str(rows[0][1]) if rows else None), loaded
