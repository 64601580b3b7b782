"""API benchmark: Policydesk against django-helpdesk 2.6.1, real HTTP on loopback, same run.

Run from the project root::

    .venv/bin/python bench/api_bench.py [--quick] [--db sqlite|postgresql|both] [--tickets N]
    .venv/bin/python bench/api_bench.py --million        # 1,000,000 tickets on PostgreSQL

Sizes: ``--quick`` 2,000 tickets and 3 s of load per measurement (2 rounds); the default
100,000 tickets and 12 s (3 rounds); ``--million`` 1,000,000 tickets on PostgreSQL only. On
each database kind both systems are loaded and started, then every operation is measured in
rounds that alternate between them, so that other work on the machine hits both alike; a
system's figures are over all its rounds. The two systems:

Policydesk
    A fresh SQLite file (in a temporary folder) or PostgreSQL database (``pdbench_<pid>``,
    created and dropped here); ``policydesk db upgrade`` and ``policydesk demo`` with
    ``POLICYDESK_POLICY=policies/rarelogic.yaml`` (the demo's admin token authenticates the
    load); 200 more accounts; then N tickets bulk-loaded with SQLAlchemy core inserts. The rows
    are what the service would store: 2,000 templates (received times, subjects, channels,
    accounts on both plans, a status mix of 77 % resolved or closed and 23 % open work, with
    the replies and status changes that led there) are run through the policy's clocks with
    ``policydesk.core.clocks.evaluate``, and ticket ``i`` is template ``i % 2000`` moved back
    by ``(i * 7919) % 3600`` seconds, due times and queue keys included. Then
    ``policydesk serve`` is started with two server processes (``POLICYDESK_WORKERS=2``, as
    the peer's two gunicorn workers) and no access log (gunicorn's default). Its default
    ``POLICYDESK_KEEPALIVE_REQUESTS=100`` closes a connection every 100 requests; the
    client's reconnect is counted in that request's latency.
django-helpdesk 2.6.1
    From PyPI into its own virtualenv ``bench/.peers/django-helpdesk-2.6.1/`` (made once,
    reused), with gunicorn and psycopg; a minimal Django project written under
    ``bench/.peers/run-<pid>/`` (see ``bench/peers/django_helpdesk.py`` for the settings),
    a fresh SQLite file or PostgreSQL database (``dhbench_<pid>``), the same N tickets from
    the same templates (status, priority, received time, one follow-up per log entry), served
    by gunicorn with two sync workers. The load signs in with a session cookie (and the CSRF
    cookie and header for writes), as basic auth would spend ~0.27 s hashing per request.

Operations (the load generator is ``bench/loadgen.py``: closed-loop asyncio clients on
keep-alive connections where the server keeps them; gunicorn's sync workers close each):

create
    Policydesk ``POST /api/v1/tickets`` (triage and every clock computed, the ticket and its
    ``received`` event stored); django-helpdesk ``POST /api/tickets/`` (its TicketForm: the
    ticket, its "Ticket Opened" follow-up and the notifications, rendered to the dummy
    e-mail backend).
queue
    The agents' default queue, first page of 50. Policydesk ``GET /api/v1/tickets`` (open
    work, the most urgent priority first, then the earliest deadline). django-helpdesk has no
    urgency queue; its closest equivalent is the staff ticket list's default view (open and
    reopened tickets, oldest first), whose rows the page fetches from
    ``GET /datatables_ticket_list/<default query>?draw=1&start=0&length=50``. Its REST list
    ``GET /api/tickets/`` is not used: it loads every ticket on each call (``get_queryset``
    iterates the whole table to set custom fields), which would make the comparison unfair.
queue (1 client)
    The same, one request at a time: the latency without queueing.

Reported: requests/s, p50 and p95 latency (ms, successful requests only; errors counted),
the lowest and highest requests/s of the rounds (this machine's noise), the ratio Policydesk /
django-helpdesk of requests/s (for creation also round by round), and the load average.
Targets from issue 3: creation >= 5x django-helpdesk's rate; queue view p95 < 30 ms on PostgreSQL at
1,000,000 tickets (judged on the loaded measurement). A missed target is reported, not an
error; the exit status is 1 only if a measurement could not run or every request of one
failed.

Everything is bounded: each measurement by time and request count, each request by a
timeout, each setup step by a timeout. Servers run in their own process groups and are
stopped, and databases and folders removed, on exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, func, insert, select, text

from loadgen import LoadResult, Request, run_load
from policydesk.core.clocks import evaluate
from policydesk.core.facts import Event, TicketFacts
from policydesk.core.policy import Policy, load_policy
from policydesk.db.engine import make_engine
from policydesk.db.models import Account, Agent, Contact, PolicyVersion, Ticket, TicketEvent
from policydesk.tickets.clocks import NO_DEADLINE

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PEERS = ROOT / "bench" / ".peers"
PEER_VERSION = "2.6.1"
PEER_VENV = PEERS / f"django-helpdesk-{PEER_VERSION}"
PEER_REQUIREMENTS = [f"django-helpdesk=={PEER_VERSION}", "gunicorn", "psycopg[binary]"]
PEER_DRIVER = ROOT / "bench" / "peers" / "django_helpdesk.py"
POLICY = ROOT / "policies" / "rarelogic.yaml"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
HOST = "127.0.0.1"

SEED = 20261122
TEMPLATES = 2_000
EXTRA_ACCOUNTS = 200
PAGE = 50
CREATE_RATIO_TARGET = 5.0
QUEUE_P95_TARGET_MS = 30.0
MILLION = 1_000_000

console = Console(width=max(shutil.get_terminal_size().columns, 132))


@dataclass(frozen=True)
class Sizes:
    tickets: int
    duration: float  # seconds of load per measurement, over all its rounds
    rounds: int  # the systems take turns this many times
    warmup: float  # seconds of untimed load before the first round


QUICK = Sizes(tickets=2_000, duration=3.0, rounds=2, warmup=0.5)
FULL = Sizes(tickets=100_000, duration=12.0, rounds=3, warmup=2.0)


# ----- cleanup ---------------------------------------------------------------------------------


class Cleanup:
    """Callbacks run in reverse order on exit, whatever ends the run."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, fn: Callable[[], None]) -> None:
        self._steps.append((what, fn))

    def run(self) -> None:
        while self._steps:
            what, fn = self._steps.pop()
            try:
                fn()
            except Exception as exc:  # keep cleaning up the rest
                console.print(f"[yellow]cleanup: {what}: {type(exc).__name__}: {exc}[/]")


