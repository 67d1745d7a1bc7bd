from __future__ import annotations

from datetime import date

import duckdb
import pytest

from features.errors import DataError
from models.score import Scores, score_citizens
from tests.models.conftest import TOY_EXTRACT_DATE, Trained


def _scores(trained: Trained, uri: str) -> list[tuple]:
    con = duckdb.connect(str(trained.settings.warehouse), read_only=True)
    try:
        return con.execute(
            "select citizen_id, risk_score, risk_rank from scoring.scores"
            " where model_uri = $u and as_of_date = $d order by risk_rank",
            {"u": uri, "d": TOY_EXTRACT_DATE},
        ).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_score_citizens_writes_ranked_calibrated_risk(trained: Trained) -> None:
    result = score_citizens(trained.settings, model="toy_hgb", as_of=TOY_EXTRACT_DATE)
    assert result.model_uri == "models:/toy_hgb/1"
    rows = _scores(trained, result.model_uri)
    assert len(rows) == result.n_scored == len(trained.people)
    assert [r[2] for r in rows] == list(range(1, len(rows) + 1))
    risks = [r[1] for r in rows]
    assert risks == sorted(risks, reverse=True)
    assert all(0.0 <= r <= 1.0 for r in risks)
    Scores.validate(
        __import__("pandas").DataFrame(
            [(c, TOY_EXTRACT_DATE, result.model_uri, s, k) for c, s, k in rows],
            columns=[
                "citizen_id",
                "as_of_date",
                "model_uri",
                "risk_score",
                "risk_rank",
            ],
        )
    )


@pytest.mark.slow
def test_score_citizens_is_idempotent(trained: Trained) -> None:
    first = score_citizens(trained.settings, model="toy@1", as_of=TOY_EXTRACT_DATE)
    before = _scores(trained, first.model_uri)
    score_citizens(trained.settings, model="toy@1", as_of=TOY_EXTRACT_DATE)
    assert _scores(trained, first.model_uri) == before


@pytest.mark.slow
def test_score_citizens_after_the_extract_is_refused(trained: Trained) -> None:
    with pytest.raises(DataError) as error:
        score_citizens(trained.settings, model="toy", as_of=date(2026, 6, 1))
    assert str(error.value) == (
        "Cannot score at 2026-06-01: the loaded extract ends on 2025-12-31, and a "
        "score "
        "needs the citizen's history up to its as-of date."
    )
