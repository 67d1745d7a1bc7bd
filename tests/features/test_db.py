from __future__ import annotations

import duckdb
import pytest

from features.db import check_identifier, swap_table, table_exists, transaction
from features.errors import ConfigError


def test_check_identifier_accepts_lower_snake() -> None:
    assert check_identifier("feat_attendance") == "feat_attendance"


@pytest.mark.parametrize("name", ["Drop", "x; drop table y", "1abc", "a-b", ""])
def test_check_identifier_refuses_unsafe(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a safe SQL identifier"):
        check_identifier(name)


def test_swap_table_replaces_contents(con: duckdb.DuckDBPyConnection) -> None:
    swap_table(con, "s", "t", "select 1 as x")
    swap_table(con, "s", "t", "select $v as x", {"v": 7})
    assert con.execute("select x from s.t").fetchall() == [(7,)]


def test_transaction_rolls_back_on_error(con: duckdb.DuckDBPyConnection) -> None:
    swap_table(con, "s", "t", "select 1 as x")
    with pytest.raises(RuntimeError), transaction(con):
        swap_table(con, "s", "t", "select 2 as x")
        swap_table(con, "s", "u", "select 3 as y")
        raise RuntimeError("crash mid-load")
    assert con.execute("select x from s.t").fetchall() == [(1,)]
    assert not table_exists(con, "s", "u")


@pytest.mark.parametrize("where", ["file", "memory"])
def test_connect_turns_off_duckdbs_progress_bar(tmp_path, where: str) -> None:
    """DuckDB's bar goes to stdout, where it broke ``opspor --json`` output."""
    from features.db import connect

    con = connect(tmp_path / "w.duckdb" if where == "file" else None)
    try:
        shown = con.execute("select current_setting('enable_progress_bar')").fetchone()
        assert shown == (False,)
    finally:
        con.close()
