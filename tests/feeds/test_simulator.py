"""The simulator: repeatable, inside the real counties, always valid, with fog, moving cases and every KPI."""

from __future__ import annotations

from dashboard.panels.base import default_measures

import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from feeds import Accepted, simdata
from feeds.simhttp import PATHS, SimulatedApis
from feeds.simulator import CST, Simulator, SimulatorThread
from geo import City
from standards import gbt28181
from topics import THEMES
from tests.feeds.samples import CITY, locator, make_decoder
from tests.waiting import wait_until

START = datetime(2026, 11, 30, 7, 30, tzinfo=CST)  # a Monday morning
STEP = timedelta(seconds=10)
MINUTES = 20

Run = list[tuple[datetime, list[tuple[str, bytes]]]]


@pytest.fixture(scope="module")
def run() -> Run:
    """Twenty simulated minutes, polled every ten seconds as SimulatorThread would."""
    sim = Simulator(seed=20211)
    times = [START + i * STEP for i in range(MINUTES * 6 + 1)]
    return [(t, sim.messages(t)) for t in times]


def by_feed(messages: list[tuple[str, bytes]], feed: str) -> list[tuple[str, dict]]:
    return [(t, orjson.loads(p)) for t, p in messages if t.split("/")[2] == feed]


def test_the_same_seed_gives_the_same_messages_and_another_seed_does_not() -> None:
    a, b, c = Simulator(seed=7), Simulator(seed=7), Simulator(seed=8)
    for i in range(4):
        now = START + i * timedelta(seconds=45)
        ma, mb, mc = a.messages(now), b.messages(now), c.messages(now)
        assert ma == mb and ma
        assert ma != mc
    assert [(d.id, d.lon, d.lat) for d in a.devices] == [(d.id, d.lon, d.lat) for d in b.devices]
    assert [(d.lon, d.lat) for d in a.devices] != [(d.lon, d.lat) for d in c.devices]


def test_devices_lie_inside_their_county_and_their_ids_name_it() -> None:
    sim = Simulator(seed=20211)
    counties = {d.county for d in sim.devices}
    assert counties == set(locator().adcodes)  # every county has devices
    for d in sim.devices:
        assert locator().locate_one(d.lon, d.lat) == d.county, d
        if d.feed in ("video_point", "road_weather"):
            dev = gbt28181.decode(d.id)
            assert dev.county_adcode == d.county and dev.city_adcode == "441200"
            assert dev.is_video and dev.network_code == "6"  # cameras on the government network
            assert dev.industry_code == ("09" if d.feed == "video_point" else "04")
    assert len({d.id for d in sim.devices}) == len(sim.devices)
    kinds = defaultdict(int)
    for d in sim.devices:
        kinds[d.feed] += 1
    assert kinds["video_point"] >= 8 and kinds["road_weather"] == 16 and kinds["fire_risk"] > 0


def test_every_message_of_twenty_minutes_decodes_as_accepted(run: Run) -> None:
    decoder = make_decoder()
    feeds = defaultdict(int)
    for now, messages in run:
        for topic, payload in messages:
            result = decoder.decode(topic, payload, now)
            assert isinstance(result, Accepted), f"{topic}: {result.reason}"
            assert result.payload.ts <= now
            if result.feed.located:
                assert result.context.county_adcode == topic.split("/")[1]
            feeds[result.feed.name] += 1
    assert set(feeds) == {"video_point", "road_weather", "fire_risk", "grid_event", "kpi"}
    # Each station reports about once per cadence: 20 minutes of 60 s stations is ~20 readings each.
    stations = sum(1 for d in Simulator(seed=20211).devices if d.feed == "road_weather")
    assert 17 * stations <= feeds["road_weather"] <= 23 * stations


def test_a_fog_episode_is_under_way_at_start(run: Run) -> None:
    _, first = run[0]
    visibility = sorted(b["visibility_m"] for _, b in by_feed(first, "road_weather"))
    assert visibility[0] < 200  # below the 200 m of Art. 81's first speed limit
    assert visibility[-1] > 3000  # the rest of the city is clear


def test_grid_events_move_through_the_steps_in_order_and_close(run: Run) -> None:
    history: dict[str, list[dict]] = defaultdict(list)
    for _, messages in run:
        for _, body in by_feed(messages, "grid_event"):
            history[body["event_id"]].append(body)
    assert len(history) > 60  # the backlog and the new reports
    for event_id, updates in history.items():
        steps = [u["step"] for u in updates]
        assert steps[0] == 1, f"{event_id} first seen at step {steps[0]}"
        assert steps == list(range(1, len(steps) + 1)), f"{event_id} steps {steps}"  # one step at a time
        times = [datetime.fromisoformat(u["ts"]) for u in updates]
        assert times == sorted(times)
        assert len({(u["reported_at"], u["kind"], u["category"], u["lon"], u["lat"]) for u in updates}) == 1
    reached = defaultdict(int)
    for updates in history.values():
        reached[updates[-1]["step"]] += 1
    assert reached[6] + reached[7] > 0, "no case reached 核查结案 in twenty minutes"
    assert reached[7] > 0, "no case was evaluated (step 7) in twenty minutes"
    new_reports = [e for e, u in history.items() if datetime.fromisoformat(u[0]["ts"]) >= START]
    assert len(new_reports) > 20  # about one every 20 s


