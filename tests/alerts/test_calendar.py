"""The working calendar: 2026 holidays as the State Council gave them, working-hour and working-day clocks.

Working periods are 08:30–12:00 and 14:00–17:30 (7 working hours a day) unless a test configures others.
Every expected time below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from alerts.calendar import DEFAULT_CALENDAR, WorkingCalendar, load_calendar
from settings import CITY_TZ

CAL = load_calendar()


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=CITY_TZ)


def weekday(d: date) -> str:
    return d.strftime("%a")


def in_working_time(cal: WorkingCalendar, t: datetime) -> bool:
    """On a working day, inside a period (both ends included)."""
    local = t.astimezone(CITY_TZ)
    return cal.is_working_day(local.date()) and any(
        p.start <= local.time() <= p.end for p in cal.working_periods)


# ---- the data ------------------------------------------------------------------------------------------


def test_the_2026_holidays_are_the_notice_s() -> None:
    year = CAL.years[2026]
    assert "国务院办公厅关于2026年部分节假日安排的通知" in year.source and "2025年11月4日" in year.source
    got = {h.name: (h.start, h.end) for h in year.holidays}
    assert got == {
        "元旦": (date(2026, 1, 1), date(2026, 1, 3)), "春节": (date(2026, 2, 15), date(2026, 2, 23)),
        "清明节": (date(2026, 4, 4), date(2026, 4, 6)), "劳动节": (date(2026, 5, 1), date(2026, 5, 5)),
        "端午节": (date(2026, 6, 19), date(2026, 6, 21)), "中秋节": (date(2026, 9, 25), date(2026, 9, 27)),
        "国庆节": (date(2026, 10, 1), date(2026, 10, 7)),
    }
    assert [len(h.days()) for h in year.holidays] == [3, 9, 3, 5, 3, 3, 7]  # 共3天, 共9天, …, 共7天
    adjusted = [a.date for a in year.working_days]
    assert adjusted == [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                        date(2026, 9, 20), date(2026, 10, 10)]
    # The notice's weekdays: 1月4日(周日), 2月14日(周六), 2月28日(周六), 5月9日(周六), 9月20日(周日), 10月10日(周六).
    assert [weekday(d) for d in adjusted] == ["Sun", "Sat", "Sat", "Sat", "Sun", "Sat"]
    assert all(CAL.is_working_day(d) for d in adjusted)
    assert not any(CAL.is_working_day(d) for h in year.holidays for d in h.days())


def test_periods_weekends_and_a_working_day_of_seven_hours() -> None:
    assert [(p.start, p.end) for p in CAL.working_periods] == [(time(8, 30), time(12)), (time(14), time(17, 30))]
    assert CAL.hours_per_day == 7
    assert CAL.is_working_day(date(2026, 3, 13))  # Friday
    assert not CAL.is_working_day(date(2026, 3, 14)) and not CAL.is_working_day(date(2026, 3, 15))
    assert CAL.is_working_day(date(2026, 10, 8))  # Thursday after 国庆 (1–7 October)


def test_years_not_in_the_file_count_weekends_only_and_say_so() -> None:
    assert CAL.covers(2026) and not CAL.covers(2027)
    assert CAL.is_working_day(date(2027, 1, 1))  # a Friday; 2027's 元旦 is not in the file yet
    assert CAL.warning(date(2026, 6, 1)) is None
    assert "2027" in (CAL.warning(date(2026, 12, 1)) or "")  # December: deadlines run into next year
    warning = CAL.warning(date(2027, 3, 1)) or ""
    assert "2027" in warning and "weekends only" in warning


def test_the_calendar_file_is_checked(tmp_path: Path) -> None:
    good = DEFAULT_CALENDAR.read_text(encoding="utf-8")
    cases = {
        'start: "14:00"': "start: 14:00",  # YAML 1.1 reads an unquoted 14:00 as 840
        "{date: 2026-02-14, name: 春节}": "{date: 2026-02-13, name: 春节}",  # a Friday is no adjusted day
        "{date: 2026-10-10, name: 国庆节}": "{date: 2026-10-03, name: 国庆节}",  # a holiday and worked
        'end: "12:00"': 'end: "14:30"',  # periods overlap
    }
    for old, new in cases.items():
        assert old in good
        path = tmp_path / "calendar.yaml"
        path.write_text(good.replace(old, new), encoding="utf-8")
        with pytest.raises(ValidationError):
            load_calendar(path)
        load_calendar.cache_clear()


# ---- working hours -------------------------------------------------------------------------------------


def test_friday_afternoon_runs_into_monday() -> None:
    start = at(2026, 3, 13, 16)
    assert weekday(start) == "Fri"
    # 16:00–17:30 Friday is 1.5 h; the other 2.5 h from 08:30 Monday: 11:00.
    due = CAL.add_working_hours(start, 4)
    assert due == at(2026, 3, 16, 11) and weekday(due) == "Mon"
    assert CAL.working_hours_between(start, due) == 4


def test_the_working_periods_are_configurable() -> None:
    # A city whose offices open at 08:00: 1.5 h Friday, then 08:00 + 2.5 h = 10:30 Monday.
    early = WorkingCalendar(working_periods=({"start": "08:00", "end": "12:00"},
                                             {"start": "14:00", "end": "17:30"}))
    assert early.hours_per_day == 7.5
    assert early.add_working_hours(at(2026, 3, 13, 16), 4) == at(2026, 3, 16, 10, 30)


def test_the_national_day_week_is_skipped() -> None:
    start = at(2026, 9, 30, 16)
    assert weekday(start) == "Wed"
    # 1.5 h on 30 September; 1–7 October are off; 8 October (a Thursday) is a working day: 08:30 + 2.5 h.
    due = CAL.add_working_hours(start, 4)
    assert due == at(2026, 10, 8, 11) and weekday(due) == "Thu"
    # Seven hours more is the same time the next working day, Friday 9 October.
    assert CAL.add_working_hours(start, 11) == at(2026, 10, 9, 11)
    assert CAL.working_hours_between(start, due) == 4


def test_adjusted_working_days_count() -> None:
    # Friday 9 October 16:00 + 4 h: 1.5 h, then Saturday 10 October (调休上班) 08:30 + 2.5 h.
    assert CAL.add_working_hours(at(2026, 10, 9, 16), 4) == at(2026, 10, 10, 11)
    # Saturday 19 September is off; Sunday 20 September is worked: 08:30–12:00 (3.5 h) + 0.5 h = 14:30.
    assert weekday(date(2026, 9, 20)) == "Sun"
    assert CAL.add_working_hours(at(2026, 9, 19, 10), 4) == at(2026, 9, 20, 14, 30)
    # Saturday 10 October is worked, Sunday 11 is not: 16:00 + 4 h lands Monday 12 October 11:00.
    assert CAL.add_working_hours(at(2026, 10, 10, 16), 4) == at(2026, 10, 12, 11)


def test_starts_outside_working_time() -> None:
    assert CAL.add_working_hours(at(2026, 3, 16, 12, 30), 1) == at(2026, 3, 16, 15)  # lunch: from 14:00
    assert CAL.add_working_hours(at(2026, 3, 16, 7), 1) == at(2026, 3, 16, 9, 30)  # before work: from 08:30
    assert CAL.add_working_hours(at(2026, 3, 16, 19), 1) == at(2026, 3, 17, 9, 30)  # after work: next day
    assert CAL.add_working_hours(at(2026, 3, 14, 10), 1) == at(2026, 3, 16, 9, 30)  # Saturday: Monday
    assert CAL.working_hours_between(at(2026, 3, 16, 12, 30), at(2026, 3, 16, 14)) == 0


def test_a_deadline_may_be_a_period_s_end() -> None:
    assert CAL.add_working_hours(at(2026, 3, 16, 8, 30), 3.5) == at(2026, 3, 16, 12)
    assert CAL.add_working_hours(at(2026, 3, 16, 8, 30), 7) == at(2026, 3, 16, 17, 30)
    assert CAL.add_working_hours(at(2026, 3, 16, 12, 30), 3.5) == at(2026, 3, 16, 17, 30)
    assert CAL.add_working_hours(at(2026, 3, 16, 10), 0) == at(2026, 3, 16, 10)


def test_times_in_other_offsets_are_city_time() -> None:
    start = datetime(2026, 3, 13, 8, tzinfo=UTC)  # 16:00 in Zhaoqing
    due = CAL.add_working_hours(start, 4)
    assert due == at(2026, 3, 16, 11) and due.utcoffset() == timedelta(hours=8)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_hours(datetime(2026, 3, 13, 16), 4)
    with pytest.raises(ValueError):
        CAL.add_working_hours(at(2026, 3, 13, 16), -1)
    with pytest.raises(ValueError):
        CAL.add_working_days(at(2026, 3, 13, 16), -1)


def test_working_hours_between_counts_backwards_too() -> None:
    a, b = at(2026, 9, 30, 16), at(2026, 10, 8, 11)
    assert CAL.working_hours_between(b, a) == -4
    assert CAL.working_hours_between(at(2026, 2, 13, 17, 30), at(2026, 2, 24, 8, 30)) == 7  # 14 Feb (Sat) worked


# ---- working days --------------------------------------------------------------------------------------


def test_fifteen_working_days_across_the_spring_festival() -> None:
    start = at(2026, 2, 10, 10)
    assert weekday(start) == "Tue"
    # Working days after 10 February: 11, 12, 13, 14 (Sat, 调休), [15–23 off], 24, 25, 26, 27, 28 (Sat, 调休),
    # 2, 3, 4, 5, 6 and 9 March: the 15th is Monday 9 March, at the start's clock time 10:00.
    due = CAL.add_working_days(start, 15)
    assert due == at(2026, 3, 9, 10) and weekday(due) == "Mon"
    assert CAL.working_hours_between(start, due) == 15 * 7
    assert CAL.working_days_between(date(2026, 2, 11), date(2026, 3, 10)) == 15


def test_day_limits_outside_working_time_end_at_the_end_of_a_day() -> None:
    # After work on Friday 13 March: the first day is Monday 16; 2 days end Tuesday 17 March 17:30.
    assert CAL.add_working_days(at(2026, 3, 13, 18), 2) == at(2026, 3, 17, 17, 30)
    # On a Saturday: the same.
    assert CAL.add_working_days(at(2026, 3, 14, 10), 2) == at(2026, 3, 17, 17, 30)
    # Before work (or at 08:30) on Monday 16 March: that day is the first; 2 days end Tuesday 17:30.
    assert CAL.add_working_days(at(2026, 3, 16, 7), 2) == at(2026, 3, 17, 17, 30)
    assert CAL.add_working_days(at(2026, 3, 16, 8, 30), 2) == at(2026, 3, 17, 17, 30)
    # At lunch the clock starts at 14:00: 14:00 two working days later.
    assert CAL.add_working_days(at(2026, 3, 16, 12, 30), 2) == at(2026, 3, 18, 14)
    # In working time: the same clock time; 17:30 is still in it.
    assert CAL.add_working_days(at(2026, 3, 16, 15, 45), 1) == at(2026, 3, 17, 15, 45)
    assert CAL.add_working_days(at(2026, 3, 16, 17, 30), 1) == at(2026, 3, 17, 17, 30)


def test_twenty_working_days_is_day_arithmetic() -> None:
    starts = [at(2026, 1, 1) + timedelta(minutes=37 * i) for i in range(2000)]
    t0 = clock.perf_counter()
    for s in starts:
        CAL.add_working_days(s, 20)
        CAL.add_working_hours(s, 20 * 7)
    assert clock.perf_counter() - t0 < 1.0  # about 10 µs a call; a loop over minutes would take minutes


# ---- properties over many random starts ----------------------------------------------------------------


def _random_starts(n: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    base = at(2025, 12, 1)
    # Minute resolution over 14 months around 2026 (holidays, 调休, year ends), plus exact period edges.
    edges = [time(8, 30), time(12), time(14), time(17, 30)]
    out = [base + timedelta(minutes=rng.randrange(0, 60 * 24 * 425)) for _ in range(n)]
    out += [datetime.combine(base.date() + timedelta(days=rng.randrange(425)), rng.choice(edges), CITY_TZ)
            for _ in range(n // 4)]
    return out


def _naive_add(cal: WorkingCalendar, start: datetime, hours: float) -> datetime:
    """Reference: walk the periods day by day."""
    left = timedelta(hours=hours)
    day = start.date()
    while True:
        if cal.is_working_day(day):
            for p in cal.working_periods:
                a = max(datetime.combine(day, p.start, CITY_TZ), start)
                b = datetime.combine(day, p.end, CITY_TZ)
                if b > a:
                    if b - a >= left:
                        return a + left
                    left -= b - a
        day += timedelta(days=1)


def test_add_working_hours_matches_a_day_by_day_walk() -> None:
    rng = random.Random(7)
    for s in _random_starts(500, 1):
        h = rng.choice([0.5, 1, 2, 3.5, 4, 5, 7, 8, 24, 48, 105])
        assert CAL.add_working_hours(s, h) == _naive_add(CAL, s, h), (s, h)


def test_hours_are_inverse_and_monotonic() -> None:
    rng = random.Random(11)
    starts = sorted(_random_starts(1500, 2))
    for h in (0.25, 2, 4, 7, 24, 140):
        dues = [CAL.add_working_hours(s, h) for s in starts]
        assert all(a <= b for a, b in zip(dues, dues[1:], strict=False)), h  # later start, later deadline
        for s, due in zip(starts, dues, strict=True):
            assert due >= s
            assert in_working_time(CAL, due)
            assert CAL.working_hours_between(s, due) == pytest.approx(h, abs=1e-9)
            assert CAL.add_working_hours(s, CAL.working_hours_between(s, due)) == due
    for s in starts[:300]:
        hs = sorted(rng.uniform(0, 300) for _ in range(5))
        dues = [CAL.add_working_hours(s, h) for h in hs]
        assert dues == sorted(dues)  # more hours, later deadline
        # Adding in two parts is adding at once.
        two_parts = CAL.add_working_hours(CAL.add_working_hours(s, hs[0]), hs[1] - hs[0])
        assert abs(two_parts - CAL.add_working_hours(s, hs[1])) <= timedelta(microseconds=2)  # rounding to µs


def test_between_is_additive_and_a_deadline_inverts_it() -> None:
    rng = random.Random(5)
    starts = _random_starts(800, 3)
    for a in starts:
        b, c = sorted(rng.sample(starts, 2))
        assert CAL.working_hours_between(a, c) == pytest.approx(
            CAL.working_hours_between(a, b) + CAL.working_hours_between(b, c), abs=1e-9)
        if a <= b:
            due = CAL.add_working_hours(a, CAL.working_hours_between(a, b))
            # The deadline is b itself, or the end of the working time just before b.
            assert due <= b and CAL.working_hours_between(due, b) == 0


def test_working_days_are_whole_working_days() -> None:
    for s in _random_starts(1000, 4):
        for n in (1, 5, 15, 20):
            due = CAL.add_working_days(s, n)
            assert in_working_time(CAL, due), (s, n)
            assert CAL.working_hours_between(s, due) == pytest.approx(n * CAL.hours_per_day, abs=1e-9), (s, n)
            if in_working_time(CAL, s) and s.time() != time(8, 30):
                assert due.time() == s.time()
