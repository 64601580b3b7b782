"""Alerts: the warnings and breaches a ticket's clocks owe, which are due, and when next.

An alert is keyed by its kind, its clock and the due instant it is about. When a due time moves
(a pause, a priority change) the alerts of the new due time are new alerts; one already sent for
the same due time is never sent again. A warning whose breach is also due is dropped: after a
breach, a warning says nothing new (this happens when the worker was stopped for a while).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from policydesk.core.calendar import to_us
from policydesk.core.clocks import ClockReport
from policydesk.core.facts import Event
from policydesk.core.policy import Policy
from policydesk.core.workflow import ClockActionModel

__all__ = ["Alert", "AlertKey", "alerts_of", "due_alerts", "sent_alerts"]

AlertKind = Literal["warning", "breach"]
#: (kind, clock, due instant in epoch µs)
AlertKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    clock: str
    due_us: int
    #: When it goes out: the warning instant, or the due instant for a breach.
    at_us: int
    action: ClockActionModel
    clause: str

    @property
    def key(self) -> AlertKey:
        return (self.kind, self.clock, self.due_us)


def alerts_of(policy: Policy, report: ClockReport) -> list[Alert]:
    """Every alert the clocks still running (or overdue and unmet) owe, sent or not."""
    out: list[Alert] = []
    for name, model in policy.doc.clocks.items():
        clock = report.clocks[name]
        if clock.due_us is None or clock.met_us is not None or clock.state == "cancelled":
            continue
        if model.on_warning is not None and clock.warn_us is not None:
            clause = policy.clause("clocks", name, "on_warning")
            out.append(
                Alert("warning", name, clock.due_us, clock.warn_us, model.on_warning, clause)
            )
        if model.on_breach is not None:
            clause = policy.clause("clocks", name, "on_breach")
            out.append(Alert("breach", name, clock.due_us, clock.due_us, model.on_breach, clause))
    return out


def sent_alerts(events: Iterable[Event]) -> set[AlertKey]:
    """The alerts a ticket's log says went out."""
    return {
        (e.type, e.clock, to_us(e.due))
        for e in events
        if e.type in ("warning", "breach") and e.clock is not None and e.due is not None
    }


def due_alerts(
    alerts: Sequence[Alert], sent: set[AlertKey], as_of_us: int
) -> tuple[list[Alert], int | None]:
    """The alerts to send as of ``as_of_us`` (breaches after warnings, by instant), and the
    instant of the next one still to come (None: nothing more is owed)."""
    breaches_due = {
        (a.clock, a.due_us) for a in alerts if a.kind == "breach" and a.at_us <= as_of_us
    } | {(clock, due) for kind, clock, due in sent if kind == "breach"}
    now: list[Alert] = []
    upcoming: int | None = None
    for a in alerts:
        if a.key in sent:
            continue
        if a.kind == "warning" and (a.clock, a.due_us) in breaches_due:
            continue  # superseded by its breach
        if a.at_us <= as_of_us:
            now.append(a)
        elif upcoming is None or a.at_us < upcoming:
            upcoming = a.at_us
    now.sort(key=lambda a: (a.at_us, a.kind != "warning", a.clock))
    return now, upcoming
