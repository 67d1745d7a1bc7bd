"""features.load: refusal messages, quarantine accounting, idempotent, atomic loads."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import features.load as load_module
import features.stages as stages_module
from features.contract import PANDERA_MODELS, TABLES
from features.errors import ExtractValidationError
from features.load import load_extract
from features.load_report import LoadReport
from features.settings import EngineSettings
from outreach.app.cli import app

EXTRACT_DATE = date(
    2026, 11, 23
)  # the tiny extract's extract_date (tests/features/conftest.py)
TinyExtract = Any  # the tiny_extract fixture's type (conftest helpers are not imported)
ExtractBuilder = Any


@pytest.fixture
def settings(tmp_path: Path) -> EngineSettings:
    return EngineSettings(output_dir=tmp_path / "build")


def _refusal(folder: Path, settings: EngineSettings) -> list[str]:
    with pytest.raises(ExtractValidationError) as caught:
        load_extract(folder, settings=settings)
    return [p.message for p in caught.value.problems]


def _snapshot(warehouse: Path) -> dict[str, Any]:
    """Every raw table's rows (in stored order) plus the row count of load_reports."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [*TABLES, "quarantine", "extract_info"]
        snap: dict[str, Any] = {
            t: con.execute(f"select * from raw.{t}").fetchall() for t in tables
        }
        snap["load_reports"] = con.execute(
            "select count(*) from raw.load_reports"
        ).fetchone()
    return snap


# --- refusals: one exact message per problem --------------------------------------


