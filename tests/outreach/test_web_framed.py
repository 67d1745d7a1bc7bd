"""Reviewer pages: fairness text and flags in Danish, cards and packs in the frame."""

from __future__ import annotations

import json
from pathlib import Path

from outreach.app.web.i18n import TEXT

DA, EN = TEXT["da"], TEXT["en"]
SUMMARY_EN = "Reach by education level is within the thresholds."
SUMMARY_DA = "Rækkevidden efter uddannelsesniveau er inden for grænserne."
FLAG_EN = "Citizens with basic schooling are reached less than their need."
FLAG_DA = "Borgere med grundskole nås mindre, end deres behov tilsiger."


def _fairness(out: Path, *, danish: bool = True) -> None:
    folder = out / "reports" / "diabetes_bus" / "2026-W48"
    folder.mkdir(parents=True)
    flag = {"severity": "breach", "message": FLAG_EN, "code": "under_reach"}
    data = {
        "context": {"model_uri": "models:/m/3", "as_of_date": "2026-11-23"},
        "k": 40,
        "summary": [SUMMARY_EN],
        "flags": [{**flag, "message_da": FLAG_DA} if danish else flag],
    }
    if danish:
        data["summary_da"] = [SUMMARY_DA]
    (folder / "fairness.json").write_text(json.dumps(data))
    (folder / "fairness.html").write_text("<html><body>audit</body></html>")


def _card(out: Path) -> None:
    folder = out / "reports" / "models" / "m@3"
    folder.mkdir(parents=True)
    (folder / "model_card.html").write_text("<html><body>card</body></html>")


def test_fairness_page_in_danish_shows_the_danish_summary_and_flags(
    client_for, web_settings
) -> None:
    _fairness(web_settings.output_dir)
    page = client_for("rita").get("/reports/fairness/diabetes_bus/2026-W48").text
    assert SUMMARY_DA in page and FLAG_DA in page
    assert SUMMARY_EN not in page and FLAG_EN not in page
    assert DA["rv_severity_breach"] in page


def test_fairness_page_in_english_shows_the_english_text(
    client_for, web_settings
) -> None:
    _fairness(web_settings.output_dir)
    client = client_for("rita")
    page = client.get("/reports/fairness/diabetes_bus/2026-W48?lang=en").text
    assert SUMMARY_EN in page and FLAG_EN in page
    assert SUMMARY_DA not in page and FLAG_DA not in page


def test_fairness_page_says_when_an_old_report_has_no_danish(
    client_for, web_settings
) -> None:
    _fairness(web_settings.output_dir, danish=False)
    page = client_for("rita").get("/reports/fairness/diabetes_bus/2026-W48").text
    assert DA["rv_english_only"] in page
    assert SUMMARY_EN in page and FLAG_EN in page


def test_model_card_opens_inside_the_app_frame(client_for, web_settings) -> None:
    _card(web_settings.output_dir)
    client = client_for("rita")
    reports = client.get("/reports").text
    assert 'href="/reports/cards/m%403"' in reports
    page = client.get("/reports/cards/m@3")
    assert page.status_code == 200
    assert 'href="/reports" aria-current="page"' in page.text  # the navigation
    assert (
        '<iframe class="report" src="/reports/files/models/m%403/model_card.html"'
        in (page.text)
    )


def test_model_card_page_answers_404_for_a_missing_or_bad_card(
    client_for, web_settings
) -> None:
    _card(web_settings.output_dir)
    client = client_for("dan")
    assert client.get("/reports/cards/m@4").status_code == 404
    assert client.get("/reports/cards/..%2F..%2Fusers.json").status_code == 404


def test_governance_pack_files_open_in_a_frame_of_the_pack_page(
    client_for, web_settings
) -> None:
    folder = web_settings.output_dir / "governance" / "diabetes_bus" / "2026-11-27"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<html><body>pack</body></html>")
    (folder / "model_card.md").write_text("# card")
    (folder / "manifest.json").write_text('{"files": {}}')
    page = client_for("rita").get("/governance/diabetes_bus/2026-11-27").text
    assert '<iframe class="report" name="pack-file"' in page
    link = 'href="/governance/diabetes_bus/2026-11-27/model_card.md" target="pack-file"'
    assert link in page
    assert 'aria-current="page"' in page  # inside the app's navigation
