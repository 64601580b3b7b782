"""Who is acting, and what they may see and do."""

from __future__ import annotations

from dataclasses import dataclass, fields

from policydesk.accounts.models import Contact
from policydesk.agents.models import Agent
from policydesk.errors import Forbidden

__all__ = ["Actor", "Staff", "require_agent", "require_role"]

_RANK = {"agent": 0, "lead": 1, "admin": 2}


@dataclass(frozen=True, slots=True)
class Staff:
    """The acting agent as it was when authenticated: its row's columns, not an entity of
    the session. Every request authenticates, and a row costs a quarter of an entity; an
    agent's own record is changed through the agents service, never through its actor."""

    id: int
    name: str
    email: str
    tier: str
    role: str
    active: bool

    @classmethod
    def of(cls, agent: Agent) -> Staff:
        return cls(*(getattr(agent, f.name) for f in fields(cls)))


@dataclass(frozen=True, slots=True)
class Actor:
    """An agent (staff) or a contact (a client writing in through the portal)."""

    agent: Staff | None = None
    contact: Contact | None = None

    @property
    def is_agent(self) -> bool:
        return self.agent is not None

    def sees_account(self, account_id: int | None) -> bool:
        """Agents see every account; a contact only its own (RL3)."""
        if self.agent is not None:
            return True
        return (
            self.contact is not None
            and account_id is not None
            and (self.contact.account_id == account_id)
        )


def require_agent(actor: Actor) -> Staff:
    if actor.agent is None:
        raise Forbidden("this needs a support agent")
    return actor.agent


def require_role(actor: Actor, role: str) -> Staff:
    """The acting agent, if its role is ``role`` or above (agent < lead < admin)."""
    agent = require_agent(actor)
    if _RANK.get(agent.role, -1) < _RANK[role]:
        raise Forbidden(f"this needs the {role} role")
    return agent
