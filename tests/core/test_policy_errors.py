"""A policy that does not validate is rejected whole, every problem located FILE:LINE:COLUMN."""

from __future__ import annotations

import textwrap

import pytest

from policydesk.core.located import LocatedError
from policydesk.core.policy import parse_policy

GOOD = """\
name: Example
calendars:
  office:
    zone: America/New_York
    hours:
      weekdays: ["09:00-17:00"]
    holidays: {country: US}
priorities:
  - name: high
    rules:
      - {phrases: [down]}
  - name: normal
default_priority: normal
clocks:
  first_response:
    met_on_touch: true
    targets:
      - {priority: high, business_hours: 1}
      - {business_hours: 8}
"""


def errors(text: str) -> list[str]:
    with pytest.raises(LocatedError) as info:
        parse_policy(textwrap.dedent(text), "p.yaml")
    return [str(i) for i in info.value.issues]


def test_the_good_example_loads_and_its_version_is_the_content_hash() -> None:
    a = parse_policy(GOOD, "p.yaml")
    b = parse_policy(GOOD + "\n# a comment changes the version\n", "p.yaml")
    assert len(a.version) == 64
    assert a.version != b.version
    assert a.version == parse_policy(GOOD, "other.yaml").version


def test_yaml_syntax_error_is_located() -> None:
    assert errors("name: x\ncalendars: [unclosed\n") == [
        "p.yaml:3:1: YAML syntax: expected ',' or ']', but got '<stream end>'"
    ]


def test_unknown_key_names_the_key_and_the_expected_ones() -> None:
    missing, msg = errors(GOOD.replace("    zone: America", "    zoen: America"))
    assert missing == "p.yaml:3:3: calendars.office.zone: required, but missing"
    assert msg.startswith("p.yaml:4:5: calendars.office.zoen: unknown key; expected one of:")
    assert "zone" in msg
    assert "hours" in msg


def test_missing_required_key_points_at_its_parent() -> None:
    assert errors(GOOD.replace("default_priority: normal\n", "")) == [
        "p.yaml:1:1: default_priority: required, but missing"
    ]


def test_bad_window_is_located_at_the_window() -> None:
    (msg,) = errors(GOOD.replace('"09:00-17:00"', '"9-17"'))
    assert msg.startswith("p.yaml:6:18: calendars.office.hours.weekdays")
    assert "expected HH:MM-HH:MM" in msg


def test_unknown_zone_is_rejected_with_an_example() -> None:
    (msg,) = errors(GOOD.replace("America/New_York", "America/Gotham"))
    assert msg.startswith("p.yaml:4:11: calendars.office.zone: 'America/Gotham' is not an IANA")


def test_unknown_holiday_country_is_rejected() -> None:
    (msg,) = errors(GOOD.replace("country: US", "country: XX"))
    assert msg.startswith("p.yaml:7:5: calendars.office.holidays:")
    assert "'XX'" in msg


def test_reference_to_unknown_priority_lists_the_known_ones() -> None:
    (msg,) = errors(
        GOOD.replace("{priority: high, business_hours: 1}", "{priority: urgent, business_hours: 1}")
    )
    assert msg == ("p.yaml:18:20: unknown priority 'urgent'; expected one of: high, normal")


def test_duplicate_keys_are_errors_not_overwrites() -> None:
    (msg,) = errors(
        GOOD.replace(
            "default_priority: normal\n", "default_priority: normal\ndefault_priority: high\n"
        )
    )
    assert msg == "p.yaml:14:1: duplicate key 'default_priority'"


def test_a_target_needs_exactly_one_kind() -> None:
    (msg,) = errors(GOOD.replace("{business_hours: 8}", "{business_hours: 8, business_days: 1}"))
    assert msg.startswith("p.yaml:19:9: clocks.first_response.targets.1: give exactly one of")
    assert "got business_hours, business_days" in msg


def test_every_problem_is_reported_at_once() -> None:
    text = (
        GOOD.replace("America/New_York", "Nowhere/Land")
        .replace("met_on_touch: true", "met_on_tuch: true")
        .replace("business_hours: 8", "business_hours: -8")
    )
    assert errors(text) == [
        "p.yaml:4:11: calendars.office.zone: 'Nowhere/Land' is not an IANA time zone name"
        " (e.g. 'America/New_York')",
        "p.yaml:16:5: clocks.first_response.met_on_tuch: unknown key; expected one of: cite,"
        " note, starts, met_on_touch, met_on_status, paused_in, cancelled_in, targets,"
        " warn_before, on_warning, on_breach",
        "p.yaml:19:26: clocks.first_response.targets.1.business_hours: Input should be greater"
        " than 0 (got -8)",
    ]


