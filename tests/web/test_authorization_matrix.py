"""The authorisation matrix: every route of the app × every kind of caller (RL3, RL4, RL9).

Each cell is one request aimed at account A's things (its account, contact, ticket) by one of:
nobody, a contact of A, a contact of B (the foreign account), an agent, a lead, an admin. A
cell expects one status: what the caller may do succeeds; what it may not gets 401 (nobody),
403, or 404 where even the existence of another account's things must not leak. Whatever a
contact receives never holds the other account's data, and nobody signed out receives any.

A route the app has and the matrix lacks fails ``test_every_route_is_in_the_matrix``: a new
route is placed in the matrix, with what each caller may do, before it ships.

The desk is seeded once per database; each cell runs inside a savepoint rolled back after it,
so that a ban or a new agent in one cell is not seen by the next.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import sessionmaker

from policydesk.access import Actor, Staff
from policydesk.accounts.models import Account, Contact
from policydesk.agents import service as agent_service
from policydesk.db.engine import make_engine, session_scope
from policydesk.mail.models import Attachment, MailMessage
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.tickets import service as ticket_service
from policydesk.tickets.schemas import TicketCreate
from policydesk.web.app import create_app
from policydesk.web.context import SESSION_COOKIE
from tests.web.conftest import NOW, PASSWORD, PASSWORD_HASH

ROOT = Path(__file__).resolve().parents[2]
POLICY_TEXT = (ROOT / "policies" / "rarelogic.yaml").read_text()
ROLES = ("anonymous", "contact_a", "contact_b", "agent", "lead", "admin")


@dataclass(frozen=True)
class Party:
    """One client business of the desk: its ids and the words only its data holds."""

    account_id: int
    contact_id: int
    ticket_id: int
    email: str
    markers: tuple[str, ...]
    attachment_id: int


@dataclass
class World:
    client: TestClient
    connection: Connection
    headers: dict[str, dict[str, str]]
    a: Party
    b: Party
    banned_id: int
    agent_id: int
    agent_email: str
    policy_version: str
    mail_id: int

    def party_of(self, role: str) -> Party | None:
        return {"contact_a": self.a, "contact_b": self.b}.get(role)


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    """Accounts A and B with a contact and a ticket each, a banned account, and staff."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    with session_scope(factory) as s:
        row = policy_service.activate_policy(s, text=POLICY_TEXT, source="rarelogic", now=NOW)
        tokens, staff = {}, {}
        for role in ("agent", "lead", "admin"):
            a = agent_service.create_agent(
                s, name=f"Matrix {role}", email=f"{role}@matrix.test", role=role, now=NOW
            )
            a.password_hash = PASSWORD_HASH  # hashed once, in conftest
            staff[role] = a
            tokens[role] = agent_service.create_token(s, agent_id=a.id, name="t", now=NOW)
        parties, sids = [], {}
        for key, name, person, subject in (
            ("a", "Anvilworks Acme", "Ann Anvil", "Anvilworks export is broken"),
            ("b", "Brimstone Bakery", "Olga Oven", "Brimstone oven telemetry is late"),
        ):
            email = f"{person.split()[0].lower()}@{name.split()[0].lower()}.test"
            account = Account(name=name, plan="standard", attributes={}, created_at=NOW)
            s.add(account)
            s.flush()
            contact = Contact(
                name=person,
                email=email,
                account_id=account.id,
                password_hash=PASSWORD_HASH,
                identity_verified_at=NOW,
                created_at=NOW,
            )
            s.add(contact)
            s.flush()
            account.primary_contact_id = contact.id
            ticket = ticket_service.create_ticket(
                s,
                data=TicketCreate(subject=subject, channel="email", account_id=account.id),
                actor=Actor(agent=Staff.of(staff["agent"])),
                now=NOW,
            )
            sids[key] = agent_service.login(
                s, email=email, password=PASSWORD, contact=True, now=NOW, days=14
            )
            file = Attachment(ticket_id=ticket.id, filename=f"{key}.txt", content_type="text/plain",
                              size=4, sha256="0" * 64, created_at=NOW, content=b"data")  # fmt: skip
            s.add(file)
            s.flush()
            parties.append(
                Party(
                    account.id,
                    contact.id,
                    ticket.id,
                    email,
                    (name, person, email, subject),
                    file.id,
                )
            )
        quarantined = MailMessage(
            message_id="q1@matrix.test", source="smtp", received_at=NOW, kind="unknown",
            outcome="quarantined", reason="no sender", raw_sha256="0" * 64, raw_size=3,
            raw=b"x\r\n",
        )  # fmt: skip
        s.add(quarantined)
        banned = Account(
            name="Cinder Crooks",
            plan="standard",
            attributes={},
            status="refused",
            status_reason="Phishing",
            created_at=NOW,
        )
        s.add(banned)
        s.flush()
        s.flush()
        ids = (banned.id, staff["agent"].id, row.version, quarantined.id)
    app = create_app(Settings(), engine=engine, session_factory=factory, clock=lambda: NOW)
    headers = {
        "anonymous": {},
        "contact_a": {"Cookie": f"{SESSION_COOKIE}={sids['a']}"},
        "contact_b": {"Cookie": f"{SESSION_COOKIE}={sids['b']}"},
        **{role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()},
    }
    with TestClient(app) as client:
        yield World(
            client=client,
            connection=connection,
            headers=headers,
            a=parties[0],
            b=parties[1],
            banned_id=ids[0],
            agent_id=ids[1],
            agent_email="agent@matrix.test",
            policy_version=ids[2],
            mail_id=ids[3],
        )
    outer.rollback()
    connection.close()


