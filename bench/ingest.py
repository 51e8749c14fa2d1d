"""Ingest benchmarks: receive rates, end-to-end ingest rates, latency at a steady rate, memory over 1M messages."""

from __future__ import annotations

import functools
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt import __version__ as paho_version
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine

from bench import results
from feeds import FeedRegistry, register_builtin_feeds
from feeds.decode import Decoder
from feeds.ingest import Ingestor, Message
from feeds.mqtt import Broker, MqttSubscriber
from geo import CountyLocator, county_names, load_counties, sample_points
from settings import Settings
from store import make_engine, migrate
from tests.servers import Mosquitto, mosquitto_broker, postgres_cluster

PREFIX = "zqb"
CITY = Settings.model_construct().city  # the default settings' city
SESSION_S = 3600
# The broker must hold a whole preloaded run for an absent subscriber, QoS 0 included.
BROKER_CONF = ("max_queued_messages 3000000", "max_queued_bytes 0", "queue_qos0_messages true",
               "max_inflight_messages 0")


def rss_mb() -> float:
    """Resident memory of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@functools.cache
def stations(n: int = 200, seed: int = 7) -> list[tuple[str, str, float, float]]:
    """Road-weather stations spread over the real counties: (county, GB/T 28181 id, lon, lat)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    counties = load_counties(CITY, "detail")
    out = []
    for i in range(n):
        county = counties["adcode"].iloc[i % len(counties)]
        lons, lats = sample_points(counties.geometry.iloc[i % len(counties)], 1, rng)
        out.append((county, f"{county}00041316{i:06d}", round(float(lons[0]), 6), round(float(lats[0]), 6)))
    return out


def messages(n: int, start: int = 0, sent_ns: bool = False) -> Iterator[tuple[str, bytes]]:
    """n realistic road-weather readings (6 values each) from 200 stations, each with a distinct time."""
    sts = stations()
    for i in range(start, start + n):
        county, dev, lon, lat = sts[i % len(sts)]
        sec = i // len(sts)
        body = {"device_id": dev, "ts": f"2026-11-30T{(sec // 3600) % 24:02d}:{(sec // 60) % 60:02d}:{sec % 60:02d}"
                f".{(i % len(sts)) * 1000 // len(sts):03d}+08:00" if sec < 86400 else
                f"2026-12-{1 + sec // 86400:02d}T{(sec // 3600) % 24:02d}:{(sec // 60) % 60:02d}:{sec % 60:02d}+08:00",
                "lon": lon, "lat": lat, "visibility_m": 800.0 + i % 9000, "air_temp_c": 15.5, "road_temp_c": 17.0,
                "humidity_pct": 81.0, "wind_speed_ms": 2.1, "precipitation_mm": 0.0}
        if sent_ns:
            body["sent_ns"] = time.time_ns()
        yield f"{PREFIX}/{county}/road_weather/{dev}", orjson.dumps(body)


def _client(client_id: str) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)


def _connect(c: mqtt.Client, port: int, persistent: bool) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_S if persistent else 0
    c.connect("127.0.0.1", port, clean_start=not persistent, properties=props)


def make_session(port: int, client_id: str, qos: int) -> None:
    """Create a persistent session subscribed to the bench topics, then leave it (messages queue for it)."""
    c = _client(client_id)
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    _connect(c, port, True)
    c.loop_start()
    c.subscribe(f"{PREFIX}/#", qos=qos)
    assert done.wait(10), "no SUBACK"
    c.disconnect()
    c.loop_stop()


def publish(port: int, msgs: Iterator[tuple[str, bytes]], qos: int) -> int:
    """Publish and wait until the broker has every message."""
    c = _client(f"bench-pub-{time.monotonic_ns()}")
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    _connect(c, port, False)
    c.loop_start()
    n = 0
    last = None
    for topic, payload in msgs:
        last = c.publish(topic, payload, qos=qos)
        n += 1
        if qos and n % 5000 == 0:
            last.wait_for_publish(60)
    if last is not None:
        last.wait_for_publish(120)
    while c.want_write():
        time.sleep(0.01)
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()
    return n


