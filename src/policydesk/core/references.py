"""Names in a policy that must point at something the policy defines, checked once the file
has the right shape: each problem located at the key that holds the name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from policydesk.core.clauses import TriageRule
from policydesk.core.workflow import AGENT_TIERS

if TYPE_CHECKING:  # the policy module calls this one
    from policydesk.core.policy import PolicyDoc

__all__ = ["Problem", "reference_problems"]

Problem = tuple[tuple[str | int, ...], str]
Path_ = tuple[str | int, ...]


class _References:
    """Collects names that point at nothing, each located at the key that holds it."""

    def __init__(self, doc: PolicyDoc) -> None:
        self.doc = doc
        self.out: list[Problem] = []
        self.calendars, self.plans = set(doc.calendars), set(doc.plans)
        self.contracts, self.channels = set(doc.contracts), set(doc.channels)
        self.priorities = {p.name for p in doc.priorities}

    def check(self, path: Path_, names: Iterable[str | None], known: set[str], what: str) -> None:
        for n in names:
            if n is not None and n not in known:
                self.out.append((path, f"unknown {what} {n!r}; expected one of: {_list(known)}"))

    def rule(self, at: Path_, rule: TriageRule) -> None:
        self.check((*at, "plan"), rule.plan, self.plans, "plan")
        self.check((*at, "channel"), rule.channel, self.channels, "channel")
        self.check((*at, "outside_hours"), [rule.outside_hours], self.calendars, "calendar")


def reference_problems(doc: PolicyDoc) -> list[Problem]:
    """Names that point at nothing, and other rules that span several parts of the file."""
    ref = _References(doc)
    check, cals, out = ref.check, ref.calendars, ref.out
    prios = [p.name for p in doc.priorities]
    defaults = [n for n, c in doc.calendars.items() if c.default]
    if len(doc.calendars) > 1 and len(defaults) != 1:
        out.append((("calendars",), "mark exactly one calendar `default: true`"))
    for name, contract in doc.contracts.items():
        check(("contracts", name, "calendar"), [contract.calendar], cals, "calendar")
    for name, plan in doc.plans.items():
        check(("plans", name, "contract"), [plan.contract], ref.contracts, "contract")
    if len(set(prios)) != len(prios):
        out.append((("priorities",), "priority names must be unique"))
    check(("default_priority",), [doc.default_priority], ref.priorities, "priority")
    for i, prio in enumerate(doc.priorities):
        for j, rule in enumerate(prio.rules):
            ref.rule(("priorities", i, "rules", j), rule)
    for cname, clock in doc.clocks.items():
        for j, t in enumerate(clock.targets):
            at: Path_ = ("clocks", cname, "targets", j)
            check((*at, "priority"), t.priority, ref.priorities, "priority")
            check((*at, "plan"), t.plan, ref.plans, "plan")
            check((*at, "channel"), t.channel, ref.channels, "channel")
            check((*at, "contract"), t.contract, ref.contracts, "contract")
            check((*at, "calendar"), [t.calendar], cals, "calendar")
            if t.cutoff:
                check((*at, "cutoff", "calendar"), [t.cutoff.calendar], cals, "calendar")
    if doc.billing:
        b = doc.billing
        check(("billing", "calendar"), [b.calendar], cals, "calendar")
        for j, brule in enumerate(b.rules):
            at = ("billing", "rules", j)
            check((*at, "kind"), brule.kind, set(b.work_kinds), "work kind")
            check((*at, "rate"), [brule.rate], set(b.rates), "rate")
        if b.meetings:
            check(("billing", "meetings", "rate"), [b.meetings.rate], set(b.rates), "rate")
    _workflow_references(ref)
    return out


def _workflow_references(ref: _References) -> None:
    """The workflow clauses: alerts, escalation, emergencies, routing, intake."""
    doc, check = ref.doc, ref.check
    ladder = set(doc.escalation.tiers if doc.escalation else AGENT_TIERS)
    for cname, clock in doc.clocks.items():
        for key, action in (("on_warning", clock.on_warning), ("on_breach", clock.on_breach)):
            if action is not None:
                at: Path_ = ("clocks", cname, key)
                check((*at, "raise_priority"), [action.raise_priority], ref.priorities, "priority")
                check((*at, "move_to_tier"), [action.move_to_tier], ladder, "tier")
    if doc.emergency:
        em = doc.emergency
        check(("emergency", "priorities"), em.priorities, ref.priorities, "priority")
        for j, rule in enumerate(em.rules):
            ref.rule(("emergency", "rules", j), rule)
        check(("emergency", "calendar"), [em.calendar], ref.calendars, "calendar")
        for contract, cal in em.by_contract.items():
            check(("emergency", "by_contract"), [contract], ref.contracts, "contract")
            check(("emergency", "by_contract", contract), [cal], ref.calendars, "calendar")
    for name, category in doc.categories.items():
        check(("categories", name, "tier"), [category.tier], ladder, "tier")
        for j, rule in enumerate(category.rules):
            ref.rule(("categories", name, "rules", j), rule)
    if doc.routing:
        check(("routing", "channels"), doc.routing.channels, ref.channels, "channel")
    check(("intake", "channels"), doc.intake.channels, ref.channels, "channel")


def _list(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none defined)"
