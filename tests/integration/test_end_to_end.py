"""The whole main job through the CLI on a small synthetic region.

synth -> load -> train -> weekly (score, explain, list, audit) -> record -> next
week -> audit --model -> card -> governance-pack, checking exit codes, files,
the pandera contracts of the output tables and what reached MLflow.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from models.spec import load_spec
from outreach.app.cli import app
from tests.models.conftest import fewer_rounds

runner = CliRunner()


def _ok(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["--json", *args])
    assert result.exit_code == 0, (args, result.output)
    payload: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return payload


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    mp.setenv("OPSPOR_OUTPUT_DIR", str(tmp / "build"))
    mp.delenv("OPSPOR_DB", raising=False)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.delenv("OPSPOR_OPERATIONAL_DB", raising=False)
    messages: list[str] = []
    handler = _Collect(messages)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        extract = tmp / "extract"
        _ok("synth", "--profile", "region_small", "--out", str(extract), "--format", "parquet")
        loaded = _ok("load", str(extract))
        # The shipped spec with 120 boosting rounds and 30 validation draws, as a
        # spec file named like it (`opspor train` takes a name or a path): no
        # assertion here reads the model's quality.
        spec = tmp / "specs" / "diabetes_harm_365d.toml"
        spec.parent.mkdir()
        spec.write_text(
            fewer_rounds(load_spec("diabetes_harm_365d")).to_toml(), encoding="utf-8"
        )
        trained = _ok("train", str(spec))
        week1 = _ok("weekly", "--programme", "diabetes_bus", "--week", "2026-W48")
        yield {
            "root": tmp, "loaded": loaded, "trained": trained, "week1": week1,
            "log": messages,
        }
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        mp.undo()


class _Collect(logging.Handler):
    """Keep every log message (all levels) emitted while the pipeline runs."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


@pytest.mark.slow
def test_weekly_writes_a_valid_list_within_capacity(region: dict[str, Any]) -> None:
    from models.score import Scores
    from outreach.lists import WeeklyList

    week1 = region["week1"]
    assert region["loaded"]["status"] == "loaded"
    assert 0 < week1["counts"]["listed"] <= 40
    for path in week1["paths"].values():
        assert Path(path).exists()
    con = duckdb.connect(str(region["root"] / "build" / "opspor.duckdb"), read_only=True)
    try:
        scores = con.execute(
            "select * from scoring.scores where model_uri = $m and as_of_date = $d",
            {"m": week1["model_uri"], "d": week1["as_of_date"]},
        ).df()
        rows = con.execute(
            "select * from outreach.lists where list_id = $l", {"l": week1["list_id"]}
        ).df()
        opted = {
            r[0]
            for r in con.execute(
                "select citizen_id from raw.citizens where outreach_opt_out"
                " or death_date is not null or emigration_date is not null"
            ).fetchall()
        }
    finally:
        con.close()
    Scores.validate(scores)
    WeeklyList.validate(rows)
    assert len(rows) == week1["counts"]["listed"]
    assert not set(rows["citizen_id"]) & opted


@pytest.mark.slow
def test_recorded_opt_out_is_honoured_next_week(region: dict[str, Any]) -> None:
    week1 = region["week1"]
    con = duckdb.connect(str(region["root"] / "build" / "opspor.duckdb"), read_only=True)
    try:
        ids = [
            r[0]
            for r in con.execute(
                "select citizen_id from outreach.lists where list_id = $l order by rank",
                {"l": week1["list_id"]},
            ).fetchall()
        ]
    finally:
        con.close()
    common = ["--programme", "diabetes_bus", "--week", "2026-W48", "--date", "2026-11-24"]
    _ok("record", *common, "--citizen", ids[0], "--outcome", "screened")
    _ok("record", *common, "--citizen", ids[1], "--outcome", "declined", "--opt-out")
    week2 = _ok("weekly", "--programme", "diabetes_bus", "--week", "2026-W49")
    con = duckdb.connect(str(region["root"] / "build" / "opspor.duckdb"), read_only=True)
    try:
        listed = {
            r[0]
            for r in con.execute(
                "select citizen_id from outreach.lists where list_id = $l",
                {"l": week2["list_id"]},
            ).fetchall()
        }
    finally:
        con.close()
    assert ids[1] not in listed
    assert ids[0] not in listed  # contacted two days ago: suppressed, not forgotten


