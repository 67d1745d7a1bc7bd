from __future__ import annotations

import csv
import dataclasses
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from features.contract import holds_cpr
from features.errors import ConfigError, NotFoundError
from outreach.lists import build_weekly_list, read_list
from outreach.recording import (
    MAX_NOTE_CHARS,
    NOTE_HAS_CPR,
    NOTE_TOO_LONG,
    read_record_file,
    record_contacts,
)

TODAY = date(2026, 11, 27)


@pytest.fixture
def listed(region, make_programme, upstream, tmp_path: Path):
    plan = make_programme()
    result = build_weekly_list(region, plan, week=upstream.WEEK, output_dir=tmp_path)
    return (
        region,
        plan,
        result,
        read_list(region, result.list_id)["citizen_id"].tolist(),
    )


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["citizen_id", "outcome", "outcome_date", "recorded_by", "opt_out", "note"]
        )
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(("partial", "n_recorded"), [(False, 0), (True, 1)])
def test_record_contacts_refuses_bad_rows_with_row_number(
    listed, tmp_path: Path, partial: bool, n_recorded: int
) -> None:
    con, _, result, ids = listed
    sheet = _csv(
        tmp_path / "filled.csv",
        [
            [ids[0], "reached", "2026-11-24", "mette", "", ""],  # row 2: good
            [ids[1], "visited", "2026-11-24", "", "", ""],  # row 3: unknown outcome
            [ids[2], "screened", "24/11/2026", "", "", ""],  # row 4: bad date
            ["P99999", "reached", "2026-11-24", "", "", ""],  # row 5: not on the list
            [ids[3], "reached", "2026-12-24", "", "", ""],  # row 6: in the future
            [
                ids[4],
                "reached",
                "2026-11-01",
                "",
                "",
                "",
            ],  # row 7: before the list week
            [
                ids[5],
                "reached",
                "2026-11-24",
                "",
                "yes",
                "",
            ],  # row 8: opt-out without decline
            [ids[6], "", "", "", "", ""],  # row 9: not yet recorded
            ["", "reached", "2026-11-24", "", "", ""],  # row 10: no citizen
            [ids[7], "screened", "", "", "", ""],  # row 11: no date
            [ids[8], "declined", "2026-11-25", "", "maybe", ""],  # row 12: bad opt_out
            [ids[9], "", "2026-11-25", "", "", ""],  # row 13: date without outcome
        ],
    )
    record = record_contacts(
        con,
        programme="test_bus",
        week="2026-W48",
        file=sheet,
        actor="anna",
        today=TODAY,
        partial=partial,
    )
    assert record.refused == [
        {
            "row": 3,
            "reason": "outcome 'visited' is not one of reached, screened, declined, "
            "unreachable, wrong_contact_data",
        },
        {"row": 4, "reason": "outcome_date '24/11/2026' is not a date (YYYY-MM-DD)"},
        {"row": 5, "reason": f"the citizen is not on list {result.list_id}"},
        {"row": 6, "reason": "outcome_date 2026-12-24 is in the future"},
        {
            "row": 7,
            "reason": "outcome_date 2026-11-01 is before the list week (starts "
            "2026-11-23)",
        },
        {"row": 8, "reason": "opt_out is only possible with outcome declined"},
        {"row": 10, "reason": "citizen_id is empty"},
        {"row": 11, "reason": "outcome_date is empty"},
        {"row": 12, "reason": "opt_out 'maybe' is not yes/no"},
        {"row": 13, "reason": "outcome is empty but the row has other values"},
    ]
    assert (record.n_rows, record.n_recorded, record.n_blank) == (12, n_recorded, 1)
    stored = con.execute(
        "select citizen_id, outcome, outcome_date, recorded_by from outreach.contacts"
    ).fetchall()
    expected = [(ids[0], "reached", date(2026, 11, 24), "mette")]
    assert stored == (expected if partial else [])


