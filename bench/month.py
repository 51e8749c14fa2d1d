"""A month of data on PostgreSQL: a 30-day store of devices reporting each minute (≈43 M observations for 1,000),
beside the same store without the month, in one run.

The small store is the drill bench's (bench.drill.build_store: the simulator's first minutes, then devices,
grid events, cases and KPIs in bulk); the month store is a copy of it (CREATE DATABASE … TEMPLATE) with 30 days
of minute-by-minute history of every device added before its oldest message, in SQL (generate_series, a day's
partition per statement). Both show the same present, so the ratio of their figures is what a month costs. Then
the maintenance role's work on the month: the roll-ups made from scratch, a round of it, and retention dropping
the oldest day.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench import drill, results, wall
from bench.wall import ms, quantiles
from store import make_engine, partitions, rollups
from topics import THEMES

MINUTE_MS = 60_000

# Each device kind's message, as the drill bench's devices send them (bench.drill._device_batches), in SQL.
# r is random() per row; values vary so JSONB rows are of realistic size.
VALUES = {
    "video_point": "jsonb_build_object('online', CASE WHEN r < 0.93 THEN 1.0 ELSE 0.0 END, 'detections', 0.0)",
    "road_weather": ("jsonb_build_object('visibility_m', round((3000 + r * 27000)::numeric, 1), 'air_temp_c', "
                     "round((18 + r * 8)::numeric, 1), 'humidity_pct', 70.0, 'wind_speed_ms', "
                     "round((r * 5)::numeric, 1))"),
    "fire_risk": ("jsonb_build_object('max_temp_c', round((26 + r * 8)::numeric, 1), 'rh_pct', "
                  "round((20 + r * 70)::numeric), 'wind_speed_ms', round((r * 6)::numeric, 1), 'dry_days', "
                  "floor(r * 12), 'precipitation_mm', 0.0)"),
}


@dataclass
class MonthSizes:
    """Sizes of the month benchmark."""

    devices: int = 1_000
    days: int = 30
    every_s: int = 60  # seconds between a device's messages
    events: int = 50_000
    ticks: int = 100  # steady wall ticks per theme and store
    renders: int = 10  # renderings of each theme's tick (the work once per tick window)
    drills: int = 30
    drops: int = 3  # oldest days dropped one by one


def history_sql(day_ms: int, lo_ms: int, hi_ms: int, every_ms: int) -> str:
    """INSERT of every device's messages in [lo_ms, hi_ms) into one day's partition, one each every_ms, each device
    at its own offset within the interval; devices of the simulator's other feeds repeat their newest message."""
    kinds = " ".join(f"WHEN '{k}' THEN {v}" for k, v in VALUES.items())
    return (
        # MATERIALIZED: each device's newest message is looked up once, not once per generated row.
        "WITH d AS MATERIALIZED (SELECT id, kind, county_adcode, "
        f"mod(abs(hashtext(id)), {every_ms}) AS off, "
        "(SELECT o.data FROM observations o WHERE o.device_id = devices.id ORDER BY o.ts DESC LIMIT 1) AS last "
        "FROM devices) "
        f"INSERT INTO {partitions.partition_name(day_ms)} (device_id, feed, ts, county_adcode, data) "
        f"SELECT d.id, d.kind, t.ts, d.county_adcode, CASE d.kind {kinds} ELSE d.last END "
        f"FROM d CROSS JOIN LATERAL (SELECT s AS ts, random() AS r FROM generate_series("
        f"{lo_ms} + d.off, {hi_ms} - 1, {every_ms}) s) t(ts, r) "
        "WHERE d.last IS NOT NULL "
        "ORDER BY t.ts"  # rows in time order, as ingest writes them
    )


