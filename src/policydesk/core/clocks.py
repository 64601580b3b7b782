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
from typing import NamedTuple

from policydesk.core.calendar import BusinessCalendar, from_us, to_us
from policydesk.core.errors import PolicyError
from policydesk.core.facts import Event, Explanation, LocalTime, Step, TicketFacts
from policydesk.core.policy import ClockModel, Policy, TargetRule
from policydesk.core.targets import (
    US_PER_MIN,
    Account,
    Plan,
    cutoff,
    pick,
    plan_for,
    span_text,
)
from policydesk.core.triage import Triage, attributes_of, classify, contract_of

__all__ = ["ClockReport", "ClockResult", "evaluate", "fmt_instant"]


class _Why(NamedTuple):
    """What an explanation needs beyond the result itself; the steps are built when read."""

    policy: Policy
    triage: Triage
    picked: tuple[int, TargetRule] | None = None
    plan: Plan | None = None
    touch_start: bool = False
    end_at: int | None = None
    end_kind: str = ""
    cancelled_at_start: str | None = None


@dataclass(slots=True)
class ClockResult:
    """One clock as of the evaluation instant.

    Instants are kept as epoch microseconds and turned into aware UTC datetimes when read, and
    the explanation (``steps``) is written only when asked for: evaluating thousands of tickets
    costs no formatting that nobody reads.
    """

    name: str
    state: str  # not_started | running | paused | met | breached | cancelled | no_target
    breached: bool = False
    calendar: str | None = None
    started_us: int | None = None
    due_us: int | None = None
    met_us: int | None = None
    remaining_us: int | None = None
    paused_us: list[tuple[int, int | None]] = field(default_factory=list)
    #: When the warning goes out (``warn_before``), for a clock still running or overdue.
    warn_us: int | None = None
    why: _Why | None = None

    @property
    def started_at(self) -> dt.datetime | None:
        return None if self.started_us is None else from_us(self.started_us)

    @property
    def due(self) -> dt.datetime | None:
        return None if self.due_us is None else from_us(self.due_us)

    @property
    def warn_at(self) -> dt.datetime | None:
        return None if self.warn_us is None else from_us(self.warn_us)

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

    @property
    def steps(self) -> Explanation:
        """The steps that produced this result, each naming the policy clause behind it."""
        return _explain(self)


@dataclass(slots=True)
class ClockReport:
    priority: Triage
    status: str
    clocks: dict[str, ClockResult]

    def breached(self) -> list[str]:
        return [name for name, c in self.clocks.items() if c.breached]


@dataclass(slots=True)
class _Timeline:
    """The ticket's history up to ``as_of`` in epoch microseconds."""

    statuses: list[tuple[int, str]]  # (at, status entered), starting with (received, "new")
    touches: list[int]
    priority_changes: list[tuple[int, str]]


def evaluate(
    policy: Policy, facts: TicketFacts, events: Sequence[Event], as_of: dt.datetime
) -> ClockReport:
    """Every clock of ``policy`` for this ticket, as of ``as_of``.

    Raises ``PolicyError`` for a timeline that cannot be: ``as_of`` or an event before receipt,
    or a priority the policy does not define.
    """
    as_of_us = to_us(as_of)
    timeline = _timeline(policy, facts, events, as_of_us)
    priorities = _Priorities(policy, facts, timeline.priority_changes)
    account = Account(
        facts.plan, facts.channel, contract_of(policy, facts), attributes_of(policy, facts)
    )
    clocks: dict[str, ClockResult] = {
        name: _clock(policy, name, model, account, timeline, priorities, as_of_us)
        for name, model in policy.doc.clocks.items()
    }
    return ClockReport(priority=priorities.at(None), status=timeline.statuses[-1][1], clocks=clocks)


