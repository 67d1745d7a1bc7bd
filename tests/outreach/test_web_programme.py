"""Programme report and evaluation pages: scope, suppression, messages, estimates."""

from __future__ import annotations

import re

from outreach.evaluate import EvaluationResult
from outreach.programme_report import build_programme_report

REPORT = "/programmes/diabetes_bus/report"
EVALUATION = "/programmes/diabetes_bus/evaluation"
LIST = "/lists/diabetes_bus/2026-W48"


def _main(html: str) -> str:
    return re.sub(r"\s+", " ", html.split("<main>")[1])


def _total_row(html: str) -> list[str]:
    """The cells of the first 'all weeks, all levels' row."""
    row = _main(html).split('<tr class="total">')[1].split("</tr>")[0]
    return re.findall(r"<td>(.*?)</td>", row)


def _sql(web_app, sql: str) -> list[tuple]:
    with web_app.state.opspor.warehouse.connection() as con:
        return con.execute(sql).fetchall()


def test_a_coordinator_sees_the_report_of_their_municipalities(
    client_for, web_app
) -> None:
    (n_own,) = _sql(
        web_app, "select count(*) from outreach.lists where area in ('390', '376')"
    )[0]
    (n_all,) = _sql(web_app, "select count(*) from outreach.lists")[0]
    assert 10 <= n_own < n_all
    anna = client_for("anna")
    page = anna.get(REPORT)
    assert page.status_code == 200
    assert _total_row(page.text)[2] == str(n_own)
    assert "390 Vordingborg, 376 Guldborgsund" in page.text
    assert _total_row(client_for("rita").get(REPORT).text)[2] == str(n_all)
    assert re.search(r"P\d{5}", _main(page.text)) is None


def test_recorded_outcomes_show_in_the_report(client_for) -> None:
    anna = client_for("anna")
    page = f"{LIST}/citizens/P00000"
    token = re.search(r'name="csrf_token" value="([^"]+)"', anna.get(page).text)
    assert token
    anna.post(
        page,
        data={
            "csrf_token": token.group(1),
            "outcome": "screened",
            "outcome_date": "2026-11-26",
        },
    )
    cells = _total_row(anna.get(REPORT).text)
    assert cells[3:6] == ["1", "1", "0"]  # reached (screened counts), screened


def test_small_groups_and_their_complements_are_suppressed_as_the_cli_does(
    client_for, web_app
) -> None:
    _sql(
        web_app,
        "update marts.audit_attributes set education_level = 'long_tertiary' "
        "where citizen_id in (select citizen_id from outreach.lists limit 3)",
    )
    with web_app.state.opspor.warehouse.connection() as con:
        report = build_programme_report(con, "diabetes_bus")
    hidden = {r["education_level"] for r in report.rows if r["suppressed"]}
    assert hidden == {"long_tertiary", "basic"}  # the small one and its complement
    text = _main(client_for("rita").get(REPORT).text)
    for level in ("lang videregående", "grundskole"):
        row = text.split(f"<td>{level}</td>")[1].split("</tr>")[0]
        assert row.count(">&lt;10</span>") == 4, level
    assert "<td>37</td>" not in text and "<td>3</td>" not in text


def test_scope_of_the_programme_pages(client_for) -> None:
    carl = client_for("carl")
    assert carl.get(REPORT).status_code == 403
    assert carl.get(EVALUATION).status_code == 403
    assert "diabetes_bus" not in _main(carl.get("/programmes").text)
    assert client_for("dan").get("/programmes/nope/report").status_code == 404
    assert client_for("ada").get(REPORT).status_code == 403


def test_the_evaluation_says_plainly_when_there_is_no_hold_out(client_for) -> None:
    da = client_for("anna").get(EVALUATION).text
    assert "holder ingen borgere ude" in da
    en = client_for("rita").get(f"{EVALUATION}?lang=en").text
    assert "holds no citizens out at random yet" in en


def _result(status: str, **changes) -> EvaluationResult:
    base = {
        "programme": "diabetes_bus",
        "status": status,
        "message": "English text the page does not show",
        "follow_up_days": 180,
        "extract_date": "2026-11-23",
        "n_weeks": 8,
        "n_listed": 320,
        "n_held_out": 41,
        "estimates": [],
    }
    return EvaluationResult(**{**base, **changes})


def _estimate(outcome: str, comparison: str, diff: float) -> dict:
    return {
        "outcome": outcome,
        "comparison": comparison,
        "n_treated": 320,
        "n_held_out": 41,
        "treated_rate": 0.5,
        "held_out_rate": 0.5 - diff,
        "difference": diff,
        "ci_low": diff - 0.05,
        "ci_high": diff + 0.05,
    }


def test_the_evaluation_shows_estimates_with_intervals(client_for, monkeypatch) -> None:
    from outreach.app.web.routes import programme

    estimates = [
        _estimate("attended relevant control", "listed_vs_held_out", 0.12),
        _estimate("acute hospital contact", "reached_vs_held_out", -0.031),
    ]
    monkeypatch.setattr(
        programme,
        "evaluate_outreach",
        lambda con, prog: _result("ok", estimates=estimates),
    )
    text = _main(client_for("rita").get(EVALUATION).text)
    assert "<td>fremmødt til relevant kontrol</td>" in text
    assert "<td>på listen mod holdt ude</td>" in text
    assert "<td>+12.0</td> <td>[+7.0; +17.0]</td>" in text
    assert "<td>-3.1</td> <td>[-8.1; +1.9]</td>" in text
    assert "320 på listen og 41 holdt ude" in text
    assert "English text" not in text


def test_the_evaluation_says_when_follow_up_is_too_short(
    client_for, monkeypatch
) -> None:
    from outreach.app.web.routes import programme

    monkeypatch.setattr(
        programme,
        "evaluate_outreach",
        lambda con, prog: _result("not_enough_weeks", n_weeks=1, n_held_out=4),
    )
    text = _main(client_for("anna").get(f"{EVALUATION}?lang=en").text)
    assert "Not enough data yet: 1 list week(s)" in text
    assert "with 4 held-out citizen(s)" in text
