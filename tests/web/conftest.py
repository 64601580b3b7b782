"""An API client over each database, with a fixed clock and a seeded desk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from policydesk.accounts.models import Account, Contact
from policydesk.agents import service as agent_service
from policydesk.agents.security import hash_password
from policydesk.db.engine import session_scope
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.fromisoformat("2026-11-24T10:00:00-05:00")
# Hashed once: argon2 is slow on purpose, and every test seeds the same desk.
PASSWORD = "s3cret-pass"
PASSWORD_HASH = hash_password(PASSWORD)


@dataclass
class Desk:
    client: TestClient
    admin: dict[str, str]
    lead: dict[str, str]
    agent: dict[str, str]
    acme_id: int
    other_id: int
    ann_email: str
    olga_email: str
    clock: list[dt.datetime]

    def at(self, when: dt.datetime) -> None:
        self.clock[0] = when


@pytest.fixture
def desk(engine: Engine, factory: sessionmaker[Session]) -> Iterator[Desk]:
    clock = [NOW]
    with session_scope(factory) as s:
        text = (ROOT / "policies" / "rarelogic.yaml").read_text()
        policy_service.activate_policy(s, text=text, source="rarelogic.yaml", now=NOW)
        tokens = {}
        for role in ("admin", "lead", "agent"):
            a = agent_service.create_agent(
                s,
                name=role.title(),
                email=f"{role}@desk.test",
                role=role,
                password="s3cret-pass",
                now=NOW,
            )
            tokens[role] = agent_service.create_token(s, agent_id=a.id, name="t", now=NOW)
        acme = Account(name="Acme", plan="standard", attributes={}, created_at=NOW)
        other = Account(
            name="Other", plan="high_priority", attributes={"high_priority": True}, created_at=NOW
        )
        s.add_all([acme, other])
        s.flush()
        s.add_all(
            [
                Contact(
                    name="Ann",
                    email="ann@acme.test",
                    account_id=acme.id,
                    password_hash=PASSWORD_HASH,
                    created_at=NOW,
                ),
                Contact(
                    name="Olga",
                    email="olga@other.test",
                    account_id=other.id,
                    password_hash=PASSWORD_HASH,
                    created_at=NOW,
                ),
            ]
        )
        s.flush()
        ids = (acme.id, other.id)
    app = create_app(Settings(), engine=engine, session_factory=factory, clock=lambda: clock[0])
    with TestClient(app) as client:
        yield Desk(
            client=client,
            admin={"Authorization": f"Bearer {tokens['admin']}"},
            lead={"Authorization": f"Bearer {tokens['lead']}"},
            agent={"Authorization": f"Bearer {tokens['agent']}"},
            acme_id=ids[0],
            other_id=ids[1],
            ann_email="ann@acme.test",
            olga_email="olga@other.test",
            clock=clock,
        )