class _Priorities:
    """The ticket's priority at a moment: an agent's latest choice by then, else triage's."""

    def __init__(self, policy: Policy, facts: TicketFacts, changes: list[tuple[int, str]]) -> None:
        self.policy, self.facts, self.changes = policy, facts, changes
        self._triage: Triage | None = None
        for _, name in changes:
            self._known(name)

    def at(self, moment: int | None) -> Triage:
        """As of ``moment`` (None: as of the evaluation)."""
        chosen = [c for c in self.changes if moment is None or c[0] <= moment]
        if chosen:
            at, name = chosen[-1]
            reason = Step("changed by an agent at {}", args=(_at(self.policy, at),))
            return Triage(name, "", reason)
        if self._triage is None:
            self._triage = classify(self.policy, self.facts)
            self._known(self._triage.priority)
        return self._triage

    def _known(self, name: str) -> None:
        if name not in self.policy.priority_names:
            raise PolicyError(f"priority {name!r} is not one of the policy's priorities")


def fmt_instant(policy: Policy, t: dt.datetime) -> str:
    return str(LocalTime(to_us(t), policy.zone))


def _timeline(
    policy: Policy, facts: TicketFacts, events: Sequence[Event], as_of_us: int
) -> _Timeline:
    received = to_us(facts.received)
    if as_of_us < received:
        raise PolicyError("asked as of an instant before the ticket was received")
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
            raise PolicyError(f"a {ev.type} event at {ev.at.isoformat()} is before receipt")
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


def _clock(
    policy: Policy,
    name: str,
    model: ClockModel,
    account: Account,
    tl: _Timeline,
    priorities: _Priorities,
    as_of: int,
) -> ClockResult:
    result = ClockResult(name=name, state="not_started")
    touch_start = model.starts == "first_touch"
    if not touch_start:
        start = tl.statuses[0][0]
    elif tl.touches:
        start = tl.touches[0]
    else:
        result.why = _Why(policy, priorities.at(None), touch_start=True)
        return result
    result.started_us = start
    status_at_start = "new"
    for at, status in tl.statuses:
        if at > start:
            break
        status_at_start = status
    if status_at_start in model.cancelled_in:
        result.state = "cancelled"
        triage = priorities.at(start)
        result.why = _Why(policy, triage, None, None, touch_start, None, "", status_at_start)
        return result
    # When it ends: the next touch after the start (not one logged at the same instant as the
    # touch that started it), or being in or entering a status that meets or cancels it.
    end_at: int | None = None
    end_kind = ""
    if status_at_start in model.met_on_status:
        end_at, end_kind = start, f"met: status {status_at_start}"
    elif model.met_on_touch:
        for at in tl.touches:
            if at > start or (at == start and not touch_start):
                end_at, end_kind = at, "met by an agent touch"
                break
    pauses: list[tuple[int, int | None]] = []
    paused_since = start if status_at_start in model.paused_in else None
    for at, status in tl.statuses:
        if at <= start:
            continue
        if end_at is not None and at >= end_at:
            break
        if status in model.met_on_status:
            end_at, end_kind = at, f"met: status {status}"
            break
        if status in model.cancelled_in:
            end_at, end_kind = at, f"cancelled: status {status}"
            break
        if status in model.paused_in:
            if paused_since is None:
                paused_since = at
        elif paused_since is not None:
            pauses.append((paused_since, at))
            paused_since = None
    if paused_since is not None:
        pauses.append((paused_since, end_at))
    # The target of the priority in force when the clock ended (a later change re-targets
    # only a clock that is still running).
    triage = priorities.at(end_at)
    picked = pick(model, account, triage.priority)
    if picked is None or picked[1].no_target:
        result.state = "no_target"
        result.why = _Why(policy, triage, picked, touch_start=touch_start)
        return result
    j, rule = picked
    plan = plan_for(policy, name, j, rule, account.contract)
    cal = plan.calendar
    result.calendar = cal.name
    budget = plan.budget_us
    if budget is None:
        budget = cutoff(rule, cal, start)[0]
    due, remaining, cursor, used_pauses = _spend(cal, start, pauses, budget)
    result.paused_us = used_pauses
    result.due_us = due
    result.why = _Why(policy, triage, picked, plan, touch_start, end_at, end_kind)
    if end_at is None and due is not None and model.warn_before is not None:
        lead = model.warn_before
        lead_us = (
            lead.minutes * US_PER_MIN
            if lead.minutes is not None
            else int(budget * (lead.percent or 0) / 100)
        )
        if remaining > lead_us:  # the warning falls in the last running stretch, as a rule
            result.warn_us = cal.add_us(cursor, remaining - lead_us)
        else:
            result.warn_us = _spend(cal, start, pauses, max(budget - lead_us, 0))[0]
    if end_at is not None:
        if end_kind.startswith("cancelled"):
            result.state = "cancelled"
            return result
        result.met_us = end_at
        result.breached = due is not None and end_at > due
        result.state = "breached" if result.breached else "met"
    elif due is None:
        result.state = "paused"
        result.remaining_us = remaining
    else:
        result.breached = as_of > due
        result.state = "breached" if result.breached else "running"
        result.remaining_us = cal.elapsed_us(as_of, due)
    return result


