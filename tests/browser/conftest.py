"""Fixtures for the browser tests: a served app on loopback and Debian's Chromium.

The region (3,000 citizens, Danish reasons, a frozen diabetes_bus list for
2026-W48 and its fairness audit) is built once per module by
:mod:`bench.web_world`; uvicorn serves :func:`outreach.app.web.create_app` from a
thread on 127.0.0.1 and a free port. Playwright drives ``/usr/bin/chromium``
(installed by ``.ci/run`` from Debian's packages; never ``playwright install``);
without it, or without playwright, every test here is skipped.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"
NOW = datetime(2026, 11, 27, 9, 0, 0)
USERS: dict[str, dict[str, Any]] = {
    "anna": {
        "role": "coordinator",
        "programmes": ["diabetes_bus"],
        "municipalities": ["390", "376"],
    },
    "rita": {"role": "reviewer"},
    "cora": {
        "role": "coordinator",
        "programmes": ["diabetes_bus"],
        "municipalities": ["390"],
    },
    "ada": {"role": "admin"},
    "dan": {"role": "data_scientist"},
}
#: Set to a folder (e.g. docs/img) to keep the README screenshots there.
SCREENSHOTS_ENV = "OPSPOR_SCREENSHOTS"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _users(path: Path) -> None:
    """Write the test users with cheap argon2 parameters (same algorithm)."""
    from argon2 import PasswordHasher

    from outreach.app.users import JsonUserStore, new_user

    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    store = JsonUserStore(path)
    for name, spec in USERS.items():
        user = new_user(name, password=PASSWORD, **spec)
        store.insert_user(dataclasses.replace(user, password_hash=cheap.hash(PASSWORD)))


def _world(out: Path) -> Any:
    """Build the region, the W48 list and its fairness audit under ``out``."""
    from bench.web_world import build_web_world
    from features.settings import EngineSettings
    from reports.audit import run_audit

    settings = EngineSettings(output_dir=out, db_path=out / "opspor.duckdb")
    build_web_world(settings.warehouse, 3000)
    run_audit(settings, programme="diabetes_bus", k=40, week="2026-W48",
              municipalities=["390", "376", "360"])  # fmt: skip
    _users(out / "users.json")
    return settings


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed"
    )
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def served(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimpleNamespace]:
    """The app on 127.0.0.1:<free port> in a thread, over a fresh world."""
    import uvicorn

    from outreach.app.web import create_app

    out = tmp_path_factory.mktemp("browser-world")
    settings = _world(out)
    app = create_app(settings, secret_key="b" * 40, clock=lambda: NOW)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web app did not start on loopback")
        time.sleep(0.05)
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{port}", app=app, settings=settings, out=out
    )
    server.should_exit = True
    thread.join(timeout=10)
    app.state.opspor.warehouse.close()


@pytest.fixture
def page(browser: Any, served: SimpleNamespace) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, 1200x800."""
    context = browser.new_context(
        viewport={"width": 1200, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def password() -> str:
    """The test users' password."""
    return PASSWORD


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``$OPSPOR_SCREENSHOTS`` if set, else a temp folder."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
