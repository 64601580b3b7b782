"""Policy routes: read the active policy, activate a new version, preview a draft."""

from __future__ import annotations

from fastapi import APIRouter, Request

from policydesk.access import require_agent, require_role
from policydesk.audit import service as audit
from policydesk.core.clocks import evaluate
from policydesk.policies import service as policy_service
from policydesk.policies.schemas import PolicyIn, PolicyOut, PreviewIn, PreviewOut
from policydesk.tickets import service as ticket_service
from policydesk.web.context import actor_of, unit

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


@router.get("", response_model=PolicyOut)
def get_policy(request: Request) -> PolicyOut:
    with unit(request, read_only=True) as (session, now):
        require_agent(actor_of(session, request, now))
        return PolicyOut.model_validate(policy_service.active_version(session))


@router.post("", response_model=PolicyOut, status_code=201)
def activate_policy(data: PolicyIn, request: Request) -> PolicyOut:
    """Validate and activate a policy (admins). Tickets keep the version they were opened
    under; new tickets get this one. Invalid text gets 422 with every located problem."""
    with unit(request) as (session, now):
        admin = require_role(actor_of(session, request, now), "admin")
        row = policy_service.activate_policy(session, text=data.text, source=data.source, now=now)
        audit.record(
            session, agent=admin, action="policy.activate", target=f"policy:{row.version}", now=now
        )
        return PolicyOut.model_validate(row)


@router.post("/preview", response_model=PreviewOut)
def preview_policy(data: PreviewIn, request: Request) -> PreviewOut:
    """What a ticket's clocks would be under a draft policy, as of now; nothing is stored."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        require_agent(actor)
        draft = policy_service.validate_policy(text=data.text, source=data.source)
        ticket = ticket_service.get_ticket(session, ticket_id=data.ticket_id, actor=actor)
        facts, events = ticket_service.timeline_of(session, ticket)
        report = evaluate(draft, facts, events, max(now, ticket.received_at))
        return PreviewOut(
            version=draft.version,
            priority=report.priority.priority,
            clocks=[
                {
                    "name": c.name,
                    "state": c.state,
                    "due": c.due.isoformat() if c.due else None,
                    "breached": c.breached,
                    "explanation": [str(s) for s in c.steps],
                }
                for c in report.clocks.values()
            ],
        )
