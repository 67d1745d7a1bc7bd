"""The monitoring pages of the web app (issue 16) over reports the real monitor wrote.

The reports come from :func:`reports.monitor.run_monitor` on region_small as
generated (week 2026-W47: nothing alerts) and with planted changes (week
2026-W48: a halved table, a unit change, a lost code system). Only the model
registry lookup is replaced: no model is trained here, so nothing is scored and
no list is evaluated; the data section and its alerts are the monitor's own.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from features.settings import EngineSettings
from outreach.app.web.i18n import TEXT
from tests.reports.monitor_regions import monitor_without_a_model, plant_changes

PROGRAMME = "diabetes_bus"
PAGE = f"/monitoring/{PROGRAMME}"
MONITORING = Path("reports") / PROGRAMME / "monitoring"


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory, region_cache: Path) -> Path:
    """An output root holding the W47 (stable) and W48 (planted) monitoring reports.

    The stable extract is the session's region_small (``tests/region_cache.py``,
    read only); the planted one a changed copy of it.
    """
    root = tmp_path_factory.mktemp("web_monitoring")
    stable = region_cache / "extract"
    planted = plant_changes(stable, root / "planted")
    for extract, name, week in (
        (stable, "out_stable", "2026-W47"),
        (planted, "out_planted", "2026-W48"),
    ):
        settings = EngineSettings(output_dir=root / name)
        monitor_without_a_model(extract, settings, programme=PROGRAMME, week=week)
    for name in ("out_stable", "out_planted"):
        shutil.copytree(
            root / name / MONITORING, root / "merged" / MONITORING, dirs_exist_ok=True
        )
    return root / "merged"


@pytest.fixture
def reports(monitored: Path, web_settings) -> Path:
    """Copy the monitored reports into the app's output root; return the folder."""
    target = web_settings.output_dir / MONITORING
    shutil.copytree(monitored / MONITORING, target)
    return target


def _report(folder: Path, week: str) -> dict:
    return json.loads((folder / week / "monitoring.json").read_text(encoding="utf-8"))


def test_real_reports_have_the_expected_verdicts(reports: Path) -> None:
    stable, planted = _report(reports, "2026-W47"), _report(reports, "2026-W48")
    assert (stable["verdict"], stable["alerts"]) == ("ok", [])
    assert planted["verdict"] == "alert"
    assert {(a["code"], a["subject"]) for a in planted["alerts"]} == {
        ("volume_drop", "appointments"),
        ("volume_drop", "lab_results"),
        ("code_system_lost", "diagnoses.SKS"),
    }


def test_monitoring_page_lists_each_programme_with_its_latest_verdict(
    client_for, reports: Path
) -> None:
    page = client_for("rita").get("/monitoring?lang=en")
    assert page.status_code == 200
    row = page.text.split(f"<td>{PROGRAMME}</td>")[1].split("</tr>")[0]
    assert "<td>2026-W48</td>" in row
    assert '<span class="verdict alert">alert</span>' in row
    assert re.findall(r"<td>(\d+)</td>", row) == ["3", "0", "0"]
    assert f'href="{PAGE}"' in row
    assert (
        "No monitoring report yet. Run `opspor monitor --programme "
        "smi_somatic_screening`" in page.text
    )


def test_programme_page_shows_the_latest_alerts_as_the_monitor_wrote_them(
    client_for, reports: Path
) -> None:
    text = client_for("dan").get(f"{PAGE}?lang=en").text
    latest = _report(reports, "2026-W48")
    assert latest["context"]["week"] == "2026-W48"
    for alert in latest["alerts"]:
        assert html.escape(alert["message"]) in text
        assert f"<td>{alert['subject']}</td>" in text
    assert f"<dd>{latest['context']['extract_date']}</dd>" in text
    assert f"<dd>{latest['context']['model_uri']}</dd>" in text
    data_row = text.split("<td>Data</td>")[1].split("</tr>")[0]
    assert "alert" in data_row and "<td>3</td>" in data_row
    inputs_row = text.split("<td>Inputs and scores</td>")[1].split("</tr>")[0]
    assert '<span class="verdict ok">ok</span>' in inputs_row


