"""What a customer is told when a ticket is opened: whether an acknowledgement goes out, and
when they will hear back, from the clocks (EC2, RL11)."""

from __future__ import annotations

from dataclasses import dataclass

from policydesk.core.clocks import ClockReport
from policydesk.core.policy import Policy

__all__ = ["Promise", "acknowledges", "promise"]


@dataclass(frozen=True, slots=True)
class Promise:
    clock: str
    due_us: int
    clause: str


def acknowledges(policy: Policy, channel: str) -> bool:
    """Whether a ticket from ``channel`` gets an acknowledgement."""
    intake = policy.doc.intake
    return intake.acknowledge and (not intake.channels or channel in intake.channels)


def promise(policy: Policy, report: ClockReport) -> Promise | None:
    """The earliest due time of the running clocks an agent's reply meets: by then the customer
    hears back. None when no such clock has a target."""
    best: Promise | None = None
    for name, model in policy.doc.clocks.items():
        clock = report.clocks[name]
        if not model.met_on_touch or clock.due_us is None or clock.met_us is not None:
            continue
        if best is None or clock.due_us < best.due_us:
            best = Promise(name, clock.due_us, policy.clause("clocks", name))
    return best
