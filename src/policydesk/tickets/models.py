"""Tickets and ticket events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from policydesk.db.base import Base
from policydesk.db.types import UTCDateTime

__all__ = ["Ticket", "TicketEvent"]


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The agents' default queue: open work by urgency, then by the earliest deadline.
        Index("ix_tickets_queue", "priority_rank", "queue_deadline", "id"),
        # The worker's due query, in the order it takes tickets: WHERE wake_at <= now ORDER BY
        # wake_at, id. With wake_at alone, a burst of tickets due at one instant is read and
        # sorted whole for every batch.
        Index("ix_tickets_wake", "wake_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the ticket number
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(30))
    category: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(50))
    priority_rank: Mapped[int] = mapped_column(Integer)  # 0 = most urgent in the policy
    status: Mapped[str] = mapped_column(String(30), default="new")
    tier: Mapped[str] = mapped_column(String(10), default="L1")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    policy_version: Mapped[str] = mapped_column(ForeignKey("policy_versions.version"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Denormalised from the clocks after every change, for queries and the worker.
    acknowledge_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_response_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_response_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolve_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # next_deadline_at, or a far-future instant when none: a non-null key for queue paging.
    queue_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    open_work: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    #: When the worker must look at the ticket next: its earliest unsent warning or breach, or
    #: its next emergency page (in the past when something is owed now); None when nothing is.
    wake_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Optimistic concurrency: every UPDATE says WHERE version = <the version read>. The
    # service sets the next version itself, so that a change to the log alone (a note) bumps
    # it too.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class TicketEvent(Base):
    """One entry of a ticket's append-only log."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column(String(30))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
