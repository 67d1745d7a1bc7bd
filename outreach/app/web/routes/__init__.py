"""The routes of the web app, one module per audience; each declares its roles."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    """Every router of the app, in the order they are included."""
    from outreach.app.web.routes import (
        account,
        admin,
        coordinator,
        models,
        public,
        records,
        reviewer,
        week,
    )

    return [
        public.router,
        coordinator.router,
        reviewer.router,
        models.router,
        account.router,
        admin.router,
        records.router,
        week.router,
    ]
