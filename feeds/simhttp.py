"""Simulated HTTP APIs the default demo polls: air-quality stations, river levels, 12345 tickets.

Each API answers JSON in the shape such systems use (strings for numbers and local times without an
offset on the air-quality platform, SL 323 field names on the water-regime one, pinyin initials on
the 12345 one), so the shipped mapping in feeds/sources.default.json has real work to do. Data is a
pure function of (seed, start time, time slot): it changes once per ``update_s`` and a repeated poll
within a slot gets ``304 Not Modified`` from ETag / Last-Modified. Station names and codes are
illustrative; the places are the real counties and rivers.

Tests drive it with an injected clock and the fault switches: ``fail_next`` (HTTP errors),
``hang_next`` (no answer until past the client's timeout), ``garble_next`` (a body that is not
JSON) and ``tamper`` (edit the document before it is served).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson

from clock import process_clock
from feeds.simdata import SimCity, sim_data
from geo import City, load_counties, sample_points
from settings import CITY_TZ, Settings
from standards.hydro import STATIONS

log = logging.getLogger(__name__)

CST = CITY_TZ
PATHS = {"air": "/api/air/stations", "hydro": "/api/hydro/river", "tickets": "/api/12345/tickets"}
Document = dict[str, Any]

# Air-quality stations, gauging stations and where 12345 tickets come from are the city's data:
# feeds/simdata/<city adcode>.yaml (feeds.simdata).
TICKET_CATEGORIES = {
    "城乡建设": ["市政设施", "物业管理", "违章建筑"], "环境保护": ["噪声扰民", "油烟污染", "河涌污染"],
    "交通运输": ["公交服务", "出租车", "道路拥堵"], "市场监管": ["消费维权", "食品安全", "价格投诉"],
    "劳动保障": ["欠薪", "社保"], "教育": ["招生入学", "校外培训"], "医疗卫生": ["医疗服务", "医保"],
    "公共安全": ["治安", "消防隐患"], "住房保障": ["公租房", "房产交易"], "农业农村": ["农村道路", "农资"],
}
TICKET_STATUS_ZH = ("受理", "派单", "办理中", "已办结")
# Tickets per hour of the day, local time (about 280 a day).
TICKET_RATE = (2, 2, 1, 1, 1, 2, 3, 8, 24, 26, 24, 20, 14, 14, 22, 24, 22, 20, 12, 10, 9, 8, 5, 3)


@dataclass(frozen=True)
class HydroStation:
    """A simulated gauging station; levels in metres on the station's own (unverified) datum."""

    stcd: str
    name: str
    river: str
    county: str
    lon: float
    lat: float
    base_m: float  # typical level of the season
    warning_m: float
    guaranteed_m: float | None
    in_api: bool  # whether the API itself gives WRZ/GRZ (else the standards.hydro table must)
    flow_at_warning: float  # m³/s
    demo_rise: bool = False  # rises past its warning level about 40 minutes after start, so the wall shows it


def hydro_stations(data: SimCity) -> tuple[HydroStation, ...]:
    """The city's gauging stations: warning levels from standards.hydro where the data names a station there
    (DOMAIN.md §1; the API then gives none), else the data's own, given by the API."""
    out = []
    for h in data.hydro_stations:
        warning: float
        guaranteed: float | None
        if h.standard is not None:
            warning, guaranteed, in_api = STATIONS[h.standard].warning_m, None, False
        else:
            assert h.warning_m is not None  # the data file's model gives a standard or a warning level
            warning, guaranteed, in_api = h.warning_m, h.guaranteed_m, True
        out.append(HydroStation(h.stcd, h.name, h.river, h.county, h.lon, h.lat, h.base_m, warning,
                                guaranteed, in_api, h.flow_at_warning, h.demo_rise))
    return tuple(out)


@dataclass(frozen=True)
class AirStation:
    """A simulated air-quality monitoring station."""

    index: int
    code: str
    name: str
    county: str
    county_name: str
    lon: float
    lat: float
    urban: bool
    reports_pm_24h: bool = True
    reports_co: bool = True


