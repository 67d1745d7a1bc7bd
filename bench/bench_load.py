"""Benchmark ``load_extract`` on a synthetic-like extract built with DuckDB's range().

Usage::

    python -m bench.bench_load --citizens 1000000 --fmt csv --out /tmp/opspor-bench

Writes an extract of about 30 rows per citizen (diagnoses 8, prescriptions 8,
appointments 8, lab results 5, hospital contacts 1), then loads it in a child
process and reports wall seconds, rows per second and the child's peak RSS.
A few rows per table carry a fault at a known file row, so the run also checks
that quarantine row numbers follow file order at scale.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

EXTRACT_DATE = "2026-11-23"
FAULT_EVERY = 1_000_003  # rows (1-based) i with i % FAULT_EVERY == 0 are faulty

CITIZENS = """
select
    'c' || lpad(i::varchar, 8, '0') as citizen_id,
    date '1930-01-01' + (i * 7919 % 25000)::int as birth_date,
    case when i % 2 = 0 then 'F' else 'M' end as sex,
    (['390', '376', '360', '101'])[1 + i % 4] as municipality_code,
    (['basic', 'upper_secondary', 'vocational', 'short_tertiary', 'unknown'])[1 + i % 5]
        as education_level,
    (['danish', 'immigrant_western', 'unknown'])[1 + i % 3] as origin,
    'own_home' as living_situation,
    'gp' || (i % 300)::varchar as gp_clinic_id,
    'da' as preferred_language,
    null::date as death_date,
    null::date as emigration_date,
    i % 50 = 0 as outreach_opt_out
from range(1, $n + 1) as t(i)
"""
DIAGNOSES = """
select
    'c' || lpad((1 + i % $n)::varchar, 8, '0') as citizen_id,
    date '2026-11-23' - (i * 31 % 3650)::int as diagnosis_date,
    case when i % 3 = 0 then 'ICPC2' else 'SKS' end as code_system,
    case when i % 3 = 0 then 'T90' when i % 7 = 0 then 'de11.9' else 'DE119' end
        as code,
    case when i % 3 = 0 then 'gp' else 'hospital' end as source,
    case when i % 3 = 0 then null else 'A' end as diagnosis_type
from range(1, $rows + 1) as t(i)
"""
PRESCRIPTIONS = """
select
    'p' || i::varchar as prescription_id,
    'c' || lpad((1 + i % $n)::varchar, 8, '0') as citizen_id,
    'A10BA02' as atc_code,
    date '2026-11-23' - (i * 17 % 3650)::int - 10 as issued_date,
    case when i % $every = 0 then 0 else 90 end as days_supply,
    date '2026-11-23' - (i * 17 % 3650)::int - 5 as redeemed_date,
    'gp' as prescriber_type
from range(1, $rows + 1) as t(i)
"""
APPOINTMENTS = """
select
    'a' || i::varchar as appointment_id,
    'c' || lpad((1 + i % $n)::varchar, 8, '0') as citizen_id,
    date '2026-11-23' - (i * 13 % 3650)::int as scheduled_date,
    'diabetes_control' as kind,
    'gp' as provider_type,
    (['attended', 'no_show', 'cancelled_by_citizen'])[1 + i % 3] as status
from range(1, $rows + 1) as t(i)
"""
LAB_RESULTS = """
select
    'c' || lpad((1 + i % $n)::varchar, 8, '0') as citizen_id,
    date '2026-11-23' - (i * 11 % 3650)::int as sample_date,
    'NPU27300' as npu_code,
    case when i % $every = 0 then 'n/a' else (30 + i % 60)::varchar end as value,
    'mmol/mol' as unit
from range(1, $rows + 1) as t(i)
"""
HOSPITAL_CONTACTS = """
select
    'h' || i::varchar as contact_id,
    'c' || lpad((1 + i % $n)::varchar, 8, '0') as citizen_id,
    date '2026-11-23' - (i * 23 % 3650)::int - 3 as start_date,
    date '2026-11-23' - (i * 23 % 3650)::int as end_date,
    'outpatient' as contact_type,
    'DJ449' as primary_diagnosis
