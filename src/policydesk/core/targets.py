"""Target rules: which rule of a clock applies to a ticket, and what it means in open time.

A rule's meaning for one contract (its calendar, its length in open time, how to say it) does not
change from ticket to ticket, so it is worked out once per policy and kept in ``policy.derived``.
Only a cut-off rule depends on the clock's start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from policydesk.core.calendar import BusinessCalendar, from_us, to_us
from policydesk.core.facts import Attr, Step
from policydesk.core.policy import ClockModel, Policy, TargetRule, parse_clock_time
from policydesk.core.triage import matches_attributes

__all__ = ["Account", "Plan", "cutoff", "pick", "plan_for"]

US_PER_MIN = 60_000_000


class Account(NamedTuple):
    """What target rules look at besides the priority, worked out once per evaluation."""

    plan: str | None
    channel: str | None
    contract: str | None
    attributes: Mapping[str, Attr]


class Plan(NamedTuple):
    """What a target rule means under one contract."""

    calendar: BusinessCalendar
    budget_us: int | None  # None for a cut-off rule: it depends on the start
    steps: tuple[Step, ...]
    clause: str


def pick(model: ClockModel, account: Account, priority: str) -> tuple[int, TargetRule] | None:
    """The first target rule of ``model`` that matches, with its index."""
    for j, rule in enumerate(model.targets):
        if rule.priority and priority not in rule.priority:
            continue
        if rule.plan and account.plan not in rule.plan:
            continue
        if rule.channel and account.channel not in rule.channel:
            continue
        if rule.contract and account.contract not in rule.contract:
            continue
        if rule.attributes and not matches_attributes(rule.attributes, account.attributes):
            continue
        return j, rule
    return None


def plan_for(policy: Policy, clock: str, j: int, rule: TargetRule, contract: str | None) -> Plan:
    key = ("target-plan", clock, j, contract)
    found = policy.derived.get(key)
    if found is None:
        path = ("clocks", clock, "targets", j)
        clause = policy.clause(*path) + (f" ({rule.cite})" if rule.cite else "")
        cal, where = _calendar(policy, rule, contract, path)
        budget, what = _budget(rule, cal)
        steps = (where,) if what is None else (where, Step(what, clause))
        found = policy.derived[key] = Plan(cal, budget, steps, clause)
    assert isinstance(found, Plan)
    return found


def cutoff(rule: TargetRule, cal: BusinessCalendar, start: int) -> tuple[int, str]:
    """Open time from ``start`` to the close a cut-off rule picks, and why that close."""
    assert rule.cutoff is not None
    cut = parse_clock_time(rule.cutoff.at)
    local = from_us(start).astimezone(cal.zone)
    on = local.date()
    close = cal.close_of_business(on)
    # Same day only if it is a business day, the cut-off has not passed and (after an early
    # close) the day's close is still ahead.
    if close is not None and local.time() <= cut and to_us(close) > start:
        why = f"received by the {rule.cutoff.at} cut-off on a business day: due by close that day"
    else:
        on = cal.next_business_day(on)
        close = cal.close_of_business(on)
        why = (
            f"received after the {rule.cutoff.at} cut-off, after the close or on a closed day: "
            f"due by close of the next business day ({on.isoformat()})"
        )
    assert close is not None
    return cal.elapsed_us(start, to_us(close)), why


def _calendar(
    policy: Policy, rule: TargetRule, contract: str | None, path: tuple[str | int, ...]
) -> tuple[BusinessCalendar, Step]:
    if rule.calendar_hours is not None:
        step = Step("counted in calendar hours (around the clock)", policy.clause(*path))
        return policy.always_open, step
    if rule.calendar:
        step = Step(f"counted in calendar {rule.calendar!r}", policy.clause(*path, "calendar"))
        return policy.calendar(rule.calendar), step
    if rule.cutoff and rule.cutoff.calendar:
        name = rule.cutoff.calendar
        step = Step(f"counted in calendar {name!r}", policy.clause(*path, "cutoff"))
        return policy.calendar(name), step
    if contract and contract in policy.doc.contracts:
        name = policy.doc.contracts[contract].calendar
        step = Step(
            f"counted in calendar {name!r} (contract {contract})",
            policy.clause("contracts", contract),
        )
        return policy.calendar(name), step
    step = Step(f"counted in the default calendar {policy.default_calendar!r}")
    return policy.calendar(), step


def _budget(rule: TargetRule, cal: BusinessCalendar) -> tuple[int | None, str | None]:
    """The target as open time on ``cal``, and how to say it; (None, None) for a cut-off."""
    if rule.business_minutes is not None:
        minutes = rule.business_minutes
        return minutes * US_PER_MIN, f"target {minutes} business minutes"
    if rule.business_hours is not None:
        hours = rule.business_hours
        return int(hours * 60 * US_PER_MIN), f"target {hours} business hours"
    if rule.calendar_hours is not None:
        hours = rule.calendar_hours
        return int(hours * 60 * US_PER_MIN), f"target {hours} calendar hours"
    if rule.business_days is not None:
        day = cal.standard_day // dt.timedelta(0, 0, 1)
        text = f"target {rule.business_days} business days of {span_text(day)} each"
        return int(Decimal(day) * rule.business_days), text
    return None, None


def span_text(us: int) -> str:
    minutes = us // US_PER_MIN
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes % 60 else f"{minutes // 60}h"
