"""What happened at contact: recorded outcomes of a weekly list.

A coordinator fills in the ``Record`` sheet of the Excel export (or the
``<week>.record.csv`` file), or enters single outcomes; :func:`record_contacts`
checks every row against the frozen list of that programme and week, refuses
bad rows with their row number and reason, keeps the rest in
``outreach.contacts``, and adds a ``declined`` row with ``opt_out`` to the
opt-out register ``outreach.opt_outs`` that every later list honours. Not to be
confused with ``models/outcomes.py``, which builds training labels.
"""

from __future__ import annotations

import csv
import logging
import re
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from features.contract import holds_cpr
from features.errors import ConfigError, NotFoundError
from outreach.actor import now_utc, resolve_actor
from outreach.app.store import OperationalStore, operational_store
from outreach.codes import OUTCOMES, outcome_code
from outreach.exports import RECORD_COLUMNS, RECORD_SHEET
from outreach.list_audit import append_event
from outreach.lists import NO_LIST, parse_week

__all__ = [
    "MAX_NOTE_CHARS",
    "OUTCOMES",
    "REFUSALS",
    "RecordResult",
    "SheetCheck",
    "check_record_file",
    "explain_refusal",
    "note_problem",
    "parse_record_row",
    "read_record_file",
    "reason_problem",
    "record_contacts",
]

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "ja", "x", "y"}
_FALSE = {"", "0", "false", "no", "nej", "n"}
#: The longest note kept with an outcome: a short remark, not a case file.
MAX_NOTE_CHARS = 500
NO_HEADER = "{path} has no header row with the columns {columns}."
BAD_FILE = "Outcomes can be read from .csv or .xlsx files, not {suffix!r}."
UNREADABLE = "{path} cannot be read as a {suffix} record sheet."
NO_ENTRIES = "Give outcomes to record: a file or at least one entry."
# Row refusals: the coordinator sees these next to the row number.
EMPTY_CITIZEN = "citizen_id is empty"
EMPTY_OUTCOME = "outcome is empty but the row has other values"
BAD_OUTCOME = "outcome {value!r} is not one of " + ", ".join(OUTCOMES)
EMPTY_DATE = "outcome_date is empty"
BAD_DATE = "outcome_date {value!r} is not a date (YYYY-MM-DD)"
FUTURE_DATE = "outcome_date {value} is in the future"
EARLY_DATE = "outcome_date {value} is before the list week (starts {start})"
BAD_OPT_OUT = "opt_out {value!r} is not yes/no"
OPT_OUT_NOT_DECLINED = "opt_out is only possible with outcome declined"
NOT_ON_LIST = "the citizen is not on list {list_id}"
NOT_IN_AREAS = "the citizen is not on list {list_id} in your municipalities"
NOTE_TOO_LONG = "note has {n} characters; at most {limit} are allowed"
NOTE_HAS_CPR = "note holds a CPR-shaped number; a note must not identify a person"
TWO_OUTCOMES = "the citizen has {n} different outcomes in this sheet (rows {rows})"
EMPTY_REASON = "a reason is required"
REASON_TOO_LONG = "reason has {n} characters; at most {limit} are allowed"
REASON_HAS_CPR = "reason holds a CPR-shaped number; it must not identify a person"
#: Every row refusal: its code (the web app's text key) -> (template, column).
REFUSALS: dict[str, tuple[str, str]] = {
    "empty_citizen": (EMPTY_CITIZEN, "citizen_id"),
    "empty_outcome": (EMPTY_OUTCOME, "outcome"),
    "bad_outcome": (BAD_OUTCOME, "outcome"),
    "empty_date": (EMPTY_DATE, "outcome_date"),
    "bad_date": (BAD_DATE, "outcome_date"),
    "future_date": (FUTURE_DATE, "outcome_date"),
    "early_date": (EARLY_DATE, "outcome_date"),
    "bad_opt_out": (BAD_OPT_OUT, "opt_out"),
    "opt_out_not_declined": (OPT_OUT_NOT_DECLINED, "opt_out"),
    "not_in_areas": (NOT_IN_AREAS, "citizen_id"),  # before its shorter prefix
    "not_on_list": (NOT_ON_LIST, "citizen_id"),
    "note_too_long": (NOTE_TOO_LONG, "note"),
    "note_has_cpr": (NOTE_HAS_CPR, "note"),
    "two_outcomes": (TWO_OUTCOMES, "citizen_id"),
    "empty_reason": (EMPTY_REASON, "reason"),
    "reason_too_long": (REASON_TOO_LONG, "reason"),
    "reason_has_cpr": (REASON_HAS_CPR, "reason"),
}


