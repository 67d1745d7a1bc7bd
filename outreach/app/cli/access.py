"""``opspor access-log``: the per-citizen access log, for an admin.

``counts`` shows entries per user, day and action (no pseudonym); ``export``
writes the entries of an investigation as CSV (and logs that export, one entry
per pseudonym in it); ``purge`` deletes entries older than the retention
(``OPSPOR_ACCESS_LOG_RETENTION_DAYS``; every write purges too). The commands
that print or export person rows (``list``, ``weekly``, ``record``) write their
entries through :func:`log_list_export` and :func:`log_recorded`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from features.settings import EngineSettings
from outreach.app.access_log import (
    AccessFilter,
    access_log,
    export_for_cli,
    listed_pseudonyms,
    log_cli_access,
    purge_now,
    recorded_pseudonyms,
)
from outreach.app.cli._common import (
    JsonOpt,
    UserOpt,
    cli_state,
    option_date,
    run_command,
)

__all__ = ["access_app", "log_list_export", "log_recorded"]

access_app = typer.Typer(
    help="The per-citizen access log (who looked at whose data): counts, export, "
    "purge.",
    no_args_is_help=True,
)

UserFilterOpt = Annotated[
    str | None, typer.Option("--actor", help="Only entries by this user.")
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="From this day (YYYY-MM-DD).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="To this day, inclusive (YYYY-MM-DD).")
]


@dataclass(frozen=True)
class AccessLogResult:
    """What an ``opspor access-log`` command did."""

    rows: list[dict[str, Any]]
    path: str | None = None
    purged: int = 0


def _filter(
    actor: str | None,
    pseudonym: str | None,
    since: str | None,
    until: str | None,
) -> AccessFilter:
    """Build the filter from the options (dates checked)."""
    return AccessFilter(
        actor=actor,
        pseudonym=pseudonym,
        since=option_date(since, "--since") if since else None,
        until=option_date(until, "--until") if until else None,
    )


def _render_counts(r: AccessLogResult) -> str:
    lines = [f"{len(r.rows)} group(s) of entries (user, day, action)"]
    lines += [
        f"  {row['day']} {row['actor']:12} {row['action']:20} "
        f"{row['entries']:6} entries, {row['citizens']} citizen(s)"
        for row in r.rows
    ]
    return "\n".join(lines)


@access_app.command("counts")
def counts_command(
    ctx: typer.Context,
    actor: UserFilterOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show entries and citizens per user, day and action (no pseudonym)."""
    state = cli_state(ctx, as_json=as_json)
    run_command(
        state,
        lambda: AccessLogResult(
            access_log(state.settings).counts(_filter(actor, None, since, until))
        ),
        _render_counts,
    )


@access_app.command("export")
def export_command(
    ctx: typer.Context,
    out_path: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    actor: UserFilterOpt = None,
    pseudonym: Annotated[
        str | None, typer.Option("--pseudonym", help="Only entries about this citizen.")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the matching entries to a CSV file for an investigation (logged)."""
    state = cli_state(ctx, as_json=as_json)

    def call() -> AccessLogResult:
        where = _filter(actor, pseudonym, since, until)
        text = export_for_cli(state.settings, where, user)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text, encoding="utf-8")
        return AccessLogResult(rows=[], path=str(out_path))

    run_command(
        state,
        call,
        lambda r: f"Wrote {r.path} (the export is in the access log too)",
    )


@access_app.command("purge")
def purge_command(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Delete entries older than the retention (OPSPOR_ACCESS_LOG_RETENTION_DAYS)."""
    state = cli_state(ctx, as_json=as_json)
    days = state.settings.access_log_retention_days
    run_command(
        state,
        lambda: AccessLogResult(rows=[], purged=purge_now(state.settings)),
        lambda r: f"Purged {r.purged} entr(y/ies) older than {days} days",
    )


def log_list_export(settings: EngineSettings, result: Any, user: str | None) -> None:
    """Log a list whose files were written: one ``exported`` entry per citizen."""
    if not result.paths:
        return
    log_cli_access(
        settings,
        "exported",
        listed_pseudonyms(settings, result.list_id),
        user=user,
        programme=result.programme,
        week=result.week,
        list_id=result.list_id,
    )


def log_recorded(
    settings: EngineSettings,
    result: Any,
    request: Any,
) -> None:
    """Log the citizens a ``record`` run stored outcomes of (``changed``)."""
    if result.n_recorded + result.n_duplicates == 0:
        return
    log_cli_access(
        settings,
        "changed",
        recorded_pseudonyms(request.file, request.entries),
        user=request.actor,
        programme=result.programme,
        week=result.week,
        list_id=result.list_id,
    )
