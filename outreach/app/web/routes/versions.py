"""Data-scientist pages over MLflow: two versions compared, and a version's figures.

``/models/{name}/compare?a=..&b=..`` sets two registered versions' metrics at
capacity k side by side with their bootstrap intervals as training logged them
and the difference of the point estimates (no paired interval is logged, and the
page says so). ``/models/{name}/{version}/artifacts/{path}`` sends one figure or
aggregate evaluation file of the version's run, and only those
(:func:`outreach.app.web.versions.artifact_of`). Registered before
:mod:`outreach.app.web.routes.models`, whose ``/models/{name}/{version}`` would
otherwise take ``compare`` for a version.
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from features.db import table_exists
from features.errors import NotFoundError
from outreach.app.users import User
from outreach.app.web import versions
from outreach.app.web.auth import AGGREGATE_ROLES, allow
from outreach.app.web.context import render, web_context

__all__ = ["ARTIFACT_CSP", "router"]

log = logging.getLogger(__name__)

router = APIRouter()
Aggregates = Annotated[User, allow(*AGGREGATE_ROLES)]
_REF = re.compile(r"^[A-Za-z0-9_.-]+$")
#: Decisions of ``opspor promote`` between two versions: scored on the same rows.
_PAIRED = """
select strftime(decided_at, '%Y-%m-%d %H:%M') as decided_at, challenger_version,
       champion_version, decision, metric, k, cast(test_date as varchar) as test_date,
       n_test, challenger_value, champion_value, forced
from models.promotions
where name = $name
  and ((challenger_version = $a and champion_version = $b)
    or (challenger_version = $b and champion_version = $a))
order by decided_at desc
"""
#: A figure or a JSON file is data, never a document: nothing runs, nothing loads.
ARTIFACT_CSP = "default-src 'none'; frame-ancestors 'self'; sandbox"


def _check(*refs: str) -> None:
    """404 unless every name or version is a plain reference."""
    if not all(_REF.match(r) for r in refs):
        raise NotFoundError(versions.NO_ARTIFACT)


def _versions_of(request: Request, name: str) -> list[str]:
    """Return the registered versions of a model, newest first ([] when unreadable)."""
    try:
        return versions.registered_versions(web_context(request).settings, name)
    except Exception as exc:  # noqa: BLE001 - the registry may be absent; the form stays empty
        log.warning("could not list the versions of a model: %s", type(exc).__name__)
        return []


def _comparison(
    request: Request, name: str, a: str, b: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Compare two versions, or say (by the exception's type only) why not."""
    try:
        settings = web_context(request).settings
        left = versions.read_version(settings, name, a)
        right = versions.read_version(settings, name, b)
    except Exception as exc:  # noqa: BLE001 - a missing version or registry is shown on the page
        log.warning("could not compare two model versions: %s", type(exc).__name__)
        return None, type(exc).__name__  # its text may name the MLflow store's path
    paired = _promotions(request, name, left.version, right.version)
    compared = versions.compare_versions(left, right)
    return {"a": left, "b": right, "promotions": paired, **compared}, None


def _promotions(request: Request, name: str, a: str, b: str) -> list[dict[str, Any]]:
    """Return what ``opspor promote`` decided between the two versions, newest first."""
    try:
        with web_context(request).warehouse.connection() as con:
            if not table_exists(con, "models", "promotions"):
                return []
            frame = con.execute(_PAIRED, {"name": name, "a": a, "b": b}).df()
    except NotFoundError:
        return []
    frame = frame.astype(object).where(frame.notna(), None)
    return [dict(r) for r in frame.to_dict(orient="records")]


@router.get("/models/{name}/compare")
def compare_page(
    request: Request, user: Aggregates, name: str, a: str = "", b: str = ""
) -> Response:
    """Two versions of a model at capacity k: metrics, intervals and differences."""
    _check(name)
    known = _versions_of(request, name)
    if not (a or b) and len(known) > 1:
        a, b = known[1], known[0]  # the newest against the one before it
    comparison, error = None, None
    if a and b:
        _check(a, b)
        comparison, error = _comparison(request, name, a, b)
    return render(
        request,
        "compare.html.j2",
        name=name,
        a=a,
        b=b,
        known=known,
        comparison=comparison,
        error=error,
    )


@router.get("/models/{name}/{version}/artifacts/{path:path}")
def version_artifact(
    request: Request, user: Aggregates, name: str, version: str, path: str
) -> Response:
    """Send one figure (PNG) or aggregate evaluation file of a version's run."""
    from models.tracking import read_run_artifact

    _check(name, version)
    settings = web_context(request).settings
    run_id, files = versions.run_files(settings, name, version)
    checked = versions.artifact_of(files, path)
    return Response(
        read_run_artifact(settings, run_id, checked),
        media_type=versions.ARTIFACT_MEDIA_TYPES[PurePosixPath(checked).suffix],
        headers={"Content-Security-Policy": ARTIFACT_CSP, "Cache-Control": "no-store"},
    )
