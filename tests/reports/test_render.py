"""Rendering: three files, self-contained HTML, suppression kept, no citizen id."""

from __future__ import annotations

import json
import re

import pytest

from reports.render import audit_figures, format_cell, write_fairness_report


@pytest.fixture(scope="module")
def written(planted_audit, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "reports" / "test" / "model-1"
    return write_fairness_report(planted_audit, folder)


def test_write_fairness_report_writes_three_files(written) -> None:
    assert sorted(p.name for p in written.folder.iterdir()) == [
        "fairness.html",
        "fairness.json",
        "fairness.pdf",
    ]
    assert written.pdf.read_bytes().startswith(b"%PDF")
    data = json.loads(written.json.read_text(encoding="utf-8"))
    assert data["schema"] == "opspor-fairness/1" and data["flags"]


def test_write_fairness_report_html_makes_no_external_request(written) -> None:
    html = written.html.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    for target in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert target.startswith("data:image/png;base64,") or target.startswith("#")
    assert html.count("<img") == 5


def test_write_fairness_report_html_first_page_is_the_summary(
    written, planted_audit
) -> None:
    html = written.html.read_text(encoding="utf-8")
    summary = html[html.index('id="summary"') : html.index('id="flags"')]
    for sentence in planted_audit.summary:
        assert sentence.replace("'", "&#39;") in summary
    assert "suppressed (fewer than 10 citizens)" in html  # shelter: 4 citizens
    assert (
        'id="healthy"' in html and 'id="labels"' in html and 'id="mitigation"' in html
    )


def test_write_fairness_report_contains_no_citizen_id(written, planted_frame) -> None:
    ids = set(planted_frame["citizen_id"])
    for path in (written.html, written.json):
        text = path.read_text(encoding="utf-8")
        assert not re.findall(r"PSEUDO-\d{7}", text)
    raw = written.pdf.read_bytes()
    assert b"PSEUDO-" not in raw
    assert not any(
        i in written.json.read_text(encoding="utf-8") for i in list(ids)[:200]
    )


def test_write_fairness_report_json_suppressed_cells_are_null(written) -> None:
    data = json.loads(written.json.read_text(encoding="utf-8"))
    shelter = data["groupings"]["living_situation"]["groups"]["shelter"]
    assert shelter["suppressed"] is True and shelter["n"] is None
    assert all(
        c["estimate"] is None and c["n"] is None for c in shelter["metrics"].values()
    )


def test_audit_figures_leave_out_suppressed_groups(planted_audit) -> None:
    figures = dict(audit_figures(planted_audit))
    forest = figures["Recall at k: ratio to the reference group"]
    labels = [t.get_text() for t in forest.axes[0].get_yticklabels()]
    assert labels and not any(
        "shelter" in label or "prison" in label for label in labels
    )


def test_write_fairness_report_is_atomic_and_idempotent(written, planted_audit) -> None:
    # The second write into the module's folder (the first was ``written``).
    before = written.json.read_bytes()
    second = write_fairness_report(planted_audit, written.folder)
    assert second.json.read_bytes() == before
    assert not list(written.folder.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("cell", "metric", "text"),
    [
        (
            {"estimate": 0.25, "ci_low": 0.2, "ci_high": 0.3, "suppressed": False},
            "recall_at_k",
            "25.0% (20.0%–30.0%)",
        ),
        (
            {"estimate": 0.62, "ci_low": 0.48, "ci_high": 0.79},
            "ratio",
            "0.62 (0.48–0.79)",
        ),
        ({"estimate": None, "suppressed": True}, "recall_at_k", "suppressed"),
        (None, "ratio", "–"),
    ],
)
def test_format_cell(cell, metric, text) -> None:
    assert format_cell(cell, metric) == text


def test_write_fairness_report_both_languages_danish_first(
    written, planted_audit
) -> None:
    html = written.html.read_text(encoding="utf-8")
    assert html.index("Hvad auditten fandt") < html.index("What the audit found")
    assert planted_audit.summary_da[0] in html and planted_audit.summary[0] in html
    flag = planted_audit.flags[0]
    assert flag.message_da in html and flag.message in html


@pytest.mark.parametrize(("lang", "shown", "hidden"), [("da", 0, 1), ("en", 1, 0)])
def test_write_fairness_report_one_language(
    planted_audit, tmp_path, lang, shown, hidden
) -> None:
    paths = write_fairness_report(planted_audit, tmp_path / lang, lang=lang)
    html = paths.html.read_text(encoding="utf-8")
    summaries = (planted_audit.summary_da, planted_audit.summary)
    assert summaries[shown][0] in html and summaries[hidden][0] not in html
    data = json.loads(paths.json.read_text(encoding="utf-8"))
    assert data["summary"] == list(planted_audit.summary)  # the JSON holds both
    assert data["summary_da"] == list(planted_audit.summary_da)


def test_write_fairness_report_unknown_language(planted_audit, tmp_path) -> None:
    from features.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        write_fairness_report(planted_audit, tmp_path / "x", lang="de")
    assert str(error.value) == (
        "The '--lang' option must be 'both', 'da' or 'en'. Got 'de' instead."
    )
    assert not (tmp_path / "x" / "fairness.json").exists()
