"""A scored region with a frozen diabetes_bus list, for the web bench and browser tests.

Reuses :func:`bench.bench_lists.build_region` (the tables the list stage reads,
built with DuckDB's ``range()``), then adds what the web pages show: reasons
in Danish (the programme's language), audit attributes and care indicators (so
``opspor audit`` can run), and the frozen list of 2026-W48 built by
:func:`outreach.lists.build_weekly_list` into the operational store given.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb

from bench.bench_lists import MODEL, WEEK, build_region

__all__ = ["MODEL", "NEXT_WEEK", "WEEK", "build_web_world"]

NEXT_WEEK = "2026-W49"
EXTRA = [
    """
    create or replace table scoring.reasons as
    select
        'c' || lpad(i::varchar, 8, '0') as citizen_id,
        date '2026-11-23' as as_of_date,
        r as reason_rank,
        (['n_no_shows_365d', 'hba1c_last_mmol_mol', 'days_since_redemption'])[r]
            as feature,
        2.0 as feature_value,
        1.0 / r as contribution,
        case r
            when 1 then case
                when i % 4 = 0 then '1 udebleven kontrol det seneste år'
                else (1 + i % 4)::varchar || ' udeblevne kontroller det seneste år'
            end
            when 2 then 'Seneste HbA1c ' || (58 + i % 30)::varchar || ' mmol/mol'
            else 'Ingen indløst recept på diabetesmedicin i '
                || (90 + i % 120)::varchar || ' dage'
        end as reason_text
    from range(1, $n + 1) as t(i), range(1, 4) as s(r)
    """,
    """
    create or replace table marts.audit_attributes as
    select
        c.citizen_id,
        date '2026-11-23' as as_of_date,
        c.sex,
        (['18-39', '40-59', '60-69', '70-79', '80+'])
            [(1 + hash(c.citizen_id) % 5)::integer] as age_band,
        c.education_level,
        c.origin,
        c.living_situation,
        c.municipality_code,
        f.has_smi,
        (['none', 'low', 'regular'])
            [(1 + hash(c.citizen_id) % 3)::integer] as gp_contact_level
    from raw.citizens as c
    inner join marts.scoring_features as f on f.citizen_id = c.citizen_id
    """,
    """
    alter table marts.scoring_features add column if not exists
        days_since_eye_screening integer
    """,
    "alter table marts.scoring_features add column if not exists "
    "days_since_diabetes_control integer",
    "alter table marts.scoring_features add column if not exists "
    "days_since_hba1c integer",
    "alter table marts.scoring_features add column if not exists "
    "n_unredeemed_365d integer",
    """
    update marts.scoring_features
    set days_since_eye_screening = (hash(citizen_id) % 700)::integer,
        days_since_diabetes_control = (hash(citizen_id || 'c') % 500)::integer,
        days_since_hba1c = (hash(citizen_id || 'h') % 600)::integer,
        n_unredeemed_365d = (hash(citizen_id || 'u') % 3)::integer
    """,
]


def build_web_world(db: Path, n: int, *, store: Any = None) -> dict[str, Any]:
    """Build the region, its Danish reasons and the frozen W48 diabetes_bus list.

    Parameters
    ----------
    db : Path
        The DuckDB file to (re)create.
    n : int
        Citizens in the region (17 municipalities; a fifth have diabetes).
    store : OperationalStore, optional
        Where the list goes (default: the warehouse itself).

    Returns
    -------
    dict
        ``seconds`` to build, ``list_id``, ``listed``.
    """
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    start = time.perf_counter()
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    build_region(db, n)
    con = duckdb.connect(str(db))
    try:
        for sql in EXTRA:
            con.execute(sql, {"n": n} if "$n" in sql else None)
        extra = {} if store is None else {"store": store}
        result = build_weekly_list(
            con,
            load_programme("diabetes_bus"),
            week=WEEK,
            model_uri=MODEL,
            actor="planner",
            **extra,
        )
    finally:
        con.close()
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "list_id": result.list_id,
        "listed": result.counts["listed"],
    }
