"""Whole-extract checks: what a delivery as a whole must satisfy before it is loaded.

Called by :mod:`features.load` at three points of the data flow (extract folder
-> staging database -> ``raw.*``): on ``extract.json`` before anything is read,
on the staged and checked tables before anything is published, and inside the
publishing transaction (the older-extract and other-region checks, so two
loads racing for the warehouse cannot both win). Row-level plausibility rules
(quarantine reason ``implausible_value``) are generated here too and run by the
loader together with the contract's own row rules.

Decisions the contract leaves open (pinned in tests, listed in README.md):

- ``source`` is required and compared normalised: surrounding and repeated
  white space removed and lower-cased, so ``" Region Sjælland "`` and
  ``"region sjælland"`` are the same region (the normalised text is stored).
- ``extract_date`` may be at most one day after today (time zones); it is
  refused as "before the extract's own events" when more than
  :data:`AFTER_EXTRACT_SHARE` of the dated rows are dated after it (a few such
  rows stay row-level ``after_extract_date`` quarantine, as the contract says).
- A citizen listed twice with conflicting values is kept once, with the most
  protective values of all copies (opted out if any copy opts out, the earliest
  death and emigration dates); the other copies are quarantined as
  ``conflicting_duplicate`` and counted in the load report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import duckdb

from features.contract import EXTRACT_JSON, TABLES, ExtractInfo, TableContract
from features.errors import ExtractProblem

__all__ = [
    "AFTER_EXTRACT_SHARE",
    "ALL_EVENTS_EMPTY",
    "BLANK_SOURCE",
    "DATE_BEFORE_EVENTS",
    "DATE_IN_FUTURE",
    "OLDER_EXTRACT",
    "OTHER_SOURCE",
    "PLAUSIBLE_LAB_RANGES",
    "PLAUSIBLE_COLUMN_RANGES",
    "REPLACE_WITHOUT_REASON",
    "check_extract_info",
    "check_staged_extract",
    "merge_duplicate_citizens",
    "normalise_source",
    "plausibility_params",
    "plausibility_rules",
    "publish_problems",
]

#: Refuse extract_date when more than this share of dated rows are after it.
AFTER_EXTRACT_SHARE = 0.1
#: Plausible value ranges per NPU analyte (inclusive): code -> (unit, low, high).
#: Generous on purpose: only a value no laboratory could report is quarantined.
PLAUSIBLE_LAB_RANGES: dict[str, tuple[str, float, float]] = {
    "NPU27300": ("mmol/mol", 10.0, 200.0),  # HbA1c (IFCC)
    "NPU03835": ("%", 3.0, 20.0),  # HbA1c (DCCT)
    "NPU18016": ("umol/L", 5.0, 3000.0),  # P-creatinine
    "NPU01566": ("mmol/L", 0.1, 30.0),  # P-cholesterol
    "NPU01568": ("mmol/L", 0.1, 25.0),  # P-cholesterol LDL
    "NPU02319": ("mmol/L", 1.0, 15.0),  # B-haemoglobin
    "NPU19661": ("mg/g", 0.0, 10000.0),  # U-albumin/creatinine
}
#: Plausible ranges of numeric contract columns (inclusive): (table, column) -> range.
PLAUSIBLE_COLUMN_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("prescriptions", "days_supply"): (1.0, 730.0),
}
EVENT_TABLES = tuple(t for t in TABLES if TABLES[t].references_citizens)

BLANK_SOURCE = (
    "extract.json: source is missing or blank; every extract must name the region "
    "or data service that delivered it."
)
DATE_IN_FUTURE = (
    "extract.json: extract_date {got} is after today ({today}); "
    "an extract cannot be dated in the future."
)
DATE_BEFORE_EVENTS = (
    "extract.json: extract_date {got} is before {rows} of {total} dated rows "
    "(latest {latest}); the extract_date must not precede the extract's own events."
)
ALL_EVENTS_EMPTY = (
    "extract: every event table ({tables}) is empty; there is nothing to load."
)
OLDER_EXTRACT = (
    "extract.json: extract_date {new} is older than the loaded extract of source "
    "{source!r} ({old}); only a newer extract can replace it."
)
OTHER_SOURCE = (
    "extract.json: source {new!r} differs from the loaded extract's source {old!r}; "
    "one warehouse holds one region. Use --replace-source --reason TEXT to replace "
    "it (the old region's features, labels, scores and reasons are dropped)."
)
REPLACE_WITHOUT_REASON = (
    "The 'reason' parameter of load_extract must be a non-blank text when "
    "replace_source is true. Got {got!r} instead."
)


def normalise_source(source: str | None) -> str | None:
    """Return ``source`` with white space collapsed and lower-cased (None if blank)."""
    if source is None:
        return None
    text = " ".join(source.split()).lower()
    return text or None


def check_extract_info(
    info: ExtractInfo, *, today: date
) -> tuple[ExtractInfo, list[ExtractProblem]]:
    """Check ``extract.json`` as a whole: a source is named, the date is not future.

    Parameters
    ----------
    info : ExtractInfo
        The parsed, contract-valid ``extract.json``.
    today : date
        The loader's today; ``extract_date`` may be one day later at most.

    Returns
    -------
    tuple of (ExtractInfo, list of ExtractProblem)
        The info with its source normalised, and one problem per fault.
    """
    source = normalise_source(info.source)
    problems: list[ExtractProblem] = []
    if source is None:
        problems.append(_info_problem("source", BLANK_SOURCE, info.source))
    if info.extract_date > today + timedelta(days=1):
        message = DATE_IN_FUTURE.format(got=info.extract_date, today=today)
        problems.append(_info_problem("extract_date", message, info.extract_date))
    return replace(info, source=source), problems


def _info_problem(column: str, message: str, value: object) -> ExtractProblem:
    """One extract.json problem with its value as the example."""
    return ExtractProblem(EXTRACT_JSON, column, 1, (str(value),), message)


# --- staged and checked tables --------------------------------------------------


def check_staged_extract(
    con: duckdb.DuckDBPyConnection, info: ExtractInfo
) -> list[ExtractProblem]:
    """Check the checked stage tables as a whole: events exist, the date fits them.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The staging database holding ``checked_<table>`` for every table.
    info : ExtractInfo
        The extract's info.

    Returns
    -------
    list of ExtractProblem
        Empty when the extract may be published.
    """
    problems: list[ExtractProblem] = []
    events = sum(_count(con, t, "true") for t in EVENT_TABLES)
    if events == 0:
        message = ALL_EVENTS_EMPTY.format(tables=", ".join(EVENT_TABLES))
        problems.append(ExtractProblem("extract", None, 0, (), message))
    late, dated, latest = _late_rows(con)
    if late > AFTER_EXTRACT_SHARE * dated:
        message = DATE_BEFORE_EVENTS.format(
            got=info.extract_date, rows=late, total=dated, latest=latest
        )
        example = (str(info.extract_date),)
        problems.append(
            ExtractProblem(EXTRACT_JSON, "extract_date", late, example, message)
        )
    return problems


def _count(con: duckdb.DuckDBPyConnection, table: str, where: str) -> int:
    """Count rows of ``checked_<table>`` (table and condition are our constants)."""
    row = con.execute(f"select count(*) from checked_{table} where {where}").fetchone()
    return int(row[0]) if row else 0


def _late_rows(con: duckdb.DuckDBPyConnection) -> tuple[int, int, date | None]:
    """Rows dated after extract_date, rows with a date, and the latest such date."""
    late = dated = 0
    latest: date | None = None
    for table in TABLES.values():
        columns = [f'"{c.name}"' for c in table.columns if c.not_after_extract]
        present = " or ".join(f"{c} is not null" for c in columns)
        flagged = "list_bool_or([x like 'after_extract_date(%' for x in reasons])"
        row = con.execute(
            f"select count(*) filter (where {flagged}),"
            f" count(*) filter (where {present}),"
            f" max(greatest({', '.join(columns)})) filter (where {flagged})"
            f" from checked_{table.name}"
        ).fetchone()
        assert row is not None
        late, dated = late + int(row[0]), dated + int(row[1])
        if row[2] is not None and (latest is None or row[2] > latest):
            latest = row[2]
    return late, dated, latest


_MERGE_DUPLICATES = """
create or replace temp table duplicate_citizens as
with
copies as (
    select * from checked_citizens where citizen_id is not null
),
kept as (
    select citizen_id from copies where reason is null
),
clean_copies as (
    select * from copies
    where reason is null or reason = 'duplicate_id'
),
groups as (
    select
        citizen_id,
        bool_or(outreach_opt_out) as outreach_opt_out,
        min(death_date) as death_date,
        min(emigration_date) as emigration_date,
        count(distinct {row_value}) > 1 as is_conflicting
    from clean_copies
    where citizen_id in (select k.citizen_id from kept as k)
    group by citizen_id
    having count(*) > 1
),
opted_out as (
    select citizen_id, bool_or(outreach_opt_out) as any_opt_out
    from copies group by citizen_id
),
final as (
    select
        groups.citizen_id,
        groups.outreach_opt_out or coalesce(opted_out.any_opt_out, false)
            as outreach_opt_out,
        groups.death_date,
        groups.emigration_date,
        groups.is_conflicting
    from groups
    left join opted_out on groups.citizen_id = opted_out.citizen_id
)
select * from final
"""


def merge_duplicate_citizens(con: duckdb.DuckDBPyConnection) -> int:
    """Keep one row per duplicated citizen with the most protective values.

    The kept row (the first clean copy in file order) takes the opt-out of any
    copy and the earliest death and emigration dates; the other copies of a
    citizen whose copies disagree are re-labelled ``conflicting_duplicate``
    (identical copies stay ``duplicate_id``). Runs in the staging database only.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The staging database holding ``checked_citizens``.

    Returns
    -------
    int
        The number of citizens whose copies conflicted.
    """
    columns = [f'"{c}"' for c in TABLES["citizens"].column_names]
    con.execute(_MERGE_DUPLICATES.format(row_value=f"({', '.join(columns)})"))
    con.execute(
        "update checked_citizens as k set outreach_opt_out = d.outreach_opt_out,"
        " death_date = d.death_date, emigration_date = d.emigration_date"
        " from duplicate_citizens as d"
        " where k.citizen_id = d.citizen_id and k.reason is null"
    )
    con.execute(
        "update checked_citizens as k set reason = 'conflicting_duplicate',"
        " reasons = list_transform(k.reasons, lambda x: case"
        " when x = 'duplicate_id(citizen_id)'"
        " then 'conflicting_duplicate(citizen_id)' else x end)"
        " from duplicate_citizens as d where k.citizen_id = d.citizen_id"
        " and d.is_conflicting and k.reason = 'duplicate_id'"
    )
    row = con.execute(
        "select count(*) from duplicate_citizens where is_conflicting"
    ).fetchone()
    return int(row[0]) if row else 0


# --- plausibility (row level) ---------------------------------------------------


def plausibility_rules(table: TableContract) -> list[tuple[str, str, str]]:
    """Return ``(reason, column, SQL over typed columns)`` for implausible values."""
    rules: list[tuple[str, str, str]] = []
    if table.name == "lab_results":
        position = 'list_position($plausible_codes, "npu_code")'
        cond = (
            f'coalesce("value" not between $plausible_low[{position}]'
            f" and $plausible_high[{position}], false)"
        )
        rules.append(("implausible_value", "value", cond))
    for (name, column), _ in PLAUSIBLE_COLUMN_RANGES.items():
        if name == table.name:
            low, high = f"$plausible_{column}_low", f"$plausible_{column}_high"
            cond = f'coalesce("{column}" not between {low} and {high}, false)'
            rules.append(("implausible_value", column, cond))
    return rules


def plausibility_params(table: TableContract) -> dict[str, Any]:
    """Return the ``$`` parameters :func:`plausibility_rules` refers to."""
    params: dict[str, Any] = {}
    if table.name == "lab_results":
        params["plausible_codes"] = list(PLAUSIBLE_LAB_RANGES)
        params["plausible_low"] = [r[1] for r in PLAUSIBLE_LAB_RANGES.values()]
        params["plausible_high"] = [r[2] for r in PLAUSIBLE_LAB_RANGES.values()]
    for (name, column), (low, high) in PLAUSIBLE_COLUMN_RANGES.items():
        if name == table.name:
            params[f"plausible_{column}_low"] = low
            params[f"plausible_{column}_high"] = high
    return params


# --- inside the publishing transaction --------------------------------------------


def publish_problems(
    info: ExtractInfo,
    current: Mapping[str, Any] | None,
    *,
    replace_source: bool,
) -> list[ExtractProblem]:
    """Refuse an older extract of the same source, or another source unless asked.

    Parameters
    ----------
    info : ExtractInfo
        The new extract's info (source normalised).
    current : mapping or None
        ``extract_date`` and ``source`` of the loaded extract, if any.
    replace_source : bool
        The caller asked to replace another region's data.

    Returns
    -------
    list of ExtractProblem
        Empty when the extract may replace the loaded one.
    """
    if current is None:
        return []
    old_source = normalise_source(current["source"])
    if old_source != info.source:
        if replace_source:
            return []
        message = OTHER_SOURCE.format(new=info.source, old=old_source)
        return [_info_problem("source", message, info.source)]
    old: date = current["extract_date"]
    if info.extract_date >= old:
        return []
    message = OLDER_EXTRACT.format(new=info.extract_date, source=info.source, old=old)
    return [_info_problem("extract_date", message, info.extract_date)]
