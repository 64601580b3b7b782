"""The workflow clauses of a policy: warnings and breaches, the escalation ladder (RS1, RS4,
RS5), emergencies and their pages (RS6, RS7), on-duty routing (DL5) and intake promises."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policydesk.core.alerts import alerts_of, due_alerts, sent_alerts
from policydesk.core.calendar import from_us, to_us
from policydesk.core.clocks import evaluate
from policydesk.core.deadlines import look
from policydesk.core.escalation import Claim, check_escalation, suggestions_at_tier
from policydesk.core.facts import Event, TicketFacts
from policydesk.core.intake import acknowledges, promise
from policydesk.core.located import LocatedError
from policydesk.core.policy import Policy, parse_policy
from policydesk.core.routing import broadcast_rule, check_shifts, on_duty
from policydesk.core.zones import load_zone

POLICY = """\
name: Workflow rules
calendars:
  office:
    default: true
    zone: America/New_York
    hours: {weekdays: ["09:00-17:00"]}
    holidays: {country: US}
  always: {zone: America/New_York, always_open: true}
contracts:
  office_hours: {calendar: office}
  round_the_clock: {calendar: always}
plans:
  basic: {contract: office_hours}
  premium: {contract: round_the_clock}
channels: [email, phone, voicemail, contact_form]
priorities:
  - name: emergency
    rules: [{phrases: [store is down]}]
  - name: high
  - name: normal
default_priority: normal
clocks:
  first_response:
    met_on_touch: true
    targets: [{business_hours: 2}]
    warn_before: {minutes: 30}
    on_warning: {notify: [assignee]}
    on_breach: {notify: [assignee, leads], via: [email, webhook], raise_priority: high}
escalation:
  cite: RS1
  tiers: [L1, L2, PT, Dev]
  best_efforts: {min_suggestions: 2, cite: RS4}
emergency:
  priorities: [emergency]
  rules: [{channel: voicemail, outside_hours: office}]
  page: {notify: [on_call], repeat_every_minutes: 10, max_pages: 3}
routing:
  broadcast_to: [on_duty, "tier:L2"]
  channels: [contact_form]
intake:
  channels: [email, contact_form]
