"""HTTP polling against the simulated APIs: mapping, conditional requests, backoff, storage through ingest."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clock import process_clock
from feeds import Accepted, FeedRegistry, register_builtin_feeds
from feeds.builtin import BUILTIN_FEEDS
from feeds.health import feed_health
from feeds.ingest import Ingestor
from feeds.polled import POLLED_FEEDS, make_polled_feeds
from feeds.polling import Poller
from feeds.schemas import feed_schema
from feeds.simhttp import TICKET_STATUS_ZH, SimulatedApis
from feeds.sources import (
    DEFAULT_SOURCES,
    Backoff,
    Source,
    SourcesError,
    load_sources,
    map_document,
    parse_sources,
)
from standards.aqi import aqi
from store import make_engine
from store import queries as q
from tests.feeds.samples import CITY, CST, make_decoder
from tests.feeds.test_schemas import validate
from tests.waiting import wait_until
from tests.conftest import migrated_sqlite

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=CST)  # an afternoon: tickets piling up, O3 near its peak
COUNTIES = ("441202", "441203", "441204", "441223", "441224", "441225", "441226", "441284")
AIR, HYDRO, TICKETS = "air-quality-stations", "hydrology-river-levels", "hotline-12345-tickets"


class Wall:
    """A settable wall clock shared by the simulated APIs and the poller."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class Mono:
    """A settable monotonic clock: backoff delays are read off the schedule it keeps."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Sink:
    """Collects what the poller submits."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.messages.append((topic, payload))

    def feeds(self) -> Counter[str]:
        with self.lock:
            return Counter(t.split("/")[2] for t, _ in self.messages)


@pytest.fixture(scope="module")
def registry() -> FeedRegistry:
    reg = FeedRegistry()
    register_builtin_feeds(reg)
    return reg


@pytest.fixture
def wall() -> Wall:
    return Wall(T0)


@pytest.fixture
def sim(wall: Wall) -> Iterator[SimulatedApis]:
    apis = SimulatedApis(CITY, seed=7, clock=wall)
    apis.start()
    yield apis
    apis.stop()


def sources(registry: FeedRegistry, sim: SimulatedApis, **changes: Any) -> dict[str, Source]:
    """The shipped sources pointed at the running simulator, with some settings changed."""
    loaded = load_sources(DEFAULT_SOURCES, registry, {"sim": sim.base_url or ""})
    return {s.name: s.model_copy(update=changes) if changes else s for s in loaded}


def poller(registry: FeedRegistry, sim: SimulatedApis, wall: Wall, sink: Sink, clock: Any = time.monotonic,
           rng: Any = None, **changes: Any) -> Poller:
    return Poller(sources(registry, sim, **changes).values(), sink, "zq", clock, now=wall, rng=rng)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- mapping: each source's real response becomes messages the real decoder accepts -----------------------

def test_every_source_maps_to_messages_the_decoder_accepts(registry: FeedRegistry, sim: SimulatedApis,
                                                           wall: Wall) -> None:
    sink = Sink()
    p = poller(registry, sim, wall, sink)
    results = [p.poll_once(name) for name in (AIR, HYDRO, TICKETS)]
    assert [r.outcome for r in results] == ["ok", "ok", "ok"] and all(r.http_status == 200 for r in results)

    decoder = make_decoder()
    decoded = [decoder.decode(t, b, process_clock().now()) for t, b in sink.messages]
    refused = [(t, d.reason) for (t, _), d in zip(sink.messages, decoded, strict=True)
               if not isinstance(d, Accepted)]
    assert refused == []
    tickets = sim.tickets_at(T0)
    assert sink.feeds() == {"air_quality": len(sim.air), "hydrology": 5, "hotline_12345": len(tickets),
                            "kpi": (len(COUNTIES) + 1) * 6}
    assert [r.messages for r in results] == [len(sim.air), 5, len(tickets) + 54]
    # Every county has an air-quality station, located where the topic says.
    air = [d for d in decoded if isinstance(d, Accepted) and d.feed.name == "air_quality"]
    assert {d.context.county_adcode for d in air} == set(COUNTIES)
    assert all(d.context.county_adcode == d.context.declared_adcode for d in air)
    # The published JSON Schemas accept what the poller sends.
    first = {}
    for topic, payload in sink.messages:
        first.setdefault(topic.split("/")[2], orjson.loads(payload))
    for feed in POLLED_FEEDS:
        assert validate(feed_schema(feed), first[feed.name]) == [], feed.name


