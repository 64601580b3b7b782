"""The policy file: its schema, its loader, and the compiled policy the rest of the core runs.

A policy is YAML validated by the pydantic models below (``policydesk policy schema`` exports
them as JSON Schema for editors). A policy that does not validate is rejected whole, with every
problem located as ``FILE:LINE:COLUMN``. Its version is the SHA-256 of its bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

from policydesk.core.calendar import (
    BusinessCalendar,
    CalendarSpec,
    Closure,
    HolidaySource,
    Opening,
    Window,
)
from policydesk.core.clauses import Attr, Cited, Names, TriageRule
from policydesk.core.clauses import Model as _Model
from policydesk.core.errors import PolicyError
from policydesk.core.located import (
    Issue,
    LocatedDocument,
    LocatedError,
    parse_located,
    validate_located,
)
from policydesk.core.references import reference_problems
from policydesk.core.workflow import (
    ClockActionModel,
    EmergencyModel,
    EscalationModel,
    IntakeModel,
    LeadModel,
    RoutingModel,
)
from policydesk.core.zones import load_zone

__all__ = [
    "CLOCK_NAMES",
    "DEFAULT_CHANNELS",
    "STATUSES",
    "Channel",
    "Policy",
    "PolicyDoc",
    "Status",
    "load_policy",
    "parse_policy",
    "parse_window",
]

Status = Literal["new", "open", "pending_customer", "mitigated", "resolved", "closed"]
#: The messages a policy may word itself (``notify/templates`` holds the built-in ones).
TemplateName = Literal[
    "acknowledgement", "reply", "refusal", "bounce", "alert", "page", "broadcast"
]
STATUSES: tuple[str, ...] = get_args(Status)
ClockName = Literal["acknowledge", "first_response", "next_response", "resolve"]
CLOCK_NAMES: tuple[str, ...] = get_args(ClockName)
EventType = Literal["reply", "call", "chat", "note", "customer_reply", "status", "priority"]
#: Agent events that may count as a touch (a response of any kind, RL14).
TouchEvent = Literal["reply", "call", "chat"]
Channel = Literal[
    "email",
    "phone",
    "voicemail",
    "chat",
    "portal",
    "contact_form",
    "problem_report",
    "monitoring",
    "api",
]
DEFAULT_CHANNELS: list[str] = list(get_args(Channel))
WorkTime = Literal["in_hours", "out_of_hours", "holiday"]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DayKey = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "weekdays", "every_day"]
_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


def parse_window(text: str) -> Window:
    """``"08:30-17:00"`` → Window; an end at or before the start crosses midnight."""
    m = _WINDOW.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a window; expected HH:MM-HH:MM such as '09:00-17:00'")
    start = int(m[1]) * 60 + int(m[2])
    end = int(m[3]) * 60 + int(m[4])
    if end > 24 * 60:
        raise ValueError(f"{text!r}: a window ends at 24:00 at the latest")
    if end <= start:
        end += 24 * 60
    return Window(start, end)


def parse_clock_time(text: str) -> dt.time:
    m = _CLOCK_TIME.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a time of day; expected HH:MM such as '15:00'")
    return dt.time(int(m[1]), int(m[2]), int(m[3] or 0))


def _check_window(v: str) -> str:
    parse_window(v)
    return v


WindowText = Annotated[str, AfterValidator(_check_window)]


def _check_money(v: Decimal) -> Decimal:
    try:
        exact = v == v.quantize(Decimal("0.01"))
    except InvalidOperation:
        exact = False
    if not (v.is_finite() and 0 <= v <= 1_000_000_000 and exact):
        raise ValueError(f"{v} is not an amount of money with at most two decimals")
    return v


Money = Annotated[Decimal, AfterValidator(_check_money)]


# ----- calendars -------------------------------------------------------------------------------


class HolidaysModel(_Model):
    country: str = Field(description="ISO 3166 country code known to the `holidays` package.")
    subdiv: str | None = None
    categories: list[str] = []

    @model_validator(mode="after")
    def _known(self) -> HolidaysModel:
        try:
            self.source().validate()
        except PolicyError as exc:
            raise ValueError(str(exc)) from None
        return self

    def source(self) -> HolidaySource:
        return HolidaySource(self.country, self.subdiv, tuple(self.categories))


class DatedWindow(_Model):
    date: dt.date
    hours: WindowText | None = Field(None, description="HH:MM-HH:MM; omitted = the whole day.")
    reason: str = ""


class CalendarModel(_Model):
    zone: str = Field(description="IANA time zone, e.g. America/Los_Angeles.")
    default: bool = False
    always_open: bool = False
    hours: dict[DayKey, list[WindowText]] = Field(
        {}, description="Open windows per day: mon..sun, weekdays (mon-fri), every_day."
    )
    holidays: HolidaysModel | None = None
    closures: list[DatedWindow] = []
    openings: list[DatedWindow] = []
    standard_day_minutes: int | None = Field(None, gt=0, le=24 * 60)
    cite: str = ""

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            load_zone(v)
        except PolicyError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _shape(self) -> CalendarModel:
        if self.always_open == bool(self.hours):
            raise ValueError("give either `always_open: true` or `hours`, not both or neither")
        if not self.always_open and not any(self.hours.values()) and not self.openings:
            raise ValueError("this calendar is never open: give it hours or openings")
        for o in self.openings:
            if o.hours is None:
                raise ValueError(f"opening on {o.date} needs `hours`")
        return self

    def spec(self, name: str) -> CalendarSpec:
        weekly: list[list[Window]] = [[] for _ in range(7)]
        if self.always_open:
            weekly = [[Window(0, 24 * 60)] for _ in range(7)]
        for key, windows in self.hours.items():
            days = range(5) if key == "weekdays" else range(7) if key == "every_day" else None
            for i in days if days is not None else [_DAYS.index(key)]:
                weekly[i].extend(parse_window(w) for w in windows)
        std = self.standard_day_minutes
        return CalendarSpec(
            zone=self.zone,
            weekly=tuple(tuple(sorted(d, key=lambda w: w.start)) for d in weekly),
            holidays=self.holidays.source() if self.holidays else None,
            closures=tuple(
                Closure(c.date, parse_window(c.hours) if c.hours else None, c.reason)
                for c in self.closures
            ),
            openings=tuple(
                Opening(o.date, parse_window(o.hours or ""), o.reason) for o in self.openings
            ),
            standard_day=dt.timedelta(minutes=std) if std else None,
            name=name,
        )


# ----- accounts, triage ------------------------------------------------------------------------


class ContractModel(Cited):
    calendar: str = Field(description="The calendar clocks count in under this contract.")


class PlanModel(Cited):
    contract: str | None = None
    attributes: dict[str, Attr] = {}
    description: str = ""


class CategoryModel(Cited):
    """A kind of request, and the fields a ticket of that kind must carry (DL6)."""

    description: str = ""
    required_fields: list[str] = Field([], description="Custom fields a ticket must have.")
    tier: Literal["L1", "L2", "PT", "Dev"] | None = Field(
        None, description="The tier a new ticket of this kind starts at (RS3)."
    )
    rules: list[TriageRule] = Field(
        [],
        description="A ticket that comes without a category (an e-mail) is of the first "
        "category one of whose rules matches it.",
    )
    fields: dict[str, str] = Field(
        {},
        description="Per field, a regular expression that reads it from a message's text: "
        "its first group, else the whole match (e.g. order_number: 'order\\s*#?\\s*(\\d+)').",
    )

    @field_validator("fields")
    @classmethod
    def _patterns(cls, fields: dict[str, str]) -> dict[str, str]:
        for name, pattern in fields.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{name}: not a regular expression: {exc}") from None
        return fields


class PriorityModel(Cited):
    name: str
    definition: str = ""
    rules: list[TriageRule] = []


# ----- clocks ----------------------------------------------------------------------------------


class CutoffModel(_Model):
    at: str = Field(description="Local time of day; received at or before it counts that day.")
    calendar: str | None = None

    @field_validator("at")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_clock_time(v)
        return v


class TargetRule(Cited):
    priority: Names = []
    plan: Names = []
    channel: Names = []
    contract: Names = []
    attributes: dict[str, Attr] = {}
    business_minutes: int | None = Field(None, gt=0, le=10_000_000)
    business_hours: Decimal | None = Field(None, gt=0, le=1_000_000)
    business_days: Decimal | None = Field(None, gt=0, le=100_000)
    calendar_hours: Decimal | None = Field(None, gt=0, le=1_000_000)
    cutoff: CutoffModel | None = None
    no_target: bool = False
    calendar: str | None = Field(None, description="Count in this calendar, not the contract's.")

    @model_validator(mode="after")
    def _one_target(self) -> TargetRule:
        given = [
            name
            for name in (
                "business_minutes",
                "business_hours",
                "business_days",
                "calendar_hours",
                "cutoff",
            )
            if getattr(self, name) is not None
        ] + (["no_target"] if self.no_target else [])
        if len(given) != 1:
            raise ValueError(
                "give exactly one of business_minutes, business_hours, business_days, "
                f"calendar_hours, cutoff, no_target (got {', '.join(given) or 'none'})"
            )
        return self


class ClockModel(Cited):
    starts: Literal["received", "first_touch"] = "received"
    met_on_touch: bool = Field(False, description="The next agent touch after the start meets it.")
    met_on_status: list[Status] = []
    paused_in: list[Status] = []
    cancelled_in: list[Status] = Field([], description="Entering these stops it with no verdict.")
    targets: list[TargetRule] = Field(min_length=1)
    warn_before: LeadModel | None = Field(None, description="When the warning goes out.")
    on_warning: ClockActionModel | None = None
    on_breach: ClockActionModel | None = None

    @model_validator(mode="after")
    def _can_end(self) -> ClockModel:
        if not (self.met_on_touch or self.met_on_status):
            raise ValueError("a clock needs `met_on_touch: true` or `met_on_status`")
        if (self.warn_before is None) != (self.on_warning is None):
            raise ValueError("`warn_before` and `on_warning` go together: give both or neither")
        return self


# ----- billing ---------------------------------------------------------------------------------


class BillingRule(Cited):
    kind: Names = []
    requester_trained: bool | None = None
    when: list[WorkTime] = []
    billable: bool = True
    rate: str | None = None

    @model_validator(mode="after")
    def _rate(self) -> BillingRule:
        if self.billable and self.rate is None:
            raise ValueError("a billable rule needs `rate`")
        if not self.billable and self.rate is not None:
            raise ValueError("a rule with `billable: false` takes no `rate`")
        return self


class MeetingsModel(Cited):
    free_cancellations: int = Field(1, ge=0)
    notice_hours: Decimal = Field(ge=0, le=100_000)
    fee_hours: Decimal = Field(gt=0, le=1_000)
    rate: str


class BillingModel(Cited):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    calendar: str | None = None
    increment_minutes: int = Field(gt=0, le=24 * 60)
    rates: dict[str, Money]
    work_kinds: list[str] = Field(min_length=1)
    rules: list[BillingRule] = Field(min_length=1)
    meetings: MeetingsModel | None = None


class PolicyDoc(_Model):
    """The whole policy file."""

    name: str
    description: str = ""
    source: str = ""
    calendars: dict[str, CalendarModel] = Field(min_length=1)
    contracts: dict[str, ContractModel] = {}
    plans: dict[str, PlanModel] = {}
    channels: list[str] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))
    touch_events: list[TouchEvent] = Field(
        default_factory=lambda: ["reply", "call", "chat"],  # type: ignore[arg-type]
        description="Agent events that count as a touch (a response of any kind).",
    )
    categories: dict[str, CategoryModel] = {}
    priorities: list[PriorityModel] = Field(min_length=1, description="Highest first.")
    default_priority: str
    clocks: dict[ClockName, ClockModel] = {}
    billing: BillingModel | None = None
    escalation: EscalationModel | None = None
    emergency: EmergencyModel | None = None
    routing: RoutingModel | None = None
    intake: IntakeModel = IntakeModel()
    templates: dict[TemplateName, str] = Field(
        {},
        description="Jinja2 text replacing a built-in message: the first line is the subject, "
        "the rest after a blank line the body.",
    )


# ----- the compiled policy ---------------------------------------------------------------------


@dataclass
class Policy:
    """A validated policy, with its calendars built and every clause locatable."""

    doc: PolicyDoc
    version: str
    file: str
    located: LocatedDocument
    calendars: dict[str, BusinessCalendar]
    default_calendar: str
    always_open: BusinessCalendar
    _priority_rank: dict[str, int] = field(default_factory=dict)
    _clauses: dict[tuple[str | int, ...], str] = field(default_factory=dict)
    priority_names: frozenset[str] = frozenset()
    #: Values the core derives from the policy on first use (compiled target rules…).
    derived: dict[Any, Any] = field(default_factory=dict)
    touch_types: frozenset[str] = frozenset()
    zone: dt.tzinfo = dt.UTC

    def __post_init__(self) -> None:
        self._priority_rank = {p.name: i for i, p in enumerate(self.doc.priorities)}
        self.priority_names = frozenset(self._priority_rank)
        self.touch_types = frozenset(self.doc.touch_events)
        self.zone = self.calendars[self.default_calendar].zone

    @property
    def zone_name(self) -> str:
        return self.doc.calendars[self.default_calendar].zone

    def calendar(self, name: str | None = None) -> BusinessCalendar:
        return self.calendars[name or self.default_calendar]

    def priority_rank(self, name: str) -> int:
        """0 for the most urgent priority."""
        return self._priority_rank[name]

    def clause(self, *path: str | int) -> str:
        """Name a clause by its path and line: ``clocks.resolve.targets[0] (line 41)``."""
        cached = self._clauses.get(path)
        if cached is None:
            cached = self._clauses[path] = self._name_clause(path)
        return cached

    def _name_clause(self, path: tuple[str | int, ...]) -> str:
        text = ""
        for p in path:
            text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else p)
        line, _ = self.located.where(path)
        return f"{text} (line {line})"


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; raises ``LocatedError`` listing every problem."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise LocatedError([Issue(str(p), 1, 1, f"cannot read: {exc.strerror}")]) from None
    return parse_policy(raw, str(p))


def parse_policy(raw: bytes | str, file: str = "<policy>") -> Policy:
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LocatedError([Issue(file, 1, 1, f"not UTF-8 text: {exc.reason}")]) from None
    located = parse_located(text, file)
    if not isinstance(located.data, dict):
        raise LocatedError([Issue(file, 1, 1, "a policy is a mapping of keys (name, calendars…)")])
    doc = validate_located(PolicyDoc, located)
    issues = [located.issue(path, msg) for path, msg in reference_problems(doc)]
    if issues:
        raise LocatedError(issues)
    calendars = {name: BusinessCalendar(c.spec(name)) for name, c in doc.calendars.items()}
    defaults = [n for n, c in doc.calendars.items() if c.default] or list(doc.calendars)[:1]
    zone = doc.calendars[defaults[0]].zone
    return Policy(
        doc=doc,
        version=hashlib.sha256(data).hexdigest(),
        file=file,
        located=located,
        calendars=calendars,
        default_calendar=defaults[0],
        always_open=BusinessCalendar(CalendarSpec.always_open(zone, name="calendar hours")),
    )
