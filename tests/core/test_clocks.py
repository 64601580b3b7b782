"""SLA clocks from a ticket's timeline: start, pause, resume, met, cancelled, breached."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policydesk.core.clocks import ClockResult, evaluate
from policydesk.core.errors import PolicyError
from policydesk.core.facts import Event, TicketFacts
from policydesk.core.policy import Policy, parse_policy

POLICY = """\
name: Clock rules
calendars:
  office:
    zone: America/New_York
    hours: {weekdays: ["09:00-17:00"]}
    holidays: {country: US}
contracts:
  office_hours: {calendar: office}
plans:
  basic: {contract: office_hours}
priorities:
  - name: critical
    rules: [{phrases: [outage], cite: X1}]
  - name: normal
default_priority: normal
clocks:
  first_response:
    met_on_touch: true
    targets: [{business_hours: 2, cite: FR}]
  next_response:
    starts: first_touch
    met_on_touch: true
    paused_in: [pending_customer]
    cancelled_in: [resolved, closed]
    targets: [{business_hours: 4}]
  resolve:
    met_on_status: [mitigated, resolved, closed]
    paused_in: [pending_customer]
    targets:
      - {priority: critical, calendar_hours: 4}
      - {priority: normal, business_days: 2}
"""
ZONE = "America/New_York"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def policy() -> Policy:
    return parse_policy(POLICY, "clocks.yaml")


P = policy()
TUE_10 = at("2026-11-24T10:00:00-05:00")


def run(events: list[Event], as_of: str, subject: str = "") -> dict[str, ClockResult]:
    ticket = TicketFacts(received=TUE_10, plan="basic", subject=subject)
    report = evaluate(P, ticket, events, at(as_of))
    return report.clocks


def test_first_response_due_two_business_hours_after_receipt() -> None:
    c = run([], "2026-11-24T10:00:00-05:00")["first_response"]
    assert c.due == at("2026-11-24T12:00:00-05:00")
    assert c.state == "running"
    assert c.remaining == dt.timedelta(hours=2)


def test_met_exactly_at_due_is_in_time() -> None:
    c = run([Event(at("2026-11-24T12:00:00-05:00"), "reply")], "2026-11-25T00:00:00-05:00")
    assert c["first_response"].state == "met"


def test_breach_is_judged_as_of_the_instant_given() -> None:
    before = run([], "2026-11-24T12:00:00-05:00")["first_response"]
    after = run([], "2026-11-24T12:00:01-05:00")["first_response"]
    assert not before.breached
    assert after.breached
    assert after.remaining == dt.timedelta(seconds=-1)


def test_pause_while_pending_customer_extends_resolve_by_the_paused_open_time() -> None:
    events = [
        Event(at("2026-11-24T11:00:00-05:00"), "reply"),
        Event(at("2026-11-24T11:00:00-05:00"), "status", status="pending_customer"),
        Event(at("2026-11-25T11:00:00-05:00"), "customer_reply"),
    ]
    c = run(events, "2026-11-25T12:00:00-05:00")["resolve"]
    # 16 business hours from Tue 10:00 plus 8 business hours paused (Tue 11:00 to Wed 11:00);
    # Thursday is Thanksgiving, so the 24 hours end Monday 10:00.
    assert c.due == at("2026-11-30T10:00:00-05:00")
    assert c.paused == [(at("2026-11-24T16:00:00Z"), at("2026-11-25T16:00:00Z"))]


def test_a_paused_clock_has_no_due_and_keeps_its_remaining_time() -> None:
    events = [Event(at("2026-11-24T11:00:00-05:00"), "status", status="pending_customer")]
    c = run(events, "2026-12-10T00:00:00-05:00")["resolve"]
    assert c.state == "paused"
    assert c.due is None
    assert c.remaining == dt.timedelta(hours=15)
    assert not c.breached


def test_mitigated_stops_the_resolution_clock() -> None:
    events = [Event(at("2026-11-24T15:00:00-05:00"), "status", status="mitigated")]
    c = run(events, "2026-12-10T00:00:00-05:00")["resolve"]
    assert c.state == "met"
    assert c.met_at == at("2026-11-24T15:00:00-05:00")


def test_next_response_starts_at_first_touch_and_is_met_by_the_next() -> None:
    events = [
        Event(at("2026-11-24T11:00:00-05:00"), "call"),
        Event(at("2026-11-24T16:00:00-05:00"), "reply"),
    ]
    c = run(events, "2026-11-24T16:00:00-05:00")["next_response"]
    assert c.started_at == at("2026-11-24T11:00:00-05:00")
    assert c.due == at("2026-11-24T15:00:00-05:00")
    assert c.state == "breached"


def test_next_response_waits_for_a_first_touch() -> None:
    c = run([], "2026-11-24T16:00:00-05:00")["next_response"]
    assert c.state == "not_started"
    assert c.due is None


def test_resolving_cancels_the_next_response_clock() -> None:
    events = [
        Event(at("2026-11-24T11:00:00-05:00"), "reply"),
        Event(at("2026-11-24T11:00:00-05:00"), "status", status="resolved"),
    ]
    report = run(events, "2026-11-30T00:00:00-05:00")
    assert report["next_response"].state == "cancelled"
    assert not report["next_response"].breached
    assert report["resolve"].state == "met"


def test_internal_note_is_not_a_touch() -> None:
    c = run([Event(at("2026-11-24T10:30:00-05:00"), "note")], "2026-11-24T13:00:00-05:00")
    assert c["first_response"].state == "breached"


def test_raising_priority_retargets_the_clock_from_its_start() -> None:
    events = [Event(at("2026-11-24T11:00:00-05:00"), "priority", priority="critical")]
    c = run(events, "2026-11-24T11:00:00-05:00")["resolve"]
    assert c.due == at("2026-11-24T14:00:00-05:00")
    assert c.calendar == "calendar hours"


def test_explanation_names_the_clauses_with_their_lines() -> None:
    c = run([], "2026-11-24T10:00:00-05:00", subject="Total outage")["resolve"]
    texts = [str(s) for s in c.steps]
    assert texts[0].startswith("started when received, Tue 2026-11-24 10:00:00 EST")
    assert any("mentions 'outage' (X1) [priorities[0].rules[0] (line 13)]" in t for t in texts)
    assert any("target 4 calendar hours [clocks.resolve.targets[0] (line 30)]" in t for t in texts)
    assert texts[-1] == "due Tue 2026-11-24 14:00:00 EST (Tue 2026-11-24 19:00:00 UTC)"


def test_events_after_as_of_are_ignored() -> None:
    late = [Event(at("2026-11-24T11:00:00-05:00"), "reply")]
    c = run(late, "2026-11-24T10:30:00-05:00")["first_response"]
    assert c.state == "running"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 14 * 24 * 60), st.sampled_from(["pause", "resume"])),
        max_size=8,
    ),
)
def test_running_open_time_until_due_equals_the_target(moves: list[tuple[int, str]]) -> None:
    """However the ticket pauses and resumes, the open time it ran until due is the target."""
    events = []
    for minute, move in sorted(moves):
        when = TUE_10 + dt.timedelta(minutes=minute)
        if move == "pause":
            events.append(Event(when, "status", status="pending_customer"))
        else:
            events.append(Event(when, "customer_reply"))
    as_of = TUE_10 + dt.timedelta(days=60)
    c = run(events, as_of.isoformat())["resolve"]
    if c.due is None:
        assert c.state == "paused"
        return
    cal = P.calendar("office")
    ran = cal.elapsed(TUE_10, c.due)
    for start, end in c.paused:
        assert end is not None
        ran -= cal.elapsed(start, min(end, c.due))
    assert ran == 2 * cal.standard_day


def test_a_clock_that_starts_while_pending_resumes_on_the_customer_reply() -> None:
    events = [
        Event(at("2026-11-24T10:00:00-05:00"), "reply"),
        Event(at("2026-11-24T10:00:00-05:00"), "status", status="pending_customer"),
        Event(at("2026-11-24T12:00:00-05:00"), "customer_reply"),
    ]
    c = run(events, "2026-11-24T12:00:00-05:00")["next_response"]
    assert c.state == "running"
    assert c.due == at("2026-11-24T16:00:00-05:00")
    assert c.paused == [(at("2026-11-24T15:00:00Z"), at("2026-11-24T17:00:00Z"))]


def test_a_second_touch_at_the_same_instant_does_not_meet_the_follow_up() -> None:
    events = [
        Event(at("2026-11-24T11:00:00-05:00"), "reply"),
        Event(at("2026-11-24T11:00:00-05:00"), "call"),
    ]
    assert run(events, "2026-11-24T11:00:00-05:00")["next_response"].state == "running"


def test_a_status_that_meets_the_clock_at_receipt_meets_it() -> None:
    events = [Event(TUE_10, "status", status="resolved")]
    c = run(events, "2026-12-10T00:00:00-05:00")["resolve"]
    assert c.state == "met"
    assert c.met_at == TUE_10


def test_a_priority_change_after_the_clock_ended_does_not_rewrite_its_verdict() -> None:
    events = [
        Event(at("2026-11-25T10:00:00-05:00"), "status", status="resolved"),
        Event(at("2026-11-27T10:00:00-05:00"), "priority", priority="critical"),
    ]
    report = run(events, "2026-11-27T10:00:00-05:00")
    assert report["resolve"].state == "met"
    assert report["resolve"].due == at("2026-11-27T10:00:00-05:00")  # normal: 2 business days


def test_events_before_receipt_and_as_of_before_receipt_are_refused() -> None:
    early = [Event(TUE_10 - dt.timedelta(seconds=1), "reply")]
    with pytest.raises(PolicyError, match="before receipt"):
        run(early, "2026-11-24T11:00:00-05:00")
    with pytest.raises(PolicyError, match="before the ticket was received"):
        run([], "2026-11-24T09:59:59-05:00")


CUTOFF = """\
name: Early close
calendars:
  office:
    zone: America/Los_Angeles
    hours: {weekdays: ["08:30-17:00"]}
    holidays: {country: US}
    closures: [{date: 2026-12-24, hours: "12:00-17:00"}]
priorities: [{name: normal}]
default_priority: normal
clocks:
  acknowledge:
    met_on_touch: true
    targets: [{cutoff: {at: "17:00"}}]
"""


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Before the cut-off but after an early close: the next business day (25th is a holiday).
        ("2026-12-24T13:00:00-08:00", "2026-12-28T17:00:00-08:00"),
        # Before the early close: that day, at the early close.
        ("2026-12-24T11:00:00-08:00", "2026-12-24T12:00:00-08:00"),
        # At the cut-off, which is also the close: the next business day, not the next opening.
        ("2026-12-22T17:00:00-08:00", "2026-12-23T17:00:00-08:00"),
    ],
)
def test_a_cutoff_whose_close_has_passed_moves_to_the_next_business_day(
    received: str, due: str
) -> None:
    policy = parse_policy(CUTOFF, "cutoff.yaml")
    report = evaluate(policy, TicketFacts(received=at(received)), [], at(received))
    assert report.clocks["acknowledge"].due == at(due)
