"""Agents and how they (and portal contacts) authenticate."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Contact
from policydesk.agents.models import ROLES, TIERS, Agent, ApiToken, LoginSession
from policydesk.agents.security import digest, hash_password, new_secret, verify_password
from policydesk.errors import InvalidInput, NotFound, Unauthenticated
from policydesk.policies import service as policy_service

__all__ = [
    "authenticate_session",
    "authenticate_token",
    "create_agent",
    "create_token",
    "end_session",
    "login",
    "update_agent",
]


def create_agent(
    session: Session,
    *,
    name: str,
    email: str,
    role: str = "agent",
    tier: str = "L1",
    password: str | None = None,
    now: dt.datetime,
) -> Agent:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of: {', '.join(ROLES)}", field="role")
    if tier not in TIERS:
        raise InvalidInput(f"tier must be one of: {', '.join(TIERS)}", field="tier")
    agent = Agent(
        name=name,
        email=email.strip().lower(),
        role=role,
        tier=tier,
        password_hash=hash_password(password) if password else None,
        shifts=[],
        active=True,
        created_at=now,
    )
    session.add(agent)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise InvalidInput(f"an agent with e-mail {email} exists", field="email") from None
    return agent


def update_agent(session: Session, *, agent_id: int, changes: dict[str, Any]) -> Agent:
    """Apply ``changes`` (name, role, tier, active, shifts) to an agent."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    for key, value in changes.items():
        if value is None and key != "shifts":
            raise InvalidInput(f"{key} cannot be null", field=key)
        setattr(agent, key, value if value is not None else [])
    session.flush()
    return agent


def create_token(session: Session, *, agent_id: int, name: str, now: dt.datetime) -> str:
    """A new API token for the agent; the token is returned once and stored only hashed."""
    if session.get(Agent, agent_id) is None:
        raise NotFound(f"no agent {agent_id}")
    token = new_secret("pd")
    session.add(ApiToken(agent_id=agent_id, name=name, token_hash=digest(token), created_at=now))
    session.flush()
    return token


_AGENTS = Agent.metadata.tables[Agent.__tablename__]
_TOKENS = ApiToken.metadata.tables[ApiToken.__tablename__]
_STAFF = tuple(_AGENTS.c[f.name] for f in fields(Staff))
#: A token's agent, and the active policy version along (see ``authenticate_token``). Table
#: columns, not entities: this runs on every API request.
_TOKEN = (
    select(
        _TOKENS.c.revoked_at,
        policy_service.ACTIVE_VERSION.scalar_subquery().label("policy_version"),
        *_STAFF,
    )
    .join(_AGENTS, _AGENTS.c.id == _TOKENS.c.agent_id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)


def authenticate_token(session: Session, token: str) -> Actor:
    # One round trip: every API request pays for this. It reads the active policy version
    # too, which saves ticket intake a query of its own.
    found = session.execute(_TOKEN, {"token_hash": digest(token)}).first()
    if found is not None:
        policy_service.note_active_version(session, found.policy_version)
    if found is None or found.revoked_at is not None:
        raise Unauthenticated("this API token is not valid")
    staff = Staff(*found[2:])
    if not staff.active:
        raise Unauthenticated("this API token's agent is not active")
    return Actor(agent=staff)


def login(
    session: Session, *, email: str, password: str, contact: bool, now: dt.datetime, days: int
) -> str:
    """Check a password; returns a new session id for the cookie."""
    who: Agent | Contact | None
    if contact:
        who = session.scalars(select(Contact).where(Contact.email == email.strip().lower())).first()
    else:
        who = session.scalars(select(Agent).where(Agent.email == email.strip().lower())).first()
    if who is None or not verify_password(who.password_hash, password):
        raise Unauthenticated("wrong e-mail or password")
    if isinstance(who, Agent) and not who.active:
        raise Unauthenticated("this agent is not active")
    sid = new_secret("pds")
    session.add(
        LoginSession(
            session_hash=digest(sid),
            agent_id=who.id if isinstance(who, Agent) else None,
            contact_id=who.id if isinstance(who, Contact) else None,
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
        )
    )
    session.flush()
    return sid


def authenticate_session(session: Session, sid: str, now: dt.datetime) -> Actor:
    row = session.scalars(
        select(LoginSession).where(LoginSession.session_hash == digest(sid))
    ).first()
    if row is None or row.expires_at <= now:
        raise Unauthenticated("this session has ended; sign in again")
    if row.agent_id is not None:
        agent = session.get(Agent, row.agent_id)
        if agent is None or not agent.active:
            raise Unauthenticated("this agent is not active")
        return Actor(agent=Staff.of(agent))
    contact = session.get(Contact, row.contact_id)
    if contact is None:
        raise Unauthenticated("this session has ended; sign in again")
    return Actor(contact=contact)


def end_session(session: Session, sid: str) -> None:
    row = session.scalars(
        select(LoginSession).where(LoginSession.session_hash == digest(sid))
    ).first()
    if row is not None:
        session.delete(row)
