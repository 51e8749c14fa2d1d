"""The working calendar of case clocks: working periods, weekends, public holidays and adjusted working days.

All arithmetic is in whole days plus the time within one day, in integer microseconds of city time
(settings.CITY_TZ, UTC+8, no daylight saving): a 20-working-day limit costs a few bisections, never a loop
over minutes or days.

Rules (also in the docstrings of the methods):

- Working time is the union of the working periods on working days. A working day is a weekday that is not a
  public holiday, or an adjusted working day (调休上班) even when it falls on a weekend.
- Hours: a clock started outside working time starts at the next working moment; the deadline is the first
  moment at which the hours are used up, so it may be exactly a period's end (12:00, 17:30).
- Days: see WorkingCalendar.add_working_days: the same clock time on the n-th working day after, or the end
  of the n-th working day when the start is outside working time.
"""

from __future__ import annotations

import bisect
import math
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from settings import CITY_TZ

DEFAULT_CALENDAR = Path(__file__).resolve().parent.parent / "topics" / "calendar.yaml"

_US_PER_HOUR = 3_600_000_000


def _us_of(t: time) -> int:
    """Microseconds since midnight of a clock time."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


class Period(BaseModel):
    """One working period of a working day, e.g. 08:30–12:00."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, v: Any) -> Any:
        # Unquoted 14:00 reaches us as the YAML 1.1 number 840; refuse it rather than read it as seconds.
        if not isinstance(v, str | time):
            raise ValueError(f"a time is written as a quoted \"HH:MM\", got {v!r}")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start >= self.end:
            raise ValueError(f"a period ends after it starts: {self.start:%H:%M}–{self.end:%H:%M}")
        return self


class Holiday(BaseModel):
    """Consecutive days off (放假), both ends included."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Holiday:
        if self.start > self.end:
            raise ValueError(f"{self.name}: the holiday ends before it starts")
        return self

    def days(self) -> list[date]:
        """Every day of the holiday."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


class AdjustedDay(BaseModel):
    """A weekend day that is worked (调休上班), and the holiday it makes up for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    name: str


class CalendarYear(BaseModel):
    """One year's holidays and adjusted working days, with the notice they come from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1, description="The notice that sets this year's holidays")
    holidays: tuple[Holiday, ...] = ()
    working_days: tuple[AdjustedDay, ...] = ()


