"""Entry point of ``opspor audit``: warehouse -> audit frame -> audit -> report files.

Resolves what to audit (a programme's week list, or a model version's scores),
builds the frame with :mod:`reports.frame`, runs :func:`reports.fairness.audit_fairness`
and writes ``<output_dir>/reports/<programme>/<week or model>/`` with
:mod:`reports.render`. With ``fail_on_breach`` it raises
:class:`~features.errors.FairnessBreachError` after the report is written, so a
release gate both fails and leaves the evidence behind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from features.db import connect, table_exists
from features.errors import ConfigError, FairnessBreachError, OpsporError
from features.settings import EngineSettings
from reports.compare import TRUE_RISK, compare_rankings, read_truth_risk
from reports.config import FairnessConfig
from reports.fairness import FairnessAudit, audit_fairness
from reports.fairness.pipeline import with_flags
from reports.frame import (
    AuditScope,
    build_audit_frame,
    resolve_model_scope,
    resolve_week_scope,
    run_report_sql,
)
from reports.reach import reach_against
from reports.render import BAD_LANGUAGE, ReportLanguage, write_fairness_report

__all__ = [
    "AuditResult",
    "BREACHED",
    "ONE_SCOPE",
    "model_outcome",
    "parse_model_ref",
    "pin_model_version",
    "run_audit",
    "score_when_missing",
]

log = logging.getLogger(__name__)

ONE_SCOPE = "Give exactly one of --week or --model (got {given})."
BAD_MODEL_REF = (
    "The model {ref!r} must be written NAME@VERSION or models:/NAME/VERSION."
)
BREACHED = "{n} fairness threshold(s) breached (see {path}): {first}"
_LABEL_PREFIX = "y_true_"


@dataclass(frozen=True)
class AuditResult:
    """What ``opspor audit`` reports back: where, how many flags, which breaches."""

    programme: str
    scope: str
    model_uri: str
    as_of_date: date
    k: int
    n_cohort: int
    n_selected: int
    n_observed: int
    n_flags: int
    n_breaches: int
    folder: Path
    html: Path
    pdf: Path
    json: Path
    flags: list[dict[str, Any]] = field(default_factory=list)


def parse_model_ref(ref: str) -> tuple[str, str]:
    """Split ``NAME@VERSION`` or ``models:/NAME/VERSION`` into (name, version).

    Raises
    ------
    ConfigError
        Neither form.
    """
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)@([A-Za-z0-9_.-]+)", ref) or re.fullmatch(
        r"models:/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", ref
    )
    if not match:
        raise ConfigError(BAD_MODEL_REF.format(ref=ref))
    return match.group(1), match.group(2)


def model_outcome(model_uri: str) -> str | None:
    """Return the outcome a model predicts: its spec's, else its name if an outcome.

    Parameters
    ----------
    model_uri : str
        ``models:/NAME/VERSION`` (or ``NAME@VERSION``).

    Returns
    -------
    str or None
        ``None`` when neither a spec nor an outcome of that name exists.
    """
    from models.outcomes import available_outcomes
    from models.spec import load_spec

    try:
        name, _ = parse_model_ref(model_uri)
        return load_spec(name).outcome
    except OpsporError:
        log.info("No spec for %s; trying its name as the outcome", model_uri)
    name = (
        model_uri.split("/")[1]
        if model_uri.startswith("models:/")
        else model_uri.split("@")[0]
    )
    return name if name in available_outcomes() else None


def pin_model_version(settings: EngineSettings, ref: str) -> str:
    """``NAME@VERSION`` as given, or ``NAME[@ALIAS]`` resolved in the MLflow registry.

    Raises
    ------
    NotFoundError
        The alias or model is not registered.
    """
    if re.fullmatch(r"[A-Za-z0-9_.-]+@[0-9]+", ref) or ref.startswith("models:/"):
        return ref
    from models.tracking import resolve_model

    resolved = resolve_model(settings, ref)
    return f"{resolved.name}@{resolved.version}"


def _scope_name(week: str | None, model: str | None) -> str:
    """Folder name of an audit: the week, or the model as NAME@VERSION."""
    if (week is None) == (model is None):
        given = "both" if week is not None else "neither"
        raise ConfigError(ONE_SCOPE.format(given=given))
    if week is not None:
        return re.sub(r"[^A-Za-z0-9_.@-]", "_", week)
    name, version = parse_model_ref(str(model))
    return f"{name}@{version}"


def _resolve(
    con: Any,
    *,
    programme: str,
    week: str | None,
    model: str | None,
    as_of_date: date | None,
    outcome: str | None,
) -> AuditScope:
    """Find the list run (week) or the scored date (model) to audit."""
    if (week is None) == (model is None):
        given = "both" if week is not None else "neither"
        raise ConfigError(ONE_SCOPE.format(given=given))
    if week is not None:
        return resolve_week_scope(con, programme=programme, week=week)
    name, version = parse_model_ref(str(model))
    uri = f"models:/{name}/{version}"
    return resolve_model_scope(
        con, model_uri=uri, as_of_date=as_of_date, outcome=outcome
    )


def run_audit(
    settings: EngineSettings,
    *,
    programme: str,
    k: int,
    week: str | None = None,
    model: str | None = None,
    outcome: str | None = None,
    municipalities: Sequence[str] = (),
    as_of_date: date | None = None,
    config: FairnessConfig | None = None,
    fail_on_breach: bool = False,
    lang: ReportLanguage = "both",
    compare: Sequence[str] = (),
    reach_against: Sequence[str] = (),
    truth: Path | None = None,
) -> AuditResult:
    """Audit a programme's week list or a model version, and write the report.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and output root.
    programme : str
        Programme name (folder of the report).
    k : int
        The programme's capacity.
    week, model : str, optional
        Exactly one: ``2026-W48``, or ``NAME@VERSION``.
    outcome : str, optional
        The model's outcome (labels.<outcome> gives ``y_true``).
    municipalities : sequence of str
        The programme's area; empty keeps every scored citizen.
    as_of_date : date, optional
        For ``model``: the scored date (default: latest labelled, else latest).
    config : FairnessConfig, optional
        Default: the packaged ``reports/fairness.toml``.
    fail_on_breach : bool
        Raise FairnessBreachError when any breach flag exists (after writing).
    lang : {"both", "da", "en"}
        Language of the report's summary and flags (``fairness.json`` holds
        both).
    compare : sequence of str
        With ``model``: alternative models (``NAME[@VERSION]``) ranked beside it
        at capacity k (scored at the same date when they have no scores there);
        see :func:`reports.compare.compare_rankings`.
    reach_against : sequence of str
        With ``model``: reference rankings (``NAME[@VERSION]``, scored like
        ``compare``). Each group's recall@k under the audited model is compared
        with the same group's under each reference, and flagged (``under_reach``,
        ``gp_contact_bias``) when markedly lower; see
        :func:`reports.reach.reach_against`.
    truth : Path, optional
        In a synthetic world: its truth file (``<extract>.truth_risk.parquet``).
        The side-by-side comparison then tells each ranking's expected
        precision@k against the true risk and the true-risk ranking's top k
        (with the audited model alone when ``compare`` is empty).

    Returns
    -------
    AuditResult

    Raises
    ------
    ConfigError
        Not exactly one of ``week``/``model``; a malformed model reference.
    NotFoundError
        No list run; an unknown model. A model version without scores at the
        date (default: its test date) is scored first (``score_when_missing``).
    FairnessBreachError
        ``fail_on_breach`` and a threshold is breached.
    """
    config = config or FairnessConfig.from_toml()
    if lang not in ("both", "da", "en"):
        raise ConfigError(BAD_LANGUAGE.format(lang=lang))
    _scope_name(
        week, model
    )  # refuse a bad scope before touching MLflow or the warehouse
    model = None if model is None else pin_model_version(settings, model)
    scope_name = _scope_name(week, model)
    if model is not None:
        as_of_date = score_when_missing(settings, model, as_of_date)
    others = [pin_model_version(settings, m) for m in compare]
    references = [pin_model_version(settings, m) for m in reach_against]
    ranked = list(dict.fromkeys([*others, *references]))
    if model is not None and outcome is None:
        # The model's own outcome, so a model audit picks a labelled as-of date.
        name, version = parse_model_ref(model)
        outcome = model_outcome(f"models:/{name}/{version}")
    alternatives = [
        c[len(_LABEL_PREFIX) :]
        for c in config.alternative_outcomes
        if c.startswith(_LABEL_PREFIX)
    ]
    con = connect(settings.warehouse, read_only=True)
    try:
        scope = _resolve(
            con,
            programme=programme,
            week=week,
            model=model,
            as_of_date=as_of_date,
            outcome=outcome,
        )
        outcome = outcome or model_outcome(scope.model_uri)
        truth_at = None if truth is None else read_truth_risk(truth, scope.as_of_date)
        missing = _missing_labels(con, alternatives, scope.as_of_date)
        if missing:
            con.close()
            _build_labels(settings, missing, scope.as_of_date)
            con = connect(settings.warehouse, read_only=True)
        if ranked:
            con.close()
            for other in ranked:
                score_when_missing(settings, other, scope.as_of_date)
            con = connect(settings.warehouse, read_only=True)
        frame = build_audit_frame(
            con,
            scope,
            outcome=outcome,
            municipalities=municipalities,
            alternative_outcomes=alternatives,
            label_washout_days=config.ascertainment_washout_days,
            compare_models=[_uri(m) for m in ranked],
            truth=truth_at,
        )
    finally:
        con.close()
    context = {
        "programme": programme,
        "scope": scope_name,
        "model_uri": scope.model_uri,
        "as_of_date": str(scope.as_of_date),
        "outcome": outcome or "not given",
    }
    audit = audit_fairness(frame, config=config, k=k, context=context)
    if others or truth is not None:
        audit = replace(
            audit,
            comparison=compare_rankings(
                frame,
                {
                    "champion" if model is None else model: "y_score",
                    **{m: f"y_score__{_uri(m)}" for m in others},
                },
                k=k,
                config=config,
                outcomes=[f"{_LABEL_PREFIX}{o}" for o in alternatives],
                truth=None if truth is None else TRUE_RISK,
            ),
        )
    if references:
        audit = _with_reach(audit, frame, references, k, config)
    folder = settings.output_dir / "reports" / programme / scope_name
    result = _result(
        audit,
        scope,
        programme,
        scope_name,
        write_fairness_report(audit, folder, lang=lang),
    )
    if model is not None:
        _attach_gp_contact(settings, scope, outcome, k, Path(result.json))
    if fail_on_breach and audit.breaches:
        _raise_breach(audit, result)
    return result


def _with_reach(
    audit: FairnessAudit,
    frame: pd.DataFrame,
    references: Sequence[str],
    k: int,
    config: FairnessConfig,
) -> FairnessAudit:
    """Add each group's reach against the reference rankings, and its flags."""
    figures, flags = reach_against(
        frame,
        audited="y_score",
        references={m: f"y_score__{_uri(m)}" for m in references},
        k=k,
        config=config,
    )
    return replace(with_flags(audit, config, flags), reach=figures)


