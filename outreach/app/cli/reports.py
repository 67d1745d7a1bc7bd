"""``opspor audit``, ``monitor``, ``card`` and ``governance-pack``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from outreach.app.cli._common import (
    DbOpt,
    JsonOpt,
    ProgrammeOpt,
    ReportModelOpt,
    cli_state,
    option_date,
    run_command,
)

if TYPE_CHECKING:
    from reports.render import ReportLanguage
    from reports.stages import AuditResult, GovernanceResult, MonitorResult


def _render_audit(r: AuditResult) -> str:
    from reports.stages import REACH_METRIC

    head = (
        f"Audit {r.programme}/{r.scope} ({r.model_uri}, as of {r.as_of_date}): {r.n_cohort} citizens, "
        f"{r.n_selected} on the list at k={r.k}, outcome observed for {r.n_observed}; "
        f"{r.n_flags} flag(s), {r.n_breaches} breach(es); wrote {r.html}"
    )
    reach = [
        f"  {f['code']} against a reference ranking ({f['grouping']}: {f['group']}): "
        f"{f['message']}"
        for f in r.flags
        if f.get("metric") == REACH_METRIC
    ]
    return "\n".join([head, *reach])


def audit_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: Annotated[
        str | None,
        typer.Option("--week", help="Audit this week's list, e.g. 2026-W48."),
    ] = None,
    model: ReportModelOpt = None,
    capacity: Annotated[
        int | None, typer.Option("--k", help="Capacity [default: the programme's].")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="With --model: the scored date.")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="Outcome [default: the model's].")
    ] = None,
    fairness_config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Fairness TOML [default: reports/fairness.toml]."
        ),
    ] = None,
    fail_on_breach: Annotated[
        bool,
        typer.Option(
            "--fail-on-breach", help="Exit 3 when a fairness threshold is breached."
        ),
    ] = False,
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            help="Summary and flags in the report: both (Danish, then English), "
            "da or en.",
        ),
    ] = "both",
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="An alternative model (NAME[@VERSION]) ranked beside the audited "
            "one at capacity k; repeatable.",
        ),
    ] = None,
    reach_against: Annotated[
        list[str] | None,
        typer.Option(
            "--reach-against",
            help="A reference model (NAME[@VERSION]): flag a group whose need the "
            "audited model reaches markedly less at capacity k; repeatable "
            "(default: the programme's reach_against).",
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth",
            help="Synthetic worlds only: the extract's truth file (*.truth_risk.parquet); the side-by-side comparison then tells each model's expected precision at k against the true risk and the true-risk ranking's top k.",
        ),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fairness audit of a programme's week list or of a model version (HTML, PDF, JSON)."""
    from outreach.programmes import load_programme
    from reports.config import FairnessConfig
    from reports.stages import AuditRequest, run_audit

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> AuditResult:
        request = AuditRequest(
            load_programme(programme),
            week=week,
            model=model,
            k=capacity,
            as_of_date=None if as_of is None else option_date(as_of),
            outcome=outcome,
            config=None
            if fairness_config is None
            else FairnessConfig.from_toml(fairness_config),
            fail_on_breach=fail_on_breach,
            lang=cast("ReportLanguage", lang),  # the audit checks it (BAD_LANGUAGE)
            compare=tuple(compare or ()),
            reach_against=tuple(reach_against or ()),
            truth=truth,
        )
        return run_audit(state.settings, request)

    run_command(state, call, _render_audit)


def _render_monitor(r: MonitorResult) -> str:
    lines = [
        f"Monitor {r.programme} {r.week} ({r.model_uri}, as of {r.as_of_date}, "
        f"extract {r.extract_date}): {r.verdict.upper()}, {r.n_alerts} alert(s)",
        *(f"  {a['section']:<12}{a['code']:<20}{a['message']}" for a in r.alerts),
        f"  wrote {r.html}",
    ]
    return "\n".join(lines)


def monitor_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: Annotated[
        str | None,
        typer.Option("--week", help="ISO week [default: the latest list's week]."),
    ] = None,
    monitor_config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Monitoring TOML [default: reports/monitoring.toml]."
        ),
    ] = None,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="Exit 3 when anything alerts.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Watch data, inputs, scores and realised performance (HTML and JSON)."""
    from outreach.programmes import load_programme
    from reports.monitor_config import MonitorConfig
    from reports.stages import MonitorRequest, run_monitor

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> MonitorResult:
        prog = load_programme(programme)
        config = None
        if monitor_config is not None:
            config = MonitorConfig.from_toml(monitor_config)
        return run_monitor(state.settings, MonitorRequest(prog, week, config))

    result = run_command(state, call, _render_monitor)
    if fail_on_alert and result.verdict != "ok":
        raise typer.Exit(3)


def card_command(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Option("--model", help="NAME@VERSION (or NAME@ALIAS).")
    ],
    metadata: Annotated[
        Path | None,
        typer.Option("--metadata", help="Model metadata JSON instead of MLflow."),
    ] = None,
    audit_file: Annotated[
        Path | None,
        typer.Option(
            "--audit", help="fairness.json [default: newest for the version]."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the model card (HTML + Markdown, TRIPOD+AI checklist) of a registered version."""
    from reports.stages import CardRequest, run_card

    state = cli_state(ctx, as_json=as_json)
    request = CardRequest(model, metadata_path=metadata, audit_path=audit_file)
    run_command(
        state,
        lambda: run_card(state.settings, request),
        lambda r: (
            f"Model card of {r.name}@{r.version}: {r.html} and {r.markdown} "
            f"(fairness audit: {r.fairness_audit or 'none yet'})"
        ),
    )


def governance_pack_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    model: ReportModelOpt = None,
    day: Annotated[
        str | None, typer.Option("--date", help="Folder date [default: today].")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bundle model card, latest audit, feature catalogue, audit-log summary and DP note."""
    from outreach.programmes import load_programme
    from reports.stages import GovernanceRequest, run_governance_pack

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> GovernanceResult:
        prog = load_programme(programme)
        when = None if day is None else option_date(day, "--date")
        request = GovernanceRequest(prog, model=model, day=when)
        return run_governance_pack(state.settings, request)

    run_command(
        state,
        call,
        lambda r: (
            f"Governance pack for {r.programme}: {r.index} ({len(r.files)} files"
            + (f"; not yet available: {', '.join(r.missing)})" if r.missing else ")")
        ),
    )
