"""What every ``opspor`` command shares: options, state, running and failing.

Each command module of :mod:`outreach.app.cli` parses its options into a stage
request, calls one ``run_<stage>`` entry function through :func:`run_command`,
and renders the small result it returns as one rich line, or as one JSON object
on standard output with ``--json``. Domain errors print as ``ErrorType: message``
and exit with the code of :mod:`features.errors`.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from features.errors import ConfigError, OpsporError, exit_code_for
from features.settings import EngineSettings

console = Console(stderr=True)
out = Console()
T = TypeVar("T")

OutputDirOpt = Annotated[
    Path | None,
    typer.Option("--output-dir", help="Root of all outputs (env OPSPOR_OUTPUT_DIR)."),
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", help="DuckDB warehouse (env OPSPOR_DB).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON object.")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Tracebacks and info logs.")
]


@dataclasses.dataclass
class CliState:
    """Settings and output mode shared by every command of one invocation."""

    settings: EngineSettings
    as_json: bool = False
    verbose: bool = False


def main(
    ctx: typer.Context,
    output_dir: OutputDirOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Opspor command line; every command also accepts --json, --db and --output-dir."""
    _exit_cleanly_on_sigterm()
    state = CliState(EngineSettings(), as_json=as_json, verbose=verbose)
    try:
        state.settings = _settings(output_dir, db, verbose)
    except OpsporError as error:
        fail(state, error)
    ctx.obj = state


def _exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so transactions roll back and staging is removed.

    Python's default is to die at once, skipping every ``finally``; a stopped
    load would then leave its person-level staging copy behind.
    """
    on_main = threading.current_thread() is threading.main_thread()
    if on_main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_exit)


def _raise_exit(signum: int, frame: object) -> None:
    """Signal handler: exit with 128 + the signal number (143 for SIGTERM)."""
    raise SystemExit(128 + signum)


def _settings(
    output_dir: Path | None, db: Path | None, verbose: bool
) -> EngineSettings:
    """Resolve settings: option > environment > default."""
    level = "INFO" if verbose else None
    return EngineSettings.from_env(output_dir=output_dir, db_path=db, log_level=level)


def cli_state(
    ctx: typer.Context, db: Path | None = None, as_json: bool = False
) -> CliState:
    """Merge per-command --db/--json into the global state."""
    state: CliState = ctx.obj
    if db is not None:
        state.settings = dataclasses.replace(state.settings, db_path=db)
    if as_json:
        state.as_json = True
    state.settings.configure_logging()
    return state


def jsonable(value: Any) -> Any:
    """Turn result dataclasses, paths and dates into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path | date):
        return str(value)
    return value


def run_command(
    state: CliState, call: Callable[[], T], render: Callable[[T], str]
) -> T:
    """Call one entry function; print its result; map Opspor errors to exit codes."""
    try:
        result = call()
    except OpsporError as error:
        fail(state, error)
    except Exception as error:  # noqa: BLE001 - no traceback without --verbose
        fail(state, error)
    if state.as_json:
        sys.stdout.write(json.dumps(jsonable(result), ensure_ascii=False) + "\n")
    else:
        out.print(render(result), soft_wrap=True)
    return result


def fail(state: CliState, error: Exception) -> NoReturn:
    """Print ``ErrorType: message`` (JSON with --json) and exit with the error's code.

    An unexpected error (not an :class:`OpsporError`) prints the same one line
    and exits 1; its traceback only with ``--verbose``.
    """
    code = exit_code_for(error) if isinstance(error, OpsporError) else 1
    if state.verbose:
        console.print_exception()
    payload = getattr(error, "report", None)
    lines = str(error).splitlines() or [""]
    message = str(error) if isinstance(error, OpsporError) else lines[0]
    if state.as_json:
        body = payload if payload is not None else {"status": "error"}
        body = {**jsonable(body), "error": type(error).__name__, "message": message}
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"{type(error).__name__}: {message}\n")
    raise typer.Exit(code)


_BAD_DATE = "The {option!r} option must be a date (YYYY-MM-DD). Got {value!r} instead."


def option_date(value: str, option: str = "--as-of") -> date:
    """Parse an ISO date option; ConfigError (exit 2) naming the option if it is not one."""
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ConfigError(_BAD_DATE.format(option=option, value=value)) from error


@contextmanager
def progress_bar(state: CliState, label: str) -> Iterator[Callable[[int, int], None]]:
    """Show a rich progress bar on stderr (silent with --json); yield advance()."""
    if state.as_json:
        yield lambda done, total: None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


ProgrammeOpt = Annotated[
    str,
    typer.Option(
        "--programme",
        help="Programme name (outreach/programmes/*.toml) or a TOML path.",
    ),
]
WeekOpt = Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W48.")]
AllowStaleOpt = Annotated[
    bool,
    typer.Option(
        "--allow-stale",
        help="Accept an extract older than the programme's max_extract_age_days "
        "(needs --reason; shown in the list header).",
    ),
]
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user", help="Who acts, for the audit log [default $USER, else cli]."
    ),
]


ReportModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", help="NAME@VERSION (or NAME@ALIAS), e.g. diabetes_harm_365d@3."
    ),
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", help="NAME, NAME@ALIAS or NAME@VERSION (bare NAME = champion)."
    ),
]
AsOfOpt = Annotated[str, typer.Option("--as-of", help="As-of date, YYYY-MM-DD.")]
