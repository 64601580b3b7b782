"""Case files: a policy author's tests of a policy, run with ``policydesk policy test``.

A case gives a ticket and its events, a time entry, or an account's meetings, and the outcomes it
expects; only the keys given are checked. Instants compare as instants whatever their offsets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from policydesk.core.billing import Meeting, WorkEntry, meeting_fees, price_work
from policydesk.core.calendar import from_us, to_us
from policydesk.core.clocks import ClockReport, evaluate
from policydesk.core.deadlines import look
from policydesk.core.escalation import Claim, Verdict, check_escalation
from policydesk.core.facts import Attr, Event, EventType, TicketFacts
from policydesk.core.located import Issue, LocatedError, parse_located, validate_located
from policydesk.core.policy import CLOCK_NAMES, STATUSES, Policy
from policydesk.core.triage import categorize, missing_fields, read_fields

__all__ = ["CaseFile", "CaseResult", "load_cases", "run_case", "run_cases"]

Tier = Literal["L1", "L2", "PT", "Dev"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TicketIn(_Model):
    received: AwareDatetime
    plan: str | None = None
    priority: str | None = None
    channel: str | None = None
    subject: str = ""
    body: str = ""
    contract: str | None = None
    attributes: dict[str, Attr] = {}
    category: str | None = Field(None, description="Omit to let the categories' rules decide.")
    custom_fields: dict[str, str] = {}


EventKind = EventType
_NEEDS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "priority": ("priority",),
    "tier": ("tier",),
    "warning": ("clock", "due"),
    "breach": ("clock", "due"),
}


class EventIn(_Model):
    at: AwareDatetime
    type: EventKind
    status: str | None = None
    priority: str | None = None
    tier: Tier | None = None
    suggestion: bool = Field(False, description="A reply that suggests a fix (RS4).")
    clock: str | None = Field(None, description="warning, breach: the clock alerted.")
    due: AwareDatetime | None = Field(None, description="warning, breach: the due time alerted.")

    @model_validator(mode="after")
    def _payload(self) -> EventIn:
        for key in _NEEDS.get(self.type, ()):
            if getattr(self, key) is None:
                raise ValueError(f"a {self.type} event needs `{key}`")
        if self.suggestion and self.type != "reply":
            raise ValueError("only a reply can be a suggestion")
        return self


class EscalateIn(_Model):
    """An escalation to check against the ladder (RS1, RS4, RS5)."""

    to: Tier
    current: Tier | None = Field(None, description="Default: the last tier event's, else L1.")
    exception: Literal["named_request", "asked_for_details"] | None = None
    named_agent_tier: Tier | None = None
    shown: bool = Field(True, description="Whether the records bear the exception out.")

    @model_validator(mode="after")
    def _named(self) -> EscalateIn:
        if self.exception is not None and self.named_agent_tier is None:
            raise ValueError("an exception names the higher-tier agent's `named_agent_tier`")
        return self


class WorkIn(_Model):
    start: AwareDatetime
    minutes: int = Field(ge=0, le=1_000_000)
    kind: str
    requester_trained: bool = False


class MeetingIn(_Model):
    scheduled_for: AwareDatetime
    cancelled_at: AwareDatetime | None = None


class Expect(_Model):
    priority: str | None = None
    status: str | None = None
    acknowledge_by: AwareDatetime | None = None
    first_response_by: AwareDatetime | None = None
    next_response_by: AwareDatetime | None = None
    resolve_by: AwareDatetime | None = None
    breached: list[str] | None = None
    met: list[str] | None = None
    billable: bool | None = None
    billable_minutes: int | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    fees: list[Decimal] | None = None
    warning_at: dict[str, AwareDatetime | None] | None = Field(
        None, description="Per clock, when its warning goes out (null: none)."
    )
    alerts_due: list[str] | None = Field(
        None, description="As of `as_of`, e.g. ['warning first_response', 'breach resolve']."
    )
    emergency: bool | None = None
    next_page_at: AwareDatetime | None = None
    category: str | None = None
    custom_fields: dict[str, str] | None = Field(
        None, description="What the ticket carries, given or read from its text (DL6)."
    )
    missing_fields: list[str] | None = None
    escalation: Literal["allowed", "refused"] | None = None
    escalation_reason_contains: str | None = None


class Case(_Model):
    name: str
    ticket: TicketIn | None = None
    events: list[EventIn] = []
    as_of: AwareDatetime | None = None
    work: WorkIn | None = None
    meetings: list[MeetingIn] | None = None
    escalate: EscalateIn | None = None
    expect: Expect

    @model_validator(mode="after")
    def _one_subject(self) -> Case:
        given = [k for k in ("ticket", "work", "meetings") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of ticket, work, meetings (got {given or 'none'})")
        if not self.expect.model_fields_set:
            raise ValueError("`expect` checks nothing; give at least one expected outcome")
        if self.escalate is not None and self.ticket is None:
            raise ValueError("`escalate` needs a `ticket`")
        return self


class CaseFile(_Model):
    cases: list[Case] = Field(min_length=1)


@dataclass
class CaseResult:
    name: str
    passed: bool
    expected: dict[str, Any]
    actual: dict[str, Any]
    explanation: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def load_cases(path: str | Path, policy: Policy) -> CaseFile:
    """Read a case file and check every name in it against ``policy``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocatedError([Issue(str(p), 1, 1, f"cannot read: {exc}")]) from None
    doc = parse_located(text, str(p))
    cases = validate_located(CaseFile, doc)
    issues: list[Issue] = []
    prios = {x.name for x in policy.doc.priorities}
    kinds = set(policy.doc.billing.work_kinds) if policy.doc.billing else set()

    def need(path: tuple[str | int, ...], value: str | None, known: set[str], what: str) -> None:
        if value is not None and value not in known:
            options = ", ".join(sorted(known)) or "(none in this policy)"
            issues.append(doc.issue(path, f"unknown {what} {value!r}; expected one of: {options}"))

    for i, case in enumerate(cases.cases):
        at: tuple[str | int, ...] = ("cases", i)
        if case.ticket:
            t = case.ticket
            need((*at, "ticket", "plan"), t.plan, set(policy.doc.plans), "plan")
            need((*at, "ticket", "priority"), t.priority, prios, "priority")
            need((*at, "ticket", "channel"), t.channel, set(policy.doc.channels), "channel")
            need((*at, "ticket", "contract"), t.contract, set(policy.doc.contracts), "contract")
            need((*at, "ticket", "category"), t.category, set(policy.doc.categories), "category")
        received = case.ticket.received if case.ticket else None
        if received and case.as_of and case.as_of < received:
            issues.append(doc.issue((*at, "as_of"), "as_of is before the ticket was received"))
        for j, ev in enumerate(case.events):
            if received and ev.at < received:
                issues.append(doc.issue((*at, "events", j, "at"), "this event is before receipt"))
            need((*at, "events", j, "status"), ev.status, set(STATUSES), "status")
            need((*at, "events", j, "priority"), ev.priority, prios, "priority")
            need((*at, "events", j, "clock"), ev.clock, set(policy.doc.clocks), "clock")
        if case.work:
            need((*at, "work", "kind"), case.work.kind, kinds, "work kind")
        need((*at, "expect", "priority"), case.expect.priority, prios, "priority")
        for key in ("breached", "met"):
            for j, name in enumerate(getattr(case.expect, key) or []):
                need((*at, "expect", key, j), name, set(policy.doc.clocks), "clock")
        for name in case.expect.warning_at or {}:
            need((*at, "expect", "warning_at", name), name, set(policy.doc.clocks), "clock")
        for name in CLOCK_NAMES:
            key = f"{name}_by"
            if key in case.expect.model_fields_set and name not in policy.doc.clocks:
                issues.append(doc.issue((*at, "expect", key), f"the policy has no {name} clock"))
    if issues:
        raise LocatedError(issues)
    return cases


