"""``opspor serve`` and ``opspor opstore-sync``: the web app and its store."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.app.cli._common import (
    DbOpt,
    JsonOpt,
    cli_state,
    console,
    run_command,
)


def serve_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="App processes (more than 1 needs OPSPOR_OPERATIONAL_DB).",
        ),
    ] = 1,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Reached over HTTPS (or a TLS proxy): Secure cookie and HSTS "
            "(also OPSPOR_TLS=1).",
        ),
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the web app for coordinators, data scientists and reviewers."""
    from dataclasses import replace

    from outreach.app.stages import ServeRequest, run_serve

    state = cli_state(ctx, db=db, as_json=as_json)
    settings = replace(state.settings, tls=True) if tls else state.settings
    console.print(f"Opspor web app on http://{host}:{port}/ (Ctrl+C to stop)")
    request = ServeRequest(host, port, workers)
    run_command(
        state,
        lambda: run_serve(settings, request),
        lambda r: f"Stopped the web app on {r.url}",
    )


def opstore_sync_command(
    ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Copy the operational tables from PostgreSQL into the warehouse for the reports."""
    from outreach.app.stages import OpstoreSyncRequest, run_opstore_sync

    state = cli_state(ctx, db=db, as_json=as_json)
    run_command(
        state,
        lambda: run_opstore_sync(state.settings, OpstoreSyncRequest()),
        lambda r: (
            "Nothing to copy: the operational tables live in the warehouse"
            if not r
            else "Copied "
            + ", ".join(f"{n:,} {t}" for t, n in r.items())
            + " into the warehouse"
        ),
    )
