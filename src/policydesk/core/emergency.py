"""Emergencies: which tickets are emergencies, since when, and when the next page goes out.

A ticket is an emergency while its priority is one of the policy's emergency priorities (from
the moment it last became one), or from receipt when one of the emergency rules matched it as
received (RS6, EC6). An emergency pages every configured channel at once and again every
``repeat_every_minutes`` until an agent acknowledges it, the ticket reaches a status that ends
it, or ``max_pages`` have gone out. Pages go out only while the account's coverage calendar is
open (RS7: 24x7, business hours, time & materials); one due while it is closed waits for it to
open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policydesk.core.calendar import BusinessCalendar, to_us
from policydesk.core.clocks import ClockReport
from policydesk.core.facts import Event, TicketFacts
from policydesk.core.policy import Policy
from policydesk.core.targets import US_PER_MIN
from policydesk.core.triage import classify, contract_of, first_matching_rule

__all__ = ["Emergency", "PagePlan", "emergency_of", "page_plan"]


@dataclass(frozen=True, slots=True)
class Emergency:
    since_us: int
    reason: str
    clause: str
    #: Pages go out while this calendar is open (RS7).
    coverage: BusinessCalendar
    coverage_reason: str


@dataclass(frozen=True, slots=True)
class PagePlan:
    #: When the next page goes out (None: paging has ended).
    next_us: int | None
    #: The number of that page (1 for the first).
    number: int
    #: Why paging ended, when it has.
    ended: str | None = None

    def due(self, as_of_us: int) -> bool:
        return self.next_us is not None and self.next_us <= as_of_us


def emergency_of(
    policy: Policy, facts: TicketFacts, events: Sequence[Event], report: ClockReport
) -> Emergency | None:
    """The ticket's emergency, or None when the policy does not make it one."""
    em = policy.doc.emergency
    if em is None:
        return None
    matched = first_matching_rule(policy, em.rules, facts) if em.rules else None
    if matched is not None:
        j, why = matched
        since = to_us(facts.received)
        reason, clause = why, policy.clause("emergency", "rules", j)
    elif report.priority.priority in em.priorities:
        since = _emergency_since(policy, facts, events)
        reason = f"priority {report.priority.priority}"
        clause = policy.clause("emergency", "priorities")
    else:
        return None
    calendar, coverage_reason = _coverage(policy, facts)
    return Emergency(since, reason, clause, calendar, coverage_reason)


def _emergency_since(policy: Policy, facts: TicketFacts, events: Sequence[Event]) -> int:
    """When the ticket's priority last became an emergency one (it is one now)."""
    em = policy.doc.emergency
    assert em is not None
    changes = sorted(
        (to_us(e.at), e.priority) for e in events if e.type == "priority" and e.priority
    )
    since: int | None = None
    for at, name in reversed(changes):
        if name not in em.priorities:
            break
        since = at
    else:
        if classify(policy, facts).priority in em.priorities:
            since = to_us(facts.received)
    assert since is not None
    return since


def _coverage(policy: Policy, facts: TicketFacts) -> tuple[BusinessCalendar, str]:
    em = policy.doc.emergency
    assert em is not None
    contract = contract_of(policy, facts)
    if contract is not None and contract in em.by_contract:
        name = em.by_contract[contract]
        return policy.calendar(name), f"contract {contract}: {name} (emergency.by_contract)"
    if em.calendar is not None:
        return policy.calendar(em.calendar), f"{em.calendar} (emergency.calendar)"
    if contract is not None and contract in policy.doc.contracts:
        name = policy.doc.contracts[contract].calendar
        return policy.calendar(name), f"contract {contract}: {name}"
    return policy.calendar(), f"{policy.default_calendar} (the default calendar)"


def page_plan(
    policy: Policy, emergency: Emergency, events: Sequence[Event], status: str
) -> PagePlan:
    """When the emergency's next page goes out, from the pages and acknowledgements logged."""
    em = policy.doc.emergency
    assert em is not None
    since = emergency.since_us
    pages = sorted(to_us(e.at) for e in events if e.type == "page" and to_us(e.at) >= since)
    number = len(pages) + 1
    if status in em.ends_in:
        return PagePlan(None, number, f"the ticket is {status}")
    acks = [to_us(e.at) for e in events if e.type == "acknowledge" and to_us(e.at) >= since]
    if acks:
        return PagePlan(None, number, "acknowledged")
    if em.page.max_pages is not None and len(pages) >= em.page.max_pages:
        return PagePlan(None, number, f"{em.page.max_pages} pages sent, none acknowledged")
    wanted = pages[-1] + em.page.repeat_every_minutes * US_PER_MIN if pages else since
    return PagePlan(emergency.coverage.add_us(wanted, 0), number)