def run_cases(policy: Policy, cases: CaseFile) -> list[CaseResult]:
    return [run_case(policy, c) for c in cases.cases]


def run_case(policy: Policy, case: Case) -> CaseResult:
    expected = case.expect.model_dump(mode="python", include=case.expect.model_fields_set)
    actual: dict[str, Any] = {}
    explanation: list[str] = []
    if case.ticket is not None:
        actual, explanation = _run_ticket(policy, case)
    elif case.work is not None:
        w = case.work
        charge = price_work(policy, WorkEntry(w.start, w.minutes, w.kind, w.requester_trained))
        actual = {
            "billable": charge.billable,
            "billable_minutes": charge.billable_minutes,
            "rate": charge.rate,
            "amount": charge.amount,
        }
        explanation = [f"{charge.when}: {charge.reason} [{charge.clause}]"]
    elif case.meetings is not None:
        fees = meeting_fees(
            policy, [Meeting(m.scheduled_for, m.cancelled_at) for m in case.meetings]
        )
        actual = {"fees": [f.fee for f in fees]}
        explanation = [
            f"meeting {i + 1}: {f.fee} ({f.reason}) [{f.clause}]" for i, f in enumerate(fees)
        ]
    shown = {k: _only(expected[k], actual.get(k)) for k in expected}
    failures = [
        f"{key}: expected {_show(want)}, got {_show(shown[key])}"
        for key, want in expected.items()
        if not _same(key, want, actual.get(key))
    ]
    return CaseResult(case.name, not failures, expected, shown, explanation, failures)


