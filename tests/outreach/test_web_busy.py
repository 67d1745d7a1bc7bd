"""Busy, not broken: the app never holds the embedded warehouse between requests.

The app is served by uvicorn on 127.0.0.1 (a thread of this process); the
writers run as separate processes, as ``opspor weekly`` or ``opspor list`` do
on a Monday, because DuckDB's file lock only separates processes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

WEEK = "2026-W48"  # the web warehouse's frozen diabetes_bus list (conftest)
_CLI = "import sys; from outreach.app.cli import app; sys.argv[0] = 'opspor'; app()"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(web_settings: Any, web: Any) -> Iterator[str]:
    import uvicorn

    from outreach.app.web import create_app

    app = create_app(web_settings, secret_key="s" * 40, clock=lambda: web.NOW)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@contextmanager
def _held(warehouse: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the warehouse open (as a long write would).

    It holds until it is killed on leaving the block, never for a fixed time: on
    a loaded machine two CLI processes can take longer than any fixed hold.
    """
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
        " print('held', flush=True); time.sleep(3600)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(warehouse)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            yield holder
        finally:
            holder.kill()


def _opspor(settings: Any, *args: str, lock_wait: str = "10") -> Any:
    env = {
        **os.environ,
        "OPSPOR_OUTPUT_DIR": str(settings.output_dir),
        "OPSPOR_LOCK_WAIT": lock_wait,
    }
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


def test_list_is_regenerated_while_the_app_serves(
    served: str, web_settings, web
) -> None:
    assert web.WEEK == WEEK
    with httpx.Client(base_url=served) as client:
        assert web.sign_in(client, "anna").status_code == 303
        assert client.get(f"/lists/diabetes_bus/{WEEK}").status_code == 200
        done = _opspor(
            web_settings,
            "list",
            "--programme",
            "diabetes_bus",
            "--week",
            WEEK,
            "--model-uri",
            web.MODEL_URI,
            "--regenerate",
            "--reason",
            "written while the app serves",
            "--db",
            str(web_settings.warehouse),
            "--json",
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "regenerated"
        page = client.get(f"/lists/diabetes_bus/{WEEK}")
        assert page.status_code == 200
        assert json.loads(done.stdout)["list_id"] in page.text


def test_app_answers_503_while_another_process_holds_the_warehouse(
    served: str, web_settings, web, monkeypatch
) -> None:
    monkeypatch.setenv("OPSPOR_LOCK_WAIT", "0.2")
    with _held(web_settings.warehouse), httpx.Client(base_url=served) as client:
        response = client.get("/signin")  # no warehouse needed
        assert response.status_code == 200
        assert web.sign_in(client, "anna").status_code == 303
        busy = client.get(f"/lists/diabetes_bus/{WEEK}")
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "30"


def test_cli_prints_one_line_when_the_warehouse_is_busy(web_settings) -> None:
    with _held(web_settings.warehouse) as holder:
        args = ["list", "--programme", "diabetes_bus", "--week", WEEK]
        args += ["--db", str(web_settings.warehouse)]
        text = _opspor(web_settings, *args, lock_wait="0.2")
        as_json = _opspor(web_settings, *args, "--json", lock_wait="0.2")
    expected = (
        f"WarehouseBusyError: {web_settings.warehouse} is in use by another process "
        f"(PID {holder.pid}); try again when it has finished (a load, the weekly "
        "job, or the web app on the embedded store).\n"
    )
    assert (text.returncode, text.stdout, text.stderr) == (1, "", expected)
    assert as_json.returncode == 1
    [line] = as_json.stdout.splitlines()
    body = json.loads(line)
    assert (body["status"], body["error"]) == ("error", "WarehouseBusyError")
    assert body["message"] == expected.split(": ", 1)[1].rstrip("\n")
    assert "Traceback" not in as_json.stderr
