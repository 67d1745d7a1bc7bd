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
        framed,
        loads,
        models,
        public,
        records,
        reviewer,
        versions,
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
        records.router,
    ]