def _sigterm(_signo: int, _frame: object) -> None:
    raise KeyboardInterrupt


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own process group: TERM, then KILL after 10 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def start_server(cmd: list[str], env: dict[str, str], log: Path, cleanup: Cleanup) -> Any:
    out = log.open("wb")
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    cleanup.push(f"stop {cmd[0]}", lambda: (stop_process(proc), out.close()))
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float) -> str:
    done = subprocess.run(
        cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:3])} … exited {done.returncode}:\n{done.stdout[-2000:]}"
            f"{done.stderr[-3000:]}"
        )
    return done.stdout


def http(
    port: int, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, Any]:
    """One request for checks (not timed); returns the status and the decoded JSON body."""
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:500]


def wait_ready(port: int, path: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with socket.create_connection((HOST, port), timeout=1):
                pass
            status, _ = http(port, path, {})
            if status < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready in 90 s: {log.read_text()[-3000:]}")


# ----- databases -------------------------------------------------------------------------------


def pg_admin(base_url: str, sql: str) -> None:
    import psycopg

    url = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode())  # names are built here, never taken from input


def pg_database(base_url: str, name: str, cleanup: Cleanup) -> str:
    """A fresh database ``name`` on the server of ``base_url``, dropped on exit; its URL."""
    pg_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(base_url, f'CREATE DATABASE "{name}"')
    cleanup.push(
        f"drop database {name}",
        lambda: pg_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
    )
    head, _, _ = base_url.replace("postgresql://", "postgresql+psycopg://").rpartition("/")
    return f"{head}/{name}"


# ----- the shared ticket templates -------------------------------------------------------------