def add_month(url: str, sizes: MonthSizes) -> Iterator[str]:
    """The month of history before the store's oldest observation; yields what it did."""
    engine = make_engine(url)
    every_ms = sizes.every_s * 1000
    try:
        with engine.begin() as conn:
            oldest = int(conn.exec_driver_sql("SELECT min(ts) FROM observations").scalar())
            newest = int(conn.exec_driver_sql("SELECT max(ts) FROM observations").scalar())
            n_dev = conn.exec_driver_sql("SELECT count(DISTINCT device_id) FROM observations").scalar()
            end = oldest - oldest % MINUTE_MS
            start = end - sizes.days * partitions.DAY_MS
            made = partitions.ensure_days(conn, start, newest + 3 * partitions.DAY_MS)
        t = time.perf_counter()
        day = partitions.day_floor(start)
        rows = 0
        while day < end:
            lo, hi = max(day, start), min(day + partitions.DAY_MS, end)
            with engine.begin() as conn:
                rows += conn.exec_driver_sql(history_sql(day, lo, hi, every_ms)).rowcount or 0
            day += partitions.DAY_MS
        load = time.perf_counter() - t
        t = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for statement in ("VACUUM ANALYZE", "CHECKPOINT"):
                conn.exec_driver_sql(statement)
        vac = time.perf_counter() - t
        results.figure("month", "month store: rows loaded per second", rows / load, "rows/s")
        results.figure("month", "month store: build seconds", load + vac, "s")
        yield (f"  month added: {rows:,} observations of {n_dev:,} devices, one every {sizes.every_s} s over "
               f"{sizes.days} days, {len(made)} day partitions made; INSERT … SELECT generate_series one day a "
               f"statement in {load:.0f} s ({rows / load:,.0f} rows/s), VACUUM ANALYZE + CHECKPOINT {vac:.0f} s")
    finally:
        engine.dispose()


@dataclass
class StoreFigures:
    """What is timed on one store."""

    ticks: list[float]
    renders: dict[str, list[float]]
    drills: list[float]


