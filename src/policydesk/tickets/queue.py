"""The queue: tickets by urgency, a page at a time, read as rows (a page is read, never
changed)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.orm import Session

from policydesk.access import Actor
from policydesk.errors import InvalidInput
from policydesk.tickets.models import Ticket
from policydesk.tickets.schemas import TicketOut
from policydesk.types import MAX_ID

__all__ = ["Filters", "list_tickets"]

_TICKETS = Ticket.metadata.tables[Ticket.__tablename__]


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    priority: str | None = None
    account_id: int | None = None
    assignee_id: int | None = None
    tier: str | None = None
    breached: bool | None = None
    due_before: dt.datetime | None = None
    include_closed: bool = False


def list_tickets(
    session: Session,
    *,
    actor: Actor,
    filters: Filters,
    cursor: str | None,
    limit: int,
    now: dt.datetime,
) -> tuple[Sequence[Row[Any]], str | None]:
    """A page of tickets by urgency: the most urgent priority first and exclusively ahead of
    the rest (SC2), then the earliest pending deadline, then the ticket number.

    Each row holds the columns the listing shows (``TicketOut``'s fields), read as plain
    rows rather than loaded as tickets: a page is read, never changed."""
    query = select(*_LISTED)
    if actor.contact is not None:
        query = query.where(Ticket.account_id == actor.contact.account_id)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status)
    elif not filters.include_closed:
        query = query.where(Ticket.open_work)
    if filters.priority is not None:
        query = query.where(Ticket.priority == filters.priority)
    if filters.account_id is not None:
        query = query.where(Ticket.account_id == filters.account_id)
    if filters.assignee_id is not None:
        query = query.where(Ticket.assignee_id == filters.assignee_id)
    if filters.tier is not None:
        query = query.where(Ticket.tier == filters.tier)
    if filters.breached is True:
        query = query.where(Ticket.next_deadline_at <= now)
    elif filters.breached is False:
        query = query.where(or_(Ticket.next_deadline_at.is_(None), Ticket.next_deadline_at > now))
    if filters.due_before is not None:
        query = query.where(Ticket.next_deadline_at < filters.due_before)
    if cursor is not None:
        rank, deadline, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(
                Ticket.priority_rank > rank,
                and_(Ticket.priority_rank == rank, Ticket.queue_deadline > deadline),
                and_(
                    Ticket.priority_rank == rank,
                    Ticket.queue_deadline == deadline,
                    Ticket.id > last_id,
                ),
            )
        )
    query = query.order_by(Ticket.priority_rank, Ticket.queue_deadline, Ticket.id).limit(limit + 1)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = _encode_cursor(rows[-1]) if more and rows else None
    return rows, nxt


#: What a queue row holds: the fields the API lists, and the paging key.
_LISTED = tuple(
    _TICKETS.c[name]
    for name in dict.fromkeys([*TicketOut.model_fields, "priority_rank", "queue_deadline"])
)


def _encode_cursor(t: Row[Any]) -> str:
    raw = json.dumps([t.priority_rank, t.queue_deadline.isoformat(), t.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        rank, deadline, last_id = json.loads(raw)
        when = dt.datetime.fromisoformat(deadline)
        if not (isinstance(rank, int) and isinstance(last_id, int) and when.tzinfo):
            raise ValueError
        if not (0 <= rank <= MAX_ID and 0 <= last_id <= MAX_ID):
            raise ValueError
        return rank, when, last_id
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidInput("this cursor was not given by this API", field="cursor") from None
