"""The report's reach-against tables, from a hand-made ``reach_against`` section."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from reports.fairness import FairnessAudit
from reports.render import _pdf_bytes, render_fairness_html
from reports.render_reach import SUPPRESSED, reach_lines, reach_view

REFERENCE = "smi_somatic_365d_gp@2"


def _cell(group: str, n: int, audited: int, reference: int, **extra: Any) -> dict:
    return {
        "group": group,
        "n_with_outcome": n,
        "recall_audited": audited / n,
        "recall_reference": reference / n,
        "ratio": audited / reference,
        "ci_low": 0.17,
        "ci_high": 0.43,
        "se_difference": 0.05,
        **extra,
    }


@pytest.fixture(scope="module")
def labels(planted_audit: FairnessAudit) -> list[str]:
    """The education groups of the planted audit, in the report's order."""
    return list(planted_audit.groupings["education_level"]["groups"])


@pytest.fixture(scope="module")
def audit(planted_audit: FairnessAudit, labels: list[str]) -> FairnessAudit:
    """The planted audit with a hand-made reach section: two groups shown."""
    reach = {
        "k": 400,
        "listed_events": {"audited": 42.0, REFERENCE: 52.0},
        "references": {
            REFERENCE: {
                "education_level": [
                    _cell(labels[0], 44, 12, 41, flagged=True),
                    _cell(labels[1], 30, 15, 16, flagged=False),
                ]
            }
        },
    }
    return dataclasses.replace(planted_audit, reach=reach)


def _rows(html: str) -> list[list[str]]:
    section = html.split('id="reach-against"', 1)[1].split('id="method"', 1)[0]
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)
        if "<td" in row
    ]


def test_html_shows_each_group_with_listed_events_ratio_and_flag(
    audit: FairnessAudit, labels: list[str]
) -> None:
    html = render_fairness_html(audit, [], lang="both")
    rows = _rows(html)
    assert rows[0] == [
        labels[0],
        "44",
        "12 (27%)",
        "41 (93%)",
        "0.29 (0.17–0.43)",
        "ja / yes",
    ]
    assert rows[1][-1] == "nej / no"
    # Every other education group was suppressed: shown, but only as "—".
    assert [r[0] for r in rows] == labels
    assert all(r[1:] == [SUPPRESSED] * 5 for r in rows[2:])
    assert html.count('class="suppressed">—</td>') == 5 * (len(labels) - 2)
    assert "Rækkevidde mod en referencerangering / Reach against a reference" in html
    assert f"På listen: {REFERENCE} / Listed: {REFERENCE}" in html
    assert (
        f"{REFERENCE} lists 52 citizens with the outcome in all, the audited "
        "ranking 42: its groups can be flagged." in html
    )
    assert f"{REFERENCE} sætter i alt 52 borgere med udfaldet på listen" in html
    assert "med 95 % interval" in html and "forholdet er under 0,8" in html
    assert "with its 95% interval" in html and "ratio is under 0.8 and" in html


def test_html_in_one_language_and_a_less_precise_reference(
    audit: FairnessAudit,
) -> None:
    reach = {**audit.reach, "listed_events": {"audited": 52.0, REFERENCE: 42.0}}
    html = render_fairness_html(dataclasses.replace(audit, reach=reach), [], lang="en")
    assert "Reach against a reference ranking" in html
    assert "Rækkevidde" not in html and "ja / yes" not in html
    assert "the audited ranking 52: shown only, never flagged." in html
    assert _rows(html)[0][-1] == "yes"


def test_no_reference_no_section(planted_audit: FairnessAudit) -> None:
    assert reach_view(planted_audit.to_dict(), ["en"]) is None
    html = render_fairness_html(planted_audit, [], lang="both")
    assert 'id="reach-against"' not in html


def test_pdf_gets_a_page_of_the_tables(audit: FairnessAudit) -> None:
    pdf = _pdf_bytes(audit, [], "en")
    # The summary page, then the tables (no figures given).
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 2
    lines = reach_lines(reach_view(audit.to_dict(), ["en"]) or {})
    assert any(line.endswith(" | ".join([SUPPRESSED] * 5)) for line in lines)
    assert "  Group | With the outcome | Listed: audited" in "\n".join(lines)
