"""The shapes tickets take in and out of the API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ClockOut",
    "EventIn",
    "EventOut",
    "PolicyMigrationIn",
    "TicketCreate",
    "TicketDetail",
    "TicketOut",
    "TicketPage",
]

Channel = Literal[
    "email",
    "phone",
    "voicemail",
    "chat",
    "portal",
    "contact_form",
    "problem_report",
    "monitoring",
    "api",
]
Status = Literal["new", "open", "pending_customer", "mitigated", "resolved", "closed"]
Tier = Literal["L1", "L2", "PT", "Dev"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(_In):
    subject: str = Field(min_length=1, max_length=500)
    body: str = Field("", max_length=200_000)
    channel: Channel = "api"
    account_id: int | None = None
    requester_id: int | None = None
    category: str | None = Field(None, max_length=100)
    priority: str | None = Field(None, max_length=50, description="Omit to let triage decide.")
    custom_fields: dict[str, str | int] = {}
    received_at: AwareDatetime | None = Field(None, description="Default: now.")


class EventIn(_In):
    """One change to a ticket. ``type`` decides which other field is needed."""

    type: Literal[
        "reply",
        "note",
        "call",
        "chat",
        "customer_reply",
        "status",
        "priority",
        "tier",
        "assignee",
        "override",
    ]
    body: str = Field("", max_length=200_000)
    status: Status | None = None
    priority: str | None = Field(None, max_length=50)
    tier: Tier | None = None
    assignee_id: int | None = None
    reason: str = Field("", max_length=2_000)


class PolicyMigrationIn(_In):
    """Move a ticket to another stored policy version (admins)."""

    version: str = Field(min_length=64, max_length=64)
    reason: str = Field(min_length=1, max_length=2_000)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    type: str
    agent_id: int | None
    contact_id: int | None
    body: str
    data: dict[str, Any]


class ClockOut(BaseModel):
    name: str
    state: str
    started_at: dt.datetime | None
    due: dt.datetime | None
    met_at: dt.datetime | None
    breached: bool
    remaining_seconds: int | None
    explanation: list[str]


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: str
    channel: str
    category: str | None
    priority: str
    status: str
    tier: str
    account_id: int | None
    requester_id: int | None
    assignee_id: int | None
    policy_version: str
    custom_fields: dict[str, Any]
    received_at: dt.datetime
    updated_at: dt.datetime
    next_deadline_at: dt.datetime | None
    version: int


class TicketDetail(TicketOut):
    body: str
    clocks: list[ClockOut]
    events: list[EventOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None
