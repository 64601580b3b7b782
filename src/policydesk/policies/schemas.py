"""Policy shapes for the API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PolicyIn", "PolicyOut", "PreviewIn", "PreviewOut"]


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    name: str
    source: str
    activated_at: dt.datetime
    text: str


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1_000_000, description="The policy file (YAML).")
    source: str = Field("api", max_length=500, description="Where it came from, for errors.")


class PreviewIn(PolicyIn):
    ticket_id: int


class PreviewOut(BaseModel):
    version: str
    priority: str
    clocks: list[dict[str, object]]
