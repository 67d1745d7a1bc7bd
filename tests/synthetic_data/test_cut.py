"""Cutting an extract at a date, as a delivery on that date would be."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from synthetic_data.cut import CUT_RULES, cut_extract

CUT = date(2025, 6, 1)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cut_extract_keeps_only_what_was_known(generate, tmp_path, fmt) -> None:
    full = generate("region_small", fmt=fmt, citizens=800)
    out = cut_extract(full.out_dir, tmp_path / "cut", CUT)
    info = json.loads((out / "extract.json").read_text())
    assert info["extract_date"] == CUT.isoformat()
    con = duckdb.connect()
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    for table, (column, forgotten) in CUT_RULES.items():
        rel = f"{reader}('{out / f'{table}.{fmt}'}')"
        later = con.execute(
            f"select count(*) from {rel} where {column} >= $c", {"c": CUT}
        )
        assert later.fetchone() == (0,), table
        for name in forgotten:
            row = con.execute(
                f"select count(*) from {rel} where {name} >= $c", {"c": CUT}
            )
            assert row.fetchone() == (0,), (table, name)
        kept = con.execute(f"select count(*) from {rel}").fetchone()
        src = f"{reader}('{full.out_dir / f'{table}.{fmt}'}')"
        before = con.execute(
            f"select count(*) from {src} where {column} < $c", {"c": CUT}
        ).fetchone()
        assert kept == before, table
    # a redemption after the cut is forgotten, not the prescription
    src = f"{reader}('{full.out_dir / f'prescriptions.{fmt}'}')"
    late = con.execute(
        f"select count(*) from {src} where issued_date < $c and redeemed_date >= $c",
        {"c": CUT},
    ).fetchone()
    rel = f"{reader}('{out / f'prescriptions.{fmt}'}')"
    nulls = con.execute(
        f"select count(*) from {rel} where redeemed_date is null"
    ).fetchone()
    unredeemed = con.execute(
        f"select count(*) from {src} where issued_date < $c and redeemed_date is null",
        {"c": CUT},
    ).fetchone()
    assert late[0] > 0 and nulls[0] == late[0] + unredeemed[0]


def test_cut_extract_loads_as_a_valid_extract(generate, tmp_path, isolated_env) -> None:
    from features.load import load_extract
    from features.settings import EngineSettings

    full = generate("region_small", fmt="csv", citizens=800)
    out = cut_extract(full.out_dir, tmp_path / "cut", CUT)
    report = load_extract(out, settings=EngineSettings.from_env())
    assert report.status == "loaded" and report.extract_date == CUT.isoformat()
    assert report.tables["citizens"].quarantined == 0
    assert sum(c.quarantined for c in report.tables.values()) == 0
