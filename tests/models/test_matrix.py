from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError
from models.matrix import (
    assign_splits,
    build_training_matrix,
    citizen_groups,
    ensure_features,
    feature_kinds,
    fresh_dates,
    read_cohort_frame,
)
from tests.models.conftest import make_mart

TEST_DATE = date(2024, 1, 1)


def _labelled(n_citizens: int = 400, n_dates: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = [TEST_DATE - timedelta(days=91 * i) for i in range(n_dates)]
    rows = [
        (f"P-{c:05d}", pd.Timestamp(d), int(rng.random() < 0.2), rng.normal())
        for c in range(n_citizens)
        for d in dates
    ]
    return pd.DataFrame(rows, columns=["citizen_id", "as_of_date", "label", "x"])


def _split(frame: pd.DataFrame) -> pd.DataFrame:
    return assign_splits(
        frame,
        test_date=TEST_DATE,
        horizon_days=365,
        test_share=0.25,
        calibration_share=0.15,
        random_state=1,
    )


def test_assign_splits_never_trains_on_a_later_index_date() -> None:
    split = _split(_labelled())
    fitting = split[split["split"] != "test"]["as_of_date"].dt.date
    assert fitting.max() <= TEST_DATE - timedelta(days=365)
    assert set(split[split["split"] == "test"]["as_of_date"].dt.date) == {TEST_DATE}


def test_assign_splits_for_a_refit_adds_the_fitting_groups_at_the_test_date() -> None:
    labelled = _labelled()
    plain = _split(labelled)
    refit = assign_splits(
        labelled,
        test_date=TEST_DATE,
        horizon_days=365,
        test_share=0.25,
        calibration_share=0.15,
        random_state=1,
        refit=True,
    )
    extra = refit[refit["split"].str.startswith("refit_")]
    assert set(extra["as_of_date"].dt.date) == {TEST_DATE}
    test_ids = set(plain.loc[plain["split"] == "test", "citizen_id"])
    assert test_ids.isdisjoint(extra["citizen_id"])
    same = refit[~refit["split"].str.startswith("refit_")].reset_index(drop=True)
    pd.testing.assert_frame_equal(same, plain)
    train_ids = set(plain.loc[plain["split"] == "train", "citizen_id"])
    assert set(extra.loc[extra["split"] == "refit_train", "citizen_id"]) <= train_ids


def test_assign_splits_puts_no_citizen_in_two_splits() -> None:
    split = _split(_labelled())
    per_citizen = split.groupby("citizen_id")["split"].nunique()
    assert per_citizen.max() == 1
    shares = split.drop_duplicates("citizen_id")["split"].value_counts(normalize=True)
    assert 0.15 < shares["test"] < 0.35 and 0.07 < shares["calibration"] < 0.25


def test_citizen_groups_are_stable_and_salted() -> None:
    ids = pd.Series([f"P-{i:05d}" for i in range(1000)])
    one = citizen_groups(ids, test_share=0.25, calibration_share=0.15, random_state=1)
    again = citizen_groups(
        ids[::-1].reset_index(drop=True),
        test_share=0.25,
        calibration_share=0.15,
        random_state=1,
    )
    assert dict(zip(ids, one, strict=True)) == dict(zip(ids[::-1], again, strict=True))
    other = citizen_groups(ids, test_share=0.25, calibration_share=0.15, random_state=2)
    assert (one != other).mean() > 0.2


def _mart(con: duckdb.DuckDBPyConnection) -> None:
    make_mart(
        con,
        [
            {
                "citizen_id": "a",
                "as_of_date": TEST_DATE,
                "has_diabetes": True,
                "age_years": 70,
                "living_situation": "shelter",
                "has_no_gp": True,
            },
            {
                "citizen_id": "b",
                "as_of_date": TEST_DATE,
                "has_diabetes": True,
                "age_years": None,
                "living_situation": None,
                "has_no_gp": False,
            },
            {
                "citizen_id": "c",
                "as_of_date": TEST_DATE,
                "has_diabetes": True,
                "is_alive_resident": False,
                "age_years": 50,
                "living_situation": "own_home",
                "has_no_gp": False,
            },
            {
                "citizen_id": "d",
                "as_of_date": TEST_DATE,
                "has_diabetes": False,
                "age_years": 50,
                "living_situation": "own_home",
                "has_no_gp": False,
            },
        ],
    )


def test_feature_kinds_by_mart_type_and_missing_feature_message(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _mart(con)
    kinds = feature_kinds(con, ["age_years", "living_situation", "has_no_gp"], spec="s")
    assert kinds == {
        "age_years": "numeric",
        "living_situation": "categorical",
        "has_no_gp": "numeric",
    }
    with pytest.raises(ConfigError) as error:
        feature_kinds(con, ["age_years", "shoe_size"], spec="s")
    assert str(error.value) == (
        "The spec 's' names features that marts.scoring_features does not have: "
        "shoe_size."
    )


def test_read_cohort_frame_keeps_alive_cohort_and_fills_types(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _mart(con)
    kinds = {
        "age_years": "numeric",
        "living_situation": "categorical",
        "has_no_gp": "numeric",
    }
    frame = read_cohort_frame(
        con, cohort="has_diabetes", as_of=TEST_DATE, features=list(kinds), kinds=kinds
    )
    assert list(frame["citizen_id"]) == ["a", "b"]
    assert frame["has_no_gp"].tolist() == [1.0, 0.0]
    assert np.isnan(frame["age_years"][1])
    assert frame["living_situation"].tolist() == ["shelter", "missing"]


def test_build_training_matrix_drops_censored_rows(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _mart(con)
    con.execute("create schema labels")
    con.execute(
        "create table labels.diabetes_harm_365d as select * from (values"
        " ('a', date '2024-01-01', 1, false, 10), ('b', date '2024-01-01', null, "
        "true, 30))"
        " t(citizen_id, as_of_date, label, is_censored, time_at_risk_days)"
    )
    kinds = {"age_years": "numeric"}
    frame = build_training_matrix(
        con,
        outcome="diabetes_harm_365d",
        features=["age_years"],
        dates=[TEST_DATE],
        kinds=kinds,
    )
    assert frame[["citizen_id", "label", "age_years"]].values.tolist() == [
        ["a", 1, 70.0]
    ]


def test_ensure_features_skips_dates_already_built(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _mart(con)
    assert ensure_features(con, [TEST_DATE]) == []


def test_fresh_dates_are_those_built_from_the_loaded_extract(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from tests.models.conftest import make_raw

    make_raw(
        con, extract_info=[{"extract_date": date(2026, 1, 1), "extract_hash": "old"}]
    )
    _mart(con)
    assert fresh_dates(con) == {TEST_DATE}
    con.execute("update raw.extract_info set extract_hash = 'new'")
    assert fresh_dates(con) == set()  # a newer extract: the mart is stale


def test_fresh_dates_are_stale_after_the_feature_sql_changes(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import models.matrix

    _mart(con)
    assert fresh_dates(con) == {TEST_DATE}
    monkeypatch.setattr(models.matrix, "features_version", lambda: "other-sql")
    assert fresh_dates(con) == set()  # built by other feature SQL: rebuild


def test_fresh_dates_ignore_a_record_without_a_features_version(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _mart(con)
    con.execute("alter table models.feature_builds drop column features_version")
    assert fresh_dates(con) == set()  # written by an older Opspor


def test_features_version_is_a_stable_short_hash() -> None:
    from models.matrix import features_version

    assert len(features_version()) == 16
    assert features_version() == features_version()


def _fake_build(con: duckdb.DuckDBPyConnection, as_of_dates: list[date]) -> None:
    """Stand-in for features.build.build_features: the mart at exactly these dates."""
    rows = [
        {
            "citizen_id": c,
            "as_of_date": d,
            "has_diabetes": True,
            "age_years": 60,
            "living_situation": "own_home",
            "has_no_gp": False,
        }
        for c in ("a", "b")
        for d in as_of_dates
    ]
    make_mart(con, rows)
    con.execute("delete from models.feature_builds")  # the real build keeps no record


def test_ensure_features_builds_only_missing_dates_and_keeps_the_rest(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import features.build

    _mart(con)
    built: list[list[date]] = []

    def fake(con: duckdb.DuckDBPyConnection, as_of_dates: list[date]) -> None:
        built.append(list(as_of_dates))
        _fake_build(con, as_of_dates)

    monkeypatch.setattr(features.build, "build_features", fake, raising=False)
    new = date(2024, 4, 1)
    assert ensure_features(con, [TEST_DATE, new]) == [new]
    assert built == [[new]]
    dates = con.execute(
        "select as_of_date, count(*) from marts.scoring_features group by 1 order by 1"
    ).fetchall()
    assert dates == [(TEST_DATE, 4), (new, 2)]
    spine = con.execute("select count(distinct as_of_date) from main.spine").fetchone()
    assert spine == (2,)
    assert fresh_dates(con) == {TEST_DATE, new}


def test_ensure_features_failed_build_leaves_the_mart(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import features.build

    _mart(con)
    con.execute("create schema if not exists raw")

    def broken(con: duckdb.DuckDBPyConnection, as_of_dates: list[date]) -> None:
        raise RuntimeError("build failed")

    monkeypatch.setattr(features.build, "build_features", broken, raising=False)
    with pytest.raises(RuntimeError):
        ensure_features(con, [date(2024, 4, 1)])
    assert con.execute("select count(*) from marts.scoring_features").fetchone() == (4,)
    assert fresh_dates(con) == {TEST_DATE}