def test_record_contacts_refuses_a_citizen_with_two_outcomes(
    listed, tmp_path: Path
) -> None:
    con, _, _, ids = listed
    sheet = _csv(
        tmp_path / "twice.csv",
        [
            [ids[0], "reached", "2026-11-24", "", "", ""],
            [ids[1], "screened", "2026-11-24", "", "", ""],
            [ids[0], "declined", "2026-11-25", "", "yes", ""],
        ],
    )
    record = record_contacts(
        con, programme="test_bus", week="2026-W48", file=sheet, today=TODAY
    )
    reason = "the citizen has 2 different outcomes in this sheet (rows 2, 4)"
    assert record.refused == [
        {"row": 2, "reason": reason},
        {"row": 4, "reason": reason},
    ]
    assert record.n_recorded == 0
    assert con.execute("select count(*) from outreach.opt_outs").fetchone()[0] == 0


@pytest.mark.parametrize("week", ["2026-W48\n", "2026-W4８", "２026-W48", " 2026-W48"])
def test_record_contacts_week_must_be_ascii_iso(listed, week: str) -> None:
    con, _, _, ids = listed
    entry = {"citizen_id": ids[0], "outcome": "reached", "outcome_date": "2026-11-24"}
    with pytest.raises(ConfigError) as caught:
        record_contacts(
            con, programme="test_bus", week=week, entries=[entry], today=TODAY
        )
    assert str(caught.value) == (f"The week {week!r} is not an ISO week like 2026-W48.")


def test_record_contacts_is_idempotent(listed, tmp_path: Path) -> None:
    con, _, _, ids = listed
    sheet = _csv(
        tmp_path / "filled.csv", [[ids[0], "reached", "2026-11-24", "", "", ""]]
    )
    record_contacts(con, programme="test_bus", week="2026-W48", file=sheet, today=TODAY)
    again = record_contacts(
        con, programme="test_bus", week="2026-W48", file=sheet, today=TODAY
    )
    assert (again.n_recorded, again.n_duplicates) == (0, 1)
    assert con.execute("select count(*) from outreach.contacts").fetchone()[0] == 1


def test_record_contacts_reads_back_the_excel_export(listed) -> None:
    con, _, result, ids = listed
    book = load_workbook(result.paths["xlsx"])
    sheet = book["Record"]
    sheet["B2"], sheet["C2"], sheet["D2"] = "screened", date(2026, 11, 25), "bus crew"
    sheet["B3"], sheet["C3"], sheet["E3"] = "declined", "2026-11-25", "ja"
    sheet["B4"], sheet["C4"] = "unknown", "2026-11-25"
    filled = Path(result.paths["xlsx"]).with_name("filled.xlsx")
    book.save(filled)
    record = record_contacts(
        con,
        programme="test_bus",
        week="2026-W48",
        file=filled,
        actor="anna",
        today=TODAY,
        partial=True,
    )
    assert record.refused == [
        {
            "row": 4,
            "reason": "outcome 'unknown' is not one of reached, screened, declined, "
            "unreachable, wrong_contact_data",
        }
    ]
    assert (record.n_recorded, record.n_opt_outs, record.n_blank) == (2, 1, 9)
    assert record.by_outcome["screened"] == 1 and record.by_outcome["declined"] == 1
    assert con.execute("select citizen_id from outreach.opt_outs").fetchall() == [
        (ids[1],)
    ]


def test_record_contacts_reads_outcomes_written_in_words(listed) -> None:
    con, _, result, ids = listed
    book = load_workbook(result.paths["xlsx"])
    sheet = book["Record"]
    sheet["B2"], sheet["C2"] = "kontaktet", "2026-11-25"
    sheet["B3"], sheet["C3"] = " Takket  nej ", "2026-11-25"
    sheet["B4"], sheet["C4"] = "wrong contact details", "2026-11-25"
    filled = Path(result.paths["xlsx"]).with_name("words.xlsx")
    book.save(filled)
    record = record_contacts(
        con,
        programme="test_bus",
        week="2026-W48",
        file=filled,
        actor="anna",
        today=TODAY,
    )
    assert record.refused == []
    assert record.by_outcome == {
        "reached": 1,
        "screened": 0,
        "declined": 1,
        "unreachable": 0,
        "wrong_contact_data": 1,
    }
    stored = con.execute(
        "select citizen_id, outcome from outreach.contacts order by citizen_id"
    ).fetchall()
    assert sorted(stored) == sorted(
        [(ids[0], "reached"), (ids[1], "declined"), (ids[2], "wrong_contact_data")]
    )


