"""``opspor store status|upgrade``: the operational store's schema version.

A typer sub-app, registered by the ``opspor`` command line with one line. It
reads the settings the root command resolved (``--db``, ``OPSPOR_*``), or builds
them from the environment when run on its own, and prints one line, or one JSON
object with ``--json``. Errors print as ``ErrorType: message`` and exit with the
code of :mod:`features.errors`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from features.errors import OpsporError, exit_code_for
from features.settings import EngineSettings
from outreach.app.store.status import (
    StoreStatus,
    StoreUpgrade,
    store_status,
    upgrade_store,
)

__all__ = ["store_app"]

T = TypeVar("T")

store_app = typer.Typer(
    name="store",
    help="The operational store: schema version and migrations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DbOpt = Annotated[
    Path | None, typer.Option("--db", help="DuckDB warehouse (env OPSPOR_DB).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON object.")
]


def _settings(ctx: typer.Context, db: Path | None) -> EngineSettings:
    """Return the root command's (or the environment's) settings, ``--db`` applied."""
    parent = getattr(ctx.obj, "settings", None)
    settings = parent if isinstance(parent, EngineSettings) else None
    settings = settings or EngineSettings.from_env()
    return dataclasses.replace(settings, db_path=db) if db else settings


def _wants_json(ctx: typer.Context, as_json: bool) -> bool:
    """``--json`` on this command or on the root command."""
    return as_json or bool(getattr(ctx.obj, "as_json", False))


def _run(call: Callable[[], T], render: Callable[[T], str], as_json: bool) -> None:
    """Call one entry function and print its result; map errors to exit codes."""
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 - one line, no traceback
        typer.echo(f"{type(error).__name__}: {error}", err=True)
        code = exit_code_for(error) if isinstance(error, OpsporError) else 1
        raise typer.Exit(code) from None
    if as_json:
        sys.stdout.write(json.dumps(dataclasses.asdict(result)) + "\n")  # type: ignore[call-overload]
    else:
        typer.echo(render(result))


def _render_status(status: StoreStatus) -> str:
    pending = ", ".join(status.pending) or "none"
    return (
        f"Operational store: {status.backend} at {status.location}; schema version "
        f"{status.version} of {status.head}; pending migrations: {pending}"
    )


def _render_upgrade(result: StoreUpgrade) -> str:
    if not result.applied:
        return f"The {result.backend} store is up to date (version {result.version})"
    return (
        f"Upgraded the {result.backend} store from version {result.from_version} to "
        f"{result.version}: applied {', '.join(result.applied)}"
    )


@store_app.command("status")
def status_command(
    ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Show the backend, schema version and pending migrations (changes nothing)."""
    settings = _settings(ctx, db)
    _run(lambda: store_status(settings), _render_status, _wants_json(ctx, as_json))


@store_app.command("upgrade")
def upgrade_command(
    ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Apply the pending schema migrations to the operational store."""
    settings = _settings(ctx, db)
    _run(lambda: upgrade_store(settings), _render_upgrade, _wants_json(ctx, as_json))
