"""build_features, export_scoring_features and the `opspor features` commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import features.build
from features.build import (
    BAD_MODEL,
    NO_EXTRACT,
    NO_FEATURES,
    _Slice,
    _spine_slices,
    build_features,
    export_scoring_features,
)
from features.checks import Contract
from features.errors import ConfigError, NotFoundError
from outreach.app.cli import app
from tests.features.sql.raw_tables import create_raw

T = date(2024, 6, 1)
RAW = {
    "citizens": [{"citizen_id": "c1"}, {"citizen_id": "c2", "sex": "F"}],
    "lab_results": [
        {"citizen_id": "c1", "sample_date": date(2024, 1, 1), "value": 50.0}
    ],
}


def test_build_features_creates_views_by_layer_and_mart_tables(con) -> None:
    create_raw(con, RAW)
    result = build_features(con, [T, date(2024, 7, 1)])
    kinds = dict(
        con.execute(
            "select table_schema || '.' || table_name, table_type"
            " from information_schema.tables where table_schema in"
            " ('staging', 'intermediate', 'timelines', 'citizen', 'marts')"
        ).fetchall()
    )
    assert kinds["staging.stg_citizens"] == "VIEW"
    # Spine-free models several views read are tables (materialized: table).
    assert kinds["intermediate.int_hba1c__converted"] == "BASE TABLE"
    assert kinds["intermediate.int_prescriptions__redemption_lagged"] == "VIEW"
    assert kinds["timelines.tl_glycaemic"] == "VIEW"
    assert kinds["citizen.feat_glycaemic"] == "VIEW"
    assert kinds["marts.scoring_features"] == "BASE TABLE"
    assert kinds["marts.audit_attributes"] == "BASE TABLE"
    assert (result.n_citizens, result.n_rows, result.as_of_dates) == (
        2,
        4,
        [T, date(2024, 7, 1)],
    )
    assert result.n_features >= 40


def test_build_features_twice_gives_the_same_mart(con) -> None:
    create_raw(con, RAW)
    build_features(con, [T])
    first = con.execute(
        "select * from marts.scoring_features order by citizen_id"
    ).fetchall()
    build_features(con, [T])
    assert (
        con.execute(
            "select * from marts.scoring_features order by citizen_id"
        ).fetchall()
        == first
    )


def test_build_features_replaces_the_dates_of_the_mart(con) -> None:
    create_raw(con, RAW)
    build_features(con, [T])
    build_features(con, [date(2025, 1, 1)])
    assert con.execute(
        "select distinct as_of_date from marts.scoring_features"
    ).fetchall() == [(date(2025, 1, 1),)]


def test_export_scoring_features_writes_one_date_to_parquet(
    con, tmp_path: Path
) -> None:
    create_raw(con, RAW)
    build_features(con, [T, date(2024, 7, 1)])
    out = tmp_path / "x" / "features.parquet"
    result = export_scoring_features(con, as_of_date=T, out=out)
    table = pq.read_table(out)
    assert (result.n_rows, table.num_rows) == (2, 2)
    assert table.column("citizen_id").to_pylist() == ["c1", "c2"]
    assert set(table.column("as_of_date").to_pylist()) == {T}
    assert [p.name for p in out.parent.iterdir()] == ["features.parquet"]


class TestErrorMessages:
    def test_no_extract(self, con) -> None:
        with pytest.raises(NotFoundError) as info:
            build_features(con, [T])
        assert str(info.value) == NO_EXTRACT.format(db=":memory:")
        assert str(info.value) == (
            "No extract is loaded in :memory:; run `opspor load EXTRACT_DIR` first."
        )

    def test_no_features_for_the_date(self, con, tmp_path: Path) -> None:
        create_raw(con, RAW)
        build_features(con, [T])
        with pytest.raises(NotFoundError) as info:
            export_scoring_features(
                con, as_of_date=date(2020, 1, 1), out=tmp_path / "f.parquet"
            )
        assert str(info.value) == NO_FEATURES.format(as_of="2020-01-01", db=":memory:")
        assert not (tmp_path / "f.parquet").exists()


@pytest.fixture
def warehouse(tmp_path: Path, isolated_env: Path) -> Path:
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    create_raw(con, RAW)
    con.close()
    return db


def test_cli_features_builds_a_range_and_prints_json(warehouse: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "features",
            "--as-of-range",
            "2024-01-01:2024-03-01",
            "--every",
            "1mo",
            "--db",
            str(warehouse),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["as_of_dates"] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert payload["n_rows"] == 6


def test_cli_features_export_writes_parquet(warehouse: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["features", "--as-of", "2024-06-01", "--db", str(warehouse)]
        ).exit_code
        == 0
    )
    out = tmp_path / "f.parquet"
    result = runner.invoke(
        app,
        [
            "features",
            "export",
            "--as-of",
            "2024-06-01",
            "--out",
            str(out),
            "--db",
            str(warehouse),
        ],
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_rows == 2


def test_cli_features_without_an_extract_exits_1(
    tmp_path: Path, isolated_env: Path
) -> None:
    db = tmp_path / "none.duckdb"
    result = CliRunner().invoke(
        app, ["features", "--as-of", "2024-06-01", "--db", str(db)]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"NotFoundError: No extract is loaded in {db};"
        " run `opspor load EXTRACT_DIR` first."
    )
    assert not db.exists()


def test_cli_features_with_a_bad_date_exits_2(warehouse: Path) -> None:
    result = CliRunner().invoke(
        app, ["features", "--as-of", "2024-13-01", "--db", str(warehouse)]
    )
    assert result.exit_code == 2
    assert "The as-of date must be an ISO date" in result.stderr


def test_cli_features_catalogue_writes_markdown_and_json(isolated_env: Path) -> None:
    result = CliRunner().invoke(app, ["features", "catalogue"])
    assert result.exit_code == 0, result.output
    assert (isolated_env / "catalogue" / "feature_catalogue.md").exists()
    assert json.loads(
        (isolated_env / "catalogue" / "feature_catalogue.json").read_text()
    )


@pytest.mark.parametrize(
    ("dates", "slice_rows"),
    [
        ([date(2023, 3, 1), T], 7),  # more slices than dates: citizens hashed
        ([date(2023, 3, 1), date(2023, 9, 1), T], 40),  # one date per slice
        ([date(2023, 3, 1), date(2023, 9, 1), T], 80),  # runs of dates
    ],
)
def test_build_features_in_slices_gives_the_same_marts(
    con, dates: list[date], slice_rows: int
) -> None:
    from tests.features.test_leakage import _extract

    create_raw(con, _extract(seed=3, n=40))
    build_features(con, dates)
    tables = ("scoring_features", "audit_attributes")
    sql = "select * from marts.{} order by citizen_id, as_of_date"
    whole = {t: con.execute(sql.format(t)).df() for t in tables}
    spine = con.execute("select * from main.spine").fetchall()
    build_features(con, dates, slice_rows=slice_rows)
    for table, frame in whole.items():
        sliced = con.execute(sql.format(table)).df()
        pd.testing.assert_frame_equal(sliced, frame, check_exact=False, rtol=1e-9)
    # The whole spine is back, in the order it was written.
    assert con.execute("select * from main.spine").fetchall() == spine
    assert len(spine) == 40 * len(dates)


def test_spine_slices_split_runs_of_dates_first() -> None:
    days = [date(2024, m, 1) for m in (3, 1, 2, 4, 5)]
    # Three slices of five dates (a repeated date counts once), in date order.
    assert _spine_slices(days + days[:1], n_rows=500, slice_rows=200) == [
        _Slice(date(2024, 1, 1), date(2024, 1, 1)),
        _Slice(date(2024, 2, 1), date(2024, 3, 1)),
        _Slice(date(2024, 4, 1), date(2024, 5, 1)),
    ]
    assert _spine_slices(days, n_rows=500, slice_rows=500) == [
        _Slice(date(2024, 1, 1), date(2024, 5, 1))
    ]


def test_spine_slices_hash_citizens_when_one_date_is_too_many_rows() -> None:
    days = [date(2024, 1, 1), date(2024, 2, 1)]
    assert _spine_slices(days, n_rows=1000, slice_rows=300) == [
        _Slice(days[0], days[0], 2, 0),
        _Slice(days[0], days[0], 2, 1),
        _Slice(days[1], days[1], 2, 0),
        _Slice(days[1], days[1], 2, 1),
    ]


def _kind(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    rows = con.execute(
        "select table_type from information_schema.tables"
        " where table_schema = $s and table_name = $t",
        {"s": schema, "t": name},
    ).fetchall()
    return str(rows[0][0])


def test_build_features_replaces_a_model_of_the_other_kind(con) -> None:
    """A warehouse built before a model changed kind is rebuilt without error."""
    create_raw(con, RAW)
    for schema in ("intermediate", "marts"):
        con.execute(f"create schema {schema}")
    con.execute("create view intermediate.int_hba1c__converted as select 1 as x")
    con.execute(
        "create table intermediate.int_prescriptions__redemption_lagged (x integer)"
    )
    con.execute("create view marts.audit_attributes as select 1 as x")
    build_features(con, [T])
    assert _kind(con, "intermediate", "int_hba1c__converted") == "BASE TABLE"
    name = "int_prescriptions__redemption_lagged"
    assert _kind(con, "intermediate", name) == "VIEW"
    assert _kind(con, "marts", "audit_attributes") == "BASE TABLE"


def test_build_features_restores_the_optimizer_settings(con) -> None:
    create_raw(con, RAW)
    con.execute("set disabled_optimizers = 'join_order'")
    build_features(con, [T])
    setting = "select current_setting('disabled_optimizers')"
    assert con.execute(setting).fetchall() == [("join_order",)]


def test_build_features_with_a_bad_model_materialization(con, monkeypatch) -> None:
    create_raw(con, RAW)
    real = features.build.load_contract

    def fake(file: str) -> Contract:
        contract = real(file)
        if file != "intermediate/int_hba1c__converted.yml":
            return contract
        body = {**contract.body, "materialized": "sometimes"}
        return Contract(contract.name, file, contract.grain, contract.columns, body)

    monkeypatch.setattr(features.build, "load_contract", fake)
    with pytest.raises(ConfigError) as error:
        build_features(con, [T])
    assert str(error.value) == BAD_MODEL.format(
        model="intermediate/int_hba1c__converted", value="sometimes"
    )
    assert (
        BAD_MODEL.format(model="intermediate/int_x", value="sometimes")
        == "The 'materialized' setting of model 'intermediate/int_x' in its .yml"
        " contract must be 'view' or 'table'. Got 'sometimes' instead."
    )
