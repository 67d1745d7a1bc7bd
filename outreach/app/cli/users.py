"""``opspor users``: the web app's accounts (add, add-demo, reset-password, remove, list).

A password given here is an admin's choice, so it is temporary: the user must
choose their own at the next sign-in (as when an admin adds or resets in the app).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from features.errors import ConfigError
from outreach.app.cli._common import (
    JsonOpt,
    cli_state,
    run_command,
)

if TYPE_CHECKING:
    from outreach.app.users import UsersResult

users_app = typer.Typer(
    help="Users of the web app (coordinators, data scientists, reviewers, admins)."
)
UsersFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--users-file", help="Users JSON file [default <output-dir>/users.json]."
    ),
]


def _render_users(r: UsersResult) -> str:
    if r.action == "reset":
        return _render_reset(r)
    if r.action != "listed":
        return f"User {r.users[0]['name']} {r.action} ({r.store})"
    lines = [f"{len(r.users)} user(s) in {r.store}"]
    lines += [
        f"  {u['name']:16} {u['role']:15} {','.join(u['programmes']) or '-':24} "
        f"{','.join(u['municipalities']) or '-'}"
        + (f"  locked until {u['locked_until']}" if u["locked_until"] else "")
        + ("  disabled" if u.get("disabled") else "")
        + ("  must change password" if u.get("must_change") else "")
        for u in r.users
    ]
    return "\n".join(lines)


def _render_reset(r: UsersResult) -> str:
    user = r.users[0]
    lines = [
        f"Password of {user['name']} reset ({r.store}); "
        f"{user['sessions_ended']} session(s) ended; they must change it at sign-in."
    ]
    if "temporary_password" in user:
        lines.append(f"Temporary password (shown once): {user['temporary_password']}")
    return "\n".join(lines)


@users_app.command("add")
def users_add_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
    role: Annotated[
        str,
        typer.Option("--role", help="coordinator, data_scientist, reviewer or admin."),
    ],
    programme: Annotated[
        list[str] | None,
        typer.Option("--programme", help="A coordinator's programme (repeat)."),
    ] = None,
    municipality: Annotated[
        list[str] | None,
        typer.Option("--municipality", help="A coordinator's kommunekode (repeat)."),
    ] = None,
    language: Annotated[
        str, typer.Option("--language", help="Interface language: da or en.")
    ] = "da",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    users_file: UsersFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a web-app user; the password (from stdin) is temporary until they change it."""
    from outreach.app.stages import UserAddRequest, run_user_add

    state = cli_state(ctx, as_json=as_json)

    def call() -> UsersResult:
        if not password_stdin:
            raise ConfigError(
                "Give the password on standard input with --password-stdin."
            )
        request = UserAddRequest(
            name,
            role,
            password=sys.stdin.readline().rstrip("\r\n"),
            programmes=tuple(programme or ()),
            municipalities=tuple(municipality or ()),
            language=language,
            users_file=users_file,
        )
        return run_user_add(state.settings, request)

    run_command(state, call, _render_users)


@users_app.command("add-demo")
def users_add_demo_command(
    ctx: typer.Context, users_file: UsersFileOpt = None, as_json: JsonOpt = False
) -> None:
    """Add the demo users (koordinator, analytiker, revisor, administrator)."""
    from outreach.app.stages import UsersRequest, run_users_add_demo

    state = cli_state(ctx, as_json=as_json)
    run_command(
        state,
        lambda: run_users_add_demo(state.settings, UsersRequest(users_file)),
        lambda r: (
            f"Added {len(r.users)} demo user(s) to {r.store}: "
            + (", ".join(u["name"] for u in r.users) or "all existed already")
        ),
    )


@users_app.command("reset-password")
def users_reset_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the new password from standard input [default: make one].",
        ),
    ] = False,
    users_file: UsersFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reset a password (temporary until changed) and end the user's sessions."""
    from outreach.app.stages import UserResetRequest, run_user_reset

    state = cli_state(ctx, as_json=as_json)

    def call() -> UsersResult:
        typed = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
        return run_user_reset(state.settings, UserResetRequest(name, typed, users_file))

    run_command(state, call, _render_users)


@users_app.command("remove")
def users_remove_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    users_file: UsersFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a web-app user and end their signed-in sessions."""
    from outreach.app.stages import UserRemoveRequest, run_user_remove

    state = cli_state(ctx, as_json=as_json)
    run_command(
        state,
        lambda: run_user_remove(state.settings, UserRemoveRequest(name, users_file)),
        _render_users,
    )


@users_app.command("list")
def users_list_command(
    ctx: typer.Context, users_file: UsersFileOpt = None, as_json: JsonOpt = False
) -> None:
    """List web-app users with role and scope (never the password hashes)."""
    from outreach.app.stages import UsersRequest, run_users_list

    state = cli_state(ctx, as_json=as_json)
    run_command(
        state,
        lambda: run_users_list(state.settings, UsersRequest(users_file)),
        _render_users,
    )
