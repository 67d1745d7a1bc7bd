"""Load-report pages: each ``opspor load``, the trend across loads, volume collapses."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from features.load_report import LoadReport, TableCounts, write_report
from outreach.app.web.i18n import TEXT
from outreach.app.web.loads import load_trend, quarantine_by_column, sparkline

DA = TEXT["da"]
HASHES = ("a1" * 32, "b2" * 32, "c3" * 32, "d4" * 32)


def _report(out: Path, i: int, diagnoses: int, source: str = "region-x") -> LoadReport:
    """Write the load report of load ``i`` the way features.load does."""
    counts = {
        "citizens": TableCounts(100, 99, 1, {"null_required": 1}),
        "diagnoses": TableCounts(
            diagnoses + 2, diagnoses, 2, {"after_extract_date": 2}
        ),
    }
    report = LoadReport(
        "loaded",
        [],
        counts,
        extract_dir=f"/srv/extracts/secret-{i}",
        extract_hash=HASHES[i],
        extract_date=f"2026-0{i + 1}-01",
        source=source,
        contract="journal-extract/1",
        loaded_at=f"2026-0{i + 1}-02T06:00:00",
        coverage={"diagnoses": {"from": "2019-01-01", "method": "declared"}},
        normalised={"diagnoses.code": 3},
    )
    path = out / "reports" / "load" / f"{HASHES[i][:12]}.json"
    write_report(report.with_path(path))
    return report


def _loads(out: Path, volumes: tuple[int, ...]) -> None:
    for i, n in enumerate(volumes):
        _report(out, i, n)


def _mark_current(warehouse: Path, extract_hash: str) -> None:
    """raw.extract_info and raw.quarantine as a load leaves them (detail: reasons)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists raw")
        con.execute(
            "create or replace table raw.extract_info as select ? as extract_hash",
            [extract_hash],
        )
        con.execute(
            "create or replace table raw.quarantine as select * from (values"
            " ('diagnoses', 3, 'after_extract_date',"
            "  'after_extract_date(diagnosis_date)', '{}'),"
            " ('diagnoses', 9, 'after_extract_date',"
            "  'after_extract_date(diagnosis_date); invalid_format(code)', '{}'),"
            " ('citizens', 4, 'null_required', 'null_required(sex)', '{}'))"
            " as t(table_name, row_number, reason, detail, record)"
        )
    finally:
        con.close()


def test_load_trend_flags_a_table_that_collapses_against_earlier_loads() -> None:
    reports = [
        {
            "id": str(i),
            "loaded_at": str(i),
            "extract_date": "",
            "source": "x",
            "tables": {"t": {"read": n, "loaded": n, "quarantined": 0}},
            "coverage": {},
        }
        for i, n in enumerate((1000, 1100, 900, 400, 1000))
    ]
    rows = load_trend(reports)["t"]
    assert [r["collapsed"] for r in rows] == [False, False, False, True, False]


def test_load_trend_compares_only_loads_of_the_same_source() -> None:
    reports = [
        {
            "id": str(i),
            "loaded_at": str(i),
            "extract_date": "",
            "source": source,
            "tables": {"t": {"read": n, "loaded": n, "quarantined": 0}},
            "coverage": {},
        }
        for i, (source, n) in enumerate((("big", 1000), ("small", 10)))
    ]
    assert not load_trend(reports)["t"][1]["collapsed"]


def test_sparkline_spans_the_drawing() -> None:
    assert sparkline([0, 10], width=100, height=20) == "0.0,18.0 100.0,2.0"
    assert sparkline([5], width=100, height=20) == "0.0,2.0 100.0,2.0"
    assert sparkline([]) == ""


def test_quarantine_by_column_counts_first_reasons(con) -> None:
    con.execute("create schema raw")
    con.execute(
        "create table raw.quarantine as select * from (values"
        " ('d', 'a(x)'), ('d', 'a(x); b(y)'), ('d', 'c'))"
        " as t(table_name, detail)"
    )
    assert quarantine_by_column(con) == [
        {"table_name": "d", "reason": "a", "column_name": "x", "n": 2},
        {"table_name": "d", "reason": "c", "column_name": None, "n": 1},
    ]


def test_loads_page_shows_the_trend_and_flags_a_collapse(
    client_for, web_settings
) -> None:
    _loads(web_settings.output_dir, (5000, 5200, 5100, 900))
    page = client_for("dan").get("/loads")
    assert page.status_code == 200
    flag = DA["ld_collapsed_tables"].format(tables="diagnoses", share=50, window=3)
    assert flag in page.text
    assert "<polyline points=" in page.text
    assert f'href="/loads/{HASHES[3][:12]}"' in page.text
    assert "/srv/extracts" not in page.text  # no paths from the report


def test_loads_page_without_collapse_has_no_flag(client_for, web_settings) -> None:
    _loads(web_settings.output_dir, (5000, 5200))
    page = client_for("rita").get("/loads?lang=en")
    assert TEXT["en"]["ld_collapsed"] not in page.text
    assert "5,200" in page.text


def test_load_page_shows_counts_reasons_and_the_current_quarantine_by_column(
    client_for, web_settings
) -> None:
    _loads(web_settings.output_dir, (5000, 900))
    _mark_current(web_settings.warehouse, HASHES[1])
    page = client_for("dan").get(f"/loads/{HASHES[1][:12]}")
    assert page.status_code == 200
    assert "after_extract_date = 2" in page.text
    assert DA["ld_by_column"] in page.text
    assert "<td>after_extract_date</td><td>diagnosis_date</td><td>2</td>" in page.text
    assert "<td>null_required</td><td>sex</td><td>1</td>" in page.text
    assert "2019-01-01" in page.text  # coverage start
    assert "/srv/extracts" not in page.text


def test_load_page_of_an_earlier_load_shows_no_quarantine_rows(
    client_for, web_settings
) -> None:
    _loads(web_settings.output_dir, (5000, 5100))
    _mark_current(web_settings.warehouse, HASHES[1])
    page = client_for("dan").get(f"/loads/{HASHES[0][:12]}")
    assert DA["ld_by_column"] not in page.text


@pytest.mark.parametrize("load_id", ["zz", "..%2F..%2Fusers", "a1a1a1a1a1a2"])
def test_load_page_answers_404_for_a_bad_or_unknown_id(
    client_for, web_settings, load_id: str
) -> None:
    _loads(web_settings.output_dir, (5000,))
    assert client_for("dan").get(f"/loads/{load_id}").status_code == 404


def test_loads_pages_are_closed_to_coordinators(client_for, web_settings) -> None:
    _loads(web_settings.output_dir, (5000,))
    client = client_for("anna")
    assert client.get("/loads").status_code == 403
    assert client.get(f"/loads/{HASHES[0][:12]}").status_code == 403
