"""Fixtures for models tests: hand-made raw.* tables, a hand-made mart, a toy region.

The toy region stands in for the feature pipeline: raw.* events are drawn from
a known risk per citizen, and marts.scoring_features carries features that
predict them, so training, scoring and explaining run end to end without
depending on features.build.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.matrix import record_feature_build
from models.spec import ModelSpec

_COLUMNS: dict[str, str] = {
    "citizens": "citizen_id varchar, birth_date date, sex varchar,"
    " municipality_code varchar, education_level varchar, origin varchar,"
    " living_situation varchar,"
    " gp_clinic_id varchar, preferred_language varchar, death_date date,"
    " emigration_date date, outreach_opt_out boolean",
    "diagnoses": "citizen_id varchar, diagnosis_date date, code_system varchar,"
    " code varchar, source varchar, diagnosis_type varchar",
    "prescriptions": "prescription_id varchar, citizen_id varchar, atc_code varchar,"
    " issued_date date, days_supply integer, redeemed_date date,"
    " prescriber_type varchar",
    "appointments": "appointment_id varchar, citizen_id varchar, scheduled_date date,"
    " kind varchar, provider_type varchar, status varchar",
    "lab_results": "citizen_id varchar, sample_date date, npu_code varchar,"
    " value double, unit varchar",
    "hospital_contacts": "contact_id varchar, citizen_id varchar, start_date date,"
    " end_date date, contact_type varchar, primary_diagnosis varchar",
    "extract_info": "contract varchar, extract_date date, source varchar,"
    " extract_hash varchar, loaded_at timestamp",
}
RAW_SCHEMAS = _COLUMNS
DEFAULTS: dict[str, dict[str, Any]] = {
    "citizens": {
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
    },
    "diagnoses": {"code_system": "SKS", "source": "hospital", "diagnosis_type": "A"},
    "prescriptions": {
        "days_supply": 90,
        "redeemed_date": None,
        "prescriber_type": "gp",
    },
    "appointments": {"provider_type": "gp", "status": "attended"},
    "lab_results": {"npu_code": "NPU27300", "unit": "mmol/mol"},
    "hospital_contacts": {"end_date": None, "primary_diagnosis": None},
    "extract_info": {
        "contract": "journal-extract/1",
        "source": "test",
        "extract_hash": "abc123",
        "loaded_at": pd.Timestamp("2026-01-01"),
    },
}
COHORT_DEFAULTS: dict[str, Any] = {
    "is_alive_resident": True,
    "has_diabetes": False,
    "diabetes_type": None,
    "diabetes_entry_date": None,
    "has_smi": False,
    "has_copd": False,
    "has_heart_disease": False,
    "has_cancer": False,
    "has_chronic_back_pain": False,
    "n_chronic_groups": 0,
}


def make_raw(
    con: duckdb.DuckDBPyConnection, **tables: Iterable[Mapping[str, Any]]
) -> None:
    """Create every raw.* table (pinned types); insert the rows, defaults filled."""
    con.execute("create schema if not exists raw")
    for table, schema in RAW_SCHEMAS.items():
        con.execute(f"create or replace table raw.{table} ({schema})")
        columns = [c.strip().split(" ")[0] for c in schema.split(",")]
        rows = [{**DEFAULTS.get(table, {}), **r} for r in tables.get(table, [])]
        if rows:
            frame = pd.DataFrame(rows, columns=columns).astype(object)
            frame = frame.where(frame.notna(), None)
            con.register("_rows", frame)
            con.execute(f"insert into raw.{table} select * from _rows")
            con.unregister("_rows")


def make_mart(
    con: duckdb.DuckDBPyConnection, rows: Iterable[Mapping[str, Any]] | pd.DataFrame
) -> None:
    """Create main.spine and marts.scoring_features from rows (cohort flags filled)."""
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for column, value in COHORT_DEFAULTS.items():
        if column not in frame:
            frame[column] = value
        elif value is not None:
            frame[column] = (
                frame[column].astype(object).where(frame[column].notna(), value)
            )
    con.register("_mart", frame)
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.scoring_features as select * replace ("
        " cast(as_of_date as date) as as_of_date, cast(diabetes_type as varchar) as "
        "diabetes_type,"
        " cast(diabetes_entry_date as date) as diabetes_entry_date) from _mart"
    )
    con.execute(
        "create or replace table main.spine as"
        " select distinct citizen_id, as_of_date from marts.scoring_features"
    )
    con.unregister("_mart")
    record_feature_build(
        con, list(pd.to_datetime(frame["as_of_date"]).dt.date.unique())
    )


TOY_START = date(2019, 1, 1)
TOY_EXTRACT_DATE = date(2025, 12, 31)
TOY_FEATURES = [
    "age_years",
    "hba1c_last_mmol_mol",
    "days_since_diabetes_control",
    "n_no_shows_365d",
    "has_no_gp",
    "living_situation",
]
TOY_SPEC = """
outcome = "diabetes_harm_365d"
cohort = "has_diabetes"
estimator = "{estimator}"
features = {features}
every = "3mo"
max_index_dates = 8
n_bootstrap = 20
capacity_k = {capacity_k}
{extra}
"""
RULES = """
[[params.rules]]
feature = "hba1c_last_mmol_mol"
op = ">"
threshold = 75.0

