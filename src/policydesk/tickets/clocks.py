"""A ticket's clocks: from its log to the columns the queue and the worker read.

After every change the service recomputes the clocks from the whole log (``refresh``), in the
same transaction, and stores what the queue sorts by and the worker wakes on: each clock's due
time, the earliest pending deadline, and the next instant the ticket owes something.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from policydesk import metrics
from policydesk.core.calendar import from_us, to_us
from policydesk.core.clocks import ClockReport, evaluate
from policydesk.core.deadlines import Look, look
from policydesk.core.facts import EVENT_TYPES, Event, TicketFacts
from policydesk.core.policy import Policy
from policydesk.tickets.models import Ticket, TicketEvent

__all__ = [
    "CLOSED",
    "CORE_EVENTS",
    "NO_DEADLINE",
    "AccountTerms",
    "core_events",
    "evaluate_ticket",
    "facts_and_events",
    "facts_of",
    "recompute",
    "refresh",
]

#: Sorts after every real deadline: the queue key of a ticket with none pending.
NO_DEADLINE = dt.datetime(2999, 12, 31, tzinfo=dt.UTC)
CLOSED = ("resolved", "closed")
#: Log entries the core reads: what moves a clock, the tier (RS4), and what the worker sent.
CORE_EVENTS = EVENT_TYPES


class AccountTerms(Protocol):
    """What the policy reads of a ticket's account (an ``Account``, or just these columns)."""

    @property
    def plan(self) -> str | None: ...
    @property
    def contract(self) -> str | None: ...
    @property
    def attributes(self) -> dict[str, Any]: ...


def facts_of(ticket: Ticket, account: AccountTerms | None) -> TicketFacts:
    """What the core is told about a ticket as received."""
    return TicketFacts(
        received=ticket.received_at,
        plan=account.plan if account else None,
        channel=ticket.channel,
        subject=ticket.subject,
        body=ticket.body,
        contract=account.contract if account else None,
        attributes=dict(account.attributes) if account else {},
    )


def core_events(rows: Iterable[TicketEvent]) -> list[Event]:
    """The log entries the core reads (``CORE_EVENTS``), as core events."""
    out = []
    for e in rows:
        if e.type not in CORE_EVENTS:
            continue
        data = e.data or {}
        due = data.get("due")
        out.append(
            Event(
                e.at,
                e.type,
                status=data.get("status"),
                priority=data.get("priority"),
                tier=data.get("tier"),
                suggestion=bool(data.get("suggestion")),
                clock=data.get("clock"),
                due=dt.datetime.fromisoformat(due) if due else None,
            )
        )
    return out


def facts_and_events(
    session: Session,
    ticket: Ticket,
    account: AccountTerms | None,
    new_events: Sequence[TicketEvent],
) -> tuple[TicketFacts, list[Event]]:
    rows: list[TicketEvent] = []
    if ticket.id is not None:
        with session.no_autoflush:  # the ticket's own pending changes are flushed once, later
            rows = list(
                session.scalars(
                    select(TicketEvent)
                    .where(TicketEvent.ticket_id == ticket.id, TicketEvent.type.in_(CORE_EVENTS))
                    .order_by(TicketEvent.at, TicketEvent.id)
                )
            )
    rows.extend(new_events)
    return facts_of(ticket, account), core_events(rows)


def evaluate_ticket(
    session: Session,
    ticket: Ticket,
    policy: Policy,
    account: AccountTerms | None,
    now: dt.datetime,
    new_events: Sequence[TicketEvent] = (),
) -> ClockReport:
    facts, events = facts_and_events(session, ticket, account, new_events)
    return evaluate(policy, facts, events, max(now, ticket.received_at))


def recompute(
    session: Session,
    ticket: Ticket,
    policy: Policy,
    account: AccountTerms | None,
    now: dt.datetime,
    new_events: Sequence[TicketEvent] = (),
) -> None:
    """Bring the ticket's denormalised columns in line with its log (and ``new_events``)."""
    facts, events = facts_and_events(session, ticket, account, new_events)
    refresh(ticket, policy, facts, events, now)


def refresh(
    ticket: Ticket, policy: Policy, facts: TicketFacts, events: list[Event], now: dt.datetime
) -> Look:
    """Set the ticket's denormalised columns (status, priority, each clock's due time, the queue
    key and the worker's wake-up instant) from its log; returns what the ticket owes now."""
    as_of = max(now, ticket.received_at)
    report = evaluate(policy, facts, events, as_of)
    seen = look(policy, facts, events, report, to_us(as_of))
    ticket.status = report.status
    ticket.priority = report.priority.priority
    ticket.priority_rank = policy.priority_rank(ticket.priority)
    dues: dict[str, dt.datetime | None] = {}
    pending: list[dt.datetime] = []
    for name, clock in report.clocks.items():
        dues[name] = clock.due
        if clock.state in ("running", "breached") and clock.met_us is None and clock.due:
            pending.append(clock.due)
    ticket.acknowledge_due_at = dues.get("acknowledge")
    ticket.first_response_due_at = dues.get("first_response")
    ticket.next_response_due_at = dues.get("next_response")
    ticket.resolve_due_at = dues.get("resolve")
    ticket.next_deadline_at = min(pending) if pending else None
    ticket.queue_deadline = ticket.next_deadline_at or NO_DEADLINE
    ticket.open_work = ticket.status not in CLOSED
    ticket.wake_at = None if seen.wake_us is None else from_us(seen.wake_us)
    as_of_us = to_us(as_of)
    for name, clock in report.clocks.items():
        if clock.met_us == as_of_us and clock.state in ("met", "breached"):
            metrics.clock_ended(name, late=clock.breached)
    return seen
