"""The routes of the web app, one module per audience; each declares its roles."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    """Every router of the app, in the order they are included."""
    from outreach.app.web.routes import (
        access_log,
        account,
        admin,
        coordinator,
        framed,
        loads,
        models,
        programme,
        public,
        records,
        reviewer,
        versions,
        week,
    )

    return [
        public.router,
        coordinator.router,
        reviewer.router,
        framed.router,
        versions.router,  # before models: /models/{name}/compare is not a version
        models.router,
        loads.router,
        account.router,
        admin.router,
        programme.router,
        access_log.router,
        records.router,
        week.router,
    ]
