"""The web app in a browser: sign-in, scope, reasons, recording, Excel, roles, admin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

WEEK = "2026-W48"
NEXT_WEEK = "2026-W49"
LIST = f"/lists/diabetes_bus/{WEEK}"
SCOPE = ("390", "376")


def _sign_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _screenshot(page: Any, path: Path) -> Path:
    """A viewport screenshot kept small: a 64-colour palette PNG."""
    from PIL import Image

    page.screenshot(path=str(path))
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=64).save(path, optimize=True)
    return path


def _rows(served: Any, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    with served.app.state.opspor.warehouse.connection() as con:
        return con.execute(sql, params or {}).fetchall()


def _list_areas(served: Any, week: str) -> dict[str, str]:
    rows = _rows(
        served,
        "select l.citizen_id, l.area from outreach.lists as l"
        " join outreach.list_runs as r using (list_id)"
        " where r.week = $week and r.status = 'frozen'",
        {"week": week},
    )
    return dict(rows)


def _shown_ids(page: Any) -> list[str]:
    return [a.inner_text() for a in page.query_selector_all("table.list a.citizen")]


def _record(page: Any, outcome_label: str, opt_out: bool = False) -> str:
    page.get_by_label(outcome_label, exact=True).check()
    if opt_out:
        page.check("input[name=opt_out]")
    page.click("form.record button[type=submit]")
    page.wait_for_load_state()
    return page.inner_text("p.flash")


def test_signed_out_visitor_is_sent_to_sign_in(page, served) -> None:
    page.goto(f"{served.url}{LIST}")
    assert re.search(r"/signin\?next=%2Flists%2Fdiabetes_bus%2F2026-W48$", page.url)
    assert page.is_visible("input[name=password]")


def test_coordinator_records_downloads_and_next_week_omits_the_opt_out(
    page, served, shots, password, tmp_path
) -> None:
    _sign_in(page, served.url, "anna", password)
    assert page.url.endswith("/lists")
    page.click(f'a[href="{LIST}"]')
    areas = _list_areas(served, WEEK)
    shown = _shown_ids(page)
    in_scope = [c for c, a in areas.items() if a in SCOPE]
    assert sorted(shown) == sorted(in_scope)
    assert len(shown) < len(areas)  # Lolland's part of the list is not shown
    _screenshot(page, shots / "web-list.png")

    screened, declined = shown[0], shown[1]
    page.click(f"text={screened}")
    assert re.search(
        r"udeblevne kontroller|udebleven kontrol", page.inner_text("ol.reasons")
    )
    _screenshot(page, shots / "web-reasons.png")
    assert _record(page, "undersøgt") == "Registreret: undersøgt."

    page.goto(f"{served.url}{LIST}/citizens/{declined}")
    assert _record(page, "takket nej", opt_out=True) == "Registreret: takket nej."
    recorded = _rows(
        served,
        "select citizen_id, outcome, opt_out, recorded_by from outreach.contacts"
        " where recorded_by = 'anna' order by outcome desc"
    )  # fmt: skip
    assert recorded == [
        (screened, "screened", False, "anna"),
        (declined, "declined", True, "anna"),
    ]

    page.goto(f"{served.url}{LIST}")
    with page.expect_download() as download:
        page.click("text=Hent Excel")
    saved = tmp_path / "list.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved, read_only=True)
    ids = [r[0] for r in book["Record"].iter_rows(min_row=2, values_only=True)]
    assert sorted(ids) == sorted(in_scope)

    from bench.web_world import MODEL
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    with served.app.state.opspor.warehouse.connection() as con:
        build_weekly_list(con, load_programme("diabetes_bus"), week=NEXT_WEEK,
                          model_uri=MODEL, actor="planner")  # fmt: skip
    page.goto(f"{served.url}/lists")
    page.click(f'a[href="/lists/diabetes_bus/{NEXT_WEEK}"]')
    assert declined not in _shown_ids(page)
    assert declined not in _list_areas(served, NEXT_WEEK)
    assert len(_shown_ids(page)) > 0


def test_reviewer_reads_the_fairness_report_and_gets_403_on_a_list(
    page, served, shots, password
) -> None:
    _sign_in(page, served.url, "rita", password)
    assert page.url.endswith("/reports")
    page.click(f'a[href="/reports/fairness/diabetes_bus/{WEEK}"]')
    assert page.is_visible("ul.summary li")
    frame = page.frame_locator("iframe.report")
    assert frame.locator("body").inner_text()  # the report renders inside the page
    _screenshot(page, shots / "web-reviewer.png")
    response = page.goto(f"{served.url}{LIST}")
    assert response is not None and response.status == 403
    assert "Ikke for din rolle" in page.inner_text("main")


def _monitoring_report(served: Any, tmp_path: Path, region_cache: Path) -> None:
    """Run the real monitor on region_small with planted changes into the app's root.

    region_small is the session's (``tests/region_cache.py``): planted in a copy.
    """
    import shutil

    from features.settings import EngineSettings
    from tests.reports.monitor_regions import monitor_without_a_model, plant_changes

    settings = EngineSettings(output_dir=tmp_path / "out")
    planted = plant_changes(region_cache / "extract", tmp_path / "planted")
    monitor_without_a_model(planted, settings, programme="diabetes_bus", week=WEEK)
    folder = Path("reports") / "diabetes_bus" / "monitoring"
    shutil.copytree(settings.output_dir / folder, served.out / folder)


def test_reviewer_reads_the_monitoring_report_inside_the_page(
    page, served, password, tmp_path, region_cache
) -> None:
    _monitoring_report(served, tmp_path, region_cache)
    _sign_in(page, served.url, "rita", password)
    page.click('header nav a[href="/monitoring"]')
    page.click('a[href="/monitoring/diabetes_bus"]')
    assert page.locator("table.alerts tbody tr").count() == 3
    frame = page.frame_locator("iframe.report")
    assert "diabetes_bus" in frame.locator("h1").inner_text()
    widths = frame.locator("img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert widths and all(w > 0 for w in widths)  # data: plots allowed by the policy


def test_forged_form_without_the_csrf_token_is_refused(page, served, password) -> None:
    _sign_in(page, served.url, "anna", password)
    page.goto(f"{served.url}{LIST}")
    citizen = _shown_ids(page)[-1]
    page.goto(f"{served.url}{LIST}/citizens/{citizen}")
    page.evaluate(
        "document.querySelector('form.record input[name=csrf_token]').remove()"
    )
    page.get_by_label("kontaktet", exact=True).check()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("form.record button[type=submit]")
    assert posted.value.status == 403
    assert "sikkerhedsnøgle" in page.inner_text("main")
    assert _rows(
        served,
        "select count(*) from outreach.contacts where citizen_id = $c",
        {"c": citizen},
    ) == [(0,)]


def test_admin_resets_a_password_and_the_old_session_stops_working(
    page, browser, served, password
) -> None:
    coordinator = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        cora = coordinator.new_page()
        _sign_in(cora, served.url, "cora", password)
        assert cora.goto(f"{served.url}{LIST}").status == 200
        _sign_in(page, served.url, "ada", password)
        assert page.url.endswith("/admin/users")
        page.click('a[href="/admin/users/cora"]')
        page.click('form[action="/admin/users/cora/password"] button[type=submit]')
        page.wait_for_load_state()
        temporary = page.inner_text("code.temporary").strip()
        assert "nulstillet" in page.inner_text("main")
        cora.goto(f"{served.url}{LIST}")
        assert "/signin" in cora.url  # the old session ended with the reset
        _sign_in(cora, served.url, "cora", password)
        assert "/signin" in cora.url  # and the old password with it
        _sign_in(cora, served.url, "cora", temporary)
        assert cora.url.endswith("/account/password")  # a temporary password
        assert "midlertidig adgangskode" in cora.inner_text("main")
        cora.goto(f"{served.url}{LIST}")
        assert cora.url.endswith("/account/password")  # nothing else until changed
        cora.fill("input[name=current]", temporary)
        cora.fill("input[name=new]", "coras-own-password")
        cora.fill("input[name=repeated]", "coras-own-password")
        cora.click("form.record button[type=submit]")
        cora.wait_for_load_state()
        assert cora.url.endswith("/lists")
        assert cora.goto(f"{served.url}{LIST}").status == 200
    finally:
        coordinator.close()


def _governance_pack(served: Any) -> Path:
    """A small governance pack (files, manifest, index) in the app's output folder."""
    folder = served.out / "governance" / "diabetes_bus" / "2026-11-27"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data_protection.md").write_text("# Data protection\n", encoding="utf-8")
    (folder / "manifest.json").write_text('{"files": {}}\n', encoding="utf-8")
    (folder / "index.html").write_text(
        "<!DOCTYPE html><html><body><h1>Governance pack</h1></body></html>\n",
        encoding="utf-8",
    )
    return folder


