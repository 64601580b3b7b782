"""Who a notification goes to: the policy's recipient names, resolved against the agents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from policydesk.agents.models import Agent
from policydesk.core.routing import on_duty

__all__ = ["resolve"]

_LEADS = ("lead", "admin")


def resolve(
    names: Iterable[str],
    *,
    agents: Sequence[Agent],
    assignee_id: int | None,
    tier: str,
    zone: dt.tzinfo,
    now: dt.datetime,
) -> list[Agent]:
    """The active agents ``names`` (assignee, tier, tier:X, leads, on_duty, on_call) stand for,
    each once, in the order of ``agents``."""
    wanted = set(names)
    chosen: list[Agent] = []
    for agent in agents:
        if not agent.active:
            continue
        if (
            ("assignee" in wanted and agent.id == assignee_id)
            or ("tier" in wanted and agent.tier == tier)
            or f"tier:{agent.tier}" in wanted
            or ("leads" in wanted and agent.role in _LEADS)
            or ("on_call" in wanted and agent.on_call)
            or ("on_duty" in wanted and on_duty(agent.shifts, zone, now))
        ):
            chosen.append(agent)
    return chosen
