"""The escalation ladder: may a ticket move up from its tier to another (RS1, RS4, RS5)?

Without an ``escalation`` clause, tiers change freely. With one:

- a ticket moves up one rung at a time (RS1: no skipping), and only after the current tier has
  logged its best efforts: at least ``min_suggestions`` replies to the customer marked as
  suggestions since the ticket came to that tier (RS4, the same rule from PT to Dev);
- unless an RS5 exception applies, which waives both and lets the ticket go straight to the
  named agent's tier: the customer asked for a named higher-tier agent citing an earlier ticket
  of theirs that agent worked on (``named_request``), or that agent asked for the details on
  this ticket (``asked_for_details``). The records are checked by the caller, which says what
  they show;
- moving down is always allowed.

A refusal names the condition that is missing and the clause that asks for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from policydesk.core.calendar import to_us
from policydesk.core.facts import Event
from policydesk.core.policy import Policy
from policydesk.core.workflow import AGENT_TIERS

__all__ = ["Claim", "Verdict", "check_escalation", "suggestions_at_tier"]

ClaimKind = Literal["named_request", "asked_for_details"]


@dataclass(frozen=True, slots=True)
class Claim:
    """An RS5 exception an agent invokes, with what the ticket records show of it."""

    kind: ClaimKind
    #: The tier of the higher-tier agent the exception names.
    agent_tier: str
    #: Whether the records bear the claim out, and what they show (or lack).
    shown: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str
    clause: str = ""

    def __str__(self) -> str:
        return f"{self.reason} [{self.clause}]" if self.clause else self.reason


def suggestions_at_tier(events: Sequence[Event]) -> int:
    """Replies marked as suggestions since the ticket last changed tier (RS4)."""
    count = 0
    for e in sorted(events, key=lambda e: to_us(e.at)):
        if e.type == "tier":
            count = 0
        elif e.type == "reply" and e.suggestion:
            count += 1
    return count


def check_escalation(
    policy: Policy, events: Sequence[Event], current: str, target: str, claim: Claim | None = None
) -> Verdict:
    """Whether the ticket may move from tier ``current`` to ``target`` now."""
    ladder = policy.doc.escalation
    if ladder is None:
        return Verdict(True, "the policy sets no escalation ladder")
    clause = policy.clause("escalation")
    cite = f" ({ladder.cite})" if ladder.cite else ""
    if target not in ladder.tiers:
        return Verdict(
            False, f"{target} is not on the escalation ladder ({', '.join(ladder.tiers)})", clause
        )
    if target == current:
        return Verdict(False, f"the ticket is already at {target}", clause)
    if _rank(target) < _rank(current):
        return Verdict(True, f"moved down from {current} to {target}", clause)
    if claim is not None:
        return _exception(policy, claim, current, target)
    above = [t for t in ladder.tiers if _rank(t) > _rank(current)]
    if target != above[0]:
        return Verdict(
            False,
            f"tiers may not be skipped: from {current} the next tier is {above[0]}{cite}",
            clause,
        )
    efforts = ladder.best_efforts
    needed = efforts.min_suggestions
    done = suggestions_at_tier(events)
    clause = policy.clause("escalation", "best_efforts")
    cite = f" ({efforts.cite})" if efforts.cite else cite
    if done < needed:
        return Verdict(
            False,
            f"best efforts first: {current} has logged {done} of the {needed} "
            f"suggestion{'s' if needed != 1 else ''} to the customer needed before escalating "
            f"to {target}{cite}",
            clause,
        )
    return Verdict(True, f"{current} logged {done} suggestion(s); best efforts met{cite}", clause)


def _exception(policy: Policy, claim: Claim, current: str, target: str) -> Verdict:
    ladder = policy.doc.escalation
    assert ladder is not None
    clause = policy.clause("escalation", claim.kind)
    label = claim.kind.replace("_", " ")
    if not getattr(ladder, claim.kind):
        return Verdict(False, f"this policy does not allow the {label} exception", clause)
    if claim.agent_tier != target:
        return Verdict(
            False,
            f"the {label} exception takes the ticket to the named agent's tier, "
            f"{claim.agent_tier}, not {target}",
            clause,
        )
    if not claim.shown:
        return Verdict(False, f"{label} exception not borne out: {claim.detail}", clause)
    return Verdict(True, f"{label} exception (from {current}): {claim.detail}", clause)


def _rank(tier: str) -> int:
    return AGENT_TIERS.index(tier) if tier in AGENT_TIERS else -1
