"""The web app's error pages: every failure answers a page with the security headers.

:func:`add_error_pages` registers one handler per failure a request can meet:
sign-in needed (a redirect), 403, 404, 405, 422, a bad setting or path value
(400), a busy warehouse (503) and anything unexpected (500). Each renders
``error.html.j2`` through :func:`outreach.app.web.context.render`, so an error
page carries the same headers as a normal one; the 500 handler runs outside the
app's middleware and therefore sets them itself (:func:`secure_headers`). No
message shows a file system path or a store URL: details are passed through
:func:`without_paths` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from features.errors import ConfigError, NotFoundError, WarehouseBusyError
from features.settings import EngineSettings
from outreach.app.web.auth import (
    PASSWORD_PAGE,
    CsrfError,
    Forbidden,
    PasswordChangeRequired,
    SignInRequired,
)
from outreach.app.web.context import PAGE_CSP, render, web_context

__all__ = [
    "HSTS",
    "SECURITY_HEADERS",
    "add_error_pages",
    "secure_headers",
    "without_paths",
]

log = logging.getLogger(__name__)

#: Headers every response carries, error pages included.
SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
}
#: Sent when the app is served over TLS (``opspor serve --tls``): one year.
HSTS = "max-age=31536000; includeSubDomains"
HIDDEN = "…"
# A URL with a scheme (sqlite:///..., file://...) or an absolute path of 2+ parts.
_PATHS = re.compile(r"[a-z][a-z0-9+.-]*://\S*|(?<![\w/])(?:/[\w.@+~-]+){2,}/?")
_SERVER_ERROR_PAGE = (
    "<!doctype html><title>Fejl / Error</title>"
    "<h1>Der skete en fejl / Something went wrong</h1>"
)


def secure_headers(response: Response, *, tls: bool = False) -> Response:
    """Add the security headers a response lacks (and HSTS over TLS)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if tls:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def without_paths(text: str, settings: EngineSettings) -> str:
    """Return a message with the configured paths and any absolute path hidden."""
    known = {
        str(settings.output_dir.resolve()),
        str(settings.output_dir),
        str(settings.warehouse),
        settings.tracking_uri,
    }
    for path in sorted(known, key=len, reverse=True):
        text = text.replace(path, HIDDEN)
    return _PATHS.sub(HIDDEN, text)


def _page(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    detail: str = "",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render the error page."""
    return render(
        request,
        "error.html.j2",
        status_code=status,
        headers=headers,
        title=title,
        message=message,
        detail=detail,
    )


async def _sign_in(request: Request, error: Exception) -> Response:
    """Send a signed-out visitor to the sign-in page, then back."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


async def _change_password(request: Request, error: Exception) -> Response:
    """Send a user with a temporary password to choose their own first."""
    return RedirectResponse(PASSWORD_PAGE, status_code=303)


async def _forbidden(request: Request, error: Exception) -> Response:
    """403: the role or scope does not allow the page, or the CSRF token is missing."""
    message = "csrf" if isinstance(error, CsrfError) else "forbidden"
    return _page(request, 403, "forbidden_title", message)


async def _not_found(request: Request, error: Exception) -> Response:
    """404 with what is missing (never a path)."""
    detail = ""
    if isinstance(error, NotFoundError):
        detail = without_paths(str(error), web_context(request).settings)
    return _page(request, 404, "not_found_title", "not_found", detail=detail)


async def _http_error(request: Request, error: Exception) -> Response:
    """404, 405 and any other HTTP error raised by routing."""
    status = error.status_code if isinstance(error, HTTPException) else 400
    if status == 404:
        return await _not_found(request, error)
    headers = getattr(error, "headers", None) or {}
    message = "method_not_allowed" if status == 405 else "bad_request"
    return _page(request, status, "bad_request_title", message, headers=headers)


async def _bad_request(request: Request, error: Exception) -> Response:
    """422 for a form or path value of the wrong type, 400 for a bad setting."""
    status = 422 if isinstance(error, RequestValidationError) else 400
    return _page(request, status, "bad_request_title", "bad_request")


async def _busy(request: Request, error: Exception) -> Response:
    """503 while another process holds the warehouse."""
    headers = {"Retry-After": "30"}
    return _page(request, 503, "busy_title", "busy", headers=headers)


async def _server_error(request: Request, error: Exception) -> Response:
    """500 without internals; runs outside the middleware, so adds the headers."""
    log.error("unexpected %s while serving a page", type(error).__name__)
    try:
        response: Response = _page(request, 500, "server_error_title", "server_error")
    except Exception:  # noqa: BLE001 - the page itself failed; answer plainly
        response = HTMLResponse(_SERVER_ERROR_PAGE, status_code=500)
        response.headers["Content-Security-Policy"] = PAGE_CSP
        response.headers["Cache-Control"] = "no-store"
    return secure_headers(response, tls=web_context(request).codec.secure)


def add_error_pages(app: FastAPI) -> None:
    """Register the error pages of the app (see the module docstring)."""
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(PasswordChangeRequired, _change_password)
    app.add_exception_handler(CsrfError, _forbidden)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(ConfigError, _bad_request)
    app.add_exception_handler(WarehouseBusyError, _busy)
    app.add_exception_handler(Exception, _server_error)
