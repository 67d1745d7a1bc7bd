"""Fixtures for the reports tests: simulated audit frames and a small config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.config import FairnessConfig
from reports.fairness import FairnessAudit, audit_fairness

EDUCATION = {
    # level: (share of the cohort, engagement 0..1)
    "basic": (0.25, 0.0),
    "upper_secondary": (0.10, 0.5),
    "vocational": (0.30, 0.3),
    "short_tertiary": (0.08, 0.6),
    "medium_tertiary": (0.15, 0.8),
    "long_tertiary": (0.10, 1.0),
    "unknown": (0.02, 0.3),
}
LIVING = {
    "own_home": 0.90,
    "supported_housing": 0.04,
    "shelter": 0.001,
    "prison": 0.004,
    "nursing_home": 0.05,
    "unknown": 0.005,
}


def simulate_frame(
    n: int = 4000,
    *,
    seed: int = 1,
    planted: bool = False,
    biased_recording: bool | None = None,
) -> pd.DataFrame:
    """One row per cohort citizen, with or without a planted education gradient.

    Planted: engagement (and so regular GP contact, HbA1c testing, the chance
    that an event is recorded and the complications found at attended care)
    rises with education, and the score leans on GP
    contact, so among citizens with the same true need the less educated are
    listed less often and their outcome is under-recorded. ``biased_recording``
    (default: ``planted``) False keeps the planted care gap but records the
    outcome and finds complications alike in every group.
    """
    biased = planted if biased_recording is None else biased_recording
    rng = np.random.default_rng(seed)
    levels = list(EDUCATION)
    shares = np.array([EDUCATION[e][0] for e in levels])
    education = rng.choice(levels, size=n, p=shares / shares.sum())
    engage = (
        np.array([EDUCATION[e][1] for e in education]) if planted else np.full(n, 0.5)
    )
    p_regular = 0.2 + 0.7 * engage
    u = rng.random(n)
    gp = np.where(
        u < p_regular,
        "regular",
        np.where(u < p_regular + 0.6 * (1 - p_regular), "low", "none"),
    )
    true_p = rng.beta(2, 8, size=n)
    event = rng.random(n) < true_p
    if planted:
        score = true_p * np.where(
            gp == "regular", 1.0, np.where(gp == "low", 0.55, 0.3)
        )
        recorded = rng.random(n) < (0.45 + 0.55 * engage if biased else 0.97)
        hba1c = rng.poisson(0.5 + 2.5 * engage)
    else:
        score = np.clip(true_p + rng.normal(0, 0.02, n), 0, 1)
        recorded = rng.random(n) < 0.97
        hba1c = rng.poisson(2.0, n)
    # Label check counts: complications found at an admission track need alike in
    # every group; those found at care follow attendance only when planted.
    found_rate = 2.8 * true_p * (0.3 + 0.7 * engage if biased else 0.8)
    label_counts = {
        "n_found_at_care__kidney": rng.poisson(found_rate),
        "n_found_at_admission__kidney": rng.poisson(2.8 * true_p),
        "n_found_at_care__eye": rng.poisson(found_rate),
        "n_found_at_admission__eye": np.zeros(n, dtype=int),
    }
    y_true = pd.array((event & recorded).astype(int), dtype="Int64")
    y_true[rng.random(n) < 0.05] = pd.NA
    k = n // 10
    order = np.argsort(-score, kind="stable")
    selected = np.zeros(n, dtype=bool)
    selected[order[:k]] = True
    living = list(LIVING)
    return pd.DataFrame(
        {
            "citizen_id": [f"PSEUDO-{i:07d}" for i in range(n)],
            "y_score": score,
            "selected": selected,
            "y_true": y_true,
            "y_true_missed_care_365d": (rng.random(n) < 0.3).astype(int),
            "education_level": education,
            "sex": rng.choice(["F", "M"], size=n),
            "age_band": rng.choice(["18-39", "40-59", "60-74", "75+"], size=n),
            "origin": rng.choice(
                ["danish", "immigrant_non_western", "descendant_western"],
                size=n,
                p=[0.85, 0.12, 0.03],
            ),
            "living_situation": rng.choice(
                living, size=n, p=np.array(list(LIVING.values())) / sum(LIVING.values())
            ),
            "has_smi": rng.random(n) < 0.06,
            "gp_contact_level": gp,
            "municipality_code": rng.choice(["390", "376", "360", "101"], size=n),
            "attended_screening_365d": rng.random(n) < (0.4 + 0.5 * engage),
            "n_hba1c_tests_365d": hba1c,
            **label_counts,
        }
    )


@pytest.fixture(scope="session")
def config() -> FairnessConfig:
    """The packaged config with few bootstrap draws (fast)."""
    return FairnessConfig.from_toml().with_overrides(n_bootstrap=200, seed=7)


@pytest.fixture(scope="session")
def planted_frame() -> pd.DataFrame:
    return simulate_frame(planted=True, seed=11)


@pytest.fixture(scope="session")
def balanced_frame() -> pd.DataFrame:
    return simulate_frame(planted=False, seed=12)


@pytest.fixture(scope="session")
def planted_audit(planted_frame: pd.DataFrame, config: FairnessConfig) -> FairnessAudit:
    return audit_fairness(
        planted_frame, config=config, k=400, context={"programme": "test"}
    )


@pytest.fixture(scope="session")
def balanced_audit(
    balanced_frame: pd.DataFrame, config: FairnessConfig
) -> FairnessAudit:
    return audit_fairness(balanced_frame, config=config, k=400)


MODEL_URI = "models:/diabetes_harm_365d/3"
AS_OF = "2025-11-24"


def build_warehouse(
    path, frame: pd.DataFrame, *, k: int, week: str = "2026-W48", programme: str = "bus"
) -> str:
    """Build a warehouse by hand: scores, attributes, care, labels and a list."""
    import duckdb

    f = frame.reset_index(drop=True)
    base = pd.DataFrame(
        {"citizen_id": f["citizen_id"], "as_of_date": pd.Timestamp(AS_OF).date()}
    )
    order = (-f["y_score"]).rank(method="first").astype(int)
    scores = base.assign(model_uri=MODEL_URI, risk_score=f["y_score"], risk_rank=order)
    attrs = base.assign(
        **{
            c: f[c]
            for c in (
                "sex",
                "age_band",
                "education_level",
                "origin",
                "living_situation",
                "municipality_code",
                "has_smi",
                "gp_contact_level",
            )
        }
    )
    care = base.assign(
        days_since_eye_screening=np.where(f["attended_screening_365d"], 100, 500),
        days_since_diabetes_control=np.where(np.arange(len(f)) % 5 == 0, 500, 30),
        days_since_hba1c=np.where(f["n_hba1c_tests_365d"] > 0, 60, 800),
        n_unredeemed_365d=np.where(np.arange(len(f)) % 7 == 0, 1, 0),
    )
    labels = base.assign(label=f["y_true"], is_censored=f["y_true"].isna())
    missed = base.assign(label=f["y_true_missed_care_365d"], is_censored=False)
    listed = f.loc[order <= k, ["citizen_id"]].assign(
        list_id=f"{programme}-{week}-r1", programme=programme, week=week, rank=1
    )
    runs = pd.DataFrame(
        {
            "list_id": [f"{programme}-{week}-r1", f"{programme}-{week}-r0"],
            "programme": programme,
            "week": week,
            "revision": [1, 0],
            "status": ["frozen", "superseded"],
            "as_of_date": pd.Timestamp(AS_OF).date(),
            "model_uri": MODEL_URI,
        }
    )
    con = duckdb.connect(str(path))
    for schema, table, data in [
        ("scoring", "scores", scores),
        ("marts", "audit_attributes", attrs),
        ("marts", "scoring_features", care),
        ("labels", "diabetes_harm_365d", labels),
        ("labels", "missed_care_365d", missed),
        ("outreach", "lists", listed),
        ("outreach", "list_runs", runs),
    ]:
        con.execute(f"create schema if not exists {schema}")
        con.register("data", data)
        con.execute(f"create table {schema}.{table} as select * from data")
        con.unregister("data")
    con.execute("alter table labels.diabetes_harm_365d alter label type integer")
    con.close()
    return str(path)


@pytest.fixture(scope="session")
def simulate():
    """The frame simulator, for tests that need their own size or seed."""
    return simulate_frame


@pytest.fixture(scope="session")
def make_warehouse():
    """Build a hand-made warehouse file: make_warehouse(path, frame, k=...)."""
    return build_warehouse


def hand_made_label_counts(simulate, scale: int = 1):
    """Hand-made label counts (test_fairness, test_label_power), ``scale`` times over.

    Per 1000 citizens of each education group: kidney 200 found at an admission
    in each, at care 200 (basic) and 400 (long); nerve 100 at an admission, none
    at care. The ratio of basic to long is 0.5 at every scale.
    """
    n = 2000 * scale
    frame = simulate(n=n, seed=9)
    basic = np.arange(n) < n // 2
    index = np.arange(n) % 1000
    return frame.assign(
        education_level=np.where(basic, "basic", "long_tertiary"),
        age_band="60-74",
        n_found_at_admission__kidney=(index < 200).astype(int),
        n_found_at_care__kidney=np.where(
            basic, (index >= 200) & (index < 400), (index >= 200) & (index < 600)
        ).astype(int),
        n_found_at_admission__nerve=(index >= 900).astype(int),
        n_found_at_care__nerve=0,
    )
