"""``opspor audit --model`` scores models at the test date when they have no scores.

One small region: the champion and the acute-harm alternative are trained, none
is scored; the audit scores both and ranks them side by side at k.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.models.conftest import fewer_rounds
from tests.region_cache import TrainedRegion


@pytest.mark.slow
def test_run_audit_scores_an_unscored_model_at_its_test_date(
    trained_region: TrainedRegion, tmp_path: Path
) -> None:
    from features.db import connect
    from models.spec import load_spec
    from models.train import train_model
    from reports.audit import run_audit

    # This test's own copy of region_small with the champion trained (fewer
    # rounds), once per session (tests/region_cache.py). The audit's scoring path
    # is checked, not the models' quality: fewer rounds here too.
    settings, trained = trained_region.settings, trained_region.champion
    train_model(fewer_rounds(load_spec("diabetes_acute_harm_365d")), settings=settings)
    con = connect(settings.warehouse, read_only=True)
    try:
        scored_before = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'scoring' and table_name = 'scores'"
        ).fetchone()
    finally:
        con.close()
    assert scored_before == (0,)  # training does not score

    result = run_audit(
        settings,
        programme="diabetes_bus",
        k=40,
        model="diabetes_harm_365d@1",
        compare=["diabetes_acute_harm_365d@1"],
    )

    assert result.as_of_date == trained.test_date
    assert result.n_cohort > 300 and result.n_observed > 0
    report = json.loads(result.json.read_text(encoding="utf-8"))
    assert report["context"]["as_of_date"] == str(trained.test_date)
    con = connect(settings.warehouse, read_only=True)
    try:
        dates = con.execute(
            "select distinct as_of_date from scoring.scores where model_uri = $m",
            {"m": "models:/diabetes_harm_365d/1"},
        ).fetchall()
    finally:
        con.close()
    assert [d[0] for d in dates] == [trained.test_date]
    # the alternative model was scored at the same date and ranked beside it
    rankings = report["comparison"]["rankings"]
    assert set(rankings) == {"diabetes_harm_365d@1", "diabetes_acute_harm_365d@1"}
    for ranking in rankings.values():
        assert ranking["n_scored"] == result.n_cohort
        precision = ranking["precision_at_k"]["y_true"]
        assert precision["suppressed"] or 0.0 <= precision["estimate"] <= 1.0
        split = ranking["composition"]["education_split"]
        shown = [c["share_of_list"] for c in split.values() if not c["suppressed"]]
        assert sum(shown) <= 1.0 + 1e-9
    assert "Alternative models at capacity k = 40" in result.html.read_text(
        encoding="utf-8"
    )

    # In a synthetic world the truth file adds expected precision against the
    # true risk: here a hand-made truth at the scored date where one citizen in
    # ten (by id) has risk 0.5, the others 0.01.
    con = connect(settings.warehouse, read_only=True)
    try:
        ids = sorted(
            r[0]
            for r in con.execute(
                "select citizen_id from scoring.scores where model_uri = $m",
                {"m": "models:/diabetes_harm_365d/1"},
            ).fetchall()
        )
    finally:
        con.close()
    truth = tmp_path / "truth_risk.parquet"
    pd.DataFrame(
        {
            "citizen_id": ids,
            "index_date": [trained.test_date] * len(ids),
            "true_risk_harm_365d": [
                0.5 if i % 10 == 0 else 0.01 for i in range(len(ids))
            ],
        }
    ).to_parquet(truth)
    with_truth = run_audit(
        settings,
        programme="diabetes_bus",
        k=40,
        model="diabetes_harm_365d@1",
        truth=truth,
    )
    comparison = json.loads(with_truth.json.read_text(encoding="utf-8"))["comparison"]
    assert set(comparison["rankings"]) == {"diabetes_harm_365d@1"}
    best = comparison["true_ranking"]["expected_precision_at_k"]
    assert best["estimate"] == pytest.approx(0.5)  # > 40 citizens at 0.5
    mine = comparison["rankings"]["diabetes_harm_365d@1"]["expected_precision_at_k"]
    assert 0.01 <= mine["estimate"] <= 0.5
    assert mine["share_of_true_ranking"] == pytest.approx(mine["estimate"] / 0.5)
    html = with_truth.html.read_text(encoding="utf-8")
    assert "Expected precision at k (true risk)" in html
    assert "Share of list: true-risk ranking" in html
