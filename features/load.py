"""Load a journal extract into ``raw.*``: validate, quarantine, swap in one transaction.

First stage of the engine's data flow (extract folder -> ``raw.*`` -> staging
views -> features). DuckDB reads the files into a throw-away staging database
(so extracts larger than memory work and a refusal writes nothing to the
warehouse). Whole-extract problems refuse the extract with one message per
problem; row-level problems go to ``raw.quarantine``. Every check is generated
from the declarations in :mod:`features.contract`; identifiers come only from
those declarations (checked by :func:`features.db.check_identifier`) and values
are bound as ``$`` parameters.

Refusal rule for typed columns (pinned in tests): a date, integer, number or
boolean column is refused when MORE than half of its non-empty values fail to
parse (it is "not of its type at all"); fewer failures are row-level
(``unparseable_date`` / ``unparseable_value``). Likewise a required column that
is empty in more than half of the rows is refused; fewer empty values are
quarantined as ``null_required``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, NoReturn

import duckdb

from features.contract import (
    CPR_PATTERN,
    EXTRACT_JSON,
    TABLES,
    Column,
    ExtractInfo,
    TableContract,
    mask_cpr,
    read_extract_info,
)
from features.coverage import (
    COVERAGE_TABLES,
    measure_coverage,
    read_declared_coverage,
)
from features.db import check_identifier, connect, read_sql, transaction
from features.errors import ConfigError, ExtractProblem, ExtractValidationError
from features.extract_checks import (
    OLDER_EXTRACT,
    REPLACE_WITHOUT_REASON,
    check_extract_info,
    check_staged_extract,
    merge_duplicate_citizens,
    normalise_source,
    plausibility_params,
    plausibility_rules,
    publish_problems,
)
from features.load_report import LoadReport, count_table, write_report
from features.settings import EngineSettings
from features.staging import (
    STAGE_PREFIX,
    remove_stale_staging,
    replace_source_data,
    staging_folder,
    warehouse_lock,
)

__all__ = [
    "OLDER_EXTRACT",
    "QUARANTINE_REASONS",
    "TYPE_FAILURE_SHARE",
    "hash_extract",
    "load_extract",
]

log = logging.getLogger(__name__)

# Refuse a typed column when more than this share of its non-empty values fail to
# parse, and a required column when more than this share of its rows are empty.
TYPE_FAILURE_SHARE = 0.5
# Fixed priority: a row with several reasons is counted under the first.
QUARANTINE_REASONS = (
    "null_required",
    "unparseable_date",
    "unparseable_value",
    "invalid_format",
    "non_positive_days_supply",
    "implausible_value",
    "after_extract_date",
    "scheduled_in_past",
    "end_before_start",
    "redeemed_before_issued",
    "unknown_citizen",
    "duplicate_id",
    "conflicting_duplicate",
)

NO_EXTRACT_DIR = "{path}: the extract folder does not exist."
MISSING_TABLE = (
    "{table}: the table is missing (expected {table}.csv or {table}.parquet)."
)
BOTH_FORMATS = (
    "{table}: both {table}.csv and {table}.parquet exist; deliver exactly one."
)
UNREADABLE = "{table}: {file} could not be read ({error})."
MISSING_COLUMN = "{table}: the required column {column!r} is missing."
NO_CITIZENS = "citizens: the table has no rows."
CPR_SHAPED = (
    "{table}.{column}: {rows} with CPR-shaped values (e.g. {examples}); "
    "extracts must be pseudonymised before delivery."
)
OUTSIDE_ENUM = (
    "{table}.{column}: {rows} with values outside the contract (e.g. {examples}); "
    "allowed: {allowed}."
)
WRONG_TYPE = (
    "{table}.{column}: {failed} of {present} non-empty values are not {kind} "
    "(e.g. {examples}); the column is refused when more than half fail."
)
MOSTLY_EMPTY = (
    "{table}.{column}: {empty} of {total} rows are empty, but the column is required; "
    "the column is refused when more than half are empty."
)
_TYPE_WORDS = {
    "date": "ISO dates (YYYY-MM-DD)",
    "integer": "integers",
    "number": "numbers",
    "boolean": "booleans (true/false)",
}
_CSV_READER = (
    "read_csv($path, all_varchar = true, header = true, skip = 0, delim = ',', "
    "quote = '\"', escape = '\"', strict_mode = true, null_padding = false)"
)
_PARQUET_READER = "read_parquet($path)"
_HASH_BLOCK = 1 << 20
_N_EXAMPLES = 3

CheckKind = Literal["cpr", "enum", "type", "empty"]


@dataclass(frozen=True)
class _Source:
    """One table file of the extract."""

    table: str
    path: Path
    fmt: Literal["csv", "parquet"]


@dataclass(frozen=True)
class _Check:
    """A refusal check on one column: SQL over ``s`` for failure, example, absence."""

    kind: CheckKind
    column: Column
    condition: str
    example: str
    missing: str


# --- entry point -------------------------------------------------------------


def load_extract(
    extract_dir: Path | str,
    *,
    settings: EngineSettings | None = None,
    dry_run: bool = False,
    replace_source: bool = False,
    reason: str | None = None,
) -> LoadReport:
    """Validate a journal extract and load it into the warehouse's ``raw`` schema.

    Parameters
    ----------
    extract_dir : Path or str
        Folder holding ``extract.json`` and one CSV or Parquet file per table.
    settings : EngineSettings, optional
        Warehouse and output locations; defaults to ``EngineSettings.from_env()``.
    dry_run : bool
        Validate and count, but write nothing (no warehouse, no report file).
    replace_source : bool
        Allow an extract of another ``source`` (region) to replace the loaded
        one; its derived tables are dropped in the publishing transaction and
        the replacement is recorded in ``raw.source_replacements``.
    reason : str, optional
        Why the source is replaced (required with ``replace_source``).

    Returns
    -------
    LoadReport
        Counts per table (read = loaded + quarantined); ``unchanged`` is true
        when the same extract was already loaded (nothing is written then).

    Raises
    ------
    ExtractValidationError
        The extract is refused; ``problems`` lists each problem and ``report``
        holds the refused load report as a dict. Nothing has been written.
    ConfigError
        ``replace_source`` without a non-blank ``reason``.
    WarehouseBusyError
        Another process holds the warehouse.
    """
    settings = settings or EngineSettings.from_env()
    if replace_source and not (reason or "").strip():
        raise ConfigError(REPLACE_WITHOUT_REASON.format(got=reason))
    extract_dir = Path(extract_dir)
    remove_stale_staging(settings.warehouse)
    if not extract_dir.is_dir():
        message = NO_EXTRACT_DIR.format(path=extract_dir)
        _refuse(extract_dir, [ExtractProblem("extract", None, 0, (), message)], None)
    info, problems = _read_info(extract_dir)
    declared, coverage_problems = read_declared_coverage(
        extract_dir, info.extract_date if info else None
    )
    sources, file_problems = _find_sources(extract_dir)
    problems += coverage_problems + file_problems
    extract_hash = hash_extract(extract_dir, sources)
    current = _current_extract(settings.warehouse)
    if (
        not problems
        and current is not None
        and current["extract_hash"] == extract_hash
        # a warehouse loaded before coverage was measured is loaded again
        and "coverage" in current["report"]
    ):
        return _unchanged(current)
    if info is not None:
        problems += publish_problems(info, current, replace_source=replace_source)
    request = _Request(extract_dir, extract_hash, replace_source, reason, declared)
    return _validate_and_load(
        request, info, sources, problems, settings=settings, dry_run=dry_run
    )


@dataclass(frozen=True)
class _Request:
    """What one load was asked to do."""

    extract_dir: Path
    extract_hash: str
    replace_source: bool = False
    reason: str | None = None
    #: Coverage starts declared in extract.json (features.coverage).
    declared: Mapping[str, date] = field(default_factory=dict)


def _read_info(extract_dir: Path) -> tuple[ExtractInfo | None, list[ExtractProblem]]:
    """Read extract.json and run the whole-extract checks on it (source normalised)."""
    info, problems = read_extract_info(extract_dir)
    if info is None:
        return None, problems
    info, info_problems = check_extract_info(info, today=date.today())
    return info, problems + info_problems


def _unchanged(current: Mapping[str, Any]) -> LoadReport:
    """Return the stored report of the extract already loaded, marked unchanged."""
    log.info("extract %s already loaded; nothing changes", current["extract_hash"][:12])
    report = LoadReport.from_dict({**current["report"], "unchanged": True})
    if report.report_path and not Path(report.report_path).is_file():
        # Published, but the process died before the file was written.
        write_report(LoadReport.from_dict(current["report"]))
    return report


def _validate_and_load(
    request: _Request,
    info: ExtractInfo | None,
    sources: list[_Source],
    problems: list[ExtractProblem],
    *,
    settings: EngineSettings,
    dry_run: bool,
) -> LoadReport:
    """Stage, check and (unless refused or dry) publish; the stage is always removed."""
    extract_dir, extract_hash = request.extract_dir, request.extract_hash
    with _stage_database(settings.warehouse) as (stage, stage_path):
        ignored, stage_problems = _stage_sources(stage, sources)
        problems = problems + stage_problems
        staged = [s.table for s in sources if _is_staged(stage, s.table)]
        problems += [p for t in staged for p in _refusal_problems(stage, TABLES[t])]
        if problems or info is None:
            _refuse(extract_dir, problems, extract_hash)
        for table in TABLES.values():
            _build_checked(stage, table, info.extract_date)
        merge_duplicate_citizens(stage)
        if whole := check_staged_extract(stage, info):
            _refuse(extract_dir, whole, extract_hash)
        report = _loaded_report(stage, info, extract_hash, ignored, dry_run=dry_run)
        coverage = _staged_coverage(stage, info, request.declared)
        report = replace(report, coverage=coverage)
        report = report.with_extract_dir(extract_dir)
        stage.close()
        if dry_run:
            return report
        report = report.with_path(_report_path(settings, extract_hash))
        report = _publish(settings.warehouse, stage_path, info, report, request)
        if not report.unchanged:
            write_report(report)
    log.info("loaded extract %s: %s rows", extract_hash[:12], report.total_loaded)
    return report


def _refuse(
    extract_dir: Path, problems: list[ExtractProblem], extract_hash: str | None
) -> NoReturn:
    """Raise the refusal, carrying the refused load report as ``report``."""
    error = ExtractValidationError(problems=list(problems))
    report = LoadReport.refused(
        problems, extract_dir=str(extract_dir), extract_hash=extract_hash
    )
    error.report = report.as_dict()  # type: ignore[attr-defined]
    log.info("extract refused: %s problem(s)", len(problems))
    raise error


# --- files and hash ------------------------------------------------------------


def _find_sources(extract_dir: Path) -> tuple[list[_Source], list[ExtractProblem]]:
    """Find ``<table>.csv`` or ``<table>.parquet`` for every contract table."""
    sources: list[_Source] = []
    problems: list[ExtractProblem] = []
    for table in TABLES:
        csv, parquet = extract_dir / f"{table}.csv", extract_dir / f"{table}.parquet"
        if csv.is_file() and parquet.is_file():
            message = BOTH_FORMATS.format(table=table)
            problems.append(ExtractProblem(table, None, 0, (), message))
        elif csv.is_file() or parquet.is_file():
            fmt: Literal["csv", "parquet"] = "csv" if csv.is_file() else "parquet"
            sources.append(_Source(table, csv if fmt == "csv" else parquet, fmt))
        else:
            message = MISSING_TABLE.format(table=table)
            problems.append(ExtractProblem(table, None, 0, (), message))
    return sources, problems


def hash_extract(extract_dir: Path, sources: list[_Source] | None = None) -> str:
    """Return the sha256 of ``extract.json`` and the table files, read in blocks.

    Parameters
    ----------
    extract_dir : Path
        The extract folder.
    sources : list, optional
        The table files (found again when omitted).

    Returns
    -------
    str
        Hex digest; file names are hashed too, so CSV and Parquet differ.
    """
    sources = _find_sources(extract_dir)[0] if sources is None else sources
    digest = hashlib.sha256()
    paths = [extract_dir / EXTRACT_JSON, *(s.path for s in sources)]
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        if path.is_file():
            with path.open("rb") as handle:
                while block := handle.read(_HASH_BLOCK):
                    digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


# --- the current warehouse state -----------------------------------------------


def _current_extract(warehouse: Path) -> dict[str, Any] | None:
    """Read the loaded extract's info and report, without creating the warehouse.

    The file is opened read-write (nothing is written) so that a connection the
    same process already holds on it does not clash with a read-only one.
    """
    if not warehouse.is_file():
        return None
    with warehouse_lock(warehouse), closing(connect(warehouse)) as con:
        return _read_current(con)


def _read_current(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """Read the loaded extract's hash, date, source and report on ``con``."""
    if not _has_table(con, "raw", "extract_info"):
        return None
    row = con.execute(
        read_sql("features", "sql", "load", "current_extract.sql")
    ).fetchone()
    if row is None:
        return None
    keys = ("extract_hash", "extract_date", "source", "report")
    current = dict(zip(keys, row, strict=True))
    current["report"] = LoadReport.parse_json(current["report"])
    return current


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Tell whether ``schema.table`` exists in the connection's default database."""
    row = con.execute(
        "select count(*) from duckdb_tables()"
        " where schema_name = $s and table_name = $t",
        {"s": schema, "t": table},
    ).fetchone()
    return bool(row and row[0])