SUBJECTS = [
    "How do I export last month's contacts?",
    "Question about the invoice for October",
    "Campaign scheduled for 9am went out at noon",
    "Cannot find the segment builder after the update",
    "Feature request: bulk edit of audience tags",
    "Integration with our store stopped syncing orders",
    "Password reset e-mail never arrives",
    "Open rates look wrong on the dashboard",
]
CRITICAL_SUBJECTS = [
    "Service is down for our store",
    "Data loss after last night's import",
    "Platform is down, no campaigns sending",
]
BODY = "Hello, could you help with this? It started this morning. Thanks, the team. " * 2
#: (status aimed at, share): the log of each template leads there.
STATUS_MIX = [
    ("new", 0.08),
    ("open", 0.10),
    ("pending_customer", 0.05),
    ("resolved", 0.22),
    ("closed", 0.55),
]
CLOCK_COLUMNS = {
    "acknowledge": "acknowledge_due_at",
    "first_response": "first_response_due_at",
    "next_response": "next_response_due_at",
    "resolve": "resolve_due_at",
}


def jitter(i: int) -> dt.timedelta:
    """How far back ticket ``i`` is moved from its template (bench/peers does the same)."""
    return dt.timedelta(seconds=(i * 7_919) % 3_600)


@dataclass
class Template:
    subject: str
    channel: str
    account: int  # index into the account list
    received: dt.datetime
    log: list[tuple[dt.datetime, str, str | None]]  # (at, reply | status, new status)
    status: str = ""
    priority: str = ""
    priority_rank: int = 0
    dues: dict[str, dt.datetime | None] = field(default_factory=dict)
    next_deadline: dt.datetime | None = None

    def peer_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "body": BODY,
            "account": self.account,
            "received": self.received.isoformat(),
            "status": self.status,
            "priority": self.priority,
            "log": [(at.isoformat(), kind, st) for at, kind, st in self.log],
        }


def make_templates(
    policy: Policy,
    plans: list[str | None],
    now: dt.datetime,
    *,
    mix: list[tuple[str, float]] = STATUS_MIX,
    count: int = TEMPLATES,
) -> list[Template]:
    """Tickets as they would be after their logs, with the service's clock columns; ``mix``
    gives the share of each status aimed at."""
    rng = random.Random(SEED)
    statuses = [s for s, _ in mix]
    weights = [w for _, w in mix]
    channels = list(policy.doc.channels)
    out = []
    for _ in range(count):
        aim = rng.choices(statuses, weights)[0]
        is_open = aim in ("new", "open", "pending_customer")
        age = dt.timedelta(days=rng.uniform(0.02, 21) if is_open else rng.uniform(1, 365))
        received = (now - age).replace(microsecond=0)

        def at(lo: float, hi: float, _r: dt.datetime = received, _a: dt.timedelta = age) -> Any:
            return (_r + _a * rng.uniform(lo, hi)).replace(microsecond=0)

        log: list[tuple[dt.datetime, str, str | None]] = []
        if aim != "new":
            log.append((at(0.02, 0.3), "reply", None))
        if aim == "pending_customer":
            log.append((at(0.3, 0.6), "status", "pending_customer"))
        if aim in ("resolved", "closed"):
            log.append((at(0.3, 0.8), "status", "resolved"))
        if aim == "closed":
            log.append((at(0.8, 1.0), "status", "closed"))
        subject = rng.choice(CRITICAL_SUBJECTS if rng.random() < 0.04 else SUBJECTS)
        account = rng.randrange(EXTRA_ACCOUNTS)
        t = Template(subject, rng.choice(channels), account, received, log)
        plan = plans[account % len(plans)]
        facts = TicketFacts(
            received=received,
            plan=plan,
            channel=t.channel,
            subject=subject,
            body=BODY,
            contract=policy.doc.plans[plan].contract if plan else None,
        )
        events = [Event(a, kind, status=st) for a, kind, st in log]
        report = evaluate(policy, facts, events, now)
        # As the service's _recompute stores them.
        t.status = report.status
        t.priority = report.priority.priority
        t.priority_rank = policy.priority_rank(t.priority)
        pending = []
        for name, clock in report.clocks.items():
            t.dues[name] = clock.due
            if clock.state in ("running", "breached") and clock.met_us is None and clock.due:
                pending.append(clock.due)
        t.next_deadline = min(pending) if pending else None
        out.append(t)
    return out