def preload(broker: Mosquitto, client_id: str, n: int, qos: int) -> None:
    """Queue n messages at the broker for an absent persistent subscriber."""
    make_session(broker.port, client_id, qos)
    publish(broker.port, messages(n), qos)


@dataclass
class Rate:
    """One measured consumer."""

    name: str
    messages: int
    seconds: float

    @property
    def per_s(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds else float("nan")


def bare_paho(broker: Mosquitto, n: int, qos: int) -> Rate:
    """A paho subscriber that does nothing with its messages: the ceiling of Python MQTT receive."""
    cid = f"bench-bare-{qos}-{time.monotonic_ns()}"
    preload(broker, cid, n, qos)
    c = _client(cid)
    got = [0, 0.0, 0.0]
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        if got[0] == 0:
            got[1] = time.perf_counter()
        got[0] += 1
        if got[0] == n:
            got[2] = time.perf_counter()
            done.set()

    c.on_message = on_message
    _connect(c, broker.port, True)
    c.loop_start()
    ok = done.wait(600)
    c.disconnect()
    c.loop_stop()
    assert ok, f"bare paho got {got[0]} of {n}"
    return Rate(f"paho bare receive, QoS {qos}", n, got[2] - got[1])


def mosquitto_sub(broker: Mosquitto, n: int, qos: int) -> Rate:
    """The C client's receive rate (process wall time, connect included)."""
    cid = f"bench-msub-{qos}-{time.monotonic_ns()}"
    preload(broker, cid, n, qos)
    t = time.perf_counter()
    subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-V", "mqttv5", "-i", cid, "-c",
                    "-x", str(SESSION_S), "-q", str(qos), "-t", f"{PREFIX}/#", "-C", str(n)],
                   check=True, stdout=subprocess.DEVNULL, timeout=600)
    return Rate(f"mosquitto_sub receive, QoS {qos}", n, time.perf_counter() - t)


def decoder() -> Decoder:
    """The decoder wired as the app wires it, on the bench prefix."""
    reg = FeedRegistry()
    register_builtin_feeds(reg)
    return Decoder(PREFIX, reg, CountyLocator.for_city(CITY), CITY, county_names(CITY))


def ingest(broker: Mosquitto, engine: Engine, n: int, qos: int, label: str) -> Rate:
    """The subscriber and ingest worker in this process (one GIL): from the first message received to the last one
    committed."""
    cid = f"bench-ingest-{qos}-{time.monotonic_ns()}"
    preload(broker, cid, n, qos)
    first = [0.0]
    done = threading.Event()
    committed = [0, 0.0]

    def on_commit(batch: list[Message], good: int, bad: int) -> None:
        committed[0] += good + bad
        if committed[0] >= n:
            committed[1] = time.perf_counter()
            done.set()

    ing = Ingestor(engine, decoder(), batch_size=2000, batch_ms=100, on_commit=on_commit).start()

    def deliver(topic: str, payload: bytes, received_at: object, ack: object) -> None:
        if not first[0]:
            first[0] = time.perf_counter()
        ing.submit(topic, payload, None, ack)  # type: ignore[arg-type]

    sub = MqttSubscriber(Broker("127.0.0.1", broker.port), PREFIX, cid, deliver, qos=qos,
                         session_expiry_s=SESSION_S).start()
    ok = done.wait(900)
    sub.stop()
    ing.stop()
    assert ok, f"ingest committed {committed[0]} of {n}"
    assert ing.stats.dead == 0, f"{ing.stats.dead} bench messages were refused"
    return Rate(f"ingest into {label}, QoS {qos}", n, committed[1] - first[0])


