"""Model cards inside the app's frame, with its navigation (reviewers, data scientists).

A model card (``opspor card``) is a self-contained HTML file that
:func:`outreach.app.web.routes.reviewer.report_file` sends under a strict content
policy; ``/reports/cards/{name@version}`` shows it in an ``iframe`` of an app page,
so a reviewer keeps the navigation and the language switch. Aggregates only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.app.users import User
from outreach.app.web import artifacts
from outreach.app.web.auth import AGGREGATE_ROLES, allow
from outreach.app.web.context import render, web_context

__all__ = ["router"]

router = APIRouter()
Aggregates = Annotated[User, allow(*AGGREGATE_ROLES)]


@router.get("/reports/cards/{card}")
def card_page(request: Request, user: Aggregates, card: str) -> Response:
    """Show one model card (``NAME@VERSION``) framed by the app's page."""
    out = web_context(request).settings.output_dir
    artifacts.report_file(out / "reports", "models", card, "model_card.html")
    name, _, version = card.partition("@")
    has_md = (out / "reports" / "models" / card / "model_card.md").is_file()
    return render(
        request, "card.html.j2", card=card, name=name, version=version, has_md=has_md
    )
