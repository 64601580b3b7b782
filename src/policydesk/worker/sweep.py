"""The deadline sweep: act on every ticket whose wake-up instant has come.

In one transaction per batch, the sweep takes the due tickets (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so that any number of workers share the work; SQLite lets one writer in at a time),
asks the core what each owes (``core.deadlines.look``), records each decision as an event,
queues its messages in the outbox, applies what the policy says a breach does (raise the
priority, move up a tier), and stores the next wake-up instant. A decision is recorded once:
the next look sees the event and owes nothing more; a worker that dies mid-batch commits
nothing, and the next one takes the same tickets again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from policydesk.accounts.models import Account, Contact
from policydesk.agents.models import Agent
from policydesk.core.alerts import Alert
from policydesk.core.calendar import from_us, to_us
from policydesk.core.clocks import ClockReport, evaluate
from policydesk.core.deadlines import Look, look
from policydesk.core.errors import PolicyError
from policydesk.core.intake import promise
from policydesk.core.policy import Policy
from policydesk.core.triage import missing_fields
from policydesk.core.workflow import AGENT_TIERS
from policydesk.core.zones import load_zone
from policydesk.notify.base import Outgoing
from policydesk.notify.compose import Composer
from policydesk.notify.recipients import resolve
from policydesk.outbox import service as outbox
from policydesk.policies import service as policy_service
from policydesk.policies.models import PolicyVersion
from policydesk.settings import Settings
from policydesk.tickets import clocks as ticket_clocks
from policydesk.tickets.models import Ticket, TicketEvent

__all__ = ["SweepStats", "Sweeper"]

log = logging.getLogger("policydesk.worker")

#: A ticket whose handling failed is looked at again this much later.
RETRY_AFTER = dt.timedelta(minutes=5)


@dataclass
class SweepStats:
    tickets: int = 0
    alerts: int = 0
    pages: int = 0
    broadcasts: int = 0
    acknowledgements: int = 0
    messages: int = 0
    errors: int = 0
    #: Per alert kind and clock: how many went out (for /metrics).
    by_clock: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: SweepStats) -> None:
        for name in ("tickets", "alerts", "pages", "broadcasts", "acknowledgements", "messages"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors
        for key, n in other.by_clock.items():
            self.by_clock[key] += n


@dataclass
class _Batch:
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


class Sweeper:
    """Acts on due tickets; one per worker process (it keeps the compiled templates)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.composer = Composer(settings)

    def due(self, session: Session, *, now: dt.datetime, limit: int) -> Sequence[Ticket]:
        """Take up to ``limit`` due tickets, earliest first, locked for this transaction."""
        query = (
            select(Ticket)
            .where(Ticket.wake_at <= now)
            .order_by(Ticket.wake_at, Ticket.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return session.scalars(query).all()

    def run(self, session: Session, *, now: dt.datetime, limit: int) -> SweepStats:
        """One batch, in the caller's transaction."""
        stats = SweepStats()
        tickets = self.due(session, now=now, limit=limit)
        if not tickets:
            return stats
        ids = [t.id for t in tickets]
        rows_by_ticket: dict[int, list[TicketEvent]] = defaultdict(list)
        for row in session.scalars(
            select(TicketEvent)
            .where(
                TicketEvent.ticket_id.in_(ids),
                TicketEvent.type.in_(ticket_clocks.CORE_EVENTS),
            )
            .order_by(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.id)
        ):
            rows_by_ticket[row.ticket_id].append(row)
        account_ids = {t.account_id for t in tickets if t.account_id is not None}
        accounts = {
            a.id: a for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))
        }
        batch = _Batch(session, now)
        outgoing: list[Outgoing] = []
        new_events: list[TicketEvent] = []
        read = {t.id: t.version for t in tickets}
        with session.no_autoflush:  # the batch is written at once, below
            for ticket in tickets:
                account = accounts.get(ticket.account_id) if ticket.account_id else None
                rows = rows_by_ticket[ticket.id]
                try:
                    made, messages = self._act(batch, ticket, account, rows, stats)
                except Exception:
                    log.exception("ticket %s: the sweep failed; looking again later", ticket.id)
                    ticket.wake_at = now + RETRY_AFTER
                    stats.errors += 1
                    continue
                new_events.extend(made)
                outgoing.extend(messages)
                stats.tickets += 1
        _store(session, tickets, read, new_events)
        stats.messages += outbox.enqueue(session, outgoing, now=now)
        return stats

    # ----- one ticket --------------------------------------------------------------------------

    def _act(
        self,
        batch: _Batch,
        ticket: Ticket,
        account: Account | None,
        rows: list[TicketEvent],
        stats: SweepStats,
    ) -> tuple[list[TicketEvent], list[Outgoing]]:
        now = batch.now
        now_us = to_us(now)
        policy = batch.policy(ticket.policy_version)
        facts = ticket_clocks.facts_of(ticket, account)
        events = ticket_clocks.core_events(rows)
        report = evaluate(policy, facts, events, max(now, ticket.received_at))
        seen = look(policy, facts, events, report, now_us)
        made: list[TicketEvent] = []
        messages: list[Outgoing] = []
        context = self._context(policy, ticket, account, batch)
        tier, priority = ticket.tier, report.priority.priority
        if seen.acknowledgement:
            made.append(self._acknowledge(batch, policy, ticket, report, messages))
            stats.acknowledgements += 1
        if seen.broadcast is not None:
            made.append(self._broadcast(batch, policy, ticket, seen, report, context, messages))
            stats.broadcasts += 1
        for alert in seen.alerts:
            tier, priority = self._alert(
                batch, policy, ticket, alert, context, tier, priority, made, messages
            )
            stats.alerts += 1
            stats.by_clock[(alert.kind, alert.clock)] += 1
        if seen.page_due(now_us):
            made.append(self._page(batch, policy, ticket, seen, context, messages))
            stats.pages += 1
        # Apply: an agent-visible change (priority, tier) is a new version of the ticket.
        if tier != ticket.tier or priority != report.priority.priority:
            ticket.version += 1
            ticket.tier = tier
            ticket.updated_at = now
            # A raised priority re-targets the clocks, and the new due time may have passed
            # already: that breach is recorded, but told by the alert that raised it.
            logged = [*events, *ticket_clocks.core_events(made)]
            again = evaluate(policy, facts, logged, max(now, ticket.received_at))
            for alert in look(policy, facts, logged, again, now_us).alerts:
                made.append(_silent(alert, now))
        for event in made:
            event.ticket_id = ticket.id
        after = ticket_clocks.refresh(
            ticket, policy, facts, [*events, *ticket_clocks.core_events(made)], now
        )
        if after.wake_us is not None and after.wake_us <= now_us:
            # Nothing owed now should be owed still; never spin on one ticket.
            log.warning("ticket %s still owes something after the sweep", ticket.id)
            ticket.wake_at = now + dt.timedelta(minutes=1)
        return made, messages

    def _context(
        self, policy: Policy, ticket: Ticket, account: Account | None, batch: _Batch
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

    def _alert(
        self,
        batch: _Batch,
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

    def _page(
        self,
        batch: _Batch,
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

    def _broadcast(
        self,
        batch: _Batch,
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

    def _acknowledge(
        self,
        batch: _Batch,
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


#: The ticket columns the sweep may change: the service's denormalised columns, and the tier
#: and version when a breach raises the priority or moves the ticket up.
_SWEPT = (
    "status",
    "priority",
    "priority_rank",
    "tier",
    "updated_at",
    "acknowledge_due_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolve_due_at",
    "next_deadline_at",
    "queue_deadline",
    "open_work",
    "wake_at",
    "version",
)
_TICKETS = Ticket.metadata.tables[Ticket.__tablename__]
_UPDATE_SWEPT = (
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("b_id"), _TICKETS.c.version == bindparam("b_read"))
    .values({name: bindparam(f"b_{name}", type_=_TICKETS.c[name].type) for name in _SWEPT})
)
_INSERT_EVENT = insert(TicketEvent.metadata.tables[TicketEvent.__tablename__])


def _store(
    session: Session, tickets: Sequence[Ticket], read: dict[int, int], events: list[TicketEvent]
) -> None:
    """Write the batch: its tickets in one UPDATE and its new events in one INSERT, each run
    over the batch's rows (a pipelined executemany), rather than the unit of work's UPDATE per
    ticket (a versioned row is updated alone, to check its row count) and INSERT … RETURNING
    of every event's id, which nothing reads. Each UPDATE still names the version read; the
    rows are locked since they were taken, so a mismatch is a bug, raised as the ORM would."""
    if tickets:
        params = [
            {"b_id": t.id, "b_read": read[t.id], **{f"b_{n}": getattr(t, n) for n in _SWEPT}}
            for t in tickets
        ]
        for ticket in tickets:
            session.expunge(ticket)  # written here, not again by the flush
        result = session.execute(_UPDATE_SWEPT, params)
        if result.rowcount != len(params):  # type: ignore[attr-defined]
            raise StaleDataError(
                f"the sweep updated {result.rowcount} of {len(params)} tickets"  # type: ignore[attr-defined]
            )
    if events:
        session.execute(
            _INSERT_EVENT,
            [
                {
                    "ticket_id": e.ticket_id,
                    "at": e.at,
                    "type": e.type,
                    "agent_id": e.agent_id,
                    "contact_id": e.contact_id,
                    "body": e.body or "",
                    "data": e.data,
                }
                for e in events
            ],
        )


def _silent(alert: Alert, now: dt.datetime) -> TicketEvent:
    """An alert recorded without messages: what it would say was just said."""
    data = {
        "clock": alert.clock,
        "due": from_us(alert.due_us).isoformat(),
        "clause": alert.clause,
        "notified": [],
        "messages": 0,
        "done": [],
        "silent": "told by the alert that raised the priority",
    }
    return TicketEvent(at=now, type=alert.kind, data=data)


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