@dataclass(frozen=True)
class Ticket:
    """A simulated 12345 ticket and the times it moves on."""

    id: str
    created: datetime
    region_name: str
    category: str
    subcategory: str
    lon: float | None
    lat: float | None
    steps: tuple[datetime, datetime, datetime]  # dispatched, in progress, closed

    def status(self, at: datetime) -> int:
        """0 受理, 1 派单, 2 办理中, 3 已办结 at a time."""
        return sum(1 for t in self.steps if t <= at)

    def updated(self, at: datetime) -> datetime:
        """Time of its latest change up to `at`."""
        return max([self.created, *(t for t in self.steps if t <= at)])


@dataclass
class _Fault:
    kind: str  # status | hang | garble
    api: str | None
    remaining: int
    status: int = 500
    seconds: float = 0.0


@dataclass(frozen=True)
class RequestRecord:
    """One request the simulated server answered, for tests to inspect."""

    api: str | None
    status: int
    if_none_match: str | None
    if_modified_since: str | None


@dataclass
class _Version:
    etag: str
    last_modified: datetime


def _local(t: datetime) -> str:
    return t.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


def _num(v: float, digits: int = 0) -> str:
    """A number as the national air-quality platform prints it: a string."""
    return str(int(round(v))) if digits == 0 else f"{v:.{digits}f}"


