"""Shared ticks: what a live page renders for a view is computed once per tick window, whatever the screens.

A wall of dozens of screens shows a handful of views (theme, county, language); each screen ticks on its own,
but within one tick window they all want the same panels. The first request of a window renders them; the others
(in this worker, or with --cache redis://… in any worker on any server) take the rendered result. A request that
finds another computing the same key waits for it rather than computing again, so a burst of screens costs one
rendering, not N.

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


@dataclass
class CacheStats:
    """How often a rendered tick was shared, for /metrics and the load benchmark."""

    hits: int = 0
    misses: int = 0
    waits: int = 0


class TickCache(Protocol):
    """Rendered ticks by key, each kept for a few seconds."""

    stats: CacheStats

    def get_or_compute(self, key: str, ttl_s: float, compute: Compute) -> Any:
        """The value of key if some request computed it within ttl_s, else compute() (shared with the others)."""


class LocalTickCache:
    """The in-process cache: one worker's screens share their ticks (the default)."""

    MAX_KEYS = 512  # views × windows alive at once; expired keys go first, then the oldest

    def __init__(self) -> None:
        self.stats = CacheStats()
        self._values: dict[str, tuple[float, Any]] = {}
        self._computing: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: str, ttl_s: float, compute: Compute) -> Any:
        """See TickCache."""
        while True:
            with self._lock:
                now = time.monotonic()
                hit = self._values.get(key)
                if hit is not None and hit[0] > now:
                    self.stats.hits += 1
                    return hit[1]
                busy = self._computing.get(key)
                if busy is None:
                    busy = self._computing[key] = threading.Event()
                    break
                self.stats.waits += 1
            busy.wait(30)  # another request renders this very key: take its result
        try:
            value = compute()
            with self._lock:
                self.stats.misses += 1
                self._values[key] = (time.monotonic() + ttl_s, value)
                self._evict()
            return value
        finally:
            with self._lock:
                self._computing.pop(key, None)
            busy.set()

    def _evict(self) -> None:
        if len(self._values) <= self.MAX_KEYS:
            return
        now = time.monotonic()
        for k in [k for k, (exp, _) in self._values.items() if exp <= now]:
            del self._values[k]
        while len(self._values) > self.MAX_KEYS:
            del self._values[min(self._values, key=lambda k: self._values[k][0])]


class RedisTickCache:
    """A Redis cache (--cache redis://host:port/db): every worker on every server shares its ticks."""

    PREFIX = "zq:tick:"

    def __init__(self, url: str, wait_s: float = 5.0) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.stats = CacheStats()
        self.wait_s = wait_s
        self._local = LocalTickCache()  # requests of this worker wait on each other here, not on Redis

    def get_or_compute(self, key: str, ttl_s: float, compute: Compute) -> Any:
        """See TickCache; when Redis is unreachable the worker renders for itself (slower, never wrong)."""
        return self._local.get_or_compute(key, min(ttl_s, 1.0), lambda: self._shared(key, ttl_s, compute))

    def _shared(self, key: str, ttl_s: float, compute: Compute) -> Any:
        k = self.PREFIX + key
        try:
            raw = self.client.get(k)
            if raw is not None:
                self.stats.hits += 1
                return orjson.loads(raw)
            # One worker renders a key; the others poll for its result a little while.
            if not self.client.set(k + ":lock", b"1", nx=True, px=int(self.wait_s * 1000)):
                self.stats.waits += 1
                deadline = time.monotonic() + self.wait_s
                while time.monotonic() < deadline:
                    time.sleep(0.01)
                    raw = self.client.get(k)
                    if raw is not None:
                        self.stats.hits += 1
                        return orjson.loads(raw)
        except Exception as e:  # noqa: BLE001 — redis.ConnectionError and kin: render without sharing
            log.warning("tick cache %s unreachable (%s); rendering locally", k, str(e).splitlines()[0][:120])
            self.stats.misses += 1
            return compute()
        value = compute()
        self.stats.misses += 1
        try:
            self.client.set(k, orjson.dumps(value), px=int(ttl_s * 1000))
            self.client.delete(k + ":lock")
        except Exception as e:  # noqa: BLE001
            log.warning("tick cache: could not store %s (%s)", k, str(e).splitlines()[0][:120])
        return value


def make_cache(url: str | None) -> TickCache:
    """The cache the settings name: Redis for a redis:// URL, else in-process."""
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisTickCache(url)
    if url:
        raise ValueError(f"--cache takes a redis:// URL, got {url!r}")
    return LocalTickCache()