def _uri(model: str) -> str:
    """``models:/NAME/VERSION`` of ``NAME@VERSION``."""
    name, version = parse_model_ref(model)
    return f"models:/{name}/{version}"


def _scored_dates(settings: EngineSettings, model_uri: str) -> list[date]:
    """Dates at which a model version has scores in ``scoring.scores``."""
    con = connect(settings.warehouse, read_only=True)
    try:
        if not table_exists(con, "scoring", "scores"):
            return []
        found = run_report_sql(con, "scored_dates", model_uri=model_uri)
    finally:
        con.close()
    return [pd.Timestamp(d).date() for d in found["as_of_date"]]


def score_when_missing(
    settings: EngineSettings, model: str, as_of_date: date | None
) -> date | None:
    """Score a model version for its audit when it has no scores to audit.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse and MLflow store.
    model : str
        ``NAME@VERSION``.
    as_of_date : date, optional
        The date to audit; ``None`` audits the latest scored date, or, when
        the model has no scores at all, its spec's test date.

    Returns
    -------
    date or None
        The date to audit: ``as_of_date``, or the test date scored here.

    Raises
    ------
    NotFoundError
        Unknown model, or no extract loaded.
    """
    from models.outcomes import read_extract_window
    from models.score import load_registered_model, score_citizens
    from models.train import plan_index_dates

    name, version = parse_model_ref(model)
    dates = _scored_dates(settings, f"models:/{name}/{version}")
    if (as_of_date in dates) if as_of_date is not None else dates:
        return as_of_date
    when = as_of_date
    if when is None:
        spec = load_registered_model(settings, f"{name}@{version}").spec
        con = connect(settings.warehouse, read_only=True)
        try:
            window = read_extract_window(con)
        finally:
            con.close()
        when = plan_index_dates(spec, window).test_date
    log.info(
        "No scores of %s@%s at %s: scoring them for the audit", name, version, when
    )
    score_citizens(settings, model=f"{name}@{version}", as_of=when)
    return when


