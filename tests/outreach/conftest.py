"""Fixtures for outreach tests: the pinned upstream tables, built by hand in DuckDB.

The loader, feature SQL, scoring and explain stages are written by others; these
helpers create exactly the pinned tables (raw.citizens, raw.appointments,
raw.hospital_contacts, raw.extract_info, marts.scoring_features,
marts.audit_attributes, scoring.scores, scoring.reasons) with a small region of
citizens, so every outreach invariant can be tested on rows we control.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from types import SimpleNamespace
from typing import Any

import duckdb
import pandas as pd
import pytest

from outreach.programmes import Programme

EXTRACT_DATE = date(2026, 11, 23)
WEEK = "2026-W48"  # Monday 2026-11-23, the extract date
NEXT_WEEK = (
    "2026-W49"  # Monday 2026-11-30, after the extract: as-of is the extract date
)
MODEL_URI = "models:/diabetes_harm_365d/3"
MUNICIPALITIES = ("390", "376", "360")

_DDL = """
create schema if not exists raw;
create schema if not exists marts;
create schema if not exists scoring;
create table raw.citizens (
    citizen_id varchar, birth_date date, sex varchar, municipality_code varchar,
    education_level varchar, origin varchar, living_situation varchar,
    gp_clinic_id varchar,
    preferred_language varchar, death_date date, emigration_date date,
    outreach_opt_out boolean
);
create table raw.appointments (
    appointment_id varchar, citizen_id varchar, scheduled_date date, kind varchar,
    provider_type varchar, status varchar
);
create table raw.hospital_contacts (
    contact_id varchar, citizen_id varchar, start_date date, end_date date,
    contact_type varchar, primary_diagnosis varchar
);
create table raw.extract_info (
    contract varchar, extract_date date, source varchar, extract_hash varchar,
    loaded_at timestamp
);
create table marts.scoring_features (
    citizen_id varchar, as_of_date date, is_alive_resident boolean,
    has_diabetes boolean,
    diabetes_type varchar, diabetes_entry_date date, has_smi boolean, has_copd boolean,
    has_heart_disease boolean, has_cancer boolean, has_chronic_back_pain boolean,
    n_chronic_groups integer, n_no_shows_365d integer
);
create table marts.audit_attributes (
    citizen_id varchar, as_of_date date, sex varchar, age_band varchar,
    education_level varchar,
    origin varchar, living_situation varchar, municipality_code varchar,
    has_smi boolean,
    gp_contact_level varchar
);
create table scoring.scores (
    citizen_id varchar, as_of_date date, model_uri varchar, risk_score double,
    risk_rank integer
);
create table scoring.reasons (
    citizen_id varchar, as_of_date date, reason_rank integer, feature varchar,
    feature_value double, contribution double, reason_text varchar
);
"""

_CITIZEN_DEFAULTS: dict[str, Any] = {
    "birth_date": date(1960, 1, 1),
    "sex": "F",
    "municipality_code": "390",
    "education_level": "basic",
    "origin": "danish",
    "living_situation": "own_home",
    "gp_clinic_id": "G1",
    "preferred_language": "da",
    "death_date": None,
    "emigration_date": None,
    "outreach_opt_out": False,
}
_CITIZEN_COLUMNS = ("citizen_id", *_CITIZEN_DEFAULTS)


def create_upstream_tables(
    con: duckdb.DuckDBPyConnection, extract_date: date = EXTRACT_DATE
) -> None:
    """Create the pinned upstream tables and one extract_info row."""
    con.execute(_DDL)
    con.execute(
        "insert into raw.extract_info values ('journal-extract/1', $d, 'test', "
        "'hash-abc', now())",
        {"d": extract_date},
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Append a frame to a table by column name."""
    con.register("_rows", frame)
    con.execute(f"insert into {table} by name select * from _rows")
    con.unregister("_rows")


