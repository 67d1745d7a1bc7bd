"""The ``opspor`` command line: wiring only.

Each command parses its options into settings, calls one package entry
function, and renders the small result it returns as one rich line, or as one
JSON object on standard output with ``--json``. Domain errors print as
``ErrorType: message`` and exit with the code of :mod:`features.errors`.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

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
    rich_markup_mode=None,
)
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
    _exit_cleanly_on_sigterm()
    state = _State(EngineSettings(), as_json=as_json, verbose=verbose)
    try:
        state.settings = _settings(output_dir, db, verbose)
    except OpsporError as error:
        _fail(state, error)
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
    except Exception as error:  # noqa: BLE001 - no traceback without --verbose
        _fail(state, error)
    if state.as_json:
        sys.stdout.write(json.dumps(_jsonable(result), ensure_ascii=False) + "\n")
    else:
        out.print(render(result), soft_wrap=True)
    return result


def _fail(state: _State, error: Exception) -> NoReturn:
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
        body = {**_jsonable(body), "error": type(error).__name__, "message": message}
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"{type(error).__name__}: {message}\n")
    raise typer.Exit(code)


_BAD_DATE = "The {option!r} option must be a date (YYYY-MM-DD). Got {value!r} instead."


def _option_date(value: str, option: str = "--as-of") -> date:
    """Parse an ISO date option; ConfigError (exit 2) naming the option if it is not one."""
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ConfigError(_BAD_DATE.format(option=option, value=value)) from error


# --- synth -----------------------------------------------------------------


@app.command()
def synth(
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

    state = _state(ctx, as_json=as_json)

    def call() -> Any:
        try:
            prof = load_profile(profile, citizens=citizens, seed=seed, world=world)
            with _progress(state, "Generating citizens") as advance:
                return generate_extract(prof, out_dir, fmt=fmt, progress=advance)
        except ProfileError as error:
            raise ConfigError(str(error)) from error

    _run(
        state,
        call,
        lambda r: (
            f"Wrote {r.n_citizens:,} citizens ({sum(r.rows.values()):,} rows) "
            f"to {r.out_dir}; ground truth in {r.truth_path}"
            + ("" if r.world_path is None else f"; world in {r.world_path}")
        ),
    )


def _progress(state: _State, label: str) -> Any:
    """Show a rich progress bar on stderr (silent with --json); yield advance()."""
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


# --- load ------------------------------------------------------------------

ExtractDirArg = Annotated[
    Path,
    typer.Argument(help="Extract folder: extract.json + one CSV or Parquet per table."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate and report, but write nothing.")
]


@app.command("load")
def load_command(
    ctx: typer.Context,
    extract_dir: ExtractDirArg,
    dry_run: DryRunOpt = False,
    replace_source: Annotated[
        bool,
        typer.Option(
            "--replace-source",
            help="Let another region's extract replace the loaded one (audited).",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the region is replaced.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate a journal extract, quarantine bad rows, load it into raw.* (idempotent)."""
    from features.load import load_extract
    from features.load_report import format_report

    state = _state(ctx, db=db, as_json=as_json)
    _run(
        state,
        lambda: load_extract(
            extract_dir,
            settings=state.settings,
            dry_run=dry_run,
            replace_source=replace_source,
            reason=reason,
        ),
        format_report,
    )


# --- outreach ----------------------------------------------------------------

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


def _outreach_call(state: _State, body: Callable[[Any], T]) -> Callable[[], T]:
    """Wrap an entry function so it runs on an open warehouse connection."""

    def call() -> T:
        from features.db import connect

        con = connect(state.settings.warehouse)
        try:
            return body(con)
        finally:
            con.close()

    return call


def _render_list(r: Any) -> str:
    c = r.counts
    suppressed = ", ".join(
        f"{k} {v}" for k, v in {**c["excluded"], **c["suppressed"]}.items() if v
    )
    files = ", ".join(r.paths.values()) or "no files"
    return (
        f"List {r.list_id} ({r.status}): {c['listed']} listed of "
        f"{c['eligible']} eligible ({c['held_out']} held out; "
        f"kept off: {suppressed or 'none'}); as of {r.as_of_date} "
        f"(week starts {r.week_start}, extract {r.extract_date}); "
        f"model {r.model_uri}; wrote {files}"
    )