class _Days:
    """The calendar as tables of integers and dates, and the day-level arithmetic on them (the hot path)."""

    __slots__ = ("periods", "cum_start", "day", "first_start", "last_end", "off", "on", "regular", "per_week",
                 "partial", "special", "cum_delta")

    def __init__(self, periods: tuple[tuple[int, int], ...], weekend: frozenset[int], off: frozenset[date],
                 on: frozenset[date]) -> None:
        self.periods = periods  # (start, end) µs since midnight
        cum, total = [], 0
        for s, e in periods:
            cum.append(total)
            total += e - s
        self.cum_start = tuple(cum)  # working µs of the day before each period starts
        self.day = total  # working µs of one working day
        self.first_start, self.last_end = periods[0][0], periods[-1][1]
        self.off, self.on = off, on
        self.regular = tuple((i + 1) not in weekend for i in range(7))  # by weekday(): worked in a plain week
        self.per_week = sum(self.regular)
        # [first weekday][k]: days worked among k consecutive days from that weekday, in a plain week.
        self.partial = tuple(tuple(sum(self.regular[(w + i) % 7] for i in range(k)) for k in range(7))
                             for w in range(7))
        # Dates that differ from the plain week, sorted, with prefix sums of their ±1: a holiday on a weekend
        # changes nothing and is left out.
        deltas = {d: -1 for d in off if self.regular[d.weekday()]} | {d: 1 for d in on}
        self.special = tuple(sorted(deltas))
        acc = [0]
        for d in self.special:
            acc.append(acc[-1] + deltas[d])
        self.cum_delta = tuple(acc)

    def is_working(self, d: date) -> bool:
        """A working day."""
        return d in self.on or (d not in self.off and self.regular[d.weekday()])

    def count(self, a: date, b: date) -> int:
        """Working days in [a, b), a ≤ b: whole weeks, the rest of a week, then the special dates between."""
        weeks, rest = divmod((b - a).days, 7)
        n = weeks * self.per_week + self.partial[a.weekday()][rest]
        return n + self.cum_delta[bisect.bisect_left(self.special, b)] - self.cum_delta[
            bisect.bisect_left(self.special, a)]

    def nth_after(self, d: date, n: int) -> date:
        """The n-th working day after d (d itself for n = 0)."""
        if n == 0:
            return d
        nxt = d + timedelta(days=1)
        # Smallest span whose working days reach n: grow it by doubling from the plain week's estimate, then
        # bisect; each step is one count().
        hi = max(n, -(-n * 7 // self.per_week))
        while self.count(nxt, nxt + timedelta(days=hi)) < n:
            hi *= 2
        lo = 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.count(nxt, nxt + timedelta(days=mid)) >= n:
                hi = mid
            else:
                lo = mid
        return d + timedelta(days=hi)

    def worked_before(self, t_us: int) -> int:
        """Working µs of a working day before the clock time t."""
        return sum(min(max(t_us - s, 0), e - s) for s, e in self.periods)

    def clock_at(self, worked_us: int) -> int:
        """The clock time at which `worked_us` (0 < w ≤ a day) of the day's working time is used up."""
        for (s, e), before in zip(self.periods, self.cum_start, strict=True):
            if worked_us <= before + (e - s):
                return s + worked_us - before
        raise ValueError("more than a working day")

    def position(self, d: date, t_us: int, origin: date) -> int:
        """Working µs from the start of `origin` to time t of day d."""
        n = self.count(origin, d) if origin <= d else -self.count(d, origin)
        return n * self.day + (self.worked_before(t_us) if self.is_working(d) else 0)


class WorkingCalendar(BaseModel):
    """Working periods, weekends and the listed years' holidays; years not listed count weekends only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    working_periods: tuple[Period, ...] = Field(min_length=1)
    weekend: frozenset[int] = frozenset({6, 7})
    years: dict[int, CalendarYear] = Field(default_factory=dict)

    _days: _Days = PrivateAttr()

    @field_validator("weekend")
    @classmethod
    def _weekdays(cls, v: frozenset[int]) -> frozenset[int]:
        if not v <= set(range(1, 8)) or len(v) == 7:
            raise ValueError("weekend lists ISO weekdays 1–7, and not all seven")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> WorkingCalendar:
        ps = self.working_periods
        for a, b in zip(ps, ps[1:], strict=False):
            if b.start < a.end:
                raise ValueError(
                    f"working periods must be in order and not overlap: {a.end:%H:%M} > {b.start:%H:%M}")
        off: dict[date, str] = {}
        on: dict[date, str] = {}
        for year in self.years.values():
            for h in year.holidays:
                for d in h.days():
                    if d in off:
                        raise ValueError(f"{d} is listed as a holiday twice ({off[d]}, {h.name})")
                    off[d] = h.name
            for adj in year.working_days:
                if adj.date in on:
                    raise ValueError(f"{adj.date} is listed as an adjusted working day twice")
                if adj.date.isoweekday() not in self.weekend:
                    raise ValueError(f"{adj.date} ({adj.name}) is an adjusted working day but not a weekend "
                                     f"day")
                on[adj.date] = adj.name
        both = sorted(set(off) & set(on))
        if both:
            raise ValueError(f"{both[0]} is both a holiday and an adjusted working day")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Build the day-level tables every method uses."""
        self._days = _Days(
            tuple((_us_of(p.start), _us_of(p.end)) for p in self.working_periods), self.weekend,
            frozenset(d for y in self.years.values() for h in y.holidays for d in h.days()),
            frozenset(a.date for y in self.years.values() for a in y.working_days))

    # ---- the calendar as data --------------------------------------------------------------------------

    @property
    def hours_per_day(self) -> float:
        """Working hours of one working day (7 for 08:30–12:00 and 14:00–17:30)."""
        return self._days.day / _US_PER_HOUR

    def covers(self, year: int) -> bool:
        """Whether the year's holidays are in the calendar (if not, only weekends are days off)."""
        return year in self.years

    def confirms(self, start: datetime, end: datetime) -> bool:
        """Whether every year from start to end (city time) has its holidays here: a deadline counted across a
        year without its notice counts weekends only, so it is computed but unconfirmed."""
        a, b = sorted((self._local(start)[0].year, self._local(end)[0].year))
        return all(self.covers(y) for y in range(a, b + 1))

    def missing_years(self, today: date) -> list[int]:
        """The years whose missing holidays matter today: this year, and in December the next one too (deadlines
        run into it)."""
        return [y for y in (today.year, today.year + 1 if today.month == 12 else None)
                if y is not None and not self.covers(y)]

    def uncovered_near(self, today: date) -> list[int]:
        """Years from last year to next whose holidays are not here: an open case's clock may cross one."""
        return [y for y in range(today.year - 1, today.year + 2) if not self.covers(y)]

    def year_span(self, year: int) -> tuple[datetime, datetime]:
        """The first moment of a year and of the next, in city time."""
        return datetime(year, 1, 1, tzinfo=CITY_TZ), datetime(year + 1, 1, 1, tzinfo=CITY_TZ)

    def warning(self, today: date) -> str | None:
        """A warning for /healthz when this year's holidays (or, in December, next year's) are missing."""
        missing = self.missing_years(today)
        if not missing:
            return None
        years = "、".join(str(y) for y in missing)
        return (f"工作日历缺少 {years} 年的节假日安排，期限只按周末计算 / the working calendar has no public "
                f"holidays for {', '.join(str(y) for y in missing)}: case deadlines count weekends only "
                f"(add the year to {DEFAULT_CALENDAR.name})")

    def is_working_day(self, day: date) -> bool:
        """A weekday that is not a holiday, or an adjusted working day (调休上班)."""
        return self._days.is_working(day)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in [a, b) (negative when b is before a)."""
        return self._days.count(a, b) if a <= b else -self._days.count(b, a)

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n ≥ 1), or `day` itself for n = 0."""
        if n < 0:
            raise ValueError("n counts working days forward, from 0")
        return self._days.nth_after(day, n)

    # ---- clocks ----------------------------------------------------------------------------------------

    @staticmethod
    def _local(at: datetime) -> tuple[date, int]:
        """Date and µs since midnight of an aware datetime in city time."""
        if at.tzinfo is None:
            raise ValueError("naive datetime given to the working calendar; times must carry an offset")
        local = at.astimezone(CITY_TZ)
        return local.date(), _us_of(local.time())

    @staticmethod
    def _at(day: date, t_us: int) -> datetime:
        """City time on `day` at µs since midnight."""
        return datetime.combine(day, time(), CITY_TZ) + timedelta(microseconds=t_us)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start` are used up, in city time.

        A start outside working time (before work, at lunch, after work, on a day off) begins at the next
        working moment; the result is the first moment the hours are used up, so it may be a period's end.
        """
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"working hours must be a finite number ≥ 0, got {hours}")
        day, t = self._local(start)
        need = round(hours * _US_PER_HOUR)
        if need == 0:
            return start.astimezone(CITY_TZ)
        k = self._days
        # A day off counts as used up: the clock starts on the next working day.
        used = k.worked_before(t) if k.is_working(day) else k.day
        if used + need <= k.day:
            return self._at(day, k.clock_at(used + need))
        need -= k.day - used
        whole = -(-need // k.day)  # the working day on which it runs out, counted after `day`
        return self._at(k.nth_after(day, whole), k.clock_at(need - (whole - 1) * k.day))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The deadline `days` working days after `start`, in city time.

        A start in working time (a period's ends included) keeps its clock time: the deadline is that time on
        the n-th working day after (a start at lunch counts from the afternoon's start, 14:00). A start
        before work on a working day has that whole day as its first day; one after work or on a day off has
        the next working day as its first: either way the deadline is the end of the n-th day so counted
        (17:30). Every deadline so found is exactly n × hours_per_day working hours after the start.
        """
        if days < 0:
            raise ValueError(f"working days must be ≥ 0, got {days}")
        day, t = self._local(start)
        if days == 0:
            return start.astimezone(CITY_TZ)
        k = self._days
        if not k.is_working(day) or t > k.last_end:
            return self._at(k.nth_after(day, days), k.last_end)
        if t <= k.first_start:
            return self._at(k.nth_after(day, days - 1), k.last_end)
        clock = next((t if t >= s else s) for s, e in k.periods if t <= e)
        return self._at(k.nth_after(day, days), clock)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours from a to b (negative when b is before a): overdue time, or time remaining."""
        (da, ta), (db, tb) = self._local(a), self._local(b)
        k = self._days
        return (k.position(db, tb, da) - k.position(da, ta, da)) / _US_PER_HOUR


@cache
def load_calendar(path: Path = DEFAULT_CALENDAR) -> WorkingCalendar:
    """The working calendar of a YAML file (read once per path)."""
    return WorkingCalendar.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
