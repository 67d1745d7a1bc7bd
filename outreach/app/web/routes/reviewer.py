"""Reviewer pages: fairness, model cards, governance packs, monitoring, the audit log.

Aggregates only; every route here is open to reviewers and data scientists and
to no coordinator, and none reads a person-level table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from features.errors import NotFoundError
from outreach.app.users import User
from outreach.app.web import artifacts
from outreach.app.web.auth import AGGREGATE_ROLES, allow
from outreach.app.web.context import render, web_context

__all__ = ["router"]

router = APIRouter()
Aggregates = Annotated[User, allow(*AGGREGATE_ROLES)]
#: Report files are static documents: no scripts, inline styles and data: images only.
_FILE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; sandbox allow-popups"
)


@router.get("/reports")
def reports_page(request: Request, user: Aggregates) -> Response:
    """Every fairness report, model card and governance pack written so far."""
    ctx = web_context(request)
    out = ctx.settings.output_dir
    year, week, _ = ctx.today().isocalendar()
    return render(
        request,
        "reports.html.j2",
        fairness=artifacts.fairness_reports(out),
        cards=artifacts.model_cards(out),
        packs=artifacts.governance_packs(out),
        programmes=sorted(ctx.programmes),
        this_week=f"{year}-W{week:02d}",
    )


@router.get("/reports/fairness/{programme}/{scope}")
def fairness_page(
    request: Request, user: Aggregates, programme: str, scope: str
) -> Response:
    """One fairness audit: its plain-language summary, flags and the full report."""
    out = web_context(request).settings.output_dir
    artifacts.report_file(out / "reports", programme, scope, "fairness.json")
    found = [
        r
        for r in artifacts.fairness_reports(out)
        if r["programme"] == programme and r["scope"] == scope
    ]
    if not found:
        raise NotFoundError(artifacts.NO_FILE)
    return render(request, "fairness.html.j2", report=found[0])


def _file(path: Path) -> Response:
    """Serve a report file with a strict content policy."""
    return FileResponse(
        str(path),
        media_type=artifacts.MEDIA_TYPES[path.suffix],
        headers={"Content-Security-Policy": _FILE_CSP, "Cache-Control": "no-store"},
    )


@router.get("/reports/files/{folder}/{scope}/{name}")
def report_file(
    request: Request, user: Aggregates, folder: str, scope: str, name: str
) -> Response:
    """Send a file of a fairness audit or a model card (``models/<name@version>``)."""
    out = web_context(request).settings.output_dir
    return _file(artifacts.report_file(out / "reports", folder, scope, name))


@router.get("/governance/{programme}/{day}/{name:path}")
def governance_file(
    request: Request, user: Aggregates, programme: str, day: str, name: str
) -> Response:
    """Send a file of a governance pack (its ``index.html`` links the rest)."""
    out = web_context(request).settings.output_dir
    return _file(
        artifacts.report_file(out / "governance", programme, day, *name.split("/"))
    )


@router.get("/monitoring")
def monitoring_page(request: Request, user: Aggregates) -> Response:
    """Every programme with its latest monitoring verdict, or the command to run."""
    ctx = web_context(request)
    latest = artifacts.latest_monitoring(ctx.settings.output_dir)
    return render(
        request,
        "monitoring.html.j2",
        rows=[(p, latest.get(p)) for p in sorted(set(ctx.programmes) | set(latest))],
        sections=artifacts.MONITOR_SECTIONS,
    )


@router.get("/monitoring/{programme}")
def monitoring_programme_page(
    request: Request, user: Aggregates, programme: str
) -> Response:
    """One programme's latest monitoring verdict and alerts, and its earlier weeks."""
    ctx = web_context(request)
    weeks = artifacts.monitoring_weeks(ctx.settings.output_dir, programme)
    if not weeks and programme not in ctx.programmes:
        raise NotFoundError(artifacts.NO_PROGRAMME)
    return render(
        request,
        "monitoring_programme.html.j2",
        programme=programme,
        latest=weeks[0] if weeks else None,
        weeks=weeks,
        sections=artifacts.MONITOR_SECTIONS,
    )


@router.get("/monitoring/{programme}/{week}/{name}")
def monitoring_file(
    request: Request, user: Aggregates, programme: str, week: str, name: str
) -> Response:
    """Send a week's ``monitoring.html`` (self-contained) or ``monitoring.json``."""
    out = web_context(request).settings.output_dir
    return _file(artifacts.monitoring_file(out, programme, week, name))


@router.get("/audit-log")
def audit_log_page(request: Request, user: Aggregates) -> Response:
    """Show counts of list events per programme: generated, viewed, exported..."""
    ctx = web_context(request)
    try:
        with ctx.operational() as store:
            rows = store.audit_summary()
    except NotFoundError:
        rows = []
    return render(request, "audit_log.html.j2", rows=rows)
