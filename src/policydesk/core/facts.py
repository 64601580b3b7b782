"""What the core is told about a ticket: its facts at intake and its timeline of events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args

__all__ = [
    "EVENT_TYPES",
    "Attr",
    "Event",
    "EventType",
    "Explanation",
    "LocalTime",
    "Step",
    "TicketFacts",
]

#: The entries of a ticket's log the core reads (see :class:`Event`).
EventType = Literal[
    "reply",
    "call",
    "chat",
    "note",
    "customer_reply",
    "status",
    "priority",
    "tier",
    "warning",
    "breach",
    "page",
    "acknowledge",
    "acknowledgement",
    "broadcast",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

Attr = bool | int | str


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """A ticket as received. ``priority`` None lets the policy's triage decide."""

    received: dt.datetime
    plan: str | None = None
    priority: str | None = None
    channel: str | None = None
    subject: str = ""
    body: str = ""
    contract: str | None = None
    attributes: Mapping[str, Attr] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a ticket's timeline.

    ``type`` is one of :data:`EventType`: reply (an agent's public reply; ``suggestion`` when it
    suggests a fix, RS4), call, chat, note (internal), customer_reply, status (with
    ``status``), priority (with ``priority``), tier (with ``tier``), warning and breach (with
    ``clock`` and ``due``: the alert went out), page (an emergency page went out), acknowledge
    (an agent took the page), acknowledgement and broadcast (the intake messages went out).
    """

    at: dt.datetime
    type: str
    status: str | None = None
    priority: str | None = None
    tier: str | None = None
    suggestion: bool = False
    clock: str | None = None
    due: dt.datetime | None = None


class LocalTime(NamedTuple):
    """An instant shown on a zone's wall clock, formatted only when read."""

    us: int
    zone: dt.tzinfo

    def __str__(self) -> str:
        t = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=self.us)
        return t.astimezone(self.zone).strftime("%a %Y-%m-%d %H:%M:%S %Z")


class Step(NamedTuple):
    """One step of an explanation: what happened and the clause of the policy that made it so.

    ``template`` holds ``{}`` for each of ``args``; formatting waits until the text is read, so
    that evaluating many clocks costs no string work nobody looks at.
    """

    template: str
    clause: str = ""
    args: tuple[object, ...] = ()

    @property
    def text(self) -> str:
        return self.template.format(*self.args) if self.args else self.template

    def __str__(self) -> str:
        return f"{self.text} [{self.clause}]" if self.clause else self.text


Explanation = list[Step]
