"""The shipped migrations build the schema the models describe, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from policydesk.db.migrate import upgrade
from policydesk.db.models import Agent, Base


def test_migrations_create_every_table(engine: Engine) -> None:
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert "tickets" in inspect(engine).get_table_names()


def test_instants_come_back_aware_in_utc(session: Session) -> None:
    when = dt.datetime.fromisoformat("2026-11-24T15:01:00.123456-08:00")
    session.add(Agent(name="Ana", email="ana@example.com", created_at=when))
    session.flush()
    session.expire_all()
    stored = session.scalars(select(Agent.created_at)).one()
    assert stored == when
    assert stored.tzinfo is not None
    assert stored.utcoffset() == dt.timedelta(0)


def test_a_naive_instant_is_refused(session: Session) -> None:
    session.add(Agent(name="Bo", email="bo@example.com", created_at=dt.datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="needs a time zone"):
        session.flush()


def test_the_migrations_build_exactly_what_the_models_describe(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert compare_metadata(context, Base.metadata) == []
