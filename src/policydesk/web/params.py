"""Path and query parameters shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from policydesk.types import MAX_ID, NoNul

__all__ = ["IdFilter", "PathId", "TextFilter"]

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
TextFilter = Annotated[str | None, Query(max_length=100), NoNul]
