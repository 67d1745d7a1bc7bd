"""``opspor score`` and ``opspor explain``: risk and its reasons per citizen."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from features.errors import ConfigError
from outreach.app.cli._common import (
    AsOfOpt,
    DbOpt,
    JsonOpt,
    ModelOpt,
    cli_state,
    option_date,
    run_command,
)


def score_command(
    ctx: typer.Context,
    model: ModelOpt,
    as_of: AsOfOpt,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write calibrated risk and rank of every cohort member to scoring.scores."""
    from models.score import score_citizens

    state = cli_state(ctx, db=db, as_json=as_json)
    run_command(
        state,
        lambda: score_citizens(state.settings, model=model, as_of=option_date(as_of)),
        lambda r: (
            f"Scored {r.n_scored:,} citizens ({r.cohort}) at {r.as_of_date} "
            f"with {r.model_uri} into {r.table}"
        ),
    )


def explain_command(
    ctx: typer.Context,
    model: ModelOpt,
    as_of: AsOfOpt,
    top: Annotated[
        int, typer.Option("--top", min=1, max=10, help="Reasons per citizen.")
    ] = 3,
    lang: Annotated[
        str, typer.Option("--lang", help="Reason language: da or en.")
    ] = "da",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain each score in plain language (SHAP on the ranked score) into scoring.reasons."""
    from models.explain import explain_scores

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        if lang not in ("da", "en"):
            raise ConfigError(
                f"The '--lang' option must be 'da' or 'en'. Got {lang!r} instead."
            )
        return explain_scores(
            state.settings,
            model=model,
            as_of=option_date(as_of),
            top=top,
            language=lang,  # type: ignore[arg-type]
        )

    run_command(
        state,
        call,
        lambda r: (
            f"Explained {r.n_citizens:,} citizens ({r.n_reasons:,} reasons, {r.language}) "
            f"at {r.as_of_date} for {r.model_uri} into {r.table}"
        ),
    )
