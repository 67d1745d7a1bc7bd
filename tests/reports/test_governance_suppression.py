"""The governance pack's audit-log summary suppresses rare events, with a complement."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from features.settings import EngineSettings
from reports.governance import summarise_audit_log


def _log(path: Path, counts: dict[str, int]) -> None:
    start = datetime(2026, 11, 23, 8)
    rows = [
        {
            "event": event,
            "actor": f"user{i % 3}",
            "at": start + timedelta(minutes=i),
            "programme": "bus",
            "week": "2026-W48",
            "list_id": "bus-2026-W48-r1",
        }
        for event, n in counts.items()
        for i in range(n)
    ]
    con = duckdb.connect(str(path))
    con.execute("create schema outreach")
    con.register("rows", pd.DataFrame(rows))
    con.execute("create table outreach.audit_log as select * from rows")
    con.close()


def test_summarise_audit_log_suppresses_a_rare_event_and_its_complement(
    tmp_path: Path,
) -> None:
    settings = EngineSettings(output_dir=tmp_path)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    _log(
        settings.warehouse,
        {"generated": 40, "viewed": 25, "exported": 12, "recorded": 3},
    )
    rows = {r["event"]: r for r in summarise_audit_log(settings, programme="bus")}
    assert rows["recorded"]["suppressed"] and rows["recorded"]["n_events"] is None
    # 80 events in all would give 'recorded' away from the other three: the next
    # rarest ('exported', 12) is suppressed with it.
    assert rows["exported"]["suppressed"] and rows["exported"]["n_actors"] is None
    assert rows["viewed"]["n_events"] == 25 and not rows["viewed"]["suppressed"]
    assert rows["generated"]["n_events"] == 40


def test_summarise_audit_log_nothing_small_nothing_suppressed(tmp_path: Path) -> None:
    settings = EngineSettings(output_dir=tmp_path)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    _log(settings.warehouse, {"generated": 10, "viewed": 11})
    rows = summarise_audit_log(settings, programme="bus")
    assert [r["suppressed"] for r in rows] == [False, False]
