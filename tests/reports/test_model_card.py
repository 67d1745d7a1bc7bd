"""Model cards from a metadata dict: sections, TRIPOD+AI table, fairness summary."""

from __future__ import annotations

import json

import pytest

from reports.catalogue import feature_catalogue, render_catalogue_markdown
from reports.model_card import TRIPOD_AI, build_model_card, write_model_card

META = {
    "name": "diabetes_harm_365d",
    "version": "4",
    "spec": {
        "outcome": "diabetes_harm_365d",
        "cohort": "has_diabetes",
        "horizon_days": 365,
        "estimator": "hist_gradient_boosting",
        "features": ["n_no_shows_365d", "days_since_hba1c"],
    },
    "metrics": {
        "roc_auc": {"value": 0.71, "ci_low": 0.66, "ci_high": 0.75},
        "precision_at_capacity": {"value": 0.3, "ci_low": 0.2, "ci_high": 0.4},
    },
    "fingerprint": {"extract_hash": "f00d", "test_index_date": "2025-11-23"},
}
OUTCOME = {
    "description": "Harm.",
    "why": "Because controls prevent it.",
    "cohort_rule": "Diabetes.",
}


@pytest.fixture(scope="module")
def audit_json(planted_audit):
    return json.loads(json.dumps(planted_audit.to_dict()))


def test_build_model_card_sections(audit_json) -> None:
    card = build_model_card(META, audit=audit_json, outcome_contract=OUTCOME)
    s = card.sections
    assert card.model_uri == "models:/diabetes_harm_365d/4"
    assert {
        "title",
        "summary",
        "intended-use",
        "cohort",
        "outcome",
        "data",
        "features",
        "model",
        "performance",
        "fairness",
        "limitations",
    } <= set(s)
    assert [f["name"] for f in s["features"]] == ["n_no_shows_365d", "days_since_hba1c"]
    assert s["features"][0]["description"]  # purpose from the feature contracts
    auc = next(r for r in s["performance"] if r["metric"] == "roc_auc")
    assert (auc["estimate"], auc["ci_low"], auc["ci_high"]) == (0.71, 0.66, 0.75)
    assert s["fairness"]["summary"] == audit_json["summary"]
    assert any("under-recorded" in item for item in s["limitations"][-1:])
    assert "AUROC 0.71" in s["summary"]


def test_build_model_card_tripod_has_27_items() -> None:
    card = build_model_card(META, outcome_contract=OUTCOME)
    assert [row["item"] for row in card.tripod] == [str(i) for i in range(1, 28)]
    assert len(TRIPOD_AI) == 27
    for row in card.tripod:
        assert row["anchor"] == f"#{row['where']}" or row["where"].startswith("not ")
    assert card.sections["fairness"]["available"] is False


def test_build_model_card_metrics_nested_by_split() -> None:
    meta = {
        **META,
        "metrics": {"test": {"brier_score": {"estimate": 0.08}}, "auroc": 0.7},
    }
    rows = build_model_card(meta, outcome_contract=OUTCOME).sections["performance"]
    assert {
        "split": "test",
        "metric": "brier_score",
        "estimate": 0.08,
        "ci_low": None,
        "ci_high": None,
    } in rows
    assert any(r["metric"] == "auroc" and r["estimate"] == 0.7 for r in rows)


def test_write_model_card_html_and_markdown(tmp_path, audit_json) -> None:
    card = build_model_card(META, audit=audit_json, outcome_contract=OUTCOME)
    paths = write_model_card(card, tmp_path / "card")
    html = paths.html.read_text(encoding="utf-8")
    markdown = paths.markdown.read_text(encoding="utf-8")
    assert 'id="tripod"' in html and 'href="#fairness"' in html
    assert "http://" not in html and "https://" not in html
    assert (
        "| 14 | Fairness: methods to address it | [fairness](#fairness) |" in markdown
    )
    assert "0.660–0.750" in markdown


def test_feature_catalogue_keeps_order_and_unknown_names() -> None:
    rows = feature_catalogue(["days_since_hba1c", "not_a_feature"])
    assert [r["name"] for r in rows] == ["days_since_hba1c", "not_a_feature"]
    assert rows[0]["description"] and rows[1]["description"] == ""
    everything = feature_catalogue()
    roles = {r["role"] for r in everything}
    assert {"feature", "cohort", "audit"} <= roles
    assert any(
        r["name"] == "education_level" and r["role"] == "audit" for r in everything
    )
    markdown = render_catalogue_markdown(rows)
    assert (
        markdown.startswith("# Feature catalogue")
        and "| days_since_hba1c |" in markdown
    )


def test_model_card_monitoring_section(tmp_path) -> None:
    from reports.model_card import latest_monitoring

    def write(week: str, uri: str, verdict: str) -> None:
        folder = tmp_path / "reports" / "diabetes_bus" / "monitoring" / week
        folder.mkdir(parents=True)
        alerts = [{"message": "hba1c_last_mmol_mol: population stability index 0.49"}]
        report = {
            "context": {"programme": "diabetes_bus", "week": week, "model_uri": uri},
            "verdict": verdict,
            "alerts": alerts if verdict == "alert" else [],
        }
        (folder / "monitoring.json").write_text(json.dumps(report), encoding="utf-8")

    write("2026-W47", "models:/diabetes_harm_365d/4", "alert")
    write("2026-W48", "models:/diabetes_harm_365d/5", "ok")
    found = latest_monitoring(tmp_path, model_uri="models:/diabetes_harm_365d/4")
    assert found is not None and found["context"]["week"] == "2026-W47"
    card = build_model_card(META, outcome_contract=OUTCOME, monitoring=found)
    section = card.sections["monitoring"]
    assert (section["verdict"], section["week"]) == ("alert", "2026-W47")
    assert section["alerts"] == ["hba1c_last_mmol_mol: population stability index 0.49"]
    paths = write_model_card(card, tmp_path / "card")
    assert "hba1c_last_mmol_mol: population stability index 0.49" in paths.markdown.read_text(
        encoding="utf-8"
    )
    empty = build_model_card(META, outcome_contract=OUTCOME).sections["monitoring"]
    assert empty == {"available": False, "note": "This version has not been monitored yet."}


def test_model_card_says_what_the_label_check_could_not_see() -> None:
    from reports.model_card import _limitations

    blind = (
        "The label check raised no flag, which does not show that the outcome is "
        "recorded alike: at this region's counts it could have seen a recording gap "
        "only if ... under 0.44 times the rate of ..."
    )
    audit = {"flags": [], "summary": ["The list holds 40.", blind]}
    items = _limitations(audit, {})
    assert items[-1] == f"From the latest audit: {blind}"
    # A flag is reported instead; no audit adds nothing.
    flagged = {
        "flags": [{"code": "label_ascertainment", "message": "basic may be ..."}],
        "summary": [blind],
    }
    assert "under-recorded in 1 group(s)" in _limitations(flagged, {})[-1]
    assert len(_limitations(None, {})) == len(items) - 1
