"""Billing: increments, rates by when the work was done, Decimal money, clear refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from policydesk.core.billing import Meeting, WorkEntry, meeting_fees, price_work
from policydesk.core.errors import PolicyError
from policydesk.core.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
ECELLAR = load_policy(ROOT / "policies" / "ecellar.yaml")
TUE_10 = dt.datetime.fromisoformat("2026-11-24T10:00:00-08:00")


def test_amounts_are_decimals_with_cents() -> None:
    charge = price_work(ECELLAR, WorkEntry(TUE_10, 1, "training"))
    assert charge.amount == Decimal("37.50")
    assert isinstance(charge.amount, Decimal)
    assert charge.amount.as_tuple().exponent == -2


def test_each_entry_rounds_up_to_the_increment() -> None:
    minutes = [
        price_work(ECELLAR, WorkEntry(TUE_10, m, "training")).billable_minutes
        for m in (1, 15, 16, 30, 31)
    ]
    assert minutes == [15, 15, 30, 30, 45]


def test_the_charge_names_its_clause() -> None:
    charge = price_work(ECELLAR, WorkEntry(TUE_10, 10, "vendor_error"))
    line = ECELLAR.located.where(("billing", "rules", 0))[0]
    assert charge.clause == f"billing.rules[0] (line {line}) (EC4)"
    assert not charge.billable


def test_unknown_work_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(PolicyError, match="work kind 'consulting' is not one of: general_support"):
        price_work(ECELLAR, WorkEntry(TUE_10, 10, "consulting"))


@pytest.mark.parametrize("minutes", [-5, 10**9])
def test_minutes_out_of_range_are_refused(minutes: int) -> None:
    with pytest.raises(PolicyError, match="between 0 and 1,000,000 minutes"):
        price_work(ECELLAR, WorkEntry(TUE_10, minutes, "training"))


def test_a_policy_without_billing_says_so() -> None:
    rarelogic = load_policy(ROOT / "policies" / "rarelogic.yaml")
    with pytest.raises(PolicyError, match="no billing section"):
        price_work(rarelogic, WorkEntry(TUE_10, 10, "training"))


def test_first_cancellation_is_free_however_late() -> None:
    fees = meeting_fees(ECELLAR, [Meeting(TUE_10, TUE_10 - dt.timedelta(minutes=5))])
    assert [f.fee for f in fees] == [Decimal("0.00")]
    assert fees[0].reason == "cancellation 1 is allowed"