@dataclass(frozen=True)
class SheetCheck:
    """A record sheet checked against a frozen list, nothing written.

    ``rows`` holds (row number, the row's values, the parsed contact, a refusal
    reason, or None for a row not yet filled in), in sheet order.
    """

    list_id: str
    run: dict[str, Any]
    rows: list[tuple[int, dict[str, Any], dict[str, Any] | str | None]]

    @property
    def refused(self) -> list[dict[str, Any]]:
        """Return the refused rows: row number and reason."""
        return [{"row": n, "reason": p} for n, _, p in self.rows if isinstance(p, str)]

    @property
    def contacts(self) -> list[dict[str, Any]]:
        """Return the parsed contacts of the good rows."""
        return [p for _, _, p in self.rows if isinstance(p, dict)]


@dataclass(frozen=True)
class RecordResult:
    """What ``opspor record`` reports; refused rows carry a row number and reason."""

    list_id: str
    programme: str
    week: str
    n_rows: int
    n_recorded: int
    n_duplicates: int
    n_blank: int
    n_opt_outs: int
    by_outcome: dict[str, int] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)
    partial: bool = False


def read_record_file(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Read a filled-in record sheet as (row number, values) pairs.

    Row numbers are those a spreadsheet shows: the header is the row it is on,
    and lines starting with ``#`` above it count too.

    Parameters
    ----------
    path : Path
        ``.csv`` (UTF-8) or ``.xlsx`` (sheet ``Record``, else the first sheet).

    Returns
    -------
    list of (int, dict)

    Raises
    ------
    ConfigError
        Another suffix, a file that cannot be read as one (a damaged workbook,
        a CSV that is not UTF-8), or no header row naming ``citizen_id`` and
        ``outcome``.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ConfigError(BAD_FILE.format(suffix=suffix))
    try:
        lines = _csv_lines(path) if suffix == ".csv" else _xlsx_lines(path)
    except (csv.Error, UnicodeDecodeError, zipfile.BadZipFile, KeyError) as error:
        raise ConfigError(UNREADABLE.format(path=path, suffix=suffix)) from error
    for index, line in enumerate(lines):
        names = [str(c).strip().lower() if c is not None else "" for c in line]
        if "citizen_id" in names and "outcome" in names:
            return [
                (index + 1 + offset, dict(zip(names, row, strict=False)))
                for offset, row in enumerate(lines[index + 1 :], start=1)
            ]
    raise ConfigError(NO_HEADER.format(path=path, columns=list(RECORD_COLUMNS)))


def _csv_lines(path: Path) -> list[list[Any]]:
    """Return all rows of a UTF-8 CSV file as lists."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _xlsx_lines(path: Path) -> list[list[Any]]:
    """All rows of the record sheet (or the first sheet) as lists."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = (
            book[RECORD_SHEET]
            if RECORD_SHEET in book.sheetnames
            else book.worksheets[0]
        )
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _text(value: Any) -> str:
    """Return a cell as stripped text ('' for empty)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _parse_date(value: Any) -> date | None:
    """Return a cell as a date, or None when it is not one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return (
            date.fromisoformat(_text(value)[:10])
            if len(_text(value)) in (10, 19)
            else None
        )
    except ValueError:
        return None


