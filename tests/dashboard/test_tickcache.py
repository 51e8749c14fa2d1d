"""Shared ticks: screens of one view in one tick window cost one rendering, in a worker and, through a real Redis,
across workers; while a window renders the others get the previous window's at once; a Redis that goes away
costs sharing, never an error."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from clock import FakeClock
from dashboard.pages.common import View
from dashboard.pages.wall import shared_frame
from dashboard.tickcache import LocalTickCache, RedisTickCache, make_cache
from tests.dashboard.apps import app_with_themes
from tests.feeds.samples import T0
from tests.servers import Redis, redis_server
from tests.waiting import wait_until
from tests.conftest import migrated_sqlite
from topics.themes import KPI_STRIP


def burst(cache: Any, key: str, n: int, compute: Any, window: int = 1) -> list[Any]:
    """n screens asking for one view in one window at the same moment."""
    out: list[Any] = [None] * n
    start = threading.Barrier(n)

    def screen(i: int) -> None:
        start.wait()
        out[i] = cache.get(key, window, compute)

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
    assert cache.get("wall:v2", 1, compute)["n"] == 2  # another view is its own key
    assert cache.get("wall:v1", 1, compute)["n"] == 1 and cache.get("wall:v1", 2, compute)["n"] == 3  # next window


def test_while_a_window_renders_the_others_get_the_previous_one_at_once() -> None:
    cache = LocalTickCache()
    calls, compute = slow_counter()
    cache.get("v", 1, compute)
    renderer = threading.Thread(target=lambda: cache.get("v", 2, compute))
    renderer.start()
    wait_until(lambda: len(calls) == 2, "window 2 being rendered", 5, interval=0.002)
    started = time.monotonic()
    assert cache.get("v", 2, compute)["n"] == 1  # window 1's, without waiting for window 2's
    assert time.monotonic() - started < 0.05 and cache.stats.stale == 1
    renderer.join()
    assert cache.get("v", 2, compute)["n"] == 2 and len(calls) == 2
    # Nothing older than one window is shown for current: a view two windows behind waits for its rendering.
    renderer = threading.Thread(target=lambda: cache.get("v", 4, compute))
    renderer.start()
    wait_until(lambda: len(calls) == 3, "window 4 being rendered", 5, interval=0.002)
    assert cache.get("v", 4, compute)["n"] == 3 and cache.stats.waits == 1
    renderer.join()


def test_workers_share_ticks_through_redis(redis: Redis) -> None:
    workers = [RedisTickCache(redis.url) for _ in range(3)]  # three web workers, each with its own connection
    calls, compute = slow_counter()
    key = f"wall:shared:{time.time_ns()}"
    results: list[Any] = []
    threads = [threading.Thread(target=lambda w=w: results.extend(burst(w, key, 5, compute))) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1, calls  # 15 screens on three workers: one rendering
    assert all(r == results[0] for r in results) and len(results) == 15
    # The next window: one worker renders it, another takes the previous window's meanwhile, then the new one.
    renderer = threading.Thread(target=lambda: workers[0].get(key, 2, compute))
    renderer.start()
    wait_until(lambda: len(calls) == 2, "window 2 being rendered by worker 0", 5, interval=0.002)
    assert workers[1].get(key, 2, compute)["n"] == 1 and workers[1].stats.stale == 1
    renderer.join()
    assert workers[2].get(key, 2, compute)["n"] == 2 and len(calls) == 2
    assert isinstance(make_cache(redis.url), RedisTickCache) and isinstance(make_cache(None), LocalTickCache)


def test_a_redis_gone_costs_sharing_not_the_wall() -> None:
    with redis_server() as server:
        cache = RedisTickCache(server.url, wait_s=0.5)
    calls, compute = slow_counter()
    assert cache.get("k", 1, compute)["n"] == 1  # the server has stopped: rendered locally
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


def test_screens_in_the_same_state_get_one_answer_and_only_if_they_may(tmp_path: Path) -> None:
    from bench.wall import tick_body, tick_key
    from dashboard.admin import sign_in  # noqa: F401 — the gate is registered with the app

    clock = FakeClock(T0)
    app = app_with_themes(tmp_path, clock)
    ctx = app.server.config["ZQ_CONTEXT"]
    th = ctx.theme("social")
    names = [p.id for p in th.placed() if p.type in ctx.registries.panels] + [KPI_STRIP]
    client = app.server.test_client()

    def tick(n: int, hashes: dict[str, str] | None = None) -> Any:
        r = client.post("/_dash-update-component", json=tick_body(tick_key(app), names, "?theme=social", hashes, n))
        assert r.status_code == 200
        return r.json

    first = tick(1)
    hashes = first["response"]["panel-hashes"]["data"]
    rendered = ctx.ticks.stats.misses + ctx.ticks.stats.hits
    up_to_date = [tick(n, hashes) for n in range(2, 12)]  # ten screens that show what the server has
    assert ctx.ticks.stats.misses + ctx.ticks.stats.hits == rendered + 1  # one ran the callback, nine were answered
    assert all(a == up_to_date[0] for a in up_to_date)
    assert set(up_to_date[0]["response"]) == {"panel-hashes", '{"page":"wall","type":"beat"}'}  # nothing to redraw
    assert tick(12) == first  # a screen just switched on is in the first one's state: everything, again
    clock.advance(ctx.settings.tick_seconds)
    tick(13, hashes)
    assert ctx.ticks.stats.misses + ctx.ticks.stats.hits == rendered + 2  # a new window: asked again


def test_a_kept_answer_goes_only_to_whoever_may_ask(tmp_path: Path) -> None:
    from bench.wall import tick_body, tick_key
    from dashboard import create_app
    from settings import Settings

    app = create_app(Settings(db=migrated_sqlite(tmp_path / 'zq.sqlite3'), require_sign_in=True), start_feeds=False)
    ctx = app.server.config["ZQ_CONTEXT"]
    names = [p.id for p in ctx.theme("social").placed()] + [KPI_STRIP]
    body = tick_body(tick_key(app), names, "?theme=social", None, 1)
    from dashboard.auth import hash_password
    from store import admin_queries as aq

    with Session(ctx.engine) as s, s.begin():
        aq.add_user(s, "screen", hash_password("screen-token-2021"), "wall", [], ctx.now())
    signed = app.server.test_client()
    assert signed.get("/?wall=screen&token=screen-token-2021").status_code == 302  # the token, for a session
    assert signed.post("/_dash-update-component", json=body).status_code == 200  # kept now
    stranger = app.server.test_client()
    assert stranger.post("/_dash-update-component", json=body).status_code == 401