def _spend(
    cal: BusinessCalendar, start: int, pauses: list[tuple[int, int | None]], budget: int
) -> tuple[int | None, int, int, list[tuple[int, int | None]]]:
    """When ``budget`` of open time since ``start`` is spent, skipping ``pauses``: the instant
    (None while still paused), the open time left at the last resume and that resume, and the
    pauses that fell before the budget ran out."""
    remaining = budget
    cursor = start
    used_pauses: list[tuple[int, int | None]] = []
    for p_start, p_end in pauses:
        used = cal.elapsed_us(cursor, p_start)
        if used >= remaining:
            break
        remaining -= used
        used_pauses.append((p_start, p_end))
        if p_end is None:
            return None, remaining, cursor, used_pauses
        cursor = p_end
    return cal.add_us(cursor, remaining), remaining, cursor, used_pauses


def _explain(r: ClockResult) -> Explanation:
    why = r.why
    if why is None:
        return []
    policy = why.policy
    where = _clauses(policy, r.name)
    if r.started_us is None:
        return [Step("starts at the first touch; none yet", where.starts)]
    at = _at(policy, r.started_us)
    steps = [
        Step("started at the first touch, {}", where.starts, (at,))
        if why.touch_start
        else Step("started when received, {}", where.clock, (at,))
    ]
    if why.cancelled_at_start is not None:
        return [*steps, Step(f"cancelled: status {why.cancelled_at_start} at start", where.clock)]
    priority = why.triage.priority
    if why.plan is None or why.picked is None:
        j = why.picked[0] if why.picked else None
        clause = where.clock if j is None else policy.clause("clocks", r.name, "targets", j)
        return [*steps, Step(f"no target for priority {priority}", clause)]
    steps.append(Step("priority {}: {}", why.triage.clause, (priority, why.triage.reason)))
    steps.extend(why.plan.steps)
    rule = why.picked[1]
    if rule.cutoff is not None:
        steps.append(Step(cutoff(rule, why.plan.calendar, r.started_us)[1], why.plan.clause))
    cal = why.plan.calendar
    for a, b in r.paused_us:
        if b is None:
            steps.append(Step("paused {}, still paused", where.paused_in, (_at(policy, a),)))
        else:
            args = (_at(policy, a), _at(policy, b), span_text(cal.elapsed_us(a, b)))
            steps.append(Step("paused {} to {} ({} of open time)", where.paused_in, args))
    if why.end_at is not None:
        clause = where.cancelled_in if r.state == "cancelled" else where.clock
        steps.append(Step(why.end_kind + " at {}", clause, (_at(policy, why.end_at),)))
        if r.due_us is not None and r.state != "cancelled":
            verdict = "late" if r.breached else "in time"
            steps.append(Step("due {}; " + verdict, args=(_at(policy, r.due_us),)))
    elif r.due_us is None:
        left = span_text(r.remaining_us or 0)
        steps.append(Step(f"{left} of open time left when resumed"))
    else:
        due = r.due_us
        steps.append(Step("due {} ({})", args=(_at(policy, due), LocalTime(due, dt.UTC))))
    if r.warn_us is not None:
        steps.append(Step("warning at {}", where.warn_before, (_at(policy, r.warn_us),)))
    return steps


def _at(policy: Policy, us: int) -> LocalTime:
    return LocalTime(us, policy.zone)


class _Clauses(NamedTuple):
    clock: str
    starts: str
    paused_in: str
    cancelled_in: str
    warn_before: str


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
            c("clocks", name, "warn_before"),
        )
    assert isinstance(found, _Clauses)
    return found
