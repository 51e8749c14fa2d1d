"""Wall benchmarks: server time and bytes per tick on a store of 5M observations and 200k grid events, beside
the same tick on the simulator's first minutes; browser JS heap over 2,000 ticks; first paint of the wall.

The big store is the small one (the simulator's first minutes, ingested through the real decode and write
path) with history added before it: older observations of the same devices, closed and open grid events with
their steps, a week of KPIs at the same keys. Both stores therefore show the same present, and the ratio of
their figures is what history costs a tick.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clock import process_clock
from feeds import FeedRegistry, register_builtin_feeds
from feeds.decode import Decoder
from feeds.ingest import Message, build_batch
from feeds.payloads import CLOSING_STEP
from feeds.simhttp import PATHS, SimulatedApis
from feeds.simulator import STEP_ACTORS, SUBCATEGORIES, Simulator
from feeds.sources import DEFAULT_SOURCES, load_sources, map_document
from geo import CountyLocator, county_names
from settings import CITY_TZ, Settings
from store import make_engine, migrate, write_batch
from store.models import GridEvent, KpiMetric
from topics import THEMES

CITY = Settings.model_construct().city  # the default settings' city
PREFIX = "zq"
SEED = 20211
# Feeds stay fresh for the whole run (the stores are frozen once built), so steady ticks stay steady.
STALE_AFTER_S = 6 * 3600
VIEWPORT = 1920


def ms(seconds: float) -> float:
    """Seconds as milliseconds."""
    return seconds * 1000


def quantiles(values: Sequence[float]) -> tuple[float, float]:
    """p50 and p95."""
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94]


# ---- the small store: the simulator's first minutes through the real ingest path ------------------------


def simulate_minutes(engine: Engine, minutes: float, end: datetime) -> int:
    """The MQTT simulator and the polled APIs for `minutes` up to `end`, decoded and written like ingest."""
    reg = FeedRegistry()
    register_builtin_feeds(reg)
    decoder = Decoder(PREFIX, reg, CountyLocator.for_city(CITY), CITY, county_names(CITY))
    sim = Simulator(CITY, PREFIX, SEED)
    start = end - timedelta(minutes=minutes)
    apis = SimulatedApis(CITY, SEED, clock=lambda: start)
    sources = load_sources(DEFAULT_SOURCES, reg, {"sim": "http://127.0.0.1"})
    api_of = {p: api for api, p in PATHS.items()}
    total = 0
    pending: list[Message] = []
    seconds = int(minutes * 60)
    for s in range(seconds + 1):
        t = start + timedelta(seconds=s)
        msgs = sim.messages(t)
        if s % 60 == 0 or s == seconds:  # the sources poll every 30–60 s
            for src in sources:
                doc = apis.document(api_of[urlsplit(src.url).path], t)
                msgs += map_document(src, doc, PREFIX, now=lambda t=t: t)
        pending += [Message(topic, payload, t) for topic, payload in msgs]
        if len(pending) >= 1000 or s == seconds:
            batch, good, bad = build_batch(decoder, pending)
            assert bad == 0, f"{bad} simulated messages refused"
            with Session(engine) as session, session.begin():
                write_batch(session, batch)
            total += len(pending)
            pending = []
    return total


# ---- history added in bulk: plain driver executemany on prepared tuples ---------------------------------


@dataclass
class History:
    """How much history the big store gets."""

    observations: int = 5_000_000
    events: int = 200_000
    open_share: float = 0.025  # of the history's events, still open (steps 1–5)
    kpi_days: float = 7.0
    chunk: int = 250_000  # rows per executemany and per transaction
    counts: dict[str, int] = field(default_factory=dict)


def _executemany(engine: Engine, sql: str, rows: Iterable[tuple[Any, ...]], chunk: int) -> int:
    """Insert rows with the driver's executemany, `chunk` rows per transaction; returns the count."""
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = sql.replace("?", mark)
    n = 0
    it = iter(rows)
    while True:
        part = [r for _, r in zip(range(chunk), it, strict=False)]
        if not part:
            return n
        with engine.begin() as conn:
            conn.exec_driver_sql(sql, part)
        n += len(part)


def _binder(engine: Engine, column: Any) -> Callable[[datetime], Any]:
    """What the ORM binds for an aware datetime in this column (text on SQLite, timestamptz on PostgreSQL)."""
    proc = column.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    return proc if proc is not None else (lambda v: v)


