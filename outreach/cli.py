"""The ``opspor`` command line: wiring only.

Each command parses its options into settings, calls one package entry
function, and renders the small result it returns as one rich line, or as one
JSON object on standard output with ``--json``. Domain errors print as
``ErrorType: message`` and exit with the code of :mod:`features.errors`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from features.errors import ConfigError, OpsporError, exit_code_for
from features.settings import EngineSettings

__all__ = ["app"]

app = typer.Typer(
    name="opspor",
    help="Opspor: find citizens with chronic disease slipping out of care, fairly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()
T = TypeVar("T")

OutputDirOpt = Annotated[
    Path | None, typer.Option("--output-dir", help="Root of all outputs (env OPSPOR_OUTPUT_DIR).")
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", help="DuckDB warehouse (env OPSPOR_DB).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks and info logs.")]


@dataclasses.dataclass
class _State:
    settings: EngineSettings
    as_json: bool = False
    verbose: bool = False


@app.callback()
def main(
    ctx: typer.Context,
    output_dir: OutputDirOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Opspor command line; every command also accepts --json, --db and --output-dir."""
    ctx.obj = _State(
        settings=_settings(output_dir, db, verbose),
        as_json=as_json,
        verbose=verbose,
    )


def _settings(output_dir: Path | None, db: Path | None, verbose: bool) -> EngineSettings:
    """Resolve settings: option > environment > default."""
    level = "INFO" if verbose else None
    return EngineSettings.from_env(output_dir=output_dir, db_path=db, log_level=level)


def _state(ctx: typer.Context, db: Path | None = None, as_json: bool = False) -> _State:
    """Merge per-command --db/--json into the global state."""
    state: _State = ctx.obj
    if db is not None:
        state.settings = dataclasses.replace(state.settings, db_path=db)
    if as_json:
        state.as_json = True
    state.settings.configure_logging()
    return state


def _jsonable(value: Any) -> Any:
    """Turn result dataclasses, paths and dates into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path | date):
        return str(value)
    return value


def _run(state: _State, call: Callable[[], T], render: Callable[[T], str]) -> T:
    """Call one entry function; print its result; map Opspor errors to exit codes."""
    try:
        result = call()
    except OpsporError as error:
        _fail(state, error)
    if state.as_json:
        sys.stdout.write(json.dumps(_jsonable(result), ensure_ascii=False) + "\n")
    else:
        out.print(render(result))
    return result


def _fail(state: _State, error: OpsporError) -> None:
    """Print ``ErrorType: message`` (JSON with --json) and exit with the error's code."""
    code = exit_code_for(error)
    if state.verbose:
        console.print_exception()
    payload = getattr(error, "report", None)
    if state.as_json:
        body = payload if payload is not None else {"status": "error"}
        body = {**_jsonable(body), "error": type(error).__name__, "message": str(error)}
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        console.print(f"{type(error).__name__}: {error}", markup=False, highlight=False)
    raise typer.Exit(code)


# --- synth -----------------------------------------------------------------


@app.command()
def synth(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the extract to.")],
    profile: Annotated[
        str, typer.Option(help="Profile name (region_demo, region_small) or a TOML path.")
    ] = "region_demo",
    citizens: Annotated[int | None, typer.Option(help="Override the number of citizens.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the random seed.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic journal extract (contract v1) and its ground-truth file."""
    from synthetic_data import generate_extract, load_profile
    from synthetic_data.profile import ProfileError

    state = _state(ctx, as_json=as_json)

    def call() -> Any:
        try:
            prof = load_profile(profile, citizens=citizens, seed=seed)
            with _progress(state, "Generating citizens") as advance:
                return generate_extract(prof, out_dir, fmt=fmt, progress=advance)
        except ProfileError as error:
            raise ConfigError(str(error)) from error

    _run(
        state,
        call,
        lambda r: f"Wrote {r.n_citizens:,} citizens ({sum(r.rows.values()):,} rows) "
        f"to {r.out_dir}; ground truth in {r.truth_path}",
    )


def _progress(state: _State, label: str) -> Any:
    """A rich progress bar on stderr (silent with --json); yields advance(done, total)."""
    from contextlib import contextmanager

    from rich.progress import Progress

    @contextmanager
    def bar() -> Any:
        if state.as_json:
            yield lambda done, total: None
            return
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(label, total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            yield advance

    return bar()
