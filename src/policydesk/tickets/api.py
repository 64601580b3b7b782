"""Ticket routes: parse, call one service function, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from policydesk.core.policy import Status
from policydesk.mail import service as mail_service
from policydesk.mail.schemas import AttachmentOut
from policydesk.tickets import queue as ticket_queue
from policydesk.tickets import service as ticket_service
from policydesk.tickets.models import Ticket
from policydesk.tickets.schemas import (
    EventIn,
    EventOut,
    PolicyMigrationIn,
    TicketCreate,
    TicketDetail,
    TicketOut,
    TicketPage,
    Tier,
    clock_views,
)
from policydesk.web.context import actor_of, expected_version, runtime, unit
from policydesk.web.params import IdFilter, PathId, TextFilter
from policydesk.web.render import json_response

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


def _etag(response: Response, ticket: Ticket) -> None:
    response.headers["ETag"] = f'"{ticket.version}"'


@router.post("", status_code=201, response_model=TicketOut)
def create_ticket(data: TicketCreate, request: Request) -> Response:
    """Open a ticket under the active policy; its clocks start at once."""
    with unit(request, reads_first=True) as (session, now):
        actor = actor_of(session, request, now)
        ticket = ticket_service.create_ticket(session, data=data, actor=actor, now=now)
        out = TicketOut.model_validate(ticket)
    headers = {"Location": f"/api/v1/tickets/{out.id}", "ETag": f'"{out.version}"'}
    return json_response(out, status_code=201, headers=headers)


@router.get("", response_model=TicketPage)
def list_tickets(
    request: Request,
    status: Status | None = None,
    priority: TextFilter = None,
    account_id: IdFilter = None,
    assignee_id: IdFilter = None,
    tier: Tier | None = None,
    breached: bool | None = None,
    due_before: dt.datetime | None = None,
    include_closed: bool = False,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The queue: most urgent priority first and exclusively (SC2), then earliest deadline."""
    filters = ticket_queue.Filters(
        status=status,
        priority=priority,
        account_id=account_id,
        assignee_id=assignee_id,
        tier=tier,
        breached=breached,
        due_before=due_before,
        include_closed=include_closed,
    )
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        rows, nxt = ticket_queue.list_tickets(
            session, actor=actor, filters=filters, cursor=cursor, limit=limit, now=now
        )
    items = [dict(zip(row._fields, row, strict=True)) for row in rows]  # 5x faster than attributes
    return json_response(TicketPage.model_validate({"items": items, "next_cursor": nxt}))


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_ticket(ticket_id: PathId, request: Request, response: Response) -> TicketDetail:
    """One ticket with each clock (due, remaining, breached, explanation) and its log."""
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        ticket = ticket_service.get_ticket(session, ticket_id=ticket_id, actor=actor)
        report = ticket_service.clocks_of(session, ticket, now)
        events = ticket_service.events_of(session, ticket, actor)
        files = mail_service.attachments_of(session, ticket.id)
        _etag(response, ticket)
        return TicketDetail(
            **TicketOut.model_validate(ticket).model_dump(),
            body=ticket.body,
            clocks=clock_views(report),
            events=[EventOut.model_validate(e) for e in events],
            attachments=[AttachmentOut.model_validate(f) for f in files],
            missing_fields=ticket_service.missing_of(session, ticket),
        )


@router.get("/{ticket_id}/attachments/{attachment_id}", response_class=Response)
def download_attachment(ticket_id: PathId, attachment_id: PathId, request: Request) -> Response:
    """A file of the ticket, as it came (offered for download, never shown inline)."""
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        found = mail_service.attachment(
            session, actor=actor, ticket_id=ticket_id, attachment_id=attachment_id
        )
        return Response(
            found.content,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
                "X-Content-Type-Options": "nosniff",
                "X-Original-Content-Type": found.content_type,
            },
        )


@router.post("/{ticket_id}/events", response_model=TicketOut)
def add_event(ticket_id: PathId, data: EventIn, request: Request, response: Response) -> TicketOut:
    """Reply, note, log a call or chat, or change status, priority, tier or assignee.

    Needs ``If-Match`` with the ticket's ETag; a stale one gets 412 and changes nothing.
    """
    version = expected_version(request)
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        ticket = ticket_service.record_event(
            session,
            ticket_id=ticket_id,
            expected_version=version,
            data=data,
            actor=actor,
            now=now,
            composer=runtime(request).composer,
        )
        out = TicketOut.model_validate(ticket)
    response.headers["ETag"] = f'"{out.version}"'
    return out


@router.post("/{ticket_id}/policy", response_model=TicketOut)
def migrate_policy(
    ticket_id: PathId, data: PolicyMigrationIn, request: Request, response: Response
) -> TicketOut:
    """Move a ticket to another stored policy version (admins; needs ``If-Match``). A ticket
    otherwise keeps the version it was opened under."""
    version = expected_version(request)
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        ticket = ticket_service.migrate_policy(
            session, ticket_id=ticket_id, expected_version=version, data=data, actor=actor, now=now
        )
        out = TicketOut.model_validate(ticket)
    response.headers["ETag"] = f'"{out.version}"'
    return out


@router.post("/{ticket_id}/take", response_model=TicketOut)
def take_ticket(ticket_id: PathId, request: Request, response: Response) -> TicketOut:
    """Assign the ticket to yourself if nobody has it yet (the first to take a broadcast ticket
    gets it); also acknowledges its emergency pages. 409 when someone was first."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        ticket = ticket_service.take_ticket(session, ticket_id=ticket_id, actor=actor, now=now)
        out = TicketOut.model_validate(ticket)
    response.headers["ETag"] = f'"{out.version}"'
    return out


@router.post("/{ticket_id}/acknowledge", response_model=TicketOut)
def acknowledge(ticket_id: PathId, request: Request, response: Response) -> TicketOut:
    """Acknowledge the ticket's emergency: its pages stop."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        ticket = ticket_service.acknowledge(session, ticket_id=ticket_id, actor=actor, now=now)
        out = TicketOut.model_validate(ticket)
    response.headers["ETag"] = f'"{out.version}"'
    return out
