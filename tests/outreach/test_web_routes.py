"""Meta-tests: every route declares who may open it, and the declaration is enforced.

A new route without ``allow(...)`` or ``public()`` fails
``test_every_route_declares_its_access``; a new route missing from ``POLICY``
fails ``test_policy_lists_every_route``, so its roles are reviewed here.
"""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter, FastAPI

from features.errors import ConfigError
from outreach.app.web.auth import allow, public, route_access

COORDINATOR = ("coordinator",)
AGGREGATES = ("reviewer", "data_scientist")
ALL = ("coordinator", "data_scientist", "reviewer", "admin")
ADMIN = ("admin",)
POLICY: dict[str, tuple[str, ...] | str] = {
    "GET /healthz": "public",
    "GET /signin": "public",
    "POST /signin": "public",
    "POST /signout": "public",
    "mount /static": "public",
    "GET /": ALL,
    "GET /lists": COORDINATOR,
    "GET /lists/{programme}/{week}": COORDINATOR,
    "GET /lists/{programme}/{week}/citizens/{citizen_id}": COORDINATOR,
    "POST /lists/{programme}/{week}/citizens/{citizen_id}": COORDINATOR,
    "GET /lists/{programme}/{week}/stops": COORDINATOR,
    "GET /lists/{programme}/{week}/download.xlsx": COORDINATOR,
    "POST /lists/{programme}/generate": COORDINATOR,
    "POST /lists/{programme}/{week}/regenerate": COORDINATOR,
    "GET /lists/{programme}/{week}/upload": COORDINATOR,
    "POST /lists/{programme}/{week}/upload": COORDINATOR,
    "GET /lists/{programme}/{week}/upload/{token}": COORDINATOR,
    "POST /lists/{programme}/{week}/upload/{token}": COORDINATOR,
    "POST /lists/{programme}/{week}/citizens/{citizen_id}/contacts/{contact_id}/correct": COORDINATOR,  # noqa: E501
    "POST /lists/{programme}/{week}/citizens/{citizen_id}/contacts/{contact_id}/retract": COORDINATOR,  # noqa: E501
    "GET /opt-outs": COORDINATOR,
    "POST /opt-outs": COORDINATOR,
    "POST /opt-outs/{citizen_id}/withdraw": COORDINATOR,
    "GET /reports": AGGREGATES,
    "GET /reports/fairness/{programme}/{scope}": AGGREGATES,
    "GET /reports/files/{folder}/{scope}/{name}": AGGREGATES,
    "GET /governance/{programme}/{day}": AGGREGATES,
    "POST /governance/{programme}/{day}": ("reviewer",),
    "GET /governance/{programme}/{day}/{name:path}": AGGREGATES,
    "GET /monitoring": AGGREGATES,
    "GET /monitoring/{programme}": AGGREGATES,
    "GET /monitoring/{programme}/{week}/{name}": AGGREGATES,
    "GET /audit-log": AGGREGATES,
    "GET /audit-log.csv": AGGREGATES,
    "GET /models": AGGREGATES,
    "GET /models/{name}/{version}": AGGREGATES,
    "GET /models/{name}/compare": AGGREGATES,
    "GET /models/{name}/{version}/artifacts/{path:path}": AGGREGATES,
    "GET /loads": AGGREGATES,
    "GET /loads/{load_id}": AGGREGATES,
    "GET /reports/cards/{card}": AGGREGATES,
    "GET /features": AGGREGATES,
    "GET /account/password": ALL,
    "POST /account/password": ALL,
    "GET /admin/users": ADMIN,
    "POST /admin/users": ADMIN,
    "GET /admin/users/{name}": ADMIN,
    "POST /admin/users/{name}/password": ADMIN,
    "POST /admin/users/{name}/disable": ADMIN,
    "POST /admin/users/{name}/enable": ADMIN,
    "POST /admin/users/{name}/scope": ADMIN,
    "GET /programmes": ("coordinator", *AGGREGATES),
    "GET /programmes/{programme}/report": ("coordinator", *AGGREGATES),
    "GET /programmes/{programme}/evaluation": ("coordinator", *AGGREGATES),
    "GET /access-log": ("reviewer", "admin"),
    "GET /access-log.csv": ADMIN,
}
USER_OF_ROLE = {
    "coordinator": "anna",
    "reviewer": "rita",
    "data_scientist": "dan",
    "admin": "ada",
}
PARAMS = {
    "programme": "diabetes_bus",
    "week": "2026-W48",
    "citizen_id": "P00000",
    "folder": "diabetes_bus",
    "scope": "2026-W48",
    "name": "fairness.html",
    "day": "2026-11-27",
    "version": "3",
    "name:path": "index.html",
    "path:path": "plots/calibration.png",
    "load_id": "a1a1a1a1a1a1",
    "card": "diabetes_harm_365d@3",
    "token": "t" * 32,
    "contact_id": "c" * 32,
}


def _guarded() -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (key.split(" ")[0], key.split(" ")[1], roles)
        for key, roles in POLICY.items()
        if roles != "public" and not key.startswith("mount")
    ]


def _url(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PARAMS[m.group(1)], path)


def test_every_route_declares_its_access(web_app) -> None:
    undeclared = [
        k for k, v in route_access(web_app).items() if v is None or v == "ambiguous"
    ]
    assert undeclared == []


def test_policy_lists_every_route(web_app) -> None:
    assert route_access(web_app) == POLICY


def test_route_access_reports_a_route_without_a_declaration() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    @router.get("/twice")
    def twice(a: object = allow("reviewer"), b: object = public()) -> dict[str, str]:
        return {}

    app.include_router(router)
    assert route_access(app) == {"GET /forgotten": None, "GET /twice": "ambiguous"}


def test_allow_refuses_unknown_or_missing_roles() -> None:
    with pytest.raises(ConfigError, match=r"Unknown role\(s\) \['root'\]"):
        allow("root")
    with pytest.raises(ConfigError, match=r"Unknown role\(s\) \(\)"):
        allow()


@pytest.mark.parametrize(("method", "path", "roles"), _guarded())
def test_signed_out_visitor_is_sent_to_sign_in_on_every_guarded_route(
    client_for, method, path, roles
) -> None:
    client = client_for()
    response = client.request(
        method, _url(path), data={"csrf_token": "x"} if method == "POST" else None
    )
    if method == "POST":
        assert response.status_code == 403  # no session, so no CSRF token either
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?next=")


@pytest.mark.parametrize(("method", "path", "roles"), _guarded())
def test_every_guarded_route_answers_403_to_the_other_roles(
    client_for, method, path, roles
) -> None:
    for role, user in USER_OF_ROLE.items():
        client = client_for(user)
        data = None
        if method == "POST":
            landing = client.get("/").headers["location"]
            match = re.search(
                r'name="csrf_token" value="([^"]+)"', client.get(landing).text
            )
            data = {"csrf_token": match.group(1) if match else ""}
        response = client.request(method, _url(path), data=data)
        if role in roles:
            assert response.status_code != 403, (role, path)
        else:
            assert response.status_code == 403, (role, path)