def test_reviewer_signs_off_a_governance_pack_and_sees_it_recorded(
    page, served, shots, password
) -> None:
    folder = _governance_pack(served)
    _sign_in(page, served.url, "rita", password)
    page.click('a[href="/governance/diabetes_bus/2026-11-27"]')
    page.fill("form.signoff textarea[name=comment]", "Læst og godkendt.")
    page.click("form.signoff button[type=submit]")
    page.wait_for_load_state()
    assert "Godkendelsen er registreret." in page.inner_text("p.flash")
    row = page.locator("table.signoffs tbody tr").first.inner_text()
    assert "rita" in row and "Læst og godkendt." in row and "Gyldig" in row
    assert (folder.parent / "2026-11-27.signoffs.jsonl").is_file()
    _screenshot(page, shots / "web-signoff.png")
    (folder / "data_protection.md").write_text("# Changed\n", encoding="utf-8")
    page.reload()
    assert page.locator("table.signoffs tr.stale").count() == 1


def test_reviewer_sees_access_counts_without_pseudonyms_and_an_admin_exports(
    page, browser, served, password, shots
) -> None:
    listed = _list_areas(served, WEEK)
    citizen = next(i for i, area in sorted(listed.items()) if area in SCOPE)
    coordinator = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        anna = coordinator.new_page()
        _sign_in(anna, served.url, "anna", password)
        anna.goto(f"{served.url}{LIST}")
        anna.goto(f"{served.url}{LIST}/citizens/{citizen}")
    finally:
        coordinator.close()
    _sign_in(page, served.url, "rita", password)
    page.click('nav a[href="/access-log"]')
    counts = page.inner_text("#access-counts")
    assert "anna" in counts and "så ugens liste" in counts and "så en borger" in counts
    html = page.content()
    assert not [i for i in listed if i in html]  # no pseudonym anywhere on the page
    assert not page.is_visible("#access-export")
    _screenshot(page, shots / "web-access-log.png")
    page.click('form[action="/signout"] button[type=submit]')
    _sign_in(page, served.url, "ada", password)
    page.click('nav a[href="/access-log"]')
    page.fill("#access-export input[name=actor]", "anna")
    page.fill("#access-export input[name=pseudonym]", citizen)
    with page.expect_download() as info:
        page.click("#access-export button[type=submit]")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("at,actor,action,pseudonym")
    exported = {tuple(line.split(",")[1:4]) for line in text.splitlines()[1:]}
    assert {(a, p) for a, _, p in exported} == {("anna", citizen)}  # the filters hold
    assert {("anna", "viewed_list", citizen), ("anna", "viewed_citizen", citizen)} <= (
        exported
    )  # earlier tests in this module may have opened or downloaded it too
    page.goto(f"{served.url}/access-log")
    assert "udtræk af adgangsloggen" in page.inner_text("#access-counts")


