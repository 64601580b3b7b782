"""Policy shapes for the API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from policydesk.types import Instant, NoNul, RowId

__all__ = ["PolicyIn", "PolicyOut", "PreviewIn", "PreviewOut"]


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    name: str
    source: str
    activated_at: Instant
    text: str


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, Field(min_length=1, max_length=1_000_000, description="The policy file (YAML)."), NoNul
    ]
    source: Annotated[
        str, Field(max_length=500, description="Where it came from, for errors."), NoNul
    ] = "api"


class PreviewIn(PolicyIn):
    ticket_id: RowId


class PreviewOut(BaseModel):
    version: str
    priority: str
    clocks: list[dict[str, object]]
