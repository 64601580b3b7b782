"""SLA clocks: a pure function of (policy, ticket facts, events, as_of).

Nothing here counts down on a timer. Every clock is recomputed from the ticket's timeline, so a
deadline never drifts and each one can be explained step by step, clause by clause.

Timeline rules (the policy chooses which apply to each clock):
- A ticket starts ``new``; an agent touch (``touch_events``: reply, call, chat by default, RL14)
  makes a new ticket ``open``; a customer reply returns a ``pending_customer`` ticket to ``open``.
- A clock starts when the ticket is received or at the first touch; it is met by the next touch
  after its start and/or by entering a status; it pauses while the ticket is in a paused status;
  entering a cancelling status ends it with no verdict.
- The target is chosen by the ticket's priority as of ``as_of`` (a priority change re-targets the
  clock from its start, as Zammad does) and counted in the calendar of the target rule, else of
  the account's contract, else the policy's default calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from policydesk.core.calendar import BusinessCalendar, from_us, to_us
from policydesk.core.errors import PolicyError
from policydesk.core.facts import Attr, Event, Explanation, LocalTime, Step, TicketFacts
from policydesk.core.policy import ClockModel, Policy, TargetRule, parse_clock_time
from policydesk.core.triage import Triage, attributes_of, classify, contract_of, matches_attributes

__all__ = ["ClockReport", "ClockResult", "evaluate", "fmt_instant"]

_US_PER_MIN = 60_000_000


@dataclass(slots=True)
class ClockResult:
    """One clock as of the evaluation instant; instants are kept as epoch microseconds and
    turned into aware UTC datetimes when read."""

    name: str
    state: str  # not_started | running | paused | met | breached | cancelled | no_target
    breached: bool = False
    calendar: str | None = None
    started_us: int | None = None
    due_us: int | None = None
    met_us: int | None = None
    remaining_us: int | None = None
    paused_us: list[tuple[int, int | None]] = field(default_factory=list)
    steps: Explanation = field(default_factory=list)

    @property
    def started_at(self) -> dt.datetime | None:
        return None if self.started_us is None else from_us(self.started_us)

    @property
    def due(self) -> dt.datetime | None:
        return None if self.due_us is None else from_us(self.due_us)

    @property
    def met_at(self) -> dt.datetime | None:
        return None if self.met_us is None else from_us(self.met_us)

    @property
    def remaining(self) -> dt.timedelta | None:
        """Open time left until due (negative once overdue); frozen while paused."""
        return None if self.remaining_us is None else dt.timedelta(0, 0, self.remaining_us)

    @property
    def paused(self) -> list[tuple[dt.datetime, dt.datetime | None]]:
        return [(from_us(a), None if b is None else from_us(b)) for a, b in self.paused_us]


@dataclass(slots=True)
class ClockReport:
    priority: Triage
    status: str
    clocks: dict[str, ClockResult]

    def breached(self) -> list[str]:
        return [name for name, c in self.clocks.items() if c.breached]


class _Account(NamedTuple):
    """What target rules look at besides the priority, worked out once per evaluation."""

    plan: str | None
    channel: str | None
    contract: str | None
    attributes: dict[str, Attr]


@dataclass(slots=True)
class _Timeline:
    """The ticket's history up to ``as_of`` in epoch microseconds."""

    statuses: list[tuple[int, str]]  # (at, status entered), starting with (received, "new")
    touches: list[int]
    priority_changes: list[tuple[int, str]]


def evaluate(
    policy: Policy, facts: TicketFacts, events: Sequence[Event], as_of: dt.datetime
) -> ClockReport:
    """Every clock of ``policy`` for this ticket, as of ``as_of``."""
    as_of_us = to_us(as_of)
    timeline = _timeline(policy, facts, events, as_of_us)
    triage = classify(policy, facts)
    priority = triage.priority
    if timeline.priority_changes:
        at, priority = timeline.priority_changes[-1]
        triage = Triage(priority, "", Step("changed by an agent at {}", args=(_at(policy, at),)))
    if priority not in policy.priority_names:
        raise PolicyError(f"priority {priority!r} is not one of the policy's priorities")
    account = _Account(
        facts.plan, facts.channel, contract_of(policy, facts), attributes_of(policy, facts)
    )
    clocks: dict[str, ClockResult] = {
        name: _clock(policy, name, model, account, timeline, triage, as_of_us)
        for name, model in policy.doc.clocks.items()
    }
    return ClockReport(priority=triage, status=timeline.statuses[-1][1], clocks=clocks)


def fmt_instant(policy: Policy, t: dt.datetime) -> str:
    local = t.astimezone(policy.calendar().zone)
    return local.strftime("%a %Y-%m-%d %H:%M:%S %Z")


