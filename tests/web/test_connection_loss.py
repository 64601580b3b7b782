"""A database connection lost in the middle of a request is a clean 503, and the next request
gets a new connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from policydesk.db.engine import make_engine
from policydesk.db.migrate import upgrade
from policydesk.settings import Settings
from policydesk.web.app import create_app
from tests.conftest import PG_URL
from tests.db.test_postgresql_connections import backend_pid, terminate


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A migrated PostgreSQL schema of its own, behind a pool of one connection that is never
    pinged (as in steady use)."""
    schema = f"pd_loss_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(
        PG_URL,
        connect_args={"options": f"-csearch_path={schema}"},
        ping_idle_after=3600.0,
        pool_size=1,
        max_overflow=0,
    )
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_lost_connection_is_a_503_and_the_next_request_reconnects(pg_engine: Engine) -> None:
    app = create_app(Settings(), engine=pg_engine)
    token = {"Authorization": "Bearer pd_not-a-token"}
    with TestClient(app) as client:
        assert client.get("/api/v1/tickets", headers=token).status_code == 401
        terminate(backend_pid(pg_engine))
        lost = client.get("/api/v1/tickets", headers=token)
        assert lost.status_code == 503
        assert lost.headers["content-type"] == "application/problem+json"
        assert lost.headers["retry-after"] == "1"
        assert "connection to the database was lost" in lost.json()["detail"]
        assert client.get("/api/v1/tickets", headers=token).status_code == 401
