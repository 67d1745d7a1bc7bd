"""Coverage per event table: declared in extract.json, else inferred from volume."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from features.coverage import (
    BAD_COVERAGE,
    COVERAGE_TABLES,
    check_declared_coverage,
    infer_coverage_start,
    measure_coverage,
)

EXTRACT = date(2026, 11, 23)


def _months(start: date, counts: list[int]) -> list[tuple[date, int]]:
    out, year, month = [], start.year, start.month
    for n in counts:
        if n:
            out.append((date(year, month, 1), n))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def test_infer_coverage_start_skips_thin_years_before_the_table_starts() -> None:
    # three thin years (re-recorded history), then full volume from 2023-12
    volume = _months(date(2020, 12, 1), [3] * 36 + [500] * 36)
    start, typical = infer_coverage_start(volume, EXTRACT)
    assert start == date(2023, 12, 1)
    assert typical == 500


def test_infer_coverage_start_keeps_a_table_without_a_gap_whole() -> None:
    # a holiday month at a third of the usual volume is no gap
    counts = [400] * 30
    counts[10] = 130
    start, _ = infer_coverage_start(_months(date(2024, 5, 1), counts), EXTRACT)
    assert start == date(2024, 5, 1)


def test_infer_coverage_start_ignores_a_growing_volume() -> None:
    counts = [300 + 5 * i for i in range(60)]  # doubles over five years
    start, _ = infer_coverage_start(_months(date(2021, 11, 1), counts), EXTRACT)
    assert start == date(2021, 11, 1)


def test_infer_coverage_start_after_a_gap_in_the_middle() -> None:
    counts = [300] * 12 + [0] * 6 + [300] * 24
    start, _ = infer_coverage_start(_months(date(2023, 5, 1), counts), EXTRACT)
    assert start == date(2024, 11, 1)


def test_infer_coverage_start_of_a_sparse_table_is_its_first_event() -> None:
    counts = [0, 2, 0, 0, 5, 1, 0, 3] * 5
    start, typical = infer_coverage_start(_months(date(2023, 7, 1), counts), EXTRACT)
    assert start == date(2023, 8, 1)
    assert typical < 20


def test_infer_coverage_start_of_an_empty_table_is_none() -> None:
    assert infer_coverage_start([], EXTRACT) == (None, 0.0)


def test_check_declared_coverage_reads_each_table() -> None:
    doc = {"coverage": {"lab_results": {"from": "2017-01-01"}}}
    starts, problems = check_declared_coverage(doc, EXTRACT)
    assert starts == {"lab_results": date(2017, 1, 1)} and problems == []
    assert check_declared_coverage({}, EXTRACT) == ({}, [])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("labs", {"from": "2017-01-01"}),
        ("lab_results", {"from": "2017-13-01"}),
        ("lab_results", "2017-01-01"),
        ("lab_results", {"from": "2027-01-01"}),
        ("citizens", {"from": "2017-01-01"}),
    ],
)
def test_check_declared_coverage_refuses_a_bad_entry(key: str, value: object) -> None:
    starts, problems = check_declared_coverage({"coverage": {key: value}}, EXTRACT)
    assert starts == {}
    assert [p.message for p in problems] == [
        BAD_COVERAGE.format(tables=", ".join(COVERAGE_TABLES), value=value, key=key)
    ]
    assert problems[0].table == "extract.json" and problems[0].column == "coverage"


class TestErrorMessages:
    def test_bad_coverage_message(self) -> None:
        _, problems = check_declared_coverage({"coverage": []}, EXTRACT)
        assert problems[0].message == (
            "extract.json: 'coverage' must be an object of event tables, each "
            '{"from": "YYYY-MM-DD"} on or before extract_date; tables: diagnoses, '
            "prescriptions, appointments, lab_results, hospital_contacts. "
            "Got [] for 'coverage'."
        )


def test_measure_coverage_prefers_declared_and_counts_history_before() -> None:
    con = duckdb.connect()
    con.execute("create schema raw")
    for table, column in COVERAGE_TABLES.items():
        con.execute(f"create table raw.{table} ({column} date)")
    con.execute(
        "insert into raw.lab_results select date '2018-01-01' + cast(i * 3 as integer)"
        " from range(3000) as t(i)"
    )
    con.execute(
        "insert into raw.diagnoses select date '2024-01-01' + cast(i % 1000 as integer)"
        " from range(20000) as t(i)"
    )
    coverage = measure_coverage(
        con,
        {t: f"raw.{t}" for t in COVERAGE_TABLES},
        declared={"lab_results": date(2019, 1, 1)},
        extract_date=EXTRACT,
    )
    labs, diagnoses = coverage["lab_results"], coverage["diagnoses"]
    assert (labs.start, labs.method, labs.rows_before) == (
        date(2019, 1, 1),
        "declared",
        122,
    )
    assert labs.first_event == date(2018, 1, 1)
    assert (diagnoses.start, diagnoses.method) == (date(2024, 1, 1), "inferred")
    assert coverage["prescriptions"].method == "empty"
    assert coverage["prescriptions"].start is None
    assert json.loads(json.dumps(labs.as_dict()))["from"] == "2019-01-01"


def test_load_reports_and_stores_coverage_per_table(tiny_extract, isolated_env) -> None:
    from features.load import load_extract
    from features.settings import EngineSettings

    builder = tiny_extract.builder()
    builder.info["coverage"] = {"lab_results": {"from": "2015-01-01"}}
    settings = EngineSettings.from_env()
    report = load_extract(builder.write("declared"), settings=settings)
    assert set(report.coverage) == set(COVERAGE_TABLES)
    assert report.coverage["lab_results"]["from"] == "2015-01-01"
    assert report.coverage["lab_results"]["method"] == "declared"
    assert {c["method"] for t, c in report.coverage.items() if t != "lab_results"} <= {
        "inferred",
        "empty",
    }
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, coverage_from, method from raw.coverage order by 1"
        ).fetchall()
        info = con.execute("select coverage from raw.extract_info").fetchone()
    assert ("lab_results", date(2015, 1, 1), "declared") in rows and len(rows) == 5
    assert json.loads(info[0]) == report.coverage


def test_load_refuses_a_bad_coverage_before_writing(tiny_extract, isolated_env) -> None:
    from features.errors import ExtractValidationError
    from features.load import load_extract
    from features.settings import EngineSettings

    builder = tiny_extract.builder()
    builder.info["coverage"] = {"labs": {"from": "2015-01-01"}}
    settings = EngineSettings.from_env()
    with pytest.raises(ExtractValidationError) as refused:
        load_extract(builder.write("bad"), settings=settings)
    assert [p.column for p in refused.value.problems] == ["coverage"]
    assert not settings.warehouse.exists()