from range(1, $rows + 1) as t(i)
"""
TABLES = {
    "citizens": (CITIZENS, 1),
    "diagnoses": (DIAGNOSES, 8),
    "prescriptions": (PRESCRIPTIONS, 8),
    "appointments": (APPOINTMENTS, 8),
    "lab_results": (LAB_RESULTS, 5),
    "hospital_contacts": (HOSPITAL_CONTACTS, 1),
}


def write_extract(folder: Path, n_citizens: int, fmt: str) -> int:
    """Write the extract with DuckDB COPY; return the total number of rows."""
    folder.mkdir(parents=True, exist_ok=True)
    info = {
        "contract": "journal-extract/1",
        "extract_date": EXTRACT_DATE,
        "source": "bench",
    }
    (folder / "extract.json").write_text(json.dumps(info), encoding="utf-8")
    options = "(format csv, header true)" if fmt == "csv" else "(format parquet)"
    total = 0
    with duckdb.connect() as con:
        for table, (sql, per_citizen) in TABLES.items():
            rows = n_citizens * per_citizen
            values = {"n": n_citizens, "rows": rows, "every": FAULT_EVERY}
            params = {k: v for k, v in values.items() if f"${k}" in sql}
            path = str(folder / f"{table}.{fmt}")
            con.execute(f"copy ({sql}) to '{path}' {options}", params)
            total += rows
    return total


LOAD_CHILD = """
import json, sys, time
from pathlib import Path
import duckdb
if sys.argv[3]:  # cap DuckDB's memory to show the load spills instead of failing
    _connect = duckdb.connect
    def _limited(database=":memory:", read_only=False, config=None):
        config = {**(config or {}), "memory_limit": sys.argv[3]}
        return _connect(database, read_only=read_only, config=config)
    duckdb.connect = _limited
from features.load import load_extract
from features.settings import EngineSettings
settings = EngineSettings(output_dir=Path(sys.argv[2]))
start = time.perf_counter()
report = load_extract(Path(sys.argv[1]), settings=settings)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "report": report.as_dict()}))
"""


def load_in_child(extract: Path, out: Path, memory_limit: str) -> dict[str, object]:
    """Load in a fresh interpreter; return its timing, report and peak RSS (MiB)."""
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_CHILD, str(extract), str(out), memory_limit],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    result["peak_rss_mib"] = (
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )
    return result


def check_fault_rows(warehouse: Path, n_citizens: int) -> bool:
    """Quarantined fault rows must carry their 1-based file row numbers."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute(
            "select table_name, list(row_number order by row_number)"
            " from raw.quarantine group by table_name order by table_name"
        ).fetchall()
    expected = []
    for table in ("lab_results", "prescriptions"):
        rows = n_citizens * TABLES[table][1]
        faults = list(range(FAULT_EVERY, rows + 1, FAULT_EVERY))
        if faults:
            expected.append((table, faults))
    return [(t, list(r)) for t, r in got] == expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--fmt", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--out", type=Path, default=Path("/tmp/opspor-bench-load"))
    parser.add_argument(
        "--keep", action="store_true", help="Keep the files afterwards."
    )
    parser.add_argument(
        "--memory-limit",
        default="",
        help="DuckDB memory_limit, e.g. 1GB (default: DuckDB's).",
    )
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    extract, build = args.out / "extract", args.out / "build"
    start = time.perf_counter()
    total = write_extract(extract, args.citizens, args.fmt)
    write_seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in extract.iterdir()) / 2**20
    result = load_in_child(extract, build, args.memory_limit)
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    summary = {
        "citizens": args.citizens,
        "rows": total,
        "format": args.fmt,
        "memory_limit": args.memory_limit or "duckdb default (80% of RAM)",
        "extract_mib": round(size),
        "write_seconds": round(write_seconds, 1),
        "load_seconds": round(seconds, 1),
        "rows_per_second": round(total / seconds),
        "peak_rss_mib": round(float(result["peak_rss_mib"])),  # type: ignore[arg-type]
        "warehouse_mib": round((build / "opspor.duckdb").stat().st_size / 2**20),
        "fault_rows_ok": check_fault_rows(build / "opspor.duckdb", args.citizens),
        "normalised": result["report"]["normalised"],  # type: ignore[index]
    }
    print(json.dumps(summary, indent=2))
    if not args.keep:
        shutil.rmtree(args.out)


if __name__ == "__main__":
    main()
