from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from outreach.app.cli import app

runner = CliRunner()


@pytest.fixture
def warehouse(tmp_path: Path, upstream, isolated_env) -> Path:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    upstream.build_region(con)
    con.close()
    return path


def _invoke(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, list(args))
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_list_json_reports_id_paths_and_counts(
    warehouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, body = _invoke(
        "--output-dir",
        str(out),
        "list",
        "--programme",
        "diabetes_bus",
        "--week",
        "2026-W48",
        "--db",
        str(warehouse),
        "--user",
        "anna",
        "--json",
    )
    assert code == 0
    assert body["list_id"] == "diabetes_bus-2026-W48-r1"
    assert body["status"] == "generated"
    assert body["as_of_date"] == "2026-11-23" and body["week_start"] == "2026-11-23"
    assert body["paths"]["csv"] == str(out / "lists" / "diabetes_bus" / "2026-W48.csv")
    assert Path(body["paths"]["xlsx"]).exists() and Path(body["paths"]["html"]).exists()
    counts = body["counts"]
    assert counts["listed"] == 40 and counts["eligible"] == 90
    assert set(counts["suppressed"]) == {
        "declined",
        "recent_contact",
        "attended_control",
    }
    assert counts["by_area"] == {"360": 13, "376": 13, "390": 14}

    code, again = _invoke(
        "--output-dir",
        str(out),
        "list",
        "--programme",
        "diabetes_bus",
        "--week",
        "2026-W48",
        "--db",
        str(warehouse),
        "--json",
        "--format",
        "csv",
    )
    assert (code, again["status"], again["list_id"]) == (0, "frozen", body["list_id"])
    assert list(again["paths"]) == ["csv", "record_csv"]


def test_cli_list_errors_map_to_exit_codes(warehouse: Path) -> None:
    code, body = _invoke(
        "list",
        "--programme",
        "diabetes_bus",
        "--week",
        "2026-W99",
        "--db",
        str(warehouse),
        "--json",
    )
    assert (code, body["error"]) == (2, "ConfigError")
    code, body = _invoke(
        "list",
        "--programme",
        "nope",
        "--week",
        "2026-W48",
        "--db",
        str(warehouse),
        "--json",
    )
    assert (code, body["error"]) == (1, "NotFoundError")
    code, body = _invoke(
        "list",
        "--programme",
        "diabetes_bus",
        "--week",
        "2026-W48",
        "--db",
        str(warehouse),
        "--json",
        "--regenerate",
    )
    assert (code, body["message"]) == (
        2,
        'Regenerating a frozen list needs a reason: --regenerate --reason "...".',
    )


def test_cli_record_report_and_audit_log(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _, made = _invoke(
        "--output-dir",
        str(out),
        "list",
        "--programme",
        "diabetes_bus",
        "--week",
        "2026-W48",
        "--db",
        str(warehouse),
        "--json",
    )
    record_csv = Path(made["paths"]["record_csv"])
    rows = list(csv.reader(record_csv.read_text(encoding="utf-8").splitlines()))
    rows[1][1:3] = ["reached", date.today().isoformat()]
    rows[2][1:5] = ["declined", date.today().isoformat(), "", "yes"]
    rows[3][1:3] = ["lost", date.today().isoformat()]
    with record_csv.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    record_args = [
        "record",
        "--programme",
        "diabetes_bus",
        "--week",
        "2026-W48",
        "--file",
        str(record_csv),
        "--db",
        str(warehouse),
        "--user",
        "coordinator",
        "--json",
    ]
    code, body = _invoke(*record_args)  # all or nothing by default
    assert (code, body["n_recorded"], len(body["refused"])) == (1, 0, 1)
    code, body = _invoke(*record_args, "--partial")
    assert code == 1  # a refused row still fails the command
    assert (body["n_recorded"], body["n_opt_outs"]) == (2, 1)
    assert body["refused"] == [
        {
            "row": 4,
            "reason": "outcome 'lost' is not one of reached, screened, declined, "
            "unreachable, wrong_contact_data",
        }
    ]
    code, single = _invoke(
        "record",
        "--programme",
        "diabetes_bus",
        "--week",
        "2026-W48",
        "--citizen",
        rows[4][0],
        "--outcome",
        "screened",
        "--db",
        str(warehouse),
        "--json",
    )
    assert (code, single["n_recorded"]) == (0, 1)

    code, report = _invoke(
        "programme-report",
        "--programme",
        "diabetes_bus",
        "--db",
        str(warehouse),
        "--json",
    )
    assert code == 0
    overall = next(
        r
        for r in report["rows"]
        if r["scope"] == "week" and r["education_level"] == "all"
    )
    assert (overall["listed"], overall["reached"], overall["screened"]) == (40, 3, 1)

    code, log = _invoke(
        "audit-log",
        "--out",
        str(tmp_path / "audit.csv"),
        "--db",
        str(warehouse),
        "--json",
    )
    assert code == 0
    assert [e["event"] for e in log["events"]] == [
        "generated",
        "exported",
        "recorded",  # the refused all-or-nothing attempt (counts only)
        "recorded",
        "recorded",
    ]
    assert (tmp_path / "audit.csv").exists()


def test_cli_evaluate_reports_not_enough_weeks(warehouse: Path) -> None:
    code, body = _invoke(
        "evaluate",
        "--programme",
        "smi_somatic_screening",
        "--db",
        str(warehouse),
        "--json",
    )
    assert code == 0
    assert body["status"] == "not_enough_weeks"
    assert body["message"].startswith(
        "Not enough weeks yet: 0 list week(s) of 'smi_somatic_screening'"
    )


def test_cli_list_text_output(warehouse: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--output-dir",
            str(tmp_path / "o"),
            "list",
            "--programme",
            "diabetes_bus",
            "--week",
            "2026-W48",
            "--db",
            str(warehouse),
        ],
    )
    assert result.exit_code == 0
    assert (
        "List diabetes_bus-2026-W48-r1 (generated): 40 listed of 90 eligible"
        in result.stdout
    )
