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

from sqlalchemy import Integer, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from policydesk.accounts.models import Account
from policydesk.core.alerts import Alert
from policydesk.core.calendar import from_us, to_us
from policydesk.core.clocks import evaluate
from policydesk.core.deadlines import look
from policydesk.notify.base import Outgoing
from policydesk.notify.compose import Composer
from policydesk.outbox import service as outbox
from policydesk.settings import Settings
from policydesk.tickets import clocks as ticket_clocks
from policydesk.tickets.models import Ticket, TicketEvent
from policydesk.worker.notices import Batch, Notices

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


class Sweeper:
    """Acts on due tickets; one per worker process (it keeps the compiled templates)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.composer = Composer(settings)
        self.notices = Notices(settings, self.composer)

    def claim(self, session: Session, *, now: dt.datetime, limit: int) -> list[int]:
        """The ids of up to ``limit`` due tickets, earliest first, locked for this transaction.

        Only the ids, in the index's order: finding and locking a batch does not wait for the
        loading of its wide rows, which ``due`` does next, by primary key."""
        query = (
            select(Ticket.id)
            .where(Ticket.wake_at <= now)
            .order_by(Ticket.wake_at, Ticket.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(session.scalars(query))

    def due(self, session: Session, *, now: dt.datetime, limit: int) -> Sequence[Ticket]:
        """The claimed tickets, loaded, earliest first."""
        ids = self.claim(session, now=now, limit=limit)
        if not ids:
            return []
        query = select(Ticket).where(_among(session, Ticket.id, ids))
        return session.scalars(query.order_by(Ticket.wake_at, Ticket.id)).all()

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
                _among(session, TicketEvent.ticket_id, ids),
                TicketEvent.type.in_(ticket_clocks.CORE_EVENTS),
            )
            .order_by(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.id)
        ):
            rows_by_ticket[row.ticket_id].append(row)
        account_ids = {t.account_id for t in tickets if t.account_id is not None}
        accounts = {
            a.id: a for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))
        }
        batch = Batch(session, now)
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
        batch: Batch,
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
        context = self.notices.context(policy, ticket, account, batch)
        tier, priority = ticket.tier, report.priority.priority
        if seen.acknowledgement:
            made.append(self.notices.acknowledgement(batch, policy, ticket, report, messages))
            stats.acknowledgements += 1
        if seen.broadcast is not None:
            made.append(
                self.notices.broadcast(batch, policy, ticket, seen, report, context, messages)
            )
            stats.broadcasts += 1
        for alert in seen.alerts:
            tier, priority = self.notices.alert(
                batch, policy, ticket, alert, context, tier, priority, made, messages
            )
            stats.alerts += 1
            stats.by_clock[(alert.kind, alert.clock)] += 1
        if seen.page_due(now_us):
            made.append(self.notices.page(batch, policy, ticket, seen, context, messages))
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


def _among(
    session: Session, column: InstrumentedAttribute[int], ids: list[int]
) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL as one array parameter: with a batch's 500 values in
    an IN list, the driver spends longer rewriting the statement than the server running it."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


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
