"""SQLite as the embedded database: writers queue, readers never wait for them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from policydesk.db import engine as engine_module
from policydesk.db.engine import BUSY_TIMEOUT_MS, READ_ONLY, make_engine, session_scope, sessions


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