def _timeline(
    policy: Policy, facts: TicketFacts, events: Sequence[Event], as_of_us: int
) -> _Timeline:
    received = to_us(facts.received)
    touch_types = policy.touch_types
    status = "new"
    statuses = [(received, status)]
    touches: list[int] = []
    changes: list[tuple[int, str]] = []
    ats = [to_us(ev.at) for ev in events]
    # By instant; events at the same instant keep the order they were recorded in.
    for n in sorted(range(len(ats)), key=ats.__getitem__):
        at, ev = ats[n], events[n]
        if at > as_of_us:
            break
        if at < received:
            at = received
        kind = ev.type
        new_status = status
        if kind in touch_types:
            touches.append(at)
            if status == "new":
                new_status = "open"
        elif kind == "customer_reply":
            if status == "pending_customer":
                new_status = "open"
        elif kind == "status":
            if ev.status:
                new_status = ev.status
        elif kind == "priority" and ev.priority:
            changes.append((at, ev.priority))
        if new_status != status:
            status = new_status
            statuses.append((at, status))
    return _Timeline(statuses, touches, changes)


def _pick_target(
    model: ClockModel, account: _Account, priority: str
) -> tuple[int, TargetRule] | None:
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


class _Plan(NamedTuple):
    """What a target rule means for one contract, worked out once per policy."""

    calendar: BusinessCalendar
    budget_us: int | None  # None for a cut-off rule: it depends on the start
    steps: tuple[Step, ...]
    clause: str


def _plan(policy: Policy, clock: str, j: int, rule: TargetRule, contract: str | None) -> _Plan:
    key = ("clock-plan", clock, j, contract)
    cached = policy.derived.get(key)
    if cached is None:
        path = ("clocks", clock, "targets", j)
        clause = policy.clause(*path) + (f" ({rule.cite})" if rule.cite else "")
        cal, where = _calendar(policy, rule, contract, path)
        budget, what = _budget(rule, cal)
        steps = (where,) if what is None else (where, Step(what, clause))
        cached = policy.derived[key] = _Plan(cal, budget, steps, clause)
    assert isinstance(cached, _Plan)
    return cached


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
        return (
            rule.business_minutes * _US_PER_MIN,
            f"target {rule.business_minutes} business minutes",
        )
    if rule.business_hours is not None:
        hours = rule.business_hours
        return int(hours * 60 * _US_PER_MIN), f"target {hours} business hours"
    if rule.calendar_hours is not None:
        hours = rule.calendar_hours
        return int(hours * 60 * _US_PER_MIN), f"target {hours} calendar hours"
    if rule.business_days is not None:
        day = cal.standard_day // dt.timedelta(0, 0, 1)
        text = f"target {rule.business_days} business days of {_Span(day)} each"
        return int(Decimal(day) * rule.business_days), text
    return None, None


def _cutoff_budget(
    rule: TargetRule, cal: BusinessCalendar, start: int, steps: Explanation, clause: str
) -> int:
    """Open time from ``start`` to the close the cut-off rule picks."""
    assert rule.cutoff is not None
    cut = parse_clock_time(rule.cutoff.at)
    local = from_us(start).astimezone(cal.zone)
    on = local.date()
    if cal.is_business_day(on) and local.time() <= cut:
        why = f"received by the {rule.cutoff.at} cut-off on a business day: due by close that day"
    else:
        on = cal.next_business_day(on)
        why = (
            f"received after the {rule.cutoff.at} cut-off or on a closed day: "
            f"due by close of the next business day ({on.isoformat()})"
        )
    close = cal.close_of_business(on)
    assert close is not None
    steps.append(Step(why, clause))
    return cal.elapsed_us(start, to_us(close))


class _Span(NamedTuple):
    """A length of open time, shown as hours and minutes when read."""

    us: int

    def __str__(self) -> str:
        minutes = self.us // _US_PER_MIN
        return f"{minutes // 60}h{minutes % 60:02d}" if minutes % 60 else f"{minutes // 60}h"


