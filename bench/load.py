"""Load on the web role (`make bench --only load`): gunicorn serving 300 wall screens ticking every 5 s and 30
leaders opening county drills every 10 s, driven by locust in its own process, for two minutes. Beside it, in the
same run: the same load on one worker without the shared ticks, and the shared ticks with one screen per view (to
say what the 300th screen of a view costs against the first). Times are given as locust sees them and as the web
role spent them (gunicorn's access log): on a 2-core machine the load generator and the simulator take their share
of the cores too. Figures, never assertions."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.drill import county_tick_body, redraw_body, route_body
from bench.wall import simulate_minutes, tick_body, tick_key
from clock import process_clock
from geo import City
from settings import CITY_TZ, Settings
from store import make_engine, migrate
from tests.servers import free_port, redis_server, wait_for_port
from topics import THEMES
from topics.themes import KPI_STRIP

ROOT = Path(__file__).resolve().parent.parent
COUNTIES = City.load(Settings.model_construct().city).county_codes  # the default settings' city


@dataclass
class LoadSizes:
    """How hard and how long."""

    screens: int = 300
    leaders: int = 30
    seconds: int = 120
    workers: int = 2
    tick_s: float = 5.0
    drill_every_s: float = 10.0


def views() -> list[tuple[str, str | None, str]]:
    """The views the screens show: every theme for the city, in Chinese, and two of them per county in English."""
    out: list[tuple[str, str | None, str]] = [(t.key, None, "zh") for t in THEMES]
    first, fifth, last = COUNTIES[0], COUNTIES[min(4, len(COUNTIES) - 1)], COUNTIES[-1]  # Zhaoqing: 端州, 怀集, 四会
    out += [("ecology", fifth, "zh"), ("social", first, "zh"), ("service", None, "en"),
            ("economy", None, "en"), ("market", last, "zh")]
    return out


def plan(app: Any, sizes: LoadSizes, screens: int, leaders: int) -> dict[str, Any]:
    """The requests the users send, as the browser builds them (bench.wall and bench.drill know how)."""
    key = tick_key(app)
    ctx = app.server.config["ZQ_CONTEXT"]
    out_views = []
    for theme, county, lang in views():
        th = ctx.theme(theme)
        names = [p.id for p in th.placed() if p.type in ctx.registries.panels] + [KPI_STRIP]
        search = f"?theme={theme}" + (f"&county={county}" if county else "") + (f"&lang={lang}" if lang != "zh" else "")
        out_views.append({"view": [theme, county, lang], "tick": tick_body(key, names, search, None, 1)})
    drills = []
    for adcode in COUNTIES:
        drills.append({"route": route_body(app, f"/county/{adcode}", "", "/map|zh"),
                       "tick": county_tick_body(app, adcode, ""),
                       "redraw": redraw_body(app, f"/county/{adcode}", "", adcode, None)})
    return {"screens": screens, "leaders": leaders, "tick_s": sizes.tick_s, "drill_every_s": sizes.drill_every_s,
            "views": out_views, "drills": drills}


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of processes (from /proc), children reaped or not."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def worker_pids(master: int) -> list[int]:
    """gunicorn's master and its workers."""
    kids = Path(f"/proc/{master}/task/{master}/children")
    return [master, *(int(p) for p in kids.read_text().split())] if kids.exists() else [master]


@dataclass
class Result:
    """One load run."""

    label: str
    screens: int
    stats: dict[str, dict[str, float]]
    errors: int
    cpu_s: float
    seconds: float

    def cpu_per_screen_minute(self) -> float:
        return self.cpu_s / max(1, self.screens) / (self.seconds / 60)


