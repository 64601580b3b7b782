"""Demo data: a few accounts, contacts, agents and tickets under the configured policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from policydesk.access import Actor
from policydesk.accounts.models import Account, Contact
from policydesk.agents import service as agent_service
from policydesk.agents.models import Agent
from policydesk.agents.security import hash_password
from policydesk.policies import service as policy_service
from policydesk.tickets import service as ticket_service
from policydesk.tickets.schemas import EventIn, TicketCreate

__all__ = ["DEMO_PASSWORD", "load_demo"]

DEMO_PASSWORD = "demo-password"


def load_demo(session: Session, *, policy_path: Path, now: dt.datetime) -> tuple[Agent, bool]:
    """Activate the policy and, once, add demo data. Returns the admin and whether it is new."""
    policy_service.activate_policy(
        session, text=policy_path.read_text(encoding="utf-8"), source=str(policy_path), now=now
    )
    existing = session.scalars(select(Agent).where(Agent.email == "admin@policydesk.test")).first()
    if existing is not None:
        return existing, False
    admin = agent_service.create_agent(
        session, name="Avery Admin", email="admin@policydesk.test", role="admin", tier="L2",
        password=DEMO_PASSWORD, now=now,
    )  # fmt: skip
    lead = agent_service.create_agent(
        session, name="Lee Lead", email="lead@policydesk.test", role="lead", tier="L2",
        password=DEMO_PASSWORD, now=now,
    )  # fmt: skip
    agent = agent_service.create_agent(
        session, name="Sam Support", email="sam@policydesk.test", role="agent", tier="L1",
        password=DEMO_PASSWORD, now=now,
    )  # fmt: skip
    policy = policy_service.compiled(policy_service.active_version(session))
    plans: list[str | None] = [*policy.doc.plans] or [None]
    channel = policy.doc.channels[0]
    names = [("Harbor Wines", "harbor"), ("Blue Fern Market", "bluefern"), ("Mesa Grill", "mesa")]
    accounts = []
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
            password_hash=hash_password(DEMO_PASSWORD),
            created_at=now,
        )
        session.add(contact)
        session.flush()
        account.primary_contact_id = contact.id
        accounts.append(account)
    staff = Actor(agent=agent)
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
                received_at=now - dt.timedelta(hours=3 * i + 1),
            ),
            actor=staff,
            now=now,
        )
        if i == 1:
            ticket_service.record_event(
                session,
                ticket_id=ticket.id,
                expected_version=ticket.version,
                data=EventIn(type="reply", body="Reports > Orders > Export; want a walkthrough?"),
                actor=staff,
                now=now,
            )
    _ = lead
    return admin, True
