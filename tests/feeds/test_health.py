"""Feed health: stale if never heard of, fresh within three cadences, stale after; dead letters don't help."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from feeds import FeedRegistry, register_builtin_feeds
from feeds.health import STALE_CADENCES, FeedHealth, feed_health, stale_after
from feeds.ingest import Ingestor
from store import queries as q
from store.models import FeedStatus
from tests.feeds.samples import T0, fire, make_decoder, msg, road

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def feeds() -> FeedRegistry:
    registry = FeedRegistry()
    register_builtin_feeds(registry)
    return registry


def status(feed: str, received: datetime | None, messages: int = 1, dead: int = 0) -> FeedStatus:
    return FeedStatus(feed=feed, last_message_at=T0 if received else None, last_received_at=received,
                      messages=messages, dead_letters=dead)


def health_of(statuses: list[FeedStatus], feeds: FeedRegistry, now: datetime = NOW, floor: int = 0
              ) -> dict[str, FeedHealth]:
    return {h.feed: h for h in feed_health(statuses, feeds, now, floor)}


def test_every_registered_feed_is_reported_and_stale_when_never_heard_of(feeds: FeedRegistry) -> None:
    health = health_of([], feeds)
    assert list(health) == feeds.names()
    for h in health.values():
        assert h.stale and h.age_s is None and h.last_message_at is None
        assert (h.messages, h.dead_letters) == (0, 0)
    assert health["road_weather"].as_json()["stale"] is True
    assert health["road_weather"].as_json()["title_zh"] == "交通气象"


@pytest.mark.parametrize("feed, cadence", [("road_weather", 60), ("fire_risk", 300), ("grid_event", 120)])
def test_fresh_within_three_cadences_and_stale_after(feeds: FeedRegistry, feed: str, cadence: int) -> None:
    limit = STALE_CADENCES * cadence
    for age, stale in [(0, False), (cadence, False), (limit, False), (limit + 1, True), (10 * limit, True)]:
        h = health_of([status(feed, NOW - timedelta(seconds=age))], feeds)[feed]
        assert (h.age_s, h.stale) == (age, stale), f"age {age}s of a {cadence}s feed"


def test_the_configured_floor_keeps_fast_feeds_fresh_longer(feeds: FeedRegistry) -> None:
    assert stale_after(60, 300) == 300 and stale_after(300, 300) == 900
    h = health_of([status("road_weather", NOW - timedelta(seconds=290))], feeds, floor=300)["road_weather"]
    assert not h.stale
    h = health_of([status("road_weather", NOW - timedelta(seconds=301))], feeds, floor=300)["road_weather"]
    assert h.stale


def test_a_time_from_a_clock_ahead_of_ours_counts_as_just_now(feeds: FeedRegistry) -> None:
    h = health_of([status("kpi", NOW + timedelta(minutes=5))], feeds)["kpi"]
    assert h.age_s == 0 and not h.stale


def test_dead_letters_do_not_freshen_a_feed(engine: Engine, feeds: FeedRegistry) -> None:
    # road_weather: one good reading, then ten minutes later only garbage. fire_risk: only ever garbage.
    ing = Ingestor(engine, make_decoder(), batch_ms=10).start()
    try:
        ing.submit(*msg("road_weather", road()), received_at=NOW - timedelta(minutes=10))
        assert ing.drain(10)
        for i in range(3):
            ing.submit(msg("road_weather", road())[0], b"{oops", received_at=NOW - timedelta(seconds=i))
            ing.submit(*msg("fire_risk", fire(rh_pct=130)), received_at=NOW - timedelta(seconds=i))
        assert ing.drain(10)
    finally:
        ing.stop()
    with Session(engine) as s:
        health = health_of(q.feed_statuses(s), feeds)
    rw, fr = health["road_weather"], health["fire_risk"]
    assert (rw.messages, rw.dead_letters, rw.last_message_at) == (1, 3, T0)
    assert rw.last_received_at == NOW - timedelta(minutes=10)
    assert rw.age_s == 600 and rw.stale  # 3 × 60 s long past, however much garbage arrived since
    assert (fr.messages, fr.dead_letters, fr.last_message_at, fr.age_s, fr.stale) == (0, 3, None, None, True)

    # One good reading brings it back.
    ing = Ingestor(engine, make_decoder(), batch_ms=10).start()
    try:
        ing.submit(*msg("road_weather", road()), received_at=NOW - timedelta(seconds=30))
        assert ing.drain(10)
    finally:
        ing.stop()
    with Session(engine) as s:
        rw = health_of(q.feed_statuses(s), feeds)["road_weather"]
    assert (rw.age_s, rw.stale, rw.messages, rw.dead_letters) == (30, False, 2, 3)