class TestErrorMessages:
    def test_load_extract_missing_table(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        folder = tiny_extract.builder().drop_table("lab_results").write("x")
        assert _refusal(folder, settings) == [
            "lab_results: the table is missing "
            "(expected lab_results.csv or lab_results.parquet)."
        ]

    def test_load_extract_missing_column(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        folder = (
            tiny_extract.builder().drop_column("diagnoses", "code_system").write("x")
        )
        assert _refusal(folder, settings) == [
            "diagnoses: the required column 'code_system' is missing."
        ]

    def test_load_extract_missing_nullable_column(self, tiny_extract, settings) -> None:
        folder = tiny_extract.builder().drop_column("citizens", "death_date").write("x")
        assert _refusal(folder, settings) == [
            "citizens: the required column 'death_date' is missing."
        ]

    def test_load_extract_wrong_contract(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        builder = tiny_extract.builder()
        builder.info["contract"] = "journal-extract/2"
        assert _refusal(builder.write("x"), settings) == [
            "extract.json: contract 'journal-extract/2' is not supported; "
            "expected 'journal-extract/1'."
        ]

    def test_load_extract_bad_extract_date(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        builder = tiny_extract.builder()
        builder.info["extract_date"] = "23-11-2026"
        assert _refusal(builder.write("x"), settings) == [
            "extract.json: extract_date '23-11-2026' is not an ISO date (YYYY-MM-DD)."
        ]

    def test_load_extract_no_extract_json(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        folder = tiny_extract.builder().write("x")
        (folder / "extract.json").unlink()
        assert _refusal(folder, settings) == [
            "extract.json: the file is missing; "
            "an extract must start with extract.json."
        ]

    def test_load_extract_missing_folder(self, tmp_path: Path, settings) -> None:
        folder = tmp_path / "nowhere"
        assert _refusal(folder, settings) == [
            f"{folder}: the extract folder does not exist."
        ]

    def test_load_extract_cpr_shaped_ids(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        builder = tiny_extract.builder()
        builder.set("citizens", 0, citizen_id="010190-1234")
        builder.set("citizens", 1, citizen_id="2512851234")
        builder.set("citizens", 2, citizen_id="010190-1234")
        builder.set("lab_results", 4, citizen_id="311299-0001")
        assert _refusal(builder.write("x"), settings) == [
            "citizens.citizen_id: 3 rows with CPR-shaped values (e.g. '010190-****', "
            "'251285****'); extracts must be pseudonymised before delivery.",
            "lab_results.citizen_id: 1 row with CPR-shaped values "
            "(e.g. '311299-****'); extracts must be pseudonymised before delivery.",
        ]

    def test_load_extract_unknown_enum_values(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        builder = tiny_extract.builder()
        builder.set("appointments", 3, status="noshow").set(
            "appointments", 5, status="noshow"
        )
        assert _refusal(builder.write("x"), settings) == [
            "appointments.status: 2 rows with values outside the contract "
            "(e.g. 'noshow'); allowed: attended, no_show, cancelled_by_citizen, "
            "cancelled_by_provider, scheduled."
        ]

    def test_load_extract_column_not_of_its_type(self, tiny_extract, settings) -> None:
        builder = tiny_extract.builder()
        for i, row in enumerate(builder.tables["lab_results"]):
            row["value"] = ["high", "low", "n/a"][i % 3]
        assert _refusal(builder.write("x"), settings) == [
            "lab_results.value: 20 of 20 non-empty values are not numbers "
            "(e.g. 'high', 'low', 'n/a'); "
            "the column is refused when more than half fail."
        ]

    def test_load_extract_dates_not_iso(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        builder = tiny_extract.builder()
        for row in builder.tables["diagnoses"]:
            row["diagnosis_date"] = row["diagnosis_date"].strftime("%d/%m/%Y")
        assert _refusal(builder.write("x"), settings) == [
            "diagnoses.diagnosis_date: 30 of 30 non-empty values are not ISO dates "
            "(YYYY-MM-DD) (e.g. '24/10/2026', '24/09/2026', '19/09/2026'); "
            "the column is refused when more than half fail."
        ]

    def test_load_extract_required_column_mostly_empty(
        self, tiny_extract, settings
    ) -> None:
        builder = tiny_extract.builder()
        for row in builder.tables["citizens"][:11]:
            row["sex"] = None
        assert _refusal(builder.write("x"), settings) == [
            "citizens.sex: 11 of 20 rows are empty, but the column is required; "
            "the column is refused when more than half are empty."
        ]

    def test_load_extract_no_citizens(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        builder = tiny_extract.builder()
        builder.tables["citizens"] = []
        messages = _refusal(builder.write("x"), settings)
        assert messages == ["citizens: the table has no rows."]

    def test_load_extract_both_formats(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        folder = tiny_extract.builder().write("x")
        shutil.copy(tiny_extract.parquet / "lab_results.parquet", folder)
        assert _refusal(folder, settings) == [
            "lab_results: both lab_results.csv and lab_results.parquet exist; "
            "deliver exactly one."
        ]

    def test_load_extract_unreadable_csv(
        self, tiny_extract: TinyExtract, settings
    ) -> None:
        folder = tiny_extract.builder().write("x")
        with (folder / "lab_results.csv").open("a", encoding="utf-8") as handle:
            handle.write("c0001,2026-01-01,NPU27300,41,mmol/mol,extra,fields\n")
        [message] = _refusal(folder, settings)
        assert message.startswith("lab_results: lab_results.csv could not be read (")
        assert "extra,fields" not in message  # no row content in the message

    def test_load_extract_older_extract_same_source(
        self, tiny_extract, settings
    ) -> None:
        load_extract(tiny_extract.csv, settings=settings)
        builder = tiny_extract.builder()
        builder.info["extract_date"] = "2026-10-01"
        cutoff = date(2026, 10, 1)
        builder.tables["diagnoses"] = builder.tables["diagnoses"][
            5:
        ]  # dates must still fit
        for table in (
            "prescriptions",
            "appointments",
            "lab_results",
            "hospital_contacts",
        ):
            builder.tables[table] = [
                r for r in builder.tables[table]
                if all(not isinstance(v, date) or v <= cutoff for v in r.values())
            ]  # fmt: skip
        assert _refusal(builder.write("x"), settings) == [
            "extract.json: extract_date 2026-10-01 is older than the loaded extract of "
            "source 'tiny-test-region' (2026-11-23); "
            "only a newer extract can replace it."
        ]

    def test_load_extract_collects_every_problem(self, tiny_extract, settings) -> None:
        builder = tiny_extract.builder().drop_table("hospital_contacts")
        builder.info["contract"] = "journal-extract/2"
        builder.set("citizens", 0, citizen_id="0101901234").set(
            "diagnoses", 0, source="lab"
        )
        with pytest.raises(ExtractValidationError) as caught:
            load_extract(builder.write("x"), settings=settings)
        error = caught.value
        assert [(p.table, p.column, p.rows) for p in error.problems] == [
            ("extract.json", "contract", 1),
            ("hospital_contacts", None, 0),
            ("citizens", "citizen_id", 1),
            ("diagnoses", "source", 1),
        ]
        assert str(error).splitlines()[0] == "The extract was refused: 4 problem(s)."
        assert error.report["status"] == "refused"  # type: ignore[attr-defined]
        assert error.report["problems"][3]["examples"] == ["lab"]  # type: ignore[attr-defined]


def test_load_extract_refusal_writes_nothing(
    tiny_extract: TinyExtract, settings
) -> None:
    builder = tiny_extract.builder().set("citizens", 0, citizen_id="010190-1234")
    _refusal(builder.write("x"), settings)
    assert not settings.warehouse.exists()
    assert not settings.output_dir.exists()


def test_load_extract_refusal_keeps_loaded_warehouse(tiny_extract, settings) -> None:
    load_extract(tiny_extract.csv, settings=settings)
    before = _snapshot(settings.warehouse)
    builder = tiny_extract.builder().set("appointments", 0, status="noshow")
    builder.info["extract_date"] = "2026-12-01"
    _refusal(builder.write("x"), settings)
    assert _snapshot(settings.warehouse) == before


# --- the type-failure threshold (pinned: refuse when MORE than half fail) ------------


@pytest.mark.parametrize(("n_bad", "refused"), [(10, False), (11, True)])
def test_load_extract_type_threshold_is_half(
    tiny_extract, settings, n_bad, refused
) -> None:
    builder = tiny_extract.builder()
    for row in builder.tables["lab_results"][:n_bad]:
        row["value"] = "<5"
    folder = builder.write("x")
    if refused:
        [message] = _refusal(folder, settings)
        assert message.startswith("lab_results.value: 11 of 20 non-empty values")
    else:
        counts = load_extract(folder, settings=settings).tables["lab_results"]
        assert (counts.loaded, counts.quarantine_reasons) == (
            10,
            {"unparseable_value": 10},
        )


# --- quarantine accounting: every fault kind --------------------------------------


def _faulty(builder: ExtractBuilder) -> ExtractBuilder:
    """Inject rows with every row-level fault (adds first, then cell edits)."""
    b = builder
    b.add("citizens")  # duplicate c0001
    b.add("citizens", citizen_id="c0101", birth_date=None)
    b.add("citizens", citizen_id="c0102", birth_date="1950-13-45")
    b.add("citizens", citizen_id="c0103", birth_date=date(2027, 1, 1))
    b.add("citizens", citizen_id="c0104", municipality_code="39")
    b.add("citizens", citizen_id="c0105", outreach_opt_out="maybe")
    b.add("diagnoses", citizen_id="x9999")
    b.add("diagnoses", diagnosis_date="12/03/2024")
    b.add("diagnoses", diagnosis_date=date(2027, 1, 1))
    b.add("diagnoses", code=None)
    b.add("diagnoses", citizen_id="x9998", diagnosis_date=date(2027, 2, 1))
    b.add("diagnoses", citizen_id="c0101")  # its citizen row is quarantined
    b.add("prescriptions")  # duplicate p0001
    b.add("prescriptions", prescription_id="p0101", days_supply=0)
    b.add("prescriptions", prescription_id="p0102", days_supply=-5)
    b.add("prescriptions", prescription_id="p0103", days_supply="abc")
    b.add(
        "prescriptions", prescription_id="p0104",
        issued_date=date(2026, 1, 10), redeemed_date=date(2026, 1, 1),
    )  # fmt: skip
    b.add(
        "appointments",
        appointment_id="a0101",
        status="scheduled",
        scheduled_date=date(2026, 11, 1),
    )
    b.add(
        "appointments",
        appointment_id="a0102",
        status="attended",
        scheduled_date=date(2026, 12, 1),
    )
    b.add("appointments")  # duplicate a0001
    b.add(
        "appointments",
        appointment_id="a0103",
        status="scheduled",
        scheduled_date=EXTRACT_DATE,
    )
    b.add(
        "appointments",
        appointment_id="a0104",
        status="no_show",
        scheduled_date=EXTRACT_DATE,
    )
    b.add("lab_results", value="n/a")
    b.add("lab_results", citizen_id="x9999")
    b.add(
        "hospital_contacts", contact_id="h0101",
        start_date=date(2026, 5, 10), end_date=date(2026, 5, 1),
    )  # fmt: skip
    b.add("hospital_contacts")  # duplicate h0004
    b.add("hospital_contacts", contact_id="h0102", primary_diagnosis=None)
    b.set("diagnoses", 0, code="de11.9").set("diagnoses", 2, code=" t90")
    b.set("prescriptions", 1, atc_code="a10ba02")
    b.set("lab_results", 3, npu_code="npu27300")
    b.set("hospital_contacts", 1, primary_diagnosis="dj44.9")
    return b


EXPECTED_TABLES = {
    "citizens": {
        "read": 26, "loaded": 20, "quarantined": 6,
        "quarantine_reasons": {
            "after_extract_date": 1, "duplicate_id": 1, "invalid_format": 1,
            "null_required": 1, "unparseable_date": 1, "unparseable_value": 1,
        },
    },
    "diagnoses": {
        "read": 36, "loaded": 30, "quarantined": 6,
        "quarantine_reasons": {
            "after_extract_date": 2, "null_required": 1, "unknown_citizen": 2,
            "unparseable_date": 1,
        },
    },
    "prescriptions": {
        "read": 25, "loaded": 20, "quarantined": 5,
        "quarantine_reasons": {
            "duplicate_id": 1, "non_positive_days_supply": 2,
            "redeemed_before_issued": 1, "unparseable_value": 1,
        },
    },
    "appointments": {
        "read": 26, "loaded": 22, "quarantined": 4,
        "quarantine_reasons": {
            "after_extract_date": 1, "duplicate_id": 1, "scheduled_in_past": 2,
        },
    },
    "lab_results": {
        "read": 22, "loaded": 20, "quarantined": 2,
        "quarantine_reasons": {"unknown_citizen": 1, "unparseable_value": 1},
    },
    "hospital_contacts": {
        "read": 8, "loaded": 6, "quarantined": 2,
        "quarantine_reasons": {"duplicate_id": 1, "end_before_start": 1},
    },
}  # fmt: skip
EXPECTED_NORMALISED = {
    "diagnoses.code": 2,
    "prescriptions.atc_code": 1,
    "lab_results.npu_code": 1,
    "hospital_contacts.primary_diagnosis": 1,
}


@pytest.fixture(params=["csv", "parquet"])
def faulty_load(
    request, tiny_extract: TinyExtract, settings
) -> tuple[LoadReport, Path]:
    folder = _faulty(tiny_extract.builder()).write("faulty", request.param)
    return load_extract(folder, settings=settings), settings.warehouse


def test_load_extract_quarantine_counts_every_fault(faulty_load) -> None:
    report, _ = faulty_load
    assert report.as_dict()["tables"] == EXPECTED_TABLES
    assert report.normalised == EXPECTED_NORMALISED
    assert report.reconciles


def test_load_extract_warehouse_reconciles_with_report(faulty_load) -> None:
    report, warehouse = faulty_load
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, counts in report.tables.items():
            loaded = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            reasons = con.execute(
                "select reason, count(*) from raw.quarantine where table_name = $t"
                " group by reason",
                {"t": table},
            ).fetchall()
            assert loaded == counts.loaded
            assert dict(reasons) == counts.quarantine_reasons
            assert loaded + sum(n for _, n in reasons) == counts.read


def test_load_extract_quarantine_rows_keep_every_reason(faulty_load) -> None:
    _, warehouse = faulty_load
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select row_number, reason, detail, record from raw.quarantine"
            " where table_name = 'diagnoses' order by row_number"
        ).fetchall()
    by_row = {r[0]: r[1:] for r in rows}
    assert sorted(by_row) == [31, 32, 33, 34, 35, 36]  # 1-based data rows of the file
    assert by_row[32][:2] == ("unparseable_date", "unparseable_date(diagnosis_date)")
    assert json.loads(by_row[32][2])["diagnosis_date"] == "12/03/2024"
    assert by_row[35][:2] == (
        "after_extract_date",
        "after_extract_date(diagnosis_date); unknown_citizen(citizen_id)",
    )


def test_load_extract_loads_clean_normalised_rows(faulty_load) -> None:
    _, warehouse = faulty_load
    with duckdb.connect(str(warehouse), read_only=True) as con:
        codes = con.execute(
            "select distinct code from raw.diagnoses order by code"
        ).fetchall()
        kept = con.execute(
            "select count(*), min(birth_date) from raw.citizens"
            " where citizen_id = 'c0001'"
        ).fetchone()
        statuses = con.execute(
            "select appointment_id, status from raw.appointments"
            " where scheduled_date >= date '2026-11-23' order by 1"
        ).fetchall()
    assert codes == [("DE119",), ("T90",)]
    assert kept == (1, date(1942, 2, 2))
    assert statuses == [("a0104", "no_show"), ("a9000", "scheduled")]


def test_load_extract_raw_tables_have_pinned_types(faulty_load) -> None:
    _, warehouse = faulty_load
    with duckdb.connect(str(warehouse), read_only=True) as con:
        types = dict(
            con.execute(
                "select table_name || '.' || column_name, data_type"
                " from duckdb_columns() where schema_name = 'raw'"
            ).fetchall()
        )
    assert types["prescriptions.days_supply"] == "INTEGER"
    assert types["lab_results.value"] == "DOUBLE"
    assert types["citizens.outreach_opt_out"] == "BOOLEAN"
    assert types["hospital_contacts.end_date"] == "DATE"
    assert types["quarantine.record"] == "JSON"
    assert types["extract_info.loaded_at"] == "TIMESTAMP"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_load_extract_raw_tables_pass_pandera_models(
    tiny_extract, settings, fmt
) -> None:
    load_extract(getattr(tiny_extract, fmt), settings=settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for table, model in PANDERA_MODELS.items():
            frame = con.execute(f"select * from raw.{table}").df()
            assert len(model.validate(frame, lazy=True)) == len(frame) > 0


def test_load_extract_csv_and_parquet_load_the_same_rows(
    tiny_extract, tmp_path
) -> None:
    contents = []
    for fmt in ("csv", "parquet"):
        s = EngineSettings(output_dir=tmp_path / fmt)
        load_extract(getattr(tiny_extract, fmt), settings=s)
        snap = _snapshot(s.warehouse)
        contents.append({t: snap[t] for t in TABLES})
    assert contents[0] == contents[1]


def test_load_extract_ignores_and_lists_extra_columns(tiny_extract, settings) -> None:
    folder = tiny_extract.builder().add_column("citizens", "shoe_size", "42").write("x")
    report = load_extract(folder, settings=settings)
    assert report.ignored_columns == {"citizens": ["shoe_size"]}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute("describe raw.citizens").fetchall()]
    assert names == list(TABLES["citizens"].column_names)


def test_load_extract_row_number_follows_file_order(tiny_extract, settings) -> None:
    builder = tiny_extract.builder()
    template = builder.tables["lab_results"][0]
    builder.tables["lab_results"] = [dict(template) for _ in range(60_000)]
    builder.set("lab_results", 54_321, value="oops")
    report = load_extract(builder.write("big"), settings=settings)
    assert report.tables["lab_results"].quarantined == 1
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        row = con.execute("select row_number from raw.quarantine").fetchone()
    assert row == (54_322,)


# --- idempotency, replacement, atomicity, dry run ------------------------------------


def test_load_extract_twice_changes_nothing(
    tiny_extract: TinyExtract, settings
) -> None:
    first = load_extract(tiny_extract.csv, settings=settings)
    before = _snapshot(settings.warehouse)
    second = load_extract(tiny_extract.csv, settings=settings)
    assert _snapshot(settings.warehouse) == before
    assert before["load_reports"] == (1,)
    assert (first.unchanged, second.unchanged) == (False, True)
    assert second.tables == first.tables and second.extract_hash == first.extract_hash


def test_load_extract_newer_extract_replaces(
    tiny_extract: TinyExtract, settings
) -> None:
    load_extract(tiny_extract.csv, settings=settings)
    builder = tiny_extract.builder().add("diagnoses", diagnosis_date=date(2026, 11, 30))
    builder.info["extract_date"] = "2026-12-01"
    report = load_extract(builder.write("newer"), settings=settings)
    snap = _snapshot(settings.warehouse)
    assert len(snap["diagnoses"]) == 31
    assert [(r[1], r[3]) for r in snap["extract_info"]] == [
        (date(2026, 12, 1), report.extract_hash)
    ]
    assert snap["load_reports"] == (2,)


def test_load_extract_crash_keeps_previous_state(
    tiny_extract, settings, monkeypatch
) -> None:
    load_extract(tiny_extract.csv, settings=settings)
    before = _snapshot(settings.warehouse)

    def crash(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(load_module, "_replace_quarantine", crash)
    builder = _faulty(tiny_extract.builder())
    builder.info["extract_date"] = "2026-12-01"
    with pytest.raises(RuntimeError, match="disk on fire"):
        load_extract(builder.write("newer"), settings=settings)
    assert _snapshot(settings.warehouse) == before
    assert len(list((settings.output_dir / "reports" / "load").iterdir())) == 1


def test_load_extract_dry_run_writes_nothing(
    tiny_extract: TinyExtract, settings
) -> None:
    report = load_extract(tiny_extract.parquet, settings=settings, dry_run=True)
    assert (report.status, report.dry_run, report.report_path) == ("loaded", True, None)
    assert report.tables["citizens"].loaded == 20
    assert not settings.warehouse.exists()
    assert not settings.output_dir.exists()


def test_load_extract_writes_report_file(tiny_extract: TinyExtract, settings) -> None:
    report = load_extract(tiny_extract.csv, settings=settings)
    path = Path(report.report_path or "")
    assert (
        path
        == settings.output_dir / "reports" / "load" / f"{report.extract_hash[:12]}.json"
    )
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored == report.as_dict()
    assert "c0001" not in path.read_text(encoding="utf-8")  # counts, never records


def test_load_report_round_trips_through_dict(
    tiny_extract: TinyExtract, settings
) -> None:
    report = load_extract(tiny_extract.csv, settings=settings)
    assert LoadReport.from_dict(report.as_dict()) == report


# --- CLI ----------------------------------------------------------------------------


def test_cli_load_json_prints_report(tiny_extract: TinyExtract, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    args = [
        "--output-dir",
        str(tmp_path / "out"),
        "load",
        str(tiny_extract.csv),
        "--db",
        str(db),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "loaded"
    assert body["tables"]["appointments"] == {
        "read": 21, "loaded": 21, "quarantined": 0, "quarantine_reasons": {},
    }  # fmt: skip
    assert db.exists()
    again = json.loads(CliRunner().invoke(app, args).stdout)
    assert again["unchanged"] is True


def test_cli_load_refused_exits_1(tiny_extract: TinyExtract, tmp_path: Path) -> None:
    folder = (
        tiny_extract.builder().set("citizens", 0, citizen_id="010190-1234").write("x")
    )
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["load", str(folder), "--db", str(db), "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["status"] == "refused"
    assert body["error"] == "ExtractValidationError"
    assert body["problems"] == [
        {
            "table": "citizens",
            "column": "citizen_id",
            "rows": 1,
            "examples": ["010190-****"],
            "message": "citizens.citizen_id: 1 row with CPR-shaped values "
            "(e.g. '010190-****'); extracts must be pseudonymised before delivery.",
        }
    ]
    assert not db.exists()


def test_cli_load_dry_run_text(tiny_extract: TinyExtract, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app, ["load", str(tiny_extract.csv), "--dry-run", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(
        "Validated (dry run): extract 2026-11-23"
    )
    assert "citizens" in result.stdout
    assert not db.exists()


def test_load_extract_blank_required_text_is_null_required(tiny_extract, settings):
    builder = tiny_extract.builder().add("lab_results", unit="   ")
    counts = load_extract(builder.write("x"), settings=settings).tables["lab_results"]
    assert (counts.loaded, counts.quarantine_reasons) == (20, {"null_required": 1})


def test_load_extract_while_process_holds_warehouse(tiny_extract, settings) -> None:
    load_extract(tiny_extract.csv, settings=settings)
    builder = tiny_extract.builder()
    builder.info["extract_date"] = "2026-12-01"
    with duckdb.connect(str(settings.warehouse)) as held:
        report = load_extract(builder.write("newer"), settings=settings)
        row = held.execute("select extract_hash from raw.extract_info").fetchone()
    assert row == (report.extract_hash,)


def test_features_exports_load_entry_points() -> None:
    import features

    assert features.load_extract is load_extract
    assert features.LoadReport is LoadReport
    assert {"load_extract", "LoadReport"} <= set(features.__all__)


def test_cli_unexpected_error_is_one_line_without_traceback(
    tiny_extract: TinyExtract, tmp_path: Path, monkeypatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire\nsecond line of detail")

    monkeypatch.setattr(stages_module, "run_load", broken)  # what `opspor load` calls
    args = ["load", str(tiny_extract.csv), "--db", str(tmp_path / "w.duckdb")]
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.stderr) == (1, "RuntimeError: disk on fire\n")
    as_json = CliRunner().invoke(app, [*args, "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {
        "status": "error", "error": "RuntimeError", "message": "disk on fire",
    }  # fmt: skip
