"""``opspor train`` and ``opspor promote``: the model registry's two writing stages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from outreach.app.cli._common import (
    DbOpt,
    JsonOpt,
    cli_state,
    run_command,
)

if TYPE_CHECKING:
    from models.stages import PromoteResult, TrainResult

SpecArg = Annotated[
    str,
    typer.Argument(help="models/specs/<name>.toml, another spec file, or a spec name."),
]


def _render_train(r: TrainResult) -> str:
    m = r.metrics["precision_at_capacity"]
    auc = r.metrics["roc_auc"]
    return (
        f"Registered {r.model_uri} ({r.estimator}{', champion' if r.champion else ''}); "
        f"test {r.test_date}: precision@{r.k_capacity} {m['value']:.3f} "
        f"[{m['ci_low']:.3f}, {m['ci_high']:.3f}], AUROC {auc['value']:.3f}; "
        f"rows {r.rows}, events {r.events}"
    )


def train_command(
    ctx: typer.Context, spec: SpecArg, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Train, calibrate, validate, log and register the model a spec describes."""
    from models.spec import load_spec
    from models.stages import TrainRequest, run_train

    state = cli_state(ctx, db=db, as_json=as_json)
    run_command(
        state,
        lambda: run_train(state.settings, TrainRequest(load_spec(spec))),
        _render_train,
    )


def _render_promote(r: PromoteResult) -> str:
    if r.k is None:
        return f"{r.name}: version {r.version} is champion ({r.decision})"
    return (
        f"{r.name}: version {r.version} is champion ({r.decision}); precision@{r.k} "
        f"{r.challenger_value:.3f} vs {r.champion_value:.3f} for version "
        f"{r.previous_champion} on {r.n_test} test citizens at {r.test_date}"
    )


def promote_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="NAME@VERSION to make champion.")],
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if worse at capacity.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why --force is used (recorded).")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the champion alias if the challenger is at least as good at capacity k."""
    from models.stages import PromoteRequest, run_promote

    state = cli_state(ctx, db=db, as_json=as_json)
    request = PromoteRequest(model, force=force, reason=reason)
    run_command(state, lambda: run_promote(state.settings, request), _render_promote)
