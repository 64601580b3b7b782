"""What the sweep tells whom: the messages of an alert, an emergency page, a new ticket's
broadcast and its acknowledgement, each recorded as the event that says it went out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policydesk.accounts.models import Account, Contact
from policydesk.agents.models import Agent
from policydesk.core.alerts import Alert
from policydesk.core.calendar import from_us
from policydesk.core.clocks import ClockReport
from policydesk.core.deadlines import Look
from policydesk.core.errors import PolicyError
from policydesk.core.intake import promise
from policydesk.core.policy import Policy
from policydesk.core.triage import missing_fields
from policydesk.core.workflow import AGENT_TIERS
from policydesk.core.zones import load_zone
from policydesk.notify.base import Outgoing
from policydesk.notify.compose import Composer
from policydesk.notify.recipients import resolve
from policydesk.policies import service as policy_service
from policydesk.policies.models import PolicyVersion
from policydesk.settings import Settings
from policydesk.tickets.models import Ticket, TicketEvent

__all__ = ["Batch", "Notices"]


@dataclass
class Batch:
    """What the batch's tickets share, loaded once."""

    session: Session
    now: dt.datetime
    agents: list[Agent] | None = None
    policies: dict[str, Policy] = field(default_factory=dict)

    def policy(self, version: str) -> Policy:
        found = self.policies.get(version)
        if found is None:
            row = self.session.get(PolicyVersion, version)
            assert row is not None  # a foreign key guarantees it
            found = self.policies[version] = policy_service.compiled(row)
        return found

    def staff(self) -> list[Agent]:
        if self.agents is None:
            query = select(Agent).where(Agent.active).order_by(Agent.id)
            self.agents = list(self.session.scalars(query))
        return self.agents


