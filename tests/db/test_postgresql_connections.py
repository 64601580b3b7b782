"""PostgreSQL connections: no ping per request, yet a connection the server dropped while it
sat in the pool is replaced unnoticed; read-only work runs without a transaction block."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import pq
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from policydesk.db.engine import (
    begin_read_only,
    begin_reads_first,
    make_engine,
    session_scope,
    sessions,
    take_write_lock,
)
from tests.conftest import PG_URL


def terminate(pid: int) -> None:
    """End a server process as a restart or an idle timeout would, and wait until it is gone."""
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            ended = conn.execute(
                text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}
            ).scalar()
        assert ended
    finally:
        admin.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    assert isinstance(pid, int)
    return pid


@pytest.fixture
def one_connection() -> Iterator[Engine]:
    """An engine whose pool holds one connection, pinged whenever it was idle at all."""
    engine = make_engine(PG_URL, ping_idle_after=0.0, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(one_connection: Engine) -> None:
    first = backend_pid(one_connection)
    terminate(first)
    assert backend_pid(one_connection) != first  # no error reached the caller


def test_a_connection_in_steady_use_is_not_pinged() -> None:
    engine = make_engine(PG_URL, ping_idle_after=3600.0, pool_size=1, max_overflow=0)
    try:
        pid = backend_pid(engine)
        terminate(pid)
        with pytest.raises(DBAPIError) as info, engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert info.value.connection_invalidated
        assert backend_pid(engine) != pid  # the pool was refreshed after the error
    finally:
        engine.dispose()


def in_transaction_block(session: Session) -> bool:
    dbapi = session.connection().connection.dbapi_connection
    assert isinstance(dbapi, psycopg.Connection)
    return dbapi.info.transaction_status == pq.TransactionStatus.INTRANS


def test_read_only_work_runs_without_a_transaction_block_and_writers_keep_theirs(
    one_connection: Engine,
) -> None:
    factory = sessions(one_connection)
    with session_scope(factory) as session:
        begin_read_only(session)
        assert session.execute(text("SELECT 1")).scalar() == 1
        assert not in_transaction_block(session)  # no BEGIN, and no COMMIT to send
    with session_scope(factory) as session:  # the same pooled connection, for a writer
        assert session.execute(text("SELECT 1")).scalar() == 1
        assert in_transaction_block(session)


def test_a_reads_first_transaction_is_an_ordinary_one_with_nothing_to_take(
    one_connection: Engine,
) -> None:
    """PostgreSQL locks rows, not the database: reads and writes share one transaction."""
    with session_scope(sessions(one_connection)) as session:
        begin_reads_first(session)
        assert session.execute(text("SELECT 1")).scalar() == 1
        assert in_transaction_block(session)
        assert take_write_lock(session) is False
        assert in_transaction_block(session)
