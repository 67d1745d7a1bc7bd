"""Data-scientist pages: model versions, metrics, promotions, the feature catalogue.

Aggregates only: counts of scored citizens per version and date, the decisions
in ``models.promotions``, the metrics a version logged to MLflow (read through
:func:`reports.model_card.read_model_metadata`, so only ``models.tracking``
touches MLflow) and the feature catalogue of :mod:`reports.catalogue`.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from features.db import table_exists
from features.errors import NotFoundError
from outreach.app.users import User
from outreach.app.web import artifacts, versions
from outreach.app.web.auth import AGGREGATE_ROLES, allow
from outreach.app.web.context import WebContext, render, web_context

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter()
Aggregates = Annotated[User, allow(*AGGREGATE_ROLES)]
_REF = re.compile(r"^[A-Za-z0-9_.-]+$")
_SCORED = """
select model_uri, as_of_date, count(*) as n_scored
from scoring.scores
group by model_uri, as_of_date
order by model_uri, as_of_date desc
"""
_PROMOTIONS = "select * from models.promotions order by decided_at desc"


def _rows(ctx: WebContext, schema: str, table: str, sql: str) -> list[dict[str, Any]]:
    """Run an aggregate query; [] when the table (or the warehouse) is missing."""
    try:
        with ctx.warehouse.connection() as con:
            if not table_exists(con, schema, table):
                return []
            frame = con.execute(sql).df()
    except NotFoundError:
        return []
    frame = frame.astype(object).where(frame.notna(), None)
    return [dict(r) for r in frame.to_dict(orient="records")]


@router.get("/models")
def models_page(request: Request, user: Aggregates) -> Response:
    """Model versions that scored citizens, promotion history, model cards."""
    ctx = web_context(request)
    scored = _rows(ctx, "scoring", "scores", _SCORED)
    for row in scored:
        name, _, version = str(row["model_uri"]).removeprefix("models:/").partition("/")
        row.update(name=name, version=version)
    return render(
        request,
        "models.html.j2",
        scored=scored,
        promotions=_rows(ctx, "models", "promotions", _PROMOTIONS),
        cards={c["card"] for c in artifacts.model_cards(ctx.settings.output_dir)},
    )


@router.get("/models/{name}/{version}")
def model_page(request: Request, user: Aggregates, name: str, version: str) -> Response:
    """Show a registered version's metrics (grouped, with intervals) and figures."""
    if not (_REF.match(name) and _REF.match(version)):
        raise NotFoundError(artifacts.NO_FILE)
    ctx = web_context(request)
    view, others, error = None, [], None
    try:
        view = versions.read_version(ctx.settings, name, version)
        known = versions.registered_versions(ctx.settings, name)
        others = [v for v in known if v != view.version]
    except Exception as exc:  # noqa: BLE001 - the registry may be absent or partial; say so on the page
        log.warning(
            "could not read the metrics of a model version: %s", type(exc).__name__
        )
        error = type(exc).__name__  # its text may name the MLflow store's path
    card = f"{name}@{version}"
    has_card = card in {
        c["card"] for c in artifacts.model_cards(ctx.settings.output_dir)
    }
    return render(
        request,
        "model.html.j2",
        name=name,
        version=version,
        view=view,
        others=others,
        error=error,
        card=card if has_card else None,
    )


@router.get("/features")
def features_page(request: Request, user: Aggregates) -> Response:
    """Every catalogued feature, cohort flag and audit attribute, with its purpose."""
    from reports.catalogue import feature_catalogue

    return render(request, "features.html.j2", features=feature_catalogue())
