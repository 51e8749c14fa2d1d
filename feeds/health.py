"""Feed and device health: stale feeds and offline devices against each cadence; message and error rates."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.registry import Feed, FeedRegistry
from store.models import FeedStatus
from store.status import DeviceCount, SilentDevice, StreamCount

# A feed is stale when nothing arrived for this many cadences (or the configured floor, if longer).
STALE_CADENCES = 3


@dataclass(frozen=True)
class FeedHealth:
    """What /healthz and the panels say about one feed."""

    feed: str
    title_zh: str
    title_en: str
    cadence_s: int
    last_message_at: datetime | None
    last_received_at: datetime | None
    age_s: float | None
    stale: bool
    messages: int
    dead_letters: int

    def as_json(self) -> dict[str, object]:
        """JSON-ready dict with ISO 8601 times."""
        return {"feed": self.feed, "title_zh": self.title_zh, "title_en": self.title_en,
                "cadence_s": self.cadence_s, "last_message_at": _iso(self.last_message_at),
                "last_received_at": _iso(self.last_received_at),
                "age_s": None if self.age_s is None else round(self.age_s, 1), "stale": self.stale,
                "messages": self.messages, "dead_letters": self.dead_letters}


def _iso(t: datetime | None) -> str | None:
    """A time as ISO 8601, or None."""
    return t.isoformat() if t else None


def stale_after(cadence_s: int, floor_s: int) -> int:
    """Seconds of silence after which a feed of this cadence is stale."""
    return max(STALE_CADENCES * cadence_s, floor_s)


def feed_health(statuses: Iterable[FeedStatus], feeds: FeedRegistry, now: datetime, floor_s: int) -> list[FeedHealth]:
    """Health of every registered feed; a feed never heard from is stale."""
    by_feed = {s.feed: s for s in statuses}
    out = []
    for f in feeds:
        s = by_feed.get(f.name)
        received = s.last_received_at if s else None
        # Age counts from the last good message's arrival; dead letters do not keep a feed fresh.
        last_good = s.last_message_at if s else None
        age = (now - min(received, now)).total_seconds() if received and last_good else None
        out.append(FeedHealth(
            feed=f.name, title_zh=f.title_zh, title_en=f.title_en, cadence_s=f.cadence_s,
            last_message_at=last_good, last_received_at=received, age_s=age,
            stale=age is None or age > stale_after(f.cadence_s, floor_s),
            messages=s.messages if s else 0, dead_letters=s.dead_letters if s else 0,
        ))
    return out


# --- Devices ---------------------------------------------------------------------------------------

# Kinds whose devices also report a flag metric saying whether their stream is up. A video point can
# keep reporting (online, by last_seen) while its stream is down: two notions, kept apart.
STREAM_FLAGS: dict[str, str] = {"video_point": "online"}


def offline_after(cadence_s: int, floor_s: int) -> int:
    """Seconds of silence after which a device of a feed of this cadence is offline (the feed rule)."""
    return stale_after(cadence_s, floor_s)


def is_device_feed(feed: Feed) -> bool:
    """Whether a feed's messages come from devices (keyed by device id, rows in `devices` of its kind)."""
    return feed.key_field == "device_id"


def silence_s(last_seen: datetime, now: datetime) -> float:
    """Seconds since a device last reported; a clock ahead of ours counts as just now."""
    return max(0.0, (now - last_seen).total_seconds())


def device_offline(last_seen: datetime, cadence_s: int, now: datetime, floor_s: int) -> bool:
    """A device is offline when silent for longer than 3 × its feed's cadence (or the floor)."""
    return silence_s(last_seen, now) > offline_after(cadence_s, floor_s)


def device_cutoffs(feeds: FeedRegistry, now: datetime, floor_s: int) -> dict[str, datetime]:
    """Per device kind (= feed name): a device whose last_seen is before this time is offline."""
    return {f.name: now - timedelta(seconds=offline_after(f.cadence_s, floor_s))
            for f in feeds if is_device_feed(f)}


@dataclass(frozen=True)
class FeedDevices:
    """Devices of one feed: totals, per county, and (for kinds with a stream flag) streams up and down."""

    feed: str
    total: int
    offline: int
    by_county: tuple[DeviceCount, ...]
    streams_up: int | None = None
    streams_down: int | None = None


