"""Faults against the real servers: broker restarts, ingest away, PostgreSQL restarts, floods of bad input."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import orjson
import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from feeds.ingest import Ingestor
from feeds.mqtt import Broker, MqttSubscriber
from store import make_engine
from store.models import Base, DeadLetter, FeedStatus, Observation
from tests.conftest import PgCopies, migrated_sqlite
from tests.feeds.samples import GUANGZHOU, INSIDE, T0, event, fire, kpi, make_decoder, road, video
from tests.servers import Mosquitto, Postgres, mosquitto_broker
from tests.waiting import wait_until

pytestmark = pytest.mark.mqtt
_ids = itertools.count()
RW = "44120400041316000099"  # one road-weather station in 高要, 6 values per message


def reading(i: int) -> bytes:
    """The i-th reading of the station, one second apart: a distinct row key per message."""
    return orjson.dumps(road("441204", 99, ts=T0 + timedelta(seconds=i), visibility_m=float(1000 + i % 7000)))


def stored_readings(engine: Engine) -> int:
    """Distinct messages of the station in the store (each carries one visibility value)."""
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Observation).where(Observation.device_id == RW)) or 0


def sqlite_engine(tmp_path) -> Engine:
    return make_engine(migrated_sqlite(tmp_path / "zq.sqlite3"))


def test_qos1_messages_published_while_ingest_is_down_arrive_after_it_reconnects(
        mosquitto: Mosquitto, tmp_path) -> None:
    prefix, client_id = f"zqf{next(_ids)}", f"ingest-away-{next(_ids)}"
    engine = sqlite_engine(tmp_path)
    ingestor = Ingestor(engine, make_decoder(prefix), batch_size=200, batch_ms=50).start()
    broker = Broker("127.0.0.1", mosquitto.port)
    first = MqttSubscriber(broker, prefix, client_id, ingestor.submit, session_expiry_s=600).start()
    assert first.subscribed.wait(10)
    first.stop()  # ingest goes away; the broker keeps its session and queues QoS 1 messages for it

    mosquitto.pub_lines(f"{prefix}/441204/road_weather/{RW}", [reading(i) for i in range(500)], qos=1)
    assert stored_readings(engine) == 0

    again = MqttSubscriber(broker, prefix, client_id, ingestor.submit, session_expiry_s=600).start()
    try:
        wait_until(lambda: stored_readings(engine) == 500, "the queued messages", 30)
    finally:
        again.stop()
        ingestor.stop()
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Observation).where(Observation.device_id == RW)) == 500
        values = s.scalars(select(Observation.data["visibility_m"].as_float()).where(Observation.device_id == RW))
        assert sorted(values) == sorted(1000.0 + i % 7000 for i in range(500))


class Publisher:
    """A device gateway: paho at QoS 1 with a persistent session, so unacknowledged messages are resent."""

    def __init__(self, port: int, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(0.2, 2)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)  # unbounded: keep everything while the broker is away
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 600
        self.client.connect_async("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_broker_restart_in_a_10000_message_qos1_stream_loses_none_and_stores_none_twice(tmp_path) -> None:
    n = 10_000
    with mosquitto_broker(persistent=True) as broker:
        prefix = "zqr"
        engine = sqlite_engine(tmp_path)
        ingestor = Ingestor(engine, make_decoder(prefix), batch_size=500, batch_ms=50).start()
        sub = MqttSubscriber(Broker("127.0.0.1", broker.port), prefix, "ingest-restart", ingestor.submit,
                             session_expiry_s=600).start()
        assert sub.subscribed.wait(10)
        pub = Publisher(broker.port, "gateway-restart")
        topic = f"{prefix}/441204/road_weather/{RW}"
        restarted = threading.Event()

        def restart_when_a_third_is_in() -> None:
            wait_until(lambda: stored_readings(engine) >= n // 3, "a third of the stream", 60)
            broker.stop()  # SIGTERM: Mosquitto writes its sessions and queues to disk
            time.sleep(1.0)  # an outage, not a wait: both clients' reconnects fail for a second (delay 0.2-2 s)
            broker.start()
            restarted.set()

        restarter = threading.Thread(target=restart_when_a_third_is_in)
        restarter.start()
        try:
            for i in range(n):
                pub.client.publish(topic, reading(i), qos=1)
                if i % 200 == 199:
                    time.sleep(0.02)  # a steady stream, so the restart lands in the middle of it
            restarter.join(90)
            assert restarted.is_set()
            wait_until(lambda: stored_readings(engine) == n, f"all {n} messages after the restart", 120)
            # A last reading behind the stream: the publisher's resends and the broker's redeliveries to ingest
            # are in order, so once it is stored, anything delivered twice has been handled before it.
            pub.client.publish(topic, reading(n), qos=1)
            wait_until(lambda: stored_readings(engine) == n + 1, "the reading behind the stream", 30)
        finally:
            pub.stop()
            sub.stop()
            ingestor.stop()
        assert stored_readings(engine) == n + 1
        with Session(engine) as s:
            distinct = select(func.count(func.distinct(Observation.ts))).where(Observation.device_id == RW)
            assert s.scalar(distinct) == n + 1
            assert s.scalar(select(func.count()).select_from(DeadLetter)) == 0
            counted = s.get(FeedStatus, "road_weather").messages
        # The feed's count is of stored messages: what the broker delivered again after the restart (received
        # twice, its first acknowledgement lost) is not counted again.
        assert counted == n + 1 and ingestor.stats.received >= n + 1, (counted, ingestor.stats.received)


@pytest.mark.postgres
def test_postgresql_restart_during_ingest_buffers_and_loses_nothing(postgres: Postgres, pg_copies: PgCopies) -> None:
    engine = make_engine(pg_copies.take())
    ingestor = Ingestor(engine, make_decoder(), batch_size=100, batch_ms=20).start()
    topic = f"zq/441204/road_weather/{RW}"
    n = 3000
    try:
        for i in range(n):
            ingestor.submit(topic, reading(i))
            if i == n // 3:
                postgres.stop()  # the store goes away mid-stream
            if i == 2 * n // 3:
                postgres.start()
            if i % 50 == 0:
                time.sleep(0.01)  # a paced stream, so the outage lands in the middle of it
        assert ingestor.drain(60), "ingest did not catch up after PostgreSQL came back"
    finally:
        ingestor.stop()
    assert ingestor.stats.write_errors > 0, "the restart never reached the write path"
    assert stored_readings(engine) == n
    engine.dispose()


# ---- a flood of malformed input -----------------------------------------------------------------

VALID = [("video_point", lambda i: video("441202", i % 50 + 1, ts=T0 + timedelta(seconds=i))),
         ("road_weather", lambda i: road("441204", i % 50 + 1, ts=T0 + timedelta(seconds=i))),
         ("fire_risk", lambda i: fire("441223", i % 50 + 1, ts=T0 + timedelta(seconds=i))),
         ("grid_event", lambda i: event("441202", i + 1, ts=T0 + timedelta(seconds=i))),
         ("kpi", lambda i: kpi(ts=T0 + timedelta(seconds=i)))]
REQUIRED = {"video_point": ["device_id", "ts", "lon", "lat", "online"],
            "road_weather": ["device_id", "ts", "visibility_m", "air_temp_c", "humidity_pct"],
            "fire_risk": ["ts", "max_temp_c", "rh_pct", "dry_days"],
            "grid_event": ["ts", "kind", "category", "step"], "kpi": ["ts", "value"]}


def topic_of(feed: str, body: dict) -> str:
    key = body.get("event_id") or body.get("device_id") or body.get("metric")
    county = body.get("region") or next((c for c, p in INSIDE.items() if (body["lon"], body["lat"]) == p))
    return f"zq/{county}/{feed}/{key}"


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, bytes]:
    """A message that must be refused, built from a valid one by one damage that cannot be valid."""
    feed, make = draw(st.sampled_from(VALID))
    body = make(draw(st.integers(0, 10_000)))
    topic = topic_of(feed, body)
    damage = draw(st.sampled_from(["bytes", "not_object", "drop", "wrong_type", "naive_ts", "outside",
                                   "topic_levels", "unknown_feed"]))
    if damage == "bytes":
        raw = draw(st.binary(max_size=64))
        return topic, b"\xff" + raw  # never valid UTF-8 JSON
    if damage == "not_object":
        small = st.integers(-(2**31), 2**31)
        return topic, orjson.dumps(draw(st.one_of(st.lists(small, max_size=5), st.text(max_size=20), small,
                                                   st.none())))
    if damage == "drop":
        body.pop(draw(st.sampled_from(REQUIRED[feed])))
    elif damage == "wrong_type":
        field = draw(st.sampled_from([f for f in REQUIRED[feed] if f not in ("kind",)]))
        body[field] = draw(st.one_of(st.text(alphabet="xyz", min_size=1, max_size=8), st.lists(st.integers(0, 9), max_size=2),
                                     st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=2)))
    elif damage == "naive_ts":
        body["ts"] = (T0 + timedelta(seconds=draw(st.integers(0, 9999)))).replace(tzinfo=None).isoformat()
    elif damage == "outside":
        if feed == "kpi":
            body["region"] = "441299"
        else:
            body["lon"], body["lat"] = GUANGZHOU
    elif damage == "topic_levels":
        return topic.rsplit("/", 1)[0], orjson.dumps(body)
    elif damage == "unknown_feed":
        return topic.replace(f"/{feed}/", f"/{draw(st.sampled_from(['water', 'radar', 'x']))}/"), orjson.dumps(body)
    return topic, orjson.dumps(body)


@pytest.fixture(scope="module")
def flood_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite store for the flood, emptied before each example."""
    engine = sqlite_engine(tmp_path_factory.mktemp("flood"))
    yield engine
    engine.dispose()


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "alembic_version":
                conn.execute(table.delete())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_10000_malformed_messages_interleaved_with_valid_ones(data: st.DataObject, flood_engine: Engine) -> None:
    # 50 examples × 200 malformed messages = 10,000, each example interleaved with 50 valid ones.
    engine = flood_engine
    empty(engine)
    bad = data.draw(st.lists(malformed(), min_size=200, max_size=200))
    good = [(topic_of(f, make(i)), orjson.dumps(make(i))) for i, (f, make) in
            enumerate(VALID[j % len(VALID)] for j in range(50))]
    stream = list(bad)
    for k, msg in enumerate(good):
        stream.insert(k * 5, msg)
    ingestor = Ingestor(engine, make_decoder(), batch_size=64, batch_ms=5).start()
    for topic, payload in stream:
        ingestor.submit(topic, payload)
    assert ingestor.drain(30)
    ingestor.stop()
    assert (ingestor.stats.stored, ingestor.stats.dead) == (len(good), len(bad))
    with Session(engine) as s:
        letters = list(s.scalars(select(DeadLetter)))
        assert sum(d.count for d in letters) == len(bad)
        assert all(d.reason for d in letters)
        assert {(d.topic, d.payload) for d in letters} == {(t[:256], p) for t, p in bad}
        assert sum(s.scalars(select(FeedStatus.messages))) == len(good)


