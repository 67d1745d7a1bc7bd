"""``opspor score`` and ``opspor explain``: risk and its reasons per citizen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from models.explain import Language
    from models.stages import ExplainResult


def score_command(
    ctx: typer.Context,
    model: ModelOpt,
    as_of: AsOfOpt,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write calibrated risk and rank of every cohort member to scoring.scores."""
    from models.stages import ScoreRequest, run_score

    state = cli_state(ctx, db=db, as_json=as_json)
    run_command(
        state,
        lambda: run_score(state.settings, ScoreRequest(model, option_date(as_of))),
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
    ranks: Annotated[
        int | None,
        typer.Option(
            "--ranks",
            min=1,
            help="Explain only the first N ranks (default: every scored citizen).",
        ),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain each score in plain language (SHAP on the ranked score) into scoring.reasons."""
    from models.stages import ExplainRequest, run_explain

    state = cli_state(ctx, db=db, as_json=as_json)

    def call() -> ExplainResult:
        language = _language(lang)
        request = ExplainRequest(model, option_date(as_of), top, language, ranks)
        return run_explain(state.settings, request)

    run_command(
        state,
        call,
        lambda r: (
            f"Explained {r.n_citizens:,} citizens ({r.n_reasons:,} reasons, {r.language}) "
            f"at {r.as_of_date} for {r.model_uri} into {r.table}"
        ),
    )


def _language(lang: str) -> Language:
    """Check ``--lang``: ConfigError (exit 2) unless it is ``da`` or ``en``."""
    if lang == "da":
        return "da"
    if lang == "en":
        return "en"
    raise ConfigError(
        f"The '--lang' option must be 'da' or 'en'. Got {lang!r} instead."
    )
