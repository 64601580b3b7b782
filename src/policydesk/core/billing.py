"""Billing: time entries and meeting cancellations → charges, each with the clause used.

Money is ``Decimal``. Each entry is rounded up to the policy's increment, then priced; the line
total is rounded half-up to cents. Whether work was done in hours, out of hours or on a public
holiday is judged at the entry's start against the billing calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from policydesk.core.errors import PolicyError
from policydesk.core.policy import BillingModel, Policy

__all__ = ["Charge", "Meeting", "MeetingFee", "WorkEntry", "meeting_fees", "price_work"]

_CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class WorkEntry:
    start: dt.datetime
    minutes: int
    kind: str
    requester_trained: bool = False


@dataclass(frozen=True, slots=True)
class Charge:
    billable: bool
    billable_minutes: int
    rate_name: str | None
    rate: Decimal
    amount: Decimal
    when: str  # in_hours | out_of_hours | holiday
    clause: str
    reason: str


@dataclass(frozen=True, slots=True)
class Meeting:
    scheduled_for: dt.datetime
    cancelled_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class MeetingFee:
    fee: Decimal
    clause: str
    reason: str


def _billing(policy: Policy) -> BillingModel:
    if policy.doc.billing is None:
        raise PolicyError("this policy has no billing section")
    return policy.doc.billing


def _work_time(policy: Policy, billing: BillingModel, start: dt.datetime) -> str:
    cal = policy.calendar(billing.calendar)
    if cal.holiday(start.astimezone(cal.zone).date()) is not None:
        return "holiday"
    return "in_hours" if cal.is_open(start) else "out_of_hours"


def price_work(policy: Policy, entry: WorkEntry) -> Charge:
    """Price one time entry by the first billing rule that matches it."""
    billing = _billing(policy)
    if not 0 <= entry.minutes <= 1_000_000:
        raise PolicyError("a time entry lasts between 0 and 1,000,000 minutes")
    if entry.kind not in billing.work_kinds:
        raise PolicyError(
            f"work kind {entry.kind!r} is not one of: {', '.join(billing.work_kinds)}"
        )
    when = _work_time(policy, billing, entry.start)
    for j, rule in enumerate(billing.rules):
        if rule.kind and entry.kind not in rule.kind:
            continue
        if rule.requester_trained is not None and rule.requester_trained != entry.requester_trained:
            continue
        if rule.when and when not in rule.when:
            continue
        clause = policy.clause("billing", "rules", j) + (f" ({rule.cite})" if rule.cite else "")
        if not rule.billable or rule.rate is None:
            return Charge(
                False, 0, None, Decimal("0.00"), Decimal("0.00"), when, clause, "not billable"
            )
        step = billing.increment_minutes
        minutes = -(-entry.minutes // step) * step
        rate = billing.rates[rule.rate]
        amount = (rate * minutes / 60).quantize(_CENTS, rounding=ROUND_HALF_UP)
        reason = f"{entry.minutes} min rounded up to {minutes} min at {rate} {billing.currency}/h"
        return Charge(True, minutes, rule.rate, rate, amount, when, clause, reason)
    raise PolicyError(f"no billing rule covers {entry.kind!r} work ({when})")


def meeting_fees(policy: Policy, meetings: Sequence[Meeting]) -> list[MeetingFee]:
    """The fee for each of one account's meetings, in the order given (EC9-style rule)."""
    billing = _billing(policy)
    rule = billing.meetings
    if rule is None:
        raise PolicyError("this policy has no meeting cancellation rule")
    clause = policy.clause("billing", "meetings") + (f" ({rule.cite})" if rule.cite else "")
    notice = dt.timedelta(0, 0, int(rule.notice_hours * 3_600_000_000))
    fee = (rule.fee_hours * billing.rates[rule.rate]).quantize(_CENTS, rounding=ROUND_HALF_UP)
    out: list[MeetingFee] = []
    cancellations = 0
    for m in meetings:
        if m.cancelled_at is None:
            out.append(MeetingFee(Decimal("0.00"), clause, "held"))
            continue
        cancellations += 1
        given = m.scheduled_for - m.cancelled_at
        if cancellations <= rule.free_cancellations:
            out.append(
                MeetingFee(Decimal("0.00"), clause, f"cancellation {cancellations} is allowed")
            )
        elif given >= notice:
            out.append(MeetingFee(Decimal("0.00"), clause, f"{given} notice is enough"))
        else:
            out.append(
                MeetingFee(fee, clause, f"cancellation {cancellations} with only {given} notice")
            )
    return out
