"""/healthz and /metrics through the Flask test client: feeds, devices, rates, ingest counters, two apps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dash import Dash
from clock import process_clock
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from dashboard import create_app
from dashboard.health import OFFLINE_LIST_LIMIT, HealthMonitor
from settings import Settings
from store import Batch, write_batch
from tests.feeds.samples import fire, msg, road
from tests.waiting import wait_until
from tests.conftest import migrated_sqlite

FEEDS = ["video_point", "road_weather", "fire_risk", "grid_event", "kpi"]
POLLED = ["air_quality", "hydrology", "hotline_12345"]  # fed by the HTTP poller
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def make_app(tmp_path: Path, name: str = "zq", **settings: Any) -> Dash:
    """The app on a fresh SQLite file, without ingest or simulator (unless asked)."""
    start = settings.pop("start_feeds", False)
    return create_app(Settings(db=migrated_sqlite(tmp_path / f'{name}.sqlite3'), **settings), start_feeds=start)


@pytest.fixture
def quiet_app(tmp_path: Path) -> Dash:
    return make_app(tmp_path)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


def write(app: Dash, batch: Batch) -> None:
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s, s.begin():
        write_batch(s, batch)


def add_device(b: Batch, kind: str, dev_id: str, county: str, seen: datetime,
               online: bool | None = None) -> None:
    b.add_device({"id": dev_id, "kind": kind, "name": f"{dev_id}号", "county_adcode": county,
                  "declared_adcode": county, "lon": 112.5, "lat": 23.1, "first_seen": seen, "last_seen": seen,
                  "attrs": {}})
    if online is not None:
        b.add_observations(dev_id, kind, seen, county, {"online": 1.0 if online else 0.0})


def count(b: Batch, feed: str, at: datetime, good: int = 1, bad: int = 0) -> None:
    for _ in range(good):
        b.count(feed, ok=True, message_at=at, received_at=at)
    for _ in range(bad):
        b.count(feed, ok=False, message_at=None, received_at=at)


def scrape(app: Dash) -> tuple[Samples, dict[str, str]]:
    """/metrics parsed: {(sample name, labels): value} and {family name: type}."""
    r = app.server.test_client().get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"] == CONTENT_TYPE_LATEST
    samples: Samples = {}
    types = {}
    for fam in text_string_to_metric_families(r.get_data(as_text=True)):
        types[fam.name] = fam.type
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = s.value
    return samples, types


def one(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


@pytest.fixture
def city(quiet_app: Dash) -> Iterator[datetime]:
    """A store with feed counters and devices around the offline limits; yields the time of writing."""
    now = process_clock().now()
    b = Batch()
    count(b, "video_point", now - timedelta(seconds=20), good=4, bad=1)  # one reading per device
    count(b, "road_weather", now - timedelta(seconds=10), good=2)
    count(b, "fire_risk", now - timedelta(hours=2), good=1, bad=3)  # stale: silent 2 h, limit 900 s
    count(b, "grid_event", now - timedelta(seconds=30), good=1)
    count(b, "kpi", now - timedelta(seconds=60), good=5)
    # The default floor (--stale-after-s 300) makes the limit 300 s for the 60 s feeds, 900 s for fire risk.
    add_device(b, "video_point", "V1", "441202", now - timedelta(seconds=20), online=True)
    # V2 reports, but its stream is down: online as a device, counted in streams_down
    add_device(b, "video_point", "V2", "441202", now - timedelta(seconds=20), online=False)
    add_device(b, "video_point", "V3", "441202", now - timedelta(hours=1), online=True)  # silent: offline
    add_device(b, "video_point", "V4", "441204", now - timedelta(seconds=40), online=True)
    add_device(b, "road_weather", "R1", "441204", now - timedelta(seconds=10))
    add_device(b, "road_weather", "R2", "441204", now - timedelta(minutes=10))  # offline
    add_device(b, "fire_risk", "F1", "441223", now - timedelta(hours=2))  # offline, the longest silent
    write(quiet_app, b)
    yield now


def test_healthz_reports_feeds_devices_and_says_degraded_with_200(quiet_app: Dash, city: datetime) -> None:
    r = quiet_app.server.test_client().get("/healthz")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["status"] == "degraded"
    assert body["stale_feeds"] == ["fire_risk", *POLLED]  # the polled feeds were never heard of
    assert body["offline_devices"] == 3
    assert [(d["id"], d["feed"], d["county_adcode"], d["name"]) for d in body["devices_offline"]] == [
        ("F1", "fire_risk", "441223", "F1号"), ("V3", "video_point", "441202", "V3号"),
        ("R2", "road_weather", "441204", "R2号")]
    silences = [d["silent_s"] for d in body["devices_offline"]]
    assert 7200 <= silences[0] < 7260 and 3600 <= silences[1] < 3660 and 600 <= silences[2] < 660
    assert datetime.fromisoformat(body["devices_offline"][0]["last_seen"]) == city - timedelta(hours=2)
    assert body["dead_letters"] == 0 and body["ingest"] is None  # counters only; no ingest in this process
    figures = body["figures"]["measures"]
    assert body["figures"]["region"] == "441200" and figures["eco.aqi"] is None  # no station: no figure
    assert figures["video.online_rate"]["value"] == 50.0  # V1, V4 of four: V2's stream is down, V3 silent

    feeds = {f["feed"]: f for f in body["feeds"]}
    assert list(feeds) == FEEDS + POLLED
    got = {f: (h["messages"], h["dead_letters"], h["devices_total"], h["devices_offline"], h["streams_down"],
               h["stale_after_s"], h["stale"]) for f, h in feeds.items()}
    assert got == {
        "video_point": (4, 1, 4, 1, 1, 300, False),
        "road_weather": (2, 0, 2, 1, None, 300, False),
        "fire_risk": (1, 3, 1, 1, None, 900, True),
        "grid_event": (1, 0, None, None, None, 360, False),  # not a device feed
        "kpi": (5, 0, None, None, None, 900, False),
        "air_quality": (0, 0, 0, 0, None, 10800, True),  # never heard of: stale, no devices yet
        "hydrology": (0, 0, 0, 0, None, 900, True),
        "hotline_12345": (0, 0, None, None, None, 1800, True),  # tickets, not devices
    }
    # One read gives no rate yet: a rate needs two samples of the counters.
    assert all(h["rate_per_min"] is None and h["error_rate"] is None and h["rate_window_s"] is None
               for h in feeds.values())
    # The fields that were there before stay.
    for key in ("feed", "title_zh", "title_en", "cadence_s", "last_message_at", "last_received_at", "age_s"):
        assert key in feeds["road_weather"]
    assert body["now"]


def test_healthz_is_ok_when_every_feed_is_fresh_and_every_device_reports(quiet_app: Dash) -> None:
    now = process_clock().now()
    b = Batch()
    for feed in FEEDS + POLLED:
        count(b, feed, now)
    add_device(b, "road_weather", "R1", "441204", now - timedelta(seconds=290))  # inside the 300 s limit
    write(quiet_app, b)
    body = quiet_app.server.test_client().get("/healthz").get_json()
    assert (body["status"], body["stale_feeds"], body["offline_devices"], body["devices_offline"]) == (
        "ok", [], 0, [])


def test_the_offline_list_is_capped_but_the_count_is_not(quiet_app: Dash) -> None:
    now = process_clock().now()
    b = Batch()
    for i in range(OFFLINE_LIST_LIMIT + 5):
        add_device(b, "road_weather", f"R{i:02d}", "441204", now - timedelta(hours=1, minutes=i))
    write(quiet_app, b)
    body = quiet_app.server.test_client().get("/healthz").get_json()
    assert body["offline_devices"] == 25
    assert [d["id"] for d in body["devices_offline"]] == [f"R{i:02d}" for i in range(24, 4, -1)]


def test_rates_come_from_counters_sampled_over_time(quiet_app: Dash) -> None:
    monitor: HealthMonitor = quiet_app.server.extensions["zq_health"]
    clock = Clock()
    monitor.rates.clock = clock
    client = quiet_app.server.test_client()
    now = process_clock().now()
    b = Batch()
    count(b, "road_weather", now, good=100, bad=10)
    write(quiet_app, b)
    client.get("/healthz")  # first sample

    b = Batch()
    count(b, "road_weather", now, good=120, bad=30)
    count(b, "kpi", now, good=6)
    write(quiet_app, b)
    clock.t += 3  # too soon after the last sample: no new one, still no rate
    assert {f["feed"]: f["rate_per_min"] for f in client.get("/healthz").get_json()["feeds"]}["kpi"] is None

    clock.t += 57  # a minute after the first sample; /metrics samples too
    scrape(quiet_app)
    feeds = {f["feed"]: f for f in client.get("/healthz").get_json()["feeds"]}
    rw, kpi, fire = feeds["road_weather"], feeds["kpi"], feeds["fire_risk"]
    assert (rw["rate_per_min"], rw["error_rate"], rw["rate_window_s"]) == (120.0, 0.2, 60.0)
    assert (kpi["rate_per_min"], kpi["error_rate"], kpi["rate_window_s"]) == (6.0, 0.0, 60.0)
    assert (fire["rate_per_min"], fire["error_rate"], fire["rate_window_s"]) == (0.0, None, 60.0)


def test_metrics_expose_feeds_devices_and_dead_letters(quiet_app: Dash, city: datetime) -> None:
    samples, types = scrape(quiet_app)
    assert types["zq_feed_messages"] == "counter" and types["zq_feed_dead_letters"] == "counter"
    assert types["zq_devices"] == "gauge" and types["zq_dead_letters"] == "counter"
    names = ["zq_feed_messages_total", "zq_feed_dead_letters_total", "zq_feed_stale",
             "zq_feed_cadence_seconds", "zq_feed_stale_after_seconds"]
    by_feed = {f: tuple(one(samples, n, feed=f) for n in names) for f in FEEDS}
    assert by_feed == {
        "video_point": (4, 1, 0, 60, 300), "road_weather": (2, 0, 0, 60, 300),
        "fire_risk": (1, 3, 1, 300, 900),
        "grid_event": (1, 0, 0, 120, 360), "kpi": (5, 0, 0, 300, 900),
    }
    last = series(samples, "zq_feed_last_message_timestamp_seconds")
    road_at = (city - timedelta(seconds=10)).timestamp()
    assert last[frozenset({("feed", "road_weather")})] == pytest.approx(road_at)
    assert last[frozenset({("feed", "fire_risk")})] == pytest.approx((city - timedelta(hours=2)).timestamp())
    age = one(samples, "zq_feed_age_seconds", feed="fire_risk")
    assert 7200 <= age < 7260

    devices = {tuple(sorted(k)): v for k, v in series(samples, "zq_devices").items()}
    assert devices == {
        (("county", "441202"), ("feed", "video_point"), ("state", "online")): 2,
        (("county", "441202"), ("feed", "video_point"), ("state", "offline")): 1,
        (("county", "441204"), ("feed", "video_point"), ("state", "online")): 1,
        (("county", "441204"), ("feed", "video_point"), ("state", "offline")): 0,
        (("county", "441204"), ("feed", "road_weather"), ("state", "online")): 1,
        (("county", "441204"), ("feed", "road_weather"), ("state", "offline")): 1,
        (("county", "441223"), ("feed", "fire_risk"), ("state", "online")): 0,
        (("county", "441223"), ("feed", "fire_risk"), ("state", "offline")): 1,
    }
    streams = {tuple(sorted(k)): v for k, v in series(samples, "zq_device_streams").items()}
    assert streams == {  # reporting video points only: V3's last "up" is an hour old and does not count
        (("county", "441202"), ("feed", "video_point"), ("state", "up")): 1,
        (("county", "441202"), ("feed", "video_point"), ("state", "down")): 1,
        (("county", "441204"), ("feed", "video_point"), ("state", "up")): 1,
        (("county", "441204"), ("feed", "video_point"), ("state", "down")): 0,
    }
    assert one(samples, "zq_dead_letters_total") == 0
    assert not series(samples, "zq_ingest_received_total")  # no ingest worker in this process


def test_a_feed_never_heard_from_has_no_age_and_is_stale(quiet_app: Dash) -> None:
    samples, _ = scrape(quiet_app)
    assert not series(samples, "zq_feed_age_seconds")
    assert not series(samples, "zq_feed_last_message_timestamp_seconds")
    assert all(one(samples, "zq_feed_stale", feed=f) == 1 for f in FEEDS)
    assert not series(samples, "zq_devices")


def test_two_apps_in_one_process_each_serve_their_own_metrics(tmp_path: Path) -> None:
    a, b = make_app(tmp_path, "a"), make_app(tmp_path, "b")
    now = process_clock().now()
    for app, n in ((a, 3), (b, 8)):
        batch = Batch()
        count(batch, "kpi", now, good=n)
        add_device(batch, "road_weather", f"R{n}", "441284", now)
        write(app, batch)
    for app, n in ((a, 3), (b, 8), (a, 3)):
        samples, _ = scrape(app)
        assert one(samples, "zq_feed_messages_total", feed="kpi") == n
        assert one(samples, "zq_devices", feed="road_weather", county="441284", state="online") == 1
    assert a.server.extensions["zq_metrics"] is not b.server.extensions["zq_metrics"]


def test_ingest_counters_of_the_running_worker(tmp_path: Path) -> None:
    app = make_app(tmp_path, start_feeds=True, simulate=False, ingest=True)
    service = app.server.config["ZQ_FEEDS"]
    try:
        now = process_clock().now()
        ing = service.ingestor
        ing.submit(*msg("road_weather", road(ts=now)))
        ing.submit(*msg("fire_risk", fire(ts=now)))
        ing.submit(msg("road_weather", road())[0], b"{not json")
        assert ing.drain(10)
        samples, types = scrape(app)
        body = app.server.test_client().get("/healthz").get_json()
    finally:
        service.stop()
    assert types["zq_ingest_received"] == "counter"
    ingest = {k: one(samples, f"zq_ingest_{k}_total") for k in ("received", "stored", "dead", "write_errors")}
    assert ingest == {"received": 3, "stored": 2, "dead": 1, "write_errors": 0}
    assert one(samples, "zq_ingest_batches_total") >= 1
    assert one(samples, "zq_dead_letters_total") == 1
    assert one(samples, "zq_feed_dead_letters_total", feed="road_weather") == 1
    assert one(samples, "zq_devices", feed="road_weather", county="441204", state="online") == 1
    assert (body["ingest"]["received"], body["ingest"]["stored"], body["ingest"]["dead"]) == (3, 2, 1)
    assert body["ingest"]["last_commit_at"]


@pytest.mark.mqtt
def test_healthz_warns_when_the_broker_says_it_dropped_messages(tmp_path: Path) -> None:
    import subprocess

    from tests.servers import mosquitto_broker

    # A broker with a queue far too small: a client that is away with a persistent session loses what overflows.
    with mosquitto_broker(extra=("max_queued_messages 5",)) as broker:
        app = make_app(tmp_path, start_feeds=True, simulate=False, ingest=True, mqtt=broker.url)
        service = app.server.config["ZQ_FEEDS"]
        client = app.server.test_client()

        def report() -> dict[str, Any]:
            return client.get("/healthz").get_json()

        try:
            body = wait_until(lambda: (r := report())["broker"]["heard"] and r, "the broker's $SYS heard", 15,
                              interval=0.2)
            assert body["broker"]["dropped"] == 0 and body["broker"]["warning"] is None
            assert body["broker"]["version"].startswith("mosquitto version")
            away = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-V", "mqttv5", "-c", "-i", "away",
                    "-x", "3600", "-q", "1", "-t", "other/#", "-W", "1"]
            subprocess.run(away, capture_output=True, timeout=10)  # subscribes, then goes away for a while
            for i in range(20):
                broker.pub("other/x", str(i))
            body = wait_until(lambda: (r := report())["broker"]["dropped"] == 15 and r, "15 messages dropped", 30,
                              interval=0.2)
        finally:
            service.stop()
    assert "max_queued_messages" in body["broker"]["warning"] and body["status"] == "degraded"