def _observation_rows(engine: Engine, n: int, before_ms: int, rng: np.random.Generator
                      ) -> Iterator[tuple[Any, ...]]:
    """n older observations of the store's devices at their feeds' cadences, device by device in key order."""
    with engine.connect() as conn:
        newest = conn.exec_driver_sql(
            "SELECT o.device_id, o.feed, o.county_adcode, o.data FROM observations o JOIN "
            "(SELECT device_id, feed, max(ts) AS ts FROM observations GROUP BY device_id, feed) m "
            "ON o.device_id = m.device_id AND o.feed = m.feed AND o.ts = m.ts ORDER BY o.device_id, o.feed"
        ).all()
    reg = FeedRegistry()
    register_builtin_feeds(reg)
    cadence = {f.name: f.cadence_s for f in reg}
    rate = sum(1 / cadence[feed] for _, feed, _, _ in newest)
    span_s = n / rate
    plan = [(dev, feed, county, data, int(span_s / cadence[feed])) for dev, feed, county, data in newest]
    short = n - sum(p[4] for p in plan)
    for i in range(short):  # rounding: the first devices take the remainder
        dev, feed, county, data, k = plan[i % len(plan)]
        plan[i % len(plan)] = (dev, feed, county, data, k + 1)
    for dev, feed, county, data, k in plan:
        values = json.loads(data) if isinstance(data, str) else dict(data)
        # 32 variants of the device's newest message, values jittered by a few per cent.
        variants = []
        for _ in range(32):
            jittered = {m: round(v * float(rng.uniform(0.95, 1.05)), 2) if isinstance(v, float) else v
                        for m, v in values.items()}
            variants.append(orjson.dumps(jittered).decode())
        step_ms = cadence[feed] * 1000
        first = before_ms - k * step_ms
        for j in range(k):
            yield dev, feed, first + j * step_ms, county, variants[j % 32]