def measure(urls: dict[str, str], sizes: MonthSizes, rounds: int = 5) -> dict[str, StoreFigures]:
    """Steady wall ticks, renderings of each theme's tick, and county drills on each store, the stores taking turns
    in rounds so that a change in the machine's load falls on both alike."""
    from dashboard.pages import wall as wall_page
    from dashboard.pages.common import parse_view

    apps = {name: wall.tick_app(url) for name, url in urls.items()}
    out = {name: StoreFigures([], {th.key: [] for th in THEMES}, []) for name in urls}
    try:
        for r in range(rounds):
            order = list(apps) if r % 2 == 0 else list(reversed(apps))  # neither store always goes first
            for name in order:
                app, fig = apps[name], out[name]
                ctx = app.server.config["ZQ_CONTEXT"]
                fig.ticks += [x for f in wall.time_ticks(app, max(1, sizes.ticks // rounds)) for x in f.steady_ms]
                for th in THEMES:
                    view = parse_view({"theme": th.key}, "zh", set(ctx.names), ctx.theme_keys())
                    theme = ctx.theme_for(view.theme, None)
                    for _ in range(max(1, sizes.renders // rounds)):
                        t = time.perf_counter()
                        wall_page.frame(ctx, theme, view, False)
                        fig.renders[th.key].append(ms(time.perf_counter() - t))
                got, _ = drill.time_drills(app, sorted(ctx.names), max(1, sizes.drills // rounds))
                fig.drills += got.total_ms
        return out
    finally:
        for app in apps.values():
            app.server.config["ZQ_CONTEXT"].engine.dispose()


def _line(what: str, small: list[float], month: list[float], target: str) -> tuple[str, float]:
    s, m = quantiles(small), quantiles(month)
    ratio = m[1] / s[1]
    return (f"  {what:34s} small p50 {s[0]:6.1f} ms p95 {s[1]:6.1f}   month p50 {m[0]:6.1f} ms p95 {m[1]:6.1f}   "
            f"month/small p95 {ratio:5.2f}×   ({target})"), ratio


def compare(small: StoreFigures, month: StoreFigures) -> Iterator[str]:
    """The two stores' figures side by side."""
    rs = [x for v in small.renders.values() for x in v]
    rm = [x for v in month.renders.values() for x in v]
    for what, a, b, target in (
            ("wall tick, steady", small.ticks, month.ticks, "target: within 10 %"),
            ("wall tick rendered (once a window)", rs, rm, "every theme, the work behind a steady tick"),
            ("county drill (route + tick)", small.drills, month.drills, "target: within 10 %")):
        line, ratio = _line(what, a, b, target)
        yield line
        results.figure("month", f"{what} p95, small store", quantiles(a)[1], "ms")
        results.figure("month", f"{what} p95, month store", quantiles(b)[1], "ms")
        results.figure("month", f"{what}, month/small at p95", ratio, "×", "≤ 1.1")
    yield "  rendered, median ms per theme, small → month: " + ", ".join(
        f"{k} {statistics.median(small.renders[k]):.1f} → {statistics.median(month.renders[k]):.1f}"
        for k in small.renders)


def maintenance(url: str, sizes: MonthSizes) -> Iterator[str]:
    """Roll-ups from scratch over the month, a steady round, and the oldest days dropped one by one."""
    from datetime import UTC, datetime

    from roles.maintenance import run_round
    from sqlalchemy.orm import Session

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            newest = int(conn.exec_driver_sql("SELECT max(ts) FROM observations").scalar())
        now = datetime.fromtimestamp(newest / 1000, UTC)
        t = time.perf_counter()
        with engine.begin() as conn:
            done = rollups.refresh(conn, newest)
        first = time.perf_counter() - t
        t = time.perf_counter()
        with Session(engine) as s, s.begin():
            run_round(s, now, 0)
        steady = time.perf_counter() - t
        yield (f"  roll-ups from nothing: {done.hourly:,} hourly rows and {done.daily:,} daily in {first:.0f} s; "
               f"then a maintenance round (partitions ahead, the last hours' roll-ups again) {ms(steady):.0f} ms")
        results.figure("month", "roll-ups of the month from scratch", first, "s")
        results.figure("month", "maintenance round, steady", ms(steady), "ms")
        drops = []
        with engine.connect() as conn:
            days = partitions.day_partitions(conn)
        for day in days[:sizes.drops]:
            with engine.connect() as conn:
                rows = conn.exec_driver_sql(f"SELECT count(*) FROM {partitions.partition_name(day)}").scalar()
            t = time.perf_counter()
            with engine.begin() as conn:
                gone = partitions.drop_before(conn, day + partitions.DAY_MS)
            drops.append((ms(time.perf_counter() - t), rows, gone.partitions))
        for took, rows, gone in drops:
            yield f"  retention: {', '.join(gone)} ({rows:,} rows) dropped in {took:.0f} ms   (target: under 1 s)"
        results.figure("month", "dropping a day's observations, worst", max(d[0] for d in drops), "ms", "< 1000")
    finally:
        engine.dispose()


def run(sizes: MonthSizes) -> Iterator[str]:
    """Build both stores on a throw-away PostgreSQL, time them, run the maintenance; yields printable lines."""
    from tests.servers import postgres_cluster

    yield wall._versions()  # noqa: SLF001
    started = time.perf_counter()
    with postgres_cluster(durable=True) as pg:
        admin = make_engine(pg.url())

        def sql(statement: str) -> Any:
            with admin.connect() as conn:
                return conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(statement)

        def size(db: str) -> float:
            return (sql(f"SELECT pg_database_size('{db}')").scalar() or 0) / 1e9

        sql("CREATE DATABASE small")
        yield (f"small store: the drill bench's, {sizes.devices:,} devices (with the simulator's), "
               f"{sizes.events:,} grid events")
        yield from drill.build_store(pg.url("small"), drill.DrillSizes(devices=sizes.devices, events=sizes.events))
        yield f"  {size('small'):.2f} GB"
        t = time.perf_counter()
        sql("CREATE DATABASE month TEMPLATE small")
        yield f"month store: a copy of the small one ({time.perf_counter() - t:.0f} s), then"
        t = time.perf_counter()
        yield from add_month(pg.url("month"), sizes)
        yield f"  built in {time.perf_counter() - t:.0f} s; {size('month'):.2f} GB"
        results.figure("month", "month store size", size("month"), "GB")
        both = measure({"small": pg.url("small"), "month": pg.url("month")}, sizes)
        small, month = both["small"], both["month"]
        yield (f"\nPostgreSQL: {sizes.ticks} steady wall ticks per theme, each theme's tick rendered "
               f"{sizes.renders}×, {sizes.drills} county drills, on each store, the stores taking turns in 5 rounds")
        yield from compare(small, month)
        yield "\nmaintenance on the month store:"
        yield from maintenance(pg.url("month"), sizes)
        admin.dispose()
    yield f"\nmonth section: {time.perf_counter() - started:.0f} s"


def main() -> None:
    """`python -m bench.month [--devices N] [--days N] [--json]`: this section alone (also `python -m bench --only
    month`)."""
    import argparse
    import gc
    import logging
    from datetime import datetime

    p = argparse.ArgumentParser(prog="python -m bench.month", description=__doc__)
    for name, default in vars(MonthSizes()).items():
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    p.add_argument("--json", action=argparse.BooleanOptionalAction, default=False,
                   help="write the figures to bench/results/<date>.json")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    gc.freeze()
    started = datetime.now().astimezone()
    sizes = MonthSizes(**{k: getattr(a, k) for k in vars(MonthSizes())})
    lines = []
    for line in run(sizes):
        print(line, flush=True)
        lines.append(line)
    if a.json:
        print(f"\nfigures written to {results.write({'month': lines}, vars(a), started)}", flush=True)


if __name__ == "__main__":
    main()