def _run_ticket(policy: Policy, case: Case) -> tuple[dict[str, Any], list[str]]:
    t = case.ticket
    assert t is not None
    facts = TicketFacts(
        received=t.received,
        plan=t.plan,
        priority=t.priority,
        channel=t.channel,
        subject=t.subject,
        body=t.body,
        contract=t.contract,
        attributes=t.attributes,
    )
    events = [
        Event(e.at, e.type, e.status, e.priority, e.tier, e.suggestion, e.clock, e.due)
        for e in case.events
    ]
    as_of = case.as_of or max([t.received, *(e.at for e in case.events)])
    report = evaluate(policy, facts, events, as_of)
    actual: dict[str, Any] = {
        "priority": report.priority.priority,
        "status": report.status,
        "breached": sorted(report.breached()),
        "met": sorted(n for n, c in report.clocks.items() if c.met_at and c.state != "cancelled"),
        "warning_at": {n: c.warn_at for n, c in report.clocks.items()},
    }
    for name in CLOCK_NAMES:
        clock = report.clocks.get(name)
        actual[f"{name}_by"] = clock.due if clock else None
    explanation = _explain(report)
    category = t.category
    if category is None and (found := categorize(policy, facts)) is not None:
        category = found[0]
        explanation.append(f"category {category}: {found[1]}")
    fields = {**read_fields(policy, category, f"{t.subject}\n{t.body}"), **t.custom_fields}
    actual["category"] = category
    actual["custom_fields"] = fields
    actual["missing_fields"] = missing_fields(policy, category, fields)
    seen = look(policy, facts, events, report, to_us(as_of))
    actual["alerts_due"] = [f"{a.kind} {a.clock}" for a in seen.alerts]
    actual["emergency"] = seen.emergency is not None
    next_page = seen.page.next_us if seen.page else None
    actual["next_page_at"] = None if next_page is None else from_us(next_page)
    if seen.emergency is not None:
        em = seen.emergency
        explanation.append(f"emergency: {em.reason} [{em.clause}]; pages while open: "
                           f"{em.coverage_reason}")  # fmt: skip
    if case.escalate is not None:
        verdict = _escalate(policy, case.escalate, events)
        actual["escalation"] = "allowed" if verdict.allowed else "refused"
        actual["escalation_reason_contains"] = verdict.reason
        explanation.append(f"escalation: {verdict}")
    return actual, explanation


def _escalate(policy: Policy, esc: EscalateIn, events: list[Event]) -> Verdict:
    tiers = [e.tier for e in sorted(events, key=lambda e: e.at) if e.type == "tier" and e.tier]
    current = esc.current or (tiers[-1] if tiers else "L1")
    claim = None
    if esc.exception is not None and esc.named_agent_tier is not None:
        detail = "the records show it" if esc.shown else "the records do not show it"
        claim = Claim(esc.exception, esc.named_agent_tier, esc.shown, detail)
    return check_escalation(policy, events, current, esc.to, claim)


def _explain(report: ClockReport) -> list[str]:
    lines = [f"priority {report.priority.priority}: {report.priority.reason}"]
    for name, clock in report.clocks.items():
        lines.append(f"{name}: {clock.state}")
        lines.extend(f"  - {step}" for step in clock.steps)
    return lines


def _same(key: str, want: Any, got: Any) -> bool:
    if isinstance(want, dict):  # per name: only the names given are checked
        return isinstance(got, dict) and all(_same(k, v, got.get(k)) for k, v in want.items())
    if key.endswith("_contains"):
        return isinstance(got, str) and str(want).lower() in got.lower()
    if isinstance(want, list) and isinstance(got, list) and not want and not got:
        return True
    if isinstance(want, list) and want and isinstance(want[0], str) and isinstance(got, list):
        return sorted(want) == sorted(got)
    return bool(want == got)


def _only(want: Any, got: Any) -> Any:
    """What ``got`` says of the names ``want`` asks about."""
    if isinstance(want, dict) and isinstance(got, dict):
        return {k: got.get(k) for k in want}
    return got


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if value is None:
        return "none"
    return str(value)
