"""The measures layer: derived figures equal an independent pandas computation over the same stored rows, a
derived figure is refused as a KPI message, and the registry answers for reported KPIs from the KPI feed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

import clock
from clock import FakeClock
from measures import MeasureRegistry, register_builtin_measures
from standards.fire import beaufort, fire_danger
from standards.aqi import aqi
from store import make_engine
from store.models import Base
from tests.feeds.samples import INSIDE, T0, event, fire, ingest, iso, kpi, make_decoder, msg, road
from tests.conftest import migrated_sqlite
from topics.cases import case_limits

CITY = "441200"
COUNTIES = sorted(INSIDE)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(migrated_sqlite(tmp_path_factory.mktemp("measures") / "zq.sqlite3"))
    yield engine
    engine.dispose()


def emptied(engine: Engine) -> Engine:
    with Session(engine) as s, s.begin():
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "alembic_version":
                s.execute(delete(table))
    return engine


def registry() -> MeasureRegistry:
    reg = MeasureRegistry()
    register_builtin_measures(reg, CITY, "HJ633-2012")
    return reg


cases = st.lists(st.tuples(st.sampled_from(COUNTIES), st.booleans()), max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases)
def test_open_cases_equal_pandas_over_the_events(store: Engine, generated: list[tuple[str, bool]]) -> None:
    engine = emptied(store)
    items = []
    for n, (county, closed) in enumerate(generated):
        body = event(county, n + 1, step=6 if closed else 1 + n % 5)
        items.append((f"zq/{county}/grid_event/{body['event_id']}", body))
    if items:
        ingest(engine, items)
    with Session(engine) as s:
        got = registry().latest(s, ["social.open_grid_cases"], [*COUNTIES, CITY]).get("social.open_grid_cases", {})
    if not items:
        assert got == {}  # no case ever: no figure (not a count of 0 with no data time)
        return
    frame = pd.DataFrame(generated, columns=["county", "closed"])
    expected = frame[~frame["closed"]].groupby("county").size().reindex(COUNTIES, fill_value=0)
    assert {c: got[c].value for c in COUNTIES} == {c: float(v) for c, v in expected.items()}
    assert got[CITY].value == float(expected.sum())  # the city: the sum of its counties


stations = st.lists(st.tuples(st.sampled_from(COUNTIES), st.floats(3, 400), st.floats(5, 500), st.floats(2, 300)),
                    min_size=1, max_size=16)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stations)
def test_county_and_city_aqi_equal_pandas_means_through_hj633(store: Engine,
                                                               generated: list[tuple[str, float, float, float]]) -> None:
    engine = emptied(store)
    rows = []
    items = []
    for i, (county, pm25, pm10, no2) in enumerate(generated):
        lon, lat = INSIDE[county]
        code = f"AQ{county}{i:02d}"
        pm25, pm10, no2 = round(pm25, 1), round(pm10, 1), round(no2, 1)
        items.append((f"zq/{county}/air_quality/{code}", {"device_id": code, "ts": iso(T0), "lon": lon, "lat": lat,
                                                          "pm2_5_1h": pm25, "pm10_1h": pm10, "no2_1h": no2}))
        rows.append({"county": county, "pm2_5": pm25, "pm10": pm10, "no2": no2})
    ingest(engine, items)
    frame = pd.DataFrame(rows)

    def expected(part: pd.DataFrame) -> tuple[float, float]:
        # Exact means of the decimals sent (pandas groups, fractions add): HJ 633 rounds up, so a float sum's
        # last bit must not decide an AQI.
        means = part[["pm2_5", "pm10", "no2"]].map(lambda v: Fraction(str(v))).sum() / len(part)
        result = aqi({"pm2_5_24h": means["pm2_5"], "pm10_24h": means["pm10"], "no2_1h": means["no2"]},
                     "HJ633-2012", averaging="1h")
        pm = Decimal(means["pm2_5"].numerator) / Decimal(means["pm2_5"].denominator)
        return float(result.aqi), float(pm.quantize(Decimal("0.1"), ROUND_HALF_UP))

    want = {c: expected(part) for c, part in frame.groupby("county")}
    want[CITY] = expected(frame)
    with Session(engine) as s:
        got = registry().latest(s, ["eco.aqi", "eco.pm2_5"], [*COUNTIES, CITY])
    assert {r: p.value for r, p in got["eco.aqi"].items()} == {r: v[0] for r, v in want.items()}
    assert {r: p.value for r, p in got["eco.pm2_5"].items()} == {r: v[1] for r, v in want.items()}


def test_history_of_a_derived_measure_is_computed_from_the_raw_rows_of_each_interval(store: Engine) -> None:
    engine = emptied(store)
    lon, lat = INSIDE["441202"]

    def station(code: str, minutes: int, pm25: float) -> tuple[str, dict[str, Any]]:
        return (f"zq/441202/air_quality/{code}", {"device_id": code, "ts": iso(T0 + timedelta(minutes=minutes)),
                                                  "lon": lon, "lat": lat, "pm2_5_1h": pm25})

    ingest(engine, [station("AQ44120201", 10, 20.0), station("AQ44120202", 20, 40.0),  # hour 1: mean 30
                    station("AQ44120201", 70, 60.0)])  # hour 2: one station, 60
    edges = [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0 + timedelta(hours=3)]
    with Session(engine) as s:
        samples = registry().samples(s, "eco.pm2_5", "441202", edges)
        opened = registry().samples(s, "social.open_grid_cases", "441202", edges)
    assert [p.value if p else None for p in samples] == [30.0, 60.0, None]  # a silent hour stays a gap
    assert [p.value for p in opened if p] == [0.0, 0.0, 0.0]


def test_a_kpi_message_for_a_derived_measure_is_refused_with_the_reason(store: Engine) -> None:
    decoder = make_decoder(derived=registry().derived_sources())
    for key, region in (("eco.aqi", "441202"), ("eco.pm2_5", "441224"), ("social.open_grid_cases", CITY),
                        ("aqi", "441202")):
        topic, payload = msg("kpi", kpi(key, region, value=42.0))
        result = decoder.decode(topic, payload, T0)
        assert "not accepted as a KPI" in result.reason and "derives it from the stored raw data" in result.reason
    topic, payload = msg("kpi", kpi("econ.gdp_ytd", CITY, value=2400.0))  # reported by a business system
    assert not hasattr(decoder.decode(topic, payload, T0), "reason")


def test_the_app_refuses_a_derived_kpi_message_to_dead_letters(tmp_path: Path) -> None:
    from dashboard import create_app
    from settings import Settings
    from store.models import DeadLetter

    app = create_app(Settings(db=f"sqlite:///{tmp_path / 'zq.sqlite3'}", simulate=False, ingest=True),
                     start_feeds=True)
    service = app.server.config["ZQ_FEEDS"]
    try:
        service.ingestor.submit(*msg("kpi", kpi("eco.aqi", "441202", value=36.0)))
        service.ingestor.submit(*msg("kpi", kpi("econ.gdp_ytd", CITY, value=2400.0)))
        assert service.ingestor.drain(10)
    finally:
        service.stop()
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s:
        [letter] = s.query(DeadLetter).all()
    assert letter.topic == "zq/441202/kpi/eco.aqi" and "HJ 633" in letter.reason


def test_a_rule_reading_a_measure_fires_on_the_value_the_wall_shows(tmp_path: Path) -> None:
    from dashboard.panels.base import PanelInput
    from tests.components import nodes
    from tests.dashboard.apps import app_with_themes
    from store.models import Alarm

    app = app_with_themes(tmp_path)
    ctx = app.server.config["ZQ_CONTEXT"]
    ecology = ctx.topics.path("ecology")
    ecology.write_text(ecology.read_text(encoding="utf-8").replace("rules:\n", (
        "rules:\n- id: county-aqi\n  kind: measure\n  measure: aqi\n  county: '441202'\n  above: 100\n"), 1),
        encoding="utf-8")
    ctx.topics.refresh()
    assert not ctx.topics.errors()
    lon, lat = INSIDE["441202"]
    now = ctx.now().replace(microsecond=0)
    # Two stations: the worst alone is AQI 158, the county's (HJ 663: mean PM2.5 of 120 and 40, 80) is 107.
    ingest(ctx.engine, [(f"zq/441202/air_quality/{code}", {"device_id": code, "ts": iso(now), "lon": lon, "lat": lat,
                                                           "pm2_5_1h": pm})
                        for code, pm in (("AQ44120201", 120.0), ("AQ44120202", 40.0))])
    changes = ctx.alerts.tick()
    with Session(ctx.engine) as s:
        [alarm] = s.query(Alarm).filter(Alarm.rule == "ecology/county-aqi").all()
        panel = ctx.registries.panels["air_quality"]
        out = panel.render(PanelInput(session=s, lang="zh", county=None, health={}, now=now, names=ctx.names,
                                      theme="ecology", measures=ctx.registries.measures))
    shown = [getattr(n, "data-value") for n in nodes(out.body)
             if getattr(n, "data-measure", None) == "eco.aqi" and getattr(n, "data-region", None) == "441202"]
    assert alarm.id in changes.raised and alarm.value == 107.0 and alarm.county_adcode == "441202"
    assert shown == ["107.0"]  # the panel's row for 端州区: the number the rule judged
    assert "端州区" in alarm.title_zh and "107 ≥ 100" in alarm.title_zh


def test_the_video_online_rate_and_the_maps_device_statuses_follow_one_rule(tmp_path: Path) -> None:
    from dashboard import drill
    from tests.dashboard.apps import app_with_themes
    from tests.feeds.samples import video

    app = app_with_themes(tmp_path)
    ctx = app.server.config["ZQ_CONTEXT"]
    now = ctx.now().replace(microsecond=0)
    bodies = [video("441202", 1, ts=now, online=True), video("441202", 2, ts=now, online=False),
              video("441203", 3, ts=now - timedelta(hours=2), online=True)]  # silent for two hours
    ingest(ctx.engine, [(msg("video_point", b)[0], b) for b in bodies])
    with Session(ctx.engine) as s:
        got = ctx.registries.measures.latest(s, ["video.online_rate"], [CITY, "441202", "441203"])["video.online_rate"]
        statuses = sorted(p.status for p in drill.devices_at(ctx, s, None, now))
    assert statuses == ["offline", "online", "stale"]  # the drill map: one each
    assert {r: p.value for r, p in got.items()} == {CITY: 33.3, "441202": 50.0, "441203": 0.0}


# ---- station measures: fog, fire danger, water over warning; overdue cases -----------------------------

NOW = T0 + timedelta(hours=6)
ages = st.sampled_from([0, 5, 20, 90, 600])  # minutes before NOW: the longest is past every feed's window


@pytest.fixture
def at_now() -> Iterator[None]:
    """Which stations still report is judged on the process clock: stand it at NOW."""
    with clock.using(FakeClock(NOW)):
        yield


def reporting_frame(rows: list[tuple[Any, ...]], columns: list[str], key: str) -> pd.DataFrame:
    """The generated stations, one row per device (its newest reading), with whether it still reports."""
    frame = pd.DataFrame(rows, columns=columns).reset_index(names="n")
    window = registry().get(key).window  # type: ignore[union-attr]
    frame["reporting"] = frame["age"].map(lambda m: timedelta(minutes=m) <= window)
    return frame


def by_region(frame: pd.DataFrame, value: str, how: str) -> dict[str, float]:
    """The pandas figure per county and for the city: a count of the rows judged 1, or the worst value."""
    live = frame[frame["reporting"]]
    agg = (lambda g: float((g >= 1).sum())) if how == "count" else (lambda g: float(g.max()))
    out = {c: agg(g[value]) for c, g in live.groupby("county")}
    if how == "count":
        out = {c: out.get(c, 0.0) for c in frame["county"].unique()}
    if len(live) or how == "count":
        out[CITY] = agg(live[value]) if len(live) else 0.0
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(COUNTIES), st.floats(20, 3000), ages), min_size=1, max_size=12))
def test_stations_in_fog_equal_pandas_over_the_readings(store: Engine, at_now: None,
                                                        generated: list[tuple[str, float, int]]) -> None:
    engine = emptied(store)
    ingest(engine, [msg_of("road_weather", road(c, n + 1, ts=NOW - timedelta(minutes=age), visibility_m=v))
                    for n, (c, v, age) in enumerate(generated)])
    frame = reporting_frame(generated, ["county", "visibility", "age"], "traffic.fog_stations")
    frame["fog"] = (frame["visibility"] < 500).astype(float)  # CMA: any 大雾 signal is below 500 m
    with Session(engine) as s:
        got = registry().latest(s, ["traffic.fog_stations"], [*frame["county"].unique(), CITY])
    assert {r: p.value for r, p in got["traffic.fog_stations"].items()} == by_region(frame, "fog", "count")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(COUNTIES), st.floats(5, 40), st.floats(10, 95), st.integers(0, 30),
                          st.floats(0, 20), ages), min_size=1, max_size=10))
def test_worst_fire_danger_equals_pandas_over_the_stations(store: Engine, at_now: None,
                                                           generated: list[tuple[Any, ...]]) -> None:
    engine = emptied(store)
    ingest(engine, [msg_of("fire_risk", fire(c, n + 1, ts=NOW - timedelta(minutes=age), max_temp_c=t, rh_pct=rh,
                                             dry_days=dry, wind_speed_ms=w))
                    for n, (c, t, rh, dry, w, age) in enumerate(generated)])
    frame = reporting_frame(generated, ["county", "t", "rh", "dry", "wind", "age"], "eco.fire_level")
    frame["level"] = [float(fire_danger(r.t, r.rh, r.dry, beaufort(r.wind)).level) for r in frame.itertuples()]
    with Session(engine) as s:
        got = registry().latest(s, ["eco.fire_level"], [*frame["county"].unique(), CITY]).get("eco.fire_level", {})
    assert {r: p.value for r, p in got.items()} == by_region(frame, "level", "max")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(COUNTIES), st.floats(5, 15), st.floats(8, 12), ages), min_size=1,
                max_size=8))
def test_gauges_over_warning_equal_pandas_over_the_levels(store: Engine, at_now: None,
                                                          generated: list[tuple[str, float, float, int]]) -> None:
    engine = emptied(store)
    items = []
    for n, (c, level, warning, age) in enumerate(generated):
        lon, lat = INSIDE[c]
        items.append((f"zq/{c}/hydrology/9{n:07d}", {
            "device_id": f"9{n:07d}", "ts": iso(NOW - timedelta(minutes=age)), "lon": lon, "lat": lat,
            "water_level_m": level, "warning_m": warning}))
    ingest(engine, items)
    frame = reporting_frame(generated, ["county", "level", "warning", "age"], "water.over_warning")
    frame["over"] = (frame["level"] >= frame["warning"]).astype(float)
    with Session(engine) as s:
        got = registry().latest(s, ["water.over_warning"], [*frame["county"].unique(), CITY])
    assert {r: p.value for r, p in got["water.over_warning"].items()} == by_region(frame, "over", "count")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(COUNTIES), st.sampled_from(["暴露垃圾", "占道经营", "井盖缺失"]),
                          st.integers(0, 200), st.booleans()), min_size=1, max_size=20))
def test_overdue_cases_equal_pandas_over_the_events_and_their_limits(store: Engine, at_now: None,
                                                                     generated: list[tuple[str, str, int, bool]]) -> None:
    engine = emptied(store)
    items = []
    for n, (c, sub, hours_ago, closed) in enumerate(generated):
        reported = NOW - timedelta(hours=hours_ago)
        body = event(c, n + 1, step=6 if closed else 2, ts=reported, reported_at=iso(reported), subcategory=sub)
        items.append((f"zq/{c}/grid_event/{body['event_id']}", body))
    ingest(engine, items)
    limits = case_limits()
    frame = pd.DataFrame(generated, columns=["county", "sub", "hours", "closed"])
    frame["late"] = ((~frame["closed"]) & (frame["hours"] > frame["sub"].map(limits.hours))).astype(float)
    with Session(engine) as s:
        got = registry().latest(s, ["social.overdue_grid_cases"], [*COUNTIES, CITY])["social.overdue_grid_cases"]
    expected = {c: float(frame.loc[frame["county"] == c, "late"].sum()) for c in COUNTIES}
    assert {r: p.value for r, p in got.items()} == {**expected, CITY: float(frame["late"].sum())}


def msg_of(feed: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A message as ingest takes it: its topic and its body."""
    return msg(feed, body)[0], body