def test_kpis_cover_every_theme(run: Run) -> None:
    _, first = run[0]
    sent = {(b["metric"], b["region"]) for _, b in by_feed(first, "kpi")}
    # 12345 tickets come from the hotline's HTTP API (feeds/simhttp.py), counted by the poller, not from MQTT.
    derived = default_measures().derived_sources()
    wanted = {(k.key, k.region_in(CITY)) for theme in THEMES for k in theme.kpis
              if not k.key.startswith("social.hotline_12345") and k.key not in derived}
    assert {t.key for t in THEMES} == {"economy", "market", "social", "service", "ecology"}
    assert wanted <= sent, f"missing {sorted(wanted - sent)}"
    # Figures the dashboard derives from raw data (AQI and PM2.5 from the stations, open cases from the events)
    # are never published as KPIs: one number, one source.
    assert {m for m, _ in sent} & set(derived) == set()
    # KPIs come again once a simulated minute.
    kpi_times = [now for now, messages in run if by_feed(messages, "kpi")]
    assert len(kpi_times) == MINUTES + 1


def test_every_county_reports_its_themes_county_kpis_and_counts_add_up_to_the_city(run: Run) -> None:
    _, first = run[0]
    values = {(b["metric"], b["region"]): b["value"] for _, b in by_feed(first, "kpi")}
    counties = set(locator().adcodes)
    derived = default_measures().derived_sources()
    for theme in THEMES:
        for key in theme.by_county:
            if key not in derived:  # a derived one is computed per county from the raw data
                assert {r for m, r in values if m == key} >= counties, key
    for key in ("econ.projects.construction", "market.entities_new_today", "social.mediation.village"):
        assert sum(values[(key, c)] for c in counties) == values[(key, "441200")], key
    rates = [values[("service.haochaping_active_rate", c)] for c in counties]
    assert len(set(rates)) > 1 and all(0 <= r <= 100 for r in rates)


def test_kpi_values_are_never_negative_at_any_hour() -> None:
    sim = Simulator(seed=3, kpi_interval_s=60)
    day = datetime(2026, 12, 1, 0, 0, tzinfo=CST)  # a Tuesday
    for hour in range(24):
        for topic, body in by_feed(sim.messages(day + timedelta(hours=hour)), "kpi"):
            assert body["value"] >= 0, f"{hour:02d}:00 {topic} = {body['value']}"


def test_the_thread_feeds_a_sink_until_stopped() -> None:
    got: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def sink(topic: str, payload: bytes) -> None:
        with lock:
            got.append((topic, payload))

    thread = SimulatorThread(Simulator(seed=5), sink, period_s=0.05).start()
    try:
        wait_until(lambda: len(got) >= 100, "100 messages from the thread", 10, interval=0.02)
    finally:
        thread.stop()
    assert not any(t.name == "simulator" and t.is_alive() for t in threading.enumerate())


# ---- the simulators' data (feeds/simdata) -------------------------------------------------------------------


@pytest.fixture
def no_simdata(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A data folder without the city's file (the cache cleared before and after)."""
    monkeypatch.setattr(simdata, "SIMDATA_DIR", tmp_path)
    simdata.sim_data.cache_clear()
    yield tmp_path
    simdata.sim_data.cache_clear()


def test_zhaoqing_facts_are_data_checked_against_the_packaged_counties() -> None:
    city = City.load(CITY)
    data = simdata.sim_data(city)
    assert list(data.counties) == list(city.counties)  # every county, in adcode order
    assert data.counties["441204"].rivers == ("西江", "新兴江") and data.counties["441202"].fire_stations == 0
    assert abs(sum(d.event_weight for d in data.counties.values()) - 1) < 1e-9
    assert data.fog_station_county == "441204" and len(data.hydro_stations) == 5


def test_a_city_without_simulator_data_gets_plain_defaults(no_simdata: Path) -> None:
    city = City.load(CITY)
    sim = Simulator(seed=5)
    assert sim.data == simdata.SimCity.plain(city)
    per = defaultdict(lambda: defaultdict(int))
    for d in sim.devices:
        per[d.feed][d.county] += 1
    assert all(per[feed] == {c: n for c in city.counties} for feed, n in
               (("video_point", 2), ("road_weather", 2), ("fire_risk", 1)))
    counties, weights = sim.event_weights
    assert counties == list(city.counties) and weights == [1 / len(counties)] * len(counties)
    first = sim.messages(START)
    assert by_feed(first, "grid_event") and by_feed(first, "kpi")
    fog = [d for d in sim.devices if d.fog is not None]
    assert [d.county for d in fog] == [min(city.counties)]
    apis = SimulatedApis(CITY, seed=5, clock=lambda: START)
    assert len(apis.air) == len(city.counties) and apis.hydro == ()
    for api in PATHS:
        assert apis.document(api, START)


def test_a_data_file_for_other_counties_is_refused(no_simdata: Path) -> None:
    city = City.load(CITY)
    counties = "\n".join(f"  '{c}': {{}}" for c in list(city.counties)[1:])  # one county left out
    (no_simdata / f"{CITY}.yaml").write_text(f"city: '{CITY}'\ncounties:\n{counties}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="are not the packaged city's"):
        simdata.sim_data(city)
