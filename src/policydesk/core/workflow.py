"""The policy's workflow clauses: what happens around the clocks.

These are the parts of a policy file that make deadlines act (a warning before a clock breaches,
what a breach does), the escalation ladder with its best-efforts rule (RS1, RS4, RS5),
emergencies and how they page (RS6, RS7, EC6), how a new ticket is broadcast (DL5), and the
acknowledgement a customer receives at intake (EC2, RL11). ``core/policy.py`` puts them into the
policy file's schema; ``alerts``, ``escalation``, ``emergency`` and ``routing`` run them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from policydesk.core.clauses import Cited, Model, Names, TriageRule

__all__ = [
    "AGENT_TIERS",
    "RECIPIENTS",
    "BestEffortsModel",
    "ClockActionModel",
    "EmergencyModel",
    "EscalationModel",
    "IntakeModel",
    "LeadModel",
    "PagingModel",
    "Recipient",
    "RoutingModel",
    "Via",
]

#: The support tiers agents belong to, lowest first (RS1).
AGENT_TIERS: tuple[str, ...] = ("L1", "L2", "PT", "Dev")
#: Who a notification may go to. ``tier`` is the ticket's current tier; ``tier:PT`` names one.
RECIPIENTS = ("assignee", "tier", "leads", "on_duty", "on_call")
_RECIPIENT = re.compile(r"(assignee|tier|leads|on_duty|on_call|tier:(L1|L2|PT|Dev))")
Via = Literal["email", "webhook", "sms"]


def _check_recipient(v: str) -> str:
    if _RECIPIENT.fullmatch(v) is None:
        options = ", ".join((*RECIPIENTS, "tier:L1", "tier:L2", "tier:PT", "tier:Dev"))
        raise ValueError(f"{v!r} is not a recipient; expected one of: {options}")
    return v


Recipient = Annotated[str, AfterValidator(_check_recipient)]


class LeadModel(Model):
    """How long before a clock is due its warning goes out, in the clock's open time."""

    minutes: int | None = Field(None, gt=0, le=10_000_000)
    percent: Decimal | None = Field(None, gt=0, lt=100, description="Of the clock's target.")

    @model_validator(mode="after")
    def _one(self) -> LeadModel:
        if (self.minutes is None) == (self.percent is None):
            raise ValueError("give exactly one of `minutes` or `percent`")
        return self


class ClockActionModel(Cited):
    """What a warning or a breach does."""

    notify: list[Recipient] = Field([], description="Who is told: " + ", ".join(RECIPIENTS))
    via: list[Via] = Field(default_factory=lambda: ["email"])  # type: ignore[arg-type]
    raise_priority: str | None = Field(None, description="Raise to this priority (never lowers).")
    move_to_tier: str | None = Field(None, description="Move up to this tier (never down).")

    @model_validator(mode="after")
    def _does_something(self) -> ClockActionModel:
        if not (self.notify or self.raise_priority or self.move_to_tier):
            raise ValueError("give at least one of `notify`, `raise_priority`, `move_to_tier`")
        if self.notify and not self.via:
            raise ValueError("`via` needs at least one channel when `notify` is given")
        return self


class BestEffortsModel(Cited):
    """What a tier must have logged before it may hand a ticket up (RS4)."""

    min_suggestions: int = Field(
        1, ge=0, le=10, description="Suggestions to the customer logged at the current tier."
    )


class EscalationModel(Cited):
    """The escalation ladder (RS1): tiers in order, one step at a time."""

    tiers: list[Literal["L1", "L2", "PT", "Dev"]] = Field(min_length=2)
    best_efforts: BestEffortsModel = BestEffortsModel()
    named_request: bool = Field(
        True,
        description="RS5: the customer asked for a named higher-tier agent, citing an earlier "
        "ticket of theirs that agent worked on.",
    )
    asked_for_details: bool = Field(
        True, description="RS5: the higher-tier agent asked for the details on this ticket."
    )

    @field_validator("tiers")
    @classmethod
    def _in_order(cls, tiers: list[str]) -> list[str]:
        if len(set(tiers)) != len(tiers):
            raise ValueError("each tier appears once on the ladder")
        positions = [AGENT_TIERS.index(t) for t in tiers]
        if positions != sorted(positions):
            raise ValueError(f"list the tiers lowest first, in the order {', '.join(AGENT_TIERS)}")
        return tiers


class PagingModel(Cited):
    """How an emergency pages: everyone at once, again and again until acknowledged."""

    notify: list[Recipient] = Field(default_factory=lambda: ["on_call"])
    via: list[Via] = Field(default_factory=lambda: ["email", "webhook", "sms"])  # type: ignore[arg-type]
    repeat_every_minutes: int = Field(10, ge=1, le=24 * 60)
    max_pages: int | None = Field(None, ge=1, le=1_000)

    @model_validator(mode="after")
    def _someone(self) -> PagingModel:
        if not self.notify or not self.via:
            raise ValueError("paging needs `notify` and `via`")
        return self


class EmergencyModel(Cited):
    """Which tickets are emergencies, and how they page (RS6, RS8, EC6).

    A ticket is an emergency while its priority is one of ``priorities``, or when one of
    ``rules`` matched it at receipt. Pages go out while the account's coverage calendar is
    open (RS7): ``by_contract`` names it per contract, else ``calendar``, else the contract's
    own calendar, else the policy's default calendar.
    """

    priorities: Names = []
    rules: list[TriageRule] = Field([], description="Conditions at receipt, as in triage.")
    page: PagingModel = PagingModel()
    calendar: str | None = None
    by_contract: dict[str, str] = {}
    ends_in: list[Literal["mitigated", "resolved", "closed"]] = Field(
        default_factory=lambda: ["mitigated", "resolved", "closed"]  # type: ignore[arg-type]
    )

    @model_validator(mode="after")
    def _some_condition(self) -> EmergencyModel:
        if not (self.priorities or self.rules):
            raise ValueError("give `priorities` or `rules` (or both) to say what an emergency is")
        return self


class RoutingModel(Cited):
    """Who hears of a new ticket at once (DL5); the first to take it is assigned."""

    broadcast_to: list[Recipient] = Field(default_factory=lambda: ["on_duty"])
    via: list[Via] = Field(default_factory=lambda: ["email"])  # type: ignore[arg-type]
    channels: Names = Field([], description="Only tickets from these channels; [] = all.")

    @model_validator(mode="after")
    def _someone(self) -> RoutingModel:
        if not self.broadcast_to or not self.via:
            raise ValueError("routing needs `broadcast_to` and `via`")
        return self


class IntakeModel(Cited):
    """The acknowledgement a customer receives when a ticket is opened (EC2, RL11)."""

    acknowledge: bool = True
    channels: Names = Field([], description="Tickets from these channels; [] = all.")