def test_the_mapping_adds_offsets_looks_up_codes_and_parses_numbers(registry: FeedRegistry,
                                                                     sim: SimulatedApis, wall: Wall) -> None:
    sink = Sink()
    p = poller(registry, sim, wall, sink)
    for name in (AIR, HYDRO, TICKETS):
        p.poll_once(name)
    by_topic = {t: orjson.loads(b) for t, b in sink.messages}

    raw_air = sim.document("air")["result"]["stations"]
    no_pm24 = next(s for s in raw_air if s["PM2_5_24h"] == "—")  # a station without 24 h PM means
    body = by_topic[f"zq/441204/air_quality/{no_pm24['StationCode']}"]
    assert body["ts"] == "2026-11-30T14:00:00+08:00" and no_pm24["TimePoint"] == "2026-11-30T14:00:00"
    assert "pm2_5_24h" not in body and body["pm2_5_1h"] == float(no_pm24["PM2_5"])
    assert isinstance(body["lon"], float) and body["name"] == no_pm24["PositionName"]

    gaoyao = by_topic["zq/441204/hydrology/81100100"]
    assert gaoyao["station_key"] == "gaoyao" and "warning_m" not in gaoyao  # levels from standards.hydro
    sihui = by_topic["zq/441284/hydrology/81200100"]
    assert (sihui["warning_m"], sihui["guaranteed_m"]) == (9.5, 11.0)  # levels the API gives

    tickets = [b for t, b in by_topic.items() if "/hotline_12345/" in t]
    statuses = Counter(b["status"] for b in tickets)
    assert set(statuses) <= {"accepted", "dispatched", "in_progress", "closed"} and len(statuses) >= 3
    assert {b["region"] for b in tickets} <= {*COUNTIES, CITY}


def test_ticket_counts_per_county_and_city(registry: FeedRegistry, sim: SimulatedApis, wall: Wall) -> None:
    sink = Sink()
    poller(registry, sim, wall, sink).poll_once(TICKETS)
    kpis = {(b["region"], b["metric"]): b for t, b in ((t, orjson.loads(b)) for t, b in sink.messages)
            if "/kpi/" in t}
    rows = sim.document("tickets")["data"]["list"]
    names = {v: k for k, v in sim.names.items()} | {"市直": CITY}
    for region in (*COUNTIES, CITY):
        mine = [r for r in rows if region == CITY or names[r["qx"]] == region]
        today = sum(1 for r in mine if r["slsj"].startswith("2026-11-30"))
        open_ = sum(1 for r in mine if r["zt"] != "已办结")
        assert kpis[(region, "social.hotline_12345.today")]["value"] == today
        assert kpis[(region, "social.hotline_12345.open")]["value"] == open_
        codes = ("accepted", "dispatched", "in_progress", "closed")
        for code, zh in zip(codes, TICKET_STATUS_ZH, strict=True):
            count = sum(1 for r in mine if r["zt"] == zh)
            assert kpis[(region, f"social.hotline_12345.status.{code}")]["value"] == count
    city = kpis[(CITY, "social.hotline_12345.today")]
    assert city["ts"] == "2026-11-30T14:00:00+08:00" and city["unit"] == "件"
    assert city["value"] == len([r for r in rows if r["slsj"].startswith("2026-11-30")]) > 100


