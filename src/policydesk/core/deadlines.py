"""What a ticket owes now, and when to look at it again: the acknowledgement to the customer
and the broadcast to the staff on duty at intake, its due alerts, and its emergency pages.

The acknowledgement and the broadcast are owed once, from receipt, until an agent has touched
the ticket (a touched ticket is being worked: telling the customer it was received, or the
staff that it is waiting, says nothing new).

The worker asks this of every ticket whose wake-up instant has come; the ticket service asks it
after every change to store the next wake-up instant (an indexed column), so the worker only
ever looks at tickets that owe something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policydesk.core.alerts import Alert, alerts_of, due_alerts, sent_alerts
from policydesk.core.calendar import to_us
from policydesk.core.clocks import ClockReport
from policydesk.core.emergency import Emergency, PagePlan, emergency_of, page_plan
from policydesk.core.facts import Event, TicketFacts
from policydesk.core.intake import acknowledges
from policydesk.core.policy import Policy
from policydesk.core.routing import broadcast_rule
from policydesk.core.workflow import RoutingModel

__all__ = ["Look", "look"]


@dataclass(frozen=True, slots=True)
class Look:
    #: Alerts to send now, in order.
    alerts: list[Alert]
    #: The emergency, if the ticket is one.
    emergency: Emergency | None
    #: The page plan of the emergency; ``page.due(as_of)`` says whether a page goes out now.
    page: PagePlan | None
    #: The earliest instant at which something is owed (past when something is due now).
    wake_us: int | None
    #: The customer is owed the intake acknowledgement (EC2, RL11).
    acknowledgement: bool = False
    #: The routing clause whose broadcast is owed (DL5).
    broadcast: RoutingModel | None = None

    def page_due(self, as_of_us: int) -> bool:
        return self.page is not None and self.page.due(as_of_us)


def look(
    policy: Policy,
    facts: TicketFacts,
    events: Sequence[Event],
    report: ClockReport,
    as_of_us: int,
) -> Look:
    """What the ticket owes as of ``as_of_us``."""
    now, upcoming = due_alerts(alerts_of(policy, report), sent_alerts(events), as_of_us)
    emergency = emergency_of(policy, facts, events, report)
    plan = page_plan(policy, emergency, events, report.status) if emergency else None
    acknowledgement, broadcast = False, None
    if report.status == "new":  # untouched
        done = {e.type for e in events}
        channel = facts.channel or ""
        acknowledgement = acknowledges(policy, channel) and "acknowledgement" not in done
        broadcast = broadcast_rule(policy, channel) if "broadcast" not in done else None
    wakes = [a.at_us for a in now[:1]]
    if acknowledgement or broadcast:
        wakes.append(to_us(facts.received))
    if upcoming is not None:
        wakes.append(upcoming)
    if plan is not None and plan.next_us is not None:
        wakes.append(plan.next_us)
    return Look(
        now, emergency, plan, min(wakes) if wakes else None, bool(acknowledgement), broadcast
    )