def _clock(
    policy: Policy,
    name: str,
    model: ClockModel,
    account: _Account,
    tl: _Timeline,
    triage: Triage,
    as_of: int,
) -> ClockResult:
    priority = triage.priority
    result = ClockResult(name=name, state="not_started")
    steps = result.steps
    where = _clauses(policy, name)
    # Start.
    if model.starts == "received":
        start = tl.statuses[0][0]
        touch_from = 0
        steps.append(Step("started when received, {}", where.clock, (_at(policy, start),)))
    else:
        if not tl.touches:
            steps.append(Step("starts at the first touch; none yet", where.starts))
            return result
        start = tl.touches[0]
        touch_from = 1
        steps.append(Step("started at the first touch, {}", where.starts, (_at(policy, start),)))
    result.started_us = start
    # Target.
    picked = _pick_target(model, account, priority)
    if picked is None or picked[1].no_target:
        clause = policy.clause("clocks", name, "targets", picked[0]) if picked else where.clock
        steps.append(Step(f"no target for priority {priority}", clause))
        result.state = "no_target"
        return result
    j, rule = picked
    plan = _plan(policy, name, j, rule, account.contract)
    steps.append(Step("priority {}: {}", triage.clause, (priority, triage.reason)))
    steps.extend(plan.steps)
    cal = plan.calendar
    result.calendar = cal.name
    budget = plan.budget_us
    if budget is None:
        budget = _cutoff_budget(rule, cal, start, steps, plan.clause)
    # Walk the timeline from the start: running and paused stretches, until met or cancelled.
    end_at: int | None = None
    end_kind = ""
    if model.met_on_touch:
        # A clock started by a touch is met by a later one, not by one logged at the same instant.
        later = (at for at in tl.touches[touch_from:] if at > start or touch_from == 0)
        first = next(later, None)
        if first is not None:
            end_at, end_kind = first, "met by an agent touch"
    status_at_start = "new"
    for at, status in tl.statuses:
        if at > start:
            break
        status_at_start = status
    if status_at_start in model.cancelled_in:
        steps.append(Step(f"cancelled: status {status_at_start} at start", where.clock))
        result.state = "cancelled"
        return result
    pauses: list[tuple[int, int | None]] = []
    paused_since = start if status_at_start in model.paused_in else None
    for at, status in tl.statuses:
        if at <= start:
            continue
        if end_at is not None and at >= end_at:
            break
        if status in model.met_on_status or status in model.cancelled_in:
            kind = "met" if status in model.met_on_status else "cancelled"
            end_at, end_kind = at, f"{kind}: status {status}"
            break
        if status in model.paused_in and paused_since is None:
            paused_since = at
        elif status not in model.paused_in and paused_since is not None:
            pauses.append((paused_since, at))
            paused_since = None
    if paused_since is not None:
        pauses.append((paused_since, end_at))
    # Business time used in each running stretch until the budget is spent.
    remaining = budget
    due: int | None = None
    cursor = start
    open_pause: int | None = None
    for p_start, p_end in pauses:
        if end_at is not None and p_start >= end_at:
            break
        used = cal.elapsed_us(cursor, p_start)
        if used >= remaining:
            break
        remaining -= used
        result.paused_us.append((p_start, p_end))
        if p_end is not None:
            text = "paused {} to {} ({} of open time)"
            args = (_at(policy, p_start), _at(policy, p_end), _OpenTime(cal, p_start, p_end))
            steps.append(Step(text, where.paused_in, args))
        else:
            steps.append(Step("paused {}, still paused", where.paused_in, (_at(policy, p_start),)))
        if p_end is None:
            open_pause = p_start
            break
        cursor = p_end
    if open_pause is None:
        due = cal.add_us(cursor, remaining)
    if end_at is not None:
        result.met_us = end_at
        if end_kind.startswith("cancelled"):
            steps.append(
                Step(
                    end_kind + " at {}",
                    where.cancelled_in,
                    (_at(policy, end_at),),
                )
            )
            result.state = "cancelled"
            result.due_us = due
            result.met_us = None
            return result
        steps.append(Step(end_kind + " at {}", where.clock, (_at(policy, end_at),)))
        result.due_us = due
        result.breached = due is not None and end_at > due
        result.state = "breached" if result.breached else "met"
        if due is not None:
            steps.append(
                Step(
                    "due {}; " + ("late" if result.breached else "in time"),
                    args=(_at(policy, due),),
                )
            )
        return result
    if due is None:
        result.state = "paused"
        result.remaining_us = remaining
        steps.append(Step("{} of open time left when resumed", args=(_Span(remaining),)))
        return result
    result.due_us = due
    result.breached = as_of > due
    result.state = "breached" if result.breached else "running"
    result.remaining_us = cal.elapsed_us(as_of, due)
    steps.append(Step("due {} ({})", args=(_at(policy, due), LocalTime(due, dt.UTC))))
    return result


def _at(policy: Policy, us: int) -> LocalTime:
    return LocalTime(us, policy.zone)


class _Clauses(NamedTuple):
    clock: str
    starts: str
    paused_in: str
    cancelled_in: str


def _clauses(policy: Policy, name: str) -> _Clauses:
    key = ("clock-clauses", name)
    found = policy.derived.get(key)
    if found is None:
        c = policy.clause
        found = policy.derived[key] = _Clauses(
            c("clocks", name),
            c("clocks", name, "starts"),
            c("clocks", name, "paused_in"),
            c("clocks", name, "cancelled_in"),
        )
    assert isinstance(found, _Clauses)
    return found


class _OpenTime(NamedTuple):
    """Open time between two instants, computed only when shown."""

    calendar: BusinessCalendar
    a: int
    b: int

    def __str__(self) -> str:
        return str(_Span(self.calendar.elapsed_us(self.a, self.b)))