# ---- conditional requests ------------------------------------------------------------------------------

def test_a_second_poll_gets_304_and_sends_nothing_until_the_data_changes(
        registry: FeedRegistry, sim: SimulatedApis, wall: Wall) -> None:
    sink = Sink()
    p = poller(registry, sim, wall, sink)
    first = p.poll_once(AIR)
    assert (first.outcome, first.http_status) == ("ok", 200) and first.messages == len(sim.air)

    second = p.poll_once(AIR)
    assert (second.outcome, second.http_status, second.messages) == ("not_modified", 304, 0)
    asked = sim.requests[-1]
    assert asked.status == 304 and asked.if_none_match and asked.if_modified_since
    assert len(sink.messages) == len(sim.air)
    status = {s.name: s for s in p.status()}[AIR]
    assert (status.polls, status.not_modified, status.consecutive_failures) == (2, 1, 0)
    assert status.messages == len(sim.air)
    assert status.last_success_at == T0 and second.delay_s == 60

    wall.advance(60)  # the next data slot
    third = p.poll_once(AIR)
    assert (third.outcome, third.http_status, third.messages) == ("ok", 200, len(sim.air))
    new = {orjson.loads(b)["ts"] for _, b in sink.messages[len(sim.air):]}
    assert new == {"2026-11-30T14:01:00+08:00"}


def test_if_modified_since_alone_also_gets_304(registry: FeedRegistry, sim: SimulatedApis,
                                               wall: Wall) -> None:
    p = poller(registry, sim, wall, Sink())
    assert p.poll_once(HYDRO).outcome == "ok"
    p._states[HYDRO].etag = None  # a client that kept only Last-Modified
    assert p.poll_once(HYDRO).outcome == "not_modified"
    assert sim.requests[-1].if_none_match is None and sim.requests[-1].if_modified_since


def test_an_identical_body_from_a_server_ignoring_conditions_sends_nothing(
        registry: FeedRegistry, sim: SimulatedApis, wall: Wall) -> None:
    sink = Sink()
    p = poller(registry, sim, wall, sink)
    p.poll_once(HYDRO)
    p._states[HYDRO].etag = p._states[HYDRO].last_modified = None  # as if the server sent no validators
    again = p.poll_once(HYDRO)
    assert (again.outcome, again.http_status, again.messages) == ("unchanged", 200, 0)
    assert len(sink.messages) == 5


# ---- failures: backoff, jitter, recovery -------------------------------------------------------------------