# ----- the matrix -------------------------------------------------------------------------------

Body = Callable[[World, str], Any]


@dataclass(frozen=True)
class Call:
    """One request and the status each role gets for it."""

    path: Callable[[World], str]
    expect: dict[str, int]
    body: Body | None = None
    if_match: bool = False
    #: False for documentation pages, which describe the API and hold nobody's data.
    data: bool = True
    query: dict[str, Any] = field(default_factory=dict)


def status(anonymous: int, a: int, b: int, agent: int, lead: int, admin: int) -> dict[str, int]:
    """The status per role, in the order of ``ROLES``."""
    return dict(zip(ROLES, (anonymous, a, b, agent, lead, admin), strict=True))


def everyone(code: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, code)


def fixed(path: str) -> Callable[[World], str]:
    return lambda w: path


def const(value: Any) -> Body:
    return lambda w, role: value


SIGNED_IN = status(401, 200, 200, 200, 200, 200)
AGENTS = status(401, 403, 403, 200, 200, 200)
ADMINS = status(401, 403, 403, 403, 403, 200)
LEADS = status(401, 403, 403, 403, 200, 200)
#: A's own contact may, the foreign one is told the thing does not exist.
OWNER_AND_AGENTS = status(401, 200, 404, 200, 200, 200)


def _portal_login(w: World, role: str) -> dict[str, str]:
    # Each contact signs in as itself; the others with A's contact's credentials.
    party = w.party_of(role) or w.a
    return {"email": party.email, "password": PASSWORD}


def _preview(w: World, role: str) -> dict[str, Any]:
    return {"text": POLICY_TEXT, "source": "matrix", "ticket_id": w.a.ticket_id}


