"""Programme pages: the programme report by week and education, and the evaluation.

Aggregates only. The report is :func:`outreach.programme_report.build_programme_report`
(the code of ``opspor programme-report``, its small-cell and complementary
suppression included): a coordinator sees it for the citizens listed in their
own municipalities, reviewers and data scientists for the whole programme. The
evaluation is :func:`outreach.evaluate.evaluate_outreach` (``opspor evaluate``):
the estimates with their intervals once the hold-outs have a full follow-up,
else a plain message. A coordinator sees only the programmes in their scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from features.errors import NotFoundError
from outreach.app.users import User
from outreach.app.web.auth import AGGREGATE_ROLES, Forbidden, allow
from outreach.app.web.context import WebContext, render, web_context
from outreach.evaluate import EvaluationResult, evaluate_outreach
from outreach.programme_report import (
    EDUCATION_LEVELS,
    ProgrammeReport,
    build_programme_report,
)
from outreach.programmes import Programme

__all__ = ["EVALUATION_OUTCOMES", "router"]

router = APIRouter()
Readers = Annotated[User, allow("coordinator", *AGGREGATE_ROLES)]
UNKNOWN_PROGRAMME = "Unknown programme {name!r}."
#: The outcome labels of :mod:`outreach.evaluate` and their interface keys.
EVALUATION_OUTCOMES = {
    "attended relevant control": "evaluation_attended",
    "acute hospital contact": "evaluation_acute",
}


def _programme(ctx: WebContext, user: User, name: str) -> Programme:
    """Return the programme (404 if unknown), a coordinator's in scope (403)."""
    if name not in ctx.programmes:
        raise NotFoundError(UNKNOWN_PROGRAMME.format(name=name))
    if user.role == "coordinator" and name not in user.programmes:
        raise Forbidden
    return ctx.programmes[name]


def _names(ctx: WebContext, user: User) -> list[str]:
    """Return the programmes a user may see reports of."""
    if user.role == "coordinator":
        return [n for n in user.programmes if n in ctx.programmes]
    return sorted(ctx.programmes)


@router.get("/programmes")
def programmes_page(request: Request, user: Readers) -> Response:
    """Show the programmes in the user's scope, with report and evaluation."""
    ctx = web_context(request)
    return render(
        request,
        "programmes.html.j2",
        programmes=[ctx.programmes[n] for n in _names(ctx, user)],
    )


def _report(
    ctx: WebContext, programme: Programme, user: User
) -> ProgrammeReport | None:
    """Return the report (a coordinator's municipalities only); None if no list."""
    areas = user.municipalities if user.role == "coordinator" else None
    try:
        with ctx.warehouse.connection() as con:
            return build_programme_report(con, programme.name, areas=areas)
    except NotFoundError:
        return None


@router.get("/programmes/{programme}/report")
def programme_report_page(request: Request, user: Readers, programme: str) -> Response:
    """Show listed, reached, screened and declined by week and education level."""
    ctx = web_context(request)
    prog = _programme(ctx, user, programme)
    report = _report(ctx, prog, user)
    rows = report.rows if report else []
    return render(
        request,
        "programme_report.html.j2",
        prog=prog,
        report=report,
        weeks=[r for r in rows if r["scope"] == "week"],
        overall=[r for r in rows if r["scope"] == "all_weeks"],
        levels=EDUCATION_LEVELS,
        own_areas=user.role == "coordinator",
    )


def _evaluation(ctx: WebContext, programme: Programme) -> EvaluationResult | None:
    """Return the evaluation, or None when no extract is loaded yet."""
    try:
        with ctx.warehouse.connection() as con:
            return evaluate_outreach(con, programme)
    except NotFoundError:
        return None


def _estimates(result: EvaluationResult | None) -> list[dict[str, Any]]:
    """Return the estimates that have a difference, with their interface key."""
    if result is None or result.status != "ok":
        return []
    return [
        {**e, "key": EVALUATION_OUTCOMES.get(e["outcome"], e["outcome"])}
        for e in result.estimates
        if e["difference"] is not None
    ]


@router.get("/programmes/{programme}/evaluation")
def evaluation_page(request: Request, user: Readers, programme: str) -> Response:
    """Show the estimate from the hold-outs with intervals, or why there is none."""
    ctx = web_context(request)
    prog = _programme(ctx, user, programme)
    result = _evaluation(ctx, prog)
    return render(
        request,
        "evaluation.html.j2",
        prog=prog,
        result=result,
        estimates=_estimates(result),
    )
