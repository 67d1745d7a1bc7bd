"""Realised performance of simulated weeks of lists against a hand computation."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from outreach.app.store import ensure_outreach_tables
from reports.monitor_config import MonitorConfig
from reports.monitor_inputs import ModelInfo
from reports.monitor_outcomes import (
    early_signals,
    monitor_performance,
    realised_performance,
    wilson_interval,
)

URI = "models:/diabetes_harm_365d/1"
EXTRACT_DATE = date(2026, 11, 23)
#: week -> as-of date; the last window has not closed by the extract date.
WEEKS = {
    "2025-W10": date(2025, 3, 3),
    "2025-W20": date(2025, 5, 12),
    "2026-W40": date(2026, 9, 28),
}
N_COHORT, K, N_HELD = 60, 12, 10
Warehouse = tuple[duckdb.DuckDBPyConnection, dict[str, pd.DataFrame]]
CONFIG = MonitorConfig.from_toml().with_overrides(n_bootstrap=200, seed=3)


def _model(precision: float) -> ModelInfo:
    return ModelInfo(
        model_uri=URI,
        cohort="has_diabetes",
        outcome="diabetes_harm_365d",
        kinds={},
        reference=None,
        fit_dates=(),
        promised={"precision_at_capacity": {"value": precision}},
        horizon_days=365,
    )


def _simulate(seed: int = 5) -> dict[str, pd.DataFrame]:
    """Scores, lists (top K), hold-outs (the next N_HELD) and labels of each week."""
    rng = np.random.default_rng(seed)
    scores, lists, held, labels, runs = [], [], [], [], []
    for w, (week, as_of) in enumerate(WEEKS.items()):
        ids = [f"P{w}-{i:03d}" for i in range(N_COHORT)]
        risk = np.sort(rng.uniform(0.01, 0.9, N_COHORT))[::-1]
        label = (rng.random(N_COHORT) < risk).astype(int)
        list_id = f"L{w}"
        runs.append((list_id, week, as_of))
        scores += [
            (c, as_of, URI, float(r), i + 1)
            for i, (c, r) in enumerate(zip(ids, risk, strict=True))
        ]
        lists += [(list_id, week, i + 1, ids[i]) for i in range(K)]
        held += [(list_id, week, as_of, ids[i], i + 1) for i in range(K, K + N_HELD)]
        labels += [(c, as_of, int(y)) for c, y in zip(ids, label, strict=True)]
    return {
        "runs": pd.DataFrame(runs, columns=["list_id", "week", "as_of_date"]),
        "scores": pd.DataFrame(
            scores,
            columns=[
                "citizen_id",
                "as_of_date",
                "model_uri",
                "risk_score",
                "risk_rank",
            ],
        ),
        "lists": pd.DataFrame(lists, columns=["list_id", "week", "rank", "citizen_id"]),
        "held": pd.DataFrame(
            held, columns=["list_id", "week", "as_of_date", "citizen_id", "risk_rank"]
        ),
        "labels": pd.DataFrame(labels, columns=["citizen_id", "as_of_date", "label"]),
    }


@pytest.fixture
def warehouse() -> Warehouse:
    sim = _simulate()
    con = duckdb.connect()
    for schema in ("outreach", "scoring", "labels", "raw"):
        con.execute(f"create schema {schema}")
    ensure_outreach_tables(con)
    con.register("sim_runs", sim["runs"])
    con.execute(
        "insert into outreach.list_runs select list_id, 'diabetes_bus', week, 1,"
        " as_of_date, as_of_date, DATE '2026-11-23', $uri, 'h', now(), 't', 'frozen',"
        " null, '{}' from sim_runs",
        {"uri": URI},
    )
    con.register("sim_lists", sim["lists"])
    con.execute(
        "insert into outreach.lists select list_id, 'diabetes_bus', week, rank,"
        " citizen_id,"
        " '390', 'V', 's', 'da', 0.5, rank, 'high', '', 0, null, null from sim_lists"
    )
    con.register("sim_held", sim["held"])
    con.execute(
        "insert into outreach.holdouts"
        " select list_id, 'diabetes_bus', week, as_of_date,"
        " citizen_id, '390', risk_rank, risk_rank from sim_held"
    )
    con.register("sim_scores", sim["scores"])
    con.execute("create table scoring.scores as select * from sim_scores")
    con.register("sim_labels", sim["labels"])
    con.execute("create table labels.diabetes_harm_365d as select * from sim_labels")
    # early signals: the first 6 listed of every week reached, 3 screened
    con.execute(
        "insert into outreach.contacts (list_id, programme, week, citizen_id,"
        " outcome, outcome_date, recorded_by, opt_out, note, recorded_at, source)"
        " select list_id, 'diabetes_bus', week, citizen_id,"
        " case when rank <= 3 then 'screened' else 'reached' end, DATE '2025-06-01',"
        " 't', false, null, now(), 'cli' from outreach.lists where rank <= 6"
    )
    con.execute(
        "create table raw.citizens as select distinct citizen_id, '390' as"
        " municipality_code from sim_scores"
    )
    con.execute(
        "create table raw.hospital_contacts (contact_id varchar, citizen_id varchar,"
        " start_date date, end_date date, contact_type varchar,"
        " primary_diagnosis varchar)"
    )
    return con, sim


def _by_hand(sim: dict[str, pd.DataFrame], weeks: list[str]) -> dict[str, float]:
    """Precision@k, recall@k and hold-out precision, counted with plain loops."""
    label = {(r.citizen_id, r.as_of_date): r.label for r in sim["labels"].itertuples()}
    hits = listed = positives = held_hits = held_n = 0
    for run in sim["runs"].itertuples():
        if run.week not in weeks:
            continue
        on_list = set(
            sim["lists"].loc[sim["lists"].list_id == run.list_id, "citizen_id"]
        )
        held = set(sim["held"].loc[sim["held"].list_id == run.list_id, "citizen_id"])
        for s in sim["scores"][sim["scores"].as_of_date == run.as_of_date].itertuples():
            y = label[(s.citizen_id, run.as_of_date)]
            positives += y
            if s.citizen_id in on_list:
                listed, hits = listed + 1, hits + y
            if s.citizen_id in held:
                held_n, held_hits = held_n + 1, held_hits + y
    return {
        "precision_at_k": hits / listed,
        "recall_at_k": hits / positives,
        "holdout_precision": held_hits / held_n,
    }


def test_monitor_performance_equals_hand_computation(warehouse: Warehouse) -> None:
    con, sim = warehouse
    section, alerts = monitor_performance(
        con,
        _model(0.3),
        programme="diabetes_bus",
        extract_date=EXTRACT_DATE,
        config=CONFIG,
    )
    assert (section["n_lists"], section["n_mature"]) == (3, 2)
    mature = ["2025-W10", "2025-W20"]
    realised = section["realised"]
    assert list(realised["weeks"]) == mature
    for name, value in _by_hand(sim, mature).items():
        assert realised["pooled"][name]["estimate"] == pytest.approx(value)
        cell = realised["pooled"][name]
        assert cell["ci_low"] <= value <= cell["ci_high"]
    for week in mature:
        for name, value in _by_hand(sim, [week]).items():
            assert realised["weeks"][week][name]["estimate"] == pytest.approx(value)
    assert realised["pooled"]["precision_at_k"]["n"] == 2 * K
    assert alerts == []


def test_monitor_performance_flags_a_shortfall_against_the_promise(
    warehouse: Warehouse,
) -> None:
    con, _ = warehouse
    _, before = monitor_performance(
        con,
        _model(0.8),
        programme="diabetes_bus",
        extract_date=EXTRACT_DATE,
        config=CONFIG,
    )
    # the first week's listed citizens all turn out fine: realised precision halves
    con.execute(
        "update labels.diabetes_harm_365d set label = 0 where citizen_id like 'P0-%'"
    )
    _, alerts = monitor_performance(
        con,
        _model(0.8),
        programme="diabetes_bus",
        extract_date=EXTRACT_DATE,
        config=CONFIG.with_overrides(max_precision_drop=0.95),
    )
    assert before == []
    assert [a.code for a in alerts] == ["precision_shortfall"]


def test_monitor_performance_early_signals(warehouse: Warehouse) -> None:
    con, _ = warehouse
    section, _ = monitor_performance(
        con,
        _model(0.3),
        programme="diabetes_bus",
        extract_date=EXTRACT_DATE,
        config=CONFIG,
    )
    early = section["early"]
    assert early["reached_rate"]["estimate"] == pytest.approx(6 / K)
    assert early["screened_rate"]["estimate"] == pytest.approx(3 / K)
    # the last week's 90 days have not passed: only two weeks count
    assert early["acute_90d_listed"]["n"] == 2 * K
    assert early["acute_90d_held_out"]["estimate"] == 0.0


def test_realised_performance_calibration_of_a_calibrated_score() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.6, 4000)
    frame = pd.DataFrame(
        {
            "week": "2025-W10",
            "risk_score": p,
            "is_listed": False,
            "is_held_out": False,
            "label": (rng.random(4000) < p).astype(int),
        }
    )
    pooled = realised_performance(frame, config=CONFIG)["pooled"]
    assert (
        pooled["calibration_slope"]["ci_low"]
        < 1
        < pooled["calibration_slope"]["ci_high"]
    )
    assert abs(pooled["observed_minus_predicted"]["estimate"]) < 0.03
    assert pooled["precision_at_k"]["suppressed"]


def test_early_signals_suppress_small_cells() -> None:
    frame = pd.DataFrame(
        {
            "is_listed": [True] * 5,
            "is_reached": [True] * 5,
            "is_screened": [False] * 5,
            "has_acute_90d": [None] * 5,
        }
    )
    out = early_signals(frame, config=CONFIG)
    assert out["reached_rate"] == {
        "n": None,
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "suppressed": True,
    }


def test_wilson_interval_by_hand() -> None:
    # p = 0.5, n = 100: centre 0.5, half-width z sqrt(.0025 + z²/40000) / (1 + z²/100)
    z = 1.959963984540054
    half = z * np.sqrt(0.0025 + z * z / 40000) / (1 + z * z / 100)
    assert wilson_interval(50, 100, 0.95) == pytest.approx((0.5 - half, 0.5 + half))
    low, high = wilson_interval(0, 20, 0.95)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.1 < high < 0.2


def test_monitor_performance_counts_the_programme_municipalities(
    warehouse: Warehouse,
) -> None:
    con, sim = warehouse
    # half of each cohort moves to 376: recall counts only the programme's 390
    con.execute(
        "update raw.citizens set municipality_code = '376'"
        " where citizen_id[-1:] in ('1', '3', '5', '7', '9')"
    )
    here = {c for c in sim["scores"]["citizen_id"] if c[-1] not in "13579"}
    kept = {k: v[v["citizen_id"].isin(here)] for k, v in sim.items() if k != "runs"}
    section, _ = monitor_performance(
        con,
        _model(0.3),
        programme="diabetes_bus",
        extract_date=EXTRACT_DATE,
        config=CONFIG,
        municipalities=["390"],
    )
    expected = _by_hand({**kept, "runs": sim["runs"]}, ["2025-W10", "2025-W20"])
    pooled = section["realised"]["pooled"]
    assert pooled["recall_at_k"]["estimate"] == pytest.approx(expected["recall_at_k"])