def run_load(label: str, db: str, workers: int, cache: str | None, sizes: LoadSizes, screens: int, leaders: int,
             seconds: int, plan_path: Path, workdir: Path) -> Result:
    """Start gunicorn, run locust against it headless, read its CSV and the workers' CPU."""
    port = free_port()
    env = {**os.environ, "ZQ_DB": db, "ZQ_TICK_SECONDS": str(sizes.tick_s), "ZQ_SECRET_KEY": "bench"}
    env.pop("ZQ_CACHE", None)
    if cache:
        env["ZQ_CACHE"] = cache
    log = (workdir / f"gunicorn-{label}.log").open("wb")
    access = workdir / f"access-{label}.log"
    # Keep-alive longer than a tick, as a browser keeps its connection (gunicorn's default closes it after 2 s).
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", "4",
                            "--keep-alive", "75", "--bind", f"127.0.0.1:{port}", "--timeout", "60",
                            "--access-logfile", str(access), "--access-logformat", "%(q)s %(D)s", "wsgi:app"],
                           cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, 90)
        time.sleep(3.0)  # every worker up
        pids = worker_pids(web.pid)
        before = cpu_seconds(pids)
        t0 = time.monotonic()
        users = screens + leaders
        prefix = workdir / f"locust-{label}"
        subprocess.run([shutil.which("locust") or str(Path(sys.executable).parent / "locust"), "-f",
                        str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users), "-r", "50",
                        "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix),
                        "--only-summary", "--stop-timeout", "10"],
                       cwd=ROOT, env={**os.environ, "ZQ_LOAD_PLAN": str(plan_path)}, check=False,
                       capture_output=True, timeout=seconds + 180)
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(worker_pids(web.pid)) - before
        stats: dict[str, dict[str, float]] = {}
        errors = 0
        with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["Name"] == "Aggregated":
                    errors = int(row["Failure Count"])
                    continue
                stats[row["Name"]] = {"n": float(row["Request Count"]), "p50": float(row["50%"]),
                                      "p95": float(row["95%"]), "p99": float(row["99%"]),
                                      "fail": float(row["Failure Count"])}
        server: dict[str, list[float]] = {}
        for line in access.read_text().splitlines():
            q, _, micros = line.rpartition(" ")
            if q.startswith("k="):
                server.setdefault(q[2:].replace("-", " "), []).append(int(micros) / 1000)
        for name, times in server.items():
            times.sort()
            if name in stats:
                stats[name]["server_p50"] = times[len(times) // 2]
                stats[name]["server_p95"] = times[int(len(times) * 0.95)]
        return Result(label, screens, stats, errors, cpu, elapsed)
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(30)
        except subprocess.TimeoutExpired:
            web.kill()
        log.close()


def lines_of(r: Result) -> Iterator[str]:
    yield (f"{r.label}: {r.screens} screens + leaders, {r.seconds:.0f} s, errors {r.errors}, web CPU {r.cpu_s:.1f} s "
           f"= {r.cpu_per_screen_minute() * 1000:.1f} ms per screen-minute")
    for name, s in sorted(r.stats.items()):
        yield (f"  {name:<18} n={s['n']:>6.0f}  client p50 {s['p50']:>5.0f}  p95 {s['p95']:>5.0f}  p99 {s['p99']:>5.0f} ms"
               f"  │ server p50 {s.get('server_p50', float('nan')):>6.1f}  p95 {s.get('server_p95', float('nan')):>6.1f} ms")


def run(sizes: LoadSizes) -> Iterator[str]:
    """The load runs and their ratios."""
    from dashboard import create_app

    workdir = Path(tempfile.mkdtemp(prefix="zq-load-"))
    db = f"sqlite:///{workdir / 'load.sqlite3'}"
    try:
        engine = make_engine(db)
        migrate(engine)
        n = simulate_minutes(engine, 30, process_clock().now(CITY_TZ))
        yield f"store: the simulator's last 30 minutes through the ingest path ({n:,} messages), SQLite"
        # The data moves during the runs, as on a real wall: the simulator keeps writing from its own process.
        live = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--roles", "ingest,alerts,simulate", "--db", db],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        app = create_app(Settings(db=db, tick_seconds=sizes.tick_s), start_feeds=False)
        plan_path = workdir / "plan.json"
        nviews = len(views())
        try:
            with redis_server() as redis:
                runs = []
                short = max(30, sizes.seconds // 2)
                for label, workers, cache, screens, leaders, secs in (
                        (f"shared ticks (Redis), {sizes.workers} workers", sizes.workers, redis.url, sizes.screens,
                         sizes.leaders, sizes.seconds),
                        ("no shared ticks, 1 worker", 1, "off", sizes.screens, sizes.leaders, sizes.seconds),
                        (f"shared ticks, one screen per view ({nviews}), no leaders", sizes.workers, redis.url,
                         nviews, 0, short),
                        (f"shared ticks, {sizes.screens} screens, no leaders", sizes.workers, redis.url,
                         sizes.screens, 0, short)):
                    plan_path.write_text(json.dumps(plan(app, sizes, screens, leaders)), encoding="utf-8")
                    r = run_load(label, db, workers, cache, sizes, screens, leaders, secs, plan_path, workdir)
                    runs.append(r)
                    yield from lines_of(r)
        finally:
            live.send_signal(signal.SIGTERM)
            live.wait(30)
        shared, alone, first, many = runs
        tick = shared.stats.get("wall tick", {})
        yield (f"targets: 0 errors → {shared.errors}; wall tick p95 ≤ 100 ms at {sizes.screens} screens → "
               f"{tick.get('server_p95', float('nan')):.0f} ms in the web role, {tick.get('p95', float('nan')):.0f} ms "
               f"seen by locust (which shares the 2 cores with it, the drills and the simulator)")
        # CPU per screen-minute: one screen per view, against what each screen added to reach 300.
        per_first = first.cpu_s / first.screens / (first.seconds / 60)
        marginal = ((many.cpu_s / (many.seconds / 60)) - (first.cpu_s / (first.seconds / 60))) / max(
            1, many.screens - first.screens)
        yield (f"the {sizes.screens}th screen of a view costs {marginal / per_first * 100:.1f} % of the first "
               f"(web CPU per screen-minute: {per_first * 1000:.0f} ms for a view's only screen, "
               f"{marginal * 1000:.1f} ms for each added screen; target ≤ 5 %)")
        no = alone.stats.get("wall tick", {})
        yield (f"without shared ticks (1 worker): wall tick p95 {no.get('p95', float('nan')):.0f} ms, web CPU "
               f"{alone.cpu_s:.0f} s vs {shared.cpu_s:.0f} s shared ({alone.cpu_s / max(shared.cpu_s, 1e-9):.1f}×)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
