"""A simulator of the city's feeds: devices inside the real counties, day/night, fog, cases, KPIs."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson

from clock import Clock, process_clock
from feeds.payloads import COMPONENT_CATEGORIES, EVENT_CATEGORIES, Detection
from feeds.simdata import sim_data
from geo import City, load_counties, sample_points
from settings import CITY_TZ, Settings

log = logging.getLogger(__name__)

CST = CITY_TZ
Sink = Callable[[str, bytes], None]

# KPIs reported per county as well as for the city: counts split by share, rates scattered around the city's.
COUNTY_COUNTS = ("econ.projects.construction", "econ.wage_warnings", "market.entities_new_today",
                 "social.mediation.town", "social.mediation.village")
COUNTY_RATES = ("market.supervision_claim_rate", "service.haochaping_active_rate", "service.bad_review_fix_rate")
SUBCATEGORIES: dict[tuple[str, str], list[str]] = {
    ("事件", "市容环境"): ["暴露垃圾", "积存垃圾渣土", "道路不洁", "乱堆物堆料"],
    ("事件", "宣传广告"): ["违法小广告", "非法张贴", "占道广告牌"],
    ("事件", "施工管理"): ["施工扰民", "工地扬尘", "道路遗撒"],
    ("事件", "突发事件"): ["路面塌陷", "道路积水", "自来水管破裂"],
    ("事件", "街面秩序"): ["店外经营", "无照经营游商", "占道经营", "机动车乱停放"],
    ("部件", "公用设施"): ["井盖破损", "消防栓损坏", "电力设施损坏"],
    ("部件", "道路交通"): ["交通信号灯故障", "护栏损坏", "交通标志牌损坏"],
    ("部件", "市容环境"): ["垃圾箱损坏", "公厕设施损坏"],
    ("部件", "园林绿化"): ["行道树倒伏", "绿地脏乱"],
    ("部件", "其他设施"): ["路灯不亮", "健身设施损坏"],
}
STEP_ACTORS = ("网格员", "监督中心受理员", "指挥中心派遣员", "专业部门", "专业部门", "监督中心核查员", "评价系统")
MEAN_STEP_SECONDS = 180.0  # compressed: real cases take hours, a demo wall must move


def _seasonal_base(t: datetime) -> float:
    """Mean air temperature of the day of year in Zhaoqing (about 13 °C in January, 29 °C in July)."""
    doy = t.timetuple().tm_yday
    return 21.0 + 8.0 * math.cos(2 * math.pi * (doy - 200) / 365.25)


def apportion(total: int, shares: np.ndarray) -> list[int]:
    """Split a whole number by shares so the parts add up to it (largest remainder)."""
    raw = total * shares
    parts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - parts), kind="stable")[: total - int(parts.sum())]:
        parts[i] += 1
    return [int(p) for p in parts]


def _diurnal(t: datetime) -> float:
    """-1 before dawn, +1 mid-afternoon: the shape of the daily temperature swing."""
    h = t.hour + t.minute / 60
    return math.sin(2 * math.pi * (h - 8.5) / 24)


@dataclass
class SimDevice:
    """One simulated device and its state."""

    id: str
    feed: str
    county: str
    lon: float
    lat: float
    name: str
    cadence_s: float
    attrs: dict[str, Any] = field(default_factory=dict)
    next_due: datetime | None = None
    online: bool = True
    offline_until: datetime | None = None
    fog: tuple[datetime, datetime, float] | None = None  # start, end, minimum visibility (m)
    dry_offset: int = 0


@dataclass
class SimEvent:
    """One simulated grid case moving through the seven steps."""

    id: str
    county: str
    lon: float
    lat: float
    kind: str
    category: str
    subcategory: str
    reported_at: datetime
    step: int = 1
    next_step_at: datetime | None = None


class Simulator:
    """Deterministic for a seed: `messages(now)` returns every message due at `now`.

    `city`: the settings' --city (its adcode or geo.City; the default settings' city when not given). What it
    knows of the city's counties (rivers, roads, shares, stations) is data: feeds/simdata/<adcode>.yaml.
    """

    def __init__(self, city: City | str | None = None, prefix: str = "zq", seed: int = 20211, speed: float = 1.0,
                 event_interval_s: float = 20.0, kpi_interval_s: float = 60.0) -> None:
        place = city if isinstance(city, City) else City.load(city or Settings.model_construct().city)
        self.city = place.adcode
        self.data = sim_data(place)
        self.prefix = prefix
        self.seed = seed  # the entropy of the streams of their own below (default_rng's seed sequence's)
        self.rng = np.random.default_rng(seed)
        self.speed = speed
        self.event_interval_s = event_interval_s / speed
        self.kpi_interval = timedelta(seconds=kpi_interval_s / speed)
        counties = load_counties(self.city, "detail")
        self.geoms = dict(zip(counties["adcode"], counties.geometry, strict=True))
        self.names = dict(zip(counties["adcode"], counties["name"], strict=True))
        self.devices: list[SimDevice] = []
        self.events: dict[str, SimEvent] = {}
        self._event_seq = 0
        self._started: datetime | None = None
        self._next_kpi: datetime | None = None
        self._next_event: datetime | None = None
        self._build_devices()

    # ---- devices -------------------------------------------------------------------------------

    def _points(self, county: str, n: int) -> list[tuple[float, float]]:
        lons, lats = sample_points(self.geoms[county], n, self.rng)
        return [(round(float(x), 6), round(float(y), 6)) for x, y in zip(lons, lats, strict=True)]

    def _build_devices(self) -> None:
        serial = 0
        for county in sorted(self.geoms):
            short = self.names[county][:2]
            place = self.data.counties[county]
            for i, (lon, lat) in enumerate(self._points(county, place.video_points), start=1):
                serial += 1
                river = place.rivers[i % len(place.rivers)]
                # GB/T 28181: county division + unit 00, industry 09 (环保), type 132 IPC, network 6 政务网.
                dev_id = f"{county}00091326{serial:06d}"
                self.devices.append(SimDevice(dev_id, "video_point", county, lon, lat, f"{river}{short}段{i}号视频点",
                                              60, {"river": river}))
            for i, (lon, lat) in enumerate(self._points(county, 2), start=1):
                serial += 1
                road = place.roads[(i - 1) % len(place.roads)]
                # The example form: industry 04 (交通), type 131, network 6.
                dev_id = f"{county}00041316{serial:06d}"
                self.devices.append(SimDevice(dev_id, "road_weather", county, lon, lat,
                                              f"{road.split()[-1]}{short}{i}号气象站", 60, {"road": road}))
            for i, (lon, lat) in enumerate(self._points(county, place.fire_stations), start=1):
                self.devices.append(SimDevice(f"FR{county}{i:02d}", "fire_risk", county, lon, lat,
                                              f"{short}林区{i}号火险站", 300,
                                              dry_offset=int(self.rng.integers(0, 12))))

    def topic(self, county: str, feed: str, key: str) -> str:
        """The MQTT topic of a message: {prefix}/{county}/{feed}/{key}."""
        return f"{self.prefix}/{county}/{feed}/{key}"

    def _reading(self, d: SimDevice, now: datetime) -> dict[str, Any]:
        base = {"device_id": d.id, "ts": now.isoformat(timespec="seconds"), "lon": d.lon, "lat": d.lat,
                "name": d.name}
        temp = _seasonal_base(now) + 4.5 * _diurnal(now) + float(self.rng.normal(0, 0.6))
        if d.feed == "video_point":
            return {**base, **self._video(d, now)}
        if d.feed == "road_weather":
            return {**base, **self._road_weather(d, now, temp)}
        return {**base, **self._fire(d, now, temp)}

    def _video(self, d: SimDevice, now: datetime) -> dict[str, Any]:
        if d.offline_until and now >= d.offline_until:
            d.online, d.offline_until = True, None
        elif d.online and self.rng.random() < 0.004:
            d.online, d.offline_until = False, now + timedelta(minutes=float(self.rng.uniform(5, 40)))
        detections = []
        if d.online and self.rng.random() < 0.04:
            kinds = list(Detection)
            kind = kinds[int(self.rng.choice(len(kinds), p=[0.15, 0.1, 0.2, 0.1, 0.35, 0.1]))]
            detections.append({"type": kind.value, "confidence": round(float(self.rng.uniform(0.55, 0.98)), 2)})
        return {"river": d.attrs["river"], "online": d.online, "detections": detections}

    def _road_weather(self, d: SimDevice, now: datetime, temp: float) -> dict[str, Any]:
        h = now.hour + now.minute / 60
        if d.fog and now >= d.fog[1]:
            d.fog = None
        if d.fog is None and self.rng.random() < (0.01 if h < 9 or h >= 22 else 0.001) * max(1.0, self.speed):
            minutes = float(self.rng.uniform(30, 150))
            d.fog = (now, now + timedelta(minutes=minutes), float(self.rng.choice([40, 90, 150, 300, 450])))
        clear = float(np.clip(self.rng.normal(12000, 3000), 3000, 30000))
        humidity = float(np.clip(72 - 3.0 * 4.5 * _diurnal(now) + self.rng.normal(0, 3), 30, 99))
        visibility = clear
        if d.fog:
            start, end, vmin = d.fog
            progress = (now - start) / (end - start)
            # Thickens over the first tenth, holds, then lifts over the last tenth of the episode.
            depth = min(1.0, 3 * math.sin(math.pi * min(max(progress, 0.0), 1.0)))
            visibility = vmin + (clear - vmin) * (1 - depth)
            humidity = float(np.clip(96 + self.rng.normal(0, 1.5), 90, 100))
        sun = max(0.0, math.sin(math.pi * (now.hour + now.minute / 60 - 6.5) / 12))
        return {
            "road": d.attrs["road"], "visibility_m": round(visibility, 0), "air_temp_c": round(temp, 1),
            "road_temp_c": round(temp + 6 * sun + float(self.rng.normal(0, 0.5)), 1),
            "humidity_pct": round(humidity, 0), "wind_speed_ms": round(float(abs(self.rng.normal(2.5, 1.5))), 1),
            "precipitation_mm": 0.0, "road_state": "wet" if humidity > 95 else "dry",
        }

    def _fire(self, d: SimDevice, now: datetime, temp: float) -> dict[str, Any]:
        # The day's maximum so far: it rises until mid-afternoon and then holds.
        h = now.hour + now.minute / 60
        peak = _seasonal_base(now) + 4.5 + float(self.rng.normal(0, 0.4))
        max_temp = peak if h >= 14.5 else max(temp, _seasonal_base(now) - 4.5)
        dry = (now.toordinal() + d.dry_offset) % 12
        return {
            "max_temp_c": round(max_temp, 1), "rh_pct": round(float(np.clip(75 - 3 * dry + self.rng.normal(0, 4),
                                                                               15, 98)), 0),
            "wind_speed_ms": round(float(abs(self.rng.normal(3.0, 2.0))), 1), "dry_days": dry,
            "precipitation_mm": 0.0,
        }

    # ---- grid events -----------------------------------------------------------------------------

    @property
    def event_weights(self) -> tuple[list[str], list[float]]:
        """The counties where grid cases happen (adcode order) and the chance of each (summing to 1)."""
        counties = [c for c, d in self.data.counties.items() if d.event_weight > 0]
        weights = [self.data.counties[c].event_weight for c in counties]
        total = sum(weights)
        # The data file's shares as written when they add up to 1 (the seeded draws stay as they were).
        return counties, weights if abs(total - 1) < 1e-9 else [w / total for w in weights]

    def _new_event(self, at: datetime) -> SimEvent:
        counties, p = self.event_weights
        county = counties[int(self.rng.choice(len(counties), p=p))]
        kind = "事件" if self.rng.random() < 0.7 else "部件"
        options = [k for k in SUBCATEGORIES if k[0] == kind]
        cat = options[int(self.rng.integers(len(options)))]
        assert cat[1] in (EVENT_CATEGORIES if kind == "事件" else COMPONENT_CATEGORIES)
        sub = SUBCATEGORIES[cat][int(self.rng.integers(len(SUBCATEGORIES[cat])))]
        (lon, lat), = self._points(county, 1)
        self._event_seq += 1
        ev = SimEvent(f"AJ{county}{at:%Y%m%d}{self._event_seq:05d}", county, lon, lat, kind, cat[1], sub, at)
        ev.next_step_at = at + self._dwell()
        self.events[ev.id] = ev
        return ev

    def _dwell(self) -> timedelta:
        return timedelta(seconds=float(self.rng.exponential(MEAN_STEP_SECONDS)) / self.speed + 5)

    def _event_message(self, ev: SimEvent, at: datetime) -> tuple[str, bytes]:
        body = {"event_id": ev.id, "ts": at.isoformat(timespec="seconds"), "lon": ev.lon, "lat": ev.lat,
                "kind": ev.kind, "category": ev.category, "subcategory": ev.subcategory,
                "description": f"{self.names[ev.county]}{ev.subcategory}", "step": ev.step,
                "actor": STEP_ACTORS[ev.step - 1], "reported_at": ev.reported_at.isoformat(timespec="seconds")}
        return self.topic(ev.county, "grid_event", ev.id), orjson.dumps(body)

    def _backlog(self, now: datetime, n: int = 60) -> list[tuple[str, bytes]]:
        """Cases already open when the simulator starts, with their history, so the map starts coloured."""
        out = []
        for _ in range(n):
            reported = now - timedelta(minutes=float(self.rng.uniform(5, 240)))
            ev = self._new_event(reported)
            target = int(self.rng.integers(1, 6))
            t = reported
            out.append(self._event_message(ev, t))
            while ev.step < target:
                t = min(now, t + (now - reported) / 6)
                ev.step += 1
                out.append(self._event_message(ev, t))
            ev.next_step_at = now + self._dwell()
        return out

    def _advance_events(self, now: datetime) -> list[tuple[str, bytes]]:
        out = []
        for ev in list(self.events.values()):
            if ev.next_step_at is None or now < ev.next_step_at:
                continue
            ev.step += 1
            out.append(self._event_message(ev, now))
            if ev.step >= 7:
                del self.events[ev.id]  # evaluated: the case is finished
            else:
                ev.next_step_at = now + self._dwell()
        return out

    # ---- KPIs ------------------------------------------------------------------------------------

    def _kpis(self, now: datetime) -> list[tuple[str, bytes]]:
        """Values of the five themes' KPIs (city level) and per-county air quality."""
        days = (now - datetime(now.year, 1, 1, tzinfo=CST)).total_seconds() / 86400
        frac = days / 365.25
        working = 1.0 if 8 <= now.hour < 18 and now.weekday() < 5 else 0.15

        def noise(s: float) -> float:
            return float(self.rng.normal(0, s))

        # Only what business systems report: figures the dashboard derives from raw data (open cases from the
        # events, AQI and PM2.5 from the stations) are not published as KPIs (the KPI feed refuses them).
        city = {
            "econ.gdp_ytd": (round(3050 * frac + noise(2), 1), "亿元"),
            "econ.projects.negotiating": (48 + int(noise(1)), "个"),
            "econ.projects.signed": (36 + int(noise(1)), "个"),
            "econ.projects.construction": (61 + int(noise(1)), "个"),
            "econ.projects.production": (27 + int(noise(1)), "个"),
            "econ.wage_warnings": (max(0, 7 + int(noise(2))), "家"),
            "market.entities_new_today": (int(140 * min(1.0, max(0.0, (now.hour - 8) / 9)) * working + 3), "户"),
            "market.supervision_claim_rate": (round(min(100.0, 99.2 + noise(0.2)), 1), "%"),
            "market.ysht_users": (int(205_000 + 28_000 * frac), "户"),
            "market.ysht_dau": (int(11_500 * working + noise(200)), "户"),
            "social.mediation.city": (12 + int(noise(1)), "件"),
            "social.mediation.county": (57 + int(noise(2)), "件"),
            "social.mediation.town": (143 + int(noise(3)), "件"),
            "social.mediation.village": (268 + int(noise(4)), "件"),
            "service.yss_registered": (int(2_950_000 + 330_000 * frac), "人"),
            "service.yss_mau": (int(1_080_000 + noise(15_000)), "人"),
            "service.haochaping_active_rate": (round(86.5 + noise(0.6), 1), "%"),
            "service.bad_review_fix_rate": (round(min(100.0, 99.0 + noise(0.5)), 1), "%"),
            "service.one_thing": (int(430 + 80 * frac), "个"),
            "service.tongban": (int(760 + 60 * frac), "项"),
        }
        out = []
        ts = now.isoformat(timespec="seconds")
        for key, (value, unit) in city.items():
            out.append((self.topic(self.city, "kpi", key),
                        orjson.dumps({"metric": key, "region": self.city, "ts": ts, "value": value, "unit": unit})))
        out.extend(self._county_kpis(now, ts, city))
        out.extend(self._plan_progress(ts))
        return out

    def _county_kpis(self, now: datetime, ts: str, city: dict[str, tuple[float, str]]) -> list[tuple[str, bytes]]:
        """The per-county values of the KPIs counties report too (the county view sets them beside the average)."""
        # A stream of its own, so the city figures' draws stay as they were; each county keeps its own bias.
        rng = np.random.default_rng(np.random.SeedSequence(self.seed,
                                                           spawn_key=(int(self.city[:4]), int(now.timestamp()) // 60)))
        counties = sorted(self.geoms)
        shares = np.array([self.data.counties[c].share for c in counties])
        shares = shares / shares.sum()
        values: dict[str, list[float]] = {}
        for key in COUNTY_COUNTS:
            values[key] = [float(v) for v in apportion(int(city[key][0]), shares)]
        for key in COUNTY_RATES:
            bias = np.array([(int(c) % 7 - 3) * 0.4 for c in counties])  # a stable spread between counties
            values[key] = [round(min(100.0, city[key][0] + float(b) + float(rng.normal(0, 0.3))), 1) for b in bias]
        out = []
        for key, per_county in values.items():
            unit = city[key][1]
            for county, value in zip(counties, per_county, strict=True):
                out.append((self.topic(county, "kpi", key), orjson.dumps(
                    {"metric": key, "region": county, "ts": ts, "value": value, "unit": unit})))
        return out

    def _plan_progress(self, ts: str) -> list[tuple[str, bytes]]:
        """Progress of the 2021 work plan's 29 tasks (挂图作战): most done, four behind, two never reported."""
        # A stream of its own, fixed by the seed: the same tasks lag on every tick, and the other KPIs'
        # draws are left as they were.
        rng = np.random.default_rng(np.random.SeedSequence(self.seed,
                                                           spawn_key=(2021, 29)))
        picked = [int(n) for n in rng.choice(np.arange(1, 30), size=6, replace=False)]
        behind = {n: float(round(rng.uniform(55, 95))) for n in picked[:4]}
        return [(self.topic(self.city, "kpi", f"plan.task.{n}.progress"),
                 orjson.dumps({"metric": f"plan.task.{n}.progress", "region": self.city, "ts": ts,
                               "value": behind.get(n, 100.0), "unit": "%"}))
                for n in range(1, 30) if n not in picked[4:]]

    # ---- the clock -------------------------------------------------------------------------------

    def messages(self, now: datetime) -> list[tuple[str, bytes]]:
        """Every message due at `now` (local time is taken from the offset given)."""
        now = now.astimezone(CST)
        out: list[tuple[str, bytes]] = []
        if self._started is None:
            self._started = now
            self._next_event = now
            self._next_kpi = now
            out.extend(self._backlog(now))
            # A fog episode under way at start, so the wall shows what a fog warning looks like.
            fog_county = self.data.fog_station_county
            fog_station = next(d for d in self.devices if d.feed == "road_weather" and d.county == fog_county)
            fog_station.fog = (now - timedelta(minutes=20), now + timedelta(minutes=70), 90.0)
        for d in self.devices:
            if d.next_due is None or now >= d.next_due:
                body = self._reading(d, now)
                out.append((self.topic(d.county, d.feed, d.id), orjson.dumps(body)))
                jitter = float(self.rng.uniform(0.9, 1.1))
                d.next_due = now + timedelta(seconds=d.cadence_s * jitter / self.speed)
        assert self._next_event is not None and self._next_kpi is not None
        while now >= self._next_event:
            ev = self._new_event(self._next_event)
            out.append(self._event_message(ev, self._next_event))
            self._next_event += timedelta(seconds=float(self.rng.exponential(self.event_interval_s)))
        out.extend(self._advance_events(now))
        if now >= self._next_kpi:
            out.extend(self._kpis(now))
            self._next_kpi = now + self.kpi_interval
        return out


class SimulatorThread:
    """Runs a simulator on the process's clock and hands each message to a sink (ingest or MQTT)."""

    def __init__(self, sim: Simulator, sink: Sink, period_s: float = 1.0, clock: Clock | None = None) -> None:
        self.sim = sim
        self.clock = clock or process_clock()
        self.sink = sink
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)

    def start(self) -> SimulatorThread:
        """Start producing messages."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop producing messages."""
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for topic, payload in self.sim.messages(self.clock.now(CST)):
                    self.sink(topic, payload)
            except Exception:  # noqa: BLE001 - a simulator bug must not take the app down
                log.exception("simulator step failed")
            self._stop.wait(self.period_s)
