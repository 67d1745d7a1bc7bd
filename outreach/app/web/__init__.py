"""Opspor web app for coordinators, data scientists and reviewers (``opspor serve``)."""

from __future__ import annotations

from outreach.app.web.app import create_app

__all__ = ["create_app"]
