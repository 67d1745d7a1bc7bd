from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from features.errors import ConfigError
from outreach.list_audit import append_event, export_audit_log
from outreach.lists import build_weekly_list, read_list, view_list
from outreach.recording import record_contacts


def test_audit_log_records_every_step_without_person_data(
    region, make_programme, upstream, tmp_path: Path
) -> None:
    plan = make_programme()
    made = build_weekly_list(
        region, plan, week=upstream.WEEK, actor="anna", output_dir=tmp_path
    )
    build_weekly_list(
        region,
        plan,
        week=upstream.WEEK,
        actor="anna",
        output_dir=tmp_path,
        formats=("csv",),
    )
    view_list(region, plan, upstream.WEEK, actor="bo")
    ids = read_list(region, made.list_id)["citizen_id"].tolist()
    record_contacts(
        region,
        programme="test_bus",
        week=upstream.WEEK,
        actor="carl",
        today=date(2026, 11, 27),
        entries=[
            {"citizen_id": ids[0], "outcome": "reached", "outcome_date": "2026-11-24"}
        ],
    )
    build_weekly_list(
        region,
        plan,
        week=upstream.WEEK,
        regenerate=True,
        reason="data fix",
        actor="dora",
    )
    exported = export_audit_log(region, tmp_path / "audit.json", programme="test_bus")
    events = [(e["event"], e["actor"]) for e in exported.events]
    assert events == [
        ("generated", "anna"),
        ("exported", "anna"),
        ("exported", "anna"),
        ("viewed", "bo"),
        ("recorded", "carl"),
        ("regenerated", "dora"),
    ]
    first = exported.events[0]
    assert (
        first["model_uri"] == upstream.MODEL_URI and first["extract_hash"] == "hash-abc"
    )
    assert first["counts"]["listed"] == 12 and first["list_id"] == made.list_id
    text = (tmp_path / "audit.json").read_text(encoding="utf-8")
    assert json.loads(text)[-1]["counts"]["reason"] == "data fix"
    assert not any(citizen in text for citizen in ids)


def test_export_audit_log_csv_and_bad_suffix(region, tmp_path: Path) -> None:
    append_event(
        region,
        "viewed",
        actor="eve",
        programme="p",
        week="2026-W48",
        list_id="p-2026-W48-r1",
    )
    result = export_audit_log(region, tmp_path / "audit.csv")
    assert result.n_events == 1
    assert (
        (tmp_path / "audit.csv")
        .read_text(encoding="utf-8")
        .startswith("event,actor,at,programme")
    )
    with pytest.raises(ConfigError) as error:
        export_audit_log(region, tmp_path / "audit.xlsx")
    assert (
        str(error.value) == "The audit log can be exported as csv or json, not '.xlsx'."
    )


def test_append_event_refuses_unknown_event(con) -> None:
    with pytest.raises(ConfigError) as error:
        append_event(con, "deleted", actor="x")
    assert str(error.value) == (
        "Unknown audit event 'deleted'; expected one of "
        "('generated', 'regenerated', 'viewed', 'exported', 'recorded', "
        "'signed_off', 'user_added', 'user_disabled', 'user_enabled', "
        "'password_reset', 'scope_changed', 'password_changed', 'corrected', "
        "'retracted', 'opt_out_added', 'opt_out_withdrawn')."
    )