@pytest.mark.slow
def test_model_audit_card_and_governance_pack(region: dict[str, Any]) -> None:
    test_date = region["trained"]["test_date"]
    _ok("score", "--model", "diabetes_harm_365d", "--as-of", test_date)
    audit = _ok(
        "audit", "--programme", "diabetes_bus", "--model", "diabetes_harm_365d@1",
        "--as-of", test_date,
    )
    assert audit["n_observed"] > 0
    card = _ok("card", "--model", "diabetes_harm_365d@1")
    pack = _ok("governance-pack", "--programme", "diabetes_bus")
    written = [Path(p) for p in (audit["html"], card["html"], pack["index"])]
    assert all(p.exists() for p in written)
    ids = _citizen_ids(region["root"] / "build" / "opspor.duckdb")
    for folder in {p.parent for p in written}:
        for file in folder.rglob("*"):
            if file.suffix in {".html", ".json", ".md"}:
                text = file.read_text(encoding="utf-8")
                assert not [i for i in ids if i in text], file


def _citizen_ids(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute("select citizen_id from raw.citizens").fetchall()]
    finally:
        con.close()


@pytest.mark.slow
def test_logs_hold_no_citizen_id(region: dict[str, Any]) -> None:
    ids = set(_citizen_ids(region["root"] / "build" / "opspor.duckdb"))
    assert region["log"], "the pipeline logged nothing at DEBUG: the check would be empty"
    leaked = [m for m in region["log"] if any(i in m for i in ids)]
    assert leaked == []


@pytest.mark.slow
def test_weekly_runs_the_monitor_and_monitor_fails_on_alert(
    region: dict[str, Any],
) -> None:
    week1 = region["week1"]
    assert week1["monitor_verdict"] in {"ok", "alert"}
    html = Path(week1["monitor_html"])
    report = json.loads((html.parent / "monitoring.json").read_text(encoding="utf-8"))
    assert report["schema"] == "opspor-monitoring/1"
    assert report["inputs"]["reference_source"] == "logged at training (MLflow)"
    assert report["inputs"]["n_scored"] > 0
    assert len(report["alerts"]) == week1["monitor_alerts"]
    ids = _citizen_ids(region["root"] / "build" / "opspor.duckdb")
    for file in (html, html.parent / "monitoring.json"):
        text = file.read_text(encoding="utf-8")
        assert not [i for i in ids if i in text], file
    strict = region["root"] / "strict.toml"
    strict.write_text("[thresholds]\nmax_psi = 0.0001\n", encoding="utf-8")
    args = ["monitor", "--programme", "diabetes_bus", "--week", "2026-W48"]
    result = runner.invoke(app, [*args, "--config", str(strict), "--fail-on-alert"])
    assert result.exit_code == 3, result.output
    assert "ALERT" in result.output


@pytest.mark.slow
def test_citizen_listed_twice_with_an_opt_out_is_never_listed(
    region: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 14's example: a second copy of a listed citizen opts out; it must win."""
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    db = region["root"] / "build" / "opspor.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        listed = [
            r[0]
            for r in con.execute(
                "select l.citizen_id from outreach.lists as l"
                " join outreach.list_runs as r using (list_id)"
                " where r.status = 'frozen' and l.citizen_id not in"
                " (select citizen_id from outreach.contacts)"
                " order by r.week desc, l.rank"
            ).fetchall()
        ]
    finally:
        con.close()
    target = listed[0]
    damaged = tmp_path / "damaged"
    shutil.copytree(region["root"] / "extract", damaged)
    citizens = pq.read_table(damaged / "citizens.parquet")
    twin = citizens.filter(pc.equal(citizens["citizen_id"], target))
    index = twin.schema.get_field_index("outreach_opt_out")
    twin = twin.set_column(
        index, "outreach_opt_out", pa.array([True], twin.schema.field(index).type)
    )
    pq.write_table(pa.concat_tables([citizens, twin]), damaged / "citizens.parquet")
    loaded = _ok("load", str(damaged))
    assert loaded["tables"]["citizens"]["quarantine_reasons"] == {
        "conflicting_duplicate": 1
    }
    week = _ok("weekly", "--programme", "diabetes_bus", "--week", "2026-W50")
    con = duckdb.connect(str(db), read_only=True)
    try:
        now_listed = {
            r[0]
            for r in con.execute(
                "select citizen_id from outreach.lists where list_id = $l",
                {"l": week["list_id"]},
            ).fetchall()
        }
    finally:
        con.close()
    assert target not in now_listed
    assert week["counts"]["excluded"]["opt_out"] >= 1