[[params.rules]]
feature = "days_since_diabetes_control"
op = ">"
threshold = 456
missing_is_met = true
"""


#: Two numeric columns "a" and "b": the rows of the unit tests that fit on frames.
AB_FEATURES = ("a", "b")
AB_KINDS = {"a": "numeric", "b": "numeric"}


def ab_spec(name: str, **changes: object) -> ModelSpec:
    """A gradient boosting spec of the diabetes outcome on ``a`` and ``b``."""
    values: dict[str, object] = {
        "outcome": "diabetes_harm_365d",
        "cohort": "has_diabetes",
        "features": AB_FEATURES,
        "estimator": "hist_gradient_boosting",
        **changes,
    }
    return ModelSpec.from_mapping(values, name=name, source=f"{name}.toml")


def fewer_rounds(spec: ModelSpec) -> ModelSpec:
    """A packaged boosting spec with 120 rounds and 30 bootstrap draws (tests only).

    For tests that check the pipeline (what is chosen, logged, scored and
    explained), not the model's quality: neither number changes those paths.
    The number of rounds is fixed (no ``max_iter_choices``, whose largest choice
    would be fitted too), and the map is fitted on the calibration citizens (no
    ``calibration_folds``: cross-fitting fits the pipeline once per fold, and
    ``tests/models/test_crossfit.py`` trains a cross-fitted spec end to end).
    """
    params = {**spec.params, "max_iter": 120, "learning_rate": 0.15}
    return replace(
        spec,
        params=params,
        n_bootstrap=30,
        max_iter_choices=None,
        calibration_folds=None,
        crossfit_below_events=None,
    )


def write_spec(
    folder: Path, name: str, estimator: str, extra: str = "", capacity_k: int = 100
) -> Path:
    """Write a toy spec file and return its path."""
    features = "[" + ", ".join(f'"{f}"' for f in TOY_FEATURES) + "]"
    if estimator == "rule_baseline" and "params" not in extra:
        extra = extra + RULES
    text = TOY_SPEC.format(
        estimator=estimator, features=features, extra=extra, capacity_k=capacity_k
    )
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _toy_citizens(rng: np.random.Generator, n: int) -> pd.DataFrame:
    ids = [f"P-{i:07d}" for i in range(n)]
    return pd.DataFrame(
        {
            "citizen_id": ids,
            "birth_year": rng.integers(1935, 1990, n),
            "control": rng.normal(0, 1, n),  # glycaemic control: higher is worse
            "engagement": rng.normal(0, 1, n),
            "living_situation": rng.choice(
                ["own_home", "supported_housing", "shelter"], n, p=[0.9, 0.07, 0.03]
            ),
            "has_no_gp": rng.random(n) < 0.05,
        }
    )


def build_toy_region(
    con: duckdb.DuckDBPyConnection, *, n: int = 1500, seed: int = 7, dates: list[date]
) -> pd.DataFrame:
    """Fill raw.* and the mart of a toy diabetes region; return the latent table."""
    rng = np.random.default_rng(seed)
    people = _toy_citizens(rng, n)
    latent = -2.4 + 1.0 * people["control"] - 0.6 * people["engagement"]
    admissions = []
    day = TOY_START
    while day < TOY_EXTRACT_DATE:
        hit = rng.random(n) < 1 / (1 + np.exp(-latent)) / 4
        for i in np.flatnonzero(hit):
            admissions.append(
                {
                    "contact_id": f"H{len(admissions)}",
                    "citizen_id": people.citizen_id[i],
                    "start_date": day + timedelta(days=int(rng.integers(0, 90))),
                    "contact_type": "acute_admission",
                    "primary_diagnosis": "DE111",
                }
            )
        day += timedelta(days=91)
    citizens = [
        {"citizen_id": c, "birth_date": date(int(y), 6, 1)}
        for c, y in zip(people.citizen_id, people.birth_year, strict=True)
    ]
    diagnoses = [
        {"citizen_id": c, "diagnosis_date": TOY_START, "code": "DE119"}
        for c in people.citizen_id
    ]
    make_raw(
        con,
        citizens=citizens,
        diagnoses=diagnoses,
        hospital_contacts=admissions,
        extract_info=[{"extract_date": TOY_EXTRACT_DATE}],
    )
    frames = []
    for d in dates:
        noise = rng.normal(0, 0.3, n)
        days_control = np.round(
            np.exp(5.5 - 0.5 * people["engagement"] + rng.normal(0, 0.3, n))
        )
        frames.append(
            pd.DataFrame(
                {
                    "citizen_id": people.citizen_id,
                    "as_of_date": d,
                    "has_diabetes": True,
                    "diabetes_type": "type2",
                    "age_years": d.year - people.birth_year,
                    "hba1c_last_mmol_mol": np.round(
                        58 + 12 * (people["control"] + noise), 1
                    ),
                    "days_since_diabetes_control": np.where(
                        rng.random(n) < 0.05, np.nan, days_control
                    ),
                    "n_no_shows_365d": rng.poisson(
                        np.exp(-0.5 - 0.7 * people["engagement"])
                    ),
                    "has_no_gp": people["has_no_gp"],
                    "living_situation": people["living_situation"],
                    "education_level": "basic",
                    "origin": "danish",
                }
            )
        )
    make_mart(con, pd.concat(frames, ignore_index=True))
    return people


@dataclass
class Trained:
    """A toy region with three registered models in one MLflow store."""

    settings: Any
    specs: Path
    people: pd.DataFrame
    results: dict[str, Any]


def _toy_dates() -> list[date]:
    from models.outcomes import ExtractWindow
    from models.spec import ModelSpec
    from models.train import plan_index_dates

    spec = ModelSpec.from_mapping(
        {
            "outcome": "diabetes_harm_365d",
            "cohort": "has_diabetes",
            "estimator": "logistic_regression",
            "features": ["age_years"],
            "max_index_dates": 8,
        },
        name="probe",
        source="probe",
    )
    plan = plan_index_dates(spec, ExtractWindow(TOY_START, TOY_EXTRACT_DATE))
    return [*plan.fit_dates, plan.test_date, TOY_EXTRACT_DATE]


def _build_trained(folder: Path) -> None:
    """Build the toy region into ``folder`` and train toy, toy_hgb and toy_rule."""
    from features.db import connect
    from features.settings import EngineSettings
    from models.spec import ModelSpec
    from models.train import train_model

    settings = EngineSettings(output_dir=folder / "build")
    specs = folder / "specs"
    specs.mkdir()
    con = connect(settings.warehouse)
    try:
        people = build_toy_region(con, dates=_toy_dates())
    finally:
        con.close()
    paths = {
        "toy": write_spec(specs, "toy", "logistic_regression"),
        "toy_hgb": write_spec(
            specs,
            "toy_hgb",
            "hist_gradient_boosting",
            "max_iter_choices = [20, 60]\n[params]\nmax_iter = 60\n",
        ),
        "toy_rule": write_spec(specs, "toy_rule", "rule_baseline"),
    }
    results = {
        name: train_model(ModelSpec.from_toml(path), settings=settings)
        for name, path in paths.items()
    }
    (folder / "trained.pickle").write_bytes(pickle.dumps((people, results)))


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Toy region trained once per session: toy (logistic), toy_hgb, toy_rule.

    Built once for every xdist worker (``tests/region_cache.py``); each worker
    gets its own copy of the warehouse, MLflow store and spec folder, which its
    tests share (and add models to) as before.
    """
    from features.settings import EngineSettings
    from tests.region_cache import copy_output, shared_folder, shared_root

    cache = shared_folder(shared_root(tmp_path_factory), "toy_trained", _build_trained)
    root = tmp_path_factory.mktemp("trained")
    settings = EngineSettings(output_dir=copy_output(cache / "build", root / "build"))
    specs = shutil.copytree(cache / "specs", root / "specs")
    people, results = pickle.loads((cache / "trained.pickle").read_bytes())  # noqa: S301
    return Trained(settings, specs, people, results)


@pytest.fixture
def toy_settings(tmp_path: Path, isolated_env: Path) -> Any:
    """EngineSettings pointing at tmp_path (warehouse and local MLflow store)."""
    from features.settings import EngineSettings

    return EngineSettings.from_env()


@pytest.fixture
def toy_region(toy_settings: Any, tmp_path: Path) -> tuple[Any, Path]:
    """A toy region in the settings' warehouse, the mart at every date a toy spec needs.

    Returns (settings, spec folder).
    """
    from features.db import connect

    specs = tmp_path / "specs"
    specs.mkdir()
    con = connect(toy_settings.warehouse)
    try:
        build_toy_region(con, dates=_toy_dates())
    finally:
        con.close()
    return toy_settings, specs