def test_coordinator_reads_the_programme_report_of_their_municipalities(
    page, served, shots, password
) -> None:
    _sign_in(page, served.url, "anna", password)
    page.goto(f"{served.url}/programmes/diabetes_bus/report")
    assert "390 Vordingborg, 376 Guldborgsund" in page.inner_text("main")
    assert page.locator("table.report").count() == 2
    assert "Alle uger" in page.inner_text("table.report >> nth=0")
    _screenshot(page, shots / "web-programme-report.png")


def test_data_scientist_compares_two_versions_and_sees_their_plots(
    page, served, password, shots
) -> None:
    from tests.outreach.model_registry import NAME, build_registry

    build_registry(served.out)  # the app's own MLflow store: two versions of toy_web
    _sign_in(page, served.url, "dan", password)
    page.goto(f"{served.url}/models/{NAME}/2?lang=en")
    assert page.locator("table.metrics caption").first.inner_text() == (
        "At capacity (k = 40)"
    )
    page.select_option("form.compare select[name=b]", "1")
    page.click("form.compare button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith(f"/models/{NAME}/compare?a=2&b=1")
    first = page.locator("table.compare tbody tr").first
    assert first.locator("th").inner_text() == "Precision@k"
    assert re.fullmatch(r"[+-]\d\.\d{3}", first.locator("td.difference").inner_text())
    assert page.is_visible("text=No paired interval of the difference is logged")
    images = page.locator("figure.figure img")
    assert images.count() == 6  # three figures of each version
    widths = images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths)  # served by the artifact route, allowed by CSP
    _screenshot(page, shots / "web-compare.png")


