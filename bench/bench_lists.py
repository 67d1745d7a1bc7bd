"""Benchmark ``opspor list`` on a scored region built with DuckDB's range().

Usage::

    python -m bench.bench_lists --citizens 1000000 --out /tmp/opspor-bench-lists

Builds the tables the list stage reads (raw.citizens, raw.appointments,
raw.extract_info, marts.scoring_features, scoring.scores for two models,
scoring.reasons, some outreach contacts and opt-outs) for N citizens in 17
municipalities, then times in the same session:

- baseline: a plain ``select ... order by risk_rank limit <capacity>`` over
  scoring.scores for the model and as-of date (the least any ranking can cost),
  and a join baseline that also filters the cohort, municipalities, opt-out,
  death and emigration (the least any correct selection can cost);
- ``build_weekly_list`` of diabetes_bus, regenerated (full selection, checks,
  storage, CSV/Excel/HTML export), best of ``--repeat`` runs;
- the same for a region-wide programme with a 0.2 hold-out (no municipality filter);
- the frozen re-run (returns the stored list and re-exports it);
- the CLI end to end in a child process (Python start-up and imports included).

Reports seconds and ratios to the baseline in bench/results/lists.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from outreach.lists import build_weekly_list
from outreach.programmes import load_programme

EXTRACT_DATE = "2026-11-23"
WEEK = "2026-W48"  # Monday 2026-11-23 = the extract date
MODEL = "models:/diabetes_harm_365d/4"
CODES = [
    "390", "376", "360", "370", "306", "316", "320", "326", "329",
    "330", "336", "340", "350", "253", "259", "265", "269",
]  # fmt: skip

SETUP = [
    "create schema if not exists raw",
    "create schema if not exists marts",
    "create schema if not exists scoring",
    f"""
    create or replace table raw.citizens as
    select
        'c' || lpad(i::varchar, 8, '0') as citizen_id,
        date '1930-01-01' + (i * 7919 % 25000)::int as birth_date,
        case when i % 2 = 0 then 'F' else 'M' end as sex,
        ({CODES})[1 + i % {len(CODES)}] as municipality_code,
        (['basic', 'upper_secondary', 'vocational', 'short_tertiary',
          'medium_tertiary', 'long_tertiary', 'unknown'])[1 + i % 7] as education_level,
        (['danish', 'immigrant_western', 'immigrant_non_western', 'unknown'])[1 + i % 4]
            as origin,
        case when i % 97 = 0 then 'supported_housing' when i % 211 = 0 then 'shelter'
             when i % 499 = 0 then 'prison' when i % 53 = 0 then 'nursing_home'
             else 'own_home' end as living_situation,
        'gp' || (i % 300)::varchar as gp_clinic_id,
        (['da', 'da', 'da', 'da', 'ar', 'tr', 'pl'])[1 + i % 7] as preferred_language,
        case when i % 101 = 0 then date '2026-10-01' end as death_date,
        case when i % 203 = 0 then date '2025-06-01' end as emigration_date,
        i % 37 = 0 as outreach_opt_out
    from range(1, $n + 1) as t(i)
    """,
    """
    create or replace table raw.appointments as
    select
        'a' || i::varchar as appointment_id,
        'c' || lpad((1 + i % $n)::varchar, 8, '0') as citizen_id,
        date '2026-11-23' - (i * 37 % 730)::int as scheduled_date,
        (['diabetes_annual_control', 'diabetes_control', 'eye_screening',
          'gp_consultation', 'heart_outpatient', 'psychiatric_outpatient'])[1 + i % 6]
            as kind,
        'gp' as provider_type,
        (['attended', 'attended', 'no_show', 'cancelled_by_citizen'])[1 + i % 4]
            as status
    from range(1, 2 * $n + 1) as t(i)
    """,
    """
    create or replace table raw.extract_info as
    select 'journal-extract/1' as contract, date '2026-11-23' as extract_date,
           'bench' as source, 'bench-hash' as extract_hash,
           now()::timestamp as loaded_at
    """,
    """
    create or replace table marts.scoring_features as
    select
        'c' || lpad(i::varchar, 8, '0') as citizen_id,
        date '2026-11-23' as as_of_date,
        i % 101 <> 0 and i % 203 <> 0 as is_alive_resident,
        i % 10 = 0 or i % 10 = 3 as has_diabetes,
        'type2' as diabetes_type,
        null::date as diabetes_entry_date,
        i % 25 = 0 as has_smi,
        false as has_copd, false as has_heart_disease, false as has_cancer,
        false as has_chronic_back_pain,
        1 as n_chronic_groups
    from range(1, $n + 1) as t(i)
    """,
    """
    create or replace table scoring.scores as
    with raw_scores as (
        select 'c' || lpad(i::varchar, 8, '0') as citizen_id, m.model_uri,
               ((i * 2654435761) % 1000003) / 1000003.0 as risk_score
        from range(1, $n + 1) as t(i)
        cross join (
            values ('models:/diabetes_harm_365d/4'), ('models:/smi_somatic_365d/2')
        ) as m(model_uri)
    )
    select citizen_id, date '2026-11-23' as as_of_date, model_uri, risk_score,
           rank() over (partition by model_uri order by risk_score desc)::integer
               as risk_rank
    from raw_scores
    """,
    """
    create or replace table scoring.reasons as
    select 'c' || lpad(i::varchar, 8, '0') as citizen_id,
           date '2026-11-23' as as_of_date,
           r as reason_rank, 'n_no_shows_365d' as feature, 2.0 as feature_value,
           1.0 / r as contribution,
           r::varchar || ' missed appointments in the last year' as reason_text
    from range(1, $n + 1) as t(i), range(1, 4) as s(r)
    """,
]
HISTORY = [
    "create schema if not exists outreach",
    """
    insert into outreach.contacts (list_id, programme, week, citizen_id, outcome,
        outcome_date, recorded_by, opt_out, note, recorded_at, source)
    select 'old', 'diabetes_bus', '2026-W40', 'c' || lpad((i * 7)::varchar, 8, '0'),
           (['reached', 'screened', 'declined', 'unreachable'])[1 + i % 4],
           date '2026-11-20' - (i % 200)::int, 'bench', false, null, now()::timestamp,
           'bench'
    from range(1, 20001) as t(i)
    """,
    """
    insert into outreach.opt_outs
        (citizen_id, opted_out_date, list_id, recorded_by, recorded_at)
    select 'c' || lpad((i * 13)::varchar, 8, '0'), date '2026-10-01', 'old', 'bench',
           now()::timestamp
    from range(1, 2001) as t(i)
    """,
]
BASELINE = """
select citizen_id, risk_score, risk_rank
from scoring.scores
where model_uri = $model and as_of_date = date '2026-11-23'
order by risk_rank
limit $k
"""

BASELINE_JOIN = """
select s.citizen_id, s.risk_score, s.risk_rank
from scoring.scores as s
inner join marts.scoring_features as f
    on f.citizen_id = s.citizen_id and f.as_of_date = s.as_of_date and f.has_diabetes
