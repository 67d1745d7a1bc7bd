"""The ranking policy: from scored, cohort-filtered citizens to who fits this week.

``outreach/sql/exclusions.sql`` marks every cohort citizen scored at the as-of
date with the first rule that keeps them off the list; :func:`select_candidates`
materialises it and counts the rules. :func:`fill_capacity` is the policy, a pure
function: walk eligible citizens in rank order (``risk_rank``, then
``md5(citizen_id || '|' || week)`` for ties, stable across runs, machines and
DuckDB versions) and take each one whose area still has room, until the week is
full. With a hold-out share, each citizen the walk would list is held back with
that probability (a draw seeded by programme, week and citizen id), and the list
is filled up from the next ranks, so capacity is still used and held-out and
listed citizens come from the same rank band. :mod:`outreach.lists` calls both.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from features.db import read_sql
from outreach.app.store import (
    OperationalStore,
    operational_store,
    stage_operational_tables,
)
from outreach.clinical import apply_clinical_suppressions, clinical_rules
from outreach.programmes import Programme, municipality_name

__all__ = [
    "EXCLUSION_RULES",
    "RISK_BANDS",
    "SUPPRESSION_RULES",
    "Selection",
    "fetch_eligible",
    "fill_capacity",
    "holdout_draw",
    "risk_band",
    "select_candidates",
    "stop_for",
]

log = logging.getLogger(__name__)

#: Rules that protect citizens; never configurable.
EXCLUSION_RULES = ("not_in_extract", "opt_out", "dead", "emigrated", "not_resident")
#: Programme suppression rules, in the order they are applied.
SUPPRESSION_RULES = ("declined", "recent_contact", "attended_control")
#: Lower percentile bound of each band (score percentile within the cohort).
RISK_BANDS: tuple[tuple[str, float], ...] = (
    ("very_high", 0.95),
    ("high", 0.80),
    ("moderate", 0.0),
)
_BAND_LABELS = {
    "da": {"very_high": "meget høj", "high": "høj", "moderate": "moderat"},
    "en": {"very_high": "very high", "high": "high", "moderate": "moderate"},
}
_SITES = ("supported_housing", "shelter", "prison")
_CANDIDATES = "outreach_candidates"
_COUNT_SQL = f"select exclusion, count(*) as n from {_CANDIDATES} group by exclusion"
_FETCH_SQL = f"""
select * exclude (area_position)
from (
    select
        *,
        row_number() over (
            partition by area order by risk_rank, tie_key
        ) as area_position
    from {_CANDIDATES}
    where exclusion is null
)
where area_position <= $fetch_limit
order by risk_rank, tie_key
"""


@dataclass(frozen=True)
class Selection:
    """Who the walk listed and held back, and whether it ran out of fetched rows."""

    listed: pd.DataFrame
    held_out: pd.DataFrame
    truncated_areas: tuple[str, ...]


def select_candidates(
    con: duckdb.DuckDBPyConnection,
    programme: Programme,
    *,
    as_of: date,
    week: str,
    week_start: date,
    model_uri: str,
    store: OperationalStore | None = None,
) -> dict[str, Any]:
    """Materialise the exclusions of one programme and week; count each rule.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, with ``outreach`` tables present.
    programme : Programme
        Cohort, municipalities and suppression windows.
    as_of, week_start : date
        The list's as-of date and the Monday of its ISO week.
    week : str
        ISO week, e.g. ``2026-W48`` (part of the tie-break key).
    model_uri : str
        The scores to rank by.
    store : OperationalStore, optional
        Where the opt-out register and contacts live (default: PostgreSQL when
        ``OPSPOR_OPERATIONAL_DB`` is set, else the warehouse); copied into
        DuckDB temp tables for the exclusion SQL.

    Returns
    -------
    dict
        ``cohort``, ``excluded`` (per rule), ``suppressed`` (per rule), ``eligible``.
    """
    stage_operational_tables(con, store or operational_store(con))
    params = {
        "as_of": as_of,
        "week": week,
        "week_start": week_start,
        "model_uri": model_uri,
        "cohort": programme.cohort,
        "municipalities": list(programme.municipalities),
        "relevant_controls": list(programme.relevant_controls),
        "attended_days": programme.attended_control_within_days,
        "declined_days": programme.declined_within_days,
        "contact_days": programme.min_days_since_contact,
    }
    sql = read_sql("outreach", "sql", "exclusions.sql")
    con.execute(f"create or replace temp table {_CANDIDATES} as {sql}", params)
    apply_clinical_suppressions(con, programme, as_of=as_of, table=_CANDIDATES)
    found = dict(con.execute(_COUNT_SQL).fetchall())
    counts = {
        "cohort": int(sum(found.values())),
        "excluded": {rule: int(found.get(rule, 0)) for rule in EXCLUSION_RULES},
        "suppressed": {
            rule: int(found.get(rule, 0))
            for rule in (*SUPPRESSION_RULES, *clinical_rules(programme))
        },
        "eligible": int(found.get(None, 0)),
    }
    log.info(
        "programme %s: %s in cohort, %s eligible",
        programme.name,
        counts["cohort"],
        counts["eligible"],
    )
    return counts


def fetch_eligible(con: duckdb.DuckDBPyConnection, fetch_limit: int) -> pd.DataFrame:
    """Fetch the best ``fetch_limit`` eligible citizens of each area, in walk order."""
    return con.execute(_FETCH_SQL, {"fetch_limit": fetch_limit}).df()


def holdout_draw(programme: str, week: str, citizen_id: str) -> float:
    """Draw a uniform number in [0, 1) fixed by programme, week and citizen."""
    digest = hashlib.sha256(f"{programme}|{week}|{citizen_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def fill_capacity(
    eligible: pd.DataFrame, programme: Programme, *, week: str, fetch_limit: int
) -> Selection:
    """Walk eligible citizens in rank order and fill the week's capacity.

    Parameters
    ----------
    eligible : DataFrame
        From :func:`fetch_eligible`: ``citizen_id``, ``area``, ``risk_rank``,
        ``tie_key`` and more; at most ``fetch_limit`` rows per area.
    programme : Programme
        Capacity per week and per area, hold-out share.
    week : str
        ISO week (seeds the hold-out draw).
    fetch_limit : int
        Rows fetched per area; an area that used all of them without filling up
        is reported in ``truncated_areas`` so the caller can fetch more.

    Returns
    -------
    Selection
        ``listed`` with ``rank`` 1..n, ``held_out`` with ``walk_position``.
    """
    ordered = eligible.sort_values(
        ["risk_rank", "tie_key"], kind="mergesort"
    ).reset_index(drop=True)
    taken: Counter[str] = Counter()
    walked: Counter[str] = Counter()
    listed: list[int] = []
    held: list[int] = []
    for position, (citizen_id, area) in enumerate(
        zip(ordered["citizen_id"], ordered["area"], strict=True)
    ):
        if len(listed) >= programme.capacity_per_week:
            break
        walked[area] += 1
        if taken[area] >= programme.area_capacity(area):
            continue
        if (
            programme.holdout_share > 0
            and holdout_draw(programme.name, week, citizen_id) < programme.holdout_share
        ):
            held.append(position)
            continue
        taken[area] += 1
        listed.append(position)
    return _selection(
        ordered,
        listed,
        held,
        _truncated(ordered, walked, taken, programme, fetch_limit),
    )


def _truncated(
    ordered: pd.DataFrame,
    walked: Counter[str],
    taken: Counter[str],
    programme: Programme,
    fetch_limit: int,
) -> tuple[str, ...]:
    """Areas whose fetched rows all were walked while the area still had room."""
    fetched = Counter(ordered["area"])
    return tuple(
        sorted(
            area
            for area, n in fetched.items()
            if n >= fetch_limit
            and walked[area] >= n
            and taken[area] < programme.area_capacity(area)
        )
    )


def _selection(
    ordered: pd.DataFrame,
    listed: list[int],
    held: list[int],
    truncated: tuple[str, ...],
) -> Selection:
    """Cut the walked frame into the listed and held-out frames."""
    on_list = ordered.iloc[listed].reset_index(drop=True)
    on_list.insert(0, "rank", range(1, len(on_list) + 1))
    held_out = ordered.iloc[held].reset_index(drop=True)
    held_out.insert(0, "walk_position", [p + 1 for p in held])
    return Selection(listed=on_list, held_out=held_out, truncated_areas=truncated)


def risk_band(percentile: float, language: str = "da") -> str:
    """Return the plain-language band of a score percentile within the cohort."""
    for band, low in RISK_BANDS:
        if percentile >= low:
            return _BAND_LABELS[language][band]
    return _BAND_LABELS[language]["moderate"]


def stop_for(living_situation: str | None, area: str, *, by_site: bool) -> str:
    """Name the stop: ``"<kind> · <municipality>"`` at a site, else the municipality.

    The contract has no site id, so all supported housing (shelters, prisons) of one
    municipality share one stop.
    """
    name = municipality_name(area)
    if by_site and living_situation in _SITES:
        return f"{living_situation} · {name}"
    return name
