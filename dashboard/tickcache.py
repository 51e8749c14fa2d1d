"""Shared ticks: what a live page renders for a view is computed once per tick window, whatever the screens.

A wall of dozens of screens shows a handful of views (theme, county, language); each screen ticks on its own,
but within one tick window they all want the same panels. The first request of a window renders them; the others
(in this worker, or with --cache redis://… in any worker on any server) take the rendered result. While a window's
rendering is under way, the screens that ask meanwhile get the previous window's (one tick old, as they would have
had a moment ago) instead of queueing behind it; only a view seen for the first time makes them wait.

Values are JSON-able (Dash components already turned into their JSON form), so the in-process and the Redis
cache hold the same thing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

Compute = Callable[[], Any]


@dataclass(frozen=True)
class Tagged:
    """A value with the window it was rendered for, when that may be an earlier one (Redis's previous)."""

    window: int
    value: Any


@dataclass
class CacheStats:
    """How often a rendered tick was shared, for /metrics and the load benchmark."""

    hits: int = 0  # this window's rendering, taken
    stale: int = 0  # the previous window's, taken while this one was being rendered
    misses: int = 0  # rendered here
    waits: int = 0  # waited for another's rendering (a view nobody had rendered before)


class TickCache(Protocol):
    """Rendered ticks by view and tick window."""

    stats: CacheStats

    def get(self, key: str, window: int, compute: Compute) -> Any:
        """The view's rendering for this window (or, while it is being rendered, the previous window's);
        compute() renders it when nobody has (shared with every other request)."""


class LocalTickCache:
    """The in-process cache: one worker's screens share their ticks (the default)."""

    MAX_KEYS = 512  # views alive at once; the least recently rendered go first

    def __init__(self) -> None:
        self.stats = CacheStats()
        self._values: dict[str, tuple[int, Any]] = {}  # key → (window, value)
        self._computing: dict[str, tuple[int, threading.Event]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, window: int, compute: Compute) -> Any:
        """See TickCache."""
        while True:
            with self._lock:
                have = self._values.get(key)
                if have is not None and have[0] >= window:
                    self.stats.hits += 1
                    return have[1]
                busy = self._computing.get(key)
                if busy is None or busy[0] < window:
                    event = threading.Event()
                    self._computing[key] = (window, event)
                    break
                if have is not None and have[0] == window - 1:
                    self.stats.stale += 1
                    return have[1]
                self.stats.waits += 1
            busy[1].wait(30)  # the first rendering of this view: wait for it rather than render it twice
        try:
            value = compute()
            got = value.window if isinstance(value, Tagged) else window
            value = value.value if isinstance(value, Tagged) else value
            with self._lock:
                self.stats.misses += 1
                old = self._values.get(key)
                if old is None or old[0] <= got:
                    self._values[key] = (got, value)
                self._evict()
            return value
        finally:
            with self._lock:
                if self._computing.get(key, (None, None))[1] is event:
                    del self._computing[key]
            event.set()

    def _evict(self) -> None:
        while len(self._values) > self.MAX_KEYS:
            del self._values[min(self._values, key=lambda k: self._values[k][0])]


class RedisTickCache:
    """A Redis cache (--cache redis://host:port/db): every worker on every server shares its ticks."""

    PREFIX = "zq:tick:"

    def __init__(self, url: str, wait_s: float = 5.0, keep_s: float = 60.0) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.stats = CacheStats()
        self.wait_s = wait_s
        self.keep_s = keep_s  # a view nobody looks at any more leaves Redis after this
        self._local = LocalTickCache()  # this worker's requests share one look at Redis per window

    def get(self, key: str, window: int, compute: Compute) -> Any:
        """See TickCache; when Redis is unreachable the worker renders for itself (slower, never wrong)."""
        return self._local.get(key, window, lambda: self._shared(key, window, compute))

    def _shared(self, key: str, window: int, compute: Compute) -> Tagged | Any:
        k = self.PREFIX + key
        try:
            deadline = time.monotonic() + self.wait_s
            while True:
                raw = self.client.get(k)
                have = orjson.loads(raw) if raw is not None else None
                if have is not None and have["w"] >= window:
                    self.stats.hits += 1
                    return Tagged(have["w"], have["v"])
                # One worker renders a view's window; the others take the previous window meanwhile.
                if self.client.set(f"{k}:{window}", b"1", nx=True, px=int(self.wait_s * 1000)):
                    break
                if have is not None and have["w"] == window - 1:
                    self.stats.stale += 1
                    return Tagged(have["w"], have["v"])
                if time.monotonic() > deadline:
                    break  # the renderer died: render here
                self.stats.waits += 1
                time.sleep(0.01)
        except Exception as e:  # noqa: BLE001 — redis.ConnectionError and kin: render without sharing
            log.warning("tick cache %s unreachable (%s); rendering locally", k, str(e).splitlines()[0][:120])
            self.stats.misses += 1
            return compute()
        value = compute()
        self.stats.misses += 1
        try:
            self.client.set(k, orjson.dumps({"w": window, "v": value}), px=int(self.keep_s * 1000))
        except Exception as e:  # noqa: BLE001
            log.warning("tick cache: could not store %s (%s)", k, str(e).splitlines()[0][:120])
        return value


class NoTickCache:
    """No sharing (--cache off): every screen renders its own tick; the baseline the load benchmark compares."""

    def __init__(self) -> None:
        self.stats = CacheStats()

    def get(self, key: str, window: int, compute: Compute) -> Any:
        """Always compute()."""
        self.stats.misses += 1
        return compute()


def make_cache(url: str | None) -> TickCache:
    """The cache the settings name: Redis for a redis:// URL, none for `off`, else in-process."""
    if url == "off":
        return NoTickCache()
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisTickCache(url)
    if url:
        raise ValueError(f"--cache takes a redis:// URL or off, got {url!r}")
    return LocalTickCache()
