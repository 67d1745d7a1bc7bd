"""YAML contract checks: each test kind, the grain, the column list, exact messages."""

from __future__ import annotations

from typing import Any

import pytest

from features.checks import (
    CHECK_FAILED,
    COLUMNS_DIFFER,
    GRAIN_NOT_UNIQUE,
    Contract,
    check_relation,
    load_contract,
)
from features.errors import ConfigError, ContractError


def _contract(
    columns: list[dict[str, Any]], grain: tuple[str, ...] = ("k",)
) -> Contract:
    return Contract("t", "citizen/feat_t.yml", grain, tuple(columns), {})


@pytest.fixture
def table(con):
    con.execute("create schema s")
    con.execute(
        "create table s.t as select * from (values"
        " ('a', 1, 'x', 'c1'), ('b', -2, 'y', 'c2'), ('c', null, 'z', 'c3'))"
        " v(k, n, cat, citizen_id)"
    )
    con.execute(
        "create table s.parents as select 'c1' as citizen_id union all select 'c2'"
    )
    return "s.t"


def _columns(**tests: list[Any]) -> list[dict[str, Any]]:
    names = ["k", "n", "cat", "citizen_id"]
    return [{"name": name, "tests": tests.get(name, [])} for name in names]


def test_check_relation_passes_a_table_that_meets_its_contract(con, table) -> None:
    contract = _contract(
        _columns(
            k=["not_null"],
            cat=[{"accepted_values": ["x", "y", "z"]}],
            n=[{"min": -5}, {"max": 1}],
        )
    )
    check_relation(con, contract, table)


class TestErrorMessages:
    def test_not_null(self, con, table) -> None:
        with pytest.raises(ContractError) as info:
            check_relation(con, _contract(_columns(n=["not_null"])), table)
        assert str(info.value) == (
            "citizen/feat_t.yml: column 'n' failed not_null: 1 row(s). Sample: NULL."
        )

    def test_min_and_max(self, con, table) -> None:
        with pytest.raises(ContractError) as info:
            check_relation(con, _contract(_columns(n=[{"min": 0}, {"max": 0}])), table)
        assert str(info.value) == (
            "citizen/feat_t.yml: column 'n' failed min 0: 1 row(s). Sample: -2.\n"
            "citizen/feat_t.yml: column 'n' failed max 0: 1 row(s). Sample: 1."
        )

    def test_accepted_values(self, con, table) -> None:
        with pytest.raises(ContractError) as info:
            check_relation(
                con, _contract(_columns(cat=[{"accepted_values": ["x"]}])), table
            )
        assert str(info.value) == CHECK_FAILED.format(
            file="citizen/feat_t.yml",
            column="cat",
            test="accepted_values",
            rows=2,
            sample="y, z",
        )

    def test_relationships_withholds_identifiers(self, con, table) -> None:
        rel = {"relationships": {"to": "s.parents", "field": "citizen_id"}}
        with pytest.raises(ContractError) as info:
            check_relation(con, _contract(_columns(citizen_id=[rel])), table)
        assert str(info.value) == (
            "citizen/feat_t.yml: column 'citizen_id' failed relationships"
            " -> s.parents.citizen_id:"
            " 1 row(s). Sample: withheld (identifier)."
        )

    def test_grain_not_unique(self, con, table) -> None:
        con.execute("insert into s.t values ('a', 5, 'x', 'c1'), ('a', 6, 'x', 'c1')")
        with pytest.raises(ContractError) as info:
            check_relation(con, _contract(_columns()), table)
        assert str(info.value) == GRAIN_NOT_UNIQUE.format(
            file="citizen/feat_t.yml", grain="k", rows=2
        )
        assert (
            str(info.value)
            == "citizen/feat_t.yml: the grain (k) is not unique: 2 extra row(s)."
        )

    def test_columns_differ(self, con, table) -> None:
        columns = [*_columns()[:3], {"name": "missing_col"}]
        with pytest.raises(ContractError) as info:
            check_relation(con, _contract(columns), table)
        assert str(info.value) == COLUMNS_DIFFER.format(
            file="citizen/feat_t.yml",
            relation="s.t",
            extra="citizen_id",
            missing="missing_col",
        )
        assert str(info.value) == (
            "citizen/feat_t.yml: s.t and its contract disagree on columns; not in the"
            " contract: citizen_id; missing from the relation: missing_col."
        )

    def test_unknown_test_is_a_config_error(self, con, table) -> None:
        with pytest.raises(ConfigError) as info:
            check_relation(con, _contract(_columns(n=["positive"])), table)
        assert (
            str(info.value)
            == "citizen/feat_t.yml: column 'n' has an unknown test 'positive'."
        )


def test_load_contract_resolves_inherited_columns() -> None:
    mart = load_contract("marts/scoring_features.yml")
    attendance = load_contract("citizen/feat_attendance.yml")
    assert set(attendance.column_names) <= set(mart.column_names)
    assert mart.grain == ("citizen_id", "as_of_date")
    assert mart.column_names.count("citizen_id") == 1


def test_build_raises_contract_error_and_keeps_the_previous_marts(con) -> None:
    from datetime import date

    from features.build import build_features
    from tests.features.sql.raw_tables import create_raw

    create_raw(con, {"citizens": [{"citizen_id": "c1"}]})
    build_features(con, [date(2024, 1, 1)])
    con.execute("update raw.citizens set sex = 'X'")
    with pytest.raises(ContractError) as info:
        build_features(con, [date(2025, 1, 1)])
    assert str(info.value) == (
        "staging/stg_citizens.yml: column 'sex' failed accepted_values:"
        " 1 row(s). Sample: X."
    )
    dates = con.execute(
        "select distinct as_of_date from marts.scoring_features"
    ).fetchall()
    assert dates == [(date(2024, 1, 1),)]


def test_build_checks_an_inherited_view_on_the_mart_rows(con) -> None:
    from datetime import date

    from features.build import build_features
    from tests.features.sql.raw_tables import create_raw

    old = {"citizen_id": "c1", "birth_date": date(1850, 1, 1)}
    create_raw(con, {"citizens": [old]})
    with pytest.raises(ContractError) as info:
        build_features(con, [date(2024, 1, 1)])
    assert str(info.value) == (
        "citizen/feat_demographics.yml: column 'age_years' failed max 130:"
        " 1 row(s). Sample: 174."
    )


def test_row_count_must_match_the_named_relation(con, table) -> None:
    contract = Contract(
        "t", "marts/t.yml", ("k",), tuple(_columns()), {"same_rows_as": "s.parents"}
    )
    with pytest.raises(ContractError) as info:
        check_relation(con, contract, table)
    assert str(info.value) == "marts/t.yml: s.t has 3 row(s) but s.parents has 2."