@app.command("list")
def list_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: WeekOpt,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, xlsx or html [default: all three]."),
    ] = None,
    model_uri: Annotated[
        str | None,
        typer.Option(
            "--model-uri", help="Champion URI, e.g. models:/diabetes_harm_365d/3."
        ),
    ] = None,
    regenerate: Annotated[
        bool, typer.Option("--regenerate", help="Replace the frozen list.")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why it is regenerated or built stale."),
    ] = None,
    allow_stale: AllowStaleOpt = False,
    user: UserOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build (or return the frozen) weekly outreach list and export it."""
    from outreach.exports import EXPORT_FORMATS
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    state = _state(ctx, db=db, as_json=as_json)
    formats = EXPORT_FORMATS if fmt is None else (fmt,)
    call = _outreach_call(
        state,
        lambda con: build_weekly_list(
            con,
            load_programme(programme),
            week=week,
            model_uri=model_uri,
            actor=user,
            regenerate=regenerate,
            reason=reason,
            output_dir=state.settings.output_dir,
            formats=formats,
            allow_stale=allow_stale,
        ),
    )
    _run(state, call, _render_list)


def _render_record(r: Any) -> str:
    refused = "; ".join(f"row {x['row']}: {x['reason']}" for x in r.refused)
    nothing = (
        " Nothing was recorded: a sheet is recorded all or nothing"
        " (--partial records the good rows)."
        if r.refused and not r.partial
        else ""
    )
    return (
        f"Recorded {r.n_recorded} outcome(s) on list {r.list_id} "
        f"({r.n_duplicates} already known, "
        f"{r.n_blank} blank, {r.n_opt_outs} new opt-out(s)); refused {len(r.refused)}"
        + (f": {refused}" if refused else "")
        + nothing
    )


@app.command("record")
def record_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: WeekOpt,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Filled-in record sheet (.csv or the .xlsx export)."
        ),
    ] = None,
    citizen: Annotated[
        str | None, typer.Option("--citizen", help="One entry: pseudonymous id.")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            help="reached, screened, declined, unreachable or wrong_contact_data."
        ),
    ] = None,
    outcome_date: Annotated[
        str | None, typer.Option("--date", help="Date of the outcome [default today].")
    ] = None,
    opt_out: Annotated[
        bool, typer.Option("--opt-out", help="With declined: never list again.")
    ] = False,
    note: Annotated[
        str | None, typer.Option(help="Free-text note (no health data).")
    ] = None,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Record the good rows when others are refused."),
    ] = False,
    user: UserOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record what happened: a sheet all or nothing (exit 1 if any row is refused)."""
    from outreach.recording import record_contacts

    state = _state(ctx, db=db, as_json=as_json)
    entries = []
    if citizen is not None or outcome is not None:
        entries.append(
            {
                "citizen_id": citizen,
                "outcome": outcome,
                "outcome_date": outcome_date or date.today().isoformat(),
                "opt_out": "yes" if opt_out else "",
                "note": note,
            }
        )
    call = _outreach_call(
        state,
        lambda con: record_contacts(
            con,
            programme=programme,
            week=week,
            file=file,
            entries=entries,
            actor=user,
            partial=partial,
        ),
    )
    result = _run(state, call, _render_record)
    if result.refused:
        raise typer.Exit(1)


