"""Load check of the web app: 20 coordinators browsing and recording for one minute.

Usage::

    python -m bench.bench_web --citizens 1000000 --seconds 60

Builds a region of N citizens (:mod:`bench.web_world`: scores, Danish reasons,
the frozen diabetes_bus list of 2026-W48) and adds 20 coordinator users with
real argon2 hashes. Then, twice, it starts ``opspor serve`` on 127.0.0.1 and a
free port and runs 20 concurrent coordinators against it for ``--seconds``:

- embedded: the operational tables in the DuckDB warehouse, one app process;
- postgresql: ``OPSPOR_OPERATIONAL_DB`` set (a fresh database on the server of
  ``$OPSPOR_TEST_POSTGRES``, as ``.ci/run`` starts it on loopback), four app
  processes (``opspor serve --workers 4``). Skipped when no server answers.

Each coordinator signs in once (not timed), then loops: open the week's list,
open a citizen's reasons, record an outcome (a random citizen, outcome and
date of the week; the POST and the page it redirects to), every fifth round
upload a record sheet of two rows (the upload, its preview and the
all-or-nothing commit), every tenth round download the Excel file and ask for
the week's list to be generated (the frozen list comes back unchanged through
the same stage as a first generation); the rounds are staggered between
coordinators, so each kind happens from the first round on. The last
coordinator regenerates the list with a reason in its first round and every
twentieth after (a new revision; records and uploads then go to the new list,
an upload started before it is refused). Every request's
latency is kept. After the minute the server is stopped and the store is read
back: every outcome a coordinator was told was recorded (one at a time or in
an uploaded sheet) must be there, exactly once per list, and every (citizen,
outcome, date) attempted must be stored (a repeat is answered "already
recorded", never lost). Traffic goes to 127.0.0.1 only; the loops stop by
themselves after ``--seconds``.

Writes requests per second, p50/p95/p99 latency per request kind and the
lost-write check to ``bench/results/web.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx

from bench.web_world import WEEK, build_web_world

COORDINATORS = 20
PASSWORD = "bench-coordinator-password"
AREAS = ("390", "376", "360")
OUTCOMES = ("reached", "screened", "declined", "unreachable", "wrong_contact_data")
LIST = f"/lists/diabetes_bus/{WEEK}"
WEEK_START = date(2026, 11, 23)
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:54329/postgres"
_BENCH_CONTACTS = (
    " where recorded_by like 'bench__' and list_id like 'diabetes_bus-2026-W48-%'"
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CITIZEN = re.compile(r'/citizens/([^"]+)"')
#: Four workers importing the app on two busy cores take about a minute.
START_SECONDS = 180
UPLOAD_EVERY = 5
GENERATE_EVERY = 10
REGENERATE_EVERY = 20
#: What the page after a generation says (Danish interface), by outcome.
_GENERATED = {
    "dannet igen": "regenerated",
    "fandtes allerede": "frozen_returned",
    "er dannet": "generated",
}


@dataclass
class Tally:
    """Latencies per request kind and what the coordinators were told."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    saved: list[tuple[str, str, str]] = field(default_factory=list)
    repeats: list[tuple[str, str, str]] = field(default_factory=list)
    uploaded: list[tuple[str, str, str]] = field(default_factory=list)
    uploads_refused: int = 0
    generations: dict[str, int] = field(default_factory=dict)
    refused: int = 0

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _users(store: Any) -> None:
    """Twenty coordinators of diabetes_bus, each seeing all three municipalities."""
    from outreach.app.users import add_user

    for i in range(1, COORDINATORS + 1):
        add_user(
            store,
            f"bench{i:02d}",
            role="coordinator",
            password=PASSWORD,
            programmes=["diabetes_bus"],
            municipalities=list(AREAS),
        )