# --- staging -------------------------------------------------------------------


@contextmanager
def _stage_database(
    warehouse: Path,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """Open a throw-away DuckDB file beside the warehouse (0700, removed on exit)."""
    with staging_folder(warehouse, prefix=STAGE_PREFIX) as folder:
        path = folder / "stage.duckdb"
        # connect(): the stage gets the engine's memory limit and temp directory.
        con = connect(path)
        con.execute("set preserve_insertion_order = true")
        try:
            yield con, path
        finally:
            con.close()


def _stage_sources(
    con: duckdb.DuckDBPyConnection, sources: list[_Source]
) -> tuple[dict[str, list[str]], list[ExtractProblem]]:
    """Copy each file's contract columns into ``src_<table>`` (file order = rowid)."""
    ignored: dict[str, list[str]] = {}
    problems: list[ExtractProblem] = []
    for source in sources:
        table = TABLES[source.table]
        reader = _CSV_READER if source.fmt == "csv" else _PARQUET_READER
        params = {"path": str(source.path)}
        try:
            names = [
                d[0]
                for d in con.execute(
                    f"select * from {reader} limit 0", params
                ).description
            ]
        except duckdb.Error as error:
            problems.append(_unreadable(source, error))
            continue
        missing = [c for c in table.column_names if c not in names]
        problems += [
            ExtractProblem(
                table.name, c, 0, (), MISSING_COLUMN.format(table=table.name, column=c)
            )
            for c in missing
        ]
        extra = [n for n in names if n not in table.column_names]
        if extra:
            ignored[table.name] = extra
        if not missing:
            problems += _copy_source(con, table, reader, params, source)
    return ignored, problems


def _copy_source(
    con: duckdb.DuckDBPyConnection,
    table: TableContract,
    reader: str,
    params: Mapping[str, Any],
    source: _Source,
) -> list[ExtractProblem]:
    """``create table src_<table>`` from the file; a read error is a problem."""
    name = check_identifier(table.name, "Table")
    columns = ", ".join(_quoted(c) for c in table.column_names)
    try:
        con.execute(
            f"create table src_{name} as select {columns} from {reader}", dict(params)
        )
    except duckdb.Error as error:
        return [_unreadable(source, error)]
    return []


def _unreadable(source: _Source, error: duckdb.Error) -> ExtractProblem:
    """Describe an unreadable file by DuckDB's first error line (no row content)."""
    text = str(error).splitlines()
    first_line = text[0][:200] if text else type(error).__name__
    message = UNREADABLE.format(
        table=source.table, file=source.path.name, error=first_line
    )
    return ExtractProblem(source.table, None, 0, (), message)


def _is_staged(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Tell whether ``src_<table>`` was staged."""
    return _has_table(con, "main", f"src_{table}")


def _source_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of the staged source table."""
    rows = con.execute(
        "select column_name, data_type from duckdb_columns()"
        " where schema_name = 'main' and table_name = $t",
        {"t": f"src_{table}"},
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


# --- expressions generated from the contract --------------------------------------

# Parsing text (CSV, or text columns in Parquet) is strict: ISO dates, plain integers,
# finite numbers. ``{v}`` is the trimmed raw value.
_PARSE_TEXT = {
    "date": (
        "case when regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
        " then try_cast({v} as date) end"
    ),
    "integer": (
        "case when regexp_full_match({v}, '[+-]?[0-9]+')"
        " then try_cast({v} as integer) end"
    ),
    "number": (
        "case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end"
    ),
    "boolean": "try_cast({v} as boolean)",
}
# Typed (Parquet) values follow the same rules as text: a fractional "integer" and
# a NaN or infinite number are unparseable, never rounded or carried.
_CAST_TYPED = {
    "date": "try_cast({v} as date)",
    "integer": (
        "case when try_cast({v} as double) = trunc(try_cast({v} as double))"
        " then try_cast({v} as integer) end"
    ),
    "number": (
        "case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end"
    ),
    "boolean": "try_cast({v} as boolean)",
}
_NORMALISE_CODE = (
    "nullif(regexp_replace(upper(trim({v})), '[.[:space:]]', '', 'g'), '')"
)


@dataclass(frozen=True)
class _ColumnSql:
    """SQL fragments for one contract column read from ``src_<table> as s``."""

    column: Column
    text: bool  # the staged column is VARCHAR (always for CSV)

    @property
    def raw(self) -> str:
        """The raw staged value."""
        return "s." + _quoted(self.column.name)

    @property
    def as_text(self) -> str:
        """The raw value as text."""
        return self.raw if self.text else f"cast({self.raw} as varchar)"

    @property
    def missing(self) -> str:
        """True when the value is absent (null, or blank text)."""
        if self.text:
            return f"(nullif(trim({self.raw}), '') is null)"
        return f"({self.raw} is null)"

    @property
    def value(self) -> str:
        """The typed, normalised value; null when absent or unparseable."""
        kind = self.column.type
        if kind == "string" and self.column.code:
            return _NORMALISE_CODE.format(v=self.as_text)
        if kind == "string":
            return f"case when not {self.missing} then {self.as_text} end"
        if self.text:
            return _PARSE_TEXT[kind].format(v=f"trim({self.raw})")
        return _CAST_TYPED[kind].format(v=self.raw)


def _quoted(name: str) -> str:
    """Return a checked, double-quoted identifier."""
    return '"' + check_identifier(name, "Column") + '"'


def _param(prefix: str, column: Column) -> str:
    """Return a parameter name for one column, e.g. ``enum__status``."""
    return f"{prefix}__{check_identifier(column.name, 'Column')}"


def _column_sql(table: TableContract, types: Mapping[str, str]) -> list[_ColumnSql]:
    """Return the SQL fragments of every column, given the staged types."""
    return [_ColumnSql(c, types[c.name] == "VARCHAR") for c in table.columns]


# --- whole-extract checks --------------------------------------------------------


def _checks(table: TableContract, types: Mapping[str, str]) -> list[_Check]:
    """Return the refusal checks of one table, generated from its declaration."""
    checks: list[_Check] = []
    for sql in _column_sql(table, types):
        column, value = sql.column, sql.value
        if column.pseudonymous:
            trimmed = f"trim({sql.as_text})"
            cond = f"regexp_full_match({trimmed}, $cpr)"
            checks.append(_Check("cpr", column, cond, trimmed, sql.missing))
        if column.enum is not None:
            allowed = "$" + _param("enum", column)
            cond = f"{value} is not null and not list_contains({allowed}, {value})"
            checks.append(_Check("enum", column, cond, value, sql.missing))
        if column.type != "string":
            cond = f"not {sql.missing} and {value} is null"
            checks.append(_Check("type", column, cond, sql.as_text, sql.missing))
        if not column.nullable:
            checks.append(_Check("empty", column, sql.missing, "null", sql.missing))
    return checks


def _check_params(checks: list[_Check]) -> dict[str, Any]:
    """Parameters the checks of one table refer to."""
    params: dict[str, Any] = {}
    for check in checks:
        if check.kind == "cpr":
            params["cpr"] = CPR_PATTERN
        if check.kind == "enum":
            params[_param("enum", check.column)] = list(check.column.enum or ())
    return params


def _refusal_problems(
    con: duckdb.DuckDBPyConnection, table: TableContract
) -> list[ExtractProblem]:
    """Run one aggregate over ``src_<table>`` and turn failed checks into problems."""
    checks = _checks(table, _source_types(con, table.name))
    counts = [f"count(*) filter (where {c.condition})" for c in checks]
    counts += [f"count(*) filter (where not {c.missing})" for c in checks]
    name = check_identifier(table.name, "Table")
    sql = f"select count(*), {', '.join(counts)} from src_{name} as s"
    row = con.execute(sql, _check_params(checks)).fetchone() or ()
    total, failed, present = row[0], row[1 : 1 + len(checks)], row[1 + len(checks) :]
    problems: list[ExtractProblem] = []
    if table.name == "citizens" and total == 0:
        problems.append(ExtractProblem("citizens", None, 0, (), NO_CITIZENS))
    for check, n_failed, n_present in zip(checks, failed, present, strict=True):
        if _refuses(check.kind, n_failed, n_present, total):
            examples = _examples(con, table, check)
            counts_ = (n_failed, n_present, total)
            problems.append(_problem(table, check, counts_, examples))
    return problems


def _refuses(kind: CheckKind, failed: int, present: int, total: int) -> bool:
    """Tell whether a check's count refuses the extract (see the module docstring)."""
    if kind in ("cpr", "enum"):
        return failed > 0
    if kind == "type":
        return failed > TYPE_FAILURE_SHARE * present
    return failed > TYPE_FAILURE_SHARE * total


def _examples(
    con: duckdb.DuckDBPyConnection, table: TableContract, check: _Check
) -> tuple[str, ...]:
    """Return the first few distinct offending values in file order."""
    if check.kind == "empty":
        return ()
    sql = (
        f"select example from (select {check.example} as example, s.rowid as row_id"
        f" from src_{check_identifier(table.name)} as s where {check.condition})"
        f" group by example order by min(row_id) limit {_N_EXAMPLES}"
    )
    rows = con.execute(sql, _check_params([check])).fetchall()
    values = tuple(str(r[0]) for r in rows)
    return tuple(mask_cpr(v) for v in values) if check.kind == "cpr" else values


def _problem(
    table: TableContract,
    check: _Check,
    counts: tuple[int, int, int],
    examples: tuple[str, ...],
) -> ExtractProblem:
    """Format one refusal problem; counts are (failed, present, all rows)."""
    failed, present, total = counts
    shown = ", ".join(repr(e) for e in examples)
    fields = {"table": table.name, "column": check.column.name, "examples": shown}
    if check.kind == "cpr":
        message = CPR_SHAPED.format(rows=_rows(failed), **fields)
    elif check.kind == "enum":
        allowed = ", ".join(check.column.enum or ())
        message = OUTSIDE_ENUM.format(rows=_rows(failed), allowed=allowed, **fields)
    elif check.kind == "type":
        kind = _TYPE_WORDS[check.column.type]
        message = WRONG_TYPE.format(failed=failed, present=present, kind=kind, **fields)
    else:
        message = MOSTLY_EMPTY.format(empty=failed, total=total, **fields)
    return ExtractProblem(table.name, check.column.name, failed, examples, message)


def _rows(n: int) -> str:
    """Return ``1 row`` / ``3 rows``."""
    return f"{n} row" if n == 1 else f"{n} rows"


# --- row-level checks: checked_<table> -------------------------------------------


def _row_conditions(table: TableContract) -> list[tuple[str, str, str]]:
    """Return (reason, column, SQL over ``typed``) per row rule, by priority."""
    rules: list[tuple[str, str, str]] = []
    future = _future_row(table)
    for column in table.columns:
        name, missing = _quoted(column.name), _quoted(column.name + "__missing")
        if not column.nullable:
            rules.append(("null_required", column.name, missing))
        if column.type != "string":
            reason = (
                "unparseable_date" if column.type == "date" else "unparseable_value"
            )
            rules.append((reason, column.name, f"not {missing} and {name} is null"))
        if column.pattern is not None:
            pattern = "$" + _param("pattern", column)
            bad = f"{name} is null or not regexp_full_match({name}, {pattern})"
            rules.append(("invalid_format", column.name, f"not {missing} and ({bad})"))
        if column.positive:
            rules.append((f"non_positive_{column.name}", column.name, f"{name} <= 0"))
        if column.not_after_extract:
            late = f"{name} > $extract_date and not {future}"
            rules.append(("after_extract_date", column.name, late))
        if column.not_after_extract and table.future_when is not None:
            early = f"{future} and {name} <= $extract_date"
            rules.append((f"{table.future_when[1]}_in_past", column.name, early))
    for rule in table.order_rules:
        cond = f"{_quoted(rule.later)} < {_quoted(rule.earlier)}"
        rules.append((rule.reason, rule.later, cond))
    rules += plausibility_rules(table)
    return sorted(rules, key=lambda r: QUARANTINE_REASONS.index(r[0]))


def _future_row(table: TableContract) -> str:
    """Return SQL: the row may be dated after extract_date (a scheduled appointment)."""
    if table.future_when is None:
        return "false"
    return f"coalesce({_quoted(table.future_when[0])} = $future_value, false)"


def _typed_columns(table: TableContract, types: Mapping[str, str]) -> list[str]:
    """Return the select items of ``typed``: value, missing flag, normalised flag."""
    items = ["s.rowid + 1 as row_number"]
    for sql in _column_sql(table, types):
        name = sql.column.name
        items.append(f"{sql.value} as {_quoted(name)}")
        items.append(f"{sql.missing} as {_quoted(name + '__missing')}")
        if sql.column.code:
            changed = (
                f"not {sql.missing} and {sql.as_text} is distinct from {sql.value}"
            )
            items.append(f"{changed} as {_quoted(name + '__normalised')}")
    return items


_NO_REASONS = "[]::varchar[]"
_UNKNOWN_CITIZEN = """case
        when citizen_id is not null and not coalesce(citizen_id in (
            select k.citizen_id from checked_citizens as k where k.reason is null
        ), false)
        then ['unknown_citizen(citizen_id)'] else []::varchar[] end"""
# Keep the first row of a key by file order, preferring a row without other reasons.
_DUPLICATE = """case
        when {key} is not null and row_number() over (
            partition by {key} order by len(own_reasons) > 0, row_number
        ) > 1
        then ['duplicate_id({name})'] else []::varchar[] end"""
_CHECKED = """
create table checked_{table} as
with
typed as (
    select {typed}
    from src_{table} as s
),
flagged as (
    select *, list_filter([{tokens}], lambda x: x is not null) as row_reasons
    from typed
),
referenced as (
    select *, row_reasons || {reference} as own_reasons
    from flagged
),
keyed as (
    select *, own_reasons || {duplicate} as reasons
    from referenced
),
final as (
    select
        {keep},
        reasons,
        nullif(split_part(reasons[1], '(', 1), '') as reason
    from keyed
)
select * from final
"""


def _checked_sql(table: TableContract, types: Mapping[str, str]) -> str:
    """Return ``create table checked_<table>``: typed values, reasons by priority."""
    tokens = [
        f"case when {cond} then '{reason}({column})' end"
        for reason, column, cond in _row_conditions(table)
    ]
    duplicate = _NO_REASONS
    if table.key is not None:
        duplicate = _DUPLICATE.format(key=_quoted(table.key), name=table.key)
    keep = ["row_number", *(_quoted(c.name) for c in table.columns)]
    keep += [_quoted(c.name + "__normalised") for c in table.columns if c.code]
    return _CHECKED.format(
        table=check_identifier(table.name, "Table"),
        typed=",\n        ".join(_typed_columns(table, types)),
        tokens=",\n        ".join(tokens) or "null::varchar",
        reference=_UNKNOWN_CITIZEN if table.references_citizens else _NO_REASONS,
        duplicate=duplicate,
        keep=",\n        ".join(keep),
    )


def _build_checked(
    con: duckdb.DuckDBPyConnection, table: TableContract, extract_date: date
) -> None:
    """Materialise ``checked_<table>`` in the stage (citizens must come first)."""
    types = _source_types(con, table.name)
    params: dict[str, Any] = {"extract_date": extract_date}
    params.update({_param("pattern", c): c.pattern for c in table.columns if c.pattern})
    if table.future_when is not None:
        params["future_value"] = table.future_when[1]
    params.update(plausibility_params(table))
    con.execute(_checked_sql(table, types), params)


def _loaded_report(
    con: duckdb.DuckDBPyConnection,
    info: ExtractInfo,
    extract_hash: str,
    ignored: dict[str, list[str]],
    *,
    dry_run: bool,
) -> LoadReport:
    """Count read / loaded / quarantined per table from the checked tables."""
    tables, normalised = {}, {}
    for table in TABLES.values():
        tables[table.name], table_normalised = count_table(con, table)
        normalised.update(table_normalised)
    return LoadReport(
        status="loaded",
        problems=[],
        tables=tables,
        extract_hash=extract_hash,
        extract_date=info.extract_date.isoformat(),
        source=info.source,
        contract=info.contract,
        normalised=normalised,
        ignored_columns=ignored,
        loaded_at=datetime.now().replace(microsecond=0).isoformat(),
        dry_run=dry_run,
    )


def _staged_coverage(
    con: duckdb.DuckDBPyConnection, info: ExtractInfo, declared: Mapping[str, date]
) -> dict[str, dict[str, Any]]:
    """Decide each event table's coverage from its loaded (unquarantined) rows."""
    relations = {}
    for table in COVERAGE_TABLES:
        name = check_identifier(table, "Table")
        con.execute(
            f"create or replace temp view loaded_{name} as"
            f" select * from checked_{name} where reason is null"
        )
        relations[table] = f"loaded_{name}"
    coverage = measure_coverage(
        con, relations, declared=declared, extract_date=info.extract_date
    )
    return {t: c.as_dict() for t, c in coverage.items()}


# --- publish: one transaction --------------------------------------------------------

_STAGE = "opspor_stage"


def _report_path(settings: EngineSettings, extract_hash: str) -> Path:
    """Return ``<output_dir>/reports/load/<hash[:12]>.json``."""
    return settings.output_dir / "reports" / "load" / f"{extract_hash[:12]}.json"


def _publish(
    warehouse: Path,
    stage_path: Path,
    info: ExtractInfo,
    report: LoadReport,
    request: _Request,
) -> LoadReport:
    """Replace ``raw.*`` from the stage and append the report in ONE transaction.

    The older-extract and other-source checks run again inside the transaction,
    under the warehouse's load lock, so of two loads racing only one can win.
    """
    with warehouse_lock(warehouse), closing(connect(warehouse)) as con:
        con.execute(f"attach $path as {_STAGE} (read_only)", {"path": str(stage_path)})
        try:
            with transaction(con):
                current = _read_current(con)
                if (
                    current is not None
                    and current["extract_hash"] == report.extract_hash
                ):
                    return _unchanged(current)
                _check_publish(con, info, current, request)
                _replace_raw(con, info, report)
        finally:
            con.execute(f"detach {_STAGE}")
    return report


def _check_publish(
    con: duckdb.DuckDBPyConnection,
    info: ExtractInfo,
    current: Mapping[str, Any] | None,
    request: _Request,
) -> None:
    """Refuse an older or other-source extract; drop the old region's data if asked."""
    replace = request.replace_source
    if problems := publish_problems(info, current, replace_source=replace):
        _refuse(request.extract_dir, problems, request.extract_hash)
    old_source = None if current is None else normalise_source(current["source"])
    if current is not None and replace and old_source != info.source:
        replace_source_data(
            con,
            old=current,
            new_source=info.source,
            new_hash=request.extract_hash,
            reason=request.reason or "",
        )


def _replace_raw(
    con: duckdb.DuckDBPyConnection, info: ExtractInfo, report: LoadReport
) -> None:
    """Write every raw table, the quarantine, extract_info and the report row."""
    con.execute("create schema if not exists raw")
    for table in TABLES.values():
        _replace_table(con, table)
    _replace_quarantine(con)
    params = {
        "contract": info.contract,
        "extract_date": info.extract_date,
        "source": info.source,
        "extract_hash": report.extract_hash,
        "loaded_at": datetime.fromisoformat(report.loaded_at or ""),
    }
    coverage = {"coverage": json.dumps(report.coverage)}
    sql = read_sql("features", "sql", "load", "extract_info.sql")
    con.execute(
        f"create or replace table raw.extract_info as {sql}", {**params, **coverage}
    )
    sql = read_sql("features", "sql", "load", "coverage.sql")
    con.execute(f"create or replace table raw.coverage as {sql}", coverage)
    _append_report(con, report, params)


def _replace_table(con: duckdb.DuckDBPyConnection, table: TableContract) -> None:
    """Write ``raw.<table>``: the rows without a quarantine reason, in file order."""
    name = check_identifier(table.name, "Table")
    columns = ", ".join(_quoted(c) for c in table.column_names)
    con.execute(
        f"create or replace table raw.{name} as select {columns}"
        f" from {_STAGE}.checked_{name} where reason is null order by row_number"
    )


def _replace_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    """Write ``raw.quarantine``: one row per quarantined row, reasons, raw record."""
    selects = [
        f"select '{check_identifier(t)}' as table_name, {i} as table_order,"
        f" c.row_number, c.reason, array_to_string(c.reasons, '; ') as detail,"
        f" to_json(s) as record"
        f" from {_STAGE}.checked_{t} as c join {_STAGE}.src_{t} as s"
        f" on s.rowid + 1 = c.row_number where c.reason is not null"
        for i, t in enumerate(TABLES)
    ]
    con.execute(
        "create or replace table raw.quarantine as select table_name,"
        " cast(row_number as bigint) as row_number, reason, detail, record"
        f" from ({' union all '.join(selects)}) order by table_order, row_number"
    )


def _append_report(
    con: duckdb.DuckDBPyConnection, report: LoadReport, info: Mapping[str, Any]
) -> None:
    """Append the load report (JSON) to ``raw.load_reports``."""
    con.execute(
        "create table if not exists raw.load_reports (extract_hash varchar,"
        " loaded_at timestamp, status varchar, report json)"
    )
    con.execute(
        "insert into raw.load_reports"
        " select $extract_hash, $loaded_at, $status, $report::json",
        {
            "extract_hash": report.extract_hash,
            "loaded_at": info["loaded_at"],
            "status": report.status,
            "report": report.to_json(),
        },
    )