def add_citizens(
    con: duckdb.DuckDBPyConnection, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Insert citizens; missing columns take harmless defaults."""
    frame = pd.DataFrame(
        [{**_CITIZEN_DEFAULTS, **row} for row in rows], columns=list(_CITIZEN_COLUMNS)
    )
    for column in ("birth_date", "death_date", "emigration_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    frame["outreach_opt_out"] = frame["outreach_opt_out"].astype(object)
    _insert(con, "raw.citizens", frame)


def add_scored(
    con: duckdb.DuckDBPyConnection,
    ids_scores: Iterable[tuple[str, float]],
    *,
    as_of: date = EXTRACT_DATE,
    model_uri: str = MODEL_URI,
    cohort: str = "has_diabetes",
    alive: bool = True,
    reasons: int = 3,
) -> None:
    """Give citizens a feature row (in cohort), a score, a rank and reasons at as_of."""
    pairs = list(ids_scores)
    ids = [p[0] for p in pairs]
    flags = [
        "has_diabetes",
        "has_smi",
        "has_copd",
        "has_heart_disease",
        "has_cancer",
        "has_chronic_back_pain",
    ]
    features = pd.DataFrame(
        {"citizen_id": ids, "as_of_date": as_of, "is_alive_resident": alive}
    )
    features = features.assign(
        **{f: f == cohort for f in flags},
        diabetes_type="type2",
        n_chronic_groups=1,
        n_no_shows_365d=2,
    )
    _insert(con, "marts.scoring_features", features)
    scores = pd.DataFrame(
        {
            "citizen_id": ids,
            "as_of_date": as_of,
            "model_uri": model_uri,
            "risk_score": [p[1] for p in pairs],
            "risk_rank": 0,
        }
    )
    _insert(con, "scoring.scores", scores)
    texts = pd.DataFrame(
        [
            {
                "citizen_id": i,
                "as_of_date": as_of,
                "reason_rank": r,
                "feature": "n_no_shows_365d",
                "feature_value": 2.0,
                "contribution": 1.0 / r,
                "reason_text": f"reason {r}",
            }
            for i in ids
            for r in range(1, reasons + 1)
        ],
        columns=[
            "citizen_id",
            "as_of_date",
            "reason_rank",
            "feature",
            "feature_value",
            "contribution",
            "reason_text",
        ],
    )
    _insert(con, "scoring.reasons", texts)
    _rerank(con, as_of, model_uri)


def _rerank(con: duckdb.DuckDBPyConnection, as_of: date, model_uri: str) -> None:
    """risk_rank = rank of risk_score (descending) within one model and date."""
    con.execute(
        "update scoring.scores as s set risk_rank = r.rk from ("
        " select citizen_id, rank() over (order by risk_score desc) as rk from "
        "scoring.scores"
        " where as_of_date = $d and model_uri = $uri) as r"
        " where s.citizen_id = r.citizen_id and s.as_of_date = $d and s.model_uri = "
        "$uri",
        {"d": as_of, "uri": model_uri},
    )


def add_audit_attributes(
    con: duckdb.DuckDBPyConnection, as_of: date = EXTRACT_DATE
) -> None:
    """Copy audit attributes from raw.citizens for every citizen at as_of."""
    con.execute(
        "insert into marts.audit_attributes select citizen_id, $d, sex, '60-69', "
        "education_level,"
        " origin, living_situation, municipality_code, false, 'regular' from "
        "raw.citizens",
        {"d": as_of},
    )


def citizen_id(i: int) -> str:
    """Pseudonymous test id number i."""
    return f"P{i:05d}"


def build_region(
    con: duckdb.DuckDBPyConnection,
    n_per_area: int = 30,
    overrides: Mapping[int, Mapping[str, Any]] | None = None,
    *,
    as_of: date = EXTRACT_DATE,
) -> list[str]:
    """n_per_area diabetic citizens in each of 390/376/360, scored so P00000 ranks "
    "first."""
    create_upstream_tables(con)
    overrides = overrides or {}
    n = n_per_area * len(MUNICIPALITIES)
    rows = [
        {
            "citizen_id": citizen_id(i),
            "municipality_code": MUNICIPALITIES[i % 3],
            **overrides.get(i, {}),
        }
        for i in range(n)
    ]
    add_citizens(con, rows)
    add_scored(con, [(citizen_id(i), 1.0 - i / (n + 1)) for i in range(n)], as_of=as_of)
    add_audit_attributes(con, as_of)
    return [r["citizen_id"] for r in rows]


def programme(**changes: Any) -> Programme:
    """A diabetes-bus-like programme, small enough to reason about."""
    base = Programme(
        name="test_bus",
        cohort="has_diabetes",
        model_name="diabetes_harm_365d",
        capacity_per_week=12,
        capacity_per_area={"390": 4, "376": 4, "360": 4},
        municipalities=MUNICIPALITIES,
        relevant_controls=("diabetes_annual_control", "diabetes_control"),
        min_days_since_contact=28,
        attended_control_within_days=90,
        declined_within_days=180,
        reasons_language="en",
        title="Test bus",
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def region(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """90 scored diabetic citizens in three municipalities, nothing excluded."""
    build_region(con)
    return con


@pytest.fixture
def make_programme() -> Any:
    """Factory: ``make_programme(capacity_per_week=6, ...)`` -> Programme."""
    return programme


@pytest.fixture
def upstream() -> SimpleNamespace:
    """The table builders and constants above, for tests (conftest is not "
    "importable by name)."""
    return SimpleNamespace(
        EXTRACT_DATE=EXTRACT_DATE,
        WEEK=WEEK,
        NEXT_WEEK=NEXT_WEEK,
        MODEL_URI=MODEL_URI,
        create_upstream_tables=create_upstream_tables,
        add_citizens=add_citizens,
        add_scored=add_scored,
        add_audit_attributes=add_audit_attributes,
        build_region=build_region,
        citizen_id=citizen_id,
    )
