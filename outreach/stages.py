"""The outreach stages in one shape: ``run_<stage>(settings, request) -> result``.

The CLI (:mod:`outreach.app.cli`) and the web app call these and nothing
deeper. Each request is a frozen dataclass holding the loaded
:class:`~outreach.programmes.Programme` (never its fields unpacked); each
wrapper opens the warehouse named by :class:`EngineSettings` when the stage
needs it and calls the engine function that does the work:
:func:`outreach.lists.build_weekly_list`, :func:`outreach.weekly.run_weekly`,
:func:`outreach.recording.record_contacts`,
:func:`outreach.evaluate.evaluate_outreach`,
:func:`outreach.programme_report.build_programme_report` and
:func:`outreach.list_audit.export_audit_log`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb

from features.db import connect
from features.errors import ConfigError
from features.settings import EngineSettings
from outreach.app.store import OperationalStore, operational_store
from outreach.exports import EXPORT_FORMATS
from outreach.list_audit import AuditExport, export_audit_log
from outreach.lists import ListResult, build_weekly_list
from outreach.programmes import Programme
from outreach.recording import RecordResult, note_problem, record_contacts

__all__ = [
    "BAD_REASON",
    "AuditLogRequest",
    "AuditLogResult",
    "EvaluateRequest",
    "EvaluationResult",
    "ListRequest",
    "ListResult",
    "ProgrammeReportRequest",
    "ProgrammeReportResult",
    "RecordRequest",
    "RecordResult",
    "WeeklyRequest",
    "WeeklyResult",
    "run_audit_log",
    "run_evaluate",
    "run_list",
    "run_programme_report",
    "run_record",
    "run_weekly",
]

# The evaluation, the programme report and the weekly job import pandas-heavy
# statistics, the reports package and SHAP: they load on first use, so the web
# app (which records through this module) does not pay for them at start-up.
if TYPE_CHECKING:
    from outreach.evaluate import EvaluationResult
    from outreach.programme_report import ProgrammeReport
    from outreach.weekly import WeeklyResult

    ProgrammeReportResult: TypeAlias = ProgrammeReport
#: A regeneration or stale-extract reason goes into the audit log, so it obeys the
#: rules of a note (:func:`outreach.recording.note_problem`).
BAD_REASON = "The reason cannot be kept in the audit log: {problem}."
#: Called with (steps done, steps in all) as the weekly job advances.
Progress: TypeAlias = Callable[[int, int], None]
AuditLogResult: TypeAlias = AuditExport


@dataclass(frozen=True)
class ListRequest:
    """Build (or return the frozen) list of ``programme`` for ISO ``week``.

    Parameters
    ----------
    programme : Programme
        The loaded programme.
    week : str
        ISO week, e.g. ``2026-W48``.
    formats : tuple of str
        Export formats (default csv, xlsx and html).
    model_uri : str, optional
        Champion URI (default: the programme's model and alias).
    actor : str, optional
        Who acts, for the audit log (default ``$USER``, else ``cli``).
    regenerate : bool
        Replace the frozen list (needs ``reason``).
    reason : str, optional
        Why it is regenerated or built stale.
    allow_stale : bool
        Accept an extract older than the programme allows (needs ``reason``).
    store : OperationalStore, optional
        The operational store to use (the web app's PostgreSQL store); default:
        the one ``settings`` names (PostgreSQL, else the warehouse).
    """

    programme: Programme
    week: str
    formats: tuple[str, ...] = EXPORT_FORMATS
    model_uri: str | None = None
    actor: str | None = None
    regenerate: bool = False
    reason: str | None = None
    allow_stale: bool = False
    store: OperationalStore | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class WeeklyRequest:
    """Run the Monday job of ``programme`` for ``week``.

    ``progress`` is an observer, not data: it is called with (steps done,
    steps in all) and takes no part in equality.
    """

    programme: Programme
    week: str
    actor: str | None = None
    allow_stale: bool = False
    reason: str | None = None
    progress: Progress | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RecordRequest:
    """Record outcomes on the frozen list of ``programme`` (a name) for ``week``.

    Parameters
    ----------
    programme : str
        Programme name.
    week : str
        ISO week of the list.
    file : Path, optional
        A filled-in record sheet (CSV or the Excel export).
    entries : tuple of mappings
        Single entries with the record columns.
    actor : str, optional
        Who records.
    partial : bool
        Record the good rows even when others are refused.
    today : date, optional
        The date outcomes may not be after (default: today).
    store : OperationalStore, optional
        An open operational store (the web app's); default: the warehouse's.
    areas : tuple of str, optional
        Only citizens listed in these municipalities may be recorded.
    source : str, optional
        What the outcomes were recorded from (default: the file or ``entry``).
    """

    programme: str
    week: str
    file: Path | None = None
    entries: tuple[Mapping[str, Any], ...] = ()
    actor: str | None = None
    partial: bool = False
    today: date | None = None
    store: OperationalStore | None = field(default=None, compare=False, repr=False)
    areas: tuple[str, ...] | None = None
    source: str | None = None


@dataclass(frozen=True)
class EvaluateRequest:
    """Estimate the effect of outreach of ``programme`` from its hold-outs."""

    programme: Programme
    follow_up_days: int | None = None


@dataclass(frozen=True)
class ProgrammeReportRequest:
    """Report listed, reached, screened and declined of ``programme`` by week."""

    programme: Programme
    week: str | None = None
    out_path: Path | None = None


@dataclass(frozen=True)
class AuditLogRequest:
    """Export the outreach audit log (one programme or all) to ``out_path``."""

    programme: str | None = None
    out_path: Path | None = None


@contextmanager
def _warehouse(settings: EngineSettings) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one stage and close it afterwards."""
    con = connect(settings.warehouse)
    try:
        yield con
    finally:
        con.close()


def run_list(settings: EngineSettings, request: ListRequest) -> ListResult:
    """Build (or return the frozen) weekly outreach list and export it.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and output root (lists go to ``<output_dir>/lists``).
    request : ListRequest
        The programme, the week and how to build.

    Returns
    -------
    ListResult
        The list id, status, counts and files written.

    Raises
    ------
    ConfigError
        A reason that cannot be kept in the audit log (too long, or it holds a
        CPR-shaped number: checked as notes are), a malformed week, or
        ``regenerate`` / ``allow_stale`` without a reason.
    NotFoundError
        No extract, features or scores for the as-of date.
    """
    from models.explain import on_demand_explainer  # slow import: only when listing

    _check_reason(request.reason)
    with _warehouse(settings) as con:
        return build_weekly_list(
            con,
            request.programme,
            week=request.week,
            model_uri=request.model_uri,
            actor=request.actor,
            regenerate=request.regenerate,
            reason=request.reason,
            output_dir=settings.output_dir,
            formats=request.formats,
            allow_stale=request.allow_stale,
            store=request.store or operational_store(con, settings=settings),
            explain_missing=on_demand_explainer(
                settings,
                top=request.programme.reasons_per_citizen,
                language=request.programme.reasons_language,
            ),
        )


def _check_reason(reason: str | None) -> None:
    """Refuse a reason the audit log may not keep (the note rules of recording)."""
    problem = None if reason is None else note_problem(reason)
    if problem is not None:
        raise ConfigError(BAD_REASON.format(problem=problem))


def run_weekly(settings: EngineSettings, request: WeeklyRequest) -> WeeklyResult:
    """Run the Monday job: load-check, score, explain, list, fairness, monitor.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse, MLflow store and output root.
    request : WeeklyRequest
        The programme, the week and who acts.

    Returns
    -------
    WeeklyResult
        One line of figures per step.

    Raises
    ------
    NotFoundError
        No extract loaded, or the programme's model is not registered.
    StaleDataError
        The extract is too old for the week (checked before any scoring).
    ConfigError
        A reason the audit log may not keep (as for ``run_list``).
    """
    _check_reason(request.reason)  # before the heavy imports of the weekly job
    from outreach.weekly import run_weekly as run_monday_job

    return run_monday_job(
        settings,
        programme=request.programme,
        week=request.week,
        actor=request.actor,
        progress=request.progress,
        allow_stale=request.allow_stale,
        reason=request.reason,
    )


def run_record(settings: EngineSettings, request: RecordRequest) -> RecordResult:
    """Record what happened: a sheet all or nothing unless ``partial``.

    Parameters
    ----------
    settings : EngineSettings
        The warehouse (unless the request brings its own store).
    request : RecordRequest
        The list, the outcomes and who records them.

    Returns
    -------
    RecordResult
        Counts recorded, known, blank and refused (with reasons).

    Raises
    ------
    NotFoundError
        No frozen list for the programme and week.
    """
    if request.store is not None:
        return _record(None, request)
    with _warehouse(settings) as con:
        return _record(con, request)


def _record(
    con: duckdb.DuckDBPyConnection | None, request: RecordRequest
) -> RecordResult:
    """Call :func:`record_contacts` with the request's values."""
    return record_contacts(
        con,
        programme=request.programme,
        week=request.week,
        file=request.file,
        entries=request.entries,
        actor=request.actor,
        today=request.today,
        store=request.store,
        partial=request.partial,
        areas=request.areas,
        source=request.source,
    )


def run_evaluate(
    settings: EngineSettings, request: EvaluateRequest
) -> EvaluationResult:
    """Estimate the effect of outreach from the randomised hold-outs.

    Parameters
    ----------
    settings : EngineSettings
        The warehouse.
    request : EvaluateRequest
        The programme and its follow-up window.

    Returns
    -------
    EvaluationResult
        Differences with bootstrap intervals, or why there are none yet.
    """
    from outreach.evaluate import evaluate_outreach

    with _warehouse(settings) as con:
        return evaluate_outreach(
            con, request.programme, follow_up_days=request.follow_up_days
        )


def run_programme_report(
    settings: EngineSettings, request: ProgrammeReportRequest
) -> ProgrammeReportResult:
    """Report listed, reached, screened, declined by week and education level.

    Parameters
    ----------
    settings : EngineSettings
        The warehouse.
    request : ProgrammeReportRequest
        The programme, one week or all, and an optional file to write.

    Returns
    -------
    ProgrammeReportResult
        Aggregate rows, small cells suppressed.
    """
    from outreach.programme_report import build_programme_report

    with _warehouse(settings) as con:
        return build_programme_report(
            con,
            request.programme.name,
            week=request.week,
            out_path=request.out_path,
        )


def run_audit_log(settings: EngineSettings, request: AuditLogRequest) -> AuditLogResult:
    """Show or export the outreach audit trail (who, when, what; counts only).

    Parameters
    ----------
    settings : EngineSettings
        The warehouse.
    request : AuditLogRequest
        One programme or all, and an optional file to write.

    Returns
    -------
    AuditLogResult
        The events and the file written.
    """
    with _warehouse(settings) as con:
        return export_audit_log(con, request.out_path, programme=request.programme)
