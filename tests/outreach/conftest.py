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


# --- web ---------------------------------------------------------------------
# A warehouse file with a frozen diabetes_bus list for 2026-W48 (90 citizens in
# 390/376/360, 40 listed), and users: a coordinator scoped to 390 and 376, a
# coordinator of another programme, a reviewer and a data scientist.

import re  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

WEB_PASSWORD = "correct-horse-battery"
WEB_NOW = datetime(2026, 11, 27, 9, 0, 0)
WEB_USERS: dict[str, dict[str, Any]] = {
    "anna": {
        "role": "coordinator",
        "programmes": ["diabetes_bus"],
        "municipalities": ["390", "376"],
    },
    "carl": {
        "role": "coordinator",
        "programmes": ["smi_somatic_screening"],
        "municipalities": ["360"],
    },
    "rita": {"role": "reviewer"},
    "dan": {"role": "data_scientist"},
    "ada": {"role": "admin"},
}  # fmt: skip
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_users_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users.json with the five test users, hashed once per session."""
    from argon2 import PasswordHasher

    from outreach.app.users import JsonUserStore, new_user

    # Production hashes take ~0.3 s to verify here; tests sign in hundreds of times,
    # so the test users carry cheap argon2 parameters (verification reads them).
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    path = tmp_path_factory.mktemp("web-users") / "users.json"
    store = JsonUserStore(path)
    for name, spec in WEB_USERS.items():
        user = new_user(name, password=WEB_PASSWORD, **spec)
        cheap_user = dataclasses.replace(user, password_hash=cheap.hash(WEB_PASSWORD))
        store.insert_user(cheap_user)
    return path


@pytest.fixture(scope="session")
def web_warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file with a frozen diabetes_bus W48 list, built once per session."""
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    db = tmp_path_factory.mktemp("web-warehouse") / "opspor.duckdb"
    connection = duckdb.connect(str(db))
    try:
        build_region(connection)
        build_weekly_list(
            connection,
            load_programme("diabetes_bus"),
            week=WEEK,
            model_uri=MODEL_URI,
            actor="planner",
        )
    finally:
        connection.close()
    return db


@pytest.fixture
def web_settings(
    tmp_path: Path, web_users_template: Path, web_warehouse_template: Path
) -> Any:
    """Engine settings over a fresh copy of the warehouse and the users file."""
    from features.settings import EngineSettings

    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(web_users_template, out / "users.json")
    shutil.copy(web_warehouse_template, out / "opspor.duckdb")
    return EngineSettings(output_dir=out, db_path=out / "opspor.duckdb")


@pytest.fixture
def web_clock() -> dict[str, datetime]:
    """A settable clock: ``web_clock["now"] = ...``."""
    return {"now": WEB_NOW}


@pytest.fixture
def web_app(web_settings: Any, web_clock: dict[str, datetime]) -> Iterator[Any]:
    """The web app over ``web_settings`` with a fixed clock."""
    from outreach.app.web import create_app

    app = create_app(web_settings, secret_key="s" * 40, clock=lambda: web_clock["now"])
    yield app
    app.state.opspor.warehouse.close()


@pytest.fixture
def client_for(web_app: Any) -> Callable[..., Any]:
    """Factory: ``client_for("anna")`` -> a TestClient signed in as anna.

    ``client_for()`` gives a signed-out client.
    """
    from fastapi.testclient import TestClient

    def make(name: str | None = None) -> Any:
        client = TestClient(web_app, follow_redirects=False)
        if name is not None:
            response = sign_in(client, name)
            assert response.status_code == 303, response.text
        return client

    return make


def csrf_of(client: Any, path: str = "/signin") -> str:
    """The CSRF token of the form on a page."""
    match = _CSRF.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def sign_in(client: Any, name: str, password: str = WEB_PASSWORD) -> Any:
    """Post the sign-in form; return the response."""
    token = csrf_of(client)
    return client.post(
        "/signin", data={"username": name, "password": password, "csrf_token": token}
    )


@pytest.fixture
def web() -> SimpleNamespace:
    """Web test helpers and constants."""
    return SimpleNamespace(
        PASSWORD=WEB_PASSWORD,
        NOW=WEB_NOW,
        USERS=WEB_USERS,
        csrf_of=csrf_of,
        sign_in=sign_in,
        MUNICIPALITIES=MUNICIPALITIES,
        WEEK=WEEK,
        NEXT_WEEK=NEXT_WEEK,
        MODEL_URI=MODEL_URI,
    )


# --- operational store (DuckDB or PostgreSQL) ---------------------------------
# PostgreSQL tests use $OPSPOR_TEST_POSTGRES (exported by .ci/run, which starts a
# server on loopback), else the URL .ci/run uses; they skip when none answers.

import os  # noqa: E402
import uuid  # noqa: E402

POSTGRES_ENV = "OPSPOR_TEST_POSTGRES"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:54329/postgres"


def _database_url(server: str, name: str) -> str:
    """The server URL with another database name."""
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, dropped after the session."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    server = os.environ.get(POSTGRES_ENV) or POSTGRES_DEFAULT
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL at {server} (run .ci/run to start one): {error}")
    name = f"opspor_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f"create database {name}")
    try:
        yield _database_url(server, name)
    finally:
        from outreach.app.store import close_postgres_stores

        close_postgres_stores()
        admin.execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture
def postgres_store(postgres_url: str) -> Any:
    """The PostgreSQL operational store, emptied before each test."""
    from outreach.app.store import postgres_store as open_store

    store = open_store(postgres_url)
    with store.backend.pool.connection() as conn:
        conn.execute(
            "truncate outreach.list_runs, outreach.lists, outreach.holdouts,"
            " outreach.contacts, outreach.opt_outs, outreach.audit_log, outreach.users,"
            " outreach.contact_changes, outreach.opt_out_withdrawals"
        )
    return store


@pytest.fixture(params=["duckdb", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each operational-store test runs on both backends."""
    return str(request.param)


@pytest.fixture
def ops(
    store_kind: str, region: duckdb.DuckDBPyConnection, request: pytest.FixtureRequest
) -> Any:
    """The operational store of ``store_kind`` next to the ``region`` warehouse."""
    from outreach.app.store import duckdb_store

    if store_kind == "duckdb":
        return duckdb_store(region)
    return request.getfixturevalue("postgres_store")
