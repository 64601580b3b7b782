"""SQLite as the embedded database: writers queue, readers never wait for them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from policydesk.db.engine import READ_ONLY, make_engine, sessions


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
