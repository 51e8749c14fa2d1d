"""Feed and device health: staleness, the offline rule, the device queries on both stores, rate windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from feeds import FeedRegistry, register_builtin_feeds
from feeds.health import (
    STALE_CADENCES,
    STREAM_FLAGS,
    FeedHealth,
    FeedRates,
    Rate,
    RateWindow,
    device_cutoffs,
    device_offline,
    feed_devices,
    feed_health,
    offline_after,
    offline_list,
    silence_s,
    stale_after,
)
from feeds.ingest import Ingestor
from store import Batch, write_batch
from store import queries as q
from store import status as st
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

    # One good reading brings it back (a new one: the same reading again would be a redelivery, not counted).
    ing = Ingestor(engine, make_decoder(), batch_ms=10).start()
    try:
        ing.submit(*msg("road_weather", road(ts=T0 + timedelta(minutes=1))), received_at=NOW - timedelta(seconds=30))
        assert ing.drain(10)
    finally:
        ing.stop()
    with Session(engine) as s:
        rw = health_of(q.feed_statuses(s), feeds)["road_weather"]
    assert (rw.age_s, rw.stale, rw.messages, rw.dead_letters) == (30, False, 2, 3)


# --- Devices: the offline rule ---------------------------------------------------------------------

@pytest.mark.parametrize("cadence, floor, limit",
                         [(60, 0, 180), (300, 0, 900), (60, 300, 300), (300, 300, 900)])
def test_a_device_is_offline_only_after_three_cadences_or_the_floor(cadence: int, floor: int,
                                                                   limit: int) -> None:
    assert offline_after(cadence, floor) == limit == stale_after(cadence, floor)
    for silent, offline in [(0, False), (cadence, False), (limit - 1, False), (limit, False),
                            (limit + 0.001, True), (limit + 1, True), (86400, True)]:
        last_seen = NOW - timedelta(seconds=silent)
        assert device_offline(last_seen, cadence, NOW, floor) is offline, f"{silent}s silent, {cadence}s"


def test_a_device_clock_ahead_of_ours_counts_as_just_now() -> None:
    assert silence_s(NOW + timedelta(minutes=5), NOW) == 0
    assert not device_offline(NOW + timedelta(hours=1), 60, NOW, 0)


def test_cutoffs_cover_the_device_feeds_only(feeds: FeedRegistry) -> None:
    cutoffs = device_cutoffs(feeds, NOW, 300)
    assert cutoffs == {"video_point": NOW - timedelta(seconds=300),
                       "road_weather": NOW - timedelta(seconds=300),
                       "fire_risk": NOW - timedelta(seconds=900),
                       "air_quality": NOW - timedelta(seconds=3 * 3600),  # polled stations, hourly
                       "hydrology": NOW - timedelta(seconds=900)}
    assert STREAM_FLAGS == {"video_point": "online"}


def device(batch: Batch, kind: str, n: int, county: str, silent_s: float, online: bool | None = None) -> str:
    """Add a device of `kind` last seen `silent_s` before NOW (and its stream flag, for video points)."""
    dev_id = f"{kind[:2].upper()}{county}{n:04d}"
    seen = NOW - timedelta(seconds=silent_s)
    batch.add_device({"id": dev_id, "kind": kind, "name": f"{kind}-{n}", "county_adcode": county,
                      "declared_adcode": county, "lon": 112.5, "lat": 23.1, "first_seen": seen,
                      "last_seen": seen, "attrs": {}})
    if online is not None:
        batch.add_observations(dev_id, kind, seen, county, {"online": 1.0 if online else 0.0})
    return dev_id


def write(engine: Engine, batch: Batch) -> None:
    with Session(engine) as s, s.begin():
        write_batch(s, batch)


def test_device_queries_count_per_feed_and_county_and_list_the_longest_silent(engine: Engine,
                                                                              feeds: FeedRegistry) -> None:
    floor = 0  # limits: video_point and road_weather 180 s, fire_risk 900 s
    b = Batch()
    # video points in 端州: exactly at the limit (online), a hair past it (offline), fresh with the stream
    # down (reporting, but no picture), and long silent (offline; its last flag says up, which no
    # longer counts)
    device(b, "video_point", 1, "441202", 180, online=True)
    device(b, "video_point", 2, "441202", 180.001, online=True)
    device(b, "video_point", 3, "441202", 5, online=False)
    device(b, "video_point", 4, "441202", 7200, online=True)
    device(b, "video_point", 5, "441204", 30, online=True)
    # road weather in 高要: one fresh, one past its limit
    device(b, "road_weather", 1, "441204", 60)
    device(b, "road_weather", 2, "441204", 181)
    # fire risk in 广宁: 181 s is fine for a 300 s cadence, 901 s is not
    device(b, "fire_risk", 1, "441223", 181)
    device(b, "fire_risk", 2, "441223", 901)
    # a kind no feed owns is not counted
    device(b, "camera_x", 1, "441202", 99999)
    write(engine, b)

    cutoffs = device_cutoffs(feeds, NOW, floor)
    with Session(engine) as s:
        counts = st.device_counts(s, cutoffs)
        silent = st.offline_devices(s, cutoffs, limit=20)
        first_two = st.offline_devices(s, cutoffs, limit=2)
        streams = st.stream_counts(s, STREAM_FLAGS, cutoffs)
        assert st.device_counts(s, {}) == [] and st.offline_devices(s, {}) == []

    assert [(c.kind, c.county_adcode, c.total, c.offline, c.online) for c in counts] == [
        ("fire_risk", "441223", 2, 1, 1),
        ("road_weather", "441204", 2, 1, 1),
        ("video_point", "441202", 4, 2, 2),
        ("video_point", "441204", 1, 0, 1),
    ]
    assert [d.id for d in silent] == ["VI4412020004", "FI4412230002", "RO4412040002", "VI4412020002"]
    assert [d.id for d in first_two] == ["VI4412020004", "FI4412230002"]
    listed = offline_list(silent, NOW)
    assert [(d.feed, d.county_adcode, round(d.silent_s, 3)) for d in listed] == [
        ("video_point", "441202", 7200), ("fire_risk", "441223", 901), ("road_weather", "441204", 181),
        ("video_point", "441202", 180.001)]
    assert listed[0].as_json() == {"id": "VI4412020004", "feed": "video_point", "name": "video_point-4",
                                   "county_adcode": "441202", "last_seen": "2026-11-29T23:00:00+00:00",
                                   "silent_s": 7200.0}
    # The store and the pure rule agree device by device, boundaries included.
    for d in silent:
        feed = feeds.get(d.kind)
        assert feed is not None and device_offline(d.last_seen, feed.cadence_s, NOW, floor)

    # Streams: of the reporting video points, 2 up (VI…1 at the limit, VI…5) and 1 down (VI…3).
    assert [(x.kind, x.county_adcode, x.up, x.down) for x in streams] == [
        ("video_point", "441202", 1, 1), ("video_point", "441204", 1, 0)]

    per_feed = feed_devices(counts, streams, feeds)
    assert set(per_feed) == {"video_point", "road_weather", "fire_risk", "air_quality", "hydrology"}
    vp = per_feed["video_point"]
    assert (vp.total, vp.offline, vp.streams_up, vp.streams_down) == (5, 2, 2, 1)
    rw = per_feed["road_weather"]
    assert (rw.total, rw.offline, rw.streams_up, rw.streams_down) == (2, 1, None, None)


def test_device_feeds_without_devices_report_zero(feeds: FeedRegistry) -> None:
    per_feed = feed_devices([], [], feeds)
    assert {f: (d.total, d.offline, d.by_county) for f, d in per_feed.items()} == {
        "video_point": (0, 0, ()), "road_weather": (0, 0, ()), "fire_risk": (0, 0, ()),
        "air_quality": (0, 0, ()), "hydrology": (0, 0, ())}
    assert per_feed["video_point"].streams_down == 0


def test_a_late_message_does_not_bring_an_offline_device_back(engine: Engine, feeds: FeedRegistry) -> None:
    b = Batch()
    device(b, "road_weather", 1, "441204", 600)
    write(engine, b)
    b = Batch()
    device(b, "road_weather", 1, "441204", 900)  # an older reading arriving late: last_seen stays
    write(engine, b)
    with Session(engine) as s:
        silent = st.offline_devices(s, device_cutoffs(feeds, NOW, 0))
    assert [(d.id, d.last_seen) for d in silent] == [("RO4412040001", NOW - timedelta(seconds=600))]
    b = Batch()
    device(b, "road_weather", 1, "441204", 10)  # it speaks again
    write(engine, b)
    with Session(engine) as s:
        assert st.offline_devices(s, device_cutoffs(feeds, NOW, 0)) == []
        assert [(c.total, c.offline) for c in st.device_counts(s, device_cutoffs(feeds, NOW, 0))] == [(1, 0)]


# --- Rates -----------------------------------------------------------------------------------------

class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def tick(self, seconds: float) -> None:
        self.t += seconds


def test_a_rate_needs_two_samples_and_counts_good_messages_per_minute() -> None:
    clock = Clock()
    w = RateWindow(window_s=300, min_interval_s=5, clock=clock)
    assert w.rate() is None
    assert w.sample(100, 10)
    assert w.rate() is None  # one sample says nothing about a rate
    clock.tick(60)
    assert w.sample(220, 40)
    assert w.rate() == Rate(messages=120, dead_letters=30, span_s=60)
    assert w.rate().per_min == 120 and w.rate().error_rate == 0.2  # type: ignore[union-attr]


def test_samples_closer_than_the_interval_are_skipped() -> None:
    clock = Clock()
    w = RateWindow(window_s=300, min_interval_s=5, clock=clock)
    assert w.sample(0, 0)
    clock.tick(4.999)
    assert not w.sample(50, 0)  # too soon: not recorded, so reading /healthz in a loop costs nothing
    assert w.rate() is None
    clock.tick(0.001)
    assert w.sample(60, 0)
    assert w.rate() == Rate(60, 0, 5.0)


def test_the_window_slides_keeping_one_baseline_at_its_start() -> None:
    clock = Clock()
    w = RateWindow(window_s=300, min_interval_s=5, clock=clock)
    # 10 messages a minute and 1 dead letter every 2 minutes, sampled every minute for 10 minutes
    for minute in range(11):
        w.sample(10 * minute, minute // 2)
        if minute < 10:
            clock.tick(60)
    r = w.rate()
    # window 300 s: the baseline is the sample at exactly now - 300 s (minute 5)
    assert r == Rate(messages=50, dead_letters=5 - 2, span_s=300)
    assert r.per_min == 10 and r.error_rate == 3 / 53  # type: ignore[union-attr]
    assert len(w._samples) == 6  # bounded: samples in the window and the baseline


def test_a_quiet_feed_has_a_zero_rate_and_no_error_rate() -> None:
    clock = Clock()
    w = RateWindow(window_s=300, min_interval_s=5, clock=clock)
    w.sample(7, 3)
    clock.tick(120)
    w.sample(7, 3)
    r = w.rate()
    assert r is not None and (r.per_min, r.error_rate, r.span_s) == (0, None, 120)


def test_a_baseline_older_than_two_windows_is_dropped() -> None:
    clock = Clock()
    w = RateWindow(window_s=300, min_interval_s=5, clock=clock)
    w.sample(0, 0)
    clock.tick(500)  # read again after a long pause: a baseline within two windows still gives a rate
    w.sample(100, 0)
    assert w.rate() == Rate(100, 0, 500)
    clock.tick(601)  # then nothing for over two windows: no average of stale history
    assert w.rate() is None
    w.sample(130, 0)
    assert w.rate() is None
    clock.tick(30)
    w.sample(160, 0)
    assert w.rate() == Rate(30, 0, 30)


def test_counters_that_go_back_start_the_window_over() -> None:
    clock = Clock()
    w = RateWindow(window_s=300, min_interval_s=5, clock=clock)
    w.sample(1000, 50)
    clock.tick(60)
    w.sample(1100, 50)
    clock.tick(1)
    assert w.sample(3, 0)  # a fresh store: recorded at once, despite the interval
    assert w.rate() is None
    clock.tick(60)
    w.sample(63, 0)
    assert w.rate() == Rate(60, 0, 60)


def test_window_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        RateWindow(window_s=0)
    with pytest.raises(ValueError):
        RateWindow(min_interval_s=-1)


def test_feed_rates_sample_every_feed_with_one_clock() -> None:
    clock = Clock()
    rates = FeedRates(window_s=300, min_interval_s=5, clock=clock)
    assert rates.observe({"road_weather": (0, 0), "kpi": (10, 0)}) == {"road_weather": None, "kpi": None}
    clock.tick(30)
    out = rates.observe({"road_weather": (45, 5), "kpi": (10, 0)})
    rw = out["road_weather"]
    assert rw == Rate(45, 5, 30) and rw.per_min == 90
    assert out["kpi"] == Rate(0, 0, 30)
    rates.clock = Clock(clock.t + 60)  # the clock can be replaced (the endpoint tests do)
    assert rates.observe({"road_weather": (105, 5)})["road_weather"] == Rate(105, 5, 90)