inner join raw.citizens as c on c.citizen_id = s.citizen_id
where s.model_uri = $model and s.as_of_date = date '2026-11-23'
    and c.municipality_code in ('390', '376', '360') and not c.outreach_opt_out
    and c.death_date is null and c.emigration_date is null
order by s.risk_rank
limit $k
"""


def build_region(db: Path, n: int) -> float:
    """Create every table the list stage reads; return seconds taken."""
    from outreach.app.store import ensure_outreach_tables

    start = time.perf_counter()
    con = duckdb.connect(str(db))
    for sql in SETUP:
        con.execute(sql, {"n": n} if "$n" in sql else None)
    ensure_outreach_tables(con)
    for sql in HISTORY:
        con.execute(sql)
    con.close()
    return time.perf_counter() - start


def best_of(repeat: int, call: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def time_cli(db: Path, out: Path) -> float:
    """Wall seconds of ``opspor list --regenerate`` in a child process."""
    exe = Path(sys.executable).with_name("opspor")
    args = [str(exe), "--output-dir", str(out), "list", "--programme", "diabetes_bus",
            "--week", WEEK, "--db", str(db), "--regenerate", "--reason", "bench",
            "--json"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(
        args, check=True, capture_output=True, env={**os.environ, "USER": "bench"}
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/opspor-bench-lists"))
    parser.add_argument(
        "--results", type=Path, default=Path("bench/results/lists.json")
    )
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    db = args.out / "bench.duckdb"
    build_s = build_region(db, args.citizens)

    bus = load_programme("diabetes_bus")
    region = dataclasses.replace(
        bus,
        name="region_wide",
        municipalities=(),
        capacity_per_area={},
        holdout_share=0.2,
    )
    con = duckdb.connect(str(db))
    k = bus.capacity_per_week
    params = {"model": MODEL, "k": k}
    baseline_s, _ = best_of(
        args.repeat, lambda: con.execute(BASELINE, params).fetchall()
    )
    join_s, _ = best_of(
        args.repeat, lambda: con.execute(BASELINE_JOIN, params).fetchall()
    )

    def regenerate(programme: Any) -> Callable[[], Any]:
        return lambda: build_weekly_list(
            con, programme, week=WEEK, model_uri=MODEL, actor="bench", regenerate=True,
            reason="bench", output_dir=args.out,
        )  # fmt: skip

    build_weekly_list(
        con, bus, week=WEEK, model_uri=MODEL, actor="bench", output_dir=args.out
    )
    bus_s, bus_result = best_of(args.repeat, regenerate(bus))
    region_s, region_result = best_of(args.repeat, regenerate(region))
    frozen_s, _ = best_of(
        args.repeat,
        lambda: build_weekly_list(
            con, bus, week=WEEK, actor="bench", output_dir=args.out
        ),
    )
    con.close()
    cli_s = time_cli(db, args.out)

    results = {
        "citizens": args.citizens,
        "build_region_s": round(build_s, 2),
        "baseline_select_order_limit_s": round(baseline_s, 4),
        "baseline_join_filter_order_limit_s": round(join_s, 4),
        "diabetes_bus": {
            "seconds": round(bus_s, 3),
            "ratio_to_baseline": round(bus_s / baseline_s, 1),
            "ratio_to_join_baseline": round(bus_s / join_s, 1),
            "counts": {
                k2: bus_result.counts[k2] for k2 in ("cohort", "eligible", "listed")
            },
        },
        "region_wide_holdout_0_2": {
            "seconds": round(region_s, 3),
            "ratio_to_baseline": round(region_s / baseline_s, 1),
            "ratio_to_join_baseline": round(region_s / join_s, 1),
            "counts": {
                k2: region_result.counts[k2]
                for k2 in ("cohort", "eligible", "listed", "held_out")
            },
        },
        "frozen_rerun_s": round(frozen_s, 3),
        "cli_end_to_end_s": round(cli_s, 2),
        "target_s": 5.0,
        "within_target": cli_s < 5.0 and bus_s < 5.0,
        "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
