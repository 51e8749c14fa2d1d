"""Wall benchmarks: server time and bytes per tick on a store of 5M observations and 200k grid events, beside the
same tick on the simulator's first minutes; browser JS heap over 2,000 ticks; first paint of the wall.

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

from feeds import FeedRegistry, register_builtin_feeds
from feeds.decode import Decoder
from feeds.ingest import Message, build_batch
from feeds.payloads import CLOSING_STEP
from feeds.simhttp import PATHS, SimulatedApis
from feeds.simulator import EVENT_WEIGHTS, STEP_ACTORS, SUBCATEGORIES, Simulator
from feeds.sources import DEFAULT_SOURCES, load_sources, map_document
from geo import CountyLocator, county_names
from settings import CITY_TZ, Settings
from store import make_engine, migrate, write_batch
from store.models import GridEvent, GridEventStep, KpiMetric
from topics import THEMES

CITY = "441200"
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
    """The MQTT simulator and the polled APIs for `minutes` up to `end`, decoded and written as ingest does."""
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
    """What the ORM would bind for an aware datetime in this column (text on SQLite, timestamptz on PostgreSQL)."""
    proc = column.type.bind_processor(engine.dialect)
    return proc if proc is not None else (lambda v: v)


def _observation_rows(engine: Engine, n: int, before_ms: int, rng: np.random.Generator
                      ) -> Iterator[tuple[Any, ...]]:
    """n older observations of the store's devices, each at its feed's cadence, device by device in key order."""
    with engine.connect() as conn:
        newest = conn.exec_driver_sql(
            "SELECT o.device_id, o.feed, o.county_adcode, o.data FROM observations o JOIN "
            "(SELECT device_id, feed, max(ts) AS ts FROM observations GROUP BY device_id, feed) m "
            "ON o.device_id = m.device_id AND o.feed = m.feed AND o.ts = m.ts ORDER BY o.device_id, o.feed").all()
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
    """Grid events before `before` spread over the observation span (most closed, some open) and their steps."""
    t = GridEvent.__table__.c
    b = _binder(engine, t.reported_at)
    counties = sorted(EVENT_WEIGHTS)
    weights = [EVENT_WEIGHTS[c] for c in counties]
    cats = list(SUBCATEGORIES)
    names = county_names(CITY)
    sim = Simulator(CITY, PREFIX, SEED + 1)
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
        eid = f"AJ{county}{day}{seq[county + day]:05d}"
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


def _kpi_rows(engine: Engine, h: History, before: datetime, rng: np.random.Generator) -> Iterator[tuple[Any, ...]]:
    """A week of every (key, region) the store holds, at the simulator's 60 s (12345 counts: their 30 s poll)."""
    b = _binder(engine, KpiMetric.__table__.c.ts)
    with engine.connect() as conn:
        pairs = conn.exec_driver_sql(
            "SELECT k.key, k.region, k.value, k.unit FROM kpi_metrics k JOIN "
            "(SELECT key, region, min(ts) AS ts FROM kpi_metrics GROUP BY key, region) f "
            "ON k.key = f.key AND k.region = f.region AND k.ts = f.ts ORDER BY k.key, k.region").all()
    bound: dict[int, Any] = {}
    for key, region, value, unit in pairs:
        every = 30 if key.startswith("social.hotline_12345") else 60
        n = int(h.kpi_days * 86400 / every)
        noise = rng.normal(0, 0.02, size=n)
        for j in range(n):
            s = (n - j) * every
            if s not in bound:
                bound[s] = b(before - timedelta(seconds=s))
            v = value * (1 + float(noise[j]))
            yield key, region, bound[s], round(v, 1) if not float(value).is_integer() else float(round(v)), unit


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
        engine, "INSERT INTO grid_events (id, county_adcode, declared_adcode, grid_code, kind, category, subcategory, "
        "description, lon, lat, step, reported_at, updated_at, closed_at) VALUES "
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
                          "kpi_metrics", "feed_status", "dead_letters")}


def sqlite_size_mb(path: Path) -> float:
    """The database file with its WAL, MB."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def checkpoint(engine: Engine) -> None:
    """Fold the WAL into the database file (SQLite)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