def test_record_contacts_decline_with_opt_out_is_honoured_next_week(
    listed, upstream
) -> None:
    con, plan, _, ids = listed
    record_contacts(
        con,
        programme="test_bus",
        week="2026-W48",
        today=TODAY,
        entries=[
            {
                "citizen_id": ids[0],
                "outcome": "declined",
                "outcome_date": "2026-11-24",
                "opt_out": "yes",
            }
        ],
    )
    # the suppression windows would also hide a plain decline; switch them off to see
    # the register work
    plan_next = dataclasses.replace(
        plan, declined_within_days=0, min_days_since_contact=0
    )
    next_week = build_weekly_list(con, plan_next, week=upstream.NEXT_WEEK)
    assert ids[0] not in read_list(con, next_week.list_id)["citizen_id"].tolist()
    assert next_week.counts["excluded"]["opt_out"] == 1


def test_record_contacts_plain_decline_is_suppressed_not_opted_out(
    listed, upstream
) -> None:
    con, plan, _, ids = listed
    record_contacts(
        con,
        programme="test_bus",
        week="2026-W48",
        today=TODAY,
        entries=[
            {"citizen_id": ids[0], "outcome": "declined", "outcome_date": "2026-11-24"}
        ],
    )
    next_week = build_weekly_list(con, plan, week=upstream.NEXT_WEEK)
    assert ids[0] not in read_list(con, next_week.list_id)["citizen_id"].tolist()
    assert next_week.counts["suppressed"]["declined"] == 1
    assert con.execute("select count(*) from outreach.opt_outs").fetchone()[0] == 0


def test_record_contacts_audits_counts_only(listed) -> None:
    con, _, result, ids = listed
    record_contacts(
        con,
        programme="test_bus",
        week="2026-W48",
        actor="anna",
        today=TODAY,
        entries=[
            {"citizen_id": ids[0], "outcome": "reached", "outcome_date": "2026-11-24"}
        ],
    )
    event, actor, list_id, counts = con.execute(
        "select event, actor, list_id, counts from outreach.audit_log where event = "
        "'recorded'"
    ).fetchone()
    assert (event, actor, list_id) == ("recorded", "anna", result.list_id)
    assert ids[0] not in counts


def test_record_contacts_needs_a_list(region) -> None:
    with pytest.raises(NotFoundError) as error:
        record_contacts(
            region, programme="test_bus", week="2026-W48", entries=[{"citizen_id": "x"}]
        )
    assert str(error.value) == (
        "No list for programme 'test_bus' week 2026-W48. Run `opspor list "
        "--programme test_bus --week 2026-W48` first."
    )


def test_record_contacts_needs_something_to_record(listed) -> None:
    con = listed[0]
    with pytest.raises(ConfigError) as error:
        record_contacts(con, programme="test_bus", week="2026-W48")
    assert str(error.value) == "Give outcomes to record: a file or at least one entry."


def test_read_record_file_refuses_other_files(tmp_path: Path) -> None:
    other = tmp_path / "x.txt"
    other.write_text("a", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        read_record_file(other)
    assert (
        str(error.value) == "Outcomes can be read from .csv or .xlsx files, not '.txt'."
    )
    headless = tmp_path / "x.csv"
    headless.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        read_record_file(headless)
    assert str(error.value) == (
        f"{headless} has no header row with the columns "
        "['citizen_id', 'outcome', 'outcome_date', 'recorded_by', 'opt_out', 'note']."
    )


def test_record_contacts_refuses_notes_too_long_or_with_a_cpr_number(
    listed, tmp_path: Path
) -> None:
    con, _, _, ids = listed
    long_note = "x" * (MAX_NOTE_CHARS + 1)
    sheet = _csv(
        tmp_path / "notes.csv",
        [
            [ids[0], "reached", "2026-11-24", "", "", "ring 010190-1234"],  # row 2
            [ids[1], "reached", "2026-11-24", "", "", long_note],  # row 3
            [ids[2], "reached", "2026-11-24", "", "", "ring efter kl. 15"],  # row 4
        ],
    )
    record = record_contacts(
        con,
        programme="test_bus",
        week="2026-W48",
        file=sheet,
        actor="mette",
        today=TODAY,
        partial=True,
    )
    assert record.refused == [
        {"row": 2, "reason": NOTE_HAS_CPR},
        {"row": 3, "reason": NOTE_TOO_LONG.format(n=501, limit=MAX_NOTE_CHARS)},
    ]
    notes = con.execute("select note from outreach.contacts").fetchall()
    assert notes == [("ring efter kl. 15",)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ring 010190-1234 igen", True),
        ("0101901234", True),
        ("010190 1234", True),
        ("tlf. 12345678", False),
        ("12345678901", False),  # 11 digits: not a CPR number
        ("311399-1234", False),  # month 13
        ("", False),
    ],
)
def test_holds_cpr_finds_the_shape_anywhere_in_a_note(text: str, expected: bool):
    assert holds_cpr(text) is expected