@contextmanager
def _server(out: Path, db: Path, workers: int, env: dict[str, str]) -> Iterator[str]:
    """``opspor serve`` on 127.0.0.1:<free port> in a child process group."""
    port = _free_port()
    exe = Path(sys.executable).with_name("opspor")
    args = [
        str(exe),
        "--output-dir",
        str(out),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--db",
        str(db),
    ]
    proc = subprocess.Popen(
        args,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                said = proc.stderr.read() if proc.poll() is not None else b"(running)"
                raise RuntimeError(f"the app did not start: {said.decode()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def _sign_in(client: httpx.AsyncClient, name: str) -> None:
    page = await client.get("/signin")
    token = _CSRF.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = await client.post(
        "/signin",
        data={"username": name, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"{name} could not sign in: {answer.status_code}")


async def _timed(tally: Tally, kind: str, call: Any) -> httpx.Response:
    start = time.perf_counter()
    response: httpx.Response = await call
    tally.add(kind, time.perf_counter() - start, response.status_code < 400)
    return response


async def _coordinator(
    url: str, name: str, stop_at: float, tally: Tally, seed: int
) -> None:
    rng = random.Random(seed)
    days = max(1, min((date.today() - WEEK_START).days + 1, 7))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await _sign_in(client, name)
        rounds = 0
        while time.monotonic() < stop_at:
            rounds += 1
            page = await _timed(tally, "list", client.get(LIST))
            citizens = _CITIZEN.findall(page.text)
            if not citizens:
                continue
            citizen = rng.choice(citizens)
            path = f"{LIST}/citizens/{citizen}"
            shown = await _timed(tally, "citizen", client.get(path))
            token = _CSRF.findall(shown.text)[-1]
            triple = (
                citizen,
                rng.choice(OUTCOMES),
                str(WEEK_START + timedelta(days=rng.randrange(days))),
            )
            data = {
                "csrf_token": token,
                "outcome": triple[1],
                "outcome_date": triple[2],
            }
            posted = await _timed(tally, "record", client.post(path, data=data))
            after = await _timed(
                tally, "record_page", client.get(posted.headers.get("location", path))
            )
            _tell(tally, after.text, triple)
            turn = rounds + seed  # staggered: some coordinators upload in round 1
            if turn % UPLOAD_EVERY == 0:
                await _upload(client, tally, token, _triples(rng, citizens, days))
            if turn % 10 == 0:
                await _timed(tally, "download", client.get(f"{LIST}/download.xlsx"))
            again = seed == COORDINATORS and (rounds - 1) % REGENERATE_EVERY == 0
            if again or turn % GENERATE_EVERY == 0:
                await _generate(client, tally, token, regenerate=again)


def _triples(
    rng: random.Random, citizens: list[str], days: int
) -> list[tuple[str, str, str]]:
    """Two different citizens with a random outcome and date of the week each."""
    return [
        (c, rng.choice(OUTCOMES), str(WEEK_START + timedelta(days=rng.randrange(days))))
        for c in rng.sample(sorted(set(citizens)), min(2, len(set(citizens))))
    ]


async def _upload(
    client: httpx.AsyncClient,
    tally: Tally,
    token: str,
    triples: list[tuple[str, str, str]],
) -> None:
    """Upload a record sheet, open its preview, commit it; file the answer."""
    sheet = "citizen_id,outcome,outcome_date,recorded_by,opt_out,note\n" + "".join(
        f"{c},{o},{d},,,\n" for c, o, d in triples
    )
    files = {"sheet": ("record.csv", sheet.encode(), "text/csv")}
    posted = await _timed(
        tally,
        "upload",
        client.post(f"{LIST}/upload", files=files, data={"csrf_token": token}),
    )
    preview = posted.headers.get("location", "")
    if "/upload/" not in preview:
        tally.uploads_refused += 1
        return
    await _timed(tally, "upload_preview", client.get(preview))
    done = await _timed(
        tally, "upload_commit", client.post(preview, data={"csrf_token": token})
    )
    page = await _timed(
        tally, "upload_page", client.get(done.headers.get("location", LIST))
    )
    if "Arket er registreret" in page.text:
        tally.uploaded.extend(triples)
    else:
        tally.uploads_refused += 1


async def _generate(
    client: httpx.AsyncClient, tally: Tally, token: str, *, regenerate: bool
) -> None:
    """Generate the week's list (or regenerate it with a reason); file the answer."""
    if regenerate:
        path, kind = f"{LIST}/regenerate", "regenerate"
        data = {"csrf_token": token, "reason": "bench: the week's list again"}
    else:
        path, kind = "/lists/diabetes_bus/generate", "generate"
        data = {"csrf_token": token, "week": WEEK}
    posted = await _timed(tally, kind, client.post(path, data=data))
    page = await _timed(
        tally, f"{kind}_page", client.get(posted.headers.get("location", "/lists"))
    )
    said = next((v for k, v in _GENERATED.items() if k in page.text), "refused")
    tally.generations[said] = tally.generations.get(said, 0) + 1


def _tell(tally: Tally, page: str, triple: tuple[str, str, str]) -> None:
    """File the answer the coordinator saw: recorded, already recorded, refused."""
    if "Registreret:" in page:
        tally.saved.append(triple)
    elif "allerede registreret" in page:
        tally.repeats.append(triple)
    else:
        tally.refused += 1


async def _load(url: str, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    start = time.monotonic()
    stop_at = start + seconds
    await asyncio.gather(
        *(
            _coordinator(url, f"bench{i:02d}", stop_at, tally, seed=i)
            for i in range(1, COORDINATORS + 1)
        )
    )
    return tally, time.monotonic() - start


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _summary(
    tally: Tally, elapsed: float, stored_on_lists: list[tuple[str, str, str, str]]
) -> dict[str, Any]:
    everything = [v for values in tally.latencies.values() for v in values]
    attempted = set(tally.saved) | set(tally.repeats) | set(tally.uploaded)
    stored = [row[1:] for row in stored_on_lists]
    return {
        "seconds": round(elapsed, 1),
        "requests": len(everything),
        "requests_per_second": round(len(everything) / elapsed, 1),
        "p50_ms": round(1000 * _percentile(everything, 0.50), 1),
        "p95_ms": round(1000 * _percentile(everything, 0.95), 1),
        "p99_ms": round(1000 * _percentile(everything, 0.99), 1),
        "by_kind": {
            kind: {
                "requests": len(v),
                "p50_ms": round(1000 * _percentile(v, 0.5), 1),
                "p95_ms": round(1000 * _percentile(v, 0.95), 1),
            }
            for kind, v in sorted(tally.latencies.items())
        },
        "errors": tally.errors,
        "outcomes_recorded": len(tally.saved),
        "outcomes_already_recorded": len(tally.repeats),
        "outcomes_refused": tally.refused,
        "uploads_committed_rows": len(tally.uploaded),
        "uploads_refused": tally.uploads_refused,
        "generations": dict(sorted(tally.generations.items())),
        "contacts_stored": len(stored),
        "recorded_twice": len(stored_on_lists) - len(set(stored_on_lists)),
        "lost_writes": len(attempted - set(stored))
        + max(0, len(tally.saved) - len(stored)),
    }


def _stored_duckdb(db: Path) -> list[tuple[str, str, str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select list_id, citizen_id, outcome, cast(outcome_date as varchar)"
            " from outreach.contacts" + _BENCH_CONTACTS
        ).fetchall()
    finally:
        con.close()
    return [tuple(r) for r in rows]


def _stored_postgres(url: str) -> list[tuple[str, str, str, str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select list_id, citizen_id, outcome, outcome_date::text"
            " from outreach.contacts" + _BENCH_CONTACTS
        ).fetchall()
    return [tuple(r) for r in rows]


def run_embedded(out: Path, db: Path, seconds: float) -> dict[str, Any]:
    """One app process over the DuckDB warehouse."""
    from outreach.app.users import JsonUserStore

    _users(JsonUserStore(out / "users.json"))
    env = {k: v for k, v in os.environ.items() if k != "OPSPOR_OPERATIONAL_DB"}
    with _server(out, db, 1, env) as url:
        tally, elapsed = asyncio.run(_load(url, seconds))
    return {
        "store": "duckdb",
        "app_processes": 1,
        **_summary(tally, elapsed, _stored_duckdb(db)),
    }


def _postgres_database(server: str) -> tuple[str, Any]:
    import psycopg

    admin = psycopg.connect(server, autocommit=True, connect_timeout=3)
    name = f"opspor_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f"create database {name}")
    return server.rsplit("/", 1)[0] + "/" + name, (admin, name)


def run_postgres(out: Path, db: Path, seconds: float, server: str) -> dict[str, Any]:
    """Four app processes sharing the operational tables in PostgreSQL."""
    from bench.web_world import MODEL
    from outreach.app.store import close_postgres_stores, postgres_store
    from outreach.lists import build_weekly_list
    from outreach.programmes import load_programme

    url, (admin, name) = _postgres_database(server)
    try:
        store = postgres_store(url)
        _users(store)
        con = duckdb.connect(str(db))
        try:
            build_weekly_list(
                con,
                load_programme("diabetes_bus"),
                week=WEEK,
                model_uri=MODEL,
                actor="planner",
                store=store,
            )
        finally:
            con.close()
        close_postgres_stores()
        env = {**os.environ, "OPSPOR_OPERATIONAL_DB": url}
        with _server(out, db, 4, env) as app_url:
            tally, elapsed = asyncio.run(_load(app_url, seconds))
        return {
            "store": "postgresql",
            "app_processes": 4,
            **_summary(tally, elapsed, _stored_postgres(url)),
        }
    finally:
        admin.execute(f"drop database if exists {name} with (force)")
        admin.close()


def _postgres_server(given: str | None) -> str | None:
    """The server to use, or None when none answers."""
    import psycopg

    server = given or os.environ.get("OPSPOR_TEST_POSTGRES") or POSTGRES_DEFAULT
    try:
        psycopg.connect(server, connect_timeout=3).close()
    except psycopg.OperationalError:
        return None
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/opspor-bench-web"))
    parser.add_argument("--postgres", default=None, help="PostgreSQL server URL.")
    parser.add_argument("--results", type=Path, default=Path("bench/results/web.json"))
    args = parser.parse_args()
    if date.today() < WEEK_START:
        raise SystemExit(f"the bench records outcomes of {WEEK}; today is before it")
    args.seconds = min(args.seconds, 60.0)  # bounded, whatever is asked
    shutil.rmtree(args.out, ignore_errors=True)
    world = build_web_world(args.out / "embedded" / "opspor.duckdb", args.citizens)
    pg_out = args.out / "postgresql"
    pg_out.mkdir(parents=True)
    shutil.copy(args.out / "embedded" / "opspor.duckdb", pg_out / "opspor.duckdb")
    runs = [
        run_embedded(
            args.out / "embedded", args.out / "embedded" / "opspor.duckdb", args.seconds
        )
    ]
    server = _postgres_server(args.postgres)
    if server is None:
        runs.append({"store": "postgresql", "skipped": "no PostgreSQL server answered"})
    else:
        runs.append(
            run_postgres(pg_out, pg_out / "opspor.duckdb", args.seconds, server)
        )
    results = {
        "citizens": args.citizens,
        "coordinators": COORDINATORS,
        "build_world_s": world["seconds"],
        "listed": world["listed"],
        "runs": runs,
        "cpus": os.cpu_count(),
        "note": "load generator (asyncio + httpx) runs on the same machine as the app",
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
