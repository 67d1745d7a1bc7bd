"""A small synthetic region end to end.

generate -> load -> features -> train -> score -> explain.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.region_cache import TrainedRegion


@pytest.mark.slow
def test_small_region_trains_scores_and_explains(trained_region: TrainedRegion) -> None:
    from models.explain import explain_scores
    from models.score import score_citizens

    # region_small generated, loaded and the champion trained once per session
    # (tests/region_cache.py), with fewer boosting rounds: no assertion reads the
    # model's quality. This test has its own copy of the warehouse and MLflow.
    settings, trained = trained_region.settings, trained_region.champion
    assert (trained.version, trained.champion) == ("1", True)
    assert trained.rows["test"] > 50 and trained.events["train"] > 20

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        extract_date = con.execute(
            "select extract_date from raw.extract_info"
        ).fetchone()[0]
    finally:
        con.close()
    scored = score_citizens(settings, model="diabetes_harm_365d", as_of=extract_date)
    explained = explain_scores(settings, model="diabetes_harm_365d", as_of=extract_date)
    assert scored.n_scored == explained.n_citizens > 100
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        alive = con.execute(
            "select count(*) from marts.scoring_features where as_of_date = $d and "
            "has_diabetes"
            " and is_alive_resident",
            {"d": extract_date},
        ).fetchone()[0]
        mart_dates_after = {
            r[0]
            for r in con.execute(
                "select distinct as_of_date from marts.scoring_features"
            ).fetchall()
        }
        per_citizen = con.execute(
            "select max(n), min(n) from (select citizen_id, count(*) n from "
            "scoring.reasons group by 1)"
        ).fetchone()
    finally:
        con.close()
    assert scored.n_scored == alive
    # Scoring a new date built it alone and kept the training dates in the mart.
    assert mart_dates_after == {*trained.index_dates, extract_date}
    assert per_citizen[0] <= 3 and per_citizen[1] >= 1