def note_problem(note: Any) -> str | None:
    """Return why a note may not be kept (too long, CPR-shaped number), or None.

    Parameters
    ----------
    note : Any
        The note as entered (a cell or a form field).

    Returns
    -------
    str or None
        :data:`NOTE_TOO_LONG` or :data:`NOTE_HAS_CPR`; never the note itself.
    """
    text = _text(note)
    if len(text) > MAX_NOTE_CHARS:
        return NOTE_TOO_LONG.format(n=len(text), limit=MAX_NOTE_CHARS)
    if holds_cpr(text):
        return NOTE_HAS_CPR
    return None


def reason_problem(reason: Any) -> str | None:
    """Return why a correction's or withdrawal's reason may not be kept, or None.

    A reason is required, at most :data:`MAX_NOTE_CHARS` long and holds no
    CPR-shaped number (it goes into the audit log).
    """
    text = _text(reason)
    if not text:
        return EMPTY_REASON
    if len(text) > MAX_NOTE_CHARS:
        return REASON_TOO_LONG.format(n=len(text), limit=MAX_NOTE_CHARS)
    if holds_cpr(text):
        return REASON_HAS_CPR
    return None


def _pattern(template: str) -> re.Pattern[str]:
    """Compile a regular expression matching a refusal template's filled-in text."""
    parts = re.split(r"\{(\w+)(?:![rs])?\}", template)
    body = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)"
        for i, part in enumerate(parts)
    )
    return re.compile(f"^{body}$", re.DOTALL)


_PATTERNS = {code: _pattern(t) for code, (t, _) in REFUSALS.items()}


def explain_refusal(reason: str) -> tuple[str, str, dict[str, str]]:
    """Return a refusal's code, column and filled-in values (for translation).

    Parameters
    ----------
    reason : str
        A refusal reason from this module.

    Returns
    -------
    (str, str, dict)
        The code in :data:`REFUSALS` (``"other"`` when unknown), the column it
        is about (``""`` when unknown) and the template's values.
    """
    for code, pattern in _PATTERNS.items():
        match = pattern.match(reason)
        if match:
            return code, REFUSALS[code][1], match.groupdict()
    return "other", "", {}


def parse_record_row(
    values: Mapping[str, Any],
    *,
    listed: set[str],
    list_id: str,
    week_start: date,
    today: date,
    actor: str,
    outside: str = NOT_ON_LIST,
) -> dict[str, Any] | str | None:
    """Parse one row: a contact, a refusal reason, or None when not yet recorded.

    ``listed`` are the citizens that may be recorded; ``outside`` the refusal
    for any other (:data:`NOT_ON_LIST`, or :data:`NOT_IN_AREAS` when
    ``listed`` is narrowed to a coordinator's municipalities).
    """
    citizen = _text(values.get("citizen_id")).lstrip("'")
    outcome = outcome_code(_text(values.get("outcome")))
    if not outcome:
        details = [_text(values.get(k)) for k in ("outcome_date", "opt_out", "note")]
        if any(details):
            return EMPTY_OUTCOME
        return None
    if not citizen:
        return EMPTY_CITIZEN
    if outcome not in OUTCOMES:
        return BAD_OUTCOME.format(value=outcome)
    raw_date = values.get("outcome_date")
    if not _text(raw_date):
        return EMPTY_DATE
    when = _parse_date(raw_date)
    if when is None:
        return BAD_DATE.format(value=_text(raw_date))
    if when > today:
        return FUTURE_DATE.format(value=when)
    if when < week_start:
        return EARLY_DATE.format(value=when, start=week_start)
    opt_text = _text(values.get("opt_out")).lower()
    if opt_text not in _TRUE | _FALSE:
        return BAD_OPT_OUT.format(value=opt_text)
    opt_out = opt_text in _TRUE
    if opt_out and outcome != "declined":
        return OPT_OUT_NOT_DECLINED
    problem = note_problem(values.get("note"))
    if problem is not None:
        return problem
    if citizen not in listed:
        return outside.format(list_id=list_id)
    return {
        "citizen_id": citizen,
        "outcome": outcome,
        "outcome_date": when,
        "recorded_by": _text(values.get("recorded_by")) or actor,
        "opt_out": opt_out,
        "note": _text(values.get("note")) or None,
    }


