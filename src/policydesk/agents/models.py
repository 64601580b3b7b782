"""Agents, API tokens and login sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from policydesk.db.base import Base
from policydesk.db.types import UTCDateTime

__all__ = ["ROLES", "TIERS", "Agent", "ApiToken", "LoginSession"]

TIERS = ("L1", "L2", "PT", "Dev")  # RS1
ROLES = ("agent", "lead", "admin")


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    tier: Mapped[str] = mapped_column(String(10), default="L1")
    role: Mapped[str] = mapped_column(String(10), default="agent")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # On-duty shifts: [{"days": ["mon", …], "hours": "07:00-15:00"}] in the policy's zone.
    shifts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: For SMS notifications and pages, in E.164 (+15551234567).
    phone: Mapped[str | None] = mapped_column(String(50))
    #: On the emergency roster: paged when a policy pages ``on_call``.
    on_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored (the token itself is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginSession(Base):
    """A browser session of an agent or a portal contact; the cookie holds a random id whose
    SHA-256 is stored here."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
