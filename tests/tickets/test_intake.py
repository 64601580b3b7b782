"""Intake rules from the policy: categories and the fields they require (DL6)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from policydesk.access import Actor, Staff
from policydesk.agents.models import Agent
from policydesk.errors import InvalidInput
from policydesk.policies import service as policy_service
from policydesk.tickets import service as ticket_service
from policydesk.tickets.schemas import TicketCreate

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.fromisoformat("2026-11-24T10:00:00-05:00")


@pytest.fixture
def staff(session: Session) -> Actor:
    text = (ROOT / "policies" / "storebuilder.yaml").read_text()
    policy_service.activate_policy(session, text=text, source="storebuilder.yaml", now=NOW)
    agent = Agent(name="Ada", email="ada@desk.test", created_at=NOW)
    session.add(agent)
    session.flush()
    return Actor(agent=Staff.of(agent))


def create(session: Session, staff: Actor, **kw: object) -> int:
    data = TicketCreate(subject="Pictures missing", channel="contact_form", **kw)  # type: ignore[arg-type]
    return ticket_service.create_ticket(session, data=data, actor=staff, now=NOW).id


def test_an_item_issue_without_item_numbers_is_refused_naming_the_field(
    session: Session, staff: Actor
) -> None:
    with pytest.raises(InvalidInput) as info:
        create(session, staff, category="item_issue")
    assert info.value.field == "custom_fields.item_numbers"
    assert info.value.detail == "a item_issue ticket needs item_numbers (DL6)"


def test_an_order_issue_with_its_order_number_is_accepted(session: Session, staff: Actor) -> None:
    tid = create(session, staff, category="order_issue", custom_fields={"order_number": "A-1001"})
    ticket = ticket_service.get_ticket(session, ticket_id=tid, actor=staff)
    assert ticket.custom_fields == {"order_number": "A-1001"}
    # DL4: a contact-form message is answered within 48 hours, around the clock.
    assert ticket.first_response_due_at == NOW + dt.timedelta(hours=48)


def test_a_blank_required_field_counts_as_missing(session: Session, staff: Actor) -> None:
    with pytest.raises(InvalidInput):
        create(session, staff, category="order_issue", custom_fields={"order_number": "  "})


def test_an_unknown_category_lists_the_known_ones(session: Session, staff: Actor) -> None:
    with pytest.raises(InvalidInput) as info:
        create(session, staff, category="billing")
    assert info.value.field == "category"
    assert "order_issue, item_issue, other" in info.value.detail
