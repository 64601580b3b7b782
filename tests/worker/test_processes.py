"""Real worker processes against one database: two at once, and one killed with SIGKILL in the
middle of its work. Each decision (acknowledgement, warning, breach) is recorded once and each
message queued once; every message arrives. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from policydesk.accounts.models import Account
from policydesk.agents import service as agent_service
from policydesk.db.engine import session_scope, sessions
from policydesk.outbox.models import OutboxMessage
from policydesk.policies import service as policy_service
from policydesk.tickets.models import Ticket, TicketEvent
from tests.conftest import CommittedDatabase
from tests.mail.smtp_server import SmtpServer, smtp_server
from tests.worker.receivers import HttpReceiver, http_receiver

__all__ = ["http_receiver", "smtp_server"]

ROOT = Path(__file__).resolve().parents[2]
POLICYDESK = Path(sys.executable).parent / "policydesk"
TICKETS = 120
RECEIVED = dt.datetime.fromisoformat("2026-11-30T09:00:00-05:00")  # Monday
#: Ticket i is received this much after the one before: the breaches (from 11:00) fall due one
#: after another over a few seconds of the workers' clocks, so that a worker killed while it
#: works is always part-way through them, however fast the machine.
SPREAD = dt.timedelta(milliseconds=40)
#: The workers' clocks start here: the warnings (from 10:30) are owed at once, the breaches a
#: few seconds later, when both workers are running.
START_AT = "2026-11-30T10:59:56-05:00"
DEADLINE_S = 120


def seed(engine: Engine) -> None:
    """RareLogic's policy, two leads, and TICKETS unanswered tickets received Monday 09:00."""
    text_ = (ROOT / "policies" / "rarelogic.yaml").read_text()
    with session_scope(sessions(engine)) as s:
        policy_service.activate_policy(s, text=text_, source="rarelogic", now=RECEIVED)
        for role in ("lead", "admin"):
            agent_service.create_agent(
                s, name=role.title(), email=f"{role}@procs.test", role=role, now=RECEIVED
            )
        account = Account(name="Acme", plan="standard", attributes={}, created_at=RECEIVED)
        s.add(account)
        s.flush()
        version = policy_service.active_version(s).version
        from policydesk.tickets import clocks as ticket_clocks

        for i in range(TICKETS):
            ticket = Ticket(
                account_id=account.id, subject=f"Question {i}", body="", channel="email",
                priority="normal", priority_rank=2, status="new", tier="L1",
                policy_version=version, custom_fields={}, received_at=RECEIVED + i * SPREAD,
                updated_at=RECEIVED, queue_deadline=RECEIVED, open_work=True, version=1,
            )  # fmt: skip
            policy = policy_service.compiled(policy_service.active_version(s))
            facts = ticket_clocks.facts_of(ticket, account)
            ticket_clocks.refresh(ticket, policy, facts, [], RECEIVED + i * SPREAD)
            s.add(ticket)
        s.flush()
        s.add_all(
            TicketEvent(ticket_id=t.id, at=t.received_at, type="received", data={})
            for t in s.scalars(select(Ticket))
        )


def start_worker(
    db: CommittedDatabase, smtp: SmtpServer, http: HttpReceiver, log: Path, **settings: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POLICYDESK_DATABASE_URL": db.url,
        "POLICYDESK_SMTP_PORT": str(smtp.port),
        "POLICYDESK_WEBHOOK_URLS": f'["{http.url("/hooks/team")}"]',
        "POLICYDESK_WORKER_INTERVAL_SECONDS": "0.05",
        "POLICYDESK_WORKER_BATCH": "25",
        "POLICYDESK_DELIVERY_BATCH": "25",
        "POLICYDESK_DELIVERY_LEASE_SECONDS": "3",
        **{f"POLICYDESK_{k.upper()}": v for k, v in settings.items()},
    }
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(POLICYDESK), "worker", "--start-at", START_AT],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def counts(engine: Engine) -> tuple[int, int, int]:
    """(breach events, outbox rows, outbox rows delivered)."""
    with Session(engine) as s:
        breaches = s.scalar(select(func.count()).where(TicketEvent.type == "breach")) or 0
        rows = s.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        delivered = s.scalar(select(func.count()).where(OutboxMessage.status == "delivered")) or 0
        return breaches, rows, delivered


