"""Exports of a frozen weekly list: CSV, Excel and a printable page per stop.

:mod:`outreach.lists` hands over the stored list rows and a :class:`ListHeader`;
this module shows only the programme's columns (minimum necessary), puts the
header block (programme, week, as-of date, model version, extract date,
generated at) above the table, and writes every file atomically under
``<output_dir>/lists/<programme>/<week>.*``. The Excel file and the
``<week>.record.csv`` file carry the sheet the coordinator fills in, which
:mod:`outreach.recording` reads back.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
import pandas as pd

from features.errors import ConfigError
from features.files import atomic_write
from outreach.codes import OUTCOMES, code_text, plain_text
from outreach.programmes import Programme

__all__ = [
    "EXPORT_FORMATS",
    "RECORD_COLUMNS",
    "ListHeader",
    "display_table",
    "export_list",
    "list_paths",
    "render_stop_sheets",
]

ExportFormat = Literal["csv", "xlsx", "html"]
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "html")
#: The sheet a coordinator fills in; ``opspor record`` reads these columns back.
RECORD_COLUMNS = (
    "citizen_id",
    "outcome",
    "outcome_date",
    "recorded_by",
    "opt_out",
    "note",
)
RECORD_SHEET = "Record"
LIST_SHEET = "List"
_BAD_FORMAT = "Unknown export format {fmt!r}; expected one of {formats}."
_CODED_COLUMNS = ("stop", "preferred_language", "last_contact")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LABELS = {
    "da": {
        "stop": "Stop",
        "citizens": "borgere",
        "citizen": "borger",
        "week": "Uge",
        "week_start": "fra",
        "as_of": "Opgjort pr.",
        "extract": "Udtræksdato",
        "stale": "Forældet udtræk",
        "model": "Model",
        "list": "Liste",
        "generated": "dannet",
        "outcome": "Udfald",
        "columns": {
            "rank": "Nr.",
            "citizen_id": "Pseudonym",
            "area": "Kommune",
            "stop": "Stop",
            "preferred_language": "Sprog",
            "risk_band": "Risiko",
            "reasons": "Hvorfor",
            "last_contact": "Seneste kontakt",
        },
    },
    "en": {
        "stop": "Stop",
        "citizens": "citizens",
        "citizen": "citizen",
        "week": "Week",
        "week_start": "from",
        "as_of": "As of",
        "extract": "Extract date",
        "stale": "Stale extract",
        "model": "Model",
        "list": "List",
        "generated": "generated",
        "outcome": "Outcome",
        "columns": {
            "rank": "Rank",
            "citizen_id": "Pseudonym",
            "area": "Municipality",
            "stop": "Stop",
            "preferred_language": "Language",
            "risk_band": "Risk",
            "reasons": "Why",
            "last_contact": "Last contact",
        },
    },
}


@dataclass(frozen=True)
class ListHeader:
    """What every export states above the table."""

    list_id: str
    programme: str
    title: str
    week: str
    week_start: date
    as_of_date: date
    extract_date: date
    model_uri: str
    extract_hash: str | None
    generated_at: datetime
    generated_by: str
    stale_extract: str = ""

    def lines(self) -> list[tuple[str, str]]:
        """Return the header block as (label, value) pairs."""
        return [
            (
                "programme",
                f"{self.programme} ({self.title})" if self.title else self.programme,
            ),
            ("week", f"{self.week} (starts {self.week_start})"),
            ("as_of_date", str(self.as_of_date)),
            ("model_version", self.model_uri),
            ("extract_date", str(self.extract_date)),
            ("extract_hash", self.extract_hash or ""),
            ("generated_at", f"{self.generated_at:%Y-%m-%d %H:%M:%S} UTC"),
            ("generated_by", self.generated_by),
            ("list_id", self.list_id),
            *([("stale_extract", self.stale_extract)] if self.stale_extract else []),
        ]


def list_paths(output_dir: Path, programme: str, week: str) -> dict[str, Path]:
    """Where each format of a list is written."""
    folder = output_dir / "lists" / programme
    return {
        "csv": folder / f"{week}.csv",
        "record_csv": folder / f"{week}.record.csv",
        "xlsx": folder / f"{week}.xlsx",
        "html": folder / f"{week}.html",
    }


def display_table(
    rows: pd.DataFrame,
    programme: Programme | None = None,
    language: str | None = None,
) -> pd.DataFrame:
    """Return the list as shown: only the programme's columns, in its order, by rank.

    Parameters
    ----------
    rows : DataFrame
        Stored rows of ``outreach.lists``.
    programme : Programme, optional
        Its ``columns`` decide what is shown; without it, every list column.
    language : {"da", "en"}, optional
        Show the stop, language and last contact in these words
        (:mod:`outreach.codes`); without it, as stored codes.

    Returns
    -------
    DataFrame
        A new frame of strings and ints.
    """
    last = [
        _last_contact(d, o)
        for d, o in zip(
            rows["last_contact_date"], rows["last_contact_outcome"], strict=True
        )
    ]
    shown = pd.DataFrame(
        {
            "rank": rows["rank"].astype(int),
            "citizen_id": rows["citizen_id"].astype(str),
            "area": rows["area"].astype(str) + " " + rows["area_name"].astype(str),
            "stop": rows["stop"].astype(str),
            "preferred_language": rows["preferred_language"].fillna("").astype(str),
            "risk_band": rows["risk_band"].astype(str),
            "reasons": rows["reasons"].astype(str),
            "last_contact": last,
        }
    ).sort_values("rank", ignore_index=True)
    if language is not None:
        shown = _in_words(shown, language)
    return shown if programme is None else shown[list(programme.columns)]


def _in_words(shown: pd.DataFrame, language: str) -> pd.DataFrame:
    """Return the table with its coded columns in plain words."""
    return shown.assign(
        **{c: [plain_text(v, language) for v in shown[c]] for c in _CODED_COLUMNS}
    )


def _last_contact(when: Any, outcome: Any) -> str:
    """``"2026-08-01 diabetes_control: no_show"`` or empty."""
    if when is None or pd.isna(when):
        return ""
    return f"{pd.Timestamp(when).date()} {outcome or ''}".strip()


def export_list(
    rows: pd.DataFrame,
    header: ListHeader,
    programme: Programme,
    output_dir: Path,
    formats: Sequence[str] = EXPORT_FORMATS,
) -> dict[str, Path]:
    """Write the chosen formats of one list atomically.

    Parameters
    ----------
    rows : DataFrame
        Stored rows of ``outreach.lists`` for ``header.list_id``.
    header : ListHeader
        The header block.
    programme : Programme
        Columns shown and the language of labels.
    output_dir : Path
        Output root; files go to ``lists/<programme>/<week>.*``.
    formats : sequence of {"csv", "xlsx", "html"}
        What to write; ``csv`` also writes the ``.record.csv`` sheet.

    Returns
    -------
    dict
        Format name to the path written.

    Raises
    ------
    ConfigError
        An unknown format.
    """
    for fmt in formats:
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(_BAD_FORMAT.format(fmt=fmt, formats=EXPORT_FORMATS))
    full = display_table(rows, language=programme.reasons_language)
    table = full[list(programme.columns)]
    paths = list_paths(output_dir, programme.name, header.week)
    written: dict[str, Path] = {}
    if "csv" in formats:
        written["csv"] = atomic_write(
            paths["csv"], lambda p: _write_csv(p, table, header)
        )
        written["record_csv"] = atomic_write(
            paths["record_csv"], lambda p: _write_record_csv(p, table)
        )
    if "xlsx" in formats:
        written["xlsx"] = atomic_write(
            paths["xlsx"],
            lambda p: _write_xlsx(p, table, header, programme.reasons_language),
        )
    if "html" in formats:
        html = render_stop_sheets(full, header, programme)
        written["html"] = atomic_write(
            paths["html"], lambda p: p.write_text(html, encoding="utf-8")
        )
    return written


def _safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _write_csv(path: Path, table: pd.DataFrame, header: ListHeader) -> None:
    """Header block as ``# label: value`` lines, then the table."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        for label, value in header.lines():
            fh.write(f"# {label}: {value}\n")
        writer = csv.writer(fh)
        writer.writerow(table.columns)
        writer.writerows(
            [_safe(v) for v in row] for row in table.itertuples(index=False)
        )