def _attach_gp_contact(
    settings: EngineSettings,
    scope: AuditScope,
    outcome: str | None,
    k: int,
    fairness_json: Path,
) -> None:
    """Add the GP-contact comparison of a model with comparators to its report."""
    from reports.gp_contact import attach_gp_contact

    con = connect(settings.warehouse, read_only=True)
    try:
        attach_gp_contact(
            con,
            model_uri=scope.model_uri,
            as_of_date=scope.as_of_date,
            outcome=outcome,
            k=k,
            fairness_json=fairness_json,
        )
    finally:
        con.close()


def _missing_labels(
    con: duckdb.DuckDBPyConnection, outcomes: Sequence[str], as_of_date: date
) -> list[str]:
    """Alternative outcomes whose labels could exist at ``as_of_date`` but do not."""
    from models.outcomes import available_outcomes, labels_missing

    known = set(available_outcomes())
    return [
        o
        for o in outcomes
        if o in known and labels_missing(con, o, as_of_date=as_of_date)
    ]


def _build_labels(
    settings: EngineSettings, outcomes: Sequence[str], as_of_date: date
) -> None:
    """Build the alternative outcomes' labels, so the audit can compare rankings."""
    from models.outcomes import ensure_labels

    con = connect(settings.warehouse)
    try:
        for outcome in outcomes:
            summary = ensure_labels(con, outcome, as_of_date=as_of_date)
            log.info("Built labels.%s for the audit: %s", outcome, summary)
    finally:
        con.close()


def _result(
    audit: FairnessAudit, scope: AuditScope, programme: str, scope_name: str, paths: Any
) -> AuditResult:
    """Return the small result dataclass of one audit."""
    return AuditResult(
        programme=programme,
        scope=scope_name,
        model_uri=scope.model_uri,
        as_of_date=scope.as_of_date,
        k=audit.k,
        **audit.counts,
        n_flags=len(audit.flags),
        n_breaches=len(audit.breaches),
        folder=paths.folder,
        html=paths.html,
        pdf=paths.pdf,
        json=paths.json,
        flags=[f.as_dict() for f in audit.flags],
    )


def _raise_breach(audit: FairnessAudit, result: AuditResult) -> None:
    """Raise FairnessBreachError carrying the result for ``--json`` output."""
    error = FairnessBreachError(
        BREACHED.format(
            n=len(audit.breaches), path=result.html, first=audit.breaches[0].message
        )
    )
    error.report = result  # type: ignore[attr-defined]
    raise error