def test_two_workers_on_a_shared_subscription_split_the_stream_and_store_each_message_once(
        mosquitto: Mosquitto, tmp_path) -> None:
    prefix, group = f"zqs{next(_ids)}", f"workers{next(_ids)}"
    engine = sqlite_engine(tmp_path)
    counts = [0, 0]
    workers = []
    for i in range(2):
        ing = Ingestor(engine, make_decoder(prefix), batch_size=100, batch_ms=20).start()

        def deliver(topic: str, payload: bytes, received_at: object, ack: object, i: int = i, ing: Ingestor = ing) -> None:
            counts[i] += 1
            ing.submit(topic, payload, None, ack)  # type: ignore[arg-type]

        sub = MqttSubscriber(Broker("127.0.0.1", mosquitto.port), prefix, f"{group}-{i}", deliver,
                             session_expiry_s=0, share_group=group).start()
        assert sub.subscribed.wait(10)
        workers.append((sub, ing))
    try:
        mosquitto.pub_lines(f"{prefix}/441204/road_weather/{RW}", [reading(i) for i in range(400)], qos=1)
        wait_until(lambda: stored_readings(engine) == 400, "the whole stream", 30)
    finally:
        for sub, ing in workers:
            sub.stop()
            ing.stop()
    assert counts[0] > 0 and counts[1] > 0, counts  # the broker split the stream
    assert sum(counts) == 400  # each message went to one worker
    assert stored_readings(engine) == 400
