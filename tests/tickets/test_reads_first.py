"""Opening a ticket reads first and takes SQLite's write lock only to store it: what the
ticket was checked and timed against must still hold when it is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Account
from policydesk.agents.models import Agent
from policydesk.db.engine import begin_reads_first, session_scope, sessions
from policydesk.errors import AccountRefused
from policydesk.policies import service as policy_service
from policydesk.tickets import service as ticket_service
from policydesk.tickets.models import Ticket
from policydesk.tickets.schemas import TicketCreate
from tests.conftest import CommittedDatabase

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.fromisoformat("2026-11-24T10:00:00-05:00")


def _desk(factory: sessionmaker[Session]) -> tuple[int, Actor]:
    with session_scope(factory) as s:
        text = (ROOT / "policies" / "rarelogic.yaml").read_text()
        policy_service.activate_policy(s, text=text, source="rarelogic.yaml", now=NOW)
        acme = Account(name="Acme", plan="standard", attributes={}, created_at=NOW)
        ada = Agent(name="Ada", email="ada@desk.test", role="agent", created_at=NOW)
        s.add_all([acme, ada])
        s.flush()
        return acme.id, Actor(agent=Staff.of(ada))


def _set(account_id: int, **values: object) -> Callable[[Session], None]:
    """What another session commits meanwhile: these values on the account's row."""
    return lambda other: other.execute(
        update(Account).where(Account.id == account_id).values(**values)
    )


def _open_while(
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    account_id: int,
    actor: Actor,
    meanwhile: Callable[[Session], None],
) -> Ticket:
    """Open a ticket in a reads-first transaction, with ``meanwhile`` committed by another
    session after the ticket was checked and timed, just before the write lock is taken."""
    take_write_lock = ticket_service.take_write_lock

    def other_writer_first(session: Session) -> bool:
        with session_scope(factory) as other:
            meanwhile(other)
        return take_write_lock(session)

    monkeypatch.setattr(ticket_service, "take_write_lock", other_writer_first)
    data = TicketCreate(subject="How do I export?", channel="email", account_id=account_id)
    with session_scope(factory) as s:
        begin_reads_first(s)
        return ticket_service.create_ticket(s, data=data, actor=actor, now=NOW)


def test_a_ban_landing_while_a_ticket_is_checked_refuses_it_on_sqlite(
    database: CommittedDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the account is read again under the write lock, so the outcome is the one
    of doing it all under the lock: the ticket is refused with the ban's reason. PostgreSQL
    takes no database-wide lock; there the ticket counts as opened before the ban (which
    reads no tickets), as it always has at READ COMMITTED."""
    factory = sessions(database.engine)
    account_id, actor = _desk(factory)

    ban = _set(account_id, status="banned", status_reason="abusive language")
    if database.engine.dialect.name == "sqlite":
        with pytest.raises(AccountRefused, match="banned: abusive language"):
            _open_while(factory, monkeypatch, account_id, actor, ban)
        with factory() as s:
            assert s.scalars(select(Ticket)).all() == []
    else:
        ticket = _open_while(factory, monkeypatch, account_id, actor, ban)
        assert ticket.id is not None


def test_a_plan_changed_while_a_ticket_is_checked_times_it_by_the_new_plan_on_sqlite(
    database: CommittedDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RL13: a high-priority client's ticket is "high". The upgrade lands after the ticket was
    triaged as "normal"; SQLite triages it again under the write lock. On PostgreSQL it keeps
    what it was triaged with when read (the change touches no existing ticket either)."""
    factory = sessions(database.engine)
    account_id, actor = _desk(factory)

    upgrade = _set(account_id, plan="high_priority", attributes={"high_priority": True})
    ticket = _open_while(factory, monkeypatch, account_id, actor, upgrade)
    expected = "high" if database.engine.dialect.name == "sqlite" else "normal"
    assert ticket.priority == expected
    with factory() as s:
        assert s.get(Ticket, ticket.id) is not None


def test_a_ticket_opened_with_nothing_changed_meanwhile_is_stored_once(
    database: CommittedDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = sessions(database.engine)
    account_id, actor = _desk(factory)
    ticket = _open_while(factory, monkeypatch, account_id, actor, lambda _other: None)
    with factory() as s:
        stored = s.scalars(select(Ticket)).all()
    assert [t.id for t in stored] == [ticket.id]
    assert stored[0].priority == "normal"
