"""Mail routes: the inbound messages agents look at (quarantine first), and their raw bytes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from policydesk.mail import service as mail_service
from policydesk.mail.schemas import MailMessageOut, MailMessagePage
from policydesk.web.context import actor_of, unit
from policydesk.web.params import IdFilter, PathId

router = APIRouter(prefix="/api/v1/mail", tags=["mail"])

Outcome = Literal["ticket", "reply", "quarantined", "ignored", "refused"]


@router.get("/messages", response_model=MailMessagePage)
def list_messages(
    request: Request,
    outcome: Outcome | None = None,
    after: IdFilter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MailMessagePage:
    """Inbound messages, newest first (agents). ``outcome=quarantined``: messages that could
    not be taken in, each with the reason; none is ever dropped."""
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        rows, nxt = mail_service.list_messages(
            session, actor=actor, outcome=outcome, after=after, limit=limit
        )
        return MailMessagePage(
            items=[MailMessageOut.model_validate(r) for r in rows], next_after=nxt
        )


@router.get("/messages/{message_id}/raw", response_class=Response)
def raw_message(message_id: PathId, request: Request) -> Response:
    """The message exactly as it arrived (``message/rfc822``), for an agent to inspect."""
    with unit(request, read_only=True) as (session, now):
        actor = actor_of(session, request, now)
        found = mail_service.get_message(session, actor=actor, message_id=message_id)
        return Response(
            found.raw,
            media_type="message/rfc822",
            headers={"Content-Disposition": f'attachment; filename="message-{found.id}.eml"'},
        )
