"""Hand-made ``raw.*`` tables with the pinned DuckDB types, for the feature SQL tests.

The loader is not used: each test writes exactly the raw rows it needs, with the
types pinned in the common brief, and the contract's other required columns are
filled with neutral defaults.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import duckdb

from features.coverage import COVERAGE_TABLES, measure_coverage
from features.db import read_sql

EXTRACT_DATE = date(2026, 11, 23)

RAW_COLUMNS: dict[str, dict[str, str]] = {
    "citizens": {
        "citizen_id": "varchar",
        "birth_date": "date",
        "sex": "varchar",
        "municipality_code": "varchar",
        "education_level": "varchar",
        "origin": "varchar",
        "living_situation": "varchar",
        "gp_clinic_id": "varchar",
        "preferred_language": "varchar",
        "death_date": "date",
        "emigration_date": "date",
        "outreach_opt_out": "boolean",
    },
    "diagnoses": {
        "citizen_id": "varchar",
        "diagnosis_date": "date",
        "code_system": "varchar",
        "code": "varchar",
        "source": "varchar",
        "diagnosis_type": "varchar",
    },
    "prescriptions": {
        "prescription_id": "varchar",
        "citizen_id": "varchar",
        "atc_code": "varchar",
        "issued_date": "date",
        "days_supply": "integer",
        "redeemed_date": "date",
        "prescriber_type": "varchar",
    },
    "appointments": {
        "appointment_id": "varchar",
        "citizen_id": "varchar",
        "scheduled_date": "date",
        "kind": "varchar",
        "provider_type": "varchar",
        "status": "varchar",
    },
    "lab_results": {
        "citizen_id": "varchar",
        "sample_date": "date",
        "npu_code": "varchar",
        "value": "double",
        "unit": "varchar",
    },
    "hospital_contacts": {
        "contact_id": "varchar",
        "citizen_id": "varchar",
        "start_date": "date",
        "end_date": "date",
        "contact_type": "varchar",
        "primary_diagnosis": "varchar",
    },
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "citizens": {
        "birth_date": date(1960, 6, 15),
        "sex": "M",
        "municipality_code": "390",
        "education_level": "basic",
        "origin": "danish",
        "living_situation": "own_home",
        "gp_clinic_id": "gp1",
        "preferred_language": "da",
        "outreach_opt_out": False,
    },
    "diagnoses": {"code_system": "SKS", "source": "hospital", "diagnosis_type": "A"},
    "prescriptions": {"days_supply": 90, "prescriber_type": "gp"},
    "appointments": {"provider_type": "gp"},
    "lab_results": {"npu_code": "NPU27300", "unit": "mmol/mol"},
    "hospital_contacts": {},
}
ID_COLUMNS = {
    "prescriptions": "prescription_id",
    "appointments": "appointment_id",
    "hospital_contacts": "contact_id",
}

RawRows = Mapping[str, Sequence[Mapping[str, Any]]]


def create_raw(con: duckdb.DuckDBPyConnection, rows: RawRows) -> None:
    """Create every ``raw.*`` table with the pinned types and insert ``rows``.

    ``raw.coverage`` is measured as the loader measures it; ``rows["coverage"]``
    may declare starts (``{"table_name": ..., "coverage_from": date}``) as an
    extract.json would.
    """
    con.execute("create schema if not exists raw")
    counter = itertools.count(1)
    for table, columns in RAW_COLUMNS.items():
        ddl = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        con.execute(f"create or replace table raw.{table} ({ddl})")
        records = []
        for row in rows.get(table, []):
            full = {**DEFAULTS[table], **row}
            if table in ID_COLUMNS and ID_COLUMNS[table] not in full:
                full[ID_COLUMNS[table]] = f"{table[:2]}{next(counter)}"
            records.append([full.get(name) for name in columns])
        if records:
            marks = ", ".join("?" for _ in columns)
            con.executemany(f"insert into raw.{table} values ({marks})", records)
    con.execute(
        "create or replace table raw.extract_info as select"
        " 'journal-extract/1' as contract,"
        " date '2026-11-23' as extract_date, 'tests' as source, 'x' as extract_hash,"
        " current_timestamp::timestamp as loaded_at"
    )
    write_coverage(con, rows)


def write_coverage(con: duckdb.DuckDBPyConnection, rows: RawRows) -> None:
    """Measure (or take the declared) coverage of ``raw.*`` into ``raw.coverage``."""
    declared = {r["table_name"]: r["coverage_from"] for r in rows.get("coverage", [])}
    coverage = measure_coverage(
        con,
        {t: f"raw.{t}" for t in COVERAGE_TABLES},
        declared=declared,
        extract_date=EXTRACT_DATE,
    )
    doc = json.dumps({t: c.as_dict() for t, c in coverage.items()})
    sql = read_sql("features", "sql", "load", "coverage.sql")
    con.execute(f"create or replace table raw.coverage as {sql}", {"coverage": doc})
