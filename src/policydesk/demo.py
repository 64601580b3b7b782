"""Demo data: accounts, contacts, staff on shifts and tickets under the configured policy.

One ticket is left unanswered so that the worker has something to do at once: its first clock
with a warning and a breach comes due two minutes after the demo is loaded (or as soon after as
the policy's calendar allows), so its warning goes out at once and its breach a little later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Account, Contact
from policydesk.agents import service as agent_service
from policydesk.agents.models import Agent
from policydesk.agents.security import hash_password
from policydesk.core.clocks import evaluate
from policydesk.core.facts import TicketFacts
from policydesk.core.policy import Policy
from policydesk.core.routing import DAYS
from policydesk.notify.compose import Composer
from policydesk.policies import service as policy_service
from policydesk.tickets import service as ticket_service
from policydesk.tickets.schemas import EventIn, TicketCreate

__all__ = ["DEMO_PASSWORD", "Demo", "load_demo"]

DEMO_PASSWORD = "demo-password"
WEEKDAYS = list(DAYS[:5])


@dataclass(frozen=True)
class Demo:
    admin: Agent
    created: bool
    #: The unanswered ticket, and when its clock is due (None when the policy has no alerts).
    unanswered: int | None = None
    due: dt.datetime | None = None


def load_demo(session: Session, *, policy_path: Path, now: dt.datetime, composer: Composer) -> Demo:
    """Activate the policy and, once, add demo data."""
    policy_service.activate_policy(
        session, text=policy_path.read_text(encoding="utf-8"), source=str(policy_path), now=now
    )
    existing = session.scalars(select(Agent).where(Agent.email == "admin@policydesk.test")).first()
    if existing is not None:
        return Demo(existing, False)
    staff = {}
    for key, name, role, tier, shifts, on_call, phone in (
        ("admin", "Avery Admin", "admin", "L2", [], False, None),
        ("lead", "Lee Lead", "lead", "L2", [{"days": WEEKDAYS, "hours": "08:00-16:00"}], False,
         "+15550100001"),
        ("sam", "Sam Support", "agent", "L1", [{"days": WEEKDAYS, "hours": "09:00-17:00"}], False,
         None),
        ("nia", "Nia Nights", "agent", "L1", [{"days": list(DAYS), "hours": "22:00-06:00"}], False,
         "+15550100002"),
        ("pat", "Pat Product", "agent", "PT", [], True, "+15550100003"),
    ):  # fmt: skip
        agent = agent_service.create_agent(
            session, name=name, email=f"{key}@policydesk.test", role=role, tier=tier,
            password=DEMO_PASSWORD, now=now,
        )  # fmt: skip
        agent.shifts, agent.on_call, agent.phone = shifts, on_call, phone
        staff[key] = agent
    policy = policy_service.compiled(policy_service.active_version(session))
    plans: list[str | None] = [*policy.doc.plans] or [None]
    channel = policy.doc.channels[0]
    names = [("Harbor Wines", "harbor"), ("Blue Fern Market", "bluefern"), ("Mesa Grill", "mesa")]
    accounts: list[Account] = []
    contacts: list[Contact] = []
    password = hash_password(DEMO_PASSWORD)
    for i, (name, slug) in enumerate(names):
        plan = plans[i % len(plans)]
        contract = policy.doc.plans[plan].contract if plan else None
        account = Account(name=name, plan=plan, contract=contract, attributes={}, created_at=now)
        session.add(account)
        session.flush()
        contact = Contact(
            name=f"{name.split()[0]} Owner",
            email=f"owner@{slug}.test",
            account_id=account.id,
            trained=i != 1,
            password_hash=password,
            time_zone=("America/Los_Angeles", None, "America/Chicago")[i],
            created_at=now,
        )
        session.add(contact)
        session.flush()
        account.primary_contact_id = contact.id
        accounts.append(account)
        contacts.append(contact)
    staff_actor = Actor(agent=Staff.of(staff["sam"]))
    subjects = [
        "Our store is down, customers cannot place orders",
        "How do I export last month's orders?",
        "Question about the invoice for October",
        "Feature request: bulk edit of product photos",
    ]
    for i, subject in enumerate(subjects):
        ticket = ticket_service.create_ticket(
            session,
            data=TicketCreate(
                subject=subject,
                body="Hello, could you help with this? Thanks.",
                channel=channel,
                account_id=accounts[i % len(accounts)].id,
                requester_id=contacts[i % len(contacts)].id,
                received_at=now - dt.timedelta(hours=3 * i + 1),
            ),
            actor=staff_actor,
            now=now,
        )
        if i == 1:
            ticket_service.record_event(
                session,
                ticket_id=ticket.id,
                expected_version=ticket.version,
                data=EventIn(type="reply", body="Reports > Orders > Export; want a walkthrough?"),
                actor=staff_actor,
                now=now,
                composer=composer,
            )
    unanswered, due = _unanswered(
        session, policy, accounts[1], contacts[1], channel, staff_actor, now
    )
    return Demo(staff["admin"], True, unanswered, due)


def _unanswered(
    session: Session,
    policy: Policy,
    account: Account,
    contact: Contact,
    channel: str,
    actor: Actor,
    now: dt.datetime,
) -> tuple[int | None, dt.datetime | None]:
    """A ticket received so that its first alerting clock is due about two minutes from now."""
    clock = next(
        (n for n, c in policy.doc.clocks.items() if c.on_breach and c.starts == "received"), None
    )
    if clock is None:
        return None, None
    for subject in ("Checkout page shows the wrong tax rate", "Our store site is down"):
        facts = TicketFacts(received=now, plan=account.plan, channel=channel, subject=subject,
                            contract=account.contract)  # fmt: skip
        if _due(policy, facts, clock, now) is not None:  # a priority with a target
            break
    else:
        return None, None
    target = now + dt.timedelta(minutes=2)
    received = _received_for(policy, facts, clock, target, now)
    ticket = ticket_service.create_ticket(
        session,
        data=TicketCreate(
            subject=subject,
            body="Since this morning, for every order.",
            channel=channel,
            account_id=account.id,
            requester_id=contact.id,
            received_at=received,
        ),
        actor=actor,
        now=now,
    )
    return ticket.id, _due(policy, facts, clock, received)


def _due(
    policy: Policy, facts: TicketFacts, clock: str, received: dt.datetime
) -> dt.datetime | None:
    report = evaluate(policy, dataclasses.replace(facts, received=received), [], received)
    return report.clocks[clock].due


def _received_for(
    policy: Policy, facts: TicketFacts, clock: str, target: dt.datetime, now: dt.datetime
) -> dt.datetime:
    """The earliest receipt, at most ``now``, whose ``clock`` is due no earlier than ``target``
    (due times only move later as receipt does)."""

    def due(at: dt.datetime) -> dt.datetime:
        found = _due(policy, facts, clock, at)
        assert found is not None
        return found

    lo, hi = now - dt.timedelta(days=60), now
    if due(hi) < target:
        return hi
    for _ in range(40):
        mid = lo + (hi - lo) / 2
        if due(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi
