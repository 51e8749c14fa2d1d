"""The one clock of a process: the app, the simulator, the rules, the calendar and the case deadlines read it.

By default it is the machine's time. `ZQ_CLOCK_START` (`--clock-start`, ISO 8601 with an offset) starts it at
another moment and lets it run at real speed from there: a demo or a test run in July, on a Monday whose year has
no holiday notice, or half a minute before the year turns, without touching the machine's clock (Debian's
libfaketime also fakes socket time-outs, which breaks paho, the webhook client and the browser).

`ZQ_CLOCK_ANCHOR` is the Unix time at which the clock read that start (default: when this process started).
A process that starts others with the same two variables shares its timeline with them exactly: the test
harness sets both, so the app it starts, the messages it publishes and the times it asserts on agree.
"""

from __future__ import annotations

import os
import threading
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo

# When this process started, as near as Python lets us tell: a clock started at ZQ_CLOCK_START with no anchor
# reads that start at this moment, so every Clock built in one process from the same start agrees.
PROCESS_STARTED = _time.time()

START_VAR = "ZQ_CLOCK_START"
ANCHOR_VAR = "ZQ_CLOCK_ANCHOR"


def parse_start(text: str) -> datetime:
    """An ISO 8601 time with an offset (a naive time is refused: whose 09:00 would it be?)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{START_VAR}: not an ISO 8601 time: {text!r} (e.g. 2026-07-15T14:00+08:00)") from None
    if at.tzinfo is None:
        raise ValueError(f"{START_VAR}: {text!r} has no offset; write it with one, e.g. {text.strip()}+08:00")
    return at


class Clock:
    """Wall-clock time, started at another moment when asked, always running at real speed."""

    def __init__(self, start: datetime | None = None, anchor: float | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("a clock's start must carry an offset")
        self.start = start
        self.anchor = PROCESS_STARTED if anchor is None else anchor
        self.offset_s = 0.0 if start is None else start.timestamp() - self.anchor

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Clock:
        """The clock the environment asks for (ZQ_CLOCK_START, ZQ_CLOCK_ANCHOR), else the machine's."""
        env = os.environ if environ is None else environ
        text = env.get(START_VAR, "").strip()
        if not text:
            return cls()
        anchor = env.get(ANCHOR_VAR, "").strip()
        return cls(parse_start(text), float(anchor) if anchor else None)

    def time(self) -> float:
        """Unix time now, in seconds."""
        return _time.time() + self.offset_s

    def now(self, tz: tzinfo = UTC) -> datetime:
        """The time now, aware, in `tz` (UTC unless told)."""
        return datetime.fromtimestamp(self.time(), tz)

    def environment(self) -> dict[str, str]:
        """The variables a child process needs to share this clock's timeline (empty for the machine's)."""
        if self.start is None:
            return {}
        return {START_VAR: self.start.isoformat(), ANCHOR_VAR: repr(self.anchor)}

    def __repr__(self) -> str:
        if self.start is None:
            return "Clock(machine time)"
        return f"Clock(started at {self.start.isoformat()}, {self.offset_s:+.0f} s from the machine)"


class FakeClock(Clock):
    """A clock that stands still until told to move: what unit tests run on."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a fake clock's time must carry an offset")
        super().__init__()
        self._at = at.timestamp()
        self._lock = threading.Lock()

    def time(self) -> float:
        """The time it was set to."""
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        """Move to `at` (backwards too: a test may need that)."""
        with self._lock:
            self._at = at.timestamp()

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        """Move forward by seconds (or by timedelta's keywords) and return the new time."""
        with self._lock:
            self._at += seconds + timedelta(**delta).total_seconds()
            return datetime.fromtimestamp(self._at, UTC)

    def environment(self) -> dict[str, str]:
        """A child process's clock starting where this one stands."""
        at = datetime.fromtimestamp(self.time(), UTC)
        return {START_VAR: at.isoformat(), ANCHOR_VAR: repr(_time.time())}


_process: Clock | None = None
_process_lock = threading.Lock()


def process_clock() -> Clock:
    """This process's clock, from the environment on first use: what a part not handed a clock reads."""
    global _process
    with _process_lock:
        if _process is None:
            _process = Clock.from_env()
        return _process


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """The process's clock is `clock` inside the block, and what it was after it (a test's controlled world)."""
    global _process
    with _process_lock:
        before, _process = _process, clock
    try:
        yield clock
    finally:
        with _process_lock:
            _process = before


def use(clock: Clock) -> Clock:
    """Make `clock` the process's clock (the entry points do, after reading --clock-start); returns it."""
    global _process
    with _process_lock:
        _process = clock
    return clock