"""
ET = load_zone("America/New_York")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(POLICY, "w.yaml")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def errors(text: str) -> list[str]:
    with pytest.raises(LocatedError) as info:
        parse_policy(textwrap.dedent(text), "w.yaml")
    return [str(i) for i in info.value.issues]


# ----- the schema ----------------------------------------------------------------------------


def test_warn_before_without_on_warning_is_refused() -> None:
    (msg,) = errors(POLICY.replace("    on_warning: {notify: [assignee]}\n", ""))
    assert "clocks.first_response: `warn_before` and `on_warning` go together" in msg


def test_a_warning_lead_gives_minutes_or_percent_not_both() -> None:
    (msg,) = errors(POLICY.replace("{minutes: 30}", "{minutes: 30, percent: 10}"))
    assert msg.startswith("w.yaml:26:5: clocks.first_response.warn_before: ")
    assert "exactly one of `minutes` or `percent`" in msg


def test_an_unknown_recipient_is_named_with_the_ones_known() -> None:
    (msg,) = errors(POLICY.replace("notify: [assignee]}", "notify: [the_boss]}"))
    assert "clocks.first_response.on_warning.notify.0: 'the_boss' is not a recipient" in msg
    assert "on_duty" in msg


def test_a_breach_raising_to_an_unknown_priority_is_located() -> None:
    (msg,) = errors(POLICY.replace("raise_priority: high", "raise_priority: urgent"))
    assert (
        msg == "w.yaml:28:83: unknown priority 'urgent'; expected one of: emergency, high, normal"
    )


def test_a_ladder_out_of_order_is_refused() -> None:
    (msg,) = errors(POLICY.replace("[L1, L2, PT, Dev]", "[L1, PT, L2]"))
    assert "escalation.tiers: list the tiers lowest first" in msg


def test_an_emergency_needs_a_condition() -> None:
    text = POLICY.replace("  priorities: [emergency]\n  rules:", "  x_rules:")
    assert any("unknown key" in m for m in errors(text))
    (msg,) = errors(POLICY.replace("  priorities: [emergency]\n", "  priorities: []\n").replace(
        "  rules: [{channel: voicemail, outside_hours: office}]\n", ""))  # fmt: skip
    assert "give `priorities` or `rules`" in msg


def test_emergency_coverage_names_known_contracts_and_calendars() -> None:
    text = POLICY.replace(
        "  page: {", "  by_contract: {gold: always, round_the_clock: nope}\n  page: {"
    )
    problems = errors(text)
    assert problems == [
        "w.yaml:36:16: unknown contract 'gold'; expected one of: office_hours, round_the_clock",
        "w.yaml:36:48: unknown calendar 'nope'; expected one of: always, office",
    ]


# ----- warnings and breaches -----------------------------------------------------------------


def test_the_warning_is_the_lead_before_due_in_open_time(policy: Policy) -> None:
    # Friday 16:59: one minute on Friday, the rest on Monday.
    facts = TicketFacts(received=at("2026-11-27T16:59:00-05:00"), plan="basic")
    clock = evaluate(policy, facts, [], facts.received).clocks["first_response"]
    assert clock.due == at("2026-11-30T10:59:00-05:00")
    assert clock.warn_at == at("2026-11-30T10:29:00-05:00")
    assert any("warning at Mon 2026-11-30 10:29" in str(s) for s in clock.steps)


def test_a_lead_longer_than_the_target_warns_at_the_start(policy: Policy) -> None:
    text = POLICY.replace("{minutes: 30}", "{minutes: 600}")
    long = parse_policy(text, "w.yaml")
    facts = TicketFacts(received=at("2026-11-24T10:00:00-05:00"), plan="basic")
    assert evaluate(long, facts, [], facts.received).clocks["first_response"].warn_at == (
        facts.received
    )


def test_a_met_clock_owes_no_alert(policy: Policy) -> None:
    facts = TicketFacts(received=at("2026-11-24T10:00:00-05:00"), plan="basic")
    events = [Event(at("2026-11-24T10:10:00-05:00"), "reply")]
    report = evaluate(policy, facts, events, at("2026-11-25T10:00:00-05:00"))
    assert alerts_of(policy, report) == []


def test_alerts_go_out_once_and_a_late_warning_gives_way_to_its_breach(policy: Policy) -> None:
    facts = TicketFacts(received=at("2026-11-24T10:00:00-05:00"), plan="basic")
    as_of = at("2026-11-24T11:45:00-05:00")
    alerts = alerts_of(policy, evaluate(policy, facts, [], as_of))
    now, upcoming = due_alerts(alerts, set(), to_us(as_of))
    assert [(a.kind, a.clock) for a in now] == [("warning", "first_response")]
    assert upcoming is not None
    assert from_us(upcoming) == at("2026-11-24T12:00:00-05:00")
    sent = sent_alerts(
        [Event(as_of, "warning", clock="first_response", due=from_us(now[0].due_us))]
    )
    assert due_alerts(alerts, sent, to_us(as_of)) == ([], upcoming)
    later = to_us(at("2026-11-24T13:00:00-05:00"))
    now, upcoming = due_alerts(alerts, set(), later)
    assert [a.kind for a in now] == ["breach"]
    assert upcoming is None
    assert "on_breach" in now[0].clause


def test_a_moved_due_time_owes_new_alerts(policy: Policy) -> None:
    facts = TicketFacts(received=at("2026-11-24T10:00:00-05:00"), plan="basic")
    old_due = at("2026-11-24T12:00:00-05:00")
    sent = sent_alerts([Event(at("2026-11-24T11:30:00-05:00"), "warning", clock="first_response",
                              due=old_due - dt.timedelta(hours=1))])  # fmt: skip
    alerts = alerts_of(policy, evaluate(policy, facts, [], at("2026-11-24T11:31:00-05:00")))
    now, _ = due_alerts(alerts, sent, to_us(at("2026-11-24T11:31:00-05:00")))
    assert [a.kind for a in now] == ["warning"]


@given(st.integers(min_value=0, max_value=60 * 24 * 14))
def test_the_next_wake_is_never_later_than_an_owed_alert(minutes: int) -> None:
    policy = parse_policy(POLICY, "w.yaml")
    facts = TicketFacts(received=at("2026-11-23T08:00:00-05:00"), plan="basic")
    as_of = facts.received + dt.timedelta(minutes=minutes)
    report = evaluate(policy, facts, [], as_of)
    seen = look(policy, facts, [], report, to_us(as_of))
    owed = [a.at_us for a in alerts_of(policy, report)]
    assert seen.wake_us is not None
    assert seen.wake_us <= max(owed)
    if seen.alerts:
        assert seen.wake_us <= to_us(as_of)
    else:
        assert seen.wake_us > to_us(as_of)


# ----- the escalation ladder -----------------------------------------------------------------


def reply(when: str, suggestion: bool = True) -> Event:
    return Event(at(when), "reply", suggestion=suggestion)


def test_best_efforts_counts_suggestions_since_the_last_tier_change() -> None:
    events = [
        reply("2026-11-24T10:00:00-05:00"),
        Event(at("2026-11-24T11:00:00-05:00"), "tier", tier="L2"),
        reply("2026-11-24T12:00:00-05:00"),
        reply("2026-11-24T12:10:00-05:00", suggestion=False),
        Event(at("2026-11-24T12:20:00-05:00"), "note"),
    ]
    assert suggestions_at_tier(events) == 1


def test_escalation_refusals_name_the_missing_condition(policy: Policy) -> None:
    one = [reply("2026-11-24T10:00:00-05:00")]
    verdict = check_escalation(policy, one, "L1", "L2")
    assert not verdict.allowed
    assert verdict.reason == (
        "best efforts first: L1 has logged 1 of the 2 suggestions to the customer needed "
        "before escalating to L2 (RS4)"
    )
    assert verdict.clause.startswith("escalation.best_efforts (line ")
    skip = check_escalation(policy, one * 2, "L1", "PT")
    assert skip.reason == "tiers may not be skipped: from L1 the next tier is L2 (RS1)"
    assert check_escalation(policy, one * 2, "L1", "L2").allowed
    assert "already at L2" in check_escalation(policy, [], "L2", "L2").reason


def test_an_rs5_exception_waives_best_efforts_and_reaches_the_named_tier(policy: Policy) -> None:
    claim = Claim("named_request", "PT", True, "ticket #12 of Acme was worked by Pat (PT)")
    verdict = check_escalation(policy, [], "L1", "PT", claim)
    assert verdict.allowed
    assert "ticket #12 of Acme was worked by Pat (PT)" in verdict.reason
    unproven = Claim("asked_for_details", "PT", False, "Pat wrote nothing on this ticket")
    refused = check_escalation(policy, [], "L1", "PT", unproven)
    assert not refused.allowed
    assert (
        refused.reason
        == "asked for details exception not borne out: Pat wrote nothing on this ticket"
    )


def test_a_policy_may_forbid_an_exception() -> None:
    strict = parse_policy(
        POLICY.replace("  best_efforts:", "  named_request: false\n  best_efforts:")
    )
    claim = Claim("named_request", "L2", True, "shown")
    assert (
        "does not allow the named request exception"
        in check_escalation(strict, [], "L1", "L2", claim).reason
    )


def test_without_a_ladder_tiers_change_freely() -> None:
    free = parse_policy(
        POLICY.split("escalation:")[0] + "emergency:" + POLICY.split("emergency:")[1]
    )
    assert check_escalation(free, [], "L1", "Dev").allowed


# ----- emergencies ---------------------------------------------------------------------------


def emergency_look(policy: Policy, facts: TicketFacts, events: list[Event], as_of: str):  # type: ignore[no-untyped-def]
    report = evaluate(policy, facts, events, at(as_of))
    return look(policy, facts, events, report, to_us(at(as_of)))


def test_a_business_hours_emergency_at_night_pages_at_the_opening(policy: Policy) -> None:
    facts = TicketFacts(
        received=at("2026-11-24T23:00:00-05:00"), plan="basic", subject="Store is down"
    )
    seen = emergency_look(policy, facts, [], "2026-11-24T23:00:00-05:00")
    assert seen.emergency is not None
    assert "office" in seen.emergency.coverage_reason
    assert seen.page is not None
    assert seen.page.next_us == to_us(at("2026-11-25T09:00:00-05:00"))
    assert not seen.page_due(to_us(at("2026-11-25T08:59:59-05:00")))
    assert seen.page_due(to_us(at("2026-11-25T09:00:00-05:00")))


def test_a_voicemail_after_hours_is_an_emergency_by_rule(policy: Policy) -> None:
    facts = TicketFacts(
        received=at("2026-11-28T22:00:00-05:00"), plan="premium", channel="voicemail"
    )
    seen = emergency_look(policy, facts, [], "2026-11-28T22:00:00-05:00")
    assert seen.emergency is not None
    assert "received outside office hours" in seen.emergency.reason
    assert seen.wake_us == to_us(facts.received)


def test_paging_stops_after_max_pages(policy: Policy) -> None:
    facts = TicketFacts(
        received=at("2026-11-24T10:00:00-05:00"), plan="premium", subject="Store is down"
    )
    pages = [Event(at(f"2026-11-24T10:{m:02d}:00-05:00"), "page") for m in (0, 10, 20)]
    seen = emergency_look(policy, facts, pages, "2026-11-24T10:40:00-05:00")
    assert seen.page is not None
    assert seen.page.next_us is None
    assert seen.page.ended == "3 pages sent, none acknowledged"
    assert seen.wake_us is not None  # the first-response clock still owes its alerts


def test_an_emergency_lowered_and_raised_again_pages_from_the_second_raise(policy: Policy) -> None:
    facts = TicketFacts(
        received=at("2026-11-24T10:00:00-05:00"), plan="premium", subject="Store is down"
    )
    events = [
        Event(at("2026-11-24T10:00:01-05:00"), "page"),
        Event(at("2026-11-24T10:05:00-05:00"), "acknowledge"),
        Event(at("2026-11-24T11:00:00-05:00"), "priority", priority="normal"),
        Event(at("2026-11-24T12:00:00-05:00"), "priority", priority="emergency"),
    ]
    seen = emergency_look(policy, facts, events, "2026-11-24T12:00:00-05:00")
    assert seen.emergency is not None
    assert seen.emergency.since_us == to_us(at("2026-11-24T12:00:00-05:00"))
    assert seen.page_due(to_us(at("2026-11-24T12:00:00-05:00")))


# ----- routing and shifts --------------------------------------------------------------------

NIGHT = [{"days": ["fri"], "hours": "22:00-06:00"}]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-11-27T21:59:00-05:00", False),
        ("2026-11-27T22:00:00-05:00", True),
        ("2026-11-28T05:59:00-05:00", True),  # Saturday morning, Friday's shift
        ("2026-11-28T06:00:00-05:00", False),
        ("2026-11-28T22:30:00-05:00", False),  # Saturday night: no shift
    ],
)
def test_an_overnight_shift_belongs_to_the_day_it_starts(when: str, expected: bool) -> None:
    assert on_duty(NIGHT, ET, at(when)) is expected


def test_a_shift_on_the_dst_night_follows_the_wall_clock() -> None:
    shifts = [{"days": ["sat"], "hours": "23:00-07:00"}]
    # 2026-11-01 01:30 happens twice in New York; both are inside the shift.
    assert on_duty(shifts, ET, at("2026-11-01T01:30:00-04:00"))
    assert on_duty(shifts, ET, at("2026-11-01T01:30:00-05:00"))
    assert not on_duty(shifts, ET, at("2026-11-01T07:00:00-05:00"))


def test_shifts_are_checked_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="shift 1: days must be a list"):
        check_shifts(
            [{"days": ["mon"], "hours": "09:00-17:00"}, {"days": ["funday"], "hours": "x"}]
        )
    with pytest.raises(ValueError, match="not a window"):
        check_shifts([{"days": ["mon"], "hours": "9-5"}])


def test_only_the_routed_channels_are_broadcast(policy: Policy) -> None:
    rule = broadcast_rule(policy, "contact_form")
    assert rule is not None
    assert rule.broadcast_to == ["on_duty", "tier:L2"]
    assert broadcast_rule(policy, "email") is None


# ----- intake --------------------------------------------------------------------------------


def test_the_promise_is_the_earliest_clock_a_reply_meets(policy: Policy) -> None:
    facts = TicketFacts(received=at("2026-11-27T16:59:00-05:00"), plan="basic")
    found = promise(policy, evaluate(policy, facts, [], facts.received))
    assert found is not None
    assert found.clock == "first_response"
    assert from_us(found.due_us) == at("2026-11-30T10:59:00-05:00")
    assert acknowledges(policy, "email")
    assert not acknowledges(policy, "phone")
