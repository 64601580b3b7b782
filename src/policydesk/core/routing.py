"""Routing: who is on duty at an instant, and whether a new ticket is broadcast (DL5).

A shift is a set of weekdays and one window on the policy's wall clock, e.g.
``{"days": ["mon", "tue"], "hours": "22:00-06:00"}``; a window that ends at or before it starts
runs past midnight into the next day, and belongs to the day it starts on. Public holidays do
not end a shift: staff on shift are on duty, whatever the business calendar says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from policydesk.core.policy import Policy, parse_window
from policydesk.core.workflow import RoutingModel

__all__ = ["DAYS", "broadcast_rule", "check_shifts", "on_duty"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def check_shifts(shifts: Iterable[Mapping[str, Any]]) -> None:
    """Raise ``ValueError`` naming the first shift that is not well formed."""
    for i, shift in enumerate(shifts):
        days = shift.get("days")
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise ValueError(f"shift {i}: days must be a list of {', '.join(DAYS)}")
        hours = shift.get("hours")
        if not isinstance(hours, str):
            raise ValueError(f"shift {i}: hours must be 'HH:MM-HH:MM'")
        parse_window(hours)


def on_duty(shifts: Iterable[Mapping[str, Any]], zone: dt.tzinfo, at: dt.datetime) -> bool:
    """Whether one of ``shifts`` covers the instant ``at`` on the wall clock of ``zone``."""
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    for shift in shifts:
        window = parse_window(shift["hours"])
        days = shift["days"]
        if today in days and window.start <= minute < window.end:
            return True
        # The part of yesterday's overnight shift that runs into today.
        if yesterday in days and window.end > 24 * 60 and minute < window.end - 24 * 60:
            return True
    return False


def broadcast_rule(policy: Policy, channel: str) -> RoutingModel | None:
    """The routing clause that broadcasts a new ticket from ``channel``, if any."""
    routing = policy.doc.routing
    if routing is None or (routing.channels and channel not in routing.channels):
        return None
    return routing
