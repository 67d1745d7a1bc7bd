"""The admin role's user pages and everyone's own password change (issue 15, item 4)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outreach.app.web.auth import SESSION_COOKIE

_TEMPORARY = re.compile(r'<code class="temporary">([^<]+)</code>')
NEW_PASSWORD = "a-brand-new-password"


def _post(client: Any, path: str, data: dict[str, Any], web: Any) -> Any:
    token = web.csrf_of(client, "/account/password")
    return client.post(path, data={**data, "csrf_token": token})


def _replay(web_app: Any, cookie: str) -> TestClient:
    client = TestClient(web_app, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def _events(web_app: Any, event: str) -> list[dict[str, Any]]:
    with web_app.state.opspor.operational() as store:
        log = store.read_audit_log(None)
    rows = log[log["event"] == event].to_dict("records")
    return [{**r, "counts": json.loads(r["counts"])} for r in rows]


def _signs_in(client_for: Any, web: Any, name: str, password: str) -> bool:
    return bool(web.sign_in(client_for(), name, password).status_code == 303)


def test_admin_lands_on_the_users_page_listing_every_user(client_for) -> None:
    client = client_for("ada")
    assert client.get("/").headers["location"] == "/admin/users"
    page = client.get("/admin/users?lang=en").text
    for name in ("anna", "carl", "rita", "dan", "ada"):
        assert f'href="/admin/users/{name}"' in page
    assert "Add user" in page
    assert "Brugere" in client.get("/admin/users?lang=da").text


def test_admin_sees_no_person_level_or_reviewer_page(client_for, web) -> None:
    client = client_for("ada")
    list_url = f"/lists/diabetes_bus/{web.WEEK}"
    for path in ("/lists", list_url, f"{list_url}/citizens/P00000", "/reports"):
        assert client.get(path).status_code == 403, path


def test_other_roles_get_403_and_anonymous_visitors_sign_in(client_for) -> None:
    for name in ("anna", "rita", "dan"):
        assert client_for(name).get("/admin/users").status_code == 403
    response = client_for().get("/admin/users")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")


def test_admin_post_without_csrf_token_is_refused(client_for, web_app) -> None:
    client = client_for("ada")
    response = client.post("/admin/users/anna/disable", data={})
    assert response.status_code == 403
    assert not web_app.state.opspor.users.get_user("anna").disabled


def test_admin_adds_a_coordinator_with_a_typed_password(
    client_for, web_app, web
) -> None:
    client = client_for("ada")
    data = {
        "name": "bo",
        "role": "coordinator",
        "password": NEW_PASSWORD,
        "programmes": ["diabetes_bus"],
        "municipalities": "390, 376",
        "language": "en",
    }
    response = _post(client, "/admin/users", data, web)
    assert response.status_code == 200
    assert _TEMPORARY.search(response.text) is None
    bo = web_app.state.opspor.users.get_user("bo")
    assert (bo.role, bo.programmes, bo.municipalities) == (
        "coordinator",
        ("diabetes_bus",),
        ("390", "376"),
    )
    assert _signs_in(client_for, web, "bo", NEW_PASSWORD)
    [event] = _events(web_app, "user_added")
    assert event["actor"] == "ada"
    assert event["counts"]["user"] == "bo"
    assert event["counts"]["municipalities"] == ["390", "376"]
    assert NEW_PASSWORD not in json.dumps(event, default=str)


def test_admin_adds_a_reviewer_with_a_one_time_password_shown_once(
    client_for, web_app, web
) -> None:
    client = client_for("ada")
    data = {"name": "vera", "role": "reviewer", "language": "da"}
    response = _post(client, "/admin/users", data, web)
    temporary = _TEMPORARY.search(response.text).group(1)
    assert response.headers["cache-control"] == "no-store"
    assert len(temporary) >= 16
    assert temporary not in client.get("/admin/users/vera").text
    assert _signs_in(client_for, web, "vera", temporary)
    stored = web_app.state.opspor.users.get_user("vera").password_hash
    assert stored.startswith("$argon2") and temporary not in stored


def test_adding_a_coordinator_without_scope_is_refused(
    client_for, web_app, web
) -> None:
    client = client_for("ada")
    data = {"name": "bo", "role": "coordinator", "language": "da"}
    response = _post(client, "/admin/users", data, web)
    assert response.status_code == 303
    assert web_app.state.opspor.users.get_user("bo") is None
    page = client.get(response.headers["location"]).text
    assert "Afvist: en koordinator skal have mindst ét program" in page
    assert _events(web_app, "user_added") == []


def test_reset_ends_the_users_sessions_and_the_old_password(
    client_for, web_app, web
) -> None:
    anna = client_for("anna")
    old_cookie = anna.cookies[SESSION_COOKIE]
    assert anna.get("/lists").status_code == 200
    response = _post(client_for("ada"), "/admin/users/anna/password", {}, web)
    temporary = _TEMPORARY.search(response.text).group(1)
    assert anna.get("/lists").status_code == 303
    assert _replay(web_app, old_cookie).get("/lists").status_code == 303
    assert not _signs_in(client_for, web, "anna", web.PASSWORD)
    assert _signs_in(client_for, web, "anna", temporary)
    [event] = _events(web_app, "password_reset")
    assert (event["actor"], event["counts"]) == (
        "ada",
        {"user": "anna", "sessions_ended": 1},
    )
    assert temporary not in json.dumps(event, default=str)


def test_reset_to_a_typed_password_refuses_a_short_one(
    client_for, web_app, web
) -> None:
    admin = client_for("ada")
    short = _post(admin, "/admin/users/dan/password", {"password": "short"}, web)
    assert short.status_code == 303
    assert _signs_in(client_for, web, "dan", web.PASSWORD)
    typed = _post(admin, "/admin/users/dan/password", {"password": NEW_PASSWORD}, web)
    assert typed.status_code == 200
    assert _TEMPORARY.search(typed.text) is None
    assert _signs_in(client_for, web, "dan", NEW_PASSWORD)


def test_disable_ends_sessions_and_sign_in_until_enabled(
    client_for, web_app, web
) -> None:
    rita = client_for("rita")
    old_cookie = rita.cookies[SESSION_COOKIE]
    admin = client_for("ada")
    assert _post(admin, "/admin/users/rita/disable", {}, web).status_code == 303
    assert _replay(web_app, old_cookie).get("/reports").status_code == 303
    assert web.sign_in(client_for(), "rita", web.PASSWORD).status_code == 401
    assert "spærret" in admin.get("/admin/users/rita").text
    assert _post(admin, "/admin/users/rita/enable", {}, web).status_code == 303
    assert _signs_in(client_for, web, "rita", web.PASSWORD)
    assert [e["event"] for e in _events(web_app, "user_disabled")] == ["user_disabled"]
    assert len(_events(web_app, "user_enabled")) == 1


def test_a_disabled_user_stays_disabled_after_a_reset(client_for, web_app, web) -> None:
    admin = client_for("ada")
    _post(admin, "/admin/users/dan/disable", {}, web)
    _post(admin, "/admin/users/dan/password", {"password": NEW_PASSWORD}, web)
    assert not _signs_in(client_for, web, "dan", NEW_PASSWORD)
    _post(admin, "/admin/users/dan/enable", {}, web)
    assert _signs_in(client_for, web, "dan", NEW_PASSWORD)


def test_admin_cannot_disable_themself(client_for, web_app, web) -> None:
    admin = client_for("ada")
    assert _post(admin, "/admin/users/ada/disable", {}, web).status_code == 303
    assert not web_app.state.opspor.users.get_user("ada").disabled
    assert admin.get("/admin/users").status_code == 200


def test_unknown_user_answers_404(client_for, web) -> None:
    admin = client_for("ada")
    assert admin.get("/admin/users/nobody").status_code == 404
    assert _post(admin, "/admin/users/nobody/disable", {}, web).status_code == 404


def test_admin_changes_a_coordinators_scope(client_for, web_app, web) -> None:
    carl = client_for("carl")
    scope = {"programmes": ["diabetes_bus"], "municipalities": "390"}
    response = _post(client_for("ada"), "/admin/users/carl/scope", scope, web)
    assert response.status_code == 303
    stored = web_app.state.opspor.users.get_user("carl")
    assert (stored.programmes, stored.municipalities) == (("diabetes_bus",), ("390",))
    assert "diabetes_bus" in carl.get("/lists").text  # takes effect at once
    [event] = _events(web_app, "scope_changed")
    assert event["counts"] == {
        "user": "carl",
        "programmes": ["diabetes_bus"],
        "municipalities": ["390"],
    }


@pytest.mark.parametrize(
    "scope",
    [
        {"programmes": ["diabetes_bus"], "municipalities": "39"},
        {"programmes": [], "municipalities": "390"},
    ],
)
def test_a_bad_scope_is_refused(client_for, web_app, web, scope) -> None:
    _post(client_for("ada"), "/admin/users/carl/scope", scope, web)
    stored = web_app.state.opspor.users.get_user("carl")
    assert stored.municipalities == ("360",)
    assert _events(web_app, "scope_changed") == []


def test_a_reviewer_gets_no_scope(client_for, web_app, web) -> None:
    scope = {"programmes": ["diabetes_bus"], "municipalities": "390"}
    _post(client_for("ada"), "/admin/users/rita/scope", scope, web)
    assert web_app.state.opspor.users.get_user("rita").programmes == ()


def _change(client: Any, web: Any, current: str, new: str, repeated: str) -> Any:
    data = {"current": current, "new": new, "repeated": repeated}
    return _post(client, "/account/password", data, web)


@pytest.mark.parametrize(
    ("current", "new", "repeated", "message"),
    [
        (
            "wrong-password",
            NEW_PASSWORD,
            NEW_PASSWORD,
            "nuværende adgangskode er forkert",
        ),
        (None, NEW_PASSWORD, NEW_PASSWORD + "x", "to nye adgangskoder er forskellige"),
        (None, "short", "short", "mindst 8 tegn"),
    ],
)
def test_own_password_change_refusals(
    client_for, web, current, new, repeated, message
) -> None:
    client = client_for("rita")
    response = _change(client, web, current or web.PASSWORD, new, repeated)
    assert response.headers["location"] == "/account/password"
    assert f"{message}" in client.get("/account/password").text.split("<h1>")[0]
    assert _signs_in(client_for, web, "rita", web.PASSWORD)


def test_own_password_change_ends_the_other_sessions(client_for, web_app, web) -> None:
    here, elsewhere = client_for("anna"), client_for("anna")
    response = _change(here, web, web.PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert "Din adgangskode er skiftet" in here.get("/account/password").text
    assert here.get("/lists").status_code == 200
    assert elsewhere.get("/lists").status_code == 303
    assert _signs_in(client_for, web, "anna", NEW_PASSWORD)
    assert not _signs_in(client_for, web, "anna", web.PASSWORD)
    [event] = _events(web_app, "password_changed")
    assert (event["actor"], event["counts"]) == (
        "anna",
        {"user": "anna", "temporary": False},
    )


def test_every_role_sees_the_password_link(client_for) -> None:
    for name in ("anna", "rita", "dan", "ada"):
        page = client_for(name).get("/account/password").text
        assert 'href="/account/password"' in page


@pytest.mark.parametrize(
    ("data", "english"),
    [
        ({"name": "rita", "role": "reviewer"}, "Refused: the user name is taken"),
        ({"name": "Bo Bo", "role": "reviewer"}, "Refused: the user name needs 2-40"),
        (
            {"name": "bo", "role": "coordinator", "programmes": ["diabetes_bus"]}
            | {"municipalities": "39"},
            "Refused: a kommunekode has three digits",
        ),
        (
            {"name": "bo", "role": "reviewer", "password": "short"},
            "Refused: The password needs at least 8 characters.",
        ),
    ],
)
def test_refusals_are_said_in_the_interface_language(
    client_for, web_app, data, english
) -> None:
    client = client_for("ada")
    csrf = client.get("/admin/users?lang=en").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', csrf).group(1)
    response = client.post("/admin/users", data={**data, "csrf_token": token})
    assert response.status_code == 303
    assert english in client.get("/admin/users").text
    assert web_app.state.opspor.users.get_user("bo") is None


def test_reviewers_audit_log_counts_account_events(client_for, web) -> None:
    _post(client_for("ada"), "/admin/users/dan/disable", {}, web)
    page = client_for("rita").get("/audit-log")
    assert page.status_code == 200
    assert re.search(r"<td>user_disabled</td><td>1</td>", page.text)
