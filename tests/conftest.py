"""Database fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is found at ``POLICYDESK_TEST_DATABASE_URL`` (CI sets it), else at this machine's
server on 127.0.0.1:5432, database ``test``. It is never skipped: if it cannot be reached the
tests fail and say so. Each test session works in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from policydesk.db.engine import make_engine
from policydesk.db.migrate import upgrade

PG_URL = os.environ.get(
    "POLICYDESK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_engine(schema: str) -> Engine:
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - a machine without its PostgreSQL
        raise RuntimeError(
            f"PostgreSQL at {PG_URL} is needed by the database tests: {exc}"
        ) from exc
    finally:
        admin.dispose()
    return make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})


def _drop_pg_schema(schema: str) -> None:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of each kind, shared by the session's tests."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "policydesk.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    schema = f"pd_test_{uuid.uuid4().hex[:12]}"
    eng = _pg_engine(schema)
    upgrade(eng)
    yield eng
    eng.dispose()
    _drop_pg_schema(schema)


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions inside one outer transaction that is rolled back after the test: whatever the
    code under test commits is a savepoint, so tests never see each other's rows."""
    connection = engine.connect()
    outer = connection.begin()
    yield sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    outer.rollback()
    connection.close()


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as s:
        yield s


@dataclass
class CommittedDatabase:
    """A database other processes can use: what the test writes is committed."""

    url: str
    engine: Engine


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CommittedDatabase]:
    """A migrated database of each kind, of this test alone (a file, or a schema dropped
    after), for tests that start servers or workers as other processes."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'committed.db'}"
        eng = make_engine(url)
        upgrade(eng)
        yield CommittedDatabase(url, eng)
        eng.dispose()
        return
    schema = f"pd_proc_{uuid.uuid4().hex[:10]}"
    eng = _pg_engine(schema)
    upgrade(eng)
    yield CommittedDatabase(f"{PG_URL}?options=-csearch_path%3D{schema}", eng)
    eng.dispose()
    _drop_pg_schema(schema)
