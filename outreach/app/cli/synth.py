"""``opspor synth``: a synthetic journal extract (:mod:`synthetic_data`).

The one command without a ``run_<stage>`` wrapper: ``synthetic_data`` stands in
for an outside supplier and imports nothing of ours, not even
:class:`~features.settings.EngineSettings`, so the command calls its
:func:`~synthetic_data.generate_extract` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from features.errors import ConfigError
from outreach.app.cli._common import (
    JsonOpt,
    cli_state,
    progress_bar,
    run_command,
)


def synth_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the extract to.")
    ],
    profile: Annotated[
        str,
        typer.Option(help="Profile name (region_demo, region_small) or a TOML path."),
    ] = "region_demo",
    citizens: Annotated[
        int | None, typer.Option(help="Override the number of citizens.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the random seed.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    world: Annotated[
        int | None,
        typer.Option(
            "--world",
            help="Generate the world drawn from this seed (mechanisms, coverage, "
            "history); replaces a [world] section of the profile.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic journal extract (contract v1) and its ground-truth file."""
    from synthetic_data import generate_extract, load_profile
    from synthetic_data.profile import ProfileError

    state = cli_state(ctx, as_json=as_json)

    def call() -> Any:
        try:
            prof = load_profile(profile, citizens=citizens, seed=seed, world=world)
            with progress_bar(state, "Generating citizens") as advance:
                return generate_extract(prof, out_dir, fmt=fmt, progress=advance)
        except ProfileError as error:
            raise ConfigError(str(error)) from error

    run_command(
        state,
        call,
        lambda r: (
            f"Wrote {r.n_citizens:,} citizens ({sum(r.rows.values()):,} rows) "
            f"to {r.out_dir}; ground truth in {r.truth_path}"
            + ("" if r.world_path is None else f"; world in {r.world_path}")
        ),
    )