def feed_devices(counts: Iterable[DeviceCount], streams: Iterable[StreamCount], feeds: FeedRegistry
                 ) -> dict[str, FeedDevices]:
    """Device totals of every device feed (zero when it has none yet), by feed name."""
    per_feed: dict[str, list[DeviceCount]] = {f.name: [] for f in feeds if is_device_feed(f)}
    for c in counts:
        if c.kind in per_feed:
            per_feed[c.kind].append(c)
    up: dict[str, int] = {}
    down: dict[str, int] = {}
    for s in streams:
        up[s.kind] = up.get(s.kind, 0) + s.up
        down[s.kind] = down.get(s.kind, 0) + s.down
    out = {}
    for name, rows in per_feed.items():
        flagged = name in STREAM_FLAGS
        out[name] = FeedDevices(
            feed=name, total=sum(r.total for r in rows), offline=sum(r.offline for r in rows),
            by_county=tuple(rows), streams_up=up.get(name, 0) if flagged else None,
            streams_down=down.get(name, 0) if flagged else None)
    return out


@dataclass(frozen=True)
class OfflineDevice:
    """A device past its feed's cutoff and how long it has been silent."""

    id: str
    feed: str
    name: str | None
    county_adcode: str | None
    last_seen: datetime
    silent_s: float

    def as_json(self) -> dict[str, object]:
        """JSON-ready dict with an ISO 8601 time."""
        return {"id": self.id, "feed": self.feed, "name": self.name, "county_adcode": self.county_adcode,
                "last_seen": self.last_seen.isoformat(), "silent_s": round(self.silent_s, 1)}


def offline_list(rows: Iterable[SilentDevice], now: datetime) -> list[OfflineDevice]:
    """Silent devices with their silence in seconds, in the order given (longest silence first)."""
    return [OfflineDevice(r.id, r.kind, r.name, r.county_adcode, r.last_seen, silence_s(r.last_seen, now))
            for r in rows]


# --- Rates -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rate:
    """What one feed's counters gained over a span of seconds."""

    messages: int
    dead_letters: int
    span_s: float

    @property
    def per_min(self) -> float:
        """Good messages per minute."""
        return self.messages * 60 / self.span_s

    @property
    def error_rate(self) -> float | None:
        """Dead letters / (messages + dead letters); None when nothing arrived in the span."""
        total = self.messages + self.dead_letters
        return self.dead_letters / total if total else None


@dataclass(frozen=True)
class _Sample:
    t: float
    messages: int
    dead_letters: int


class RateWindow:
    """Rates of one feed over the recent window, from its cumulative counters sampled in this process.

    Samples closer than `min_interval_s` are skipped, so reading often costs nothing and the ring
    stays small. One sample at or before the window's start is kept as the baseline, so a window read
    often spans the whole window; a baseline older than two windows is dropped (no stale averages).
    """

    def __init__(self, window_s: float = 300.0, min_interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if window_s <= 0 or min_interval_s < 0:
            raise ValueError("window_s must be positive and min_interval_s not negative")
        self.window_s = window_s
        self.min_interval_s = min_interval_s
        self.clock = clock
        bound = math.ceil(2 * window_s / min_interval_s) + 2 if min_interval_s else None
        self._samples: deque[_Sample] = deque(maxlen=bound)

    def sample(self, messages: int, dead_letters: int) -> bool:
        """Record the counters now, unless the last sample is too recent; True if recorded."""
        now = self.clock()
        last = self._samples[-1] if self._samples else None
        if last is not None and (messages < last.messages or dead_letters < last.dead_letters):
            self._samples.clear()  # the counters went back: another store, or a reset; start over
        elif last is not None and now - last.t < self.min_interval_s:
            self._prune(now)
            return False
        self._samples.append(_Sample(now, messages, dead_letters))
        self._prune(now)
        return True

    def rate(self) -> Rate | None:
        """What the counters gained between the oldest and newest kept samples; None before two."""
        self._prune(self.clock())
        if len(self._samples) < 2:
            return None
        first, last = self._samples[0], self._samples[-1]
        if last.t <= first.t:
            return None
        return Rate(last.messages - first.messages, last.dead_letters - first.dead_letters, last.t - first.t)

    def _prune(self, now: float) -> None:
        s = self._samples
        start = now - self.window_s
        while len(s) >= 2 and s[1].t <= start:
            s.popleft()
        if s and s[0].t < now - 2 * self.window_s:
            s.popleft()


class FeedRates:
    """One RateWindow per feed, sampled together; safe to call from the web server's threads."""

    def __init__(self, window_s: float = 300.0, min_interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.min_interval_s = min_interval_s
        self.clock = clock  # replaceable (tests); the windows read it through _now
        self._windows: dict[str, RateWindow] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock()

    def observe(self, counters: Mapping[str, tuple[int, int]]) -> dict[str, Rate | None]:
        """Sample each feed's (messages, dead letters) and return each feed's rate."""
        with self._lock:
            out = {}
            for feed, (messages, dead) in counters.items():
                w = self._windows.get(feed)
                if w is None:
                    w = self._windows[feed] = RateWindow(self.window_s, self.min_interval_s, self._now)
                w.sample(messages, dead)
                out[feed] = w.rate()
            return out
