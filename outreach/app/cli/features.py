"""``opspor features``: point-in-time features, their export and catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from outreach.app.cli._common import (
    DbOpt,
    JsonOpt,
    cli_state,
    run_command,
)

features_app = typer.Typer(
    help="Build point-in-time features (--as-of DATE or --as-of-range A:B --every 1mo).",
    no_args_is_help=False,
)


def _render_features(r: Any) -> str:
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
    from features.build import build_features, open_warehouse
    from features.spine import resolve_as_of_dates

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        dates = resolve_as_of_dates(as_of, as_of_range, every)
        with open_warehouse(state.settings.warehouse) as con:
            return build_features(con, dates)

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
    from features.build import export_scoring_features, open_warehouse
    from features.spine import parse_as_of

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        day = parse_as_of(as_of)
        with open_warehouse(state.settings.warehouse, read_only=True) as con:
            return export_scoring_features(con, as_of_date=day, out=out_file)

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
    from features.catalogue import write_catalogue

    state = cli_state(ctx, as_json=as_json)
    target = out_dir if out_dir is not None else state.settings.output_dir / "catalogue"
    run_command(
        state,
        lambda: write_catalogue(target),
        lambda r: f"Wrote {r.n_entries} catalogue entries to {r.markdown} and {r.json}",
    )
