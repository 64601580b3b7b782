"""Type aliases the API's input and output shapes share."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = ["MAX_ID", "Instant", "NoNul", "RowId", "no_nul"]

#: The largest id the databases store (PostgreSQL's INTEGER); a larger one names nothing.
MAX_ID = 2**31 - 1

#: A row id as the API takes it: positive and within a 32-bit integer column.
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def no_nul(value: str | None) -> str | None:
    # PostgreSQL cannot store NUL in text; refusing it everywhere keeps both databases alike.
    if value is not None and "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


#: Add to any text the API stores: ``Annotated[str, Field(...), NoNul]``.
NoNul = AfterValidator(no_nul)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


#: An instant as the API shows it: in UTC, whether or not it has been to the database yet.
Instant = Annotated[dt.datetime, AfterValidator(_utc)]
