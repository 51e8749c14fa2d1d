"""Alert-engine benchmarks (issue 7): what judging every committed batch costs ingest, against writing alone and
against the naive way (re-reading the last hour of each feed from the store for every batch and judging from
scratch); replays; the engine's memory per (rule, source).

Readings: road-weather stations (the real payload, through the real decoder and write path) reporting once a
minute, a fifth of them through fog episodes (visibility falling under 50 m and lifting), so rules raise, hold
and clear. Rules: the packaged themes' (ecology, social) plus a threshold with hysteresis, a duration and a rate
on every station, as a theme owner might add.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clock import process_clock
from alerts.engine import AlertEngine, Memory, readings_of
from alerts.rules import Reading, RuleRegistry, register_builtin_rules
from bench.wall import ms, quantiles
from feeds import FeedRegistry, register_builtin_feeds
from feeds.decode import Decoder
from feeds.ingest import Message, build_batch
from geo import CountyLocator, county_names, load_counties, sample_points
from settings import Settings
from store import Batch, make_engine, migrate, write_batch
from store.models import Alarm, Observation
from topics.loader import BUILTIN_DIR, parse_theme

CITY, PREFIX, SEED = Settings.model_construct().city, "zq", 7071
EXTRA_RULES = """
- id: vis-low
  kind: threshold
  feed: road_weather
  metric: visibility_m
  below: 200
  clear_at: 500
- id: damp
  kind: duration
  feed: road_weather
  metric: humidity_pct
  above: 95
  minutes: 20
- id: cooling
  kind: rate
  feed: road_weather
  metric: air_temp_c
  change: -3
  minutes: 30
