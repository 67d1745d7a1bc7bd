"""``opspor record``, ``evaluate``, ``programme-report``, ``audit-log``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outreach.app.cli._common import (
    DbOpt,
    JsonOpt,
    ProgrammeOpt,
    UserOpt,
    WeekOpt,
    cli_state,
    run_command,
)
from outreach.app.cli.access import log_recorded

if TYPE_CHECKING:
    from outreach.stages import (
        EvaluationResult,
        ProgrammeReportResult,
        RecordResult,
    )


def _render_record(r: RecordResult) -> str:
    refused = "; ".join(f"row {x['row']}: {x['reason']}" for x in r.refused)
    nothing = (
        " Nothing was recorded: a sheet is recorded all or nothing"
        " (--partial records the good rows)."
        if r.refused and not r.partial
        else ""
    )
    return (
        f"Recorded {r.n_recorded} outcome(s) on list {r.list_id} "
        f"({r.n_duplicates} already known, "
        f"{r.n_blank} blank, {r.n_opt_outs} new opt-out(s)); refused {len(r.refused)}"
        + (f": {refused}" if refused else "")
        + nothing
    )


def record_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: WeekOpt,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Filled-in record sheet (.csv or the .xlsx export)."
        ),
    ] = None,
    citizen: Annotated[
        str | None, typer.Option("--citizen", help="One entry: pseudonymous id.")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            help="reached, screened, declined, unreachable or wrong_contact_data."
        ),
    ] = None,
    outcome_date: Annotated[
        str | None, typer.Option("--date", help="Date of the outcome [default today].")
    ] = None,
    opt_out: Annotated[
        bool, typer.Option("--opt-out", help="With declined: never list again.")
    ] = False,
    note: Annotated[
        str | None, typer.Option(help="Free-text note (no health data).")
    ] = None,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Record the good rows when others are refused."),
    ] = False,
    user: UserOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record what happened: a sheet all or nothing (exit 1 if any row is refused)."""
    from outreach.stages import RecordRequest, run_record

    state = cli_state(ctx, db=db, as_json=as_json)
    entries: tuple[dict[str, str | None], ...] = ()
    if citizen is not None or outcome is not None:
        entry = {
            "citizen_id": citizen,
            "outcome": outcome,
            "outcome_date": outcome_date or date.today().isoformat(),
            "opt_out": "yes" if opt_out else "",
            "note": note,
        }
        entries = (entry,)
    request = RecordRequest(programme, week, file, entries, user, partial)
    result = run_command(
        state, lambda: run_record(state.settings, request), _render_record
    )
    log_recorded(state.settings, result, request)
    if result.refused:
        raise typer.Exit(1)


def _render_evaluation(r: EvaluationResult) -> str:
    if r.status != "ok":
        return str(r.message)
    lines = [
        f"{r.programme}: {r.n_weeks} week(s), {r.n_listed} listed, "
        f"{r.n_held_out} held out"
    ]
    lines += [
        f"  {e['outcome']} ({e['comparison']}): {e['difference']:+.3f} "
        f"[{e['ci_low']:+.3f}, {e['ci_high']:+.3f}]"
        for e in r.estimates
        if e["difference"] is not None
    ]
    return "\n".join(lines)


def evaluate_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    follow_up_days: Annotated[
        int | None,
        typer.Option(help="Follow-up window in days [default from the programme]."),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Estimate the effect of outreach from the randomised hold-outs."""
    from outreach.programmes import load_programme
    from outreach.stages import EvaluateRequest, run_evaluate

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> EvaluationResult:
        request = EvaluateRequest(load_programme(programme), follow_up_days)
        return run_evaluate(state.settings, request)

    run_command(state, call, _render_evaluation)


def _render_report(r: ProgrammeReportResult) -> str:
    def cell(value: Any) -> str:
        return "<suppressed>" if value is None else str(value)

    lines = [
        f"{r.programme}: weeks {', '.join(r.weeks)} "
        f"(groups under {r.min_cell_size} suppressed)"
    ]
    lines += [
        f"  {row['scope']:9} {row['week']:8} {row['education_level']:16}"
        f" listed {cell(row['listed'])}"
        f" reached {cell(row['reached'])} screened {cell(row['screened'])}"
        f" declined {cell(row['declined'])}"
        for row in r.rows
    ]
    return "\n".join(lines)


def programme_report_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: Annotated[
        str | None, typer.Option("--week", help="One ISO week [default all].")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Also write .csv or .json.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report listed, reached, screened, declined: by week, over time, by education."""
    from outreach.programmes import load_programme
    from outreach.stages import ProgrammeReportRequest, run_programme_report

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> ProgrammeReportResult:
        request = ProgrammeReportRequest(load_programme(programme), week, out_path)
        return run_programme_report(state.settings, request)

    run_command(state, call, _render_report)


def audit_log_command(
    ctx: typer.Context,
    programme: Annotated[
        str | None, typer.Option("--programme", help="One programme.")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Export to .csv or .json.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or export the outreach audit trail (who, when, what; counts only)."""
    from outreach.stages import AuditLogRequest, run_audit_log

    state = cli_state(ctx, db=db, as_json=as_json)
    request = AuditLogRequest(programme, out_path)
    run_command(
        state,
        lambda: run_audit_log(state.settings, request),
        lambda r: "\n".join(
            [f"{r.n_events} event(s)" + (f"; wrote {r.path}" if r.path else "")]
            + [
                f"  {e['at']} {e['event']:11} {e['actor']:10} {e['list_id'] or ''}"
                for e in r.events[-20:]
            ]
        ),
    )
