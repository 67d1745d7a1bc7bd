"""Web error pages: 4xx for bad paths, security headers, no internal paths."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from features.errors import WarehouseBusyError
from features.settings import EngineSettings
from outreach.app.web.auth import public
from outreach.app.web.context import PAGE_CSP
from outreach.app.web.errors import HIDDEN, SECURITY_HEADERS, without_paths
from outreach.app.web.i18n import TEXT

Anyone = Annotated[Any, public()]


def _client(web_app: Any, signed_in: Any = None) -> TestClient:
    """A client that shows server errors as responses (like a browser sees them)."""
    client = TestClient(web_app, raise_server_exceptions=False, follow_redirects=False)
    if signed_in is not None:
        client.cookies = signed_in.cookies
    return client


def _assert_secure(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers.get("Content-Security-Policy") == PAGE_CSP
    assert response.headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/lists/diabetes_bus/2026-W99",
        "/lists/diabetes_bus/2026-W53x",
        "/lists/diabetes_bus/not-a-week",
        "/lists/diabetes_bus/2026-W99/stops",
        "/lists/diabetes_bus/2026-W99/download.xlsx",
        "/lists/diabetes_bus/2026-W99/citizens/P00000",
        "/lists/no_such_programme/2026-W48",
        "/lists/..%2F..%2Fetc/2026-W48",
        "/no/such/page",
    ],
)
def test_malformed_path_answers_404_with_the_security_headers(
    client_for, web_app, path: str
) -> None:
    response = _client(web_app, client_for("anna")).get(path)
    assert response.status_code == 404
    assert TEXT["da"]["not_found"] in response.text
    _assert_secure(response)


def test_malformed_week_on_a_post_answers_404(client_for, web_app, web) -> None:
    anna = client_for("anna")
    token = web.csrf_of(anna, "/lists")
    response = _client(web_app, anna).post(
        "/lists/diabetes_bus/2026-W99/citizens/P00000",
        data={"csrf_token": token, "outcome": "reached"},
    )
    assert response.status_code == 404
    _assert_secure(response)


def test_wrong_method_answers_405_with_the_security_headers(client_for, web_app):
    response = _client(web_app, client_for("anna")).get("/signout")
    assert response.status_code == 405
    assert TEXT["da"]["method_not_allowed"] in response.text
    _assert_secure(response)


def test_forbidden_page_has_the_security_headers(client_for, web_app) -> None:
    response = _client(web_app, client_for("rita")).get("/lists")
    assert response.status_code == 403
    _assert_secure(response)


def _add_failing_routes(app: Any) -> None:
    """Routes that fail on purpose (this app instance only)."""

    def boom(user: Anyone) -> None:
        raise RuntimeError("/secret/internal/path.duckdb exploded")

    def busy(user: Anyone) -> None:
        raise WarehouseBusyError("held by another process")

    def typed(request: Request, n: int, user: Anyone) -> dict[str, int]:
        return {"n": n}

    app.add_api_route("/test-boom", boom)
    app.add_api_route("/test-busy", busy)
    app.add_api_route("/test-typed", typed)


def test_server_error_is_a_page_with_headers_and_no_internals(web_app) -> None:
    _add_failing_routes(web_app)
    response = _client(web_app).get("/test-boom?lang=en")
    assert response.status_code == 500
    assert TEXT["en"]["server_error"] in response.text
    assert "/secret" not in response.text
    assert "RuntimeError" not in response.text
    _assert_secure(response)


def test_busy_and_unprocessable_pages_have_the_security_headers(web_app) -> None:
    _add_failing_routes(web_app)
    client = _client(web_app)
    busy = client.get("/test-busy")
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "30"
    _assert_secure(busy)
    typed = client.get("/test-typed?n=many")
    assert typed.status_code == 422
    assert TEXT["da"]["bad_request"] in typed.text
    _assert_secure(typed)


def test_model_page_does_not_show_the_mlflow_store_path(
    client_for, web_settings
) -> None:
    response = client_for("dan").get("/models/no_such_model/1")
    assert response.status_code == 200
    assert "NotFoundError" in response.text  # says what failed...
    assert "mlflow.db" not in response.text  # ...but not where the store is
    assert "sqlite:" not in response.text
    assert str(web_settings.output_dir.resolve()) not in response.text


def test_missing_warehouse_page_does_not_show_its_path(client_for, web_settings):
    client = client_for("anna")
    web_settings.warehouse.rename(web_settings.warehouse.with_suffix(".gone"))
    response = client.get("/lists/diabetes_bus/2026-W48")
    assert response.status_code == 404
    assert "make demo" in response.text
    assert str(web_settings.output_dir) not in response.text


def test_without_paths_hides_settings_paths_urls_and_absolute_paths(
    tmp_path: Path,
) -> None:
    settings = EngineSettings(output_dir=tmp_path / "out")
    text = (
        f"No registered model 'x' in {settings.tracking_uri}; "
        f"no warehouse at {settings.warehouse}; see /var/lib/opspor/x.key. "
        "Run `opspor list --programme diabetes_bus --week 2026-W48` first."
    )
    hidden = without_paths(text, settings)
    assert str(tmp_path) not in hidden
    assert "sqlite" not in hidden
    assert "/var/lib" not in hidden
    assert hidden.count(HIDDEN) == 3
    assert "--week 2026-W48" in hidden
