"""The Monday job: load-check → score → explain → list → fairness → monitor.

``opspor weekly`` calls :func:`run_weekly`, which chains the stages' own entry
functions (nothing here re-implements a stage) for one programme and ISO week,
and returns a one-screen summary of what each stage did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from features.db import connect, table_exists
from features.errors import NotFoundError
from features.settings import EngineSettings
from models.explain import explain_scores, on_demand_explainer
from models.score import score_citizens
from models.tracking import resolve_model
from outreach.lists import (
    build_weekly_list,
    check_extract_age,
    parse_week,
    resolve_as_of,
)
from outreach.programmes import Programme, available_programmes, load_programme
from reports.audit import run_audit
from reports.monitor import run_monitor

__all__ = ["STEPS", "WeeklyResult", "champion_uri", "run_weekly"]

logger = logging.getLogger(__name__)

NO_EXTRACT = "No extract is loaded in {db}; run `opspor load EXTRACT_DIR` first."
STEPS = ("load-check", "score", "explain", "list", "audit", "monitor")
Progress = Callable[[int, int], None]


@dataclass
class WeeklyResult:
    """What the Monday job did, stage by stage (counts and paths only)."""

    programme: str
    week: str
    as_of_date: date
    extract_date: date
    extract_hash: str
    model_uri: str
    n_scored: int
    n_reasons: int
    list_id: str
    list_status: str
    counts: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    audit_html: str = ""
    n_flags: int = 0
    n_breaches: int = 0
    monitor_verdict: str = ""
    monitor_alerts: int = 0
    monitor_html: str = ""
    #: Citizens the weekly run explained: the first ``ranks_to_explain`` ranks.
    n_explained: int = 0


def champion_uri(settings: EngineSettings, programme: Programme) -> str:
    """Return the registry URI of the programme's model alias (e.g. the champion).

    Raises
    ------
    NotFoundError
        The model or alias is not registered (run ``opspor train`` first).
    """
    ref = resolve_model(settings, f"{programme.model_name}@{programme.model_alias}")
    return ref.model_uri


def _loaded_extract(settings: EngineSettings) -> tuple[date, str]:
    """Date and hash of the extract in the warehouse, or NotFoundError."""
    con = connect(settings.warehouse)
    try:
        if not table_exists(con, "raw", "extract_info"):
            raise NotFoundError(NO_EXTRACT.format(db=settings.warehouse))
        row = con.execute(
            "select extract_date, extract_hash from raw.extract_info"
            " order by loaded_at desc limit 1"
        ).fetchone()
    finally:
        con.close()
    if row is None:
        raise NotFoundError(NO_EXTRACT.format(db=settings.warehouse))
    return row[0], str(row[1])


def run_weekly(
    settings: EngineSettings,
    *,
    programme: Programme,
    week: str,
    actor: str | None = None,
    progress: Progress | None = None,
    allow_stale: bool = False,
    reason: str | None = None,
) -> WeeklyResult:
    """Run every stage of a programme's week and return the summary.

    Parameters
    ----------
    settings : EngineSettings
        Warehouse, MLflow store and output root.
    programme : Programme
        The programme (cohort, model alias, capacity, language).
    week : str
        ISO week, e.g. ``2026-W48``; the as-of date is its Monday, never after
        the loaded extract's date.
    actor : str, optional
        Who runs it, for the audit log.
    progress : callable, optional
        Called with ``(steps_done, steps_total)``.
    allow_stale : bool
        Run even when the extract is older than the programme's
        ``max_extract_age_days`` on the week's Monday (needs ``reason``).
    reason : str, optional
        Why a stale extract is accepted (stored with the list run).

    Returns
    -------
    WeeklyResult

    Raises
    ------
    NotFoundError
        No extract loaded, or the programme's model is not registered.
    StaleDataError
        The extract is too old for the week (checked before any scoring).
    """
    tick = progress or (lambda done, total: None)
    extract_date, extract_hash = _loaded_extract(settings)
    check_extract_age(
        programme, week, extract_date, allow_stale=allow_stale, reason=reason
    )
    as_of = resolve_as_of(parse_week(week), extract_date)
    uri = champion_uri(settings, programme)
    tick(1, len(STEPS))
    scored = score_citizens(settings, model=_ref(uri), as_of=as_of)
    tick(2, len(STEPS))
    explained = explain_scores(
        settings,
        model=_ref(uri),
        as_of=as_of,
        top=programme.reasons_per_citizen,
        language=programme.reasons_language,
        ranks=settings.ranks_to_explain(_capacities(programme)),
    )
    tick(3, len(STEPS))
    listed = _build_list(
        settings,
        programme,
        week=week,
        model_uri=uri,
        actor=actor,
        stale_reason=reason if allow_stale else None,
    )
    tick(4, len(STEPS))
    # No reach_against here: a week's outcomes are not observed yet, so there is
    # no recall to compare; `opspor audit --model` uses the programme's references.
    audit = run_audit(
        settings,
        programme=programme.name,
        k=programme.capacity_per_week,
        week=week,
        municipalities=programme.municipalities,
    )
    tick(5, len(STEPS))
    monitor = run_monitor(
        settings,
        programme=programme.name,
        model=_ref(uri),
        week=week,
        municipalities=programme.municipalities,
    )
    tick(6, len(STEPS))
    logger.info(
        "weekly %s %s: %s listed", programme.name, week, listed.counts.get("listed")
    )
    return WeeklyResult(
        programme=programme.name,
        week=week,
        as_of_date=as_of,
        extract_date=extract_date,
        extract_hash=extract_hash,
        model_uri=uri,
        n_scored=scored.n_scored,
        n_reasons=explained.n_reasons,
        list_id=listed.list_id,
        list_status=listed.status,
        counts=dict(listed.counts),
        paths={k: str(v) for k, v in listed.paths.items()},
        audit_html=str(Path(audit.html)),
        n_flags=audit.n_flags,
        n_breaches=audit.n_breaches,
        monitor_verdict=monitor.verdict,
        monitor_alerts=monitor.n_alerts,
        monitor_html=str(monitor.html),
        n_explained=explained.n_citizens,
    )


def _ref(model_uri: str) -> str:
    """``models:/NAME/VERSION`` → ``NAME@VERSION`` for the scoring functions."""
    name, version = model_uri.removeprefix("models:/").split("/")
    return f"{name}@{version}"


def _capacities(programme: Programme) -> list[int]:
    """Weekly capacities of this programme and every other one of the same model."""
    others = []
    for name in available_programmes():
        other = load_programme(name)
        if other.model_name == programme.model_name and other.name != programme.name:
            others.append(other.capacity_per_week)
    return [programme.capacity_per_week, *others]


def _build_list(
    settings: EngineSettings,
    programme: Programme,
    *,
    week: str,
    model_uri: str,
    actor: str | None,
    stale_reason: str | None = None,
) -> Any:
    """Build (or return the frozen) list on its own warehouse connection."""
    con = connect(settings.warehouse)
    try:
        return build_weekly_list(
            con,
            programme,
            week=week,
            model_uri=model_uri,
            actor=actor,
            output_dir=settings.output_dir,
            allow_stale=stale_reason is not None,
            reason=stale_reason,
            explain_missing=on_demand_explainer(
                settings,
                top=programme.reasons_per_citizen,
                language=programme.reasons_language,
            ),
        )
    finally:
        con.close()
