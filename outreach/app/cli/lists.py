"""``opspor list`` and ``opspor weekly``: the week's outreach list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from outreach.app.cli._common import (
    AllowStaleOpt,
    DbOpt,
    JsonOpt,
    ProgrammeOpt,
    UserOpt,
    WeekOpt,
    cli_state,
    progress_bar,
    run_command,
)
from outreach.app.cli.access import log_list_export

if TYPE_CHECKING:
    from outreach.stages import ListResult, WeeklyResult


def _render_list(r: ListResult) -> str:
    c = r.counts
    suppressed = ", ".join(
        f"{k} {v}" for k, v in {**c["excluded"], **c["suppressed"]}.items() if v
    )
    files = ", ".join(r.paths.values()) or "no files"
    return (
        f"List {r.list_id} ({r.status}): {c['listed']} listed of "
        f"{c['eligible']} eligible ({c['held_out']} held out; "
        f"kept off: {suppressed or 'none'}); as of {r.as_of_date} "
        f"(week starts {r.week_start}, extract {r.extract_date}); "
        f"model {r.model_uri}; wrote {files}"
    )


def list_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: WeekOpt,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, xlsx or html [default: all three]."),
    ] = None,
    model_uri: Annotated[
        str | None,
        typer.Option(
            "--model-uri", help="Champion URI, e.g. models:/diabetes_harm_365d/3."
        ),
    ] = None,
    regenerate: Annotated[
        bool, typer.Option("--regenerate", help="Replace the frozen list.")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why it is regenerated or built stale."),
    ] = None,
    allow_stale: AllowStaleOpt = False,
    user: UserOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build (or return the frozen) weekly outreach list and export it."""
    from outreach.exports import EXPORT_FORMATS
    from outreach.programmes import load_programme
    from outreach.stages import ListRequest, run_list

    state = cli_state(ctx, db=db, as_json=as_json)
    formats = EXPORT_FORMATS if fmt is None else (fmt,)

    def call() -> ListResult:
        request = ListRequest(
            load_programme(programme),
            week,
            formats=formats,
            model_uri=model_uri,
            actor=user,
            regenerate=regenerate,
            reason=reason,
            allow_stale=allow_stale,
        )
        return run_list(state.settings, request)

    result = run_command(state, call, _render_list)
    log_list_export(state.settings, result, user)


def _render_weekly(r: WeeklyResult) -> str:
    c = r.counts
    kept_off = ", ".join(
        f"{k} {v}"
        for k, v in {**c.get("excluded", {}), **c.get("suppressed", {})}.items()
        if v
    )
    return "\n".join(
        [
            f"Week {r.week} of {r.programme}: as of {r.as_of_date} "
            f"(extract {r.extract_date}, {r.extract_hash[:12]})",
            f"  model     {r.model_uri}: scored {r.n_scored:,}; reasons for the top "
            f"{r.n_explained:,} ({r.n_reasons:,}), others when listed",
            f"  list      {r.list_id} ({r.list_status}): {c.get('listed', 0)} listed of "
            f"{c.get('eligible', 0)} eligible; kept off: {kept_off or 'none'}",
            *(f"  export    {path}" for path in r.paths.values()),
            f"  fairness  {r.n_flags} flag(s), {r.n_breaches} breach(es): {r.audit_html}",
            f"  monitor   {r.monitor_verdict}, {r.monitor_alerts} alert(s): "
            f"{r.monitor_html}",
        ]
    )


def weekly_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: WeekOpt,
    allow_stale: AllowStaleOpt = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why a stale extract is accepted."),
    ] = None,
    user: UserOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the Monday job: load-check, score, explain, list, fairness, monitor."""
    from outreach.programmes import load_programme
    from outreach.stages import WeeklyRequest, run_weekly
    from outreach.weekly import STEPS

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> WeeklyResult:
        prog = load_programme(programme)
        label = f"Weekly {prog.name} {week} ({len(STEPS)} steps)"
        with progress_bar(state, label) as advance:
            request = WeeklyRequest(prog, week, user, allow_stale, reason, advance)
            return run_weekly(state.settings, request)

    result = run_command(state, call, _render_weekly)
    log_list_export(state.settings, result, user)
