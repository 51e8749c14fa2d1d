"""The one clock: started at another moment it runs at real speed, and processes that share its variables share
its timeline; naive or malformed starts are refused with a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from pydantic_settings import CliApp

import clock
from clock import Clock, FakeClock
from settings import CITY_TZ, Settings, clock_of

CST = timezone(timedelta(hours=8))
SUMMER = datetime(2026, 7, 15, 14, 0, tzinfo=CST)


def test_a_clock_started_elsewhere_runs_at_real_speed() -> None:
    c = Clock(SUMMER, anchor=time.time())
    first = c.now()
    assert abs((first - SUMMER).total_seconds()) < 1
    time.sleep(0.2)  # the time the clock must be seen to run
    assert 0.15 < (c.now() - first).total_seconds() < 1.5  # it runs, at the machine's pace
    assert c.now(CST).utcoffset() == timedelta(hours=8) and c.now().tzinfo is UTC


def test_the_anchor_says_when_the_clock_read_its_start() -> None:
    anchored = Clock(SUMMER, anchor=time.time() - 3600)  # it read 14:00 an hour ago
    assert abs((anchored.now() - (SUMMER + timedelta(hours=1))).total_seconds()) < 1
    # Two clocks built at different moments of one process from the same start agree: both anchor at its start.
    a = Clock(SUMMER)
    time.sleep(0.05)  # the second clock is built at a later moment
    b = Clock(SUMMER)
    assert a.offset_s == b.offset_s and a.anchor == clock.PROCESS_STARTED


def test_the_machines_time_by_default() -> None:
    c = Clock()
    assert abs(c.time() - time.time()) < 0.01 and c.environment() == {}


def test_a_child_process_shares_the_timeline_exactly() -> None:
    parent = Clock(datetime(2026, 12, 31, 23, 59, 30, tzinfo=CST), anchor=time.time() - 2.5)
    code = "import clock, time; c = clock.process_clock(); print(repr(c.time() - time.time()))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZQ_CLOCK")} | parent.environment()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          cwd=os.path.dirname(clock.__file__))
    assert abs(float(done.stdout) - parent.offset_s) < 1e-3  # the same offset from the machine: one timeline


def test_the_environment_is_read_and_bad_starts_are_refused() -> None:
    c = Clock.from_env({"ZQ_CLOCK_START": "2027-01-04T09:00+08:00", "ZQ_CLOCK_ANCHOR": "1000.5"})
    assert c.start == datetime(2027, 1, 4, 9, 0, tzinfo=CST) and c.anchor == 1000.5
    assert Clock.from_env({}).start is None and Clock.from_env({"ZQ_CLOCK_START": " "}).start is None
    with pytest.raises(ValueError, match="has no offset"):
        Clock.from_env({"ZQ_CLOCK_START": "2027-01-04T09:00"})
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        Clock.from_env({"ZQ_CLOCK_START": "next monday"})
    with pytest.raises(ValueError, match="offset"):
        Clock(datetime(2027, 1, 4, 9, 0))


def test_the_setting_and_the_flag_start_the_apps_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZQ_CLOCK_START", raising=False)
    monkeypatch.delenv("ZQ_CLOCK_ANCHOR", raising=False)
    s = CliApp.run(Settings, cli_args=["--clock-start", "2026-07-15T14:00:00+08:00"])
    assert s.clock_start == SUMMER
    since_start = time.time() - clock.PROCESS_STARTED  # no anchor given: it read 14:00 when this process started
    assert abs((clock_of(s).now() - SUMMER).total_seconds() - since_start) < 1
    monkeypatch.setenv("ZQ_CLOCK_START", "2027-01-04T09:00+08:00")
    monkeypatch.setenv("ZQ_CLOCK_ANCHOR", repr(time.time()))
    assert abs((clock_of(Settings()).now(CITY_TZ) - datetime(2027, 1, 4, 9, 0, tzinfo=CST)).total_seconds()) < 1
    with pytest.raises(ValidationError, match="timezone"):
        Settings(clock_start="2027-01-04T09:00")
    assert clock_of(Settings(clock_start=None)).start is None


def test_a_fake_clock_stands_still_until_moved() -> None:
    c = FakeClock(SUMMER)
    assert c.now(CST) == SUMMER and c.now(CST) == SUMMER
    assert c.advance(minutes=5) == (SUMMER + timedelta(minutes=5)).astimezone(UTC)
    c.set(SUMMER - timedelta(days=1))
    assert c.now(CST) == SUMMER - timedelta(days=1)
    child = Clock.from_env(c.environment())
    assert abs((child.now() - c.now()).total_seconds()) < 1


def test_the_process_clock_is_the_one_the_entry_point_installed() -> None:
    before = clock.process_clock()
    try:
        mine = clock.use(FakeClock(SUMMER))
        assert clock.process_clock() is mine and clock.process_clock().now(CST) == SUMMER
    finally:
        clock.use(before)
