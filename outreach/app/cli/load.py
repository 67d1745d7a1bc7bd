"""``opspor load``: validate a journal extract and load it into ``raw.*``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.app.cli._common import (
    DbOpt,
    JsonOpt,
    cli_state,
    run_command,
)

ExtractDirArg = Annotated[
    Path,
    typer.Argument(help="Extract folder: extract.json + one CSV or Parquet per table."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate and report, but write nothing.")
]


def load_command(
    ctx: typer.Context,
    extract_dir: ExtractDirArg,
    dry_run: DryRunOpt = False,
    replace_source: Annotated[
        bool,
        typer.Option(
            "--replace-source",
            help="Let another region's extract replace the loaded one (audited).",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the region is replaced.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate a journal extract, quarantine bad rows, load it into raw.* (idempotent)."""
    from features.load_report import format_report
    from features.stages import LoadRequest, run_load

    state = cli_state(ctx, db=db, as_json=as_json)
    request = LoadRequest(extract_dir, dry_run, replace_source, reason)
    run_command(state, lambda: run_load(state.settings, request), format_report)