class TopOfRange:
    """A random source that always draws the top of the range, and records the ranges asked for."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b


def test_http_errors_back_off_exponentially_and_recovery_resumes(registry: FeedRegistry, sim: SimulatedApis,
                                                                 wall: Wall) -> None:
    sink, mono, rng = Sink(), Mono(), TopOfRange()
    p = poller(registry, sim, wall, sink, clock=mono, rng=rng)
    sim.fail_next(6, status=500, api="air")
    delays = []
    for _ in range(6):
        r = p.poll_once(AIR)
        assert (r.outcome, r.http_status, r.error) == ("error", 500, "HTTP 500 Internal Server Error")
        st = {s.name: s for s in p.status()}[AIR]
        assert st.next_due == mono.t + r.delay_s  # the schedule holds the backoff delay
        delays.append(r.delay_s)
        mono.t = st.next_due
    # Full jitter: uniform in [0, cap], the cap doubling from 5 s up to max_s (300 s).
    assert rng.ranges == [(0.0, 5.0), (0.0, 10.0), (0.0, 20.0), (0.0, 40.0), (0.0, 80.0), (0.0, 160.0)]
    assert delays == [5, 10, 20, 40, 80, 160]
    st = {s.name: s for s in p.status()}[AIR]
    assert (st.consecutive_failures, st.failures, st.last_success_at, st.failing) == (6, 6, None, True)
    assert st.last_error == "HTTP 500 Internal Server Error" and sink.messages == []  # nothing while failing

    r = p.poll_once(AIR)  # the server is back
    assert (r.outcome, r.messages, r.delay_s) == ("ok", len(sim.air), 60)
    st = {s.name: s for s in p.status()}[AIR]
    assert (st.consecutive_failures, st.failures, st.failing) == (0, 6, False)
    assert sink.feeds() == {"air_quality": len(sim.air)}


def test_backoff_delays_are_jittered_within_their_bounds() -> None:
    b = Backoff(initial_s=2, max_s=60, multiplier=3, jitter="full", floor_s=0.5)
    assert [b.cap(n) for n in range(1, 7)] == [2, 6, 18, 54, 60, 60] and b.cap(10_000) == 60
    rng = random.Random(3)
    for n in range(1, 7):
        draws = [b.delay(n, rng) for _ in range(200)]
        assert all(0.5 <= d <= b.cap(n) for d in draws)
        assert len(set(draws)) > 150  # jittered, not a fixed ladder
    assert sum(b.delay(4, rng) for _ in range(400)) / 400 == pytest.approx(54 / 2, rel=0.15)
    equal = Backoff(initial_s=2, max_s=60, jitter="equal")  # cap 16 s after 4 failures
    assert all(8 <= equal.delay(4, rng) <= 16 for _ in range(50))
    assert Backoff(initial_s=2, max_s=60, jitter="none").delay(3, rng) == 8


def test_timeouts_garbage_missing_items_and_refused_connections_are_failures(
        registry: FeedRegistry, sim: SimulatedApis, wall: Wall) -> None:
    sink = Sink()
    p = poller(registry, sim, wall, sink, timeout_s=0.3)

    sim.hang_next(1, seconds=5, api="air")
    started = time.monotonic()
    r = p.poll_once(AIR)
    assert r.outcome == "error" and "timed out after 0.3s" in (r.error or "")
    assert time.monotonic() - started < 2

    sim.garble_next(1, api="hydro")
    r = p.poll_once(HYDRO)
    assert r.outcome == "error" and (r.error or "").startswith("response is not JSON")

    sim.tamper("tickets", lambda doc: {"code": "0000", "data": {}})
    r = p.poll_once(TICKETS)
    assert r.outcome == "error" and r.error == "items path 'data.list' not found in the response"
    sim.tamper("tickets", None)

    dead_end = sources(registry, sim)[AIR].model_copy(
        update={"name": "nobody-home", "url": f"http://127.0.0.1:{free_port()}/api/air/stations"})
    q2 = Poller([dead_end], sink, "zq", now=wall)
    r = q2.poll_once("nobody-home")
    assert r.outcome == "error" and (r.error or "").startswith("cannot connect")
    assert sink.messages == []

    # Each failed source recovers on its next poll; the timed-out one got a fresh 200, not a stale 304.
    assert [p.poll_once(n).outcome for n in (AIR, HYDRO, TICKETS)] == ["ok", "ok", "ok"]
    assert {s.name: s.failures for s in p.status()} == {AIR: 1, HYDRO: 1, TICKETS: 1}


def test_the_thread_polls_each_source_on_its_schedule_and_a_dead_one_blocks_nobody(
        registry: FeedRegistry, sim: SimulatedApis, wall: Wall) -> None:
    sink = Sink()
    srcs = list(sources(registry, sim, interval_s=1, timeout_s=0.5).values())
    dead = srcs[0].model_copy(update={"name": "dead-air", "url": f"http://127.0.0.1:{free_port()}/x"})
    p = Poller([dead, *srcs], sink, "zq", now=wall).start()
    try:
        wait_until(lambda: {"air_quality", "hydrology", "hotline_12345"} <= set(sink.feeds())
                   and min(s.polls for s in p.status() if s.name != "dead-air") >= 2,
                   "two polls of every live source", 10, interval=0.05)
    finally:
        started = time.monotonic()
        p.stop()
        assert time.monotonic() - started < 3
    status = {s.name: s for s in p.status()}
    assert set(sink.feeds()) == {"air_quality", "hydrology", "hotline_12345", "kpi"}
    assert all(status[n].polls >= 2 and status[n].last_success_at == T0 for n in (AIR, HYDRO, TICKETS))
    assert status[AIR].not_modified >= 1  # the clock stood still: polls after the first got 304
    assert status["dead-air"].consecutive_failures >= 1 and status["dead-air"].last_success_at is None
    report = status["dead-air"].as_json()
    assert report["failing"] is True and report["url"].endswith("/x")
    assert "cannot connect" in str(report["last_error"])


# ---- through the real ingest worker and store (SQLite and PostgreSQL) --------------------------------------

def _bad_time(doc: dict[str, Any]) -> dict[str, Any]:
    doc["result"]["stations"][0]["TimePoint"] = "昨天下午"
    return doc


LEVELS = {"81100100": 10.0, "81100200": 15.3, "81100300": 16.99, "81200100": 11.2, "81200200": 23.0}


def _levels(doc: dict[str, Any]) -> dict[str, Any]:
    for row in doc["data"]["rows"]:
        row["Z"] = LEVELS[row["STCD"]]
    return doc


def _realtime(station: dict[str, str]) -> dict[str, float | None]:
    """The real-time AQI inputs for one API row, as docs/polling.md says they are chosen."""
    n = lambda k: None if station[k] == "—" else float(station[k])  # noqa: E731
    pm = lambda name: n(f"{name}_24h") if n(f"{name}_24h") is not None else n(name)  # noqa: E731
    return {"so2_1h": n("SO2"), "so2_24h": n("SO2_24h"), "no2_1h": n("NO2"), "co_1h": n("CO"),
            "o3_1h": n("O3"), "o3_8h": n("O3_8h"), "pm2_5_24h": pm("PM2_5"), "pm10_24h": pm("PM10")}


def test_polled_items_are_stored_through_ingest_and_a_bad_one_is_a_dead_letter(
        engine: Engine, registry: FeedRegistry, sim: SimulatedApis, wall: Wall) -> None:
    ingest = Ingestor(engine, make_decoder(), batch_size=200, batch_ms=20).start()
    try:
        p = poller(registry, sim, wall, ingest.submit)
        sim.tamper("air", _bad_time)
        sim.fail_next(1, status=503, api="hydro")
        assert [p.poll_once(n).outcome for n in (AIR, HYDRO, TICKETS)] == ["ok", "error", "ok"]
        assert ingest.drain(15)

        # A failing source: its feed simply has nothing, so feed health says it is stale.
        with Session(engine) as s:
            health = {h.feed: h for h in feed_health(q.feed_statuses(s), registry, process_clock().now(), 300)}
        assert health["hydrology"].stale and health["hydrology"].messages == 0
        assert not health["air_quality"].stale and not health["hotline_12345"].stale

        sim.tamper("hydro", _levels)
        assert p.poll_once(HYDRO).outcome == "ok"
        assert ingest.drain(15)
    finally:
        ingest.stop()

    raw = {s["StationCode"]: s for s in sim.document("air")["result"]["stations"]}
    bad = sim.document("air")["result"]["stations"][0]["StationCode"]
    with Session(engine) as s:
        dead = q.recent_dead_letters(s)
        air = q.latest_values(s, "air_quality")
        hydro = {r.device_id: r.value for r in q.latest_values(s, "hydrology", ["water_status"])}
        devices = {d.id: d for d in q.devices(s, kind="air_quality")}
        kpis = q.latest_kpis(s, ["social.hotline_12345.today", "social.hotline_12345.open"], CITY)
        health = {h.feed: h for h in feed_health(q.feed_statuses(s), registry, process_clock().now(), 300)}

    # The bad item is a dead letter with the decoder's reason; the other stations are stored.
    assert [(d.feed, d.topic) for d in dead] == [("air_quality", f"zq/441202/air_quality/{bad}")]
    assert dead[0].reason.startswith("invalid air_quality payload: ts:")
    assert orjson.loads(dead[0].payload)["ts"] == "昨天下午"
    assert health["air_quality"].messages == len(raw) - 1 and health["air_quality"].dead_letters == 1
    values: dict[str, dict[str, float]] = {}
    for r in air:
        values.setdefault(r.device_id, {})[r.metric] = r.value
    assert set(values) == set(raw) - {bad}

    for code, v in values.items():
        api = raw[code]
        # Concentrations are stored as the API gave them …
        assert v["pm2_5_1h"] == float(api["PM2_5"]) and v["o3_8h"] == float(api["O3_8h"])
        assert ("co_1h" in v) == (api["CO"] != "—") and ("pm10_24h" in v) == (api["PM10_24h"] != "—")
        # … and the AQI is standards.aqi's real-time AQI of the same concentrations.
        expected = aqi(_realtime(api), "HJ633-2012", averaging="1h")
        assert (v["aqi"], v["aqi_level"]) == (expected.aqi, expected.level), code
        attrs = devices[code].attrs
        assert attrs["aqi_edition"] == "HJ633-2012"
        assert attrs["primary_pollutants"] == [m.value for m in expected.primary_pollutants]
        assert attrs["aqi_pm_basis"]["pm2_5"] == ("1h" if api["PM2_5_24h"] == "—" else "24h")

    # Water status: 0 below warning, 1 at or above warning, 2 at or above guaranteed.
    assert hydro == {"81100100": 1.0, "81100200": 1.0, "81100300": 0.0, "81200100": 2.0, "81200200": 0.0}
    assert not health["hydrology"].stale

    rows = sim.document("tickets")["data"]["list"]
    today = sum(1 for r in rows if r["slsj"].startswith("2026-11-30"))
    assert kpis["social.hotline_12345.today"].value == today
    assert kpis["social.hotline_12345.open"].value == sum(1 for r in rows if r["zt"] != "已办结")


def test_the_aqi_edition_is_the_registrations_choice(tmp_path: Path) -> None:
    engine = make_engine(migrated_sqlite(tmp_path / "zq.sqlite3"))
    reg = FeedRegistry()
    for feed in (*BUILTIN_FEEDS, *make_polled_feeds("HJ633-2026")):
        reg.register(feed)
    body = {"device_id": "AQ44120201", "ts": "2026-11-30T14:00:00+08:00", "lon": 112.4825, "lat": 23.1073,
            "pm2_5_24h": 70.0, "pm2_5_1h": 90.0, "no2_1h": 40.0}
    big_so2 = {**body, "device_id": "AQ44120202", "so2_1h": 900.0}  # SO2 1h > 800 with no 24h value
    ingest = Ingestor(engine, make_decoder(registry=reg), batch_ms=20).start()
    try:
        ingest.submit("zq/441202/air_quality/AQ44120201", orjson.dumps(body))
        ingest.submit("zq/441202/air_quality/AQ44120202", orjson.dumps(big_so2))
        assert ingest.drain(10)
    finally:
        ingest.stop()
    with Session(engine) as s:
        v = {(r.device_id, r.metric): r.value for r in q.latest_values(s, "air_quality")}
        attrs = {d.id: d.attrs for d in q.devices(s, kind="air_quality")}
    engine.dispose()
    same = {"pm2_5_24h": 70, "no2_1h": 40}
    edition_2026 = aqi(same, "HJ633-2026", "1h").aqi
    assert v[("AQ44120201", "aqi")] == edition_2026 > aqi(same, "HJ633-2012", "1h").aqi
    assert attrs["AQ44120201"]["aqi_edition"] == "HJ633-2026"
    # HJ 633 gives SO2 1h > 800 no IAQI of its own: no AQI is stored rather than a guess; the rest is.
    assert ("AQ44120202", "aqi") not in v and v[("AQ44120202", "so2_1h")] == 900.0
    assert "so2_24h" in attrs["AQ44120202"]["aqi_error"]


# ---- the sources file -------------------------------------------------------------------------------------

def _file(tmp_path: Path, change: Any) -> Path:
    data = orjson.loads(DEFAULT_SOURCES.read_bytes())
    change(data)
    path = tmp_path / "sources.json"
    path.write_bytes(orjson.dumps(data))
    return path


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value
    return change


@pytest.mark.parametrize("change, error", [
    (_set("sources.0.feed", "air"), "sources[0] (air-quality-stations).feed: unknown feed 'air'"),
    (_set("sources.0.mapping.fields.pm25", "PM2_5"),
     "sources[0] (air-quality-stations).mapping.fields.pm25: not a field of the air_quality payload"),
    (_set("sources.1.mapping.fields.station_key", {"path": "STCD", "lookup": "stations"}),
     "sources[1] (hydrology-river-levels).mapping.fields.station_key.lookup: no table 'stations'"),
    (_set("sources.1.mapping.fields.ts", {"path": "TM", "tz": "Asia/Zhaoqing"}),
     "sources[1] (hydrology-river-levels).mapping.fields.ts: unknown time zone 'Asia/Zhaoqing'"),
    (_set("sources.2.mapping.fields.region", {"field": "qx"}),
     "sources[2] (hotline-12345-tickets).mapping.fields.region.field: only the county and key levels"),
    (_set("sources.0.mapping.key", {"field": "station"}),
     "sources[0] (air-quality-stations).mapping.key.field: 'station' is not one of the mapped fields"),
    (_set("sources.0.backoff", {"initial_s": 10, "max_s": 5}),
     "sources[0] (air-quality-stations).backoff: max_s 5.0 is below initial_s 10.0"),
    (_set("sources.0.interval_s", 0),
     "sources[0] (air-quality-stations).interval_s: Input should be greater than or equal to 1"),
    (_set("sources.0.headers", {"If-None-Match": "x"}),
     "sources[0] (air-quality-stations).headers: if-none-match is sent by the poller itself"),
    (_set("sources.0.url", "{api}/x"), "sources[0] (air-quality-stations).url: unknown variable {api}"),
    (_set("sources.0.mapping.fields.ts", {"path": "TimePoint", "const": "x"}),
     "sources[0] (air-quality-stations).mapping.fields.ts: give exactly one of path, const or field"),
    (lambda d: d["sources"][0]["mapping"]["fields"].pop("ts"),
     "sources[0] (air-quality-stations).mapping.fields: the air_quality payload needs ts"),
    (_set("sources.0.typo", 1), "sources[0] (air-quality-stations).typo: Extra inputs are not permitted"),
])
def test_errors_in_a_sources_file_name_the_file_and_the_field(tmp_path: Path, registry: FeedRegistry,
                                                               change: Any, error: str) -> None:
    path = _file(tmp_path, change)
    with pytest.raises(SourcesError) as e:
        load_sources(path, registry, {"sim": "http://127.0.0.1:1"})
    assert str(e.value).startswith(f"{path}: ") and error in str(e.value), str(e.value)


def test_a_sources_file_that_is_not_json_or_not_there(tmp_path: Path, registry: FeedRegistry) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{sources: []", encoding="utf-8")
    with pytest.raises(SourcesError, match=r"bad\.json: not valid JSON"):
        load_sources(bad, registry)
    with pytest.raises(SourcesError, match=r"missing\.json: cannot read"):
        load_sources(tmp_path / "missing.json", registry)


def test_value_specs_convert_what_they_can_and_pass_the_rest_to_the_decoder(registry: FeedRegistry) -> None:
    doc = {"schema_version": 1, "tables": {"by_name": {"端州区": "441202"}}, "sources": [{
        "name": "t", "url": "http://127.0.0.1:9/x", "feed": "hydrology",
        "mapping": {"items": "payload.0.rows", "county": {"path": "where", "lookup": "by_name"},
                    "key": {"field": "device_id"}, "fields": {
                        "device_id": {"path": "id", "as": "string"},
                        "ts": {"path": "t", "format": "%Y%m%d%H%M", "tz": "Asia/Shanghai"},
                        "lon": {"const": 112.4825}, "lat": {"path": "pos.lat", "default": 23.1073},
                        "water_level_m": {"path": "cm", "multiply": 0.01}, "river": {"const": "西江"}}}}]}
    (source,) = parse_sources(doc, registry)
    items = [{"id": 81100100, "t": "202611301400", "where": "端州区", "cm": "1234"},
             {"id": "X1", "t": "tomorrow", "where": "外地", "cm": "—"}]
    response = {"payload": [{"rows": items}]}
    (good, bad) = [(t, orjson.loads(b)) for t, b in map_document(source, response, "zq")]
    assert good == ("zq/441202/hydrology/81100100", {
        "device_id": "81100100", "ts": "2026-11-30T14:00:00+08:00", "lon": 112.4825, "lat": 23.1073,
        "water_level_m": 12.34, "river": "西江"})
    # A county not in the table and a time that does not parse pass through: the decoder names them.
    assert bad[0] == "zq/外地/hydrology/X1" and bad[1]["ts"] == "tomorrow" and "water_level_m" not in bad[1]
    decoded = make_decoder().decode(bad[0], orjson.dumps(bad[1]), process_clock().now())
    assert not isinstance(decoded, Accepted) and "topic county '外地'" in decoded.reason


# ---- the simulated APIs ----------------------------------------------------------------------------------

def test_the_simulated_apis_are_deterministic_and_move_like_the_real_thing() -> None:
    a = SimulatedApis(CITY, seed=11, clock=lambda: T0)
    b = SimulatedApis(CITY, seed=11, clock=lambda: T0)
    other = SimulatedApis(CITY, seed=12, clock=lambda: T0)
    for api in ("air", "hydro", "tickets"):
        assert orjson.dumps(a.document(api, T0)) == orjson.dumps(b.document(api, T0))
    assert a.document("air", T0) != other.document("air", T0)

    def mean(at: datetime, key: str) -> float:
        rows = a.document("air", at)["result"]["stations"]
        return sum(float(r[key]) for r in rows) / len(rows)

    morning, afternoon = T0.replace(hour=7), T0.replace(hour=15)
    assert mean(morning, "PM2_5") > 1.2 * mean(afternoon, "PM2_5")  # stagnant night air, afternoon mixing
    assert mean(afternoon, "O3") > 2 * mean(morning, "O3")  # photochemistry peaks in the afternoon
    # Tickets pile up during the day; 封开江口 rises past its warning level soon after start.
    assert len(a.tickets_at(T0.replace(hour=18))) > len(a.tickets_at(T0.replace(hour=9))) + 50
    def fengkai(at: datetime) -> dict[str, Any]:
        return next(r for r in a.document("hydro", at)["data"]["rows"] if r["STNM"] == "封开江口")

    assert fengkai(T0 + timedelta(minutes=40))["Z"] >= 17.0
    assert fengkai(T0 + timedelta(minutes=40))["WRZ"] is None  # its levels come from standards.hydro


def test_schema_exports_include_the_polled_feeds() -> None:
    from feeds.schemas import EXPORTED_FEEDS, render

    files = render()
    for feed in POLLED_FEEDS:
        assert feed in EXPORTED_FEEDS and f"{feed.name}.schema.json" in files
        assert f"zq/{{county_adcode}}/{feed.name}/" in files["README.md"]