def record_contacts(
    con: duckdb.DuckDBPyConnection | None,
    *,
    programme: str,
    week: str,
    file: Path | None = None,
    entries: Sequence[Mapping[str, Any]] = (),
    actor: str | None = None,
    today: date | None = None,
    store: OperationalStore | None = None,
    partial: bool = False,
    areas: Collection[str] | None = None,
    source: str | None = None,
) -> RecordResult:
    """Record what happened to citizens on a frozen list.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or None
        The warehouse (None when ``store`` is given).
    programme : str
        Programme name.
    week : str
        ISO week of the list.
    file : Path, optional
        A filled-in record sheet (CSV or the Excel export).
    entries : sequence of mappings, optional
        Single entries with the record columns (``citizen_id``, ``outcome``,
        ``outcome_date``, ``recorded_by``, ``opt_out``, ``note``); numbered 1, 2, ...
    actor : str, optional
        Who records (default ``$USER`` or ``"cli"``); also the default ``recorded_by``.
    today : date, optional
        The date outcomes may not be after (default: today).
    store : OperationalStore, optional
        Where lists, contacts and opt-outs live (default:
        :func:`outreach.app.store.operational_store`).
    partial : bool
        Record the good rows even when others are refused (default: a sheet
        with any refused row records nothing).
    areas : collection of str, optional
        Only citizens listed in these municipalities may be recorded (a
        coordinator's scope); others are refused like citizens not listed.
    source : str, optional
        What the contacts were recorded from (default: the file's path, or
        ``"entry"``).

    Returns
    -------
    RecordResult
        Counts and the refused rows (row number and reason).

    Raises
    ------
    NotFoundError
        No list for that programme and week.
    ConfigError
        Nothing to record, or an unreadable file.
    """
    actor = resolve_actor(actor)
    rows = (
        read_record_file(file)
        if file is not None
        else list(enumerate(entries, start=1))
    )
    if file is None and not entries:
        raise ConfigError(NO_ENTRIES)
    store = store or operational_store(con)
    check = _check_rows(
        store,
        rows,
        programme=programme,
        week=week,
        sheet=file is not None,
        context={"today": today or date.today(), "actor": actor},
        areas=areas,
    )
    list_id, run = check.list_id, check.run
    parsed = [(number, p) for number, _, p in check.rows]
    refused = check.refused
    good = check.contacts
    if refused and not partial:
        good = []
    stored, duplicates, opt_outs = _store_contacts(
        store,
        good,
        list_id=list_id,
        programme=programme,
        week=week,
        source=source or (str(file) if file else "entry"),
    )
    result = RecordResult(
        list_id=list_id,
        programme=programme,
        week=week,
        n_rows=len(rows),
        n_recorded=stored,
        n_duplicates=duplicates,
        n_blank=sum(p is None for _, p in parsed),
        n_opt_outs=opt_outs,
        by_outcome=_by_outcome(good),
        refused=refused,
        partial=partial,
    )
    _audit(store, result, actor, run)
    log.info("list %s: %s outcomes recorded, %s refused", list_id, stored, len(refused))
    return result


def check_record_file(
    store: OperationalStore,
    file: Path,
    *,
    programme: str,
    week: str,
    actor: str,
    today: date,
    areas: Collection[str] | None = None,
) -> SheetCheck:
    """Check a filled-in record sheet as :func:`record_contacts` would; write nothing.

    Parameters
    ----------
    store : OperationalStore
        Where the frozen list lives.
    file : Path
        ``.csv`` or ``.xlsx`` record sheet.
    programme, week : str
        The list.
    actor : str
        The default ``recorded_by``.
    today : date
        The date outcomes may not be after.
    areas : collection of str, optional
        Narrow the citizens that may be recorded to these municipalities.

    Returns
    -------
    SheetCheck

    Raises
    ------
    NotFoundError
        No frozen list for the programme and week.
    ConfigError
        An unreadable file.
    """
    return _check_rows(
        store,
        read_record_file(file),
        programme=programme,
        week=week,
        sheet=True,
        context={"today": today, "actor": actor},
        areas=areas,
    )


