from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from features.errors import ConfigError
from features.files import atomic_write
from outreach.exports import export_list
from outreach.lists import build_weekly_list, read_list


@pytest.fixture
def exported(con, make_programme, upstream, tmp_path: Path):
    overrides = {
        0: {"living_situation": "supported_housing"},
        3: {"living_situation": "prison"},
    }
    upstream.build_region(con, overrides=overrides)
    plan = make_programme()
    result = build_weekly_list(con, plan, week=upstream.WEEK, output_dir=tmp_path)
    return con, plan, result, tmp_path


def test_export_list_writes_paths_under_lists_programme_week(exported) -> None:
    _, _, result, out = exported
    folder = out / "lists" / "test_bus"
    assert result.paths == {
        "csv": str(folder / "2026-W48.csv"),
        "record_csv": str(folder / "2026-W48.record.csv"),
        "xlsx": str(folder / "2026-W48.xlsx"),
        "html": str(folder / "2026-W48.html"),
    }
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-W48.csv",
        "2026-W48.html",
        "2026-W48.record.csv",
        "2026-W48.xlsx",
    ]  # no temp files left behind


def test_export_list_csv_has_header_block_and_minimum_columns(exported) -> None:
    _, _, result, _ = exported
    lines = Path(result.paths["csv"]).read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("# ")]
    assert header[:5] == [
        "# programme: test_bus (Test bus)",
        "# week: 2026-W48 (starts 2026-11-23)",
        "# as_of_date: 2026-11-23",
        "# model_version: models:/diabetes_harm_365d/3",
        "# extract_date: 2026-11-23",
    ]
    assert any(
        line.startswith("# generated_at: ") and line.endswith(" UTC") for line in header
    )
    table = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert list(table[0]) == [
        "rank",
        "citizen_id",
        "stop",
        "preferred_language",
        "risk_band",
        "reasons",
        "last_contact",
    ]
    assert len(table) == 12
    assert table[0]["stop"] == "supported housing · Vordingborg"  # in plain words