MATRIX: dict[tuple[str, str], Call] = {
    # documentation and health: open to all
    ("GET", "/api/v1/openapi.json"): Call(fixed("/api/v1/openapi.json"), everyone(200), data=False),
    ("HEAD", "/api/v1/openapi.json"): Call(
        fixed("/api/v1/openapi.json"), everyone(200), data=False
    ),
    ("GET", "/api/v1/docs"): Call(fixed("/api/v1/docs"), everyone(200), data=False),
    ("HEAD", "/api/v1/docs"): Call(fixed("/api/v1/docs"), everyone(200), data=False),
    ("GET", "/docs/oauth2-redirect"): Call(
        fixed("/docs/oauth2-redirect"), everyone(200), data=False
    ),
    ("HEAD", "/docs/oauth2-redirect"): Call(
        fixed("/docs/oauth2-redirect"), everyone(200), data=False
    ),
    ("GET", "/healthz"): Call(fixed("/healthz"), everyone(200)),
    ("GET", "/readyz"): Call(fixed("/readyz"), everyone(200)),
    # operational counts, for the staff's monitoring
    ("GET", "/metrics"): Call(fixed("/metrics"), AGENTS),
    # signing in and out
    ("POST", "/api/v1/auth/login"): Call(
        fixed("/api/v1/auth/login"),
        everyone(200),
        body=lambda w, role: {"email": w.agent_email, "password": PASSWORD},
    ),
    ("POST", "/api/v1/portal/login"): Call(
        fixed("/api/v1/portal/login"), everyone(200), body=_portal_login
    ),
    ("POST", "/api/v1/auth/logout"): Call(fixed("/api/v1/auth/logout"), everyone(204)),
    ("GET", "/api/v1/me"): Call(fixed("/api/v1/me"), SIGNED_IN),
    # tickets
    ("POST", "/api/v1/tickets"): Call(
        fixed("/api/v1/tickets"),
        status(401, 201, 403, 201, 201, 201),
        body=lambda w, role: {
            "subject": "Matrix",
            "channel": "email",
            "account_id": w.a.account_id,
        },
    ),
    ("GET", "/api/v1/tickets"): Call(
        fixed("/api/v1/tickets"),
        SIGNED_IN,
        query={"include_closed": "true"},
    ),
    ("GET", "/api/v1/tickets/{ticket_id}"): Call(
        lambda w: f"/api/v1/tickets/{w.a.ticket_id}", OWNER_AND_AGENTS
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/events"): Call(
        lambda w: f"/api/v1/tickets/{w.a.ticket_id}/events",
        OWNER_AND_AGENTS,
        body=const({"type": "customer_reply", "body": "Any news?"}),
        if_match=True,
    ),
    ("GET", "/api/v1/tickets/{ticket_id}/attachments/{attachment_id}"): Call(
        lambda w: f"/api/v1/tickets/{w.a.ticket_id}/attachments/{w.a.attachment_id}",
        OWNER_AND_AGENTS,
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/take"): Call(
        lambda w: f"/api/v1/tickets/{w.a.ticket_id}/take", AGENTS
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/acknowledge"): Call(
        lambda w: f"/api/v1/tickets/{w.a.ticket_id}/acknowledge", AGENTS
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/policy"): Call(
        lambda w: f"/api/v1/tickets/{w.a.ticket_id}/policy",
        ADMINS,
        body=lambda w, role: {"version": w.policy_version, "reason": "matrix"},
        if_match=True,
    ),
    # the policy
    ("GET", "/api/v1/policy"): Call(fixed("/api/v1/policy"), AGENTS),
    ("POST", "/api/v1/policy"): Call(
        fixed("/api/v1/policy"),
        status(401, 403, 403, 403, 403, 201),
        body=const({"text": POLICY_TEXT, "source": "matrix"}),
    ),
    ("POST", "/api/v1/policy/preview"): Call(
        fixed("/api/v1/policy/preview"), AGENTS, body=_preview
    ),
    # agents
    ("GET", "/api/v1/agents"): Call(fixed("/api/v1/agents"), AGENTS),
    ("POST", "/api/v1/agents"): Call(
        fixed("/api/v1/agents"),
        status(401, 403, 403, 403, 403, 201),
        body=const({"name": "New", "email": "new@matrix.test"}),
    ),
    ("GET", "/api/v1/agents/{agent_id}"): Call(lambda w: f"/api/v1/agents/{w.agent_id}", AGENTS),
    ("PATCH", "/api/v1/agents/{agent_id}"): Call(
        lambda w: f"/api/v1/agents/{w.agent_id}", ADMINS, body=const({"name": "Renamed"})
    ),
    # an agent makes its own tokens; only an admin makes another agent's
    ("POST", "/api/v1/agents/{agent_id}/tokens"): Call(
        lambda w: f"/api/v1/agents/{w.agent_id}/tokens",
        status(401, 403, 403, 201, 403, 201),
        body=const({"name": "matrix"}),
    ),
    # accounts
    ("GET", "/api/v1/accounts"): Call(fixed("/api/v1/accounts"), SIGNED_IN),
    ("POST", "/api/v1/accounts"): Call(
        fixed("/api/v1/accounts"),
        status(401, 403, 403, 403, 403, 201),
        body=const({"name": "Matrix Co", "plan": "standard"}),
    ),
    ("GET", "/api/v1/accounts/{account_id}"): Call(
        lambda w: f"/api/v1/accounts/{w.a.account_id}", OWNER_AND_AGENTS
    ),
    ("PATCH", "/api/v1/accounts/{account_id}"): Call(
        lambda w: f"/api/v1/accounts/{w.a.account_id}", ADMINS, body=const({"name": "Renamed"})
    ),
    ("POST", "/api/v1/accounts/{account_id}/ban"): Call(
        lambda w: f"/api/v1/accounts/{w.a.account_id}/ban", LEADS, body=const({"reason": "Abuse"})
    ),
    ("POST", "/api/v1/accounts/{account_id}/refuse"): Call(
        lambda w: f"/api/v1/accounts/{w.a.account_id}/refuse", LEADS, body=const({"reason": "Spam"})
    ),
    ("POST", "/api/v1/accounts/{account_id}/reinstate"): Call(
        lambda w: f"/api/v1/accounts/{w.banned_id}/reinstate",
        LEADS,
        body=const({"reason": "Cleared"}),
    ),
    ("GET", "/api/v1/accounts/{account_id}/billing"): Call(
        lambda w: f"/api/v1/accounts/{w.a.account_id}/billing", OWNER_AND_AGENTS
    ),
    # mail: what came in and what became of it, for the staff
    ("GET", "/api/v1/mail/messages"): Call(fixed("/api/v1/mail/messages"), AGENTS),
    ("GET", "/api/v1/mail/messages/{message_id}/raw"): Call(
        lambda w: f"/api/v1/mail/messages/{w.mail_id}/raw", AGENTS
    ),
    # contacts
    ("GET", "/api/v1/contacts"): Call(fixed("/api/v1/contacts"), AGENTS),
    ("POST", "/api/v1/contacts"): Call(
        fixed("/api/v1/contacts"),
        status(401, 403, 403, 403, 403, 201),
        body=lambda w, role: {
            "name": "New",
            "email": "new@anvilworks.test",
            "account_id": w.a.account_id,
        },
    ),
    ("GET", "/api/v1/contacts/{contact_id}"): Call(
        lambda w: f"/api/v1/contacts/{w.a.contact_id}", AGENTS
    ),
    ("PATCH", "/api/v1/contacts/{contact_id}"): Call(
        lambda w: f"/api/v1/contacts/{w.a.contact_id}", ADMINS, body=const({"trained": True})
    ),
}


