"""SQLite as the embedded database: writers queue, readers never wait for them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from policydesk.db import engine as engine_module
from policydesk.db.engine import (
    BUSY_TIMEOUT_MS,
    READ_ONLY,
    begin_reads_first,
    make_engine,
    session_scope,
    sessions,
    take_write_lock,
)


def test_a_read_only_transaction_reads_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    factory = sessions(engine)
    with factory() as writer, factory() as reader:
        writer.execute(text("INSERT INTO t VALUES (1)"))  # BEGIN IMMEDIATE: holds the write lock
        reader.connection(execution_options={READ_ONLY: True})
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # the last commit
        writer.commit()
    engine.dispose()


@pytest.mark.parametrize("poll_seconds", [1.0, 0.0])
def test_a_second_writer_waits_for_the_first_then_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poll_seconds: float
) -> None:
    """Whether the write lock comes from polling or, past the poll, from SQLite's own wait."""
    monkeypatch.setattr(engine_module, "WRITER_POLL_SECONDS", poll_seconds)
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    factory = sessions(engine)
    second_started = threading.Event()

    def second_writer() -> None:
        second_started.set()
        with session_scope(factory) as session:
            session.execute(text("INSERT INTO t VALUES (2)"))

    with session_scope(factory) as first:
        first.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
        worker = threading.Thread(target=second_writer)
        worker.start()
        second_started.wait()
        time.sleep(0.05)  # let it reach BEGIN IMMEDIATE and wait there (nothing is timed)
    worker.join()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT x FROM t ORDER BY x").scalars().all() == [1, 2]
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
    engine.dispose()


def _table(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return sessions(engine)


def test_a_reads_first_transaction_reads_beside_a_writer_then_queues_for_the_lock(
    tmp_path: Path,
) -> None:
    factory = _table(tmp_path)
    with factory() as writer, factory() as late:
        writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
        begin_reads_first(late)
        assert late.execute(text("SELECT count(*) FROM t")).scalar() == 0  # not blocked
        writer.commit()
        assert take_write_lock(late) is True  # the caller must read again ...
        assert late.execute(text("SELECT count(*) FROM t")).scalar() == 1  # ... and sees it
        late.execute(text("INSERT INTO t VALUES (2)"))
        late.commit()
    with factory() as s:
        assert s.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 2]


def test_a_transaction_that_began_writing_has_nothing_to_take(tmp_path: Path) -> None:
    with _table(tmp_path)() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))  # BEGIN IMMEDIATE
        assert take_write_lock(s) is False
        s.rollback()


def test_a_reads_first_transaction_that_wrote_early_is_not_split_in_two(tmp_path: Path) -> None:
    factory = _table(tmp_path)
    with factory() as s:
        begin_reads_first(s)
        s.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(RuntimeError, match="wrote before it took the write lock"):
            take_write_lock(s)
        s.rollback()
    with factory() as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0