@dataclass
class SimulatedApis:
    """The three simulated APIs over local HTTP: `start()` returns the base URL, `stop()` stops them.

    `city`: the settings' --city (the default settings' city when not given); what the APIs know of its counties
    is data (feeds/simdata/<adcode>.yaml).
    """

    city: str | None = None
    seed: int = 20211
    update_s: int = 60
    clock: Callable[[], datetime] | None = field(default=None, repr=False)
    # The latest requests answered (bounded: the demo runs for days).
    requests: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=1000), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.clock is None:
            process = process_clock()
            self.clock = lambda: process.now(CST)
        self.started_at = self.clock().astimezone(CST)
        place = City.load(self.city or Settings.model_construct().city)
        self.city = place.adcode
        self.city_name = place.name
        self.data = sim_data(place)
        counties = load_counties(self.city, "detail")
        self.geoms = dict(zip(counties["adcode"], counties.geometry, strict=True))
        self.names = dict(zip(counties["adcode"], counties["name"], strict=True))
        self.air = self._air_stations()
        self.hydro = tuple(s for s in hydro_stations(self.data) if s.county in self.geoms)
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._tamper: dict[str, Callable[[Document], Document]] = {}
        self._docs: dict[tuple[str, int], Document] = {}
        self._days: dict[date, list[Ticket]] = {}
        self._versions: dict[str, _Version] = {}
        self._halt = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None

    # ---- the server ----------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on 127.0.0.1 at a free port; returns the base URL (http://127.0.0.1:<port>)."""
        apis = self

        class Handler(_Handler):
            sim = apis

        self._halt.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sim-http", daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        """Stop serving; requests held by hang_next are released."""
        self._halt.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # ---- fault switches for tests -------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, api: str | None = None) -> None:
        """The next n requests (to `api`, or any) answer with this HTTP status."""
        with self._lock:
            self._faults.append(_Fault("status", api, n, status=status))

    def hang_next(self, n: int = 1, seconds: float = 30.0, api: str | None = None) -> None:
        """The next n requests get no answer for `seconds` (or until stop)."""
        with self._lock:
            self._faults.append(_Fault("hang", api, n, seconds=seconds))

    def garble_next(self, n: int = 1, api: str | None = None) -> None:
        """The next n requests get 200 with a body that is not JSON."""
        with self._lock:
            self._faults.append(_Fault("garble", api, n))

    def tamper(self, api: str, fn: Callable[[Document], Document] | None) -> None:
        """Edit each document of `api` before it is served (None removes the edit)."""
        with self._lock:
            if fn is None:
                self._tamper.pop(api, None)
            else:
                self._tamper[api] = fn

    # ---- answering -----------------------------------------------------------------------------------

    def slot(self, at: datetime) -> tuple[int, datetime]:
        """The data slot of a time: its index and start (data changes once per slot)."""
        index = math.floor(at.timestamp() / self.update_s)
        return index, datetime.fromtimestamp(index * self.update_s, CST)

    def document(self, api: str, at: datetime | None = None) -> Document:
        """The JSON document `api` serves at a time (now by default), before any tamper."""
        assert self.clock is not None
        index, start = self.slot(at or self.clock())
        key = (api, index)
        with self._lock:
            cached = self._docs.get(key)
        if cached is not None:
            return cached
        makers = {"air": self._air_document, "hydro": self._hydro_document, "tickets": self._tickets_document}
        doc = makers[api](start)
        with self._lock:
            if len(self._docs) > 64:
                self._docs.clear()
            self._docs[key] = doc
        return doc

    def respond(self, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for a GET of `path` (what the HTTP handler sends)."""
        route = urlsplit(path).path.rstrip("/")
        api = next((name for name, p in PATHS.items() if p == route), None)
        inm, ims = headers.get("If-None-Match"), headers.get("If-Modified-Since")
        status, out_headers, body = self._answer(api, inm, ims)
        with self._lock:
            self.requests.append(RequestRecord(api, status, inm, ims))
        return status, out_headers, body

    def _fault(self, api: str | None) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.api is None or f.api == api:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
                    return f
        return None

    def _answer(self, api: str | None, inm: str | None, ims: str | None) -> tuple[int, dict[str, str], bytes]:
        json_type = {"Content-Type": "application/json; charset=utf-8"}
        if api is None:
            return 404, json_type, orjson.dumps({"error": "not found", "paths": sorted(PATHS.values())})
        fault = self._fault(api)
        if fault is not None and fault.kind == "hang":
            self._halt.wait(fault.seconds)
        elif fault is not None and fault.kind == "status":
            return fault.status, json_type, orjson.dumps({"error": "injected failure"})
        elif fault is not None and fault.kind == "garble":
            return 200, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway (nginx)</body></html>"
        doc = self.document(api)
        with self._lock:
            fn = self._tamper.get(api)
        if fn is not None:
            doc = fn(orjson.loads(orjson.dumps(doc)))  # a deep copy: the cached document stays clean
        body = orjson.dumps(doc)
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        version = self._version(api, etag)
        modified = format_datetime(version.last_modified.astimezone(UTC), usegmt=True)
        out = {**json_type, "ETag": etag, "Last-Modified": modified, "Cache-Control": "no-cache"}
        if inm is not None:
            # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            if etag in tags or "*" in tags:
                return 304, {k: out[k] for k in ("ETag", "Last-Modified", "Cache-Control")}, b""
        elif ims is not None:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                since = None
            if since is not None and since.tzinfo is not None and version.last_modified <= since:
                return 304, {k: out[k] for k in ("ETag", "Last-Modified", "Cache-Control")}, b""
        return 200, out, body

    def _version(self, api: str, etag: str) -> _Version:
        """The ETag and Last-Modified of what `api` serves now; Last-Modified moves when the body changes."""
        assert self.clock is not None
        _, start = self.slot(self.clock())
        start = start.astimezone(CST).replace(microsecond=0)
        with self._lock:
            old = self._versions.get(api)
            if old is None or old.etag != etag:
                # HTTP dates have whole seconds: a change within one must still move the date.
                moved = start if old is None else max(start, old.last_modified + timedelta(seconds=1))
                old = self._versions[api] = _Version(etag, moved)
            return old

    # ---- air quality ---------------------------------------------------------------------------------

    def _air_stations(self) -> tuple[AirStation, ...]:
        rng = np.random.default_rng([self.seed, 10])
        out: list[AirStation] = []
        for county in sorted(self.geoms):
            n = self.data.counties[county].air_stations
            lons, lats = sample_points(self.geoms[county], n, rng)
            for i in range(n):
                index = len(out)
                out.append(AirStation(
                    index, f"AQ{county}{i + 1:02d}", f"{self.names[county]}{i + 1}号空气监测站", county,
                    self.names[county], round(float(lons[i]), 6), round(float(lats[i]), 6),
                    self.data.counties[county].urban,
                    # One station publishes no 24 h PM means (the 1 h value then feeds the AQI) and one no CO.
                    reports_pm_24h=index != 3, reports_co=index != 5))
        return tuple(out)

    def _noise(self, *key: int, n: int = 6) -> np.ndarray:
        return np.random.default_rng([self.seed, *key]).normal(size=n)

    def _day_factor(self, station: int, t: datetime) -> float:
        """Pollution of the day (episodes come and go), smooth across midnight."""
        day = t.astimezone(CST)
        frac = (day.hour * 60 + day.minute) / 1440
        a = math.exp(0.3 * float(self._noise(11, station, day.toordinal(), n=1)[0]))
        b = math.exp(0.3 * float(self._noise(11, station, day.toordinal() + 1, n=1)[0]))
        return a + (b - a) * frac

    def _air_at(self, s: AirStation, t: datetime) -> dict[str, float]:
        """Concentrations at a station at a time: PM high at night and morning, O3 in the afternoon."""
        t = t.astimezone(CST)
        h = t.hour + t.minute / 60
        z = self._noise(12, s.index, math.floor(t.timestamp() / self.update_s))
        day = self._day_factor(s.index, t)
        morning = 1 + 0.35 * math.cos(2 * math.pi * (h - 7) / 24)  # peaks at 07:00, lowest at 19:00
        pm25 = (30 if s.urban else 22) * day * morning * math.exp(0.08 * z[0])
        no2 = (34 if s.urban else 18) * (0.55 + 0.55 * math.exp(-((h - 8.5) ** 2) / 3)
                                         + 0.65 * math.exp(-((h - 19) ** 2) / 5)) * math.exp(0.1 * z[2])
        sun = max(0.0, math.sin(math.pi * (h - 8) / 13))
        return {
            "pm2_5": pm25,
            "pm10": pm25 * (1.55 + 0.08 * z[1]),
            "no2": no2,
            "co": max(0.2, 0.45 + 0.012 * no2 + 0.04 * z[3]),
            "so2": (8 if s.urban else 6) + 1.5 * abs(float(z[4])),
            "o3": (18 + 150 * sun ** 1.6) * math.exp(0.1 * z[5]) * (0.85 + 0.15 * day),
        }

    def _air_document(self, at: datetime) -> Document:
        stations = []
        for s in self.air:
            now = self._air_at(s, at)
            day = [self._air_at(s, at - timedelta(hours=k)) for k in range(24)]

            def mean(key: str, hours: int = 24, day: list[dict[str, float]] = day) -> float:
                return sum(d[key] for d in day[:hours]) / hours

            aqi_hint = "—"  # the platform's own AQI is not used: ours is computed from the concentrations
            stations.append({
                "StationCode": s.code, "PositionName": s.name, "Area": self.city_name, "County": s.county_name,
                "TimePoint": at.astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S"),
                "Longitude": f"{s.lon:.6f}", "Latitude": f"{s.lat:.6f}",
                "PM2_5": _num(now["pm2_5"]), "PM2_5_24h": _num(mean("pm2_5")) if s.reports_pm_24h else "—",
                "PM10": _num(now["pm10"]), "PM10_24h": _num(mean("pm10")) if s.reports_pm_24h else "—",
                "SO2": _num(now["so2"]), "SO2_24h": _num(mean("so2")),
                "NO2": _num(now["no2"]), "NO2_24h": _num(mean("no2")),
                "CO": _num(now["co"], 1) if s.reports_co else "—",
                "CO_24h": _num(mean("co"), 1) if s.reports_co else "—",
                "O3": _num(now["o3"]), "O3_8h": _num(mean("o3", 8)),
                "AQI": aqi_hint, "PrimaryPollutant": "—", "Quality": "—",
            })
        return {"success": True, "result": {"time": _local(at), "stations": stations}}

    # ---- hydrology -----------------------------------------------------------------------------------

    def _level(self, i: int, s: HydroStation, t: datetime) -> float:
        """Water level: a slow swing, flood pulses on some days, one under way at start for the demo."""
        hours = t.timestamp() / 3600
        phase = float(self._noise(20, i, n=1)[0])
        level = s.base_m + 0.45 * math.sin(2 * math.pi * hours / (24 * 9) + phase)
        room = s.warning_m - s.base_m
        local = t.astimezone(CST)
        for d in range(-2, 1):
            day = local.date() + timedelta(days=d)
            rng = np.random.default_rng([self.seed, 21, i, day.toordinal()])
            if rng.random() < 0.2:
                midnight = datetime(day.year, day.month, day.day, tzinfo=CST)
                peak = midnight + timedelta(hours=float(rng.uniform(0, 24)))
                width_h = float(rng.uniform(3, 8))
                away_h = (t - peak).total_seconds() / 3600
                level += room * float(rng.uniform(0.5, 1.1)) * math.exp(-0.5 * (away_h / width_h) ** 2)
        if s.demo_rise:
            # A station (封开江口 in Zhaoqing) rises past its warning level about 40 minutes after start.
            peak = self.started_at + timedelta(minutes=40)
            away_s = (t - peak).total_seconds()
            # A floor, not an addition, so it never stacks on a flood pulse of the day.
            lift = (s.warning_m + 0.4 - s.base_m) * math.exp(-0.5 * (away_s / 5400) ** 2)
            level = max(level, s.base_m + lift)
        return level

    def _hydro_document(self, at: datetime) -> Document:
        rows = []
        for i, s in enumerate(self.hydro):
            sensor = float(self._noise(22, i, math.floor(at.timestamp() / self.update_s), n=1)[0])
            z = self._level(i, s, at) + 0.01 * sensor
            before = self._level(i, s, at - timedelta(hours=1))
            z0 = s.base_m - 2.5
            q = s.flow_at_warning * max(0.0, (z - z0) / (s.warning_m - z0)) ** 1.7
            rows.append({
                "STCD": s.stcd, "STNM": s.name, "RVNM": s.river, "TM": _local(at), "Z": round(z, 2),
                "Q": round(q, 0), "WRZ": s.warning_m if s.in_api else None,
                "GRZ": s.guaranteed_m if s.in_api else None, "LGTD": s.lon, "LTTD": s.lat,
                # SL 323 水势: 4 falling, 5 rising, 6 steady.
                "WPTN": "5" if z - before > 0.02 else "4" if z - before < -0.02 else "6",
            })
        return {"code": 0, "msg": "ok", "data": {"total": len(rows), "rows": rows}}

    # ---- 12345 tickets -------------------------------------------------------------------------------

    def _tickets_of(self, day: date) -> list[Ticket]:
        with self._lock:
            cached = self._days.get(day)
        if cached is not None:
            return cached
        rng = np.random.default_rng([self.seed, 30, day.toordinal()])
        midnight = datetime(day.year, day.month, day.day, tzinfo=CST)
        created = sorted(midnight + timedelta(hours=h, seconds=float(rng.uniform(0, 3600)))
                         for h, rate in enumerate(TICKET_RATE) for _ in range(int(rng.poisson(rate))))
        # The counties in adcode order, then the city's own departments (市直).
        ticket_weights = {c: d.ticket_weight for c, d in self.data.counties.items()} | {
            "city": self.data.city_ticket_weight}
        regions = [r for r in ticket_weights if r == "city" or r in self.geoms]
        weights = np.array([ticket_weights[r] for r in regions])
        picks = rng.choice(len(regions), size=len(created), p=weights / weights.sum())
        chosen = [regions[int(k)] for k in picks]
        located = rng.random(len(created)) < 0.4
        points: dict[str, list[tuple[float, float]]] = {}
        for r in sorted(set(chosen) - {"city"}):
            n = sum(1 for c, loc in zip(chosen, located, strict=True) if c == r and loc)
            lons, lats = sample_points(self.geoms[r], n, rng)
            points[r] = [(round(float(x), 6), round(float(y), 6)) for x, y in zip(lons, lats, strict=True)]
        cats = list(TICKET_CATEGORIES)
        tickets = []
        for seq, (t, region, loc) in enumerate(zip(created, chosen, located, strict=True), start=1):
            cat = cats[int(rng.integers(len(cats)))]
            sub = TICKET_CATEGORIES[cat][int(rng.integers(len(TICKET_CATEGORIES[cat])))]
            dispatched = t + timedelta(minutes=float(rng.uniform(3, 30)))
            progress = dispatched + timedelta(minutes=float(rng.uniform(10, 90)))
            closed = progress + timedelta(minutes=20 + float(rng.exponential(300)))
            lon, lat = points[region].pop() if loc and region != "city" else (None, None)
            name = "市直" if region == "city" else self.names[region]
            tickets.append(Ticket(f"ZQ{day:%Y%m%d}{seq:05d}", t, name, cat, sub, lon, lat,
                                  (dispatched, progress, closed)))
        with self._lock:
            if len(self._days) > 8:
                self._days.clear()
            self._days[day] = tickets
        return tickets

    def tickets_at(self, at: datetime) -> list[Ticket]:
        """The list the API gives at a time: today's tickets and earlier ones still open, newest first."""
        today = at.astimezone(CST).date()
        out = []
        for d in (today - timedelta(days=2), today - timedelta(days=1), today):
            for t in self._tickets_of(d):
                if t.created <= at and (d == today or t.status(at) < 3):
                    out.append(t)
        return sorted(out, key=lambda t: t.created, reverse=True)

    def _tickets_document(self, at: datetime) -> Document:
        rows = [{"gdbh": t.id, "slsj": _local(t.created), "gxsj": _local(t.updated(at)), "qx": t.region_name,
                 "lb": t.category, "xl": t.subcategory, "zt": TICKET_STATUS_ZH[t.status(at)], "jd": t.lon,
                 "wd": t.lat} for t in self.tickets_at(at)]
        data = {"asOf": _local(at), "total": len(rows), "list": rows}
        return {"code": "0000", "message": "成功", "data": data}


