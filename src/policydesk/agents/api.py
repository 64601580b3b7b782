"""Sign-in and agent routes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from policydesk.access import Actor, require_role
from policydesk.agents import service as agent_service
from policydesk.agents.models import Agent
from policydesk.agents.schemas import (
    AgentIn,
    AgentOut,
    AgentPatch,
    LoginIn,
    MeOut,
    TokenIn,
    TokenOut,
)
from policydesk.errors import Forbidden, NotFound
from policydesk.web.context import SESSION_COOKIE, actor_of, runtime, set_session_cookie, unit
from policydesk.web.params import PathId

router = APIRouter(prefix="/api/v1", tags=["agents"])


def _login(data: LoginIn, request: Request, response: Response, *, contact: bool) -> MeOut:
    days = runtime(request).settings.session_days
    with unit(request) as (session, now):
        sid = agent_service.login(
            session, email=data.email, password=data.password, contact=contact, now=now, days=days
        )
        me = _me(agent_service.authenticate_session(session, sid, now))
    set_session_cookie(request, response, sid)
    return me


@router.post("/auth/login", response_model=MeOut, tags=["auth"])
def login(data: LoginIn, request: Request, response: Response) -> MeOut:
    """An agent signs in with e-mail and password; the session is a cookie."""
    return _login(data, request, response, contact=False)


@router.post("/portal/login", response_model=MeOut, tags=["auth"])
def portal_login(data: LoginIn, request: Request, response: Response) -> MeOut:
    """A client's contact signs in to the portal."""
    return _login(data, request, response, contact=True)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, response: Response) -> None:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        with unit(request) as (session, _now):
            agent_service.end_session(session, sid)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=MeOut, tags=["auth"])
def me(request: Request) -> MeOut:
    with unit(request, read_only=True) as (session, now):
        return _me(actor_of(session, request, now))


def _me(actor: Actor) -> MeOut:
    if actor.agent is not None:
        a = actor.agent
        return MeOut(kind="agent", id=a.id, name=a.name, email=a.email, role=a.role)
    assert actor.contact is not None
    c = actor.contact
    return MeOut(kind="contact", id=c.id, name=c.name, email=c.email, account_id=c.account_id)


@router.get("/agents", response_model=list[AgentOut])
def list_agents(request: Request) -> list[AgentOut]:
    with unit(request, read_only=True) as (session, now):
        require_role(actor_of(session, request, now), "agent")
        rows = session.scalars(select(Agent).order_by(Agent.id)).all()
        return [AgentOut.model_validate(a) for a in rows]


@router.post("/agents", response_model=AgentOut, status_code=201)
def create_agent(data: AgentIn, request: Request) -> AgentOut:
    """Admins only."""
    with unit(request) as (session, now):
        require_role(actor_of(session, request, now), "admin")
        agent = agent_service.create_agent(
            session,
            name=data.name,
            email=data.email,
            role=data.role,
            tier=data.tier,
            password=data.password,
            now=now,
        )
        return AgentOut.model_validate(agent)


@router.get("/agents/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: PathId, request: Request) -> AgentOut:
    with unit(request, read_only=True) as (session, now):
        require_role(actor_of(session, request, now), "agent")
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        return AgentOut.model_validate(agent)


@router.patch("/agents/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: PathId, data: AgentPatch, request: Request) -> AgentOut:
    """Admins change an agent's name, role, tier, shifts, or deactivate it."""
    with unit(request) as (session, now):
        require_role(actor_of(session, request, now), "admin")
        agent = agent_service.update_agent(
            session, agent_id=agent_id, changes=data.model_dump(exclude_unset=True)
        )
        return AgentOut.model_validate(agent)


@router.post("/agents/{agent_id}/tokens", response_model=TokenOut, status_code=201)
def create_token(agent_id: PathId, data: TokenIn, request: Request) -> TokenOut:
    """An API token for an agent: the agent itself or an admin."""
    with unit(request) as (session, now):
        actor = actor_of(session, request, now)
        me = require_role(actor, "agent")
        if me.id != agent_id and me.role != "admin":
            raise Forbidden("only an admin creates tokens for another agent")
        if session.get(Agent, agent_id) is None:
            raise NotFound(f"no agent {agent_id}")
        token = agent_service.create_token(session, agent_id=agent_id, name=data.name, now=now)
        return TokenOut(token=token)
