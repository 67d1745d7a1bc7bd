"""``opspor features``: point-in-time features, their export and catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from outreach.app.cli._common import (
    DbOpt,
    JsonOpt,
    cli_state,
    run_command,
)

if TYPE_CHECKING:
    from features.stages import FeaturesExportResult, FeaturesResult

features_app = typer.Typer(
    help="Build point-in-time features (--as-of DATE or --as-of-range A:B --every 1mo).",
    no_args_is_help=False,
)


def _render_features(r: FeaturesResult) -> str:
    dates = r.as_of_dates
    span = str(dates[0]) if len(dates) == 1 else f"{dates[0]} .. {dates[-1]}"
    return (
        f"Built {r.n_features} features for {r.n_citizens:,} citizens at "
        f"{len(dates)} as-of date(s) ({span}): {r.n_rows:,} rows in "
        f"{', '.join(r.tables)} ({r.seconds:.1f} s)"
    )


@features_app.callback(invoke_without_command=True)
def features_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="One as-of date, YYYY-MM-DD.")
    ] = None,
    as_of_range: Annotated[
        str | None,
        typer.Option("--as-of-range", help="START:END, both YYYY-MM-DD, inclusive."),
    ] = None,
    every: Annotated[
        str, typer.Option("--every", help="Step of the range: 1mo, 3mo, 1w, 14d, 1y.")
    ] = "1mo",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the feature views and marts for one or many as-of dates in one pass."""
    if ctx.invoked_subcommand is not None:
        return
    from features.spine import resolve_as_of_dates
    from features.stages import FeaturesRequest, run_features

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> FeaturesResult:
        dates = resolve_as_of_dates(as_of, as_of_range, every)
        return run_features(state.settings, FeaturesRequest(tuple(dates)))

    run_command(state, call, _render_features)


@features_app.command("export")
def features_export_command(
    ctx: typer.Context,
    as_of: Annotated[str, typer.Option("--as-of", help="The as-of date, YYYY-MM-DD.")],
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write marts.scoring_features for one as-of date to a Parquet file."""
    from features.spine import parse_as_of
    from features.stages import FeaturesExportRequest, run_features_export

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> FeaturesExportResult:
        request = FeaturesExportRequest(parse_as_of(as_of), out_file)
        return run_features_export(state.settings, request)

    run_command(
        state,
        call,
        lambda r: (
            f"Wrote {r.n_rows:,} rows x {r.n_columns} columns "
            f"(as of {r.as_of_date}) to {r.path}"
        ),
    )


@features_app.command("catalogue")
def features_catalogue_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder [default: <output-dir>/catalogue]."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the feature catalogue (Markdown and JSON) from the SQL contracts."""
    from features.stages import CatalogueRequest, run_catalogue

    state = cli_state(ctx, as_json=as_json)
    run_command(
        state,
        lambda: run_catalogue(state.settings, CatalogueRequest(out_dir)),
        lambda r: f"Wrote {r.n_entries} catalogue entries to {r.markdown} and {r.json}",
    )