# ----- Policydesk ------------------------------------------------------------------------------


@dataclass
class Target:
    """One server to measure: where it listens and how to ask it for each operation."""

    system: str
    port: int
    queue: Callable[[int], Request]
    create: Callable[[int], Request]
    proc: Any = None


SERVER_WORKERS = 2


def policydesk_env(url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYDESK_")}
    env.update(
        POLICYDESK_DATABASE_URL=url,
        POLICYDESK_POLICY=str(POLICY),
        POLICYDESK_HOST=HOST,
        POLICYDESK_PORT=str(port),
        POLICYDESK_MODE="local",
        # Two server processes, like the peer's two gunicorn workers.
        POLICYDESK_WORKERS=str(SERVER_WORKERS),
        # No line per request, like gunicorn's default (no access log) for the peer.
        POLICYDESK_ACCESS_LOG="false",
    )
    return env


def load_policydesk(engine: Engine, templates: list[Template], n: int) -> tuple[list[int], float]:
    """Bulk-load ``n`` tickets; the account ids; the seconds it took."""
    t0 = time.perf_counter()
    with engine.begin() as c:
        version = c.execute(select(PolicyVersion.version).where(PolicyVersion.active)).scalar_one()
        agent_id = c.execute(select(func.min(Agent.id))).scalar_one()
        accounts, contacts = seed_accounts(c, load_policy(POLICY), dt.datetime.now(dt.UTC))
        first_id = (c.execute(select(func.max(Ticket.id))).scalar() or 0) + 1
    batch = 10_000
    for lo in range(0, n, batch):
        tickets, events = [], []
        for i in range(lo, min(n, lo + batch)):
            t = templates[i % len(templates)]
            back = jitter(i)
            tid = first_id + i
            received = t.received - back
            row: dict[str, Any] = {
                "id": tid,
                "account_id": accounts[t.account],
                "requester_id": contacts[t.account],
                "subject": t.subject,
                "body": BODY,
                "channel": t.channel,
                "category": None,
                "priority": t.priority,
                "priority_rank": t.priority_rank,
                "status": t.status,
                "tier": "L1",
                "assignee_id": None,
                "policy_version": version,
                "custom_fields": {},
                "received_at": received,
                "updated_at": (t.log[-1][0] if t.log else t.received) - back,
                "next_deadline_at": t.next_deadline - back if t.next_deadline else None,
                "queue_deadline": t.next_deadline - back if t.next_deadline else NO_DEADLINE,
                "open_work": t.status not in ("resolved", "closed"),
                "version": 1 + len(t.log),
            }
            for clock, column in CLOCK_COLUMNS.items():
                due = t.dues.get(clock)
                row[column] = due - back if due else None
            tickets.append(row)
            events.append(
                {
                    "ticket_id": tid,
                    "at": received,
                    "type": "received",
                    "agent_id": None,
                    "contact_id": contacts[t.account],
                    "body": BODY,
                    "data": {"channel": t.channel},
                }
            )
            for at, kind, st in t.log:
                events.append(
                    {
                        "ticket_id": tid,
                        "at": at - back,
                        "type": kind,
                        "agent_id": agent_id,
                        "contact_id": None,
                        "body": "On it." if kind == "reply" else "",
                        "data": {"status": st} if st else {},
                    }
                )
        with engine.begin() as c:
            c.execute(insert(Ticket), tickets)
            c.execute(insert(TicketEvent), events)
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            for table in ("tickets", "ticket_events", "accounts", "contacts"):
                c.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    settle(engine)
    return accounts, time.perf_counter() - t0


def seed_accounts(c: Connection, policy: Policy, now: dt.datetime) -> tuple[list[int], list[int]]:
    """``EXTRA_ACCOUNTS`` accounts on the policy's plans in turn, each with its owner as the
    primary contact; their ids and the contacts' ids, in the same order."""
    plans: list[str | None] = [*policy.doc.plans] or [None]
    accounts, contacts = [], []
    for k in range(EXTRA_ACCOUNTS):
        plan = plans[k % len(plans)]
        contract = policy.doc.plans[plan].contract if plan else None
        row = {"name": f"Customer {k}", "plan": plan, "contract": contract}
        account_id = c.execute(
            insert(Account).values(**row, attributes={}, status="active", created_at=now)
        ).inserted_primary_key[0]
        contact_id = c.execute(
            insert(Contact).values(
                name=f"Owner {k}",
                email=f"owner{k}@customer.test",
                account_id=account_id,
                trained=k % 3 != 0,
                created_at=now,
            )
        ).inserted_primary_key[0]
        c.execute(
            Account.__table__.update()
            .where(Account.id == account_id)
            .values(primary_contact_id=contact_id)
        )
        accounts.append(account_id)
        contacts.append(contact_id)
    return accounts, contacts


def settle(engine: Engine) -> None:
    """After a bulk load: fresh statistics, and on PostgreSQL a vacuum and a checkpoint, so
    that neither autovacuum nor the checkpoint of the load's WAL lands in a measurement
    (the peer's loader does the same)."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as c:
            c.execute(text("ANALYZE"))
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
        c.execute(text("CHECKPOINT"))


def setup_policydesk(
    kind: str, n: int, templates: list[Template], pg_url: str, tmp: Path, cleanup: Cleanup
) -> Target:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'policydesk.db'}"
    else:
        url = pg_database(pg_url, f"pdbench_{os.getpid()}", cleanup)
    port = free_port()
    env = policydesk_env(url, port)
    run([str(BIN / "policydesk"), "db", "upgrade"], env=env, timeout=300)
    demo = run([str(BIN / "policydesk"), "demo"], env=env, timeout=300)
    token = next(line.split()[-1] for line in demo.splitlines() if line.startswith("admin token"))
    engine = make_engine(url)
    try:
        accounts, seconds = load_policydesk(engine, templates, n)
    finally:
        engine.dispose()
    console.print(f"  policydesk: {n:,} tickets loaded in {seconds:.1f} s", highlight=False)
    log = tmp / f"policydesk-{kind}.log"
    proc = start_server([str(BIN / "policydesk"), "serve"], env, log, cleanup)
    wait_ready(port, "/readyz", proc, log)

    auth = {"Authorization": f"Bearer {token}"}
    subjects = SUBJECTS + CRITICAL_SUBJECTS[:1]

    def create(i: int) -> Request:
        body = {
            "subject": f"{subjects[i % len(subjects)]} (#{i})",
            "body": BODY,
            "channel": "email",
            "account_id": accounts[i % len(accounts)],
        }
        return Request(
            "POST",
            "/api/v1/tickets",
            {**auth, "Content-Type": "application/json"},
            json.dumps(body).encode(),
        )

    queue = Request("GET", f"/api/v1/tickets?limit={PAGE}", auth)
    target = Target("Policydesk", port, lambda _i: queue, create, proc)
    status, page = http(port, queue.path, auth)
    if status != 200 or not page["items"] or len(page["items"]) < expected_page(templates, n):
        raise RuntimeError(f"policydesk queue check failed: {status} {str(page)[:300]}")
    return target


def expected_page(templates: list[Template], n: int) -> int:
    """How many rows the first page must at least hold: the open tickets loaded, up to 50."""
    per = [t.status not in ("resolved", "closed") for t in templates]
    return min(PAGE, sum(per[i % len(per)] for i in range(min(n, 20 * PAGE))))


# ----- django-helpdesk -------------------------------------------------------------------------


def peer_python() -> Path:
    """The peer's interpreter, installing it into bench/.peers/ on first use."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    wanted = "\n".join(PEER_REQUIREMENTS)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    console.print(f"installing django-helpdesk {PEER_VERSION} into {PEER_VENV.relative_to(ROOT)}")
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", str(PEER_VENV)], timeout=300)
    run([str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], timeout=900)
    stamp.write_text(wanted)
    return python


@dataclass
class PeerSite:
    """A loaded django-helpdesk project: how to run its driver, and what ``setup`` printed."""

    driver: list[str]
    site: Path
    env: dict[str, str]
    info: dict[str, Any]


def load_peer(
    kind: str, n: int, templates: list[Template], pg_url: str, tmp: Path, cleanup: Cleanup
) -> PeerSite:
    """django-helpdesk's project on a fresh database of ``kind`` with ``n`` tickets."""
    python = peer_python()
    site = PEERS / f"run-{os.getpid()}-{kind}"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    cleanup.push(f"remove {site}", lambda: shutil.rmtree(site, ignore_errors=True))
    name = f"dhbench_{os.getpid()}"
    if kind == "postgresql":
        pg_database(pg_url, name, cleanup)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "POLICYDESK_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    driver = [str(python), str(PEER_DRIVER)]
    pg = pg_url.replace("postgresql+psycopg://", "postgresql://")
    setup_args = ["setup", "--root", str(site), "--db", kind, "--name", name, "--pg-url", pg]
    info = json.loads(run([*driver, *setup_args], env=env, timeout=600).splitlines()[-1])
    data = tmp / "templates.json"
    data.write_text(json.dumps([t.peer_json() for t in templates]))
    t0 = time.perf_counter()
    run(
        [*driver, "load", "--root", str(site), "--templates", str(data), "--n", str(n)],
        env=env,
        timeout=600 + n / 200,
    )
    console.print(
        f"  django-helpdesk: {n:,} tickets loaded in {time.perf_counter() - t0:.1f} s",
        highlight=False,
    )
    return PeerSite(driver, site, env, info)


def setup_peer(
    kind: str, n: int, templates: list[Template], pg_url: str, tmp: Path, cleanup: Cleanup
) -> Target:
    peer = load_peer(kind, n, templates, pg_url, tmp, cleanup)
    site, env, info = peer.site, peer.env, peer.info
    port = free_port()
    log = tmp / f"django-helpdesk-{kind}.log"
    gunicorn = [
        str(PEER_VENV / "bin" / "gunicorn"),
        "--workers",
        str(SERVER_WORKERS),
        "--bind",
        f"{HOST}:{port}",
        "--chdir",
        str(site),
        "--timeout",
        "120",
        "benchsite.wsgi:application",
    ]
    proc = start_server(gunicorn, env, log, cleanup)
    wait_ready(port, "/api/", proc, log)

    cookie = f"sessionid={info['session']}; csrftoken={info['csrf']}"
    read = {"Cookie": cookie}
    write = {"Cookie": cookie, "X-CSRFToken": info["csrf"], "Content-Type": "application/json"}
    subjects = SUBJECTS + CRITICAL_SUBJECTS[:1]

    def create(i: int) -> Request:
        body = {
            "queue": info["queue"],
            "title": f"{subjects[i % len(subjects)]} (#{i})",
            "description": BODY,
            "submitter_email": f"owner{i % EXTRA_ACCOUNTS}@customer.test",
            "priority": 3,
        }
        return Request("POST", "/api/tickets/", write, json.dumps(body).encode())

    path = f"/datatables_ticket_list/{info['query']}?draw=1&start=0&length={PAGE}"
    queue = Request("GET", path, read)
    status, page = http(port, path, read)
    if status != 200 or not page["data"] or len(page["data"]) < expected_page(templates, n):
        raise RuntimeError(f"django-helpdesk queue check failed: {status} {str(page)[:300]}")
    probe = create(-1)
    status, made = http(port, probe.path, probe.headers, probe.body)
    if status != 201:
        raise RuntimeError(f"django-helpdesk create check failed: {status} {str(made)[:300]}")
    return Target("django-helpdesk", port, lambda _i: queue, create, proc)


# ----- measuring -------------------------------------------------------------------------------

OPERATIONS = ["create", "queue", "queue (1 client)"]


@dataclass
class Measure:
    operation: str
    database: str
    system: str
    result: LoadResult
    concurrency: int
    #: requests/s of each round, in order: this machine's noise, seen as the spread.
    rounds: list[float]


def merge(into: LoadResult, more: LoadResult) -> None:
    into.ok += more.ok
    into.errors += more.errors
    into.seconds += more.seconds
    into.latencies += more.latencies
    for status, count in more.statuses.items():
        into.statuses[status] = into.statuses.get(status, 0) + count
    into.first_error = into.first_error or more.first_error


def once(
    target: Target, operation: str, clients: int, seconds: float, sent: dict[str, int]
) -> LoadResult:
    """One round of ``operation`` on ``target``; ``sent`` numbers the requests per system."""
    make = target.create if operation == "create" else target.queue
    base = sent[target.system]
    result = run_load(
        HOST,
        target.port,
        lambda i: make(base + i),
        concurrency=clients,
        duration=seconds,
        timeout=60,
    )
    sent[target.system] += result.ok + result.errors
    if target.proc is not None and target.proc.poll() is not None:
        raise RuntimeError(f"{target.system} exited during the {operation} measurement")
    return result


def measure(targets: list[Target], database: str, sizes: Sizes, concurrency: int) -> list[Measure]:
    """Each operation on every target, in alternating rounds so that a change in the
    machine's load (other work may be running) hits every system alike; a system's figures
    are over all its rounds."""
    out = []
    plan = [("queue", concurrency), ("queue (1 client)", 1), ("create", concurrency)]
    sent = {target.system: 0 for target in targets}
    for operation, clients in plan:
        merged = {target.system: LoadResult() for target in targets}
        rounds: dict[str, list[float]] = {target.system: [] for target in targets}

        for target in targets:
            once(target, operation, clients, sizes.warmup, sent)
        for r in range(sizes.rounds):
            for target in targets if r % 2 == 0 else targets[::-1]:
                seconds = sizes.duration / sizes.rounds
                result = once(target, operation, clients, seconds, sent)
                rounds[target.system].append(result.rate)
                merge(merged[target.system], result)
        for target in targets:
            result = merged[target.system]
            each = rounds[target.system]
            out.append(Measure(operation, database, target.system, result, clients, each))
            errors = f", {result.errors} errors ({result.first_error})" if result.errors else ""
            console.print(
                f"  {target.system:16} {operation:17} {result.rate:8.1f} req/s  "
                f"p50 {result.p(0.5):7.1f} ms  p95 {result.p(0.95):7.1f} ms  "
                f"(rounds {min(each):.1f}-{max(each):.1f} req/s){errors}",
                highlight=False,
                markup=False,
            )
    return out


def in_database(
    kind: str,
    n: int,
    sizes: Sizes,
    concurrency: int,
    pg_url: str,
    with_peer: bool,
    templates: list[Template],
) -> list[Measure]:
    """Load and start every system on a fresh database of ``kind``, measure, clean up."""
    cleanup = Cleanup()
    tmp = Path(tempfile.mkdtemp(prefix=f"api-bench-{kind}-"))
    cleanup.push(f"remove {tmp}", lambda: shutil.rmtree(tmp, ignore_errors=True))
    try:
        targets = [setup_policydesk(kind, n, templates, pg_url, tmp, cleanup)]
        if with_peer:
            targets.append(setup_peer(kind, n, templates, pg_url, tmp, cleanup))
        return measure(targets, kind, sizes, concurrency)
    finally:
        cleanup.run()


# ----- report ----------------------------------------------------------------------------------


def ms(x: float) -> str:
    return "-" if x != x else f"{x:,.1f}"


def report(measures: list[Measure], n: int, concurrency: int, loads: list[str]) -> bool:
    """Print the table and the targets; False when a measurement got no successful request."""
    by = {(m.operation, m.database, m.system): m for m in measures}
    table = Table(
        title=f"Ticket API, {n:,} tickets loaded; {concurrency} clients (1 for the last row)",
        caption=(
            "p50/p95 in ms; ratio = Policydesk req/s ÷ django-helpdesk req/s; "
            "django-helpdesk queue = staff ticket list's default view (datatables)"
        ),
    )
    for name in ("operation", "database"):
        table.add_column(name)
    for system in ("Policydesk", "django-helpdesk"):
        table.add_column(f"{system}\nreq/s", justify="right")
        table.add_column("p50", justify="right")
        table.add_column("p95", justify="right")
    table.add_column("ratio", justify="right")
    databases = sorted({m.database for m in measures}, key=["sqlite", "postgresql"].index)
    ok = True
    for operation in OPERATIONS:
        for database in databases:
            cells = [operation, database]
            rates = []
            for system in ("Policydesk", "django-helpdesk"):
                m = by.get((operation, database, system))
                if m is None:
                    cells += ["-", "-", "-"]
                    rates.append(float("nan"))
                    continue
                r = m.result
                ok &= r.ok > 0
                err = f" ({r.errors} err)" if r.errors else ""
                cells += [f"{r.rate:,.1f}{err}", ms(r.p(0.5)), ms(r.p(0.95))]
                rates.append(r.rate)
            ratio = rates[0] / rates[1] if rates[1] == rates[1] and rates[1] else float("nan")
            cells.append("-" if ratio != ratio else f"{ratio:,.2f}x")
            table.add_row(*cells)
        table.add_section()
    console.print(table)

    for database in databases:
        pd = by.get(("create", database, "Policydesk"))
        peer = by.get(("create", database, "django-helpdesk"))
        if pd and peer and peer.result.rate:
            ratio = pd.result.rate / peer.result.rate
            # Round i of each system ran back to back: their ratio shares the machine's state.
            paired = [f"{a / b:.2f}x" for a, b in zip(pd.rounds, peer.rounds, strict=True) if b]
            console.print(
                f"target: creation >= {CREATE_RATIO_TARGET:.0f}x django-helpdesk on {database}: "
                f"{ratio:.2f}x {met(ratio >= CREATE_RATIO_TARGET)} "
                f"(round by round: {', '.join(paired)})"
            )
    queue = by.get(("queue", "postgresql", "Policydesk"))
    if queue:
        p95 = queue.result.p(0.95)
        verdict = (
            met(p95 < QUEUE_P95_TARGET_MS)
            if n >= MILLION
            else f"(the target is for {MILLION:,} tickets: run with --million)"
        )
        console.print(
            f"target: queue view p95 < {QUEUE_P95_TARGET_MS:.0f} ms on postgresql at "
            f"{MILLION:,} tickets: {p95:.1f} ms at {n:,} with {queue.concurrency} clients "
            f"{verdict}"
        )
    console.print("load average (1, 5, 15 min): " + "; ".join(loads), highlight=False)
    return ok


def met(ok: bool) -> str:
    return "[green]MET[/green]" if ok else "[red]NOT MET[/red]"


def loadavg(when: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"{when} {one:.2f} {five:.2f} {fifteen:.2f}"


# ----- main ------------------------------------------------------------------------------------


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so that every cleanup runs."""
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_pg_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("POLICYDESK_TEST_DATABASE_URL", DEFAULT_PG),
        help="a PostgreSQL server (any database) where the bench may create databases",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2,000 tickets, 3 s per measurement")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=None, help="tickets loaded before load")
    parser.add_argument("--million", action="store_true", help="1,000,000 tickets, PostgreSQL only")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=4, help="clients (default 4)")
    parser.add_argument("--no-peer", action="store_true", help="Policydesk only")
    add_pg_url(parser)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    n = MILLION if args.million else (args.tickets or sizes.tickets)
    if not 1 <= n <= 2 * MILLION or not 1 <= args.concurrency <= 64:
        parser.error("--tickets must be 1..2,000,000 and --concurrency 1..64")
    duration = min(max(args.duration or sizes.duration, 0.5), 120.0)
    sizes = Sizes(n, duration, sizes.rounds, sizes.warmup)
    kinds = ["postgresql"] if args.million else (
        ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    )  # fmt: skip

    loads = [loadavg("start")]
    console.print(
        f"api bench: {n:,} tickets, {', '.join(kinds)}, {args.concurrency} clients, "
        f"{duration:g} s per measurement; {os.cpu_count()} cores; load average {loads[0]}",
        highlight=False,
    )
    policy = load_policy(POLICY)
    plans: list[str | None] = [*policy.doc.plans] or [None]
    templates = make_templates(policy, plans, dt.datetime.now(dt.UTC))
    measures: list[Measure] = []
    with terminate_cleanly():
        try:
            for kind in kinds:
                console.print(f"[bold]{kind}[/bold]")
                measures += in_database(
                    kind, n, sizes, args.concurrency, args.pg_url, not args.no_peer, templates
                )
        except KeyboardInterrupt:
            console.print("[yellow]interrupted; servers stopped, databases dropped[/yellow]")
            return 130
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
            console.print(f"[red]benchmark failed:[/red] {exc}", markup=True, highlight=False)
            return 1
    loads.append(loadavg("end"))
    return 0 if report(measures, n, args.concurrency, loads) else 1


if __name__ == "__main__":
    sys.exit(main())
