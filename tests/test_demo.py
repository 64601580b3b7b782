"""The demo data: every example policy loads, and the unanswered ticket's clock comes due just
after loading (or when the policy's calendar next allows)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from policydesk.demo import load_demo
from policydesk.notify.compose import Composer
from policydesk.settings import Settings
from policydesk.tickets.models import Ticket

ROOT = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    "policy", ["rarelogic.yaml", "ecellar.yaml", "storeconnect.yaml", "restaurant.yaml"]
)
def test_the_demo_loads_once_under_each_example_policy(session: Session, policy: str) -> None:
    now = dt.datetime.fromisoformat("2026-11-30T15:00:00+00:00")  # Monday, in support hours
    path = ROOT.parent / "policies" / policy
    demo = load_demo(session, policy_path=path, now=now, composer=Composer(Settings()))
    assert demo.created
    again = load_demo(session, policy_path=path, now=now, composer=Composer(Settings()))
    assert not again.created
    if demo.unanswered is None:
        assert policy == "restaurant.yaml"  # no clocks in that seed
        return
    assert demo.due is not None
    assert demo.due >= now + dt.timedelta(minutes=2)
    if policy == "rarelogic.yaml":  # business hours: exactly then
        assert demo.due < now + dt.timedelta(minutes=2, seconds=1)
    if policy == "ecellar.yaml":  # EC2: a cut-off, so the next 17:00 Pacific
        assert demo.due == dt.datetime.fromisoformat("2026-11-30T17:00:00-08:00")
    ticket = session.get(Ticket, demo.unanswered)
    assert ticket is not None
    assert ticket.wake_at is not None
    assert ticket.wake_at <= now  # its acknowledgement (and warning) are owed at once