def _check_rows(
    store: OperationalStore,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    *,
    programme: str,
    week: str,
    sheet: bool,
    context: Mapping[str, Any],
    areas: Collection[str] | None,
) -> SheetCheck:
    """Parse rows against the frozen list (one outcome per citizen in a sheet)."""
    week_start = parse_week(week)
    run = store.current_run(programme, week)
    if run is None:
        raise NotFoundError(NO_LIST.format(programme=programme, week=week))
    list_id = str(run["list_id"])
    rows_on_list = store.read_list(list_id)
    if areas is not None:
        rows_on_list = rows_on_list[rows_on_list["area"].astype(str).isin(areas)]
    options: dict[str, Any] = {
        **context,
        "listed": set(rows_on_list["citizen_id"].astype(str)),
        "list_id": list_id,
        "week_start": week_start,
        "outside": NOT_ON_LIST if areas is None else NOT_IN_AREAS,
    }
    parsed = [(n, parse_record_row(values, **options)) for n, values in rows]
    if sheet:
        parsed = _refuse_two_outcomes(parsed)
    return SheetCheck(
        list_id,
        run,
        [
            (n, dict(values), p)
            for (n, values), (_, p) in zip(rows, parsed, strict=True)
        ],
    )


def _refuse_two_outcomes(
    parsed: list[tuple[int, dict[str, Any] | str | None]],
) -> list[tuple[int, dict[str, Any] | str | None]]:
    """Refuse every row of a citizen given different outcomes in one sheet."""
    rows_of: dict[str, list[int]] = {}
    outcomes_of: dict[str, set[tuple[Any, ...]]] = {}
    for number, row in parsed:
        if isinstance(row, dict):
            rows_of.setdefault(row["citizen_id"], []).append(number)
            key = (row["outcome"], row["outcome_date"], row["opt_out"])
            outcomes_of.setdefault(row["citizen_id"], set()).add(key)
    clash = {c: rows_of[c] for c, keys in outcomes_of.items() if len(keys) > 1}
    return [
        (
            number,
            TWO_OUTCOMES.format(
                n=len(outcomes_of[row["citizen_id"]]),
                rows=", ".join(map(str, clash[row["citizen_id"]])),
            )
            if isinstance(row, dict) and row["citizen_id"] in clash
            else row,
        )
        for number, row in parsed
    ]


def _by_outcome(contacts: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Count good rows per outcome."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for contact in contacts:
        counts[contact["outcome"]] += 1
    return counts


def _store_contacts(
    store: OperationalStore,
    contacts: list[dict[str, Any]],
    *,
    list_id: str,
    programme: str,
    week: str,
    source: str,
) -> tuple[int, int, int]:
    """Insert new contacts and opt-outs in one transaction; skip exact repeats."""
    at = now_utc()
    rows = [
        {
            **contact,
            "list_id": list_id,
            "programme": programme,
            "week": week,
            "recorded_at": at,
            "source": source,
        }
        for contact in contacts
    ]
    return store.save_contacts(rows)


def _audit(
    store: OperationalStore,
    result: RecordResult,
    actor: str,
    run: dict[str, Any],
) -> None:
    """Append the 'recorded' event with counts only."""
    append_event(
        None,
        "recorded",
        actor=actor,
        programme=result.programme,
        week=result.week,
        list_id=result.list_id,
        model_uri=run.get("model_uri"),
        extract_hash=run.get("extract_hash"),
        counts={
            "rows": result.n_rows,
            "recorded": result.n_recorded,
            "duplicates": result.n_duplicates,
            "blank": result.n_blank,
            "refused": len(result.refused),
            "opt_outs": result.n_opt_outs,
            **result.by_outcome,
        },
        store=store,
    )
