"""schemathesis against the OpenAPI document: no generated request gets a 5xx.

Two runs over every operation, in-process over ASGI:

- random requests (schemathesis's fuzzing phase) on SQLite and on PostgreSQL, through the
  ``engine`` fixture, in one rolled-back transaction per database;
- schemathesis's coverage phase (every boundary value, wrong type, missing field and malformed
  body the schema implies: about 1,100 requests) on PostgreSQL only, in a schema of its own. It
  is most of the runtime and would double it on SQLite, where fewer values can fail: PostgreSQL
  is the stricter store (32-bit ids, no NUL in text, enforced string lengths).

Every request carries an admin agent's bearer token, so that the routes go past sign-in into
the services; three generated ids in four are mapped onto rows that exist and ticket writes get
the ticket's current ETag, so that replies, status changes, policy moves and the clocks behind
them run too, while the rest keep what was generated (unknown ids, stale versions).

The schemas are loaded at import rather than with ``schemathesis.pytest.from_fixture``, which
reads ``Function._nodeid``, an attribute pytest 9.2 no longer has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from policydesk.accounts.models import Account
from policydesk.agents import security
from policydesk.agents import service as agent_service
from policydesk.db.engine import make_engine, session_scope
from policydesk.policies import service as policy_service
from policydesk.settings import Settings
from policydesk.web.app import create_app
from tests.web.conftest import NOW, ROOT
from tests.web.test_concurrency import fresh_engine

#: Random requests per operation and database.
MAX_EXAMPLES = 15

# The document comes from an app whose (in-memory) database is never touched; every request
# goes to the test's own app, over the test's own database.
_DOC_APP = create_app(Settings(), engine=make_engine("sqlite://"))
_PATH = "/api/v1/openapi.json"
random_requests = schemathesis.openapi.from_asgi(
    _PATH,
    _DOC_APP,
    config=schemathesis.Config.from_dict(
        {"phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}}}
    ),
)
boundary_requests = schemathesis.openapi.from_asgi(
    _PATH,
    _DOC_APP,
    # Methods no route has only test the router's 405: left out.
    config=schemathesis.Config.from_dict(
        {
            "phases": {
                "examples": {"enabled": False},
                "fuzzing": {"enabled": False},
                "coverage": {"unexpected-methods": []},
            }
        }
    ),
)
_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # One desk per database, shared by every example on purpose: state builds up as it would.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@dataclass
class Fuzz:
    client: TestClient
    auth: dict[str, str]
    #: Rows a generated path id is mapped onto, by the parameter's name.
    known: dict[str, list[int]] = field(default_factory=dict)


def seeded_desk(engine: Engine) -> Iterator[Fuzz]:
    """An admin, another agent, two accounts and three tickets, rolled back at the end."""
    with pytest.MonkeyPatch.context() as mp:
        # Argon2 at its cheapest: the routes that set passwords run the same code, in
        # milliseconds instead of a tenth of a second a request.
        mp.setattr(security, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        connection = engine.connect()
        outer = connection.begin()
        try:
            yield _seed(
                sessionmaker(
                    bind=connection,
                    expire_on_commit=False,
                    join_transaction_mode="create_savepoint",
                ),
                engine,
            )
        finally:
            outer.rollback()
            connection.close()


def _seed(factory: sessionmaker[Any], engine: Engine) -> Fuzz:
    with session_scope(factory) as s:
        text = (ROOT / "policies" / "rarelogic.yaml").read_text()
        policy_service.activate_policy(s, text=text, source="rarelogic.yaml", now=NOW)
        admin = agent_service.create_agent(
            s, name="Fuzz Admin", email="fuzz-admin@desk.test", role="admin", now=NOW
        )
        # The agent routes change this one; the admin itself must stay signed in.
        other = agent_service.create_agent(s, name="Target", email="target@desk.test", now=NOW)
        token = agent_service.create_token(s, agent_id=admin.id, name="fuzz", now=NOW)
        accounts = [
            Account(name="Acme", plan="standard", attributes={}, created_at=NOW),
            Account(
                name="Other",
                plan="high_priority",
                attributes={"high_priority": True},
                created_at=NOW,
            ),
        ]
        s.add_all(accounts)
        s.flush()
        account_ids = [a.id for a in accounts]
        agent_ids = [other.id]
    app = create_app(Settings(), engine=engine, session_factory=factory, clock=lambda: NOW)
    auth = {"Authorization": f"Bearer {token}"}
    client = TestClient(app)
    ticket_ids = []
    for account_id in [*account_ids, None]:
        r = client.post(
            "/api/v1/tickets",
            json={"subject": "Fuzzed", "channel": "email", "account_id": account_id},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        ticket_ids.append(r.json()["id"])
    known = {"ticket_id": ticket_ids, "agent_id": agent_ids, "account_id": account_ids}
    return Fuzz(client=client, auth=auth, known=known)


@pytest.fixture(scope="module")
def fuzz(engine: Engine) -> Iterator[Fuzz]:
    yield from seeded_desk(engine)


@pytest.fixture(scope="module")
def pg_fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    with fresh_engine("postgresql", tmp_path_factory.mktemp("unused")) as engine:
        yield from seeded_desk(engine)


def send(case: Any, fuzz: Fuzz) -> None:
    headers = dict(fuzz.auth)
    params = case.path_parameters or {}
    stale = False
    for name, generated in params.items():
        rows = fuzz.known.get(name)
        # Three generated ids in four become a row that exists (picked by the generated value,
        # so that Hypothesis can replay and shrink); the fourth, and a non-integer, stay as is.
        if rows and type(generated) is int and generated % 4:
            params[name] = rows[generated % len(rows)]
            stale = generated % 8 == 1  # now and then an old ETag, on purpose
    ticket_id = params.get("ticket_id")
    if case.method.upper() != "GET" and type(ticket_id) is int:
        r = fuzz.client.get(f"/api/v1/tickets/{ticket_id}", headers=fuzz.auth)
        etag = r.headers.get("ETag")
        headers["If-Match"] = '"1"' if stale or etag is None else etag
    case.call_and_validate(app=fuzz.client.app, headers=headers, checks=[not_a_server_error])


@random_requests.parametrize()
@_SETTINGS
def test_no_random_request_gets_a_server_error(case: Any, fuzz: Fuzz) -> None:
    send(case, fuzz)


@boundary_requests.parametrize()
@_SETTINGS
def test_no_boundary_request_gets_a_server_error_on_postgresql(case: Any, pg_fuzz: Fuzz) -> None:
    send(case, pg_fuzz)
