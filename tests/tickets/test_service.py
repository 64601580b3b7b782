"""Ticket use cases against real databases (SQLite and PostgreSQL), each test rolled back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Account, Contact
from policydesk.agents.models import Agent
from policydesk.errors import AccountRefused, Forbidden, InvalidInput, NotFound, StaleVersion
from policydesk.notify.compose import Composer
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.tickets import queue as ticket_queue
from policydesk.tickets import service as ticket_service
from policydesk.tickets.models import TicketEvent
from policydesk.tickets.schemas import EventIn, TicketCreate

ROOT = Path(__file__).resolve().parents[2]
# Tuesday 2026-11-24 10:00 in Toronto (RareLogic's support hours, RL10).
NOW = dt.datetime.fromisoformat("2026-11-24T10:00:00-05:00")
COMPOSER = Composer(Settings())


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    text = (ROOT / "policies" / "rarelogic.yaml").read_text()
    policy_service.activate_policy(session, text=text, source="rarelogic.yaml", now=NOW)
    acme = Account(name="Acme", plan="standard", attributes={}, created_at=NOW)
    vip = Account(
        name="VIP", plan="high_priority", attributes={"high_priority": True}, created_at=NOW
    )
    session.add_all([acme, vip])
    session.flush()
    ann = Contact(name="Ann", email="ann@acme.test", account_id=acme.id, created_at=NOW)
    vic = Contact(name="Vic", email="vic@vip.test", account_id=vip.id, created_at=NOW)
    agent = Agent(name="Ada", email="ada@desk.test", role="agent", created_at=NOW)
    session.add_all([ann, vic, agent])
    session.flush()
    return {"acme": acme, "vip": vip, "ann": ann, "vic": vic, "agent": agent}


def agent_of(world: dict[str, object]) -> Actor:
    agent = world["agent"]
    assert isinstance(agent, Agent)
    return Actor(agent=Staff.of(agent))


def open_ticket(
    session: Session, world: dict[str, object], subject: str = "How do I export?", **kw: object
) -> int:
    acme = world["acme"]
    assert isinstance(acme, Account)
    kw.setdefault("channel", "email")
    data = TicketCreate(subject=subject, account_id=kw.pop("account_id", acme.id), **kw)  # type: ignore[arg-type]
    return ticket_service.create_ticket(session, data=data, actor=agent_of(world), now=NOW).id


def test_a_new_ticket_carries_its_first_response_due_time(
    session: Session, world: dict[str, object]
) -> None:
    tid = open_ticket(session, world)
    ticket = ticket_service.get_ticket(session, ticket_id=tid, actor=agent_of(world))
    assert ticket.first_response_due_at == dt.datetime.fromisoformat("2026-11-24T12:00:00-05:00")
    assert ticket.next_deadline_at == ticket.first_response_due_at
    assert ticket.version == 1
    assert ticket.priority == "normal"
    assert ticket.status == "new"


def test_triage_runs_at_intake(session: Session, world: dict[str, object]) -> None:
    tid = open_ticket(session, world, subject="Service is down for everyone")
    assert (
        ticket_service.get_ticket(session, ticket_id=tid, actor=agent_of(world)).priority
        == "critical"
    )


def test_a_reply_meets_the_first_response_and_starts_the_follow_up(
    session: Session, world: dict[str, object]
) -> None:
    tid = open_ticket(session, world)
    later = NOW + dt.timedelta(minutes=30)
    ticket = ticket_service.record_event(
        session,
        ticket_id=tid,
        expected_version=1,
        data=EventIn(type="reply", body="Looking"),
        actor=agent_of(world),
        now=later,
        composer=COMPOSER,
    )
    assert ticket.version == 2
    assert ticket.status == "open"
    # RL12: normal follow-up in 3 business days from the first touch.
    assert ticket.next_response_due_at == dt.datetime.fromisoformat("2026-11-27T10:30:00-05:00")
    assert ticket.next_deadline_at == ticket.next_response_due_at


def test_a_stale_version_is_refused_and_nothing_is_written(
    session: Session, world: dict[str, object]
) -> None:
    tid = open_ticket(session, world)
    ticket_service.record_event(
        session,
        ticket_id=tid,
        expected_version=1,
        data=EventIn(type="note", body="n"),
        actor=agent_of(world),
        now=NOW,
        composer=COMPOSER,
    )
    with pytest.raises(StaleVersion):
        ticket_service.record_event(
            session,
            ticket_id=tid,
            expected_version=1,
            data=EventIn(type="note", body="m"),
            actor=agent_of(world),
            now=NOW,
            composer=COMPOSER,
        )
    count = session.scalar(
        select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == tid)
    )
    assert count == 2  # received + the first note


def test_a_banned_account_is_refused_with_the_reason(
    session: Session, world: dict[str, object]
) -> None:
    acme = world["acme"]
    assert isinstance(acme, Account)
    acme.status, acme.status_reason = "banned", "abusive to staff (RL4)"
    with pytest.raises(AccountRefused, match="banned: abusive to staff"):
        open_ticket(session, world)


def test_a_contact_never_sees_another_accounts_ticket(
    session: Session, world: dict[str, object]
) -> None:
    tid = open_ticket(session, world)
    vic = world["vic"]
    assert isinstance(vic, Contact)
    with pytest.raises(NotFound):
        ticket_service.get_ticket(session, ticket_id=tid, actor=Actor(contact=vic))
    page, _ = ticket_queue.list_tickets(
        session,
        actor=Actor(contact=vic),
        filters=ticket_queue.Filters(),
        cursor=None,
        limit=50,
        now=NOW,
    )
    assert page == []


def test_a_contact_can_only_reply(session: Session, world: dict[str, object]) -> None:
    tid = open_ticket(session, world)
    ann = world["ann"]
    assert isinstance(ann, Contact)
    with pytest.raises(Forbidden):
        ticket_service.record_event(
            session,
            ticket_id=tid,
            expected_version=1,
            data=EventIn(type="status", status="closed"),
            actor=Actor(contact=ann),
            now=NOW,
            composer=COMPOSER,
        )


def test_unknown_priority_names_the_field(session: Session, world: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as info:
        open_ticket(session, world, priority="urgent")
    assert info.value.field == "priority"


def test_the_queue_puts_critical_work_first_then_the_earliest_deadline(
    session: Session, world: dict[str, object]
) -> None:
    vip = world["vip"]
    assert isinstance(vip, Account)
    normal = open_ticket(
        session, world, subject="Question", received_at=NOW - dt.timedelta(hours=1)
    )
    high = open_ticket(session, world, subject="VIP question", account_id=vip.id)
    critical = open_ticket(session, world, subject="Data loss on import")
    older_normal = open_ticket(
        session, world, subject="Old question", received_at=NOW - dt.timedelta(hours=17, minutes=30)
    )
    actor = agent_of(world)
    first, cursor = ticket_queue.list_tickets(
        session, actor=actor, filters=ticket_queue.Filters(), cursor=None, limit=3, now=NOW
    )
    assert [t.id for t in first] == [critical, high, older_normal]
    rest, cursor2 = ticket_queue.list_tickets(
        session, actor=actor, filters=ticket_queue.Filters(), cursor=cursor, limit=3, now=NOW
    )
    assert [t.id for t in rest] == [normal]
    assert cursor2 is None


def test_a_forged_cursor_is_refused(session: Session, world: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as info:
        ticket_queue.list_tickets(
            session,
            actor=agent_of(world),
            filters=ticket_queue.Filters(),
            cursor="bm9wZQ",
            limit=3,
            now=NOW,
        )
    assert info.value.field == "cursor"