def ingest_workers(broker: Mosquitto, engine: Engine, url: str, n: int, qos: int, label: str,
                   workers: int = 2) -> Rate:
    """`python -m feeds ingest` processes splitting one stream through an MQTT v5 shared subscription.

    Timed from the first commit seen in the store to the last (process start-up excluded), counting only
    the messages committed in between.
    """
    group = f"g{time.monotonic_ns()}"
    ids = [f"bench-w{i}-{group}" for i in range(workers)]
    for cid in ids:
        c = _client(cid)
        done = threading.Event()
        c.on_subscribe = lambda *a, done=done: done.set()
        _connect(c, broker.port, True)
        c.loop_start()
        c.subscribe(f"$share/{group}/{PREFIX}/#", qos=qos)
        assert done.wait(10)
        c.disconnect()
        c.loop_stop()
    publish(broker.port, messages(n), qos)
    root = Path(__file__).resolve().parent.parent
    procs = [subprocess.Popen(
        [sys.executable, "-m", "feeds", "ingest", "--db", url, "--mqtt", f"mqtt://127.0.0.1:{broker.port}",
         "--mqtt-prefix", PREFIX, "--mqtt-client-id", cid, "--mqtt-share-group", group, "--mqtt-qos", str(qos),
         "--mqtt-session-expiry-s", str(SESSION_S), "--no-simulate", "--no-poll", "--batch-size", "2000"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cid in ids]

    def stored() -> int:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM observations").scalar() or 0

    try:
        deadline = time.monotonic() + 900
        first = (0.0, 0)
        while time.monotonic() < deadline:
            got = stored()
            if got and not first[1]:
                first = (time.perf_counter(), got)
            if got >= n:
                break
            time.sleep(0.05)
        end = time.perf_counter()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    assert got >= n, f"{workers} workers stored {got} of {n}"
    name = f"{workers} workers ($share)" if workers > 1 else "1 worker (python -m feeds ingest)"
    return Rate(f"ingest into {label}, {name}, QoS {qos}", n - first[1], end - first[0])


def latency(broker: Mosquitto, engine: Engine, rate: int, seconds: float, qos: int) -> dict[str, float]:
    """Publish-to-committed latency at a steady rate, the publisher in its own process."""
    times: list[int] = []

    def on_commit(batch: list[Message], good: int, bad: int) -> None:
        now = time.time_ns()
        for m in batch:
            sent = orjson.loads(m.payload).get("sent_ns")
            if sent:
                times.append(now - sent)

    ing = Ingestor(engine, decoder(), batch_size=1000, batch_ms=100, on_commit=on_commit).start()
    sub = MqttSubscriber(Broker("127.0.0.1", broker.port), PREFIX, f"bench-lat-{time.monotonic_ns()}",
                         ing.submit, qos=qos, session_expiry_s=0).start()
    assert sub.subscribed.wait(10)
    total = int(rate * seconds)
    subprocess.run([sys.executable, "-m", "bench.publisher", str(broker.port), str(rate), str(total), str(qos)],
                   check=True, timeout=seconds * 4 + 60, cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + 60
    while len(times) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    sub.stop()
    ing.stop()
    ms = sorted(t / 1e6 for t in times)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"messages": len(ms), "expected": total, "p50": q[49], "p95": q[94], "p99": q[98], "max": ms[-1]}


def memory(broker: Mosquitto, engine: Engine, n: int) -> dict[str, float]:
    """Resident memory of this process before and after n messages through subscriber and ingest."""
    warm = 20_000
    cid = f"bench-mem-{time.monotonic_ns()}"
    make_session(broker.port, cid, 1)
    committed = [0]
    done = threading.Event()
    target = [warm]

    def on_commit(batch: list[Message], good: int, bad: int) -> None:
        committed[0] += good + bad
        if committed[0] >= target[0]:
            done.set()

    ing = Ingestor(engine, decoder(), batch_size=2000, batch_ms=100, on_commit=on_commit).start()
    sub = MqttSubscriber(Broker("127.0.0.1", broker.port), PREFIX, cid, ing.submit, qos=1,
                         session_expiry_s=SESSION_S).start()
    publish(broker.port, messages(warm, start=10_000_000), 1)
    assert done.wait(300), "warm-up did not finish"
    gc.collect()
    before = rss_mb()
    done.clear()
    target[0] = warm + n
    t = time.perf_counter()
    publish(broker.port, messages(n, start=20_000_000), 1)
    assert done.wait(1800), f"only {committed[0] - warm} of {n} committed"
    seconds = time.perf_counter() - t
    sub.stop()
    ing.stop()
    gc.collect()
    after = rss_mb()
    return {"messages": n, "before_mb": before, "after_mb": after, "growth_mb": after - before,
            "seconds": seconds}


@contextmanager
def stores(tmp: Path) -> Iterator[dict[str, Engine]]:
    """A SQLite file (WAL) and a PostgreSQL database with its default durability, both migrated and empty."""
    with postgres_cluster(durable=True) as pg:
        engines = {"SQLite": make_engine(f"sqlite:///{tmp / 'bench.sqlite3'}"), "PostgreSQL": make_engine(pg.url())}
        for e in engines.values():
            migrate(e)
        try:
            yield engines
        finally:
            for e in engines.values():
                e.dispose()


def fresh(engine: Engine) -> None:
    """Empty the ingest tables so every run starts alike."""
    with engine.begin() as conn:
        for table in ("observations", "latest_values", "devices", "dead_letters", "feed_status"):
            conn.exec_driver_sql(f"DELETE FROM {table}")


def run(n: int, million: int, lat_seconds: float) -> list[str]:
    """All ingest benchmarks in one run on one broker; returns printable lines."""
    out = [f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; paho-mqtt {paho_version}",
           f"broker: Mosquitto on loopback; each consumer drains {n:,} road-weather messages (6 values each) "
           "queued for its persistent session"]
    tmp = Path(tempfile.mkdtemp(prefix="zq-bench-"))
    try:
        with mosquitto_broker(persistent=False, extra=BROKER_CONF) as broker, stores(tmp) as engines:
            for qos in (0, 1):
                bare = bare_paho(broker, n, qos)
                rows = [bare, mosquitto_sub(broker, n, qos)]
                for label, engine in engines.items():
                    fresh(engine)
                    rows.append(ingest(broker, engine, n, qos, f"{label} in-process"))
                for workers in (1, 2):  # one worker is issue 18's target; two split the stream by $share
                    for label, engine in engines.items():
                        fresh(engine)
                        url = engine.url.render_as_string(hide_password=False)
                        rows.append(ingest_workers(broker, engine, url, n, qos, label, workers))
                out.append(f"\nQoS {qos}:")
                for r in rows:
                    out.append(f"  {r.name:62s} {r.per_s:10,.0f} msg/s   {r.per_s / bare.per_s:5.2f} × paho bare")
                    results.figure("ingest", f"{r.name}", r.per_s, "msg/s", ratio_to_bare=round(r.per_s / bare.per_s, 3))
            fresh(engines["SQLite"])
            lat = latency(broker, engines["SQLite"], 1000, lat_seconds, 1)
            out.append(f"\nlatency publish → committed (SQLite, QoS 1, 1,000 msg/s for {lat_seconds:.0f} s): "
                       f"p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms, "
                       f"max {lat['max']:.1f} ms ({lat['messages']:,}/{lat['expected']:,} messages)")
            if million:
                fresh(engines["SQLite"])
                mem = memory(broker, engines["SQLite"], million)
                out.append(f"\nmemory over {mem['messages']:,} messages (SQLite, QoS 1): RSS {mem['before_mb']:.1f} MB → "
                           f"{mem['after_mb']:.1f} MB, growth {mem['growth_mb']:+.1f} MB "
                           f"({mem['messages'] / mem['seconds']:,.0f} msg/s sustained, publisher included)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
