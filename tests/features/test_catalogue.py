"""The feature catalogue, generated from the contract files."""

from __future__ import annotations

import json
from pathlib import Path

from features.catalogue import (
    audit_catalogue,
    broad_catalogue,
    build_catalogue,
    feature_reasons,
    write_catalogue,
)
from features.checks import load_contract


def test_build_catalogue_lists_every_feature_and_cohort_flag_of_the_mart() -> None:
    entries = build_catalogue()
    mart = load_contract("marts/scoring_features.yml")
    roles = ("feature", "context", "cohort")
    expected = [c["name"] for c in mart.columns if c.get("role") in roles]
    assert sorted(e["name"] for e in entries) == sorted(expected)
    views = list(dict.fromkeys(e["view"] for e in entries))
    parents = [p.split("/")[1] for p in mart.body["inherits"]]
    assert views == [*parents, "scoring_features"]
    pinned = {
        "is_alive_resident",
        "has_diabetes",
        "diabetes_type",
        "diabetes_entry_date",
        "has_smi",
        "has_copd",
        "has_heart_disease",
        "has_cancer",
        "has_chronic_back_pain",
        "n_chronic_groups",
    }
    assert pinned <= {e["name"] for e in entries if e["role"] == "cohort"}


def test_build_catalogue_entries_carry_window_source_unit_and_reasons() -> None:
    unredeemed = next(
        e for e in build_catalogue() if e["name"] == "n_unredeemed_glucose_lowering_90d"
    )
    assert unredeemed == {
        "name": "n_unredeemed_glucose_lowering_90d",
        "role": "feature",
        "view": "feat_adherence",
        "description": (
            "Unredeemed glucose-lowering prescriptions (A10) issued in the last"
            " 90 days."
        ),
        "window": "90d",
        "source_table": "raw.prescriptions",
        "unit": "prescriptions",
        "reason": {
            "da": "{value} uindløste recepter på diabetesmedicin de seneste 90 dage",
            "en": "{value} unredeemed diabetes prescriptions in the last 90 days",
        },
        "reason_one": {
            "da": "1 uindløst recept på diabetesmedicin de seneste 90 dage",
            "en": "1 unredeemed diabetes prescription in the last 90 days",
        },
        "reason_missing": {},
        "reason_by_value": {},
    }


def test_feature_reasons_cover_features_and_worded_cohort_columns() -> None:
    reasons = feature_reasons()
    roles = {e["name"]: e["role"] for e in build_catalogue()}
    assert "has_diabetes" not in reasons
    assert not [n for n in reasons if roles[n] == "context"]
    # Cohort columns some models rank with carry their reasons in the contract.
    assert reasons["diabetes_type"]["reason_by_value"]["type1"] == {
        "da": "Type 1-diabetes",
        "en": "Type 1 diabetes",
    }
    assert reasons["has_smi"] == {
        "unit": "boolean",
        "reason": {"da": "Svær psykisk sygdom", "en": "Severe mental illness"},
        "reason_one": {},
        "reason_missing": {},
        "reason_by_value": {},
    }
    assert reasons["n_chronic_groups"]["reason"]["en"] == (
        "{value} chronic disease groups"
    )
    assert reasons["days_since_eye_screening"]["reason_missing"]["en"] == (
        "No eye screening ever recorded"
    )
    assert reasons["n_unredeemed_365d"]["reason"]["da"].format(value=3) == (
        "3 uindløste recepter det seneste år"
    )


def test_audit_catalogue_lists_the_audit_attributes_only() -> None:
    entries = audit_catalogue()
    names = [e["name"] for e in entries]
    assert names[:2] == ["sex", "age_band"]
    assert {"education_level", "origin", "gp_contact_level"} <= set(names)
    assert {e["role"] for e in entries} == {"audit"}
    assert {e["view"] for e in entries} == {"audit_attributes"}
    assert not any(e["reason"] or e["reason_by_value"] for e in entries)


def test_write_catalogue_writes_markdown_and_json(tmp_path: Path) -> None:
    files = write_catalogue(tmp_path / "cat")
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert len(data) == files.n_entries == len(build_catalogue() + broad_catalogue())
    text = files.markdown.read_text(encoding="utf-8")
    assert text.startswith("# Opspor feature catalogue")
    assert "## feat_adherence" in text
    assert "| n_unredeemed_glucose_lowering_90d | feature |" in text
    assert sorted(p.name for p in (tmp_path / "cat").iterdir()) == [
        "feature_catalogue.json",
        "feature_catalogue.md",
    ]


def test_broad_catalogue_lists_every_family_and_window() -> None:
    entries = broad_catalogue()
    assert {e["role"] for e in entries} == {"broad_family"}
    names = [e["name"] for e in entries]
    assert "atc4_<atc level 4, e.g. a10ba>_365d" in names
    assert "sks_<icd-10 category, e.g. de11>_ever" in names
    assert "npu<number>_days_since" in names
    assert "hosp_diabetes_admission_ever" in names and "psych_contact_365d" in names
    for e in entries:
        assert e["window"] and e["source_table"] and e["unit"] and e["description"]
        assert set(e["reason"]) == {"da", "en"}


def test_write_catalogue_lists_the_broad_families(tmp_path: Path) -> None:
    files = write_catalogue(tmp_path / "cat")
    text = files.markdown.read_text(encoding="utf-8")
    assert "## broad_covariates" in text
    assert "| psych_contact_365d | broad_family |" in text
