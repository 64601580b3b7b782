"""Table-driven tests for the business calendar: one test per convention, named after its rule.

Expected instants are written on the local wall clock of the calendar's zone where that reading is
unambiguous, and in UTC around clock changes (where a wall reading can be missing or repeated).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np
import pytest

from policydesk.core.calendar import (
    BusinessCalendar,
    CalendarSpec,
    Closure,
    HolidaySource,
    Opening,
    Window,
    from_us,
    to_us,
)
from policydesk.core.errors import CalendarError, PolicyError
from policydesk.core.zones import UnknownZoneError, load_zone

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
US = dt.timedelta(microseconds=1)

NEW_YORK = load_zone("America/New_York")
LONDON = load_zone("Europe/London")
KOLKATA = load_zone("Asia/Kolkata")


def hm(text: str) -> int:
    """Minutes after midnight of ``"HH:MM"``; ``"30:00"`` is 06:00 of the next day."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def win(start: str, end: str) -> Window:
    return Window(hm(start), hm(end))


def at(zone: dt.tzinfo, text: str) -> dt.datetime:
    """An aware instant from ``"YYYY-MM-DD HH:MM"`` read on the wall clock of ``zone``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def utc(text: str) -> dt.datetime:
    return at(dt.UTC, text)


def ny(text: str) -> dt.datetime:
    return at(NEW_YORK, text)


def ldn(text: str) -> dt.datetime:
    return at(LONDON, text)


def ist(text: str) -> dt.datetime:
    return at(KOLKATA, text)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def weekly(
    mon_fri: tuple[Window, ...], sat: tuple[Window, ...] = (), sun: tuple[Window, ...] = ()
) -> tuple[tuple[Window, ...], ...]:
    return (mon_fri,) * 5 + (sat, sun)


def only_on(weekday: int, *windows: Window) -> tuple[tuple[Window, ...], ...]:
    return tuple(windows if i == weekday else () for i in range(7))


NINE_TO_FIVE = (win("09:00", "17:00"),)

# Week of Monday 2026-03-02 (no US holiday, before the clocks change on 2026-03-08).
OFFICE_NY = CalendarSpec(
    zone="America/New_York",
    weekly=weekly(NINE_TO_FIVE),
    holidays=HolidaySource("US"),
    name="office-ny",
)
SPLIT_LONDON = CalendarSpec(
    zone="Europe/London",
    weekly=weekly((win("08:00", "12:00"), win("13:00", "17:00"))),
    name="split-london",
)
NIGHTS_KOLKATA = CalendarSpec(
    zone="Asia/Kolkata",
    weekly=weekly((win("22:00", "30:00"),)),
    name="nights-kolkata",
)


def cal(spec: CalendarSpec) -> BusinessCalendar:
    return BusinessCalendar(spec)


def assert_open_exactly(
    calendar: BusinessCalendar,
    lo: dt.datetime,
    hi: dt.datetime,
    intervals: list[tuple[dt.datetime, dt.datetime]],
) -> None:
    """``calendar`` is open on ``[lo, hi)`` during exactly ``intervals`` (disjoint, sorted)."""
    lo, hi = lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)
    intervals = [(s.astimezone(dt.UTC), e.astimezone(dt.UTC)) for s, e in intervals]
    total = sum((e - s for s, e in intervals), dt.timedelta())
    assert calendar.elapsed(lo, hi) == total
    cursor = lo
    for s, e in intervals:
        if cursor < s:
            assert not calendar.is_open(cursor)
            assert not calendar.is_open(s - US)
        assert calendar.next_open(cursor) == s
        assert calendar.is_open(s)
        assert calendar.is_open(e - US)
        assert e == hi or not calendar.is_open(e)
        assert calendar.add(s, e - s) == e
        assert calendar.elapsed(s, e) == e - s
        cursor = e
    if cursor < hi:
        assert calendar.elapsed(cursor, hi) == dt.timedelta()


# ----- conventions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "start", "duration", "due"),
    [
        (OFFICE_NY, ny("2026-03-02 09:00"), 8 * H, ny("2026-03-02 17:00")),
        (OFFICE_NY, ny("2026-03-02 13:00"), 4 * H, ny("2026-03-02 17:00")),
        (OFFICE_NY, ny("2026-03-06 16:00"), 1 * H, ny("2026-03-06 17:00")),
        (OFFICE_NY, ny("2026-03-02 09:00"), 16 * H, ny("2026-03-03 17:00")),
        (OFFICE_NY, ny("2026-03-02 16:59"), 1 * M, ny("2026-03-02 17:00")),
        (SPLIT_LONDON, ldn("2026-03-02 09:00"), 3 * H, ldn("2026-03-02 12:00")),
        (SPLIT_LONDON, ldn("2026-03-02 08:00"), 8 * H, ldn("2026-03-02 17:00")),
        (NIGHTS_KOLKATA, ist("2026-03-02 22:00"), 8 * H, ist("2026-03-03 06:00")),
    ],
)
def test_due_on_boundary_is_end_of_earlier_period(
    spec: CalendarSpec, start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    calendar = cal(spec)
    assert calendar.add(start, duration) == due
    assert not calendar.is_open(due)


@pytest.mark.parametrize(
    ("spec", "start", "duration", "due"),
    [
        (OFFICE_NY, ny("2026-03-02 17:00"), 1 * H, ny("2026-03-03 10:00")),
        (OFFICE_NY, ny("2026-03-02 17:00"), 0 * H, ny("2026-03-03 09:00")),
        (OFFICE_NY, ny("2026-03-02 20:00"), 30 * M, ny("2026-03-03 09:30")),
        (OFFICE_NY, ny("2026-03-02 08:00"), 0 * H, ny("2026-03-02 09:00")),
        (OFFICE_NY, ny("2026-03-06 17:00"), 30 * M, ny("2026-03-09 09:30")),
        (OFFICE_NY, ny("2026-03-07 12:00"), 1 * H, ny("2026-03-09 10:00")),
        (SPLIT_LONDON, ldn("2026-03-02 12:00"), 1 * H, ldn("2026-03-02 14:00")),
        (SPLIT_LONDON, ldn("2026-03-02 12:30"), 0 * H, ldn("2026-03-02 13:00")),
        (NIGHTS_KOLKATA, ist("2026-03-03 06:00"), 1 * H, ist("2026-03-03 23:00")),
    ],
)
def test_start_at_closing_instant_counts_from_next_opening(
    spec: CalendarSpec, start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    calendar = cal(spec)
    assert calendar.add(start, duration) == due
    opening = calendar.next_open(start)
    assert calendar.elapsed(start, opening) == dt.timedelta()
    assert calendar.add(opening, duration) == due


@pytest.mark.parametrize(
    ("spec", "standard_day"),
    [
        (OFFICE_NY, 8 * H),
        (
            CalendarSpec(zone="UTC", weekly=weekly(NINE_TO_FIVE, sat=(win("10:00", "14:00"),))),
            8 * H,
        ),
        (SPLIT_LONDON, 8 * H),
        (NIGHTS_KOLKATA, 8 * H),
        (CalendarSpec.always_open(), 24 * H),
        (CalendarSpec(zone="UTC", weekly=weekly(NINE_TO_FIVE), standard_day=7.5 * H), 7.5 * H),
        # Two 8-hour days and three 6-hour days: the most common length wins.
        (
            CalendarSpec(
                zone="UTC",
                weekly=(
                    (win("09:00", "17:00"),),
                    (win("09:00", "17:00"),),
                    (win("09:00", "15:00"),),
                    (win("09:00", "15:00"),),
                    (win("09:00", "15:00"),),
                    (),
                    (),
                ),
            ),
            6 * H,
        ),
    ],
)
def test_standard_day_is_the_regular_days_open_time(
    spec: CalendarSpec, standard_day: dt.timedelta
) -> None:
    assert cal(spec).standard_day == standard_day


SATURDAY_MORNINGS = CalendarSpec(
    zone="America/New_York", weekly=weekly(NINE_TO_FIVE, sat=(win("10:00", "14:00"),))
)


@pytest.mark.parametrize(
    ("spec", "start", "n", "due"),
    [
        (OFFICE_NY, ny("2026-03-02 09:00"), 1, ny("2026-03-02 17:00")),
        (OFFICE_NY, ny("2026-03-02 12:00"), 1, ny("2026-03-03 12:00")),
        (OFFICE_NY, ny("2026-03-02 12:00"), 0.5, ny("2026-03-02 16:00")),
        (OFFICE_NY, ny("2026-03-02 12:00"), 2.5, ny("2026-03-04 16:00")),
        (OFFICE_NY, ny("2026-03-06 12:00"), 1, ny("2026-03-09 12:00")),
        (OFFICE_NY, ny("2026-03-07 12:00"), 1, ny("2026-03-09 17:00")),
        (OFFICE_NY, ny("2026-03-02 12:00"), 5, ny("2026-03-09 12:00")),
        # A short Saturday is not a whole business day: one day is 8 hours of open time.
        (SATURDAY_MORNINGS, ny("2026-03-06 12:00"), 1, ny("2026-03-07 13:00")),
        (SATURDAY_MORNINGS, ny("2026-03-06 12:00"), 2, ny("2026-03-09 16:00")),
        (SPLIT_LONDON, ldn("2026-03-02 10:00"), 1, ldn("2026-03-03 10:00")),
    ],
)
def test_business_days_are_multiples_of_standard_day(
    spec: CalendarSpec, start: dt.datetime, n: float, due: dt.datetime
) -> None:
    calendar = cal(spec)
    assert calendar.add_business_days(start, n) == due
    assert calendar.add(start, calendar.standard_day * n) == due
    assert calendar.elapsed(start, due) == calendar.standard_day * n


# ----- holidays, closures, openings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "is_open"),
    [
        (ny("2026-07-02 12:00"), True),
        (ny("2026-07-03 09:00"), False),  # Independence Day 2026 (a Saturday) observed on Friday
        (ny("2026-07-03 12:00"), False),
        (ny("2026-07-06 09:00"), True),
        (ny("2026-11-26 12:00"), False),  # Thanksgiving
        (ny("2026-12-25 12:00"), False),  # Christmas, a Friday
    ],
)
def test_observed_holiday_is_closed(instant: dt.datetime, is_open: bool) -> None:
    calendar = cal(OFFICE_NY)
    assert calendar.is_open(instant) is is_open
    assert (calendar.holiday(instant.date()) is None) is is_open


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (ny("2026-07-02 16:00"), 2 * H, ny("2026-07-06 10:00")),
        (ny("2026-07-03 12:00"), 0 * H, ny("2026-07-06 09:00")),
        (ny("2026-11-25 16:00"), 2 * H, ny("2026-11-27 10:00")),
    ],
)
def test_open_time_skips_observed_holiday(
    start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    calendar = cal(OFFICE_NY)
    assert calendar.holiday(day("2026-07-03")) == "Independence Day (observed)"
    assert calendar.add(start, duration) == due


@pytest.mark.parametrize(
    ("spec", "lo", "hi", "intervals"),
    [
        # New York, 2026-03-08: 02:00 EST (07:00Z) jumps to 03:00 EDT.
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("02:30", "05:00"))),
            utc("2026-03-08 00:00"),
            utc("2026-03-09 00:00"),
            [(utc("2026-03-08 07:00"), utc("2026-03-08 09:00"))],
        ),
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("00:00", "02:30"))),
            utc("2026-03-08 00:00"),
            utc("2026-03-09 00:00"),
            [(utc("2026-03-08 05:00"), utc("2026-03-08 07:00"))],
        ),
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("01:30", "03:30"))),
            utc("2026-03-08 00:00"),
            utc("2026-03-09 00:00"),
            [(utc("2026-03-08 06:30"), utc("2026-03-08 07:30"))],
        ),
        # A window wholly inside the skipped hour is not open at all that day.
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("02:00", "03:00"))),
            utc("2026-03-08 00:00"),
            utc("2026-03-09 00:00"),
            [],
        ),
        # The week before, the same window is a normal 2.5 hours.
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("02:30", "05:00"))),
            utc("2026-03-01 00:00"),
            utc("2026-03-02 00:00"),
            [(utc("2026-03-01 07:30"), utc("2026-03-01 10:00"))],
        ),
        # London, 2026-03-29: 01:00 GMT jumps to 02:00 BST.
        (
            CalendarSpec(zone="Europe/London", weekly=only_on(6, win("00:30", "01:30"))),
            utc("2026-03-29 00:00"),
            utc("2026-03-30 00:00"),
            [(utc("2026-03-29 00:30"), utc("2026-03-29 01:00"))],
        ),
        # Sydney, 2026-10-04: 02:00 AEST (16:00Z the day before) jumps to 03:00 AEDT.
        (
            CalendarSpec(zone="Australia/Sydney", weekly=only_on(6, win("02:30", "04:00"))),
            utc("2026-10-03 12:00"),
            utc("2026-10-04 12:00"),
            [(utc("2026-10-03 16:00"), utc("2026-10-03 17:00"))],
        ),
        # Chatham, 2026-09-27: 02:45 +12:45 (14:00Z the day before) jumps to 03:45 +13:45.
        (
            CalendarSpec(zone="Pacific/Chatham", weekly=only_on(6, win("03:00", "04:00"))),
            utc("2026-09-26 10:00"),
            utc("2026-09-27 10:00"),
            [(utc("2026-09-26 14:00"), utc("2026-09-26 14:15"))],
        ),
    ],
)
def test_spring_forward_window_edge_falls_on_jump(
    spec: CalendarSpec,
    lo: dt.datetime,
    hi: dt.datetime,
    intervals: list[tuple[dt.datetime, dt.datetime]],
) -> None:
    assert_open_exactly(cal(spec), lo, hi, intervals)


@pytest.mark.parametrize(
    ("spec", "lo", "hi", "intervals"),
    [
        # New York, 2026-11-01: 02:00 EDT (06:00Z) goes back to 01:00 EST.
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("01:00", "02:00"))),
            utc("2026-11-01 00:00"),
            utc("2026-11-02 00:00"),
            [(utc("2026-11-01 05:00"), utc("2026-11-01 07:00"))],
        ),
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("00:30", "01:30"))),
            utc("2026-11-01 00:00"),
            utc("2026-11-02 00:00"),
            [
                (utc("2026-11-01 04:30"), utc("2026-11-01 05:30")),
                (utc("2026-11-01 06:00"), utc("2026-11-01 06:30")),
            ],
        ),
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(6, win("01:30", "02:30"))),
            utc("2026-11-01 00:00"),
            utc("2026-11-02 00:00"),
            [
                (utc("2026-11-01 05:30"), utc("2026-11-01 06:00")),
                (utc("2026-11-01 06:30"), utc("2026-11-01 07:30")),
            ],
        ),
        # An overnight window across the change: 22:00 EDT to 06:00 EST is 9 hours.
        (
            CalendarSpec(zone="America/New_York", weekly=only_on(5, win("22:00", "30:00"))),
            utc("2026-10-31 12:00"),
            utc("2026-11-01 12:00"),
            [(utc("2026-11-01 02:00"), utc("2026-11-01 11:00"))],
        ),
        # London, 2026-10-25: 02:00 BST (01:00Z) goes back to 01:00 GMT.
        (
            CalendarSpec(zone="Europe/London", weekly=only_on(6, win("01:00", "02:00"))),
            utc("2026-10-25 00:00"),
            utc("2026-10-26 00:00"),
            [(utc("2026-10-25 00:00"), utc("2026-10-25 02:00"))],
        ),
        # Chatham, 2026-04-05: 03:45 +13:45 (14:00Z the day before) goes back to 02:45 +12:45.
        (
            CalendarSpec(zone="Pacific/Chatham", weekly=only_on(6, win("02:45", "03:45"))),
            utc("2026-04-04 10:00"),
            utc("2026-04-05 10:00"),
            [(utc("2026-04-04 13:00"), utc("2026-04-04 15:00"))],
        ),
    ],
)
def test_fall_back_repeated_hour_open_twice(
    spec: CalendarSpec,
    lo: dt.datetime,
    hi: dt.datetime,
    intervals: list[tuple[dt.datetime, dt.datetime]],
) -> None:
    assert_open_exactly(cal(spec), lo, hi, intervals)


@pytest.mark.parametrize(
    ("spec", "lo", "hi", "intervals"),
    [
        (
            SPLIT_LONDON,
            ldn("2026-03-02 00:00"),
            ldn("2026-03-03 00:00"),
            [
                (ldn("2026-03-02 08:00"), ldn("2026-03-02 12:00")),
                (ldn("2026-03-02 13:00"), ldn("2026-03-02 17:00")),
            ],
        ),
        # Overlapping and touching windows merge into one open period.
        (
            CalendarSpec(
                zone="Europe/London",
                weekly=weekly(
                    (win("09:00", "13:00"), win("12:00", "15:00"), win("15:00", "17:00"))
                ),
            ),
            ldn("2026-03-02 00:00"),
            ldn("2026-03-03 00:00"),
            [(ldn("2026-03-02 09:00"), ldn("2026-03-02 17:00"))],
        ),
    ],
)
def test_split_shifts_are_separate_open_periods(
    spec: CalendarSpec,
    lo: dt.datetime,
    hi: dt.datetime,
    intervals: list[tuple[dt.datetime, dt.datetime]],
) -> None:
    assert_open_exactly(cal(spec), lo, hi, intervals)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (ldn("2026-03-02 11:00"), 2 * H, ldn("2026-03-02 14:00")),
        (ldn("2026-03-02 11:30"), 30 * M, ldn("2026-03-02 12:00")),
        (ldn("2026-03-02 16:00"), 2 * H, ldn("2026-03-03 09:00")),
        (ldn("2026-03-06 16:00"), 5 * H + 30 * M, ldn("2026-03-09 13:30")),
    ],
)
def test_split_shift_lunch_break_is_not_counted(
    start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    calendar = cal(SPLIT_LONDON)
    assert calendar.add(start, duration) == due
    assert calendar.elapsed(start, due) == duration


@pytest.mark.parametrize(
    ("instant", "is_open"),
    [
        (ist("2026-03-02 03:00"), False),  # Monday early: Sunday has no window
        (ist("2026-03-02 21:59"), False),
        (ist("2026-03-02 22:00"), True),
        (ist("2026-03-03 03:00"), True),  # Monday's window, read on Tuesday's date
        (ist("2026-03-03 06:00"), False),
        (ist("2026-03-07 03:00"), True),  # Saturday early: Friday's window
        (ist("2026-03-07 07:00"), False),
        (ist("2026-03-07 22:00"), False),  # Saturday has no window
    ],
)
def test_window_crossing_midnight_belongs_to_its_start_day(
    instant: dt.datetime, is_open: bool
) -> None:
    assert cal(NIGHTS_KOLKATA).is_open(instant) is is_open


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (ist("2026-03-02 22:00"), 8 * H, ist("2026-03-03 06:00")),
        (ist("2026-03-02 23:30"), 7 * H, ist("2026-03-03 22:30")),
        (ist("2026-03-06 23:00"), 8 * H, ist("2026-03-09 23:00")),
        (ist("2026-03-07 12:00"), 1 * H, ist("2026-03-09 23:00")),
    ],
)
def test_window_crossing_midnight_counts_through_midnight(
    start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    calendar = cal(NIGHTS_KOLKATA)
    assert calendar.add(start, duration) == due
    assert calendar.close_of_business(day("2026-03-02")) == ist("2026-03-03 06:00")
    assert calendar.elapsed(ist("2026-03-03 00:00"), ist("2026-03-04 00:00")) == 8 * H


@pytest.mark.parametrize(
    ("zone", "start", "duration", "due"),
    [
        ("America/New_York", ny("2026-03-07 12:00"), 24 * H, ny("2026-03-08 13:00")),
        ("America/New_York", ny("2026-10-31 12:00"), 24 * H, ny("2026-11-01 11:00")),
        ("America/New_York", utc("2026-03-08 06:59"), 2 * M, utc("2026-03-08 07:01")),
        ("America/New_York", utc("2026-11-01 05:30"), 1 * H, utc("2026-11-01 06:30")),
        ("Europe/London", ldn("2026-10-24 12:00"), 48 * H, ldn("2026-10-26 11:00")),
        ("Australia/Sydney", utc("2026-10-03 15:00"), 3 * H, utc("2026-10-03 18:00")),
        ("Pacific/Chatham", utc("2026-04-04 13:00"), 2 * H, utc("2026-04-04 15:00")),
        ("UTC", utc("2026-03-02 00:00"), 1000 * H, utc("2026-04-12 16:00")),
    ],
)
def test_always_open_counts_elapsed_real_time_across_dst(
    zone: str, start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    calendar = cal(CalendarSpec.always_open(zone))
    assert calendar.add(start, duration) == due
    assert due.astimezone(dt.UTC) - start.astimezone(dt.UTC) == duration
    assert calendar.elapsed(start, due) == duration
    assert calendar.is_open(start)


@pytest.mark.parametrize(
    ("zone", "local_day", "hours"),
    [
        ("America/New_York", "2026-03-08", 23),
        ("America/New_York", "2026-11-01", 25),
        ("America/New_York", "2026-06-01", 24),
        ("Europe/London", "2026-03-29", 23),
        ("Europe/London", "2026-10-25", 25),
        ("Australia/Sydney", "2026-10-04", 23),
        ("Australia/Sydney", "2026-04-05", 25),
        ("Asia/Kolkata", "2026-03-08", 24),
    ],
)
def test_always_open_local_day_is_its_real_length(zone: str, local_day: str, hours: int) -> None:
    calendar = cal(CalendarSpec.always_open(zone))
    z = load_zone(zone)
    d = day(local_day)
    lo = dt.datetime(d.year, d.month, d.day, tzinfo=z)
    nxt = d + dt.timedelta(days=1)
    hi = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=z)
    assert calendar.elapsed(lo, hi) == hours * H
    assert calendar.close_of_business(d) == hi


CHRISTMAS_EVE_AFTERNOON = Closure(day("2026-12-24"), win("13:00", "17:00"), "Christmas Eve")


@pytest.mark.parametrize(
    ("spec", "lo", "hi", "intervals"),
    [
        (
            CalendarSpec(
                zone="America/New_York",
                weekly=weekly(NINE_TO_FIVE),
                holidays=HolidaySource("US"),
                closures=(CHRISTMAS_EVE_AFTERNOON,),
            ),
            ny("2026-12-24 00:00"),
            ny("2026-12-29 00:00"),
            [
                (ny("2026-12-24 09:00"), ny("2026-12-24 13:00")),
                (ny("2026-12-28 09:00"), ny("2026-12-28 17:00")),
            ],
        ),
        (
            CalendarSpec(
                zone="America/New_York",
                weekly=weekly(NINE_TO_FIVE),
                closures=(Closure(day("2026-03-03"), win("12:00", "13:00")),),
            ),
            ny("2026-03-03 00:00"),
            ny("2026-03-04 00:00"),
            [
                (ny("2026-03-03 09:00"), ny("2026-03-03 12:00")),
                (ny("2026-03-03 13:00"), ny("2026-03-03 17:00")),
            ],
        ),
        # A part-day closure cuts a special opening of its day too.
        (
            CalendarSpec(
                zone="America/New_York",
                weekly=weekly(NINE_TO_FIVE),
                closures=(Closure(day("2026-03-07"), win("11:00", "12:00")),),
                openings=(Opening(day("2026-03-07"), win("10:00", "14:00")),),
            ),
            ny("2026-03-07 00:00"),
            ny("2026-03-08 00:00"),
            [
                (ny("2026-03-07 10:00"), ny("2026-03-07 11:00")),
                (ny("2026-03-07 12:00"), ny("2026-03-07 14:00")),
            ],
        ),
        # A part-day closure that crosses midnight closes the next morning too.
        (
            CalendarSpec(
                zone="UTC",
                weekly=((win("00:00", "24:00"),),) * 7,
                closures=(Closure(day("2026-03-03"), win("22:00", "30:00")),),
            ),
            utc("2026-03-03 00:00"),
            utc("2026-03-05 00:00"),
            [
                (utc("2026-03-03 00:00"), utc("2026-03-03 22:00")),
                (utc("2026-03-04 06:00"), utc("2026-03-05 00:00")),
            ],
        ),
        # A part-day closure on the morning after cuts an overnight window.
        (
            CalendarSpec(
                zone="Asia/Kolkata",
                weekly=weekly((win("22:00", "30:00"),)),
                closures=(Closure(day("2026-03-04"), win("02:00", "03:00")),),
            ),
            ist("2026-03-03 12:00"),
            ist("2026-03-04 12:00"),
            [
                (ist("2026-03-03 22:00"), ist("2026-03-04 02:00")),
                (ist("2026-03-04 03:00"), ist("2026-03-04 06:00")),
            ],
        ),
    ],
)
def test_part_day_closure_closes_its_wall_window(
    spec: CalendarSpec,
    lo: dt.datetime,
    hi: dt.datetime,
    intervals: list[tuple[dt.datetime, dt.datetime]],
) -> None:
    assert_open_exactly(cal(spec), lo, hi, intervals)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (ny("2026-12-24 12:00"), 1 * H, ny("2026-12-24 13:00")),
        (ny("2026-12-24 12:00"), 2 * H, ny("2026-12-28 10:00")),
        (ny("2026-12-24 14:00"), 0 * H, ny("2026-12-28 09:00")),
    ],
)
def test_part_day_closure_moves_due_times(
    start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    spec = CalendarSpec(
        zone="America/New_York",
        weekly=weekly(NINE_TO_FIVE),
        holidays=HolidaySource("US"),
        closures=(CHRISTMAS_EVE_AFTERNOON,),
    )
    calendar = cal(spec)
    assert calendar.add(start, duration) == due
    assert calendar.close_of_business(day("2026-12-24")) == ny("2026-12-24 13:00")
    assert calendar.closure(day("2026-12-24")) is None  # a part-day closure is not a closed day


NIGHTS_CLOSED_WEDNESDAY = CalendarSpec(
    zone="Asia/Kolkata",
    weekly=weekly((win("22:00", "30:00"),)),
    closures=(Closure(day("2026-03-04"), reason="office move"),),
    openings=(Opening(day("2026-03-04"), win("10:00", "12:00")),),
)


@pytest.mark.parametrize(
    ("instant", "is_open"),
    [
        (ist("2026-03-03 23:00"), True),  # Tuesday's window until midnight
        (ist("2026-03-03 23:59"), True),
        (ist("2026-03-04 00:00"), False),  # cut at midnight by Wednesday's closure
        (ist("2026-03-04 01:00"), False),
        (ist("2026-03-04 11:00"), False),  # the closure wins over an opening on its day
        (ist("2026-03-04 22:00"), False),  # no window starts on the closed day
        (ist("2026-03-05 01:00"), False),
        (ist("2026-03-05 22:00"), True),
    ],
)
def test_whole_day_closure_cuts_overnight_window_at_midnight(
    instant: dt.datetime, is_open: bool
) -> None:
    calendar = cal(NIGHTS_CLOSED_WEDNESDAY)
    assert calendar.is_open(instant) is is_open
    assert calendar.closure(day("2026-03-04")) is not None
    assert calendar.close_of_business(day("2026-03-03")) == ist("2026-03-04 00:00")
    assert calendar.close_of_business(day("2026-03-04")) is None
    assert calendar.next_business_day(day("2026-03-03")) == day("2026-03-05")
    assert calendar.add(ist("2026-03-03 23:00"), 2 * H) == ist("2026-03-05 23:00")


@pytest.mark.parametrize(
    ("spec", "instant", "is_open"),
    [
        (OFFICE_NY, ny("2026-07-03 11:00"), True),
        (OFFICE_NY, ny("2026-07-03 09:30"), False),
        (OFFICE_NY, ny("2026-07-03 14:00"), False),
        (OFFICE_NY, ny("2026-07-04 10:30"), True),  # a Saturday that is also the holiday
        (OFFICE_NY, ny("2026-07-04 11:00"), False),
    ],
)
def test_special_opening_on_holiday_is_open(
    spec: CalendarSpec, instant: dt.datetime, is_open: bool
) -> None:
    opened = CalendarSpec(
        zone=spec.zone,
        weekly=spec.weekly,
        holidays=spec.holidays,
        openings=(
            Opening(day("2026-07-03"), win("10:00", "14:00"), "release day"),
            Opening(day("2026-07-04"), win("10:00", "11:00")),
        ),
    )
    calendar = cal(opened)
    assert calendar.holiday(day("2026-07-03")) is not None
    assert calendar.is_open(instant) is is_open
    assert calendar.is_business_day(day("2026-07-03"))
    assert calendar.close_of_business(day("2026-07-03")) == ny("2026-07-03 14:00")
    assert calendar.add(ny("2026-07-02 16:00"), 2 * H) == ny("2026-07-03 11:00")
    assert calendar.add(ny("2026-07-03 13:00"), 2 * H) == ny("2026-07-04 11:00")


# ----- day and instant queries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "local_day", "close"),
    [
        (OFFICE_NY, "2026-03-02", ny("2026-03-02 17:00")),
        (OFFICE_NY, "2026-03-07", None),  # Saturday
        (OFFICE_NY, "2026-07-03", None),  # observed holiday
        (OFFICE_NY, "2026-03-08", None),  # Sunday the clocks change
        (OFFICE_NY, "2026-03-09", ny("2026-03-09 17:00")),
        (SPLIT_LONDON, "2026-03-02", ldn("2026-03-02 17:00")),
        (NIGHTS_KOLKATA, "2026-03-06", ist("2026-03-07 06:00")),
        (NIGHTS_KOLKATA, "2026-03-07", None),
    ],
)
def test_close_of_business_is_end_of_last_window_of_day(
    spec: CalendarSpec, local_day: str, close: dt.datetime | None
) -> None:
    calendar = cal(spec)
    assert calendar.close_of_business(day(local_day)) == close
    assert calendar.is_business_day(day(local_day)) is (close is not None)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        (OFFICE_NY, "2026-03-02", "2026-03-03"),
        (OFFICE_NY, "2026-03-06", "2026-03-09"),
        (OFFICE_NY, "2026-03-07", "2026-03-09"),
        (OFFICE_NY, "2026-07-02", "2026-07-06"),
        (OFFICE_NY, "2026-11-25", "2026-11-27"),
        (OFFICE_NY, "2026-12-24", "2026-12-28"),
        (NIGHTS_KOLKATA, "2026-03-06", "2026-03-09"),
        (CalendarSpec.always_open("Pacific/Chatham"), "2026-09-26", "2026-09-27"),
    ],
)
def test_next_business_day_skips_closed_days(spec: CalendarSpec, after: str, expected: str) -> None:
    assert cal(spec).next_business_day(day(after)) == day(expected)


@pytest.mark.parametrize(
    ("instant", "is_open", "next_open"),
    [
        (ny("2026-03-02 08:59"), False, ny("2026-03-02 09:00")),
        (ny("2026-03-02 09:00"), True, ny("2026-03-02 09:00")),
        (ny("2026-03-02 12:34"), True, ny("2026-03-02 12:34")),
        (ny("2026-03-02 16:59"), True, ny("2026-03-02 16:59")),
        (ny("2026-03-02 17:00"), False, ny("2026-03-03 09:00")),
        (ny("2026-03-06 17:00"), False, ny("2026-03-09 09:00")),
        (ny("2026-03-07 12:00"), False, ny("2026-03-09 09:00")),
        (ny("2026-07-02 17:30"), False, ny("2026-07-06 09:00")),
        (ny("2026-03-02 16:59") + 59 * dt.timedelta(seconds=1), True, None),
        (ny("2026-03-02 08:59") + 59 * dt.timedelta(seconds=1), False, ny("2026-03-02 09:00")),
    ],
)
def test_is_open_and_next_open(
    instant: dt.datetime, is_open: bool, next_open: dt.datetime | None
) -> None:
    calendar = cal(OFFICE_NY)
    assert calendar.is_open(instant) is is_open
    assert calendar.next_open(instant) == (next_open or instant)
    assert calendar.is_open(calendar.next_open(instant))


# ----- errors -------------------------------------------------------------------------------------

NAIVE = dt.datetime(2026, 3, 2, 9, 0)
AWARE = ny("2026-03-02 09:00")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add(NAIVE, H),
        lambda c: c.add_business_days(NAIVE, 1),
        lambda c: c.elapsed(NAIVE, AWARE),
        lambda c: c.elapsed(AWARE, NAIVE),
        lambda c: c.is_open(NAIVE),
        lambda c: c.next_open(NAIVE),
        lambda c: to_us(NAIVE),
    ],
)
def test_naive_datetime_raises_calendar_error(call: Callable[[BusinessCalendar], Any]) -> None:
    with pytest.raises(CalendarError, match="has no time zone"):
        call(cal(OFFICE_NY))


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add(AWARE, -US),
        lambda c: c.add(AWARE, -H),
        lambda c: c.add_business_days(AWARE, -1),
        lambda c: c.add_us(to_us(AWARE), -1),
        lambda c: c.add_many(
            np.array([to_us(AWARE)] * 2, dtype=np.int64), np.array([0, -1], dtype=np.int64)
        ),
    ],
)
def test_negative_duration_raises(call: Callable[[BusinessCalendar], Any]) -> None:
    with pytest.raises(CalendarError, match="must not be negative"):
        call(cal(OFFICE_NY))


NEVER_OPEN = CalendarSpec(zone="Europe/London", weekly=((),) * 7, name="never")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.add(AWARE, H), "is never open"),
        (lambda c: c.add(AWARE, dt.timedelta()), "is never open"),
        (lambda c: c.next_open(AWARE), "is never open"),
        (lambda c: c.next_business_day(day("2026-03-02")), "is never open"),
        (lambda c: c.standard_day, "has no regular open day"),
        (lambda c: c.add_business_days(AWARE, 1), "has no regular open day"),
        (
            lambda c: c.add_many(
                np.array([to_us(AWARE)], dtype=np.int64), np.array([1], dtype=np.int64)
            ),
            "is never open",
        ),
    ],
)
def test_never_open_calendar_raises_instead_of_looping(
    call: Callable[[BusinessCalendar], Any], message: str
) -> None:
    calendar = cal(NEVER_OPEN)
    with pytest.raises(CalendarError, match=message):
        call(calendar)
    # Questions that have an answer still get one.
    assert calendar.elapsed(AWARE, AWARE + 1000 * H) == dt.timedelta()
    assert not calendar.is_open(AWARE)
    assert calendar.close_of_business(day("2026-03-02")) is None


def test_open_time_that_runs_out_raises_instead_of_looping() -> None:
    """Only a dated opening: asking for more than it holds has no answer in the years covered."""
    spec = CalendarSpec(
        zone="UTC",
        weekly=((),) * 7,
        openings=(Opening(day("2026-03-07"), win("10:00", "12:00")),),
        standard_day=2 * H,
    )
    calendar = cal(spec)
    assert calendar.add(utc("2026-03-01 00:00"), 2 * H) == utc("2026-03-07 12:00")
    with pytest.raises(CalendarError, match="no answer within the years"):
        calendar.add(utc("2026-03-01 00:00"), 3 * H)


# ----- the index ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (ny("2026-03-02 09:00"), 8 * H, ny("2026-03-02 17:00")),
        (ny("2089-12-29 16:00"), 2 * H, ny("2089-12-30 10:00")),
        (ny("2089-12-30 16:00"), 2 * H, ny("2090-01-03 10:00")),  # 2090-01-02: observed holiday
        (ny("2090-03-13 16:00"), 2 * H, ny("2090-03-14 10:00")),  # clocks changed on 2090-03-12
        (ny("1990-07-03 16:00"), 2 * H, ny("1990-07-05 10:00")),  # Independence Day, Wednesday
        (ny("1990-04-01 12:00"), 1 * H, ny("1990-04-02 10:00")),  # clocks changed on 1990-04-01
        (ny("2026-07-02 16:00"), 2 * H, ny("2026-07-06 10:00")),
    ],
)
def test_index_extends_lazily_far_into_future_and_past(
    start: dt.datetime, duration: dt.timedelta, due: dt.datetime
) -> None:
    # One calendar is asked about 2026 first, then about the row; a fresh one must agree.
    shared = cal(OFFICE_NY)
    assert shared.add(ny("2026-03-02 09:00"), H) == ny("2026-03-02 10:00")
    assert shared.add(start, duration) == due
    assert shared.elapsed(start, due) == duration
    assert cal(OFFICE_NY).add(start, duration) == due


@pytest.mark.parametrize("year", [1990, 2026, 2090])
def test_index_far_from_first_question_counts_a_whole_year(year: int) -> None:
    calendar = cal(OFFICE_NY)
    calendar.is_open(ny("2026-06-01 12:00"))
    closed = holidays_lib.country_holidays("US", years=[year])
    first, last = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days)]
    open_days = [d for d in days if d.weekday() < 5 and d not in closed]
    lo = dt.datetime(year, 1, 1, tzinfo=NEW_YORK)
    hi = dt.datetime(year + 1, 1, 1, tzinfo=NEW_YORK)
    assert calendar.elapsed(lo, hi) == 8 * H * len(open_days)
    assert calendar.elapsed(hi, lo) == -8 * H * len(open_days)


# ----- zones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["America/New_York", "Europe/London", "Australia/Sydney", "Pacific/Chatham", "UTC"],
)
def test_zone_comes_from_tzdata_package(key: str) -> None:
    calendar = cal(CalendarSpec.always_open(key))
    assert calendar.zone is load_zone(key)
    assert calendar.zone.key == key
    node = resources.files("tzdata.zoneinfo").joinpath(*key.split("/"))
    with node.open("rb") as fh:
        packaged = ZoneInfo.from_file(fh, key=key)
    t = utc("2024-01-01 00:00")
    while t < utc("2029-01-01 00:00"):
        assert t.astimezone(calendar.zone).utcoffset() == t.astimezone(packaged).utcoffset()
        t += 7 * H


@pytest.mark.parametrize(
    "key",
    ["Mars/Olympus_Mons", "America/New York", "../../etc/passwd", "", "America/", "EST5EDT "],
)
def test_unknown_zone_raises_unknown_zone_error(key: str) -> None:
    with pytest.raises(UnknownZoneError, match="is not an IANA time zone name"):
        load_zone(key)
    with pytest.raises(PolicyError, match="is not an IANA time zone name"):
        cal(CalendarSpec.always_open(key))


# ----- batch form ---------------------------------------------------------------------------------

BATCH_STARTS = [
    ny("2026-03-02 09:00"),
    ny("2026-03-02 12:34"),
    ny("2026-03-02 17:00"),  # a closing instant
    ny("2026-03-02 20:00"),  # closed time
    ny("2026-03-07 12:00"),  # weekend
    ny("2026-07-03 12:00"),  # observed holiday
    ny("2026-03-02 08:00"),
    ny("2027-12-31 16:00"),  # beyond the first index: grows forward
]
BATCH_DURATIONS = [dt.timedelta(), US, M, 8 * H, 2 * H + 17 * M, 40 * H]


@pytest.mark.parametrize("spec", [OFFICE_NY, SPLIT_LONDON, NIGHTS_KOLKATA])
def test_add_many_equals_scalar_add(spec: CalendarSpec) -> None:
    pairs = [(s, d) for s in BATCH_STARTS for d in BATCH_DURATIONS]
    starts = np.array([to_us(s) for s, _ in pairs], dtype=np.int64)
    durations = np.array([d // US for _, d in pairs], dtype=np.int64)
    batch = cal(spec).add_many(starts, durations)
    scalar = cal(spec)
    assert [from_us(int(x)) for x in batch] == [scalar.add(s, d) for s, d in pairs]
    assert cal(spec).add_many(np.zeros(0, np.int64), np.zeros(0, np.int64)).size == 0


@pytest.mark.parametrize("spec", [OFFICE_NY, SPLIT_LONDON, NIGHTS_KOLKATA])
def test_elapsed_many_equals_scalar_elapsed(spec: CalendarSpec) -> None:
    pairs = [(a, b) for a in BATCH_STARTS for b in BATCH_STARTS if a <= b]
    lo = np.array([to_us(a) for a, _ in pairs], dtype=np.int64)
    hi = np.array([to_us(b) for _, b in pairs], dtype=np.int64)
    batch = cal(spec).elapsed_many(lo, hi)
    scalar = cal(spec)
    assert [dt.timedelta(microseconds=int(x)) for x in batch] == [
        scalar.elapsed(a, b) for a, b in pairs
    ]
    with pytest.raises(CalendarError, match="needs a <= b"):
        cal(spec).elapsed_many(hi[:1], lo[:1] - 1)