def test_export_list_excel_reads_back_with_openpyxl(exported) -> None:
    con, _, result, _ = exported
    book = load_workbook(result.paths["xlsx"])
    assert book.sheetnames == ["List", "Record"]
    sheet = book["List"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = {r[0]: r[1] for r in rows[:9]}
    assert header["programme"] == "test_bus (Test bus)"
    assert header["week"] == "2026-W48 (starts 2026-11-23)"
    assert header["model_version"] == "models:/diabetes_harm_365d/3"
    assert header["extract_date"] == "2026-11-23"
    assert header["list_id"] == result.list_id
    assert set(rows[9]) == {None}
    table = rows[10:]
    assert table[0][:3] == ["rank", "citizen_id", "stop"]
    stored = read_list(con, result.list_id)
    assert [r[1] for r in table[1:]] == stored["citizen_id"].tolist()
    assert [r[0] for r in table[1:]] == list(range(1, 13))
    record = [list(r) for r in book["Record"].iter_rows(values_only=True)]
    assert record[0] == [
        "citizen_id",
        "outcome",
        "outcome_date",
        "recorded_by",
        "opt_out",
        "note",
    ]
    assert [r[0] for r in record[1:]] == stored["citizen_id"].tolist()


def test_export_list_html_has_a_page_per_stop_and_no_audit_columns(exported) -> None:
    con, _, result, _ = exported
    html = Path(result.paths["html"]).read_text(encoding="utf-8")
    stops = set(read_list(con, result.list_id)["stop"])
    assert {
        "supported_housing · Vordingborg",
        "prison · Vordingborg",
        "Lolland",
        "Guldborgsund",
    } <= stops
    assert html.count('<section class="stop">') == len(stops)
    sizes = read_list(con, result.list_id)["stop"].value_counts()
    assert 1 in set(sizes)  # a stop with one citizen: "1 citizen", not "1 citizens"
    for stop in stops:
        noun = "citizen" if sizes[stop] == 1 else "citizens"
        words = stop.replace("supported_housing", "supported housing")
        assert f"Stop: {words} · {sizes[stop]} {noun}</h2>" in html
    assert "supported_housing" not in html
    for forbidden in ("education", "origin", "basic", "danish", "risk_score"):
        assert forbidden not in html
    assert "<li>reason 1</li>" in html
    assert "models:/diabetes_harm_365d/3" in html


def test_export_list_refuses_unknown_format(exported) -> None:
    con, plan, result, out = exported
    rows = read_list(con, result.list_id)
    from outreach.lists import run_header  # the header of a stored run

    run = con.execute("select * from outreach.list_runs").df().iloc[0].to_dict()
    with pytest.raises(ConfigError) as error:
        export_list(rows, run_header(run, plan), plan, out, formats=("pdf",))
    assert (
        str(error.value)
        == "Unknown export format 'pdf'; expected one of ('csv', 'xlsx', 'html')."
    )


def test_export_list_frozen_rerun_writes_identical_files(exported, upstream) -> None:
    con, plan, result, out = exported
    before = {k: Path(p).read_bytes() for k, p in result.paths.items() if k != "xlsx"}
    again = build_weekly_list(con, plan, week=upstream.WEEK, output_dir=out)
    assert {
        k: Path(p).read_bytes() for k, p in again.paths.items() if k != "xlsx"
    } == before


def test_export_list_only_format_requested(
    con, make_programme, upstream, tmp_path: Path
) -> None:
    upstream.build_region(con)
    result = build_weekly_list(
        con,
        make_programme(),
        week=upstream.WEEK,
        output_dir=tmp_path,
        formats=("xlsx",),
    )
    assert list(result.paths) == ["xlsx"]


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "list.csv"
    target.write_text("old", encoding="utf-8")

    def failing(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, failing)
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["list.csv"]


def test_export_list_neutralises_formulas(
    con, make_programme, upstream, tmp_path: Path
) -> None:
    upstream.build_region(con)
    con.execute(
        "update scoring.reasons set reason_text = '=HYPERLINK(\"x\")' where "
        "reason_rank = 1"
    )
    result = build_weekly_list(
        con, make_programme(), week=upstream.WEEK, output_dir=tmp_path
    )
    sheet = load_workbook(result.paths["xlsx"])["List"]
    reasons = [r[5] for r in sheet.iter_rows(min_row=12, values_only=True)]
    assert all(r.startswith("'=HYPERLINK") for r in reasons)


def test_export_list_in_danish_shows_codes_in_danish_words(
    con, make_programme, upstream, tmp_path: Path
) -> None:
    upstream.build_region(con, overrides={0: {"living_situation": "supported_housing"}})
    plan = make_programme(reasons_language="da")
    result = build_weekly_list(con, plan, week=upstream.WEEK, output_dir=tmp_path)
    lines = Path(result.paths["csv"]).read_text(encoding="utf-8").splitlines()
    table = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert table[0]["stop"] == "botilbud · Vordingborg"
    languages = {r["preferred_language"] for r in table}
    assert "dansk" in languages and "da" not in languages
    html = Path(result.paths["html"]).read_text(encoding="utf-8")
    assert "Stop: botilbud · Vordingborg" in html
    assert "☐ kontaktet<br>☐ undersøgt<br>☐ takket nej" in html
    sheet = load_workbook(result.paths["xlsx"])["List"]
    assert "botilbud · Vordingborg" in [r[2] for r in sheet.iter_rows(values_only=True)]


def test_export_list_record_sheet_offers_outcomes_in_words(
    con, make_programme, upstream, tmp_path: Path
) -> None:
    upstream.build_region(con)
    plan = make_programme(reasons_language="da")
    result = build_weekly_list(
        con, plan, week=upstream.WEEK, output_dir=tmp_path, formats=("xlsx",)
    )
    record = load_workbook(result.paths["xlsx"])["Record"]
    (choices,) = record.data_validations.dataValidation
    assert choices.formula1 == (
        '"kontaktet,undersøgt,takket nej,ikke truffet,forkerte kontaktdata"'
    )