def test_check_record_file_parses_every_row_and_writes_nothing(
    listed, tmp_path: Path
) -> None:
    from outreach.app.store import duckdb_store
    from outreach.recording import check_record_file

    con, plan, result, ids = listed
    areas = read_list(con, result.list_id).set_index("citizen_id")["area"]
    mine = [c for c in ids if areas[c] == "390"]
    other = next(c for c in ids if areas[c] != "390")
    sheet = _csv(
        tmp_path / "filled.csv",
        [
            [mine[0], "Screened", "2026-11-24", "", "", ""],
            [other, "reached", "2026-11-24", "", "", ""],
            [mine[1], "", "", "", "", ""],
        ],
    )
    store = duckdb_store(con)
    check = check_record_file(store, sheet, programme=plan.name, week="2026-W48",
                              actor="anna", today=TODAY, areas=["390"])  # fmt: skip
    assert [(n, type(p).__name__) for n, _, p in check.rows] == [
        (2, "dict"), (3, "str"), (4, "NoneType"),
    ]  # fmt: skip
    assert check.contacts[0]["outcome"] == "screened"
    assert check.refused == [
        {"row": 3, "reason": f"the citizen is not on list {result.list_id} in your"
         " municipalities"},
    ]  # fmt: skip
    assert store.read_table("contacts").empty
    recorded = record_contacts(con, programme=plan.name, week="2026-W48", file=sheet,
                               today=TODAY, areas=["390"], source="upload")  # fmt: skip
    assert recorded.n_recorded == 0 and len(recorded.refused) == 1


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("outcome 'visited' is not one of reached, screened, declined, unreachable,"
         " wrong_contact_data", ("bad_outcome", "outcome", {"value": "'visited'"})),
        ("outcome_date 2026-12-24 is in the future",
         ("future_date", "outcome_date", {"value": "2026-12-24"})),
        ("the citizen is not on list L-1 in your municipalities",
         ("not_in_areas", "citizen_id", {"list_id": "L-1"})),
        ("the citizen is not on list L-1",
         ("not_on_list", "citizen_id", {"list_id": "L-1"})),
        ("note has 501 characters; at most 500 are allowed",
         ("note_too_long", "note", {"n": "501", "limit": "500"})),
        ("the citizen has 2 different outcomes in this sheet (rows 2, 5)",
         ("two_outcomes", "citizen_id", {"n": "2", "rows": "2, 5"})),
        ("something else", ("other", "", {})),
    ],
)  # fmt: skip
def test_explain_refusal_names_the_code_column_and_values(reason, expected) -> None:
    from outreach.recording import explain_refusal

    assert explain_refusal(reason) == expected


def test_every_refusal_has_danish_and_english_text() -> None:
    from outreach.app.web.i18n import TEXT
    from outreach.corrections import CHANGE_REFUSALS
    from outreach.recording import REFUSALS

    codes = [*REFUSALS, *CHANGE_REFUSALS, "already_opted_out", "not_opted_out"]
    for language in ("da", "en"):
        missing = [c for c in codes if f"refusal_{c}" not in TEXT[language]]
        assert missing == [], language
    columns = {column for _, column in REFUSALS.values()}
    assert all(f"column_{c}" in TEXT["da"] for c in columns)