def _event_rows(engine: Engine, h: History, before: datetime, rng: np.random.Generator
                ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Grid events before `before` over 75 days (most closed, some open), and their steps."""
    t = GridEvent.__table__.c
    b = _binder(engine, t.reported_at)
    cats = list(SUBCATEGORIES)
    names = county_names(CITY)
    sim = Simulator(CITY, PREFIX, SEED + 1)
    counties, weights = sim.event_weights
    points = {c: sim._points(c, 64) for c in counties}  # noqa: SLF001 - the simulator's own sampling of a county
    days = 75.0
    n_open = int(h.events * h.open_share)
    events, steps = [], []
    seq: dict[str, int] = defaultdict(int)
    county_of = rng.choice(len(counties), size=h.events, p=weights)
    for i in range(h.events):
        is_open = i >= h.events - n_open
        # Open cases were reported in the last three days, closed ones any time over the span.
        ago = float(rng.uniform(0.02, 3.0) if is_open else rng.uniform(0.2, days)) * 86400
        reported = before - timedelta(seconds=ago)
        county = counties[int(county_of[i])]
        kind, cat = cats[int(rng.integers(len(cats)))]
        subs = SUBCATEGORIES[(kind, cat)]
        sub = subs[int(rng.integers(len(subs)))]
        lon, lat = points[county][int(rng.integers(64))]
        day = reported.astimezone(CITY_TZ).strftime("%Y%m%d")
        seq[county + day] += 1
        # Numbered from 50000 so today's history never takes a number the running simulator uses.
        eid = f"AJ{county}{day}{50_000 + seq[county + day]:05d}"
        last = int(rng.integers(1, 6)) if is_open else 7
        # Steps spread over the case's life: hours for a closed case, up to `before` for an open one.
        life = (ago * 0.9) if is_open else float(rng.uniform(1, 72)) * 3600
        ts = reported
        for step in range(1, last + 1):
            if step > 1:
                ts = ts + timedelta(seconds=life / last)
            steps.append((eid, step, b(ts), STEP_ACTORS[step - 1], None))
        events.append((eid, county, county, None, kind, cat, sub, f"{names[county]}{sub}", lon, lat, last,
                       b(reported), b(ts), b(ts) if last >= CLOSING_STEP else None))
    return events, steps


def _kpi_rows(engine: Engine, h: History, before: datetime, rng: np.random.Generator
             ) -> Iterator[tuple[Any, ...]]:
    """A week of every (key, region) the store holds, a value a minute (the simulator's and 12345's pace)."""
    b = _binder(engine, KpiMetric.__table__.c.ts)
    with engine.connect() as conn:
        pairs = conn.exec_driver_sql(
            "SELECT k.key, k.region, k.value, k.unit FROM kpi_metrics k JOIN "
            "(SELECT key, region, min(ts) AS ts FROM kpi_metrics GROUP BY key, region) f "
            "ON k.key = f.key AND k.region = f.region AND k.ts = f.ts ORDER BY k.key, k.region").all()
    bound: dict[int, Any] = {}
    for key, region, value, unit in pairs:
        every = 60
        n = int(h.kpi_days * 86400 / every)
        noise = rng.normal(0, 0.02, size=n)
        for j in range(n):
            s = (n - j) * every
            if s not in bound:
                bound[s] = b(before - timedelta(seconds=s))
            v = value * (1 + float(noise[j]))
            yield key, region, bound[s], float(round(v)) if float(value).is_integer() else round(v, 1), unit


def add_history(engine: Engine, h: History) -> dict[str, float]:
    """Add h's history before the store's oldest data; returns seconds per table."""
    rng = np.random.default_rng(SEED)
    with engine.connect() as conn:
        oldest_ms = conn.exec_driver_sql("SELECT min(ts) FROM observations").scalar()
    before = datetime.fromtimestamp(oldest_ms / 1000, CITY_TZ) - timedelta(minutes=1)
    out: dict[str, float] = {}
    t = time.perf_counter()
    h.counts["observations"] = _executemany(
        engine, "INSERT INTO observations (device_id, feed, ts, county_adcode, data) VALUES (?, ?, ?, ?, ?)",
        _observation_rows(engine, h.observations, int(before.timestamp() * 1000), rng), h.chunk)
    out["observations"] = time.perf_counter() - t
    t = time.perf_counter()
    events, steps = _event_rows(engine, h, before, rng)
    h.counts["grid_events"] = _executemany(
        engine, "INSERT INTO grid_events (id, county_adcode, declared_adcode, grid_code, kind, category, "
        "subcategory, description, lon, lat, step, reported_at, updated_at, closed_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events, h.chunk)
    h.counts["grid_event_steps"] = _executemany(
        engine, "INSERT INTO grid_event_steps (event_id, step, ts, actor, note) VALUES (?, ?, ?, ?, ?)",
        steps, h.chunk)
    out["grid events and steps"] = time.perf_counter() - t
    t = time.perf_counter()
    h.counts["kpi_metrics"] = _executemany(
        engine, "INSERT INTO kpi_metrics (key, region, ts, value, unit) VALUES (?, ?, ?, ?, ?)",
        _kpi_rows(engine, h, before, rng), h.chunk)
    out["kpi_metrics"] = time.perf_counter() - t
    with engine.begin() as conn:
        # The counters /healthz shows include the history.
        for feed, n in (("grid_event", h.counts["grid_event_steps"]), ("kpi", h.counts["kpi_metrics"])):
            conn.exec_driver_sql(f"UPDATE feed_status SET messages = messages + {n} WHERE feed = '{feed}'")
        for feed, n in conn.exec_driver_sql("SELECT feed, count(*) FROM observations GROUP BY feed").all():
            conn.exec_driver_sql(f"UPDATE feed_status SET messages = {n} WHERE feed = '{feed}'")
    return out


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of interest."""
    with engine.connect() as conn:
        return {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() or 0
                for t in ("observations", "latest_values", "devices", "grid_events", "grid_event_steps",
                          "kpi_metrics", "feed_status", "dead_letters", "cases")}


def sqlite_size_mb(path: Path) -> float:
    """The database file with its WAL, MB."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def checkpoint(engine: Engine) -> None:
    """Fold the WAL into the database file (SQLite)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# ---- server time and bytes per tick: the registered callback through Flask's test client ----------------


def tick_key(app: Any) -> str:
    """The callback id of the wall's tick, as the browser names it in `output`."""
    return next(k for k, v in app.callback_map.items()
                if any(i.get("id") == "wall-tick" for i in v.get("inputs", [])))


def tick_body(key: str, names: Sequence[str], search: str, hashes: dict[str, str] | None, n: int | None
              ) -> dict[str, Any]:
    """The JSON the browser POSTs to /_dash-update-component for a wall tick (as captured from Chromium).

    Pattern-matching outputs and state are expanded to the panels on the page, in page order.
    """
    outs: list[Any] = []
    for part in key[2:-2].split("..."):
        id_, prop = part.rsplit(".", 1)
        if id_.startswith("{") and '["ALL"]' in id_:  # a wildcard: one output per panel on the page
            kind = json.loads(id_)["type"]
            outs.append([{"id": {"name": nm, "type": kind}, "property": prop} for nm in names])
        else:
            outs.append({"id": json.loads(id_) if id_.startswith("{") else id_, "property": prop})
    tick = {"id": "wall-tick", "property": "n_intervals"}
    if n is not None:
        tick["value"] = n
    return {
        "output": key, "outputs": outs, "inputs": [tick],
        "changedPropIds": [] if n is None else ["wall-tick.n_intervals"],
        "parsedChangedPropsIds": [] if n is None else ["wall-tick.n_intervals"],
        "state": [
            [{"id": {"name": nm, "type": "panel"}, "property": "id", "value": {"type": "panel", "name": nm}}
             for nm in names],
            {"id": "url", "property": "search", "value": search},
            {"id": "panel-hashes", "property": "data", "value": hashes or {}},
            {"id": "viewport-width", "property": "data", "value": VIEWPORT},
            {"id": "themes-version", "property": "data", "value": None},
        ],
    }


@dataclass
class TickFigures:
    """One theme on one store."""

    theme: str
    first_bytes: int = 0
    first_gzip: int = 0
    steady_bytes: int = 0
    steady_gzip: int = 0
    first_ms: list[float] = field(default_factory=list)
    steady_ms: list[float] = field(default_factory=list)
    sent_panels: int = 0  # panels sent again in the last steady tick


def theme_panels(ctx: Any, theme_key: str) -> list[str]:
    """The panels of a theme in page order: left column, right column, the KPI strip."""
    from dashboard.pages import wall
    from topics import theme

    left, right = wall.columns(ctx, theme(theme_key))
    return [p.id for p in (*left, *right)] + [wall.KPI_STRIP]


def time_ticks(app: Any, ticks: int, firsts: int = 5) -> list[TickFigures]:
    """Every theme: a few first ticks (nothing in the browser yet), then `ticks` steady ones in sequence."""
    client = app.server.test_client()
    ctx = app.server.config["ZQ_CONTEXT"]
    key = tick_key(app)
    out = []

    def post(body: dict[str, Any]) -> tuple[float, bytes]:
        raw = orjson.dumps(body)
        t = time.perf_counter()
        r = client.post("/_dash-update-component", data=raw, content_type="application/json")
        dt = time.perf_counter() - t
        assert r.status_code == 200, (r.status_code, r.data[:300])
        return dt, r.data

    for th in THEMES:
        names = theme_panels(ctx, th.key)
        search = f"?theme={th.key}"
        f = TickFigures(th.key)
        for _ in range(firsts):
            dt, data = post(tick_body(key, names, search, None, None))
            f.first_ms.append(ms(dt))
        f.first_bytes, f.first_gzip = len(data), len(gzip.compress(data))
        hashes = orjson.loads(data)["response"]["panel-hashes"]["data"]
        for n in range(1, ticks + 1):
            dt, data = post(tick_body(key, names, search, hashes, n))
            f.steady_ms.append(ms(dt))
            resp = orjson.loads(data)["response"]
            hashes = resp["panel-hashes"]["data"]
        f.steady_bytes, f.steady_gzip = len(data), len(gzip.compress(data))
        f.sent_panels = sum(1 for k in resp if k.startswith("{") and "panel-body" in k)
        out.append(f)
    return out


def tick_parts(app: Any, theme_key: str, repeat: int = 30) -> dict[str, float]:
    """Median ms of each part of a tick (each panel, map, conditions, status, ticker), called outside Dash."""
    from dashboard.pages import wall
    from dashboard.pages.common import status_chips
    from dashboard.panels import PanelInput
    from dashboard.status import conditions, ticker
    from store import queries as q
    from topics import theme

    ctx = app.server.config["ZQ_CONTEXT"]
    th = theme(theme_key)
    left, right = wall.columns(ctx, th)
    placed = [*left, *right, wall.STRIP]
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        with Session(ctx.engine) as s:
            t = time.perf_counter()
            health = ctx.health(s)
            times["health"].append(time.perf_counter() - t)
            inp = PanelInput(session=s, lang="zh", county=None, health=health, now=ctx.now(), names=ctx.names,
                             theme=theme_key, theme_def=th, counties=ctx.counties_wall, layers=ctx.registries.layers)
            for p in placed:  # as the tick renders them: settings checked, then the renderer
                t = time.perf_counter()
                wall.render_one(ctx, p, inp)
                times[f"panel {p.id}"].append(time.perf_counter() - t)
            t = time.perf_counter()
            wall.map_state(ctx, s, th, "zh")
            times["map_state"].append(time.perf_counter() - t)
            t = time.perf_counter()
            cond = conditions(s, ctx.now(), None)
            times["conditions"].append(time.perf_counter() - t)
            t = time.perf_counter()
            status_chips(ctx.health(s), q.dead_letter_count(s), cond, "zh")
            times["status_chips"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ticker(s, cond, "zh", None)
            times["ticker"].append(time.perf_counter() - t)
    return {k: ms(statistics.median(v)) for k, v in times.items()}


def tick_app(url: str) -> Any:
    """The app as `python app.py` builds it, without feeds (the store is frozen)."""
    from dashboard import create_app
    from dashboard.factory import settle

    app = create_app(Settings(db=url, stale_after_s=STALE_AFTER_S, simulate=False, poll=False, ingest=False),
                     start_feeds=False)
    settle(app)  # as app.py and wsgi.py do
    return app


# ---- the browser: JS heap over many ticks, first paint ---------------------------------------------------

# Installed before any page script: counts the wall's tick responses (an integer, nothing kept per tick),
# keeps the first tick's request body (to compare with the bench's), and notes when the city map's county
# shapes and the panels' data-time lines first exist.
PAGE_HOOK = """
(() => {
  window.__zq = {ticks: 0, body: null, map: null, panels: null};
  const z = window.__zq;
  const fetch0 = window.fetch;
  window.fetch = function(url, opts) {
    const p = fetch0.apply(this, arguments);
    const body = opts && typeof opts.body === 'string' ? opts.body : '';
    if (body.indexOf('"wall-tick"') >= 0) {
      if (z.body === null) { z.body = body; }
      p.then(() => { z.ticks += 1; }, () => {});
    }
    return p;
  };
  const mapDrawn = () => {
    const g = document.querySelector('#city-map .js-plotly-plot');
    if (!g || !g._fullData) { return false; }
    const want = g._fullData.filter(t => t.meta && t.meta.layer === 'county_choropleth').length;
    let got = 0;
    document.querySelectorAll('#city-map .scatterlayer path.js-fill').forEach(f => {
      const d = (f.getAttribute('d') || '').trim();
      if (d && d !== 'M0,0Z') { got += 1; }
    });
    return want > 0 && got >= want;
  };
  const panelsFilled = () => {
    const metas = document.querySelectorAll('.panel-meta');
    return metas.length > 0 && document.querySelectorAll('.panel-meta .data-time').length >= metas.length;
  };
  const obs = new MutationObserver(() => {
    if (z.map === null && mapDrawn()) { z.map = performance.now(); }
    if (z.panels === null && panelsFilled()) { z.panels = performance.now(); }
    if (z.map !== null && z.panels !== null) { obs.disconnect(); }
  });
  obs.observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['d']});
})();
"""

LOAD_TIMES = """
const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
const nav = performance.getEntriesByType('navigation')[0] || {};
return {fp: paint['first-paint'] ?? null, fcp: paint['first-contentful-paint'] ?? null, map: window.__zq.map,
        panels: window.__zq.panels, load: nav.loadEventEnd || null};
"""


def heap(d: Any) -> dict[str, float]:
    """JS heap used (MB), DOM nodes and event listeners after a forced garbage collection."""
    d.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    got = {m["name"]: m["value"] for m in d.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
    return {"heap_mb": got["JSHeapUsedSize"] / 1e6, "nodes": got.get("Nodes", 0),
            "listeners": got.get("JSEventListeners", 0)}


def _posts(log: Path) -> int:
    """Callback requests the app's server logged so far."""
    return log.read_bytes().count(b"POST /_dash-update-component")


def browser_run(cycles: int, first: int, path: str, reloads: int = 3, samples: int = 8) -> dict[str, Any]:
    """The real app (`python app.py --tick-seconds 0.1`, simulator, SQLite) in headless Chromium."""
    from tests.browser import chromium, live_app, wait_for

    out: dict[str, Any] = {"loads": [], "heap": []}
    with live_app("--tick-seconds", "0.1") as app, chromium(1920, 1080) as d:
        out["chromium"] = d.capabilities.get("browserVersion", "?")
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PAGE_HOOK})
        drawn = "return window.__zq.map !== null && window.__zq.panels !== null"
        for _ in range(1 + reloads):  # a fresh profile first (nothing cached), then reloads
            d.get(app.url + path)
            wait_for(lambda: d.execute_script(drawn), timeout=60, what="the map and the panels")
            out["loads"].append(d.execute_script(LOAD_TIMES))
        out["tick_body"] = d.execute_script("return window.__zq.body")
        d.execute_cdp_cmd("Performance.enable", {})
        ticks = lambda: d.execute_script("return window.__zq.ticks")  # noqa: E731
        marks = sorted({first, *np.linspace(first, cycles, samples).astype(int).tolist(), cycles})
        t0 = time.perf_counter()
        for mark in marks:
            wait_for(lambda m=mark: ticks() >= m, timeout=max(120.0, cycles), what=f"{mark} ticks")
            n, posts = ticks(), _posts(app.log)
            out["heap"].append({"ticks": n, "posts": posts, "s": time.perf_counter() - t0, **heap(d)})
    return out


# ---- the section ---------------------------------------------------------------------------------------


@dataclass
class Sizes:
    """Sizes of the wall benchmarks."""

    observations: int = 5_000_000
    events: int = 200_000
    minutes: float = 5.0  # of simulator for the small store (the baseline)
    ticks: int = 200  # steady ticks per theme and store
    cycles: int = 2_000  # browser ticks
    first: int = 100  # browser ticks before the first heap reading
    browser: bool = True
    postgres: bool = True


def _versions() -> str:
    import sqlite3

    import dash
    import sqlalchemy

    return (f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
            f"SQLite {sqlite3.sqlite_version}; SQLAlchemy {sqlalchemy.__version__}; Dash {dash.__version__}")


def _ticks_table(label: str, small: list[TickFigures], big: list[TickFigures], ticks: int) -> list[str]:
    first = "first tick p50: small"
    out = [f"\n{label}: server time per tick, {ticks} steady ticks per theme (each sending the previous "
           "tick's fingerprints) after 5 first ticks (sending none)",
           f"  {'theme':10s} {'small p50':>10s} {'p95':>6s}   {'big p50':>8s} {'p95':>6s}   "
           f"{'big/small p95':>13s}   {first:>21s} {'big':>6s}"]
    for s, b in zip(small, big, strict=True):
        sp, bp = quantiles(s.steady_ms), quantiles(b.steady_ms)
        out.append(f"  {s.theme:10s} {sp[0]:7.1f} ms {sp[1]:6.1f}   {bp[0]:5.1f} ms {bp[1]:6.1f}   "
                   f"{bp[1] / sp[1]:12.2f}×   {statistics.median(s.first_ms):18.1f} ms "
                   f"{statistics.median(b.first_ms):6.1f}")
    alls = quantiles([x for s in small for x in s.steady_ms])
    allb = quantiles([x for b in big for x in b.steady_ms])
    out.append(f"  {'all':10s} {alls[0]:7.1f} ms {alls[1]:6.1f}   {allb[0]:5.1f} ms {allb[1]:6.1f}   "
               f"{allb[1] / alls[1]:12.2f}×   (target: p95 ≤ 30 ms with the big store)")
    from bench import results  # here: bench.results imports nothing of the wall's

    store = label.split(":")[0].lower()
    results.figure("wall", "steady tick p95, small store", alls[1], "ms", store=store)
    results.figure("wall", "steady tick p95, big store", allb[1], "ms", "≤ 20 (PostgreSQL)", store=store)
    out.append(f"{label}: bytes per tick (JSON response body, gzip in brackets), first tick → steady tick")
    for s, b in zip(small, big, strict=True):
        out.append(f"  {s.theme:10s} small {s.first_bytes:7,d} ({s.first_gzip:6,d}) → {s.steady_bytes:6,d} "
                   f"({s.steady_gzip:5,d})   big {b.first_bytes:7,d} ({b.first_gzip:6,d}) → "
                   f"{b.steady_bytes:6,d} ({b.steady_gzip:5,d}); panels in its last steady tick: "
                   f"{b.sent_panels}")
    return out


def _parts_lines(label: str, small: dict[str, dict[str, float]], big: dict[str, dict[str, float]]
                 ) -> list[str]:
    out = [f"{label}: where a tick goes, median ms per part called outside Dash, big store (small); "
           "parts ≥ 1 ms:"]
    for theme_key, parts in big.items():
        shown = [f"{k} {v:.1f} ({small[theme_key].get(k, float('nan')):.1f})"
                 for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 1.0]
        out.append(f"  {theme_key:10s} " + (", ".join(shown) or "none"))
    return out


def _browser_lines(r: dict[str, Any], body_same: bool | None, cycles: int) -> list[str]:
    cold, warm = r["loads"][0], r["loads"][1:]

    def med(key: str) -> float:
        return statistics.median(x[key] for x in warm)

    h = r["heap"]
    first, last = h[0], h[-1]
    seconds = last["s"] - first["s"]
    rate = (last["ticks"] - first["ticks"]) / seconds if seconds > 0 else float("nan")
    same = "" if body_same is None else (
        f"; the page's tick request body {'equals' if body_same else 'DIFFERS from'} the one the bench posts")
    out = [f"\nbrowser: `python app.py --tick-seconds 0.1` (simulator, SQLite) in headless Chromium "
           f"{r['chromium']} at 1920×1080, /?theme=social",
           f"  first paint {cold['fp']:.0f} ms, city map drawn {cold['map']:.0f} ms, panels filled "
           f"{cold['panels']:.0f} ms after navigation start (fresh profile); reloads, median of {len(warm)}: "
           f"{med('fp'):.0f} / {med('map'):.0f} / {med('panels'):.0f} ms   (target: map under 3 s)",
           "  ticks = the page's completed tick requests (a counter in a fetch wrapper); meanwhile the "
           f"server logged {last['posts'] - first['posts']:,} callback requests for "
           f"{last['ticks'] - first['ticks']:,} ticks ({rate:.1f} ticks/s){same}",
           "  JS heap used after a forced GC (DOM nodes, JS event listeners):"]
    for x in h:
        out.append(f"    after {x['ticks']:6,d} ticks: {x['heap_mb']:6.1f} MB   ({x['nodes']:,.0f} nodes, "
                   f"{x['listeners']:,.0f} listeners)")
    out.append(f"  growth from {first['ticks']:,} to {last['ticks']:,} ticks: "
               f"{last['heap_mb'] - first['heap_mb']:+.1f} MB   (target: ≤ 20 MB over {cycles:,} cycles)")
    return out


@dataclass
class Pair:
    """A small store and the big one made from it, on one backend."""

    label: str
    small_url: str
    big_url: str
    size: Callable[[str], float]  # MB of a store by URL


def build_pair(pair: Pair, sizes: Sizes, clone: Callable[[], None]) -> Iterator[str]:
    """Simulate into the small store, clone it, add history to the clone; yields what it did."""
    small = make_engine(pair.small_url)
    migrate(small)
    t = time.perf_counter()
    n = simulate_minutes(small, sizes.minutes, process_clock().now(CITY_TZ))
    checkpoint(small)
    took = time.perf_counter() - t
    c = table_counts(small)
    yield (f"{pair.label} small store (the baseline): the simulator's first {sizes.minutes:g} minutes and "
           f"the polled APIs, {n:,} messages through decode and write_batch in {took:.1f} s: "
           f"{c['observations']:,} observations, {c['grid_events']:,} grid events, {c['kpi_metrics']:,} KPI "
           f"rows, {c['devices']} devices, {c['latest_values']} latest values; "
           f"{pair.size(pair.small_url):.1f} MB")
    small.dispose()
    clone()
    big = make_engine(pair.big_url)
    h = History(observations=sizes.observations, events=sizes.events)
    t = time.perf_counter()
    parts = add_history(big, h)
    if big.dialect.name == "postgresql":
        # What autovacuum and the checkpointer do after such a load, done now rather than during the timing.
        with big.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for statement in ("VACUUM ANALYZE", "CHECKPOINT"):
                conn.exec_driver_sql(statement)
    checkpoint(big)
    built = time.perf_counter() - t
    c = table_counts(big)
    big.dispose()
    took = ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
    yield (f"{pair.label} big store: the small one plus history before it, driver executemany, {h.chunk:,} "
           f"rows a transaction, in {built:.1f} s ({took})")
    still_open = int(h.events * h.open_share)
    yield (f"  {c['observations']:,} observations ({h.counts['observations'] / parts['observations']:,.0f} "
           f"rows/s), {c['grid_events']:,} grid events ({still_open:,} of the history still open) with "
           f"{c['grid_event_steps']:,} steps, {c['kpi_metrics']:,} KPI rows (a week, every key a value a "
           f"minute); {pair.size(pair.big_url):,.0f} MB")


def measure_pair(pair: Pair, sizes: Sizes) -> Iterator[str]:
    """Tick times, bytes and parts on both stores of a pair."""
    apps = {"small": tick_app(pair.small_url), "big": tick_app(pair.big_url)}
    try:
        figs = {k: time_ticks(a, sizes.ticks) for k, a in apps.items()}
        yield from _ticks_table(pair.label, figs["small"], figs["big"], sizes.ticks)
        parts = {k: {th.key: tick_parts(a, th.key) for th in THEMES} for k, a in apps.items()}
        yield from _parts_lines(pair.label, parts["small"], parts["big"])
    finally:
        for a in apps.values():
            a.server.config["ZQ_CONTEXT"].engine.dispose()


def _pg_size(url: str) -> float:
    """MB of the PostgreSQL database a URL names."""
    e = make_engine(url)
    try:
        with e.connect() as conn:
            return (conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0) / 1e6
    finally:
        e.dispose()


def run(sizes: Sizes) -> Iterator[str]:
    """Build the stores, time the ticks, run the browser; yields printable lines as they are measured."""
    from tests.servers import postgres_cluster

    yield _versions()
    yield ("ticks: the wall's registered tick callback through Flask's test client: POST "
           "/_dash-update-component with the body Chromium sends (checked below), to the app of "
           "create_app(Settings(db=…), start_feeds=False)")
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="zq-bench-wall-"))
    try:
        small_path, big_path = tmp / "small.sqlite3", tmp / "big.sqlite3"
        lite = Pair("SQLite", f"sqlite:///{small_path}", f"sqlite:///{big_path}",
                    lambda url: sqlite_size_mb(Path(url.removeprefix("sqlite:///"))))
        yield from build_pair(lite, sizes, lambda: shutil.copy(small_path, big_path))
        yield from measure_pair(lite, sizes)
        for p in tmp.glob("big.sqlite3*"):
            p.unlink()  # 1.3 GB: gone before PostgreSQL writes its own

        if sizes.postgres:
            with postgres_cluster(durable=True) as pg:
                admin = make_engine(pg.url())

                def sql(statement: str) -> None:
                    with admin.connect() as conn:
                        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(statement)

                sql("CREATE DATABASE small")
                pgp = Pair("PostgreSQL", pg.url("small"), pg.url("big"), _pg_size)
                yield from build_pair(pgp, sizes, lambda: sql("CREATE DATABASE big TEMPLATE small"))
                yield from measure_pair(pgp, sizes)
                admin.dispose()

        if sizes.browser:
            r = browser_run(sizes.cycles, sizes.first, "/?theme=social")
            same = None
            if r.get("tick_body"):
                app = tick_app(lite.small_url)
                ctx = app.server.config["ZQ_CONTEXT"]
                same = json.loads(r["tick_body"]) == tick_body(tick_key(app), theme_panels(ctx, "social"),
                                                               "?theme=social", None, None)
                ctx.engine.dispose()
            yield from _browser_lines(r, same, sizes.cycles)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    yield f"\nwall section: {time.perf_counter() - started:.0f} s"
