"""Instants read back from SQLite: the fast reader agrees with SQLAlchemy's own parser."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from policydesk.db.types import UTCDateTime

DIALECT = sqlite.dialect()
FAST = UTCDateTime()._cached_result_processor(DIALECT, None)
STORE = UTCDateTime()._cached_bind_processor(DIALECT)
REFERENCE = DateTime()._cached_result_processor(DIALECT, None)


@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2999, 12, 31),
        timezones=st.just(dt.UTC) | st.just(dt.timezone(dt.timedelta(hours=-5))),
    )
)
def test_an_instant_stored_in_sqlite_reads_back_as_the_same_instant(value: dt.datetime) -> None:
    assert FAST is not None
    assert STORE is not None
    assert REFERENCE is not None
    text = STORE(value)
    read = FAST(text)
    assert read == value
    assert read.tzinfo is dt.UTC
    assert read == REFERENCE(text).replace(tzinfo=dt.UTC)


def test_null_reads_back_as_none() -> None:
    assert FAST is not None
    assert FAST(None) is None
