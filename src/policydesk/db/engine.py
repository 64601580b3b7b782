"""Engines for SQLite (the embedded default) and PostgreSQL, and the one transaction owner."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "PING_IDLE_AFTER",
    "READ_ONLY",
    "begin_read_only",
    "begin_reads_first",
    "make_engine",
    "session_scope",
    "sessions",
    "take_write_lock",
]

#: How long a SQLite statement waits for a lock before it fails.
BUSY_TIMEOUT_MS = 30_000
#: How long a SQLite writer polls for the write lock before it waits SQLite's way.
WRITER_POLL_SECONDS = 1.0
#: Execution option of a transaction that only reads (SQLite then skips the write lock).
READ_ONLY = "policydesk_read_only"
#: Execution option of a transaction that reads, then writes (see ``begin_reads_first``).
READS_FIRST = "policydesk_reads_first"
_READING = "policydesk_reading"
#: Seconds a pooled PostgreSQL connection may sit unused before it is checked on checkout.
PING_IDLE_AFTER = 10.0
#: Seconds after which a PostgreSQL connection is replaced rather than reused.
RECYCLE_AFTER = 1800


def make_engine(url: str, *, ping_idle_after: float = PING_IDLE_AFTER, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and serialised writers.

    SQLite ignores ``SELECT … FOR UPDATE``: every transaction there starts with
    ``BEGIN IMMEDIATE`` so that two writers queue up instead of failing half-way.

    A PostgreSQL connection that has been idle in the pool for ``ping_idle_after`` seconds
    is pinged before use and silently replaced if the server has dropped it (a restart, an
    idle timeout on the way). One in steady use is not: a ping per request would be one more
    round trip on every request. A connection found dead in use invalidates the pool, and
    the request fails cleanly (503, see ``policydesk.web.problems``) before it could commit.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_recycle=RECYCLE_AFTER, **kwargs)
    _ping_when_idle(engine, ping_idle_after)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    # Whether take_write_lock may end this transaction's reads: only one that began here as
    # reads-first (not, say, a session joined to an outer transaction, as the tests' are).
    # The connection's count of changed rows tells it that nothing was written meanwhile.
    dbapi_connection = connection.connection.dbapi_connection
    reading = dbapi_connection.total_changes if options.get(READS_FIRST) else None
    connection.info[_READING] = reading
    if options.get(READ_ONLY) or options.get(READS_FIRST):
        connection.exec_driver_sql("BEGIN")  # WAL: readers never wait for the writer
        return
    _begin_immediate(connection)


def _begin_immediate(connection: Connection) -> None:
    """Take the write lock: polling first, then SQLite's own wait and, past it, its error."""
    if not _try_begin_immediate(cast(sqlite3.Connection, connection.connection.dbapi_connection)):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _try_begin_immediate(dbapi_connection: sqlite3.Connection) -> bool:
    """Take the write lock, trying again every 0.1 to 1 ms while another writer holds it, for
    up to a second; False if it is still held then.

    SQLite's own busy wait sleeps 1, 2, 5, 10, 15, 20, 25, … ms between its tries, so with a
    few writers queueing the lock sits free most of the time while the next one sleeps."""
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + WRITER_POLL_SECONDS
        pause = 0.0001
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
            if time.monotonic() > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.001)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _ping_when_idle(engine: Engine, after: float) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < after:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out a new one.
            raise DisconnectionError(f"connection dropped while idle: {exc}") from exc


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def begin_read_only(session: Session) -> None:
    """Start ``session``'s transaction as one that only reads.

    SQLite then takes a plain ``BEGIN``: in WAL mode it reads alongside a writer instead of
    queueing behind it. PostgreSQL runs each statement on its own (autocommit), which spares
    the ``BEGIN`` and ``COMMIT`` round trips and changes nothing a reader sees: at READ
    COMMITTED every statement takes its own snapshot anyway. A session already bound to a
    connection in a transaction (tests) keeps that transaction.
    """
    options: dict[str, Any] = {READ_ONLY: True}
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    session.connection(execution_options=options)


def begin_reads_first(session: Session) -> None:
    """Start ``session``'s transaction as one that reads, then calls ``take_write_lock``
    before it writes.

    A SQLite database has one writer at a time, and a transaction that starts with ``BEGIN
    IMMEDIATE`` holds the lock through all its reads and computing. This one reads
    alongside the writer instead, and queues for the lock only for its writes. PostgreSQL
    locks rows, not the database: there this is an ordinary transaction.
    """
    session.connection(execution_options={READS_FIRST: True})


def take_write_lock(session: Session) -> bool:
    """Before the first write of a ``begin_reads_first`` transaction: on SQLite, end its
    reads and take the write lock (queueing behind another writer). A transaction that has
    written already is refused with ``RuntimeError`` (a bug in its caller).

    True when the caller must read again what its writes depend on: another writer may have
    changed it in between, and a check made on the earlier reads no longer holds. False
    (nothing changed hands) on PostgreSQL and for any other transaction, which holds
    whatever it holds since it began."""
    connection = session.connection()
    reading = connection.info.pop(_READING, None)
    if reading is None:
        return False
    dbapi_connection = cast(sqlite3.Connection, connection.connection.dbapi_connection)
    if dbapi_connection.total_changes != reading:
        # Committing here would split the transaction in two.
        raise RuntimeError("a reads-first transaction wrote before it took the write lock")
    dbapi_connection.execute("COMMIT")  # a read transaction: nothing to write
    _begin_immediate(connection)
    return True


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The only place that commits: a request, a job or a command wraps its work in this."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
