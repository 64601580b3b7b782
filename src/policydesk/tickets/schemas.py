"""The shapes tickets take in and out of the API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from policydesk.core.clocks import ClockReport
from policydesk.core.policy import Channel, Status
from policydesk.mail.schemas import AttachmentOut
from policydesk.types import Instant, NoNul, RowId

__all__ = [
    "ClockOut",
    "EventIn",
    "EventOut",
    "PolicyMigrationIn",
    "TicketCreate",
    "TicketDetail",
    "TicketOut",
    "TicketPage",
    "clock_views",
]

Tier = Literal["L1", "L2", "PT", "Dev"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


FieldName = Annotated[str, Field(min_length=1, max_length=100), NoNul]
FieldValue = (
    Annotated[str, Field(max_length=10_000), NoNul] | Annotated[int, Field(ge=-(2**53), le=2**53)]
)


class TicketCreate(_In):
    subject: Annotated[str, Field(min_length=1, max_length=500), NoNul]
    body: Annotated[str, Field(max_length=200_000), NoNul] = ""
    channel: Channel = "api"
    account_id: RowId | None = None
    requester_id: RowId | None = None
    category: Annotated[str | None, Field(max_length=100), NoNul] = None
    priority: Annotated[
        str | None, Field(max_length=50, description="Omit to let triage decide."), NoNul
    ] = None
    custom_fields: Annotated[dict[FieldName, FieldValue], Field(max_length=100)] = {}
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
        "acknowledge",
    ]
    body: Annotated[str, Field(max_length=200_000), NoNul] = ""
    status: Status | None = None
    priority: Annotated[str | None, Field(max_length=50), NoNul] = None
    tier: Tier | None = None
    assignee_id: RowId | None = None
    reason: Annotated[str, Field(max_length=2_000), NoNul] = ""
    suggestion: bool = Field(
        False, description="reply: it suggests a fix to the customer (counts as best effort, RS4)."
    )
    exception: Literal["named_request", "asked_for_details"] | None = Field(
        None,
        description="tier: an RS5 exception to the best-efforts rule. named_request: the "
        "customer asked for `named_agent_id`, citing `cited_ticket_id`; asked_for_details: "
        "`named_agent_id` asked for the details on this ticket.",
    )
    named_agent_id: RowId | None = None
    cited_ticket_id: RowId | None = None


class PolicyMigrationIn(_In):
    """Move a ticket to another stored policy version (admins)."""

    version: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: Annotated[str, Field(min_length=1, max_length=2_000), NoNul]


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: Instant
    type: str
    agent_id: int | None
    contact_id: int | None
    body: str
    data: dict[str, Any]


class ClockOut(BaseModel):
    name: str
    state: str
    started_at: Instant | None
    due: Instant | None
    met_at: Instant | None
    breached: bool
    remaining_seconds: int | None
    explanation: list[str]


def clock_views(report: ClockReport) -> list[ClockOut]:
    """Each clock of ``report`` as shown to agents: due, remaining, and the clauses behind it."""
    return [
        ClockOut(
            name=c.name,
            state=c.state,
            started_at=c.started_at,
            due=c.due,
            met_at=c.met_at,
            breached=c.breached,
            remaining_seconds=None if c.remaining_us is None else c.remaining_us // 1_000_000,
            explanation=[str(s) for s in c.steps],
        )
        for c in report.clocks.values()
    ]


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
    received_at: Instant
    updated_at: Instant
    next_deadline_at: Instant | None
    version: int


class TicketDetail(TicketOut):
    body: str
    clocks: list[ClockOut]
    events: list[EventOut]
    attachments: list[AttachmentOut]
    missing_fields: list[str] = Field(
        description="Fields the ticket's category needs that it lacks (DL6)."
    )


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None
