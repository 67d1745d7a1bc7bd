"""Crash tests: ``opspor list --regenerate`` killed at several points.

Uses the one harness of the crash tests (tests/crash_harness.py). Afterwards
the programme's week has exactly one frozen run, the old list or the new one,
with all of its rows; the exports on disk are whole files.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from features.staging import stale_staging_folders
from tests.crash_harness import expected_returncode, run_killed

KILL, TERM = signal.SIGKILL, signal.SIGTERM
# (point, signal, new list committed?)
LIST_POINTS = [
    ("outreach.lists:_choose", KILL, False),
    ("outreach.app.store.store:OperationalStore.save_list", TERM, False),
    ("outreach.lists:sync_to_warehouse", KILL, True),
    ("outreach.lists:export_list", KILL, True),
]


def _frozen(warehouse: Path) -> tuple[str, int, int]:
    """The frozen run of diabetes_bus 2026-W48: id, rows stored, rows it counts."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute(
            "select list_id, counts from outreach.list_runs"
            " where programme = 'diabetes_bus' and week = '2026-W48'"
            " and status = 'frozen'"
        ).fetchall()
        assert len(runs) == 1
        list_id, counts = runs[0]
        n_rows = con.execute(
            "select count(*) from outreach.lists where list_id = $l", {"l": list_id}
        ).fetchone()[0]
    return str(list_id), int(n_rows), int(json.loads(counts)["listed"])


@pytest.mark.parametrize(("point", "sig", "committed"), LIST_POINTS)
def test_killed_list_leaves_one_whole_frozen_list(
    web_settings: Any, web: Any, point: str, sig, committed: bool
) -> None:
    old_id, old_rows, old_listed = _frozen(web_settings.warehouse)
    assert old_rows == old_listed
    args = ["list", "--programme", "diabetes_bus", "--week", web.WEEK]
    args += ["--model-uri", web.MODEL_URI, "--regenerate", "--reason", "crash test"]
    args += ["--db", str(web_settings.warehouse)]
    env = {"OPSPOR_OUTPUT_DIR": str(web_settings.output_dir)}
    done = run_killed(point, sig, args, env=env)
    assert done.returncode == expected_returncode(sig), done.stderr
    list_id, n_rows, listed = _frozen(web_settings.warehouse)
    assert (list_id != old_id) is committed
    assert n_rows == listed
    assert stale_staging_folders(web_settings.warehouse) == []
    folder = web_settings.output_dir / "lists" / "diabetes_bus"
    assert list(folder.glob(".*.tmp")) == []  # exports are whole files or absent