def test_every_route_is_in_the_matrix() -> None:
    app = create_app(Settings(), engine=make_engine("sqlite://"))
    routes = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        # The console's pages (and "/", which leads there) take no API caller: their own
        # test sends every caller without an agent's session to sign in
        # (tests/web/test_console.py::test_every_console_page_needs_an_agents_session).
        if route.path is not None and route.path != "/" and not route.path.startswith("/console")
        for method in route.methods or ()
    }
    assert sorted(routes - set(MATRIX)) == [], "routes missing from the authorisation matrix"
    assert sorted(set(MATRIX) - routes) == [], "the matrix lists routes the app does not have"


# ----- the cells --------------------------------------------------------------------------------


def _request(world: World, call: Call, method: str, role: str) -> Any:
    headers = dict(world.headers[role])
    if call.if_match:
        headers["If-Match"] = '"1"'
    body = call.body(world, role) if call.body else None
    savepoint = world.connection.begin_nested()
    try:
        return world.client.request(
            method, call.path(world), json=body, params=call.query, headers=headers
        )
    finally:
        savepoint.rollback()
        world.client.cookies.clear()  # a sign-in cell sets the client's cookie


def _leaks(found: Any, foreign: Party) -> list[str]:
    """Where ``found`` (a decoded JSON body) refers to the foreign party by id."""
    leaks: list[str] = []
    refs = {
        "account_id": foreign.account_id,
        "requester_id": foreign.contact_id,
        "contact_id": foreign.contact_id,
        "primary_contact_id": foreign.contact_id,
        "backup_contact_id": foreign.contact_id,
        "ticket_id": foreign.ticket_id,
    }

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in refs and refs[key] == value:
                    leaks.append(f"{key}={value}")
            if "subject" in node and node.get("id") == foreign.ticket_id:
                leaks.append(f"ticket {foreign.ticket_id}")
            if "status" in node and "name" in node and node.get("id") == foreign.account_id:
                leaks.append(f"account {foreign.account_id}")
            for value in node.values():
                walk(value)

    walk(found)
    return leaks