def _render_evaluation(r: Any) -> str:
    if r.status != "ok":
        return str(r.message)
    lines = [
        f"{r.programme}: {r.n_weeks} week(s), {r.n_listed} listed, "
        f"{r.n_held_out} held out"
    ]
    lines += [
        f"  {e['outcome']} ({e['comparison']}): {e['difference']:+.3f} "
        f"[{e['ci_low']:+.3f}, {e['ci_high']:+.3f}]"
        for e in r.estimates
        if e["difference"] is not None
    ]
    return "\n".join(lines)


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    follow_up_days: Annotated[
        int | None,
        typer.Option(help="Follow-up window in days [default from the programme]."),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Estimate the effect of outreach from the randomised hold-outs."""
    from outreach.evaluate import evaluate_outreach
    from outreach.programmes import load_programme

    state = _state(ctx, db=db, as_json=as_json)
    call = _outreach_call(
        state,
        lambda con: evaluate_outreach(
            con, load_programme(programme), follow_up_days=follow_up_days
        ),
    )
    _run(state, call, _render_evaluation)


def _render_report(r: Any) -> str:
    def cell(value: Any) -> str:
        return "<suppressed>" if value is None else str(value)

    lines = [
        f"{r.programme}: weeks {', '.join(r.weeks)} "
        f"(groups under {r.min_cell_size} suppressed)"
    ]
    lines += [
        f"  {row['scope']:9} {row['week']:8} {row['education_level']:16}"
        f" listed {cell(row['listed'])}"
        f" reached {cell(row['reached'])} screened {cell(row['screened'])}"
        f" declined {cell(row['declined'])}"
        for row in r.rows
    ]
    return "\n".join(lines)


@app.command("programme-report")
def programme_report_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: Annotated[
        str | None, typer.Option("--week", help="One ISO week [default all].")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Also write .csv or .json.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report listed, reached, screened, declined: by week, over time, by education."""
    from outreach.programme_report import build_programme_report
    from outreach.programmes import load_programme

    state = _state(ctx, db=db, as_json=as_json)
    call = _outreach_call(
        state,
        lambda con: build_programme_report(
            con, load_programme(programme).name, week=week, out_path=out_path
        ),
    )
    _run(state, call, _render_report)


@app.command("audit-log")
def audit_log_command(
    ctx: typer.Context,
    programme: Annotated[
        str | None, typer.Option("--programme", help="One programme.")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Export to .csv or .json.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or export the outreach audit trail (who, when, what; counts only)."""
    from outreach.list_audit import export_audit_log

    state = _state(ctx, db=db, as_json=as_json)
    call = _outreach_call(
        state, lambda con: export_audit_log(con, out_path, programme=programme)
    )
    _run(
        state,
        call,
        lambda r: "\n".join(
            [f"{r.n_events} event(s)" + (f"; wrote {r.path}" if r.path else "")]
            + [
                f"  {e['at']} {e['event']:11} {e['actor']:10} {e['list_id'] or ''}"
                for e in r.events[-20:]
            ]
        ),
    )


# --- models ------------------------------------------------------------------

SpecArg = Annotated[
    str,
    typer.Argument(help="models/specs/<name>.toml, another spec file, or a spec name."),
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", help="NAME, NAME@ALIAS or NAME@VERSION (bare NAME = champion)."
    ),
]
AsOfOpt = Annotated[str, typer.Option("--as-of", help="As-of date, YYYY-MM-DD.")]


def _render_train(r: Any) -> str:
    m = r.metrics["precision_at_capacity"]
    auc = r.metrics["roc_auc"]
    return (
        f"Registered {r.model_uri} ({r.estimator}{', champion' if r.champion else ''}); "
        f"test {r.test_date}: precision@{r.k_capacity} {m['value']:.3f} "
        f"[{m['ci_low']:.3f}, {m['ci_high']:.3f}], AUROC {auc['value']:.3f}; "
        f"rows {r.rows}, events {r.events}"
    )


@app.command("train")
def train_command(
    ctx: typer.Context, spec: SpecArg, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Train, calibrate, validate, log and register the model a spec describes."""
    from models.spec import load_spec
    from models.train import train_model

    state = _state(ctx, db=db, as_json=as_json)
    _run(
        state,
        lambda: train_model(load_spec(spec), settings=state.settings),
        _render_train,
    )


def _render_promote(r: Any) -> str:
    if r.k is None:
        return f"{r.name}: version {r.version} is champion ({r.decision})"
    return (
        f"{r.name}: version {r.version} is champion ({r.decision}); precision@{r.k} "
        f"{r.challenger_value:.3f} vs {r.champion_value:.3f} for version "
        f"{r.previous_champion} on {r.n_test} test citizens at {r.test_date}"
    )


@app.command("promote")
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
    from models.promote import promote_model

    state = _state(ctx, db=db, as_json=as_json)
    _run(
        state,
        lambda: promote_model(state.settings, model, force=force, reason=reason),
        _render_promote,
    )


@app.command("score")
def score_command(
    ctx: typer.Context,
    model: ModelOpt,
    as_of: AsOfOpt,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write calibrated risk and rank of every cohort member to scoring.scores."""
    from models.score import score_citizens

    state = _state(ctx, db=db, as_json=as_json)
    _run(
        state,
        lambda: score_citizens(state.settings, model=model, as_of=_option_date(as_of)),
        lambda r: (
            f"Scored {r.n_scored:,} citizens ({r.cohort}) at {r.as_of_date} "
            f"with {r.model_uri} into {r.table}"
        ),
    )


@app.command("explain")
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

    state = _state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        if lang not in ("da", "en"):
            raise ConfigError(
                f"The '--lang' option must be 'da' or 'en'. Got {lang!r} instead."
            )
        return explain_scores(
            state.settings,
            model=model,
            as_of=_option_date(as_of),
            top=top,
            language=lang,  # type: ignore[arg-type]
        )

    _run(
        state,
        call,
        lambda r: (
            f"Explained {r.n_citizens:,} citizens ({r.n_reasons:,} reasons, {r.language}) "
            f"at {r.as_of_date} for {r.model_uri} into {r.table}"
        ),
    )


# --- reports -----------------------------------------------------------------

ReportProgrammeOpt = Annotated[
    str,
    typer.Option(
        "--programme",
        help="Programme name (outreach/programmes/*.toml) or a TOML path.",
    ),
]
ReportModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", help="NAME@VERSION (or NAME@ALIAS), e.g. diabetes_harm_365d@3."
    ),
]


def _programme_dict(programme: Any) -> dict[str, Any]:
    """Return a loaded Programme as a plain dict (reports never import outreach)."""
    return {f.name: getattr(programme, f.name) for f in dataclasses.fields(programme)}


def _render_audit(r: Any) -> str:
    return (
        f"Audit {r.programme}/{r.scope} ({r.model_uri}, as of {r.as_of_date}): {r.n_cohort} citizens, "
        f"{r.n_selected} on the list at k={r.k}, outcome observed for {r.n_observed}; "
        f"{r.n_flags} flag(s), {r.n_breaches} breach(es); wrote {r.html}"
    )


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    programme: ReportProgrammeOpt,
    week: Annotated[
        str | None,
        typer.Option("--week", help="Audit this week's list, e.g. 2026-W48."),
    ] = None,
    model: ReportModelOpt = None,
    capacity: Annotated[
        int | None, typer.Option("--k", help="Capacity [default: the programme's].")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="With --model: the scored date.")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="Outcome [default: the model's].")
    ] = None,
    fairness_config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Fairness TOML [default: reports/fairness.toml]."
        ),
    ] = None,
    fail_on_breach: Annotated[
        bool,
        typer.Option(
            "--fail-on-breach", help="Exit 3 when a fairness threshold is breached."
        ),
    ] = False,
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            help="Summary and flags in the report: both (Danish, then English), "
            "da or en.",
        ),
    ] = "both",
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="An alternative model (NAME[@VERSION]) ranked beside the audited "
            "one at capacity k; repeatable.",
        ),
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fairness audit of a programme's week list or of a model version (HTML, PDF, JSON)."""
    from outreach.programmes import load_programme
    from reports.audit import run_audit
    from reports.config import FairnessConfig

    state = _state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        prog = load_programme(programme)
        as_of_date = None if as_of is None else _option_date(as_of)
        return run_audit(
            state.settings,
            programme=prog.name,
            k=capacity or prog.capacity_per_week,
            week=week,
            model=model,
            outcome=outcome,
            municipalities=prog.municipalities,
            as_of_date=as_of_date,
            config=None
            if fairness_config is None
            else FairnessConfig.from_toml(fairness_config),
            fail_on_breach=fail_on_breach,
            lang=lang,  # type: ignore[arg-type]  # checked by write_fairness_report
            compare=compare or (),
        )

    _run(state, call, _render_audit)


def _render_monitor(r: Any) -> str:
    lines = [
        f"Monitor {r.programme} {r.week} ({r.model_uri}, as of {r.as_of_date}, "
        f"extract {r.extract_date}): {r.verdict.upper()}, {r.n_alerts} alert(s)",
        *(f"  {a['section']:<12}{a['code']:<20}{a['message']}" for a in r.alerts),
        f"  wrote {r.html}",
    ]
    return "\n".join(lines)


@app.command("monitor")
def monitor_command(
    ctx: typer.Context,
    programme: ReportProgrammeOpt,
    week: Annotated[
        str | None,
        typer.Option("--week", help="ISO week [default: the latest list's week]."),
    ] = None,
    monitor_config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Monitoring TOML [default: reports/monitoring.toml]."
        ),
    ] = None,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="Exit 3 when anything alerts.")
    ] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Watch data, inputs, scores and realised performance (HTML and JSON)."""
    from outreach.programmes import load_programme
    from reports.monitor import run_monitor
    from reports.monitor_config import MonitorConfig

    state = _state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        prog = load_programme(programme)
        return run_monitor(
            state.settings,
            programme=prog.name,
            model=f"{prog.model_name}@{prog.model_alias}",
            week=week,
            municipalities=prog.municipalities,
            config=None
            if monitor_config is None
            else MonitorConfig.from_toml(monitor_config),
        )

    result = _run(state, call, _render_monitor)
    if fail_on_alert and result.verdict != "ok":
        raise typer.Exit(3)


@app.command("card")
def card_command(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Option("--model", help="NAME@VERSION (or NAME@ALIAS).")
    ],
    metadata: Annotated[
        Path | None,
        typer.Option("--metadata", help="Model metadata JSON instead of MLflow."),
    ] = None,
    audit_file: Annotated[
        Path | None,
        typer.Option(
            "--audit", help="fairness.json [default: newest for the version]."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the model card (HTML + Markdown, TRIPOD+AI checklist) of a registered version."""
    from reports.model_card import make_model_card

    state = _state(ctx, as_json=as_json)
    _run(
        state,
        lambda: make_model_card(
            state.settings, model, metadata_path=metadata, audit_path=audit_file
        ),
        lambda r: (
            f"Model card of {r.name}@{r.version}: {r.html} and {r.markdown} "
            f"(fairness audit: {r.fairness_audit or 'none yet'})"
        ),
    )


@app.command("governance-pack")
def governance_pack_command(
    ctx: typer.Context,
    programme: ReportProgrammeOpt,
    model: ReportModelOpt = None,
    day: Annotated[
        str | None, typer.Option("--date", help="Folder date [default: today].")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bundle model card, latest audit, feature catalogue, audit-log summary and DP note."""
    from outreach.programmes import load_programme
    from reports.governance import build_governance_pack

    state = _state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        prog = load_programme(programme)
        when = None if day is None else _option_date(day, "--date")
        ref = model or f"{prog.model_name}@{prog.model_alias}"
        return build_governance_pack(
            state.settings, programme=_programme_dict(prog), model=ref, day=when
        )

    _run(
        state,
        call,
        lambda r: (
            f"Governance pack for {r.programme}: {r.index} ({len(r.files)} files"
            + (f"; not yet available: {', '.join(r.missing)})" if r.missing else ")")
        ),
    )


# --- features ----------------------------------------------------------------

features_app = typer.Typer(
    help="Build point-in-time features (--as-of DATE or --as-of-range A:B --every 1mo).",
    no_args_is_help=False,
)
app.add_typer(features_app, name="features")


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

    state = _state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        dates = resolve_as_of_dates(as_of, as_of_range, every)
        with open_warehouse(state.settings.warehouse) as con:
            return build_features(con, dates)

    _run(state, call, _render_features)


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

    state = _state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        day = parse_as_of(as_of)
        with open_warehouse(state.settings.warehouse, read_only=True) as con:
            return export_scoring_features(con, as_of_date=day, out=out_file)

    _run(
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

    state = _state(ctx, as_json=as_json)
    target = out_dir if out_dir is not None else state.settings.output_dir / "catalogue"
    _run(
        state,
        lambda: write_catalogue(target),
        lambda r: f"Wrote {r.n_entries} catalogue entries to {r.markdown} and {r.json}",
    )


# --- web ---------------------------------------------------------------------

users_app = typer.Typer(
    help="Users of the web app (coordinators, data scientists, reviewers)."
)
app.add_typer(users_app, name="users")
UsersFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--users-file", help="Users JSON file [default <output-dir>/users.json]."
    ),
]


def _render_users(r: Any) -> str:
    if r.action != "listed":
        return f"User {r.users[0]['name']} {r.action} ({r.store})"
    lines = [f"{len(r.users)} user(s) in {r.store}"]
    lines += [
        f"  {u['name']:16} {u['role']:15} {','.join(u['programmes']) or '-':24} "
        f"{','.join(u['municipalities']) or '-'}"
        + (f"  locked until {u['locked_until']}" if u["locked_until"] else "")
        for u in r.users
    ]
    return "\n".join(lines)


@users_app.command("add")
def users_add_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
    role: Annotated[
        str, typer.Option("--role", help="coordinator, data_scientist or reviewer.")
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
    """Add a web-app user; the password is read from stdin and kept as an argon2 hash."""
    from outreach.app.users import add_user
    from outreach.app.web.app import users_store_from_env

    state = _state(ctx, as_json=as_json)

    def call() -> Any:
        if not password_stdin:
            raise ConfigError(
                "Give the password on standard input with --password-stdin."
            )
        password = sys.stdin.readline().rstrip("\r\n")
        return add_user(
            users_store_from_env(state.settings, users_file),
            name,
            role=role,
            password=password,
            programmes=programme or (),
            municipalities=municipality or (),
            language=language,
        )

    _run(state, call, _render_users)


@users_app.command("add-demo")
def users_add_demo_command(
    ctx: typer.Context, users_file: UsersFileOpt = None, as_json: JsonOpt = False
) -> None:
    """Add the demo users (koordinator, analytiker, revisor) for the synthetic region."""
    from outreach.app.users import add_demo_users
    from outreach.app.web.app import users_store_from_env

    state = _state(ctx, as_json=as_json)
    _run(
        state,
        lambda: add_demo_users(users_store_from_env(state.settings, users_file)),
        lambda r: (
            f"Added {len(r.users)} demo user(s) to {r.store}: "
            + (", ".join(u["name"] for u in r.users) or "all existed already")
        ),
    )


@users_app.command("remove")
def users_remove_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    users_file: UsersFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a web-app user; their sessions end at their next request."""
    from outreach.app.users import remove_user
    from outreach.app.web.app import users_store_from_env

    state = _state(ctx, as_json=as_json)
    _run(
        state,
        lambda: remove_user(users_store_from_env(state.settings, users_file), name),
        _render_users,
    )


@users_app.command("list")
def users_list_command(
    ctx: typer.Context, users_file: UsersFileOpt = None, as_json: JsonOpt = False
) -> None:
    """List web-app users with role and scope (never the password hashes)."""
    from outreach.app.users import list_users
    from outreach.app.web.app import users_store_from_env

    state = _state(ctx, as_json=as_json)
    _run(
        state,
        lambda: list_users(users_store_from_env(state.settings, users_file)),
        _render_users,
    )


@app.command("serve")
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
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the web app for coordinators, data scientists and reviewers."""
    from outreach.app.web.app import serve

    state = _state(ctx, db=db, as_json=as_json)
    console.print(f"Opspor web app on http://{host}:{port}/ (Ctrl+C to stop)")
    _run(
        state,
        lambda: serve(state.settings, host=host, port=port, workers=workers),
        lambda r: f"Stopped the web app on {r.url}",
    )


@app.command("opstore-sync")
def opstore_sync_command(
    ctx: typer.Context, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Copy the operational tables from PostgreSQL into the warehouse for the reports."""
    from outreach.opstore import operational_store, sync_to_warehouse

    state = _state(ctx, db=db, as_json=as_json)
    call = _outreach_call(
        state, lambda con: sync_to_warehouse(con, operational_store(con))
    )
    _run(
        state,
        call,
        lambda r: (
            "Nothing to copy: the operational tables live in the warehouse"
            if not r
            else "Copied "
            + ", ".join(f"{n:,} {t}" for t, n in r.items())
            + " into the warehouse"
        ),
    )


# --- weekly ------------------------------------------------------------------


def _render_weekly(r: Any) -> str:
    c = r.counts
    kept_off = ", ".join(
        f"{k} {v}"
        for k, v in {**c.get("excluded", {}), **c.get("suppressed", {})}.items()
        if v
    )
    return "\n".join(
        [
            f"Week {r.week} of {r.programme}: as of {r.as_of_date} "
            f"(extract {r.extract_date}, {r.extract_hash[:12]})",
            f"  model     {r.model_uri}: scored {r.n_scored:,}, {r.n_reasons:,} reasons",
            f"  list      {r.list_id} ({r.list_status}): {c.get('listed', 0)} listed of "
            f"{c.get('eligible', 0)} eligible; kept off: {kept_off or 'none'}",
            *(f"  export    {path}" for path in r.paths.values()),
            f"  fairness  {r.n_flags} flag(s), {r.n_breaches} breach(es): {r.audit_html}",
            f"  monitor   {r.monitor_verdict}, {r.monitor_alerts} alert(s): "
            f"{r.monitor_html}",
        ]
    )


@app.command("weekly")
def weekly_command(
    ctx: typer.Context,
    programme: ProgrammeOpt,
    week: WeekOpt,
    allow_stale: AllowStaleOpt = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why a stale extract is accepted."),
    ] = None,
    user: UserOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the Monday job: load-check, score, explain, list, fairness, monitor."""
    from outreach.programmes import load_programme
    from outreach.weekly import STEPS, run_weekly

    state = _state(ctx, db=db, as_json=as_json)

    def call() -> Any:
        prog = load_programme(programme)
        with _progress(
            state, f"Weekly {prog.name} {week} ({len(STEPS)} steps)"
        ) as advance:
            return run_weekly(
                state.settings,
                programme=prog,
                week=week,
                actor=user,
                progress=advance,
                allow_stale=allow_stale,
                reason=reason,
            )

    _run(state, call, _render_weekly)
