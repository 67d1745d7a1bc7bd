"""Adapters: the audit frame is assembled from hand-made warehouse tables."""

from __future__ import annotations

from datetime import date

import pytest

from features.db import connect
from features.errors import NotFoundError
from reports.frame import (
    NO_LIST,
    NO_SCORES,
    AuditScope,
    build_audit_frame,
    resolve_model_scope,
    resolve_week_scope,
)

K = 60
MODEL_URI = "models:/diabetes_harm_365d/3"
AS_OF = "2025-11-24"


@pytest.fixture(scope="module")
def small(simulate):
    return simulate(600, seed=4, planted=True)


@pytest.fixture(scope="module")
def con(small, make_warehouse, tmp_path_factory):
    path = make_warehouse(tmp_path_factory.mktemp("wh") / "w.duckdb", small, k=K)
    connection = connect(path, read_only=True)
    yield connection
    connection.close()


def test_resolve_week_scope_takes_frozen_run(con) -> None:
    scope = resolve_week_scope(con, programme="bus", week="2026-W48")
    assert scope == AuditScope(MODEL_URI, date.fromisoformat(AS_OF), "bus-2026-W48-r1")


def test_resolve_model_scope_prefers_labelled_date(con) -> None:
    scope = resolve_model_scope(con, model_uri=MODEL_URI, outcome="diabetes_harm_365d")
    assert scope == AuditScope(MODEL_URI, date.fromisoformat(AS_OF))


def test_build_audit_frame_joins_scores_labels_and_list(con, small) -> None:
    scope = resolve_week_scope(con, programme="bus", week="2026-W48")
    frame = build_audit_frame(
        con,
        scope,
        outcome="diabetes_harm_365d",
        alternative_outcomes=["diabetes_harm_365d", "missed_care_365d", "not_built"],
    )
    assert "citizen_id" not in frame.columns
    assert len(frame) == len(small)
    assert int(frame["selected"].sum()) == K
    assert int(frame["y_true"].isna().sum()) == int(small["y_true"].isna().sum())
    assert int(frame["y_true"].sum()) == int(small["y_true"].sum())
    assert "y_true_missed_care_365d" in frame.columns
    assert (
        "y_true_not_built" not in frame.columns
        and "y_true_diabetes_harm_365d" not in frame.columns
    )
    assert (
        frame["attended_screening_365d"].sum() == small["attended_screening_365d"].sum()
    )
    assert set(frame["gp_contact_level"]) == {"none", "low", "regular"}


def test_build_audit_frame_keeps_programme_area(con) -> None:
    scope = AuditScope(MODEL_URI, date.fromisoformat(AS_OF))
    frame = build_audit_frame(con, scope, outcome=None, municipalities=["390", "376"])
    assert set(frame["municipality_code"]) == {"390", "376"}
    assert frame["y_true"].isna().all()
    assert "selected" not in frame.columns


def test_build_audit_frame_rows_follow_the_ranking(con) -> None:
    # Bootstrap draws and top-k ties follow row position: the order must be fixed.
    scope = AuditScope(MODEL_URI, date.fromisoformat(AS_OF))
    frame = build_audit_frame(con, scope, outcome=None)
    assert frame["risk_rank"].tolist() == sorted(frame["risk_rank"])
    assert frame["y_score"].is_monotonic_decreasing


class TestErrorMessages:
    def test_unknown_week(self, con) -> None:
        with pytest.raises(NotFoundError) as error:
            resolve_week_scope(con, programme="bus", week="2030-W01")
        assert str(error.value) == NO_LIST.format(programme="bus", week="2030-W01")
        assert (
            str(error.value)
            == "No list for programme 'bus' and week '2030-W01' in outreach.list_runs."
        )

    def test_unscored_model(self, con) -> None:
        with pytest.raises(NotFoundError) as error:
            resolve_model_scope(con, model_uri="models:/x/1")
        assert str(error.value) == (
            "No scores for model 'models:/x/1' in scoring.scores; run `opspor score` "
            "first."
        )
        assert NO_SCORES
