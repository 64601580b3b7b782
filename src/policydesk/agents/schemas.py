"""Agent and sign-in shapes for the API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from policydesk.types import Instant, NoNul

__all__ = ["AgentIn", "AgentOut", "AgentPatch", "LoginIn", "MeOut", "Shift", "TokenIn", "TokenOut"]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=320), NoNul]
    password: Annotated[str, Field(min_length=1, max_length=1_000), NoNul]


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200), NoNul]
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"), NoNul]
    role: Literal["agent", "lead", "admin"] = "agent"
    tier: Literal["L1", "L2", "PT", "Dev"] = "L1"
    password: Annotated[str | None, Field(min_length=8, max_length=1_000), NoNul] = None


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    role: str
    tier: str
    active: bool
    shifts: list[dict[str, object]]
    created_at: Instant


class Shift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    hours: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


class AgentPatch(BaseModel):
    """Fields to change; the ones left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str | None, Field(min_length=1, max_length=200), NoNul] = None
    role: Literal["agent", "lead", "admin"] | None = None
    tier: Literal["L1", "L2", "PT", "Dev"] | None = None
    active: bool | None = None
    shifts: list[Shift] | None = Field(None, description="On-duty shifts, in the policy's zone.")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200), NoNul] = "api"


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; only its hash is kept.")


class MeOut(BaseModel):
    kind: Literal["agent", "contact"]
    id: int
    name: str
    email: str
    role: str | None = None
    account_id: int | None = None