def _fill_record_sheet(saved: Path, outcomes: dict[str, tuple[str, str]]) -> None:
    """Fill outcome and date of some rows of the downloaded Record sheet."""
    book = load_workbook(saved)
    for row in book["Record"].iter_rows(min_row=2):
        chosen = outcomes.get(str(row[0].value).lstrip("'"))
        if chosen:
            row[1].value, row[2].value = chosen
    book.save(saved)


def test_coordinator_uploads_the_record_sheet_and_corrects_an_outcome(
    page, served, shots, password, tmp_path
) -> None:
    _sign_in(page, served.url, "anna", password)
    page.goto(f"{served.url}{LIST}")
    first, second = _shown_ids(page)[-2:]  # rows no other test records
    with page.expect_download() as download:
        page.click("text=Hent Excel")
    saved = tmp_path / "record.xlsx"
    download.value.save_as(saved)
    _fill_record_sheet(
        saved, {first: ("reached", "2026-11-24"), second: ("screened", "2026-11-25")}
    )

    page.click("text=Indlæs registreringsark")
    page.set_input_files("input[name=sheet]", str(saved))
    page.click("form.upload button[type=submit]")
    page.wait_for_load_state()
    assert "2 udfyldte rækker, heraf 0 afvist" in page.inner_text("p.summary")
    assert page.locator("table.preview tr.ok").count() == 2
    _screenshot(page, shots / "web-upload-preview.png")
    page.click("form.commit button[type=submit]")
    page.wait_for_load_state()
    assert "2 nye udfald" in page.inner_text("p.flash")
    assert _rows(
        served,
        "select citizen_id, outcome from outreach.current_contacts"
        " where source = 'web-upload' order by citizen_id",
    ) == sorted([(first, "reached"), (second, "screened")])

    page.goto(f"{served.url}{LIST}/citizens/{first}")
    page.click("details.correct summary")
    page.select_option("details.correct select[name=outcome]", "screened")
    page.fill("details.correct input[name=reason]", "Forkert række i arket")
    page.click("details.correct button[type=submit]")
    page.wait_for_load_state()
    assert "Udfaldet er rettet" in page.inner_text("p.flash")
    history = page.inner_text("table.history")
    assert "rettet" in history and "Forkert række i arket" in history
    assert "gældende" in history
    page.locator("h2", has_text="Registrerede udfald").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 300)")
    _screenshot(page, shots / "web-correction.png")
    assert _rows(
        served,
        "select outcome from outreach.current_contacts where citizen_id = $c",
        {"c": first},
    ) == [("screened",)]


def test_coordinator_generates_the_week_filters_a_stop_and_prints_its_sheet(
    page, served, shots, password
) -> None:
    week = "2026-W50"  # W49 belongs to the recording test above
    _sign_in(page, served.url, "anna", password)
    page.click("section.programme details.generate summary")
    page.fill("form.generate input[name=week]", week)
    page.click("form.generate button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith(f"/lists/diabetes_bus/{week}")
    assert page.inner_text("p.flash").startswith(f"Listen for uge {week} er dannet:")
    areas = _list_areas(served, week)
    assert len(areas) == 40 and set(areas.values()) == {"390", "376", "360"}
    assert sorted(_shown_ids(page)) == sorted(c for c, a in areas.items() if a in SCOPE)

    page.select_option("form.filter select[name=stop]", label="Vordingborg")
    page.click("form.filter button[type=submit]")
    page.wait_for_load_state()
    shown = _shown_ids(page)
    assert shown and {areas[c] for c in shown} == {"390"}
    _screenshot(page, shots / "web-week.png")

    page.click(f"text={shown[0]}")
    assert page.inner_text("ol.reasons")
    page.go_back()
    with page.expect_popup() as popup:
        page.click("text=Udskriv stopark")
    sheet = popup.value
    sheet.wait_for_load_state()
    assert "Stop: Vordingborg" in sheet.inner_text("body")
    assert sheet.pdf(format="A4")[:4] == b"%PDF"
