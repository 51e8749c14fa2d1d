"""Shared ticks: screens of one view in one tick window cost one rendering, in a worker and, through a real Redis,
across workers; a Redis that goes away costs sharing, never an error."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from clock import FakeClock
from dashboard.pages.common import View
from dashboard.pages.wall import shared_frame
from dashboard.tickcache import LocalTickCache, RedisTickCache, make_cache
from tests.dashboard.apps import app_with_themes
from tests.feeds.samples import T0
from tests.servers import Redis, redis_server
from topics.themes import KPI_STRIP


def burst(cache: Any, key: str, n: int, compute: Any) -> list[Any]:
    """n screens asking for one key at the same moment."""
    out: list[Any] = [None] * n
    start = threading.Barrier(n)

    def screen(i: int) -> None:
        start.wait()
        out[i] = cache.get_or_compute(key, 10, compute)

    threads = [threading.Thread(target=screen, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def slow_counter() -> tuple[list[int], Any]:
    calls: list[int] = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        time.sleep(0.2)  # a rendering takes a while: the others arrive while it runs
        return {"panels": {"a": [1, 2, 3]}, "n": len(calls)}

    return calls, compute


def test_a_burst_of_screens_renders_once_in_a_worker() -> None:
    cache = LocalTickCache()
    calls, compute = slow_counter()
    got = burst(cache, "wall:v1", 20, compute)
    assert len(calls) == 1 and all(g == got[0] for g in got)
    assert cache.stats.misses == 1 and cache.stats.hits + cache.stats.waits >= 19
    assert cache.get_or_compute("wall:v2", 10, compute)["n"] == 2  # another view is its own key


def test_an_expired_tick_is_rendered_again() -> None:
    cache = LocalTickCache()
    calls, compute = slow_counter()
    cache.get_or_compute("k", 0.05, compute)
    time.sleep(0.1)
    cache.get_or_compute("k", 0.05, compute)
    assert len(calls) == 2


def test_workers_share_ticks_through_redis(redis: Redis) -> None:
    workers = [RedisTickCache(redis.url) for _ in range(3)]  # three web workers, each with its own connection
    calls, compute = slow_counter()
    results: list[Any] = []
    threads = [threading.Thread(target=lambda w=w: results.extend(burst(w, f"wall:shared:{time.time_ns()//10**9}",
                                                                       5, compute))) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1, calls  # 15 screens on three workers: one rendering
    assert all(r == results[0] for r in results) and len(results) == 15
    assert isinstance(make_cache(redis.url), RedisTickCache) and isinstance(make_cache(None), LocalTickCache)


def test_a_redis_gone_costs_sharing_not_the_wall() -> None:
    with redis_server() as server:
        cache = RedisTickCache(server.url, wait_s=0.5)
    calls, compute = slow_counter()
    assert cache.get_or_compute("k", 10, compute)["n"] == 1  # the server has stopped: rendered locally
    assert len(calls) == 1


def test_screens_of_one_view_share_the_walls_rendering(tmp_path: Path) -> None:
    app = app_with_themes(tmp_path, FakeClock(T0))
    ctx = app.server.config["ZQ_CONTEXT"]
    th = ctx.theme("social")
    view = View(theme="social", county=None, lang="zh", kiosk=False)
    first = shared_frame(ctx, th, view, False)
    again = [shared_frame(ctx, th, view, False) for _ in range(9)]
    assert ctx.ticks.stats.misses == 1 and ctx.ticks.stats.hits == 9
    assert all(f["digests"] == first["digests"] for f in again)
    assert set(first["panels"]) == {p.id for p in th.placed()} | {KPI_STRIP}
    shared_frame(ctx, th, View(theme="social", county=None, lang="en", kiosk=False), False)
    assert ctx.ticks.stats.misses == 2  # another language is another view
    ctx.clock.advance(ctx.settings.tick_seconds)
    shared_frame(ctx, th, view, False)
    assert ctx.ticks.stats.misses == 3  # the next tick window renders again
