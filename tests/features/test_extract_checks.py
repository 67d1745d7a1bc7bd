"""features.extract_checks: whole-extract checks, one damaged tiny extract per case."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import features.load as load_module
from features.errors import ConfigError, ExtractValidationError
from features.extract_checks import (
    PLAUSIBLE_LAB_RANGES,
    normalise_source,
)
from features.load import load_extract
from features.settings import EngineSettings
from features.staging import stale_staging_folders

TinyExtract = Any


@pytest.fixture
def settings(tmp_path: Path) -> EngineSettings:
    return EngineSettings(output_dir=tmp_path / "build")


def _refusal(folder: Path, settings: EngineSettings, **kwargs: Any) -> list[str]:
    with pytest.raises(ExtractValidationError) as caught:
        load_extract(folder, settings=settings, **kwargs)
    return [p.message for p in caught.value.problems]


def _rows(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _newer(tiny_extract: TinyExtract, name: str, day: str = "2026-12-01") -> Path:
    builder = tiny_extract.builder()
    builder.info["extract_date"] = day
    return builder.write(name)


# --- extract.json: date and source ------------------------------------------------


def test_extract_date_in_the_future_is_refused(tiny_extract, settings) -> None:
    builder = tiny_extract.builder()
    builder.info["extract_date"] = "2099-01-01"
    assert _refusal(builder.write("x"), settings) == [
        f"extract.json: extract_date 2099-01-01 is after today ({date.today()}); "
        "an extract cannot be dated in the future."
    ]
    assert not settings.warehouse.exists()


def test_extract_date_tomorrow_is_allowed(tiny_extract, settings) -> None:
    tomorrow = date.today() + timedelta(days=1)
    report = load_extract(
        _newer(tiny_extract, "x", tomorrow.isoformat()), settings=settings
    )
    assert report.extract_date == tomorrow.isoformat()


def test_extract_date_before_its_events_is_refused(tiny_extract, settings) -> None:
    builder = tiny_extract.builder()
    builder.info["extract_date"] = "1900-01-01"
    assert _refusal(builder.write("x"), settings) == [
        "extract.json: extract_date 1900-01-01 is before 115 of 116 dated rows "
        "(latest 2026-10-27); the extract_date must not precede the extract's own "
        "events."
    ]


def test_a_few_events_after_extract_date_stay_row_level(tiny_extract, settings) -> None:
    builder = tiny_extract.builder().add("diagnoses", diagnosis_date=date(2026, 11, 30))
    report = load_extract(builder.write("x"), settings=settings)
    assert report.tables["diagnoses"].quarantine_reasons == {"after_extract_date": 1}


@pytest.mark.parametrize("source", [None, "", "   "])
def test_missing_or_blank_source_is_refused(tiny_extract, settings, source) -> None:
    builder = tiny_extract.builder()
    if source is None:
        del builder.info["source"]
    else:
        builder.info["source"] = source
    assert _refusal(builder.write("x"), settings) == [
        "extract.json: source is missing or blank; every extract must name the "
        "region or data service that delivered it."
    ]


def test_source_is_normalised() -> None:
    assert normalise_source("  Region  Sjælland ") == "region sjælland"
    assert normalise_source(" \t") is None


def test_older_extract_with_trailing_space_source_is_refused(
    tiny_extract, settings
) -> None:
    load_extract(_newer(tiny_extract, "newer"), settings=settings)
    builder = tiny_extract.builder()
    builder.info["source"] = "Tiny-Test-Region "
    assert _refusal(builder.write("older"), settings) == [
        "extract.json: extract_date 2026-11-23 is older than the loaded extract of "
        "source 'tiny-test-region' (2026-12-01); only a newer extract can replace it."
    ]


# --- one region per warehouse -------------------------------------------------------


def _other_region(tiny_extract: TinyExtract) -> Path:
    builder = tiny_extract.builder()
    builder.info["source"] = "region-nord"
    builder.info["extract_date"] = "2026-12-01"
    return builder.write("nord")


def test_another_source_is_refused(tiny_extract, settings) -> None:
    load_extract(tiny_extract.csv, settings=settings)
    assert _refusal(_other_region(tiny_extract), settings) == [
        "extract.json: source 'region-nord' differs from the loaded extract's source "
        "'tiny-test-region'; one warehouse holds one region. Use --replace-source "
        "--reason TEXT to replace it (the old region's features, labels, scores and "
        "reasons are dropped)."
    ]


def test_replace_source_needs_a_reason(tiny_extract, settings) -> None:
    with pytest.raises(ConfigError) as caught:
        load_extract(tiny_extract.csv, settings=settings, replace_source=True)
    assert str(caught.value) == (
        "The 'reason' parameter of load_extract must be a non-blank text when "
        "replace_source is true. Got None instead."
    )


def test_replace_source_drops_derived_tables_and_is_audited(
    tiny_extract, settings
) -> None:
    first = load_extract(tiny_extract.csv, settings=settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        for schema in ("marts", "scoring", "labels"):
            con.execute(f"create schema {schema}")
        con.execute("create table marts.scoring_features as select 1 as x")
        con.execute("create table scoring.scores as select 'c0001' as citizen_id")
        con.execute("create table scoring.reasons as select 'c0001' as citizen_id")
        con.execute("create table labels.harm as select 'c0001' as citizen_id")
        con.execute("create schema outreach")
        con.execute("create table outreach.opt_outs as select 'c0001' as citizen_id")
    report = load_extract(
        _other_region(tiny_extract),
        settings=settings,
        replace_source=True,
        reason="region merger",
    )
    left = _rows(
        settings.warehouse,
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_schema in ('marts', 'scoring', 'labels', 'outreach')",
    )
    assert left == [("outreach.opt_outs",)]
    audit = _rows(
        settings.warehouse,
        "select old_source, old_extract_hash, new_source, new_extract_hash, reason,"
        " dropped_relations from raw.source_replacements",
    )
    assert audit == [
        (
            "tiny-test-region", first.extract_hash, "region-nord",
            report.extract_hash, "region merger", 4,
        )
    ]  # fmt: skip


def test_stale_pre_check_is_caught_inside_the_transaction(
    tiny_extract, settings, monkeypatch
) -> None:
    load_extract(_newer(tiny_extract, "newer"), settings=settings)
    before = _rows(settings.warehouse, "select * from raw.extract_info")
    # As if this load read the warehouse before the newer extract was published.
    monkeypatch.setattr(load_module, "_current_extract", lambda warehouse: None)
    assert _refusal(tiny_extract.csv, settings) == [
        "extract.json: extract_date 2026-11-23 is older than the loaded extract of "
        "source 'tiny-test-region' (2026-12-01); only a newer extract can replace it."
    ]
    assert _rows(settings.warehouse, "select * from raw.extract_info") == before


def test_two_loads_started_together_newer_wins(tiny_extract, settings) -> None:
    folders = [tiny_extract.csv, _newer(tiny_extract, "newer")]
    for _ in range(3):
        settings.warehouse.unlink(missing_ok=True)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(
            folder: Path,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            barrier.wait()
            try:
                load_extract(folder, settings=settings)
            except ExtractValidationError as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(f,)) for f in reversed(folders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        dates = _rows(settings.warehouse, "select extract_date from raw.extract_info")
        assert dates == [(date(2026, 12, 1),)]
        assert len(errors) <= 1
    assert stale_staging_folders(settings.warehouse) == []


# --- the tables as a whole ------------------------------------------------------------


def test_all_event_tables_empty_is_refused(tiny_extract, settings) -> None:
    builder = tiny_extract.builder()
    for table in (
        "diagnoses", "prescriptions", "appointments", "lab_results", "hospital_contacts"
    ):  # fmt: skip
        builder.tables[table] = []
    assert _refusal(builder.write("x"), settings) == [
        "extract: every event table (diagnoses, prescriptions, appointments, "
        "lab_results, hospital_contacts) is empty; there is nothing to load."
    ]


def test_citizen_twice_keeps_the_opt_out(tiny_extract, settings) -> None:
    builder = tiny_extract.builder()
    twin = {**builder.tables["citizens"][0], "outreach_opt_out": True}
    builder.tables["citizens"].append(twin)
    report = load_extract(builder.write("x"), settings=settings)
    counts = report.tables["citizens"]
    assert (counts.read, counts.loaded) == (21, 20)
    assert counts.quarantine_reasons == {"conflicting_duplicate": 1}
    kept = _rows(
        settings.warehouse,
        "select outreach_opt_out from raw.citizens where citizen_id = 'c0001'",
    )
    assert kept == [(True,)]


def test_citizen_twice_keeps_death_and_emigration(tiny_extract, settings) -> None:
    builder = tiny_extract.builder()
    first = builder.tables["citizens"][1]
    builder.tables["citizens"].insert(
        0,
        {**first, "death_date": date(2026, 1, 2), "emigration_date": date(2025, 5, 6)},
    )
    builder.tables["citizens"].append({**first})  # an identical third copy
    report = load_extract(builder.write("x"), settings=settings)
    assert report.tables["citizens"].quarantine_reasons == {"conflicting_duplicate": 2}
    kept = _rows(
        settings.warehouse,
        "select death_date, emigration_date, outreach_opt_out from raw.citizens"
        " where citizen_id = 'c0002'",
    )
    assert kept == [(date(2026, 1, 2), date(2025, 5, 6), False)]


def test_identical_citizen_copies_stay_duplicate_id(tiny_extract, settings) -> None:
    builder = tiny_extract.builder()
    builder.tables["citizens"].append({**builder.tables["citizens"][3]})
    report = load_extract(builder.write("x"), settings=settings)
    assert report.tables["citizens"].quarantine_reasons == {"duplicate_id": 1}


# --- plausibility and CSV = Parquet -----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_implausible_values_are_quarantined(tiny_extract, settings, fmt) -> None:
    builder = tiny_extract.builder()
    for value in (-50.0, 1e9, 250.0):
        builder.add("lab_results", value=value)
    builder.add("lab_results", npu_code="NPU03835", value=48.0, unit="%")
    builder.add("lab_results", npu_code="NPU99999", value=1e9, unit="x")  # carried
    builder.add("prescriptions", prescription_id="p9001", days_supply=5000)
    report = load_extract(builder.write("x", fmt), settings=settings)
    assert report.tables["lab_results"].quarantine_reasons == {"implausible_value": 4}
    assert report.tables["lab_results"].loaded == 21
    assert report.tables["prescriptions"].quarantine_reasons == {"implausible_value": 1}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_nan_inf_and_fractional_integers_quarantined_alike(
    tiny_extract, settings, fmt
) -> None:
    builder = tiny_extract.builder()
    builder.add("lab_results", value=float("nan"))
    builder.add("lab_results", value=float("inf"))
    builder.add("lab_results", value=float("-inf"))
    builder.add("prescriptions", prescription_id="p9001", days_supply=2.5)
    report = load_extract(builder.write("x", fmt), settings=settings)
    assert report.tables["lab_results"].quarantine_reasons == {"unparseable_value": 3}
    assert report.tables["prescriptions"].quarantine_reasons == {"unparseable_value": 1}


def test_plausible_ranges_cover_the_generators_analytes() -> None:
    from synthetic_data import codes

    generated = {codes.HBA1C, codes.HBA1C_DCCT, *(c for c, *_ in codes.OTHER_LABS)}
    assert generated <= set(PLAUSIBLE_LAB_RANGES)
    units = {c: u for c, u, *_ in codes.OTHER_LABS}
    for code, unit in units.items():
        assert PLAUSIBLE_LAB_RANGES[code][0] == unit


def test_two_load_processes_started_together_newer_wins(tiny_extract, settings) -> None:
    import os
    import subprocess
    import sys

    code = "import sys; from outreach.app.cli import app; sys.argv[0] = 'opspor'; app()"
    env = {**os.environ, "OPSPOR_OUTPUT_DIR": str(settings.output_dir)}
    folders = [_newer(tiny_extract, "newer"), tiny_extract.csv]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "load",
                str(f),
                "--db",
                str(settings.warehouse),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in folders
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    dates = _rows(settings.warehouse, "select extract_date from raw.extract_info")
    assert dates == [(date(2026, 12, 1),)]
    assert outcomes[0][0] == 0, outcomes[0][2]
    # The older one either published first (then was replaced) or was refused.
    assert outcomes[1][0] in (0, 1)
    if outcomes[1][0] == 1:
        assert "is older than the loaded extract" in outcomes[1][2]
    assert stale_staging_folders(settings.warehouse) == []