def test_a_clock_that_can_never_end_is_rejected() -> None:
    (msg,) = errors(GOOD.replace("met_on_touch: true", "paused_in: [pending_customer]"))
    assert msg == (
        "p.yaml:15:3: clocks.first_response: a clock needs `met_on_touch: true` or `met_on_status`"
    )


def test_no_yaml_one_one_surprises() -> None:
    # ``no`` stays the string "no" (Norway), not False; 15:00 stays a time, not 900.
    text = GOOD.replace("country: US", 'country: "NO"').replace(
        "{business_hours: 8}", "{cutoff: {at: 15:00}}"
    )
    policy = parse_policy(text, "p.yaml")
    cutoff = policy.doc.clocks["first_response"].targets[1].cutoff
    assert cutoff is not None
    assert cutoff.at == "15:00"


def test_cutoff_time_must_be_a_time_of_day() -> None:
    (msg,) = errors(GOOD.replace("{business_hours: 8}", "{cutoff: {at: '25:00'}}"))
    assert "clocks.first_response.targets.1.cutoff.at" in msg
    assert "expected HH:MM" in msg


def test_money_needs_two_decimals_and_is_never_a_float() -> None:
    billing = """\
billing:
  currency: USD
  increment_minutes: 15
  rates: {standard: 150.005}
  work_kinds: [support]
  rules: [{kind: support, rate: standard}]
"""
    (msg,) = errors(GOOD + billing)
    assert msg == (
        "p.yaml:23:21: billing.rates.standard: 150.005 is not an amount of money with at most"
        " two decimals"
    )


def test_not_utf8_is_rejected() -> None:
    with pytest.raises(LocatedError) as info:
        parse_policy(b"name: \xff\n", "p.yaml")
    assert str(info.value).startswith("p.yaml:1:1: not UTF-8 text")


def test_a_list_is_not_a_policy() -> None:
    assert errors("- a\n- b\n") == ["p.yaml:1:1: a policy is a mapping of keys (name, calendars…)"]


def test_several_calendars_need_one_default() -> None:
    extra = "  other:\n    zone: UTC\n    always_open: true\n"
    text = GOOD.replace("priorities:\n", extra + "priorities:\n", 1)
    assert errors(text) == ["p.yaml:3:3: mark exactly one calendar `default: true`"]


def test_yaml_aliases_are_refused_where_they_are_used() -> None:
    assert errors("name: &n x\ndescription: *n\n") == [
        "p.yaml:2:14: YAML aliases (*name) are not supported; write the value out"
    ]


def test_a_self_referencing_alias_is_refused_not_recursed() -> None:
    assert errors("name: &n [*n]\n") == [
        "p.yaml:1:11: YAML aliases (*name) are not supported; write the value out"
    ]


def test_absurd_numbers_are_refused_with_their_place() -> None:
    (msg,) = errors(GOOD.replace("{business_hours: 8}", "{business_hours: 99999999999}"))
    assert msg.startswith("p.yaml:19:26: clocks.first_response.targets.1.business_hours:")
    assert "less than or equal to 1000000" in msg


def test_an_amount_too_large_for_cents_is_refused() -> None:
    billing = """\
billing:
  currency: USD
  increment_minutes: 15
  rates: {standard: "1e30"}
  work_kinds: [support]
  rules: [{kind: support, rate: standard}]
"""
    (msg,) = errors(GOOD + billing)
    assert msg == (
        "p.yaml:23:21: billing.rates.standard: 1E+30 is not an amount of money with at most"
        " two decimals"
    )


def test_a_calendar_that_is_never_open_is_refused_at_load() -> None:
    (msg,) = errors(GOOD.replace('weekdays: ["09:00-17:00"]', "weekdays: []"))
    assert msg == (
        "p.yaml:3:3: calendars.office: this calendar is never open: give it hours or openings"
    )


def test_only_agent_events_can_be_touches() -> None:
    (msg,) = errors(GOOD + "touch_events: [reply, status]\n")
    assert msg.startswith("p.yaml:20:23: touch_events.1: Input should be 'reply', 'call' or 'chat'")