"""


@dataclass
class AlertSizes:
    """Sizes of the alert benchmarks."""

    stations: int = 2_000
    minutes: int = 50  # readings per station, one a minute
    batch: int = 1_000
    naive_batches: int = 10


def themes(registry: RuleRegistry) -> tuple:
    """The packaged ecology and social themes, social with three more rules on every station."""
    out = []
    for key in ("ecology", "social"):
        text = (BUILTIN_DIR / f"{key}.yaml").read_text(encoding="utf-8")
        if key == "social":
            text += EXTRA_RULES.lstrip("\n")
        th, errors = parse_theme(text, f"{key}.yaml", None, registry.schemas())
        assert th is not None, errors
        out.append(th)
    return tuple(out)


def messages(sizes: AlertSizes, start: datetime) -> Iterator[list[Message]]:
    """Minute by minute, every station's reading, in batches of sizes.batch."""
    rng = np.random.default_rng(SEED)
    gdf = load_counties(CITY, "detail")
    counties = list(gdf["adcode"])
    per = -(-sizes.stations // len(counties))
    points = {a: sample_points(geom, per, rng) for a, geom in zip(gdf["adcode"], gdf.geometry, strict=True)}
    where = []
    for i in range(sizes.stations):
        county = counties[i % len(counties)]
        lons, lats = points[county]
        j = i // len(counties)
        where.append((county, f"{county}00041316{i:06d}", float(lons[j]), float(lats[j])))
    fog = rng.random(sizes.stations) < 0.2
    fog_start = rng.integers(0, sizes.minutes // 2, sizes.stations)
    pending: list[Message] = []
    for m in range(sizes.minutes):
        t = start + timedelta(minutes=m)
        for i, (county, dev, lon, lat) in enumerate(where):
            k = m - fog_start[i]
            depth = float(max(0.0, 1 - abs(k - 12) / 12)) if fog[i] and 0 <= k <= 24 else 0.0
            vis = 12_000 - depth * 11_960 + float(rng.normal(0, 5))
            body = {"device_id": dev, "ts": t.isoformat(), "lon": lon, "lat": lat, "name": f"测试{i}号站",
                    "road": "G80", "visibility_m": round(max(vis, 20.0), 0),
                    "air_temp_c": round(18 - 4 * depth + float(rng.normal(0, 0.3)), 1),
                    "road_temp_c": 20.0, "humidity_pct": round(min(99.0, 80 + 19 * depth), 0), "wind_speed_ms": 1.5,
                    "precipitation_mm": 0.0, "road_state": "dry"}
            pending.append(Message(f"{PREFIX}/{county}/road_weather/{dev}", orjson.dumps(body), t))
            if len(pending) >= sizes.batch:
                yield pending
                pending = []
    if pending:
        yield pending


def naive_judge(engine: Engine, rules: AlertEngine, now: datetime) -> int:
    """The naive way: read the last hour of the feed from the store and judge every source from scratch."""
    judged = 0
    with Session(engine) as s:
        since = now - timedelta(hours=1)
        rows = s.execute(select(Observation.device_id, Observation.ts, Observation.data)
                         .where(Observation.feed == "road_weather", Observation.ts >= since)
                         .order_by(Observation.device_id, Observation.ts)).all()
    memory: dict[tuple[str, str], Memory] = {}
    bound = [r for r in rules.rules() if "road_weather" in r.settings.reads()]
    for dev, ts, data in rows:
        values = orjson.loads(data) if isinstance(data, str | bytes) else data
        reading = Reading(dev, "road_weather", ts, values)
        for rule in bound:
            mem = memory.setdefault((rule.key, dev), Memory())
            out = rule.settings.check(reading, mem.data, mem.alarm_id is not None)
            if out is not None:
                mem.alarm_id = 1 if out.active else None
            judged += 1
    return judged


def run(sizes: AlertSizes) -> Iterator[str]:
    """Build, time, print."""
    folder = Path(tempfile.mkdtemp(prefix="zq-bench-alerts-"))
    try:
        yield from _run(sizes, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(sizes: AlertSizes, folder: Path) -> Iterator[str]:
    reg = FeedRegistry()
    register_builtin_feeds(reg)
    decoder = Decoder(PREFIX, reg, CountyLocator.for_city(CITY), CITY, county_names(CITY))
    rules = RuleRegistry()
    register_builtin_rules(rules)
    th = themes(rules)
    start = process_clock().now().replace(second=0, microsecond=0) - timedelta(minutes=sizes.minutes)
    batches: list[tuple[Batch, int]] = []
    for msgs in messages(sizes, start):
        batch, good, bad = build_batch(decoder, msgs)
        assert bad == 0
        batches.append((batch, good))
    n = sum(g for _, g in batches)
    yield (f"{sizes.stations:,} road-weather stations × {sizes.minutes} min = {n:,} readings in {len(batches)} "
           f"batches of {sizes.batch:,}; {sum(len(t.rules) for t in th)} rules ({len(th[0].rules)} ecology, "
           f"{len(th[1].rules)} social incl. threshold/hysteresis, duration, rate on every station)")

    def store(name: str) -> Engine:
        engine = make_engine(f"sqlite:///{folder / name}")
        migrate(engine)
        return engine

    # Baseline in the same process: the write path alone.
    plain = store("plain.sqlite3")
    write_s = []
    for batch, _ in batches:
        t0 = time.perf_counter()
        with Session(plain) as s, s.begin():
            write_batch(s, batch)
        write_s.append(time.perf_counter() - t0)

    judged = store("judged.sqlite3")
    eng = AlertEngine(judged, rules, lambda: th)
    both_s, eval_s = [], []
    raised = cleared = 0
    for batch, _ in batches:
        t0 = time.perf_counter()
        with Session(judged) as s, s.begin():
            write_batch(s, batch)
        t1 = time.perf_counter()
        ch = eng.evaluate(readings_of(batch), list(batch.events.values()))
        t2 = time.perf_counter()
        both_s.append(t2 - t0)
        eval_s.append(t2 - t1)
        raised += len(ch.raised)
        cleared += len(ch.cleared)
    # Memory on its own run (tracemalloc slows Python several-fold, so it must not run while timing).
    probe = AlertEngine(store("memory.sqlite3"), rules, lambda: th)
    gc.collect()
    tracemalloc.start()
    for batch, _ in batches:
        probe.evaluate(readings_of(batch))
    gc.collect()
    mem_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    keys = len(probe._memory)  # noqa: SLF001 — the bench reports the engine's own memory
    with Session(judged) as s:
        alarms = len(s.scalars(select(Alarm.id)).all())
    w, b, e = sum(write_s), sum(both_s), sum(eval_s)
    p50, p95 = quantiles([ms(x) for x in eval_s])
    yield (f"write alone (baseline, same process): {n / w:,.0f} readings/s; write + judge: {n / b:,.0f} readings/s "
           f"(overhead ×{b / w:.2f})")
    yield (f"judging alone: {n / e:,.0f} readings/s; per batch of {sizes.batch:,} p50 {p50:.1f} ms, p95 {p95:.1f} ms; "
           f"{raised:,} alarms raised, {cleared:,} cleared ({alarms:,} rows)")
    yield (f"engine memory: {keys:,} (rule, source) entries, {mem_bytes / 1e6:.1f} MB traced while judging "
           f"({mem_bytes / max(keys, 1):,.0f} B per entry, what the engine keeps after judging every batch)")

    t0 = time.perf_counter()
    skipped = 0
    for batch, _ in batches:
        ch = eng.evaluate(readings_of(batch))
        skipped += ch.skipped_replays
        assert not ch.raised and not ch.cleared
    replay_s = time.perf_counter() - t0
    yield (f"replay of all {n:,} readings: {skipped:,} judgements skipped, 0 alarms raised, {n / replay_s:,.0f} "
           f"readings/s")

    naive_s = []
    for i, (batch, _) in enumerate(batches[-sizes.naive_batches:]):
        now = max(r.ts for r in readings_of(batch))
        t0 = time.perf_counter()
        naive_judge(judged, eng, now)
        naive_s.append(time.perf_counter() - t0)
    ours = statistics.mean(eval_s[-sizes.naive_batches:])
    naive = statistics.mean(naive_s)
    yield (f"naive (re-read the last hour and judge from scratch, per batch, last {len(naive_s)} batches): "
           f"{ms(naive):,.0f} ms vs ours {ms(ours):.1f} ms (×{naive / ours:.0f})")