def test_programme_page_frames_the_full_report_and_lists_every_week(
    client_for, reports: Path
) -> None:
    text = client_for("rita").get(PAGE).text
    assert f'<iframe class="report" src="{PAGE}/2026-W48/monitoring.html"' in text
    assert f'href="{PAGE}/2026-W48/monitoring.json" download' in text
    weeks = text.split(TEXT["da"]["monitoring_weeks"])[1]
    assert weeks.index("<td>2026-W48</td>") < weeks.index("<td>2026-W47</td>")
    assert f'href="{PAGE}/2026-W47/monitoring.html"' in weeks


def test_monitoring_files_are_served_with_the_report_policy(
    client_for, reports: Path
) -> None:
    client = client_for("rita")
    page = client.get(f"{PAGE}/2026-W48/monitoring.html")
    assert page.status_code == 200
    assert page.text == (reports / "2026-W48" / "monitoring.html").read_text("utf-8")
    assert "sandbox" in page.headers["content-security-policy"]
    data = client.get(f"{PAGE}/2026-W47/monitoring.json")
    assert data.headers["content-type"] == "application/json"
    assert data.json() == _report(reports, "2026-W47")


def test_monitoring_page_text_in_both_languages(client_for, reports: Path) -> None:
    client = client_for("rita")
    for lang in ("da", "en"):
        text = client.get(f"{PAGE}?lang={lang}").text
        assert (
            TEXT[lang]["monitoring_programme_title"].format(programme=PROGRAMME) in text
        )
        assert TEXT[lang]["section_performance"] in text
        assert f">{TEXT[lang]['nav_monitoring']}</a>" in text


def test_programme_without_a_report_shows_the_command_to_run(client_for) -> None:
    client = client_for("dan")
    page = client.get(f"{PAGE}?lang=en")
    assert page.status_code == 200
    assert f"Run `opspor monitor --programme {PROGRAMME}`" in page.text
    assert "<iframe" not in page.text
    index = client.get("/monitoring").text
    assert TEXT["en"]["no_monitoring"].format(programme=PROGRAMME) in index


def test_unreadable_report_is_shown_as_such(client_for, web_settings) -> None:
    folder = web_settings.output_dir / MONITORING / "2026-W48"
    folder.mkdir(parents=True)
    (folder / "monitoring.json").write_text("{not json", encoding="utf-8")
    page = client_for("rita").get(f"{PAGE}?lang=en")
    assert page.status_code == 200
    assert '<span class="verdict unknown">the report cannot be read</span>' in page.text


def test_report_with_odd_alert_entries_still_renders(client_for, web_settings) -> None:
    folder = web_settings.output_dir / MONITORING / "2026-W48"
    folder.mkdir(parents=True)
    odd = {"verdict": "alert", "context": [], "alerts": ["x", {"value": "high"}]}
    (folder / "monitoring.json").write_text(json.dumps(odd), encoding="utf-8")
    page = client_for("rita").get(f"{PAGE}?lang=en")
    assert page.status_code == 200
    assert page.text.count("<td>–</td>") == 2  # value and threshold not figures
    assert "None" not in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/monitoring/Diabetes_Bus",
        "/monitoring/diabetes-bus",
        "/monitoring/%C3%A6bler",
        "/monitoring/no_such_programme",
        "/monitoring/..%2F..%2Fusers.json",
        f"{PAGE}/2026-W48/..%2F..%2F..%2F..%2Fusers.json",
        f"{PAGE}/..%2F..%2F/users.json",
        f"{PAGE}/2026-W48/monitoring.py",
        f"{PAGE}/2026-W48/fairness.json",
        f"{PAGE}/2026-W49/monitoring.html",
        f"{PAGE}/monitoring/monitoring.html",
        "/monitoring/Diabetes_Bus/2026-W48/monitoring.html",
        "/monitoring/Bad%20Name/2026-W48/monitoring.html",
    ],
)
def test_malformed_or_unknown_names_are_not_found(
    client_for, reports: Path, path: str
) -> None:
    (reports / "2026-W48" / "fairness.json").write_text("{}", encoding="utf-8")
    assert client_for("rita").get(path).status_code == 404


def test_coordinator_has_no_monitoring_link_or_page(client_for, reports: Path) -> None:
    client = client_for("anna")
    assert 'href="/monitoring"' not in client.get("/lists").text
    for path in ("/monitoring", PAGE, f"{PAGE}/2026-W48/monitoring.html"):
        assert client.get(path).status_code == 403, path
    assert 'href="/monitoring"' in client_for("rita").get("/reports").text
