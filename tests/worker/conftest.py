"""A desk for the worker's tests: a policy, staff with shifts and phones, an account with a
contact, fake notifiers, and a worker whose clock the test sets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Account, Contact
from policydesk.agents import service as agent_service
from policydesk.agents.models import Agent
from policydesk.core.routing import DAYS
from policydesk.db.engine import session_scope
from policydesk.notify.fake import FakeNotifier
from policydesk.outbox.models import OutboxMessage
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.tickets import service as ticket_service
from policydesk.tickets.models import Ticket, TicketEvent
from policydesk.tickets.schemas import EventIn, TicketCreate
from policydesk.worker.runner import Round, Worker

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "http://127.0.0.1:9/hooks/team"
SMS = "http://127.0.0.1:9/sms"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@dataclass
class Desk:
    factory: sessionmaker[Session]
    clock: list[dt.datetime]
    notifiers: dict[str, FakeNotifier]
    worker: Worker
    staff: dict[str, int]
    account_id: int
    contact_id: int
    settings: Settings
    policy_file: str = ""
    _ids: list[int] = field(default_factory=list)

    def run(self, when: str | dt.datetime) -> Round:
        """One worker round at ``when``."""
        self.clock[0] = at(when) if isinstance(when, str) else when
        return self.worker.run_round()

    def open(self, received: str, **fields: object) -> int:
        """Open a ticket received at ``received``, as agent Sam, for the account's contact."""
        data = {"subject": "A question", "channel": "email", "account_id": self.account_id,
                "requester_id": self.contact_id, "received_at": received, **fields}  # fmt: skip
        with session_scope(self.factory) as s:
            sam = s.get(Agent, self.staff["sam"])
            ticket = ticket_service.create_ticket(
                s, data=TicketCreate.model_validate(data), actor=Actor(agent=Staff.of(sam)),
                now=at(received),
            )  # fmt: skip
            return ticket.id

    def event(self, ticket_id: int, when: str, agent: str = "sam", **data: object) -> None:
        with session_scope(self.factory) as s:
            ticket = s.get(Ticket, ticket_id)
            assert ticket is not None
            ticket_service.record_event(
                s, ticket_id=ticket_id, expected_version=ticket.version,
                data=EventIn.model_validate(data),
                actor=Actor(agent=Staff.of(s.get(Agent, self.staff[agent]))), now=at(when),
                composer=self.worker.sweeper.composer,
            )  # fmt: skip

    def events(self, ticket_id: int, *types: str) -> list[TicketEvent]:
        with session_scope(self.factory) as s:
            query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
            if types:
                query = query.where(TicketEvent.type.in_(types))
            return list(s.scalars(query.order_by(TicketEvent.at, TicketEvent.id)))

    def ticket(self, ticket_id: int) -> Ticket:
        with session_scope(self.factory) as s:
            found = s.get(Ticket, ticket_id)
            assert found is not None
            return found

    def outbox(self) -> list[OutboxMessage]:
        with session_scope(self.factory) as s:
            return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def sent(self, channel: str = "email") -> list[tuple[str, str]]:
        """(recipient, subject) of what the channel's notifier accepted, in order."""
        return [(d.recipient, d.subject) for d in self.notifiers[channel].sent]

    def clear(self) -> None:
        for n in self.notifiers.values():
            n.sent.clear()


MakeDesk = Callable[..., Desk]


@pytest.fixture
def make_desk(factory: sessionmaker[Session]) -> MakeDesk:
    """``make_desk("rarelogic.yaml", now=…)``: a seeded desk under one of the example
    policies (or a policy text)."""

    def make(policy: str, *, now: str, plan: str | None = None, zone: str | None = None) -> Desk:
        text = (ROOT / "policies" / policy).read_text() if policy.endswith(".yaml") else policy
        start = at(now)
        with session_scope(factory) as s:
            policy_service.activate_policy(s, text=text, source=policy[:40], now=start)
            compiled = policy_service.compiled(policy_service.active_version(s))
            staff = {}
            for key, name, role, tier, shifts, on_call, phone in (
                ("admin", "Avery Admin", "admin", "L2", [], False, None),
                ("lead", "Lee Lead", "lead", "L2", [], False, "+15550000002"),
                ("sam", "Sam Support", "agent", "L1",
                 [{"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00"}],
                 False, "+15550000003"),
                ("nia", "Nia Night", "agent", "L1",
                 [{"days": list(DAYS), "hours": "22:00-06:00"}],
                 False, "+15550000004"),
                ("pat", "Pat Product", "agent", "PT", [], True, "+15550000005"),
                ("dev", "Dee Dev", "agent", "Dev", [], False, None),
            ):  # fmt: skip
                a = agent_service.create_agent(
                    s, name=name, email=f"{key}@desk.test", role=role, tier=tier, now=start
                )
                a.shifts, a.on_call, a.phone = shifts, on_call, phone
                staff[key] = a.id
            plans = list(compiled.doc.plans)
            chosen = plan or (plans[0] if plans else None)
            contract = compiled.doc.plans[chosen].contract if chosen else None
            account = Account(name="Acme Stores", plan=chosen, contract=contract, attributes={},
                              created_at=start)  # fmt: skip
            s.add(account)
            s.flush()
            contact = Contact(name="Ann Owner", email="ann@acme.test", account_id=account.id,
                              time_zone=zone, created_at=start)  # fmt: skip
            s.add(contact)
            s.flush()
            ids = (account.id, contact.id)
        clock = [start]
        notifiers = {c: FakeNotifier(c) for c in ("email", "webhook", "sms")}
        settings = Settings(webhook_urls=[WEBHOOK], sms_gateway_url=SMS, worker_batch=50,
                            delivery_batch=50, delivery_backoff_seconds=60)  # fmt: skip
        worker = Worker(settings, factory, clock=lambda: clock[0], notifiers=notifiers)
        return Desk(factory, clock, notifiers, worker, staff, ids[0], ids[1], settings, policy)

    return make
