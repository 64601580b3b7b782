"""Many clients updating one ticket at once, through a real server, on SQLite and PostgreSQL.

Every update is either applied or refused with 412 (never a 5xx, never a lock error), the
ticket's version counts exactly the applied ones, and its event log holds exactly them.

The per-test fixtures share one rolled-back connection, which serialises everything; here each
run gets a database of its own (a SQLite file, or a fresh PostgreSQL schema dropped afterwards)
and the real app under uvicorn on a free loopback port, one connection per request.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, text

from policydesk.accounts.models import Account
from policydesk.agents import service as agent_service
from policydesk.db.engine import make_engine, session_scope, sessions
from policydesk.db.migrate import upgrade
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get(
    "POLICYDESK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

#: Clients writing to the one ticket at once.
CLIENTS = 24
#: Tries a client makes (read the ETag, write with it) before it gives up.
ATTEMPTS = 8


@contextmanager
def fresh_engine(kind: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of its own: a SQLite file, or a PostgreSQL schema."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'policydesk.db'}")
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"pd_conc_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(engine: Engine) -> tuple[str, int]:
    """The example policy, an agent's API token and an account."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(sessions(engine)) as s:
        policy_text = (ROOT / "policies" / "rarelogic.yaml").read_text()
        policy_service.activate_policy(s, text=policy_text, source="rarelogic.yaml", now=now)
        agent = agent_service.create_agent(s, name="Agent", email="agent@desk.test", now=now)
        token = agent_service.create_token(s, agent_id=agent.id, name="load", now=now)
        account = Account(name="Acme", plan="standard", attributes={}, created_at=now)
        s.add(account)
        s.flush()
        return token, account.id


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn in a background thread, on a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", ws="none", log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(1000):  # at most ten seconds
            if server.started or not thread.is_alive():
                break
            time.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"


@dataclass
class Outcome:
    """What one client saw: every status, and the bodies and ETags of its applied writes."""

    statuses: list[int] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    etags: list[str] = field(default_factory=list)
    first_try: int = 0
    unexpected: list[str] = field(default_factory=list)


def client_run(n: int, base: str, token: str, ticket: int, barrier: threading.Barrier) -> Outcome:
    """Read the ticket's ETag and write an event with it; on 412 read again and retry."""
    try:
        return _client_run(n, base, token, ticket, barrier)
    except BaseException:
        barrier.abort()  # the others stop waiting for this one
        raise


def _client_run(n: int, base: str, token: str, ticket: int, barrier: threading.Barrier) -> Outcome:
    out = Outcome()
    url = f"/api/v1/tickets/{ticket}"
    kind = "note" if n % 2 else "reply"
    auth = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=base, headers=auth, timeout=60) as client:
        for attempt in range(ATTEMPTS):
            read = client.get(url)
            assert read.status_code == 200, read.text
            if attempt == 0:
                # Everyone has read version 1 before anyone writes: all first writes collide.
                barrier.wait()
            body = f"client {n} attempt {attempt}"
            r = client.post(
                f"{url}/events",
                json={"type": kind, "body": body},
                headers={"If-Match": read.headers["ETag"]},
            )
            out.statuses.append(r.status_code)
            if r.status_code == 200:
                out.applied.append(body)
                out.etags.append(r.headers["ETag"])
                out.first_try = int(attempt == 0)
                break
            if r.status_code != 412:
                out.unexpected.append(f"{r.status_code} {r.text}")
                break
    return out


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_concurrent_updates_are_applied_or_refused_and_logged_exactly(
    kind: str, tmp_path: Path
) -> None:
    with fresh_engine(kind, tmp_path) as engine:
        token, account_id = seed(engine)
        with serve(create_app(Settings(), engine=engine)) as base:
            auth = {"Authorization": f"Bearer {token}"}
            with httpx2.Client(base_url=base, headers=auth, timeout=60) as client:
                r = client.post(
                    "/api/v1/tickets",
                    json={"subject": "Contended", "channel": "email", "account_id": account_id},
                )
                assert r.status_code == 201, r.text
                ticket = r.json()["id"]
                barrier = threading.Barrier(CLIENTS, timeout=120)
                with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                    futures = [
                        pool.submit(client_run, n, base, token, ticket, barrier)
                        for n in range(CLIENTS)
                    ]
                    outcomes = [f.result() for f in futures]
                detail = client.get(f"/api/v1/tickets/{ticket}")
                assert detail.status_code == 200, detail.text

    unexpected = [u for o in outcomes for u in o.unexpected]
    assert unexpected == [], unexpected
    statuses = Counter(s for o in outcomes for s in o.statuses)
    assert set(statuses) <= {200, 412}, statuses
    # All first writes carried version 1: exactly one of them won.
    assert sum(o.first_try for o in outcomes) == 1
    assert statuses[412] >= CLIENTS - 1
    applied = sorted(b for o in outcomes for b in o.applied)
    assert len(applied) == statuses[200]
    # No lost update: each applied write made the next version, and only those did.
    etags = sorted(int(e.strip('"')) for o in outcomes for e in o.etags)
    assert etags == list(range(2, 2 + len(applied)))
    ticket_now = detail.json()
    assert ticket_now["version"] == 1 + len(applied)
    assert detail.headers["ETag"] == f'"{1 + len(applied)}"'
    logged = sorted(e["body"] for e in ticket_now["events"] if e["type"] in ("note", "reply"))
    assert logged == applied
