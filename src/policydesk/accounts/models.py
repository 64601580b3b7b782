"""Accounts and contacts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from policydesk.db.base import Base
from policydesk.db.types import UTCDateTime

__all__ = ["Account", "Contact"]


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str | None] = mapped_column(String(100))
    contract: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # EC3: one point of contact plus a backup.
    primary_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", use_alter=True, ondelete="SET NULL")
    )
    backup_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", use_alter=True, ondelete="SET NULL")
    )
    # active; banned from support by a lead (RL4); refused as fraudulent by a lead (RL9).
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    status_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    trained: Mapped[bool] = mapped_column(Boolean, default=False)  # EC7, EC8
    identity_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # RL1
    password_hash: Mapped[str | None] = mapped_column(String(200))  # the portal login
    #: IANA zone the contact's promised times are shown in; None: the policy's zone.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