class _Handler(BaseHTTPRequestHandler):
    """GET only; everything is decided by SimulatedApis.respond."""

    sim: SimulatedApis
    server_version = "zq-sim/1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        try:
            status, headers, body = self.sim.respond(self.path, self.headers)
        except Exception as e:  # noqa: BLE001 - a simulator bug answers 500, as a real server would
            log.exception("simulated API failed")
            status, headers, body = 500, {"Content-Type": "text/plain"}, f"simulator error: {e}".encode()
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a hang past its timeout): nothing to tell it

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        log.debug("sim-http %s", format % args)


def example_messages(city: str, seed: int, at: datetime, prefix: str = "zq") -> list[tuple[str, bytes]]:
    """The messages the shipped sources make from the simulated APIs at a time (for the schema examples)."""
    from feeds.builtin import register_builtin_feeds
    from feeds.registry import FeedRegistry
    from feeds.sources import DEFAULT_SOURCES, load_sources, map_document

    registry = FeedRegistry()
    register_builtin_feeds(registry)
    if "air_quality" not in registry:
        from feeds.polled import register_polled_feeds

        register_polled_feeds(registry)
    sim = SimulatedApis(city, seed, clock=lambda: at)
    by_path = {p: api for api, p in PATHS.items()}
    out: list[tuple[str, bytes]] = []
    for source in load_sources(DEFAULT_SOURCES, registry, {"sim": "http://127.0.0.1"}):
        api = by_path[urlsplit(source.url).path]
        out.extend(map_document(source, sim.document(api, at), prefix, now=lambda: at))
    return out
