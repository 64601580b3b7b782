"""Business calendars: when a support team is open, and arithmetic on its open time.

A calendar is an IANA zone, open windows per weekday, public holidays, dated closures and dated
special openings. Windows are read on the local wall clock: the calendar is open at an instant
when the local clock then reads a time inside one of that day's windows. So on the night clocks
go forward a window edge that does not exist (02:30) falls on the jump, and on the night they go
back a window that covers the repeated hour is open through both passes.

Arithmetic runs on a precomputed index: the open intervals as UTC epoch microseconds with the
open time accumulated before each, built lazily over a span of local dates and extended when a
question falls outside it. Each query is two binary searches.

Conventions (see DESIGN.md):
- ``add(start, d)`` is the earliest instant at which ``d`` of open time has elapsed since
  ``start``; a due time on the boundary of two open periods is the end of the earlier one.
- A start at a closing instant or in closed time counts from the next opening.
- "N business days" is N times ``standard_day``, the open time of a regular business day.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Literal

import holidays as holidays_lib
import numpy as np
import numpy.typing as npt

from policydesk.core.errors import CalendarError, PolicyError
from policydesk.core.zones import load_zone

__all__ = [
    "EPOCH",
    "BusinessCalendar",
    "CalendarSpec",
    "Closure",
    "HolidaySource",
    "Opening",
    "Window",
    "from_us",
    "to_us",
]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_DAY_MIN = 24 * 60
_MAX_SPAN_DAYS = 366 * 200
_INITIAL_DAYS_BEFORE = 14
_INITIAL_DAYS_AFTER = 400

I64Array = npt.NDArray[np.int64]
# The span a calendar answers for; far enough for any ticket, and clear of date overflow.
_MIN_US = (dt.datetime(1900, 1, 3, tzinfo=dt.UTC) - EPOCH) // _US
_MAX_US = (dt.datetime(2399, 12, 1, tzinfo=dt.UTC) - EPOCH) // _US


def to_us(t: dt.datetime) -> int:
    """Epoch microseconds of an aware instant."""
    try:
        return (t - EPOCH) // _US  # a naive instant cannot be subtracted from an aware one
    except TypeError:
        raise CalendarError(
            f"instant {t.isoformat()} has no time zone; give an offset or a zone"
        ) from None


def from_us(us: int) -> dt.datetime:
    """The aware UTC instant at epoch microseconds ``us``."""
    return EPOCH + dt.timedelta(0, 0, us)  # positional: twice as fast as microseconds=


@dataclass(frozen=True, slots=True)
class Window:
    """Open from ``start`` to ``end`` minutes after local midnight of the window's day.

    ``end`` may exceed 1440 for a window that crosses midnight (22:00-06:00 is 1320..1800).
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < _DAY_MIN and self.start < self.end <= self.start + _DAY_MIN):
            raise PolicyError(f"window {self.start}..{self.end} minutes is not a valid window")


@dataclass(frozen=True, slots=True)
class HolidaySource:
    """Public holidays from the ``holidays`` package (observed days included)."""

    country: str
    subdiv: str | None = None
    categories: tuple[str, ...] = ()

    def dates(self, years: Iterable[int]) -> dict[dt.date, str]:
        try:
            table = holidays_lib.country_holidays(
                self.country,
                subdiv=self.subdiv,
                years=list(years),
                categories=self.categories or None,
            )
        except NotImplementedError as exc:
            raise PolicyError(f"holidays: country {self.country!r} is not known") from exc
        return {day: str(name) for day, name in table.items()}

    def validate(self) -> None:
        """Raise ``PolicyError`` when the country, subdivision or a category is unknown."""
        try:
            holidays_lib.country_holidays(
                self.country,
                subdiv=self.subdiv,
                years=[2026],
                categories=self.categories or None,
            )
        except NotImplementedError as exc:
            raise PolicyError(f"country {self.country!r} is not known to `holidays`") from exc
        except ValueError as exc:
            raise PolicyError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Closure:
    """Closed on ``day``: the whole day when ``window`` is None, else during that window."""

    day: dt.date
    window: Window | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Opening:
    """Extra open time on ``day`` (even on a weekend or a holiday)."""

    day: dt.date
    window: Window
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """Everything that defines a calendar; ``weekly`` holds Monday..Sunday."""

    zone: str
    weekly: tuple[tuple[Window, ...], ...]
    holidays: HolidaySource | None = None
    closures: tuple[Closure, ...] = ()
    openings: tuple[Opening, ...] = ()
    standard_day: dt.timedelta | None = None
    name: str = "calendar"

    @classmethod
    def always_open(cls, zone: str = "UTC", *, name: str = "24x7") -> CalendarSpec:
        return cls(zone=zone, weekly=((Window(0, _DAY_MIN),),) * 7, name=name)