class Notices:
    """Composes what goes out for a ticket, through one composer (its compiled templates)."""

    def __init__(self, settings: Settings, composer: Composer) -> None:
        self.settings = settings
        self.composer = composer

    def context(
        self, policy: Policy, ticket: Ticket, account: Account | None, batch: Batch
    ) -> dict[str, Any]:
        assignee = None
        if ticket.assignee_id is not None:
            assignee = next((a.name for a in batch.staff() if a.id == ticket.assignee_id), None)
        api = f"{self.settings.public_url.rstrip('/')}/api/v1/tickets/{ticket.id}"
        return {
            "ticket": ticket,
            "account": account.name if account else None,
            "assignee": assignee,
            "link": api,
            "api": api,
            "received_local": _local(ticket.received_at, policy.zone),
        }

    def alert(
        self,
        batch: Batch,
        policy: Policy,
        ticket: Ticket,
        alert: Alert,
        context: dict[str, Any],
        tier: str,
        priority: str,
        made: list[TicketEvent],
        messages: list[Outgoing],
    ) -> tuple[str, str]:
        """Record ``alert`` and queue its messages; returns the tier and priority after it."""
        action = alert.action
        now = batch.now
        done: list[str] = []
        changes: list[TicketEvent] = []
        why = f"{alert.kind} of the {alert.clock} clock ({alert.clause})"
        if action.raise_priority and policy.priority_rank(action.raise_priority) < (
            policy.priority_rank(priority)
        ):
            changes.append(
                TicketEvent(
                    at=now,
                    type="priority",
                    data={"priority": action.raise_priority, "reason": why, "from": priority},
                )
            )
            done.append(f"priority raised from {priority} to {action.raise_priority}")
            priority = action.raise_priority
        if action.move_to_tier and _tier_rank(action.move_to_tier) > _tier_rank(tier):
            changes.append(
                TicketEvent(
                    at=now,
                    type="tier",
                    data={"tier": action.move_to_tier, "from": tier, "reason": why},
                )
            )
            done.append(f"moved from {tier} to {action.move_to_tier}")
            tier = action.move_to_tier
        agents = resolve(
            action.notify,
            agents=batch.staff() if action.notify else [],
            assignee_id=ticket.assignee_id,
            tier=tier,
            zone=policy.zone,
            now=now,
        )
        notified = ", ".join(a.name for a in agents) or "nobody (no one matches)"
        due = from_us(alert.due_us)
        out = self.composer.to_agents(
            key=f"t{ticket.id}:{alert.kind}:{alert.clock}:{alert.due_us}",
            template="alert",
            context={
                **context,
                "kind": alert.kind,
                "clock": alert.clock.replace("_", " "),
                "due_local": _local(due, policy.zone),
                "due_utc": due.strftime("%Y-%m-%d %H:%M UTC"),
                "clause": _cited(alert.clause, action.cite),
                "done": "; ".join(done),
                "notified": notified,
            },
            via=action.via if action.notify else [],
            agents=agents,
            ticket_id=ticket.id,
            policy=policy,
        )
        messages.extend(out)
        event = TicketEvent(
            at=now,
            type=alert.kind,
            data={
                "clock": alert.clock,
                "due": due.isoformat(),
                "clause": alert.clause,
                "notified": [a.id for a in agents],
                "messages": len(out),
                "done": done,
            },
        )
        made.append(event)
        made.extend(changes)
        return tier, priority

    def page(
        self,
        batch: Batch,
        policy: Policy,
        ticket: Ticket,
        seen: Look,
        context: dict[str, Any],
        messages: list[Outgoing],
    ) -> TicketEvent:
        em, plan, model = seen.emergency, seen.page, policy.doc.emergency
        assert em is not None
        assert plan is not None
        assert model is not None
        agents = resolve(
            model.page.notify,
            agents=batch.staff(),
            assignee_id=ticket.assignee_id,
            tier=ticket.tier,
            zone=policy.zone,
            now=batch.now,
        )
        out = self.composer.to_agents(
            key=f"t{ticket.id}:page:{em.since_us}:{plan.number}",
            template="page",
            context={
                **context,
                "number": plan.number,
                "reason": em.reason,
                "repeat": model.page.repeat_every_minutes,
                "clause": _cited(em.clause, model.cite),
                "coverage": em.coverage_reason,
                "notified": ", ".join(a.name for a in agents) or "nobody (no one matches)",
            },
            via=model.page.via,
            agents=agents,
            ticket_id=ticket.id,
            policy=policy,
        )
        messages.extend(out)
        return TicketEvent(
            at=batch.now,
            type="page",
            data={
                "number": plan.number,
                "since": from_us(em.since_us).isoformat(),
                "reason": em.reason,
                "clause": em.clause,
                "notified": [a.id for a in agents],
                "messages": len(out),
            },
        )

    def broadcast(
        self,
        batch: Batch,
        policy: Policy,
        ticket: Ticket,
        seen: Look,
        report: ClockReport,
        context: dict[str, Any],
        messages: list[Outgoing],
    ) -> TicketEvent:
        rule = seen.broadcast
        assert rule is not None
        clause = policy.clause("routing")
        if ticket.assignee_id is not None:
            data: dict[str, Any] = {"clause": clause, "skipped": "already assigned"}
            return TicketEvent(at=batch.now, type="broadcast", data=data)
        found = promise(policy, report)
        promised = None if found is None else from_us(found.due_us)
        agents = resolve(
            rule.broadcast_to,
            agents=batch.staff(),
            assignee_id=None,
            tier=ticket.tier,
            zone=policy.zone,
            now=batch.now,
        )
        out = self.composer.to_agents(
            key=f"t{ticket.id}:broadcast",
            template="broadcast",
            context={
                **context,
                "clause": _cited(clause, rule.cite),
                "promise_local": None if promised is None else _local(promised, policy.zone),
                "notified": ", ".join(a.name for a in agents) or "nobody is on duty",
            },
            via=rule.via,
            agents=agents,
            ticket_id=ticket.id,
            policy=policy,
        )
        messages.extend(out)
        data = {"clause": clause, "notified": [a.id for a in agents], "messages": len(out)}
        return TicketEvent(at=batch.now, type="broadcast", data=data)

    def acknowledgement(
        self,
        batch: Batch,
        policy: Policy,
        ticket: Ticket,
        report: ClockReport,
        messages: list[Outgoing],
    ) -> TicketEvent:
        contact = batch.session.get(Contact, ticket.requester_id) if ticket.requester_id else None
        if contact is None or not contact.email:
            return TicketEvent(
                at=batch.now, type="acknowledgement", data={"skipped": "no requester e-mail"}
            )
        zone = policy.zone
        if contact.time_zone:
            zone = _zone_or(contact.time_zone, zone)
        promised = promise(policy, report)
        when = None if promised is None else from_us(promised.due_us)
        missing = missing_fields(policy, ticket.category, ticket.custom_fields or {})
        # A ticket opened by e-mail: the acknowledgement answers that message (threading).
        received = batch.session.scalar(
            select(TicketEvent.data).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.type == "received"
            )
        )
        inbound = (received or {}).get("message_id")
        out = self.composer.to_customer(
            key=f"t{ticket.id}:acknowledgement",
            template="acknowledgement",
            context={
                "ticket": ticket,
                "name": contact.name,
                "desk": self.settings.desk_name,
                "promise_local": None if when is None else _local(when, zone),
                "missing": ", ".join(missing),
            },
            address=contact.email,
            ticket_id=ticket.id,
            in_reply_to=f"<{inbound}>" if isinstance(inbound, str) else None,
            policy=policy,
        )
        messages.append(out)
        data: dict[str, Any] = {"to": contact.email, "message_id": out.data["message_id"]}
        if promised is not None and when is not None:
            data |= {"promise": when.isoformat(), "clock": promised.clock}
            data["clause"] = promised.clause
        if missing:
            data["asked_for"] = missing
        return TicketEvent(at=batch.now, type="acknowledgement", data=data)


def _tier_rank(tier: str) -> int:
    return AGENT_TIERS.index(tier) if tier in AGENT_TIERS else -1


def _cited(clause: str, cite: str) -> str:
    return f"{clause} ({cite})" if cite else clause


def _local(when: dt.datetime, zone: dt.tzinfo) -> str:
    return when.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _zone_or(name: str, fallback: dt.tzinfo) -> dt.tzinfo:
    try:
        return load_zone(name)
    except PolicyError:
        return fallback
