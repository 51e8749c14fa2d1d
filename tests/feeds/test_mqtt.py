"""Through a real Mosquitto: outside publishers (mosquitto_pub) and the simulator, into SQLite/PostgreSQL."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from datetime import datetime

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from feeds.ingest import Ingestor
from feeds.mqtt import Broker, MqttPublisher, MqttSubscriber, parse_broker
from feeds.simulator import CST, Simulator
from store.models import (
    DeadLetter,
    Device,
    FeedStatus,
    GridEvent,
    GridEventStep,
    KpiMetric,
    LatestValue,
    Observation,
)
from tests.feeds.samples import GUANGZHOU, event, fire, kpi, make_decoder, msg, road, video
from tests.servers import Mosquitto
from tests.waiting import wait_until

pytestmark = pytest.mark.mqtt
_ids = itertools.count()


def count(engine: Engine, model: type, *where: object) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def handled(engine: Engine) -> int:
    """Messages the store has accounted for: good ones per feed plus every dead letter."""
    with Session(engine) as s:
        good = s.scalar(select(func.coalesce(func.sum(FeedStatus.messages), 0)))
        return int(good) + (s.scalar(select(func.count()).select_from(DeadLetter)) or 0)


@pytest.fixture
def pipeline(engine: Engine, mosquitto: Mosquitto) -> Iterator[tuple[str, Ingestor]]:
    """A subscriber feeding an ingest worker on a fresh database, on a topic prefix of its own."""
    n = next(_ids)
    prefix = f"zqt{n}"  # the broker is shared by the whole run: keep each test's traffic apart
    ingestor = Ingestor(engine, make_decoder(prefix), batch_size=50, batch_ms=50).start()
    subscriber = MqttSubscriber(broker(mosquitto), prefix, f"test-ingest-{n}", ingestor.submit).start()
    try:
        assert subscriber.subscribed.wait(10), "no SUBACK from the broker"
        yield prefix, ingestor
    finally:
        subscriber.stop()
        ingestor.stop()


def broker(m: Mosquitto) -> Broker:
    """The test broker as the clients take it."""
    return Broker("127.0.0.1", m.port)


def test_parse_broker() -> None:
    assert parse_broker("mqtt://10.1.2.3:1884") == ("10.1.2.3", 1884, False)
    assert parse_broker("broker.local") == ("broker.local", 1883, False)
    assert parse_broker("mqtts://broker.local") == ("broker.local", 8883, True)
    with pytest.raises(ValueError, match="mqtt://host:port"):
        parse_broker("http://broker:80")


def test_outside_publishers_good_and_bad_messages(engine: Engine, mosquitto: Mosquitto,
                                                  pipeline: tuple[str, Ingestor]) -> None:
    prefix, ingestor = pipeline

    def good(feed: str, body: dict, county: str | None = None) -> tuple[str, bytes]:
        return msg(feed, body, county, prefix)

    t1 = datetime(2026, 11, 30, 8, 1, tzinfo=CST)
    sequence: list[tuple[str, bytes, str | None]] = [  # (topic, payload, expected dead-letter reason or None)
        (*good("road_weather", road("441204", 2)), None),
        (good("road_weather", road())[0], b'{"device_id": "44120400041316000002", "ts": ',
         "not valid UTF-8 JSON"),
        (*good("video_point", video("441202", 1)), None),
        (*good("road_weather", road("441204", 3, lon=GUANGZHOU[0], lat=GUANGZHOU[1])),
         "coordinates (113.26, 23.13) are outside the city 441200"),
        (*good("fire_risk", fire("441223", 1)), None),
        (*good("fire_risk", fire("441225", 2, ts="2026-11-30T08:00:00")),
         "ts: Input should have timezone info"),
        (*good("grid_event", event("441202", 1, step=1)), None),
        (*good("video_point", video("441203", 9), county="441202"),
         "GB/T 28181 id 44120300091326000009 belongs to county 441203 (鼎湖区) "
         "but was published under county 441202"),
        (*good("grid_event", event("441202", 1, step=2, ts=t1)), None),
        (f"{prefix}/441202/road_weather", orjson.dumps(road("441202", 4)), "does not follow"),
        (*good("kpi", kpi("service.yss_registered", "441200")), None),
        (*good("kpi", kpi("eco.aqi", "441202", value=61, unit=None)), None),
        (*good("road_weather", road("441204", 2, ts=t1, visibility_m=45.0)), None),
    ]
    for topic, payload, _ in sequence:
        mosquitto.pub(topic, payload)
    wait_until(lambda: handled(engine) == len(sequence), f"{len(sequence)} messages in the store")

    expected_dead = [(t, p, r) for t, p, r in sequence if r is not None]
    with Session(engine) as s:
        assert set(s.scalars(select(Device.id))) == {"44120400041316000002", "44120200091326000001",
                                                     "FR44122301"}
        assert count(engine, Observation) == 4  # one row per device message
        assert count(engine, LatestValue) == 6 + 4 + 5
        # The last message came after the bad ones: the stream never stopped.
        assert s.get(LatestValue, ("44120400041316000002", "visibility_m")).value == 45.0
        assert [(e.id, e.step) for e in s.scalars(select(GridEvent))] == [("AJ44120200001", 2)]
        assert count(engine, GridEventStep) == 2
        assert {(k.key, k.region) for k in s.scalars(select(KpiMetric))} == {
            ("service.yss_registered", "441200"), ("eco.aqi", "441202")}
        letters = list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))
        assert len(letters) == len(expected_dead)
        for letter, (topic, payload, reason) in zip(letters, expected_dead, strict=True):
            assert (letter.topic, letter.payload) == (topic, payload)
            assert reason in letter.reason, letter.reason
        statuses = {f.feed: (f.messages, f.dead_letters) for f in s.scalars(select(FeedStatus))}
    assert statuses == {"road_weather": (2, 2), "video_point": (1, 1), "fire_risk": (1, 1),
                        "grid_event": (2, 0), "kpi": (2, 0)}
    assert (ingestor.stats.stored, ingestor.stats.dead) == (8, 5)


def test_the_simulator_through_the_broker(engine: Engine, mosquitto: Mosquitto,
                                          pipeline: tuple[str, Ingestor]) -> None:
    prefix, ingestor = pipeline
    sim = Simulator(prefix=prefix, seed=20211)
    burst = sim.messages(datetime(2026, 11, 30, 8, 0, tzinfo=CST))
    publisher = MqttPublisher(broker(mosquitto), f"test-sim-{prefix}").start()
    try:
        assert publisher.connected.wait(10)
        for topic, payload in burst:
            publisher.publish(topic, payload)
        wait_until(lambda: handled(engine) == len(burst), f"the simulator's {len(burst)} messages stored")
    finally:
        publisher.stop()

    feeds = [t.split("/")[2] for t, _ in burst]
    events = {orjson.loads(p)["event_id"] for t, p in burst if t.split("/")[2] == "grid_event"}
    with Session(engine) as s:
        assert set(s.scalars(select(Device.id))) == {d.id for d in sim.devices}
        assert count(engine, DeadLetter) == 0
        assert count(engine, GridEvent) == len(events)
        # Every step of the backlog's history.
        assert count(engine, GridEventStep) == feeds.count("grid_event")
        assert count(engine, KpiMetric) == feeds.count("kpi")
        statuses = {f.feed: f.messages for f in s.scalars(select(FeedStatus))}
        located = {d.id: d.county_adcode for d in s.scalars(select(Device))}
    assert statuses == {f: feeds.count(f) for f in set(feeds)}
    assert located == {d.id: d.county for d in sim.devices}
    assert ingestor.stats.dead == 0


def test_a_refused_oversized_message_keeps_a_bounded_prefix_its_size_and_its_digest(
        engine: Engine, mosquitto: Mosquitto, pipeline: tuple[str, Ingestor]) -> None:
    from feeds.decode import MAX_PAYLOAD_BYTES
    from store.writes import DEAD_LETTER_KEEP

    prefix, _ = pipeline
    before = msg("road_weather", road("441204", 5), prefix=prefix)
    topic, _ = msg("road_weather", road("441204", 6), prefix=prefix)
    big = orjson.dumps({**road("441204", 6), "note": "x" * (MAX_PAYLOAD_BYTES + 40_000)})
    after = msg("road_weather", road("441204", 7), prefix=prefix)
    for t, payload in (before, (topic, big), (topic, big), after):  # the same big one twice: one row, count 2
        mosquitto.pub(t, payload)
    wait_until(lambda: count(engine, Observation) == 2 and count(engine, DeadLetter) == 1, "two stored, one refused")
    with Session(engine) as s:
        [letter] = s.scalars(select(DeadLetter)).all()
    assert letter.size == len(big) and letter.count == 2
    assert len(letter.payload) == DEAD_LETTER_KEEP and big.startswith(letter.payload)
    assert f"payload of {len(big)} bytes exceeds {MAX_PAYLOAD_BYTES}" in letter.reason


def test_the_broker_refuses_a_message_over_the_shipped_packet_limit_and_the_stream_goes_on(
        engine: Engine, mosquitto: Mosquitto, pipeline: tuple[str, Ingestor]) -> None:
    # deploy/mosquitto/zq.conf's max_packet_size (the tests' broker runs with it): a 2 MiB message is refused at
    # the broker's door, its publisher told, and never reaches ingest's memory.
    prefix, _ = pipeline
    topic, good = msg("road_weather", road("441204", 8), prefix=prefix)
    huge = orjson.dumps({**road("441204", 8), "note": "x" * (2 * 1024 * 1024)})
    # An MQTT 3.1.1 publisher is disconnected for it (a v5 one is told the limit at connection and does not send).
    refused = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(mosquitto.port), "-V", "mqttv311",
                              "-q", "1", "-t", topic, "-s"], input=huge, capture_output=True, timeout=30)
    assert refused.returncode != 0 and b"connection was lost" in refused.stderr
    mosquitto.pub(topic, huge)
    mosquitto.pub(topic, good)
    wait_until(lambda: count(engine, Observation) == 1, "the message after the refused one stored")
    assert count(engine, DeadLetter) == 0


def test_the_subscriber_asks_the_broker_for_nothing_larger_than_its_cap(engine: Engine, mosquitto: Mosquitto) -> None:
    # MQTT v5 Maximum Packet Size: the broker does not send this subscriber a message over its cap (a broker
    # configured with a larger limit than the app's cannot push 50 MB into the worker's memory).
    prefix = f"zqt{next(_ids)}"
    got: list[int] = []
    subscriber = MqttSubscriber(broker(mosquitto), prefix, f"test-cap-{prefix}",
                                lambda _t, payload, _at, ack: (got.append(len(payload)), ack and ack()),
                                max_message_bytes=100_000).start()
    try:
        assert subscriber.subscribed.wait(10)
        mosquitto.pub(f"{prefix}/441204/road_weather/x", b"y" * 300_000)
        mosquitto.pub(f"{prefix}/441204/road_weather/x", b"z" * 1000)
        wait_until(lambda: 1000 in got, "the small message")
    finally:
        subscriber.stop()
    assert got == [1000]
