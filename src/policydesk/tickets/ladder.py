"""The escalation ladder over stored tickets: a tier change is checked by the core against the
ticket's log, with RS5 exceptions borne out by the records (the cited ticket, the named agent's
part in it or in this one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from policydesk.agents.models import Agent
from policydesk.core.escalation import Claim, check_escalation
from policydesk.core.facts import Event
from policydesk.core.policy import Policy
from policydesk.errors import EscalationRefused, InvalidInput
from policydesk.tickets.models import Ticket, TicketEvent
from policydesk.tickets.schemas import EventIn

__all__ = ["escalate"]


def escalate(
    session: Session, *, policy: Policy, ticket: Ticket, events: list[Event], data: EventIn
) -> dict[str, Any]:
    """The tier event's payload when the ladder allows the move; raises ``EscalationRefused``
    naming the missing condition, or ``InvalidInput`` for an exception without its facts."""
    assert data.tier is not None
    claim = _claim(session, ticket, data)
    verdict = check_escalation(policy, events, ticket.tier, data.tier, claim)
    if not verdict.allowed:
        raise EscalationRefused(
            f"escalation from {ticket.tier} to {data.tier} refused: {verdict}", field="tier"
        )
    payload: dict[str, Any] = {
        "tier": data.tier,
        "from": ticket.tier,
        "reason": data.reason,
        "ladder": str(verdict),
    }
    if claim is not None:
        payload |= {"exception": data.exception, "named_agent_id": data.named_agent_id}
        if data.cited_ticket_id is not None:
            payload["cited_ticket_id"] = data.cited_ticket_id
    return payload


def _claim(session: Session, ticket: Ticket, data: EventIn) -> Claim | None:
    if data.exception is None:
        return None
    if data.named_agent_id is None:
        raise InvalidInput("an RS5 exception names the higher-tier agent", field="named_agent_id")
    agent = session.get(Agent, data.named_agent_id)
    if agent is None:
        raise InvalidInput(f"no agent {data.named_agent_id}", field="named_agent_id")
    who = f"{agent.name} ({agent.tier})"
    if data.exception == "asked_for_details":
        asked = _worked_on(session, ticket.id, agent.id)
        detail = (
            f"{who} wrote on this ticket" if asked else f"{who} has written nothing on this ticket"
        )
        return Claim("asked_for_details", agent.tier, asked, detail)
    if data.cited_ticket_id is None:
        raise InvalidInput(
            "a named request cites the customer's earlier ticket", field="cited_ticket_id"
        )
    cited = session.get(Ticket, data.cited_ticket_id)
    if cited is None or cited.id == ticket.id:
        raise InvalidInput(f"no earlier ticket {data.cited_ticket_id}", field="cited_ticket_id")
    if cited.account_id != ticket.account_id:
        detail = f"ticket #{cited.id} is another account's"
        return Claim("named_request", agent.tier, False, detail)
    shown = cited.assignee_id == agent.id or _worked_on(session, cited.id, agent.id)
    detail = (
        f"ticket #{cited.id} of the same account was worked on by {who}"
        if shown
        else f"ticket #{cited.id} shows no work by {who}"
    )
    return Claim("named_request", agent.tier, shown, detail)


def _worked_on(session: Session, ticket_id: int, agent_id: int) -> bool:
    query = select(
        exists().where(TicketEvent.ticket_id == ticket_id, TicketEvent.agent_id == agent_id)
    )
    return bool(session.scalar(query))
