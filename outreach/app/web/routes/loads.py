"""Load-report pages: every ``opspor load`` with its counts, and the trend across loads.

``/loads`` shows, per contract table, rows read, loaded and quarantined across
loads (a sparkline and a table), where each event table's history starts, and a
flag where a table's volume collapsed against its previous loads;
``/loads/{load_id}`` shows one load report and, for the extract now loaded, its
quarantined rows by table, reason and column. Aggregates only: the counts come
from the report files and ``raw.quarantine`` is only counted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from features.errors import NotFoundError
from outreach.app.users import User
from outreach.app.web import loads
from outreach.app.web.auth import AGGREGATE_ROLES, allow
from outreach.app.web.context import WebContext, render, web_context

__all__ = ["router"]

router = APIRouter()
Aggregates = Annotated[User, allow(*AGGREGATE_ROLES)]


def _current(ctx: WebContext, *, counts: bool) -> tuple[str | None, list[Any]]:
    """Return the loaded extract's hash and, if asked, its quarantine counts."""
    try:
        with ctx.warehouse.connection() as con:
            current = loads.current_extract_hash(con)
            return current, loads.quarantine_by_column(con) if counts else []
    except NotFoundError:
        return None, []


@router.get("/loads")
def loads_page(request: Request, user: Aggregates) -> Response:
    """Every load, newest first, and each table's trend across loads."""
    ctx = web_context(request)
    reports = loads.load_reports(ctx.settings.output_dir)
    trend = loads.load_trend(reports)
    current, _ = _current(ctx, counts=False)
    return render(
        request,
        "loads.html.j2",
        reports=list(reversed(reports)),
        trend=trend,
        lines={
            t: loads.sparkline([r["loaded"] for r in rows]) for t, rows in trend.items()
        },
        collapsed=sorted(t for t, rows in trend.items() if rows[-1]["collapsed"]),
        current=current,
        share=round(loads.COLLAPSE_SHARE * 100),
        window=loads.COLLAPSE_WINDOW,
    )


@router.get("/loads/{load_id}")
def load_page(request: Request, user: Aggregates, load_id: str) -> Response:
    """One load report: counts per table, reasons, coverage, normalised codes."""
    ctx = web_context(request)
    report = loads.load_report(ctx.settings.output_dir, load_id)
    trend = loads.load_trend(loads.load_reports(ctx.settings.output_dir))
    flags = {
        table: row["collapsed"]
        for table, rows in trend.items()
        for row in rows
        if row["id"] == load_id
    }
    current, by_column = _current(ctx, counts=True)
    is_current = current is not None and current == report["extract_hash"]
    return render(
        request,
        "load.html.j2",
        report=report,
        flags=flags,
        is_current=is_current,
        by_column=by_column if is_current else [],
        share=round(loads.COLLAPSE_SHARE * 100),
        window=loads.COLLAPSE_WINDOW,
    )
