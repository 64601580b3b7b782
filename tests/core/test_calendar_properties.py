"""Properties of the business calendar against a slow, obviously correct reference.

The reference, :class:`MinuteWalker`, knows nothing of the index, of UTC intervals or of zone
transitions: it takes one UTC minute at a time, reads the local wall clock with
``datetime.astimezone`` and applies the documented wall-clock rule to that reading. Every window
edge is on a whole minute of the wall clock and every offset of the zones used here is a whole
number of minutes, so a calendar is open or closed for the whole of each UTC minute and counting
open minutes is exact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

import holidays as holidays_lib
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from policydesk.core.zones import load_zone

MINUTE = dt.timedelta(minutes=1)
DAY_MIN = 24 * 60
US = dt.timedelta(microseconds=1)

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
]
HOLIDAY_SOURCES = [HolidaySource("US"), HolidaySource("CA"), HolidaySource("AU")]
FIRST = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
LAST = dt.datetime(2029, 1, 1, tzinfo=dt.UTC)

# How far the reference walks for one question. A calendar with little open time may need more
# than this for a duration; the property then checks what the walk did see.
WALK_LIMIT = 7 * DAY_MIN
MAX_DURATION = 3 * 8 * 60  # minutes: three 8-hour business days
MAX_SPAN = 4 * DAY_MIN  # minutes between the two instants of an ``elapsed`` question

# Each example is one random calendar asked up to QUESTIONS questions (about four on average):
# some 1,600 questions against the reference and 3,000 more for the other properties.
REFERENCE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHEAP = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----- the reference -----------------------------------------------------------------------------


@cache
def holiday_dates(source: HolidaySource) -> frozenset[dt.date]:
    table = holidays_lib.country_holidays(
        source.country, subdiv=source.subdiv, years=range(2020, 2033)
    )
    return frozenset(table)


@dataclass
class MinuteWalker:
    """A calendar that decides each UTC minute by reading the local wall clock."""

    spec: CalendarSpec
    _wall: dict[tuple[dt.date, int], bool] = field(default_factory=dict)
    _minute: dict[dt.datetime, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.zone = load_zone(self.spec.zone)

    def closed_all_day(self, day: dt.date) -> bool:
        return any(c.day == day and c.window is None for c in self.spec.closures)

    def is_holiday(self, day: dt.date) -> bool:
        source = self.spec.holidays
        return source is not None and day in holiday_dates(source)

    def windows_starting_on(self, day: dt.date) -> list[Window]:
        """Holidays drop the weekly windows, openings add windows, a closed day has none."""
        if self.closed_all_day(day):
            return []
        regular = [] if self.is_holiday(day) else list(self.spec.weekly[day.weekday()])
        return regular + [o.window for o in self.spec.openings if o.day == day]

    def wall_open(self, day: dt.date, minute: int) -> bool:
        """Open when the wall clock reads ``minute`` after midnight of local date ``day``."""
        key = (day, minute)
        if key not in self._wall:
            self._wall[key] = self._decide(day, minute)
        return self._wall[key]

    def _decide(self, day: dt.date, minute: int) -> bool:
        yesterday = day - dt.timedelta(days=1)
        if self.closed_all_day(day):
            return False
        for c in self.spec.closures:
            if c.window is None:
                continue
            if c.day == day and c.window.start <= minute < c.window.end:
                return False
            if c.day == yesterday and c.window.start <= minute + DAY_MIN < c.window.end:
                return False
        for w in self.windows_starting_on(day):
            if w.start <= minute < w.end:
                return True
        return any(w.start <= minute + DAY_MIN < w.end for w in self.windows_starting_on(yesterday))

    def is_open(self, t: dt.datetime) -> bool:
        """Open during the whole UTC minute that starts at ``t`` (a whole minute)."""
        if t not in self._minute:
            local = t.astimezone(self.zone)
            self._minute[t] = self.wall_open(local.date(), local.hour * 60 + local.minute)
        return self._minute[t]

    def add(self, start: dt.datetime, minutes: int) -> dt.datetime | None:
        """End of the ``minutes``-th open minute from ``start`` (the first open one for 0).

        None when the walk of ``WALK_LIMIT`` minutes does not get there.
        """
        t = start
        left = minutes
        for _ in range(WALK_LIMIT):
            if self.is_open(t):
                if left == 0:
                    return t
                left -= 1
                if left == 0:
                    return t + MINUTE
            t += MINUTE
        return None

    def open_minutes(self, a: dt.datetime, b: dt.datetime) -> int:
        """Open minutes in ``[a, b)``."""
        count = 0
        t = a
        while t < b:
            count += self.is_open(t)
            t += MINUTE
        return count

    def elapsed(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        if b < a:
            return -self.elapsed(b, a)
        return self.open_minutes(a, b) * MINUTE


# ----- strategies --------------------------------------------------------------------------------


def transitions(zone: str) -> list[dt.datetime]:
    """The zone's offset changes between FIRST and LAST, found by the reference's own reading."""
    z = load_zone(zone)
    out: list[dt.datetime] = []
    t = FIRST
    while t < LAST:
        nxt = t + dt.timedelta(days=1)
        if t.astimezone(z).utcoffset() != nxt.astimezone(z).utcoffset():
            lo, hi = t, nxt  # the offset changes in (lo, hi]
            while hi - lo > MINUTE:
                mid = lo + (hi - lo) // 2
                mid -= dt.timedelta(seconds=mid.second, microseconds=mid.microsecond)
                if mid.astimezone(z).utcoffset() == t.astimezone(z).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        t = nxt
    return out


TRANSITIONS = {zone: transitions(zone) for zone in ZONES}
ALL_TRANSITIONS = sorted(t for ts in TRANSITIONS.values() for t in ts)
TOTAL_MINUTES = (LAST - FIRST) // MINUTE

# Interesting wall-clock minutes: midnight, the hours clocks change at (01:00, 02:00, 03:00 and
# Chatham's 02:45 and 03:45), half past them, and the end of the day.
EDGES = [0, 30, 60, 90, 105, 120, 150, 165, 180, 210, 225, 240, 540, 1020, 1320, 1380, 1410, 1439]
LENGTHS = [1, 15, 30, 45, 60, 90, 120, 180, 240, 480, 600, 720, 1380, 1439, 1440]


def near(anchors: list[dt.datetime], minutes: int) -> st.SearchStrategy[dt.datetime]:
    return st.builds(
        lambda t, k: t + k * MINUTE,
        st.sampled_from(anchors),
        st.integers(-minutes, minutes),
    )


def instants(zone: str) -> st.SearchStrategy[dt.datetime]:
    """Whole minutes in 2024-2028, mostly within two days of a clock change."""
    uniform = st.integers(0, TOTAL_MINUTES - 1).map(lambda k: FIRST + k * MINUTE)
    options = [near(ALL_TRANSITIONS, 2 * DAY_MIN), uniform]
    if TRANSITIONS[zone]:
        options = [
            near(TRANSITIONS[zone], 3 * 60),
            near(TRANSITIONS[zone], 2 * DAY_MIN),
            *options,
        ]
    return st.one_of(*options)


INSTANTS = {zone: instants(zone) for zone in ZONES}


def window_from(start: st.SearchStrategy[int]) -> st.SearchStrategy[Window]:
    return st.builds(lambda s, n: Window(s, s + n), start, lengths)


minutes_of_day = st.one_of(st.sampled_from(EDGES), st.integers(0, DAY_MIN - 1))
lengths = st.one_of(st.sampled_from(LENGTHS), st.integers(1, DAY_MIN))
windows = st.one_of(
    window_from(minutes_of_day),
    window_from(st.integers(0, 6 * 60)),  # early: meets overnight windows and closures
    window_from(st.integers(18 * 60, DAY_MIN - 1)),  # late: often crosses midnight
)

OFFICE = (Window(540, 1020),)
ALL_DAY = (Window(0, DAY_MIN),)
PRESET_DAYS = [(), OFFICE, ALL_DAY, (Window(480, 720), Window(780, 1020)), (Window(1320, 1800),)]
day_windows = st.one_of(
    st.sampled_from(PRESET_DAYS),
    st.lists(windows, max_size=3).map(tuple),
)
weeklies = st.one_of(
    st.just((ALL_DAY,) * 7),
    st.just((OFFICE,) * 5 + ((), ())),
    st.lists(day_windows, min_size=7, max_size=7).map(tuple),
)
# Dated overrides fall on local dates around the anchor's (given as offsets in days).
day_offsets = st.integers(-1, 3)
closure_rows = st.lists(st.tuples(day_offsets, st.one_of(st.none(), windows)), max_size=3)
opening_rows = st.lists(st.tuples(day_offsets, windows), max_size=2)
holiday_sources = st.one_of(st.none(), st.sampled_from(HOLIDAY_SOURCES))


@dataclass(frozen=True)
class Case:
    spec: CalendarSpec
    anchor: dt.datetime

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.spec)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(INSTANTS[zone])
    anchor_day = anchor.astimezone(load_zone(zone)).date()

    def on(k: int) -> dt.date:
        return anchor_day + dt.timedelta(days=k)

    weekly = draw(weeklies)
    if not any(weekly):
        weekly = (OFFICE, *weekly[1:])
    spec = CalendarSpec(
        zone=zone,
        weekly=weekly,
        holidays=draw(holiday_sources),
        closures=tuple(Closure(on(k), w) for k, w in draw(closure_rows)),
        openings=tuple(Opening(on(k), w) for k, w in draw(opening_rows)),
        name="random",
    )
    return Case(spec, anchor)


# Question instants: minutes from the anchor, mostly within a few hours of it.
start_offsets = st.one_of(
    st.integers(-3 * 60, 3 * 60),
    st.integers(-2 * DAY_MIN, 2 * DAY_MIN),
)
durations_min = st.one_of(
    st.sampled_from([0, 1, 60, 8 * 60]),
    st.integers(0, 120),
    st.integers(0, MAX_DURATION),
)
durations_us = st.one_of(
    durations_min.map(lambda m: m * 60_000_000),
    st.integers(0, MAX_DURATION * 60_000_000),
)
QUESTIONS = 8


@st.composite
def add_questions(
    draw: st.DrawFn, durations: st.SearchStrategy[int] = durations_min
) -> tuple[Case, list[tuple[dt.datetime, int]]]:
    case = draw(cases())
    rows = draw(st.lists(st.tuples(start_offsets, durations), min_size=1, max_size=QUESTIONS))
    return case, [(case.anchor + k * MINUTE, d) for k, d in rows]


@st.composite
def elapsed_questions(
    draw: st.DrawFn,
) -> tuple[Case, list[tuple[dt.datetime, dt.datetime]]]:
    case = draw(cases())
    spans = st.integers(-MAX_SPAN, MAX_SPAN)
    rows = draw(st.lists(st.tuples(start_offsets, spans), min_size=1, max_size=QUESTIONS))
    return case, [(case.anchor + k * MINUTE, case.anchor + (k + n) * MINUTE) for k, n in rows]


# ----- properties --------------------------------------------------------------------------------


@REFERENCE
@given(add_questions())
def test_add_equals_minute_walking_reference(
    question: tuple[Case, list[tuple[dt.datetime, int]]],
) -> None:
    case, rows = question
    calendar, walker = case.calendar(), MinuteWalker(case.spec)
    for start, minutes in rows:
        got = calendar.add(start, minutes * MINUTE)
        expected = walker.add(start, minutes)
        if expected is not None:
            assert got == expected, (start, minutes)
        else:
            # The walk ran out: fewer than ``minutes`` open minutes (none, for 0) within it.
            horizon = start + WALK_LIMIT * MINUTE
            assert got >= horizon, (start, minutes)
            assert calendar.elapsed(start, horizon) == walker.elapsed(start, horizon)
        opening = walker.add(start, 0)
        if opening is not None:
            assert calendar.next_open(start) == opening


@REFERENCE
@given(elapsed_questions())
def test_elapsed_equals_minute_walking_reference(
    question: tuple[Case, list[tuple[dt.datetime, dt.datetime]]],
) -> None:
    case, rows = question
    calendar, walker = case.calendar(), MinuteWalker(case.spec)
    for a, b in rows:
        assert calendar.elapsed(a, b) == walker.elapsed(a, b), (a, b)
        assert calendar.is_open(a) is walker.is_open(a), a
        assert calendar.is_open(b) is walker.is_open(b), b


@CHEAP
@given(add_questions(durations_us))
def test_elapsed_of_add_is_the_duration(
    question: tuple[Case, list[tuple[dt.datetime, int]]],
) -> None:
    case, rows = question
    calendar = case.calendar()
    for start, us in rows:
        duration = us * US
        due = calendar.add(start, duration)
        assert calendar.elapsed(start, due) == duration, (start, duration)
        assert calendar.elapsed(due, start) == -duration
        if duration:
            assert calendar.is_open(due - US)


@CHEAP
@given(add_questions(durations_us), st.data())
def test_add_is_monotone_in_duration(
    question: tuple[Case, list[tuple[dt.datetime, int]]], data: st.DataObject
) -> None:
    case, rows = question
    calendar = case.calendar()
    for start, us in rows:
        more = us + data.draw(st.integers(0, MAX_DURATION * 60_000_000), label="more")
        first, second = calendar.add(start, us * US), calendar.add(start, more * US)
        assert start <= first <= second, (start, us, more)
        if more > us:
            assert first < second
        assert calendar.add(start, dt.timedelta()) == calendar.next_open(start) <= first


@CHEAP
@given(add_questions(durations_us))
def test_batch_forms_equal_scalar_forms(
    question: tuple[Case, list[tuple[dt.datetime, int]]],
) -> None:
    case, rows = question
    scalar, batch = case.calendar(), case.calendar()
    starts = np.array([to_us(s) for s, _ in rows], dtype=np.int64)
    durations = np.array([us for _, us in rows], dtype=np.int64)
    dues = batch.add_many(starts, durations)
    assert [from_us(int(x)) for x in dues] == [scalar.add(s, us * US) for s, us in rows]
    spans = batch.elapsed_many(starts, dues)
    assert [int(x) for x in spans] == [us for _, us in rows]
