"""Reviewer pages: fairness, model cards, governance packs, monitoring, the audit log.

Aggregates only; every route here is open to reviewers and data scientists and
to no coordinator, and none reads a person-level table.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from features.errors import ConfigError, NotFoundError
from outreach.app.users import User
from outreach.app.web import artifacts, signoffs
from outreach.app.web.auth import AGGREGATE_ROLES, allow
from outreach.app.web.context import flash, language_of, render, web_context
from outreach.app.web.i18n import translator
from outreach.list_audit import append_event

__all__ = ["AUDIT_CSV_COLUMNS", "router"]

router = APIRouter()
Aggregates = Annotated[User, allow(*AGGREGATE_ROLES)]
Reviewer = Annotated[User, allow("reviewer")]
_SIGNOFF_REFUSALS = {
    signoffs.COMMENT_TOO_LONG: "signoff_too_long",
    signoffs.COMMENT_HAS_CPR: "signoff_has_cpr",
}
#: Report files are static documents: no scripts, inline styles and data: images only.
_FILE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; sandbox allow-popups"
)
#: The columns of the audit-log CSV: list events only, no person-level field.
AUDIT_CSV_COLUMNS = (
    "at", "event", "actor", "programme", "week", "list_id", "model_uri",
    "extract_hash", "counts",
)  # fmt: skip


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


@router.get("/governance/{programme}/{day}")
def pack_page(request: Request, user: Aggregates, programme: str, day: str) -> Response:
    """Show a governance pack: its files, hash now and sign-offs (stale or not)."""
    folder = signoffs.pack_folder(
        web_context(request).settings.output_dir, programme, day
    )
    return render(
        request,
        "pack.html.j2",
        programme=programme,
        day=day,
        files=signoffs.pack_files(folder),
        pack_hash=signoffs.pack_hash(folder),
        signoffs=signoffs.read_signoffs(folder),
        max_comment=signoffs.MAX_COMMENT_CHARS,
        can_sign=user.role == "reviewer",
    )


@router.post("/governance/{programme}/{day}")
def sign_off_pack(
    request: Request,
    user: Reviewer,
    programme: str,
    day: str,
    pack_hash: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Record the reviewer's sign-off of the pack (audited); show the pack again."""
    ctx = web_context(request)
    t = translator(language_of(request))
    folder = signoffs.pack_folder(ctx.settings.output_dir, programme, day)
    target = f"/governance/{quote(programme)}/{quote(day)}"
    try:
        record = signoffs.record_signoff(
            folder,
            actor=user.name,
            at=ctx.clock(),
            comment=comment,
            seen_hash=pack_hash,
        )
    except ConfigError as refused:
        reason = _SIGNOFF_REFUSALS.get(str(refused), "signoff_changed")
        flash(
            request,
            "error",
            t("refused", reason=t(reason, limit=signoffs.MAX_COMMENT_CHARS)),
        )
        return RedirectResponse(target, status_code=303)
    with ctx.operational() as store:
        append_event(
            None,
            "signed_off",
            store=store,
            actor=user.name,
            programme=programme,
            counts={"pack": day, "pack_hash": record["pack_hash"], "via": "web"},
        )
    flash(request, "ok", t("signoff_saved"))
    return RedirectResponse(target, status_code=303)


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


def _audit_filters(request: Request) -> dict[str, Any]:
    """Read the audit-log filters of the query string (empty ones are None)."""
    query = request.query_params
    found: dict[str, Any] = {}
    for name in ("event", "programme", "actor"):
        value = query.get(name, "").strip()
        found[name] = value or None
    for name in ("since", "until"):
        found[name] = _iso_date(query.get(name, ""))
    return found


def _iso_date(text: str) -> date | None:
    """Parse ``YYYY-MM-DD``; anything else is no filter."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _audit(
    request: Request, *, summary: bool
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[str]]]:
    """Return the filters, the summary (or event) rows and the log's facets."""
    filters = _audit_filters(request)
    try:
        with web_context(request).operational() as store:
            read = store.audit_summary if summary else store.audit_events
            rows = read(filters)
            facets = store.audit_facets()
    except NotFoundError:
        rows, facets = [], {"event": [], "programme": [], "actor": []}
    return filters, rows, facets


@router.get("/audit-log")
def audit_log_page(request: Request, user: Aggregates) -> Response:
    """Show counts of list events per programme, filtered by date, event, etc."""
    filters, rows, facets = _audit(request, summary=True)
    return render(
        request,
        "audit_log.html.j2",
        rows=rows,
        filters=filters,
        facets=facets,
        csv_query=urlencode({k: v for k, v in filters.items() if v is not None}),
    )


@router.get("/audit-log.csv")
def audit_log_csv(request: Request, user: Aggregates) -> Response:
    """Send the filtered audit-log rows (list events, never a citizen) as CSV."""
    _, rows, _ = _audit(request, summary=False)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=AUDIT_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: row.get(k) for k in AUDIT_CSV_COLUMNS} for row in rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="audit_log.csv"',
            "Cache-Control": "no-store",
        },
    )