def wait_until(what: str, check: object, logs: list[Path], every: float = 0.1) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(every)
    tail = "\n".join(p.read_text()[-3000:] for p in logs if p.exists())
    pytest.fail(f"timed out waiting for {what}\n{tail}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def check_exactly_once(db: CommittedDatabase, smtp: SmtpServer, http: HttpReceiver) -> Counter[str]:
    """Every decision recorded once, every message queued once and delivered; returns how
    often each e-mail's Message-ID arrived."""
    with Session(db.engine) as s:
        per_ticket = Counter(
            (ticket_id, kind)
            for ticket_id, kind in s.execute(
                select(TicketEvent.ticket_id, TicketEvent.type).where(
                    TicketEvent.type.in_(("warning", "breach", "acknowledgement"))
                )
            )
        )
        assert len(per_ticket) == 3 * TICKETS
        assert set(per_ticket.values()) == {1}
        rows = list(s.scalars(select(OutboxMessage)))
    # the breach tells both leads by e-mail and the team's webhook; the warning tells nobody
    assert len(rows) == 3 * TICKETS
    assert {r.status for r in rows} == {"delivered"}
    arrived = Counter(m["Message-ID"] for m in smtp.parsed)
    assert set(arrived) == {r.data["message_id"] for r in rows if r.channel == "email"}
    hooks = Counter(r.headers["Idempotency-Key"] for r in http.requests)
    assert set(hooks) == {r.dedupe_key for r in rows if r.channel == "webhook"}
    return arrived + hooks


def test_two_workers_share_the_work_and_do_each_thing_once(
    database: CommittedDatabase,
    smtp_server: SmtpServer,
    http_receiver: HttpReceiver,
    tmp_path: Path,
) -> None:
    seed(database.engine)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker(database, smtp_server, http_receiver, log) for log in logs]
    try:
        wait_until(
            "every message delivered",
            lambda: counts(database.engine) == (TICKETS, 3 * TICKETS, 3 * TICKETS),
            logs,
        )
    finally:
        for w in workers:
            stop(w)
    arrived = check_exactly_once(database, smtp_server, http_receiver)
    assert max(arrived.values()) == 1  # nothing arrived twice
    swept = [sum(int(line.split("swept ")[1].split()[0]) for line in log.read_text().splitlines()
                 if "swept " in line) for log in logs]  # fmt: skip
    assert sum(swept) >= 2 * TICKETS  # warnings and breaches (acknowledgements with them)


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_no_decision(
    database: CommittedDatabase,
    smtp_server: SmtpServer,
    http_receiver: HttpReceiver,
    tmp_path: Path,
) -> None:
    seed(database.engine)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = start_worker(
        database, smtp_server, http_receiver, logs[0], worker_batch="2", delivery_batch="2"
    )
    try:
        wait_until(
            "the first worker to have begun the breaches",
            lambda: counts(database.engine)[0] >= 2,
            logs,
            every=0.005,
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert counts(database.engine)[0] < TICKETS, "killed too late to be mid-work"
        second = start_worker(database, smtp_server, http_receiver, logs[1])
        try:
            wait_until(
                "every message delivered",
                lambda: counts(database.engine) == (TICKETS, 3 * TICKETS, 3 * TICKETS),
                logs,
            )
        finally:
            stop(second)
    finally:
        stop(first)
    arrived = check_exactly_once(database, smtp_server, http_receiver)
    # Delivery is at least once: only a message the killed worker had sent but not yet marked
    # can arrive again, with the same Message-ID or Idempotency-Key (one at a time per worker).
    again = [key for key, n in arrived.items() if n > 1]
    assert len(again) <= 1, again