# --- the Monday job while the app serves (issue 14: busy, not broken) ----------

_CLI = "import sys; from outreach.app.cli import app; sys.argv[0] = 'opspor'; app()"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_PASSWORD = "correct-horse-battery"


def _coordinator(path: Path) -> Path:
    """A users file with one coordinator of diabetes_bus (cheap argon2 parameters)."""
    from argon2 import PasswordHasher

    from outreach.app.users import JsonUserStore, new_user

    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    user = new_user(
        "anna",
        role="coordinator",
        password=_PASSWORD,
        programmes=["diabetes_bus"],
        municipalities=["390", "376", "360"],
    )
    store = JsonUserStore(path)
    store.insert_user(dataclasses.replace(user, password_hash=cheap.hash(_PASSWORD)))
    return path


@contextmanager
def _serving(db: Path, users: Path) -> Iterator[str]:
    """Serve the app on the embedded store from a thread, on 127.0.0.1 only."""
    import uvicorn

    from features.settings import EngineSettings
    from outreach.app.web import create_app

    settings = EngineSettings(output_dir=db.parent, db_path=db)
    app = create_app(settings, users_file=users, secret_key="s" * 40,
                     clock=lambda: datetime(2026, 11, 27, 9))  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _sign_in(client: httpx.Client) -> None:
    match = _CSRF.search(client.get("/signin").text)
    assert match
    form = {"username": "anna", "password": _PASSWORD, "csrf_token": match.group(1)}
    assert client.post("/signin", data=form).status_code == 303


@pytest.mark.slow
def test_weekly_succeeds_while_the_app_serves_the_embedded_store(
    region: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real Monday job in another process; pages answer 200 or 503, never 500."""
    db = region["root"] / "build" / "opspor.duckdb"
    monkeypatch.setenv("OPSPOR_LOCK_WAIT", "0.5")  # the app's requests
    pages = ["/lists", "/lists/diabetes_bus/2026-W48"]
    seen: list[tuple[int, str | None]] = []
    with (
        _serving(db, _coordinator(tmp_path / "users.json")) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        _sign_in(client)
        job = subprocess.Popen(
            [sys.executable, "-c", _CLI, "--json", "weekly", "--programme",
             "diabetes_bus", "--week", "2026-W47"],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OPSPOR_LOCK_WAIT": "60"},
            cwd=Path(__file__).resolve().parents[2],
        )
        deadline = time.monotonic() + 600
        try:
            while job.poll() is None and len(seen) < 5000:
                assert time.monotonic() < deadline, "weekly did not finish in 600 s"
                page = client.get(pages[len(seen) % 2])
                seen.append((page.status_code, page.headers.get("Retry-After")))
                time.sleep(0.5)  # a busy coordinator's pace; faster starves the job
            out, err = job.communicate(timeout=600)
        finally:
            job.kill()
        assert job.returncode == 0, err
        done = json.loads(out.strip().splitlines()[-1])
        listed = client.get("/lists/diabetes_bus/2026-W47")
    assert (done["week"], done["list_status"]) == ("2026-W47", "generated")
    assert listed.status_code == 200 and done["list_id"] in listed.text
    assert 200 in {code for code, _ in seen}, "no page was served while the job ran"
    assert {code for code, _ in seen} <= {200, 503}, seen
    assert all(after == "30" for code, after in seen if code == 503), seen
