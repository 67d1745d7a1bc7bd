"""Reviewer tools: audit-log filters and CSV export, governance-pack sign-off."""

from __future__ import annotations

import csv
import io
import re

from outreach.app.web.routes.reviewer import AUDIT_CSV_COLUMNS

LIST = "/lists/diabetes_bus/2026-W48"


def _csv(client, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/audit-log.csv{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_audit_log_filters_by_event_and_actor(client_for) -> None:
    client_for("anna").get(LIST)
    rita = client_for("rita")
    text = rita.get("/audit-log?event=viewed").text
    assert re.search(r"<td>diabetes_bus</td><td>viewed</td><td>1</td>", text)
    assert "<td>generated</td>" not in text
    assert "<td>viewed</td>" not in rita.get("/audit-log?actor=nobody").text
    assert '<option value="anna">anna</option>' in text


def test_audit_log_filters_by_date_range(client_for) -> None:
    client_for("anna").get(LIST)
    rita = client_for("rita")
    assert "<td>viewed</td>" not in rita.get("/audit-log?until=2000-01-01").text
    assert "<td>viewed</td>" in rita.get("/audit-log?since=2000-01-01").text
    assert "<td>viewed</td>" in rita.get("/audit-log?since=not-a-date").text


def test_audit_log_csv_holds_the_filtered_rows_without_citizens(client_for) -> None:
    client_for("anna").get(LIST)
    dan = client_for("dan")
    every = _csv(dan)
    assert {r["event"] for r in every} >= {"generated", "viewed"}
    viewed = _csv(dan, "?event=viewed&actor=anna")
    assert [(r["event"], r["actor"], r["programme"]) for r in viewed] == [
        ("viewed", "anna", "diabetes_bus")
    ]
    assert tuple(viewed[0]) == AUDIT_CSV_COLUMNS
    assert _csv(dan, "?until=2000-01-01") == []
    assert not re.search(r"P\d{5}", dan.get("/audit-log.csv").text)


def test_audit_log_page_links_the_csv_of_its_filters(client_for) -> None:
    text = client_for("rita").get("/audit-log?event=viewed&since=2026-01-01").text
    assert 'href="/audit-log.csv?event=viewed&amp;since=2026-01-01"' in text


def test_coordinator_cannot_export_the_audit_log(client_for) -> None:
    assert client_for("anna").get("/audit-log.csv").status_code == 403
