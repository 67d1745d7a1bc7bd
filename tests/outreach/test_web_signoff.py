"""Reviewer tools: audit-log filters and CSV export, governance-pack sign-off."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from outreach.app.web.routes.reviewer import AUDIT_CSV_COLUMNS
from outreach.app.web.signoffs import pack_hash

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


PACK = "/governance/diabetes_bus/2026-11-27"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HASH = re.compile(r'name="pack_hash" value="([0-9a-f]{64})"')


def _write_pack(output_dir: Path) -> Path:
    folder = output_dir / "governance" / "diabetes_bus" / "2026-11-27"
    folder.mkdir(parents=True)
    (folder / "model_card.md").write_text("# Card\n", encoding="utf-8")
    (folder / "data_protection.md").write_text("# Note\n", encoding="utf-8")
    (folder / "manifest.json").write_text('{"files": {}}\n', encoding="utf-8")
    (folder / "index.html").write_text(
        "<html><body><h1>Pack</h1></body></html>\n", encoding="utf-8"
    )
    return folder


def _sign(client, comment: str = "Read and approved.") -> object:
    page = client.get(PACK).text
    return client.post(
        PACK,
        data={
            "csrf_token": _CSRF.search(page).group(1),
            "pack_hash": _HASH.search(page).group(1),
            "comment": comment,
        },
    )


def test_reviewer_sign_off_is_recorded_shown_and_audited(
    client_for, web_settings
) -> None:
    folder = _write_pack(web_settings.output_dir)
    rita = client_for("rita")
    assert _sign(rita).status_code == 303
    page = rita.get(PACK).text
    assert re.search(
        r"<td>rita</td><td>2026-11-27T09:00:00Z</td><td>Read and approved.</td>"
        r"<td>(Gyldig|Current)</td>",
        page,
    )
    record = json.loads(
        (folder.parent / "2026-11-27.signoffs.jsonl").read_text().splitlines()[0]
    )
    assert record["pack_hash"] == pack_hash(folder)
    assert record["actor"] == "rita"
    assert 'href="signoffs.html"' in (folder / "index.html").read_text()
    assert "Read and approved." in (folder / "signoffs.html").read_text()
    assert pack_hash(folder) == record["pack_hash"]  # the pages are not hashed
    events = _csv(client_for("dan"), "?event=signed_off")
    assert [(e["actor"], e["programme"]) for e in events] == [("rita", "diabetes_bus")]
    assert json.loads(events[0]["counts"])["pack_hash"] == record["pack_hash"]


def test_sign_off_is_stale_once_a_pack_file_changes(client_for, web_settings) -> None:
    folder = _write_pack(web_settings.output_dir)
    rita = client_for("rita")
    _sign(rita)
    (folder / "model_card.md").write_text("# Card, edited\n", encoding="utf-8")
    page = rita.get(PACK).text
    assert re.search(r'<tr class="stale"><td>rita</td>', page)
    _sign(rita, "Second look.")
    page = rita.get(PACK).text
    assert re.search(r"<tr><td>rita</td><td>[^<]+</td><td>Second look.</td>", page)
    lines = (folder.parent / "2026-11-27.signoffs.jsonl").read_text().splitlines()
    assert len(lines) == 2  # appended, the first kept


def test_sign_off_of_a_pack_changed_since_it_was_shown_is_refused(
    client_for, web_settings
) -> None:
    folder = _write_pack(web_settings.output_dir)
    rita = client_for("rita")
    page = rita.get(PACK).text
    (folder / "model_card.md").write_text("# Changed\n", encoding="utf-8")
    rita.post(
        PACK,
        data={
            "csrf_token": _CSRF.search(page).group(1),
            "pack_hash": _HASH.search(page).group(1),
            "comment": "ok",
        },
    )
    assert not (folder.parent / "2026-11-27.signoffs.jsonl").exists()


@pytest.mark.parametrize("comment", ["CPR 010190-1234 ok", "x" * 1001])
def test_sign_off_comment_with_cpr_or_too_long_is_refused(
    client_for, web_settings, comment
) -> None:
    folder = _write_pack(web_settings.output_dir)
    rita = client_for("rita")
    assert _sign(rita, comment).status_code == 303
    page = rita.get(PACK).text
    assert 'class="flash error"' in page
    assert "010190" not in page
    assert not (folder.parent / "2026-11-27.signoffs.jsonl").exists()
    assert _csv(client_for("dan"), "?event=signed_off") == []


def test_only_reviewers_sign_off(client_for, web_settings) -> None:
    folder = _write_pack(web_settings.output_dir)
    dan = client_for("dan")
    page = dan.get(PACK).text
    assert 'name="pack_hash"' not in page
    response = dan.post(
        PACK,
        data={
            "csrf_token": _CSRF.search(page).group(1),
            "pack_hash": pack_hash(folder),
            "comment": "ok",
        },
    )
    assert response.status_code == 403
    assert client_for("anna").get(PACK).status_code == 403
    assert not (folder.parent / "2026-11-27.signoffs.jsonl").exists()


def test_sign_off_without_csrf_is_refused(client_for, web_settings) -> None:
    folder = _write_pack(web_settings.output_dir)
    response = client_for("rita").post(
        PACK, data={"pack_hash": pack_hash(folder), "comment": "ok"}
    )
    assert response.status_code == 403
    assert not (folder.parent / "2026-11-27.signoffs.jsonl").exists()


def test_unknown_pack_is_404(client_for) -> None:
    assert client_for("rita").get(PACK).status_code == 404
    assert client_for("rita").get("/governance/diabetes_bus/latest").status_code == 404