def _record_rows(table: pd.DataFrame) -> list[list[str]]:
    """One blank record row per listed citizen, in rank order."""
    ids = table["citizen_id"] if "citizen_id" in table else pd.Series([], dtype=str)
    return [[_safe(str(i)), "", "", "", "", ""] for i in ids]


def _write_record_csv(path: Path, table: pd.DataFrame) -> None:
    """Write the sheet a coordinator fills in, as CSV."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(RECORD_COLUMNS)
        writer.writerows(_record_rows(table))


def _write_xlsx(
    path: Path, table: pd.DataFrame, header: ListHeader, language: str
) -> None:
    """Sheet ``List`` (header block, blank row, table) and sheet ``Record``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    book.properties.created = book.properties.modified = header.generated_at
    sheet = book.active
    sheet.title = LIST_SHEET
    for label, value in header.lines():
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    sheet.append([])
    sheet.append(list(table.columns))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in table.itertuples(index=False):
        sheet.append([_safe(v) for v in row])
        for cell in sheet[sheet.max_row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    record = book.create_sheet(RECORD_SHEET)
    record.append(list(RECORD_COLUMNS))
    for row in _record_rows(table):
        record.append(row)
    outcomes = DataValidation(
        type="list", formula1=_outcome_choices(language), allow_blank=True
    )
    record.add_data_validation(outcomes)
    outcomes.add(f"B2:B{max(2, record.max_row)}")
    book.save(path)


def _outcome_choices(language: str) -> str:
    """Return the record sheet's outcome drop-down in words ``opspor record`` reads."""
    return '"' + ",".join(code_text(c, language) for c in OUTCOMES) + '"'


def _labels(language: str) -> dict[str, Any]:
    """Labels of the stop sheet, the tick boxes' outcomes in the code table's words."""
    ticks = {c: code_text(c, language) for c in ("reached", "screened", "declined")}
    return {**_LABELS[language], **ticks}


def render_stop_sheets(
    table: pd.DataFrame, header: ListHeader, programme: Programme
) -> str:
    """Render the printable HTML: one page per stop, rows in rank order.

    Parameters
    ----------
    table : DataFrame
        From :func:`display_table` without a programme (every column), in
        the programme's language.
    header : ListHeader
        The header block repeated on every page.
    programme : Programme
        Columns and language.

    Returns
    -------
    str
        The HTML page.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("outreach", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    columns = [c for c in programme.columns if c != "stop"]
    stops = [
        {"name": name, "rows": group.to_dict(orient="records")}
        for name, group in table.groupby("stop", sort=True)
    ]
    return env.get_template("stop_sheet.html.j2").render(
        header=header,
        stops=stops,
        columns=columns,
        labels=_labels(programme.reasons_language),
        language=programme.reasons_language,
    )