def _no_leak(r: Any, foreign: Party, what: str) -> None:
    for marker in foreign.markers:
        assert marker.lower() not in r.text.lower(), f"{what} received {marker!r}: {r.text}"
    if r.headers.get("content-type", "").endswith("json") and r.content:
        assert _leaks(json.loads(r.content), foreign) == [], f"{what} received: {r.text}"


def _contacts_see_no_billing(found: Any, what: str) -> None:
    """Plan, contract and status reasons reach a contact only through the billing route."""
    if isinstance(found, list):
        for item in found:
            _contacts_see_no_billing(item, what)
    elif isinstance(found, dict):
        if "name" in found and "status" in found:
            hidden = {"plan", "contract", "attributes", "status_reason", "status_by_agent_id"}
            assert hidden.isdisjoint(found), f"{what} received {sorted(hidden & set(found))}"
        for value in found.values():
            _contacts_see_no_billing(value, what)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_a_role_gets_what_the_matrix_says(world: World, route: tuple[str, str], role: str) -> None:
    method, _ = route
    call = MATRIX[route]
    r = _request(world, call, method, role)
    what = f"{method} {call.path(world)} as {role}"
    assert r.status_code == call.expect[role], f"{what}: {r.status_code} {r.text[:500]}"
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", what
    if not call.data:
        return
    if role == "anonymous" and r.status_code >= 400:
        _no_leak(r, world.a, what)
        _no_leak(r, world.b, what)
    party = world.party_of(role)
    if party is not None:
        _no_leak(r, world.b if party is world.a else world.a, what)
        is_json = r.headers.get("content-type", "").endswith("json")
        if not route[1].endswith("/billing") and r.content and is_json:
            _contacts_see_no_billing(r.json(), what)


def test_a_contact_lists_only_its_own_accounts_things(world: World) -> None:
    """The lists a contact may read hold its own account's things and nothing else, even when
    it asks for the other account by its id."""
    for role, mine in (("contact_a", world.a), ("contact_b", world.b)):
        other = world.b if mine is world.a else world.a
        headers = world.headers[role]
        for params in ({}, {"account_id": other.account_id}, {"include_closed": "true"}):
            r = world.client.get("/api/v1/tickets", params=params, headers=headers)
            ids = {t["id"] for t in r.json()["items"]}
            assert ids <= {mine.ticket_id}, (role, params, r.text)
            assert other.ticket_id not in ids
        r = world.client.get("/api/v1/accounts", headers=headers)
        assert [a["id"] for a in r.json()["items"]] == [mine.account_id], (role, r.text)


def test_the_cells_left_the_desk_as_they_found_it(world: World) -> None:
    """Every cell was rolled back: no ban, rename, reply or new account outlived its cell (so
    that no cell's verdict depended on the cells before it)."""
    staff = world.headers["admin"]
    accounts = world.client.get("/api/v1/accounts", headers=staff).json()["items"]
    assert [(a["name"], a["status"]) for a in accounts] == [
        ("Anvilworks Acme", "active"),
        ("Brimstone Bakery", "active"),
        ("Cinder Crooks", "refused"),
    ]
    r = world.client.get(f"/api/v1/tickets/{world.a.ticket_id}", headers=staff)
    assert r.headers["ETag"] == '"1"'
    assert [e["type"] for e in r.json()["events"]] == ["received"]
    contacts = world.client.get("/api/v1/contacts", headers=staff).json()["items"]
    assert [(c["email"], c["trained"]) for c in contacts] == [
        (world.a.email, False),
        (world.b.email, False),
    ]
    assert world.client.get("/api/v1/me", headers=world.headers["contact_a"]).status_code == 200


def test_refusing_an_account_refused_before_the_api_existed_is_a_conflict(world: World) -> None:
    """An account refused outside the API (no date recorded) is reported as refused, too."""
    r = world.client.post(
        f"/api/v1/accounts/{world.banned_id}/refuse",
        json={"reason": "Again"},
        headers=world.headers["lead"],
    )
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == f"account {world.banned_id} is refused already: Phishing"