@dataclass(slots=True)
class _Index:
    first: dt.date
    last: dt.date
    lo_us: int
    hi_us: int
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    cum_before: list[int] = field(default_factory=list)
    cum_after: list[int] = field(default_factory=list)
    np_starts: I64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    np_ends: I64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    np_cum_before: I64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    np_cum_after: I64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    batch: _Batch | None = None


class _Lookup:
    """``np.searchsorted(values, x, side)`` in constant time per query.

    A table holds the answer at the start of each of many equal buckets of the value axis; a
    query reads its bucket's answer and steps over the few values inside the bucket (``steps``
    vector passes, usually one). Built once per index, it replaces a binary search of every
    query by two array reads.
    """

    def __init__(self, values: I64Array, side: Literal["left", "right"]) -> None:
        self.values, self.side, self.n = values, side, len(values)
        if self.n == 0:  # nothing to find: every answer is 0
            values = np.zeros(1, np.int64)
        # Bucket 0 starts one below the smallest value, so a query below it (clipped there)
        # finds answer 0 and takes no step: no special case is needed at either end.
        self.lo, self.hi = int(values[0]) - 1, int(values[-1])
        span = self.hi - self.lo + 1
        shift = max(0, (span // max(1024, 16 * self.n)).bit_length())
        while True:
            buckets = (span >> shift) + 1
            edges = self.lo + (np.arange(buckets + 1, dtype=np.int64) << shift)
            answers = np.searchsorted(values, edges, side=side)
            steps = int(np.diff(answers).max())
            if steps <= 4 or shift == 0 or buckets > 1 << 22:
                break
            shift -= 1
        self.shift, self.steps = shift, steps
        self.table: I64Array = answers[:-1].astype(np.int64)
        self.padded: I64Array = np.append(values, np.iinfo(np.int64).max)

    def __call__(self, x: I64Array) -> I64Array:
        if self.n == 0:
            return np.zeros(len(x), np.int64)
        bucket = np.clip(x, self.lo, self.hi)
        bucket -= self.lo
        bucket >>= self.shift
        idx: I64Array = self.table[bucket]
        padded = self.padded
        for _ in range(self.steps):
            if self.side == "right":
                idx += padded[idx] <= x
            else:
                idx += padded[idx] < x
        return idx


@dataclass(slots=True)
class _Batch:
    ends_right: _Lookup
    starts_right: _Lookup
    cum_left: _Lookup
    offset: I64Array  # starts - cum_before == ends - cum_after


class BusinessCalendar:
    """Open-time arithmetic for one :class:`CalendarSpec`. Instants in, UTC instants out."""

    def __init__(self, spec: CalendarSpec) -> None:
        if len(spec.weekly) != 7:
            raise PolicyError("a calendar needs windows for exactly 7 weekdays (Monday..Sunday)")
        self.spec = spec
        self.name = spec.name
        self.zone = load_zone(spec.zone)
        self._closures: dict[dt.date, list[Closure]] = {}
        for c in spec.closures:
            self._closures.setdefault(c.day, []).append(c)
        self._openings: dict[dt.date, list[Window]] = {}
        for o in spec.openings:
            self._openings.setdefault(o.day, []).append(o.window)
        self._holidays: dict[dt.date, str] = {}
        self._holiday_years: set[int] = set()
        self._index: _Index | None = None
        self._has_open_time = any(spec.weekly) or bool(spec.openings)

    # ----- the calendar's days ---------------------------------------------------------------

    @cached_property
    def standard_day(self) -> dt.timedelta:
        """Open time of a regular business day: the most common weekday open time."""
        if self.spec.standard_day is not None:
            return self.spec.standard_day
        lengths = [
            sum(e - s for s, e in _merge([(w.start, w.end) for w in day]))
            for day in self.spec.weekly
        ]
        counts = Counter(n for n in lengths if n > 0)
        if not counts:
            raise CalendarError(f"calendar {self.name!r} has no regular open day")
        best = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        return dt.timedelta(minutes=best)

    def holiday(self, day: dt.date) -> str | None:
        """The public holiday's name on local date ``day``, or None."""
        source = self.spec.holidays
        if source is None:
            return None
        if day.year not in self._holiday_years:
            years = {day.year - 1, day.year, day.year + 1} - self._holiday_years
            self._holidays.update(source.dates(sorted(years)))
            self._holiday_years |= years
        return self._holidays.get(day)

    def closure(self, day: dt.date) -> Closure | None:
        """The whole-day dated closure on ``day``, if any."""
        for c in self._closures.get(day, ()):
            if c.window is None:
                return c
        return None

    def day_windows(self, day: dt.date) -> list[Window]:
        """The windows that start on local date ``day`` (before part-day closures)."""
        if self.closure(day) is not None:
            return []
        regular = [] if self.holiday(day) is not None else list(self.spec.weekly[day.weekday()])
        return regular + self._openings.get(day, [])

    def is_business_day(self, day: dt.date) -> bool:
        return bool(self._day_intervals(day))

    def next_business_day(self, day: dt.date) -> dt.date:
        """The first local date after ``day`` with open time."""
        self._require_open_time()
        d = day + dt.timedelta(days=1)
        for _ in range(_MAX_SPAN_DAYS):
            if self.is_business_day(d):
                return d
            d += dt.timedelta(days=1)
        raise CalendarError(f"calendar {self.name!r} has no business day after {day}")

    def close_of_business(self, day: dt.date) -> dt.datetime | None:
        """When the last window that starts on ``day`` closes (UTC), or None on a closed day."""
        spans = self._day_intervals(day)
        return from_us(max(e for _, e in spans)) if spans else None

    # ----- instant queries -------------------------------------------------------------------

    def is_open(self, t: dt.datetime) -> bool:
        us = to_us(t)
        ix = self._ensure(us, us)
        i = bisect_right(ix.starts, us) - 1
        return i >= 0 and us < ix.ends[i]

    def next_open(self, t: dt.datetime) -> dt.datetime:
        """``t`` itself when open, else the next opening."""
        return from_us(self.add_us(to_us(t), 0))

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The earliest instant at which ``duration`` of open time has elapsed since ``start``."""
        # The common case inline (it is the hot path of every clock); add_us does the rest.
        ix = self._index
        try:
            s = (start - EPOCH) // _US
        except TypeError:
            s = to_us(start)  # raises the clear error for a naive instant
        d = duration // _US
        if ix is not None and ix.lo_us <= s < ix.hi_us and d >= 0:
            ends = ix.ends
            i = bisect_right(ends, s)
            if i < len(ends):
                first = ix.starts[i]
                target = ix.cum_before[i] + (s - first if s > first else 0) + d
                cum_after = ix.cum_after
                j = bisect_left(cum_after, target, i)
                if j < len(cum_after):
                    return EPOCH + dt.timedelta(0, 0, ends[j] - (cum_after[j] - target))
        return from_us(self.add_us(s, d))

    def add_business_days(self, start: dt.datetime, n: int | float) -> dt.datetime:
        return self.add(start, self.standard_day * n)

    def elapsed(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Open time between ``a`` and ``b`` (negative when ``b`` is before ``a``)."""
        return dt.timedelta(0, 0, self.elapsed_us(to_us(a), to_us(b)))

    # ----- the same on epoch microseconds ----------------------------------------------------

    def add_us(self, start: int, duration: int) -> int:
        if duration < 0:
            raise CalendarError("a duration to add must not be negative")
        self._require_open_time()
        ix = self._ensure(start, start)
        while True:
            i = bisect_right(ix.ends, start)
            if i == len(ix.ends):
                ix = self._grow_forward()
                continue
            s = ix.starts[i]
            target = ix.cum_before[i] + (start - s if start > s else 0) + duration
            j = bisect_left(ix.cum_after, target, i)
            if j == len(ix.cum_after):
                ix = self._grow_forward()
                continue
            return ix.ends[j] - (ix.cum_after[j] - target)

    def elapsed_us(self, a: int, b: int) -> int:
        if b < a:
            return -self.elapsed_us(b, a)
        ix = self._ensure(a, b)
        return self._position(ix, b) - self._position(ix, a)

    @staticmethod
    def _position(ix: _Index, t: int) -> int:
        i = bisect_right(ix.starts, t) - 1
        if i < 0:
            return 0
        end = ix.ends[i]
        return ix.cum_before[i] + (t if t < end else end) - ix.starts[i]

    # ----- batch form ------------------------------------------------------------------------

    def add_many(self, starts: I64Array, durations: I64Array) -> I64Array:
        """Vectorised :meth:`add_us` over arrays of epoch microseconds."""
        if starts.size == 0:
            return np.zeros(0, np.int64)
        if (durations < 0).any():
            raise CalendarError("a duration to add must not be negative")
        self._require_open_time()
        ix = self._ensure(int(starts.min()), int(starts.max()))
        while True:
            batch = self._batch(ix)
            i = batch.ends_right(starts)
            if int(i.max()) == len(ix.ends):
                ix = self._grow_forward()
                continue
            target = ix.np_starts[i]
            np.maximum(target, starts, out=target)
            target -= batch.offset[i]
            target += durations
            # Never before the period the start counts from (as ``bisect_left(..., i)`` in add_us).
            j = batch.cum_left(target)
            np.maximum(j, i, out=j)
            if int(j.max()) == len(ix.ends):
                ix = self._grow_forward()
                continue
            target += batch.offset[j]
            return target

    def elapsed_many(self, a: I64Array, b: I64Array) -> I64Array:
        """Vectorised :meth:`elapsed_us` (requires ``a <= b`` elementwise)."""
        if a.size == 0:
            return np.zeros(0, np.int64)
        if (b < a).any():
            raise CalendarError("elapsed_many needs a <= b for every pair")
        ix = self._ensure(int(a.min()), int(b.max()))
        batch = self._batch(ix)
        result: I64Array = self._positions(ix, batch, b) - self._positions(ix, batch, a)
        return result

    @staticmethod
    def _positions(ix: _Index, batch: _Batch, t: I64Array) -> I64Array:
        i = batch.starts_right(t) - 1
        safe = np.maximum(i, 0)
        pos = np.minimum(t, ix.np_ends[safe]) - batch.offset[safe]
        out: I64Array = np.where(i >= 0, pos, 0)
        return out

    @staticmethod
    def _batch(ix: _Index) -> _Batch:
        if ix.batch is None:
            ix.batch = _Batch(
                ends_right=_Lookup(ix.np_ends, "right"),
                starts_right=_Lookup(ix.np_starts, "right"),
                cum_left=_Lookup(ix.np_cum_after, "left"),
                offset=ix.np_starts - ix.np_cum_before,
            )
        return ix.batch

    # ----- the index -------------------------------------------------------------------------

    def _require_open_time(self) -> None:
        if not self._has_open_time:
            raise CalendarError(f"calendar {self.name!r} is never open")

    def _local_date(self, us: int) -> dt.date:
        return from_us(us).astimezone(self.zone).date()

    def _ensure(self, lo: int, hi: int) -> _Index:
        ix = self._index
        if ix is not None and ix.lo_us <= lo and hi < ix.hi_us:
            return ix
        if lo < _MIN_US or hi > _MAX_US:
            raise CalendarError("instants must lie between the years 1900 and 2400")
        first = self._local_date(lo) - dt.timedelta(days=_INITIAL_DAYS_BEFORE)
        last = self._local_date(hi) + dt.timedelta(days=_INITIAL_DAYS_AFTER)
        if ix is not None:
            width = (ix.last - ix.first).days
            if first < ix.first:
                first = min(first, ix.first - dt.timedelta(days=width))
            first = min(first, ix.first)
            if last > ix.last:
                last = max(last, ix.last + dt.timedelta(days=width))
            last = max(last, ix.last)
        return self._build(first, last)

    def _grow_forward(self) -> _Index:
        ix = self._index
        assert ix is not None
        width = (ix.last - ix.first).days
        return self._build(ix.first, ix.last + dt.timedelta(days=max(width, 366)))

    def _build(self, first: dt.date, last: dt.date) -> _Index:
        if (last - first).days > _MAX_SPAN_DAYS or first.year < 1900 or last.year > 2400:
            raise CalendarError(
                f"calendar {self.name!r}: no answer within the years 1900-2400 "
                "(too little open time for the duration asked)"
            )
        raw: list[tuple[int, int]] = []
        day = first
        one = dt.timedelta(days=1)
        while day <= last:
            raw.extend(self._day_intervals(day))
            day += one
        merged = _merge(sorted(raw))
        ix = _Index(
            first=first,
            last=last,
            lo_us=self._wall_to_us(first + 2 * one, 0),
            hi_us=self._wall_to_us(last + one, 0),
        )
        total = 0
        for s, e in merged:
            ix.starts.append(s)
            ix.ends.append(e)
            ix.cum_before.append(total)
            total += e - s
            ix.cum_after.append(total)
        ix.np_starts = np.array(ix.starts, dtype=np.int64)
        ix.np_ends = np.array(ix.ends, dtype=np.int64)
        ix.np_cum_before = np.array(ix.cum_before, dtype=np.int64)
        ix.np_cum_after = np.array(ix.cum_after, dtype=np.int64)
        self._index = ix
        return ix

    @lru_cache(maxsize=4096)  # noqa: B019 - the calendar lives as long as its policy
    def _day_intervals(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """Open UTC intervals of the windows starting on ``day``, less that day's closures."""
        if not 1900 <= day.year <= 2399:
            raise CalendarError("dates must lie between the years 1900 and 2399")
        spans: list[tuple[int, int]] = []
        for w in self.day_windows(day):
            spans.extend(self._wall_span(day, w))
        for c in self._closures.get(day, ()):
            if c.window is not None:
                spans = _subtract(spans, self._wall_span(day, c.window))
        # A part-day closure of the day before may cross midnight into this day's windows.
        previous = day - dt.timedelta(days=1)
        for c in self._closures.get(previous, ()):
            if c.window is not None:
                spans = _subtract(spans, self._wall_span(previous, c.window))
        # A whole-day closure also ends the previous evening's window at midnight.
        following = day + dt.timedelta(days=1)
        if self.closure(following) is not None:
            cut = self._wall_span(following, Window(0, _DAY_MIN))
            spans = _subtract(spans, cut)
        for c in self._closures.get(following, ()):
            if c.window is not None:
                spans = _subtract(spans, self._wall_span(following, c.window))
        return tuple(sorted(spans))

    def _wall_to_us(self, day: dt.date, minute: int) -> int:
        # Wall-clock arithmetic on purpose: the zone resolves the local reading afterwards.
        naive = dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minute)  # noqa: DTZ001
        return to_us(naive.replace(tzinfo=self.zone))

    def _offset_us(self, us: int) -> int:
        offset = from_us(us).astimezone(self.zone).utcoffset()
        assert offset is not None
        return offset // _US

    def _wall_span(self, day: dt.date, w: Window) -> list[tuple[int, int]]:
        """UTC intervals during which the local wall clock reads a time inside ``w`` of ``day``."""
        base = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        wall_start = to_us(base) + w.start * 60_000_000
        wall_end = to_us(base) + w.end * 60_000_000
        margin = 26 * 3_600_000_000
        out: list[tuple[int, int]] = []
        for a, b, off in self._segments(wall_start - margin, wall_end + margin):
            s, e = max(a, wall_start - off), min(b, wall_end - off)
            if s < e:
                out.append((s, e))
        return _merge(out)

    def _segments(self, a: int, b: int) -> list[tuple[int, int, int]]:
        """Split ``[a, b)`` into pieces of constant UTC offset: (start, end, offset)."""
        off_a = self._offset_us(a)
        mid = (a + b) // 2
        if self._offset_us(mid) != off_a:
            probe = mid
        elif self._offset_us(b - 1) != off_a:
            probe = b - 1
        else:
            return [(a, b, off_a)]
        # Zone transitions fall on whole seconds: bisect for the first second of the new offset.
        lo, hi = a // 1_000_000, probe // 1_000_000
        while hi - lo > 1:
            m = (lo + hi) // 2
            if self._offset_us(m * 1_000_000) == off_a:
                lo = m
            else:
                hi = m
        cut = hi * 1_000_000
        return [(a, cut, off_a), *self._segments(cut, b)]


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _subtract(
    spans: Sequence[tuple[int, int]], cuts: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    out = list(spans)
    for cs, ce in cuts:
        nxt: list[tuple[int, int]] = []
        for s, e in out:
            if ce <= s or e <= cs:
                nxt.append((s, e))
                continue
            if s < cs:
                nxt.append((s, cs))
            if ce < e:
                nxt.append((ce, e))
        out = nxt
    return out
