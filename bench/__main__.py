"""`python -m bench [--quick] [--only ingest|wall|drill|alerts|load|points|month]`: run the benchmarks, print figures beside
baselines."""

from __future__ import annotations

import argparse
import gc
import logging
from collections.abc import Iterable
from datetime import datetime

from bench import alerts, drill, ingest, load, month, points, results, wall


def main() -> None:
    """Parse sizes and run."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", choices=("ingest", "wall", "drill", "alerts", "load", "points", "month"),
                   help="run one section (all by default)")
    p.add_argument("--n", type=int, default=100_000, help="messages per rate measurement")
    p.add_argument("--million", type=int, default=1_000_000, help="messages of the memory run (0 skips it)")
    p.add_argument("--latency-seconds", type=float, default=20.0, help="length of the steady 1,000 msg/s run")
    p.add_argument("--wall-observations", type=int, default=5_000_000,
                   help="observations of the wall's big store")
    p.add_argument("--wall-events", type=int, default=200_000, help="grid events of the wall's big store")
    p.add_argument("--wall-ticks", type=int, default=200, help="steady ticks timed per theme and store")
    p.add_argument("--wall-cycles", type=int, default=2_000,
                   help="browser ticks of the heap run (0 skips the browser)")
    p.add_argument("--wall-postgres", action=argparse.BooleanOptionalAction, default=True,
                   help="also build and time the stores on a throw-away PostgreSQL")
    p.add_argument("--drill-devices", type=int, default=10_000, help="devices of the drill store")
    p.add_argument("--drill-events", type=int, default=200_000, help="grid events of the drill store")
    p.add_argument("--drill-n", type=int, default=30,
                   help="county drills (and replays) timed, ours and naive")
    p.add_argument("--drill-postgres", action=argparse.BooleanOptionalAction, default=True,
                   help="also build and time the drill store on a throw-away PostgreSQL")
    p.add_argument("--alert-stations", type=int, default=2_000, help="road-weather stations of the alert run")
    p.add_argument("--alert-minutes", type=int, default=50, help="minutes (readings per station) of the alert run")
    p.add_argument("--load-screens", type=int, default=300, help="wall screens of the load run")
    p.add_argument("--load-leaders", type=int, default=30, help="leaders drilling into counties in the load run")
    p.add_argument("--load-seconds", type=int, default=120, help="length of the main load runs")
    p.add_argument("--points-devices", type=int, default=50_000, help="devices on the points bench's city map")
    p.add_argument("--points-small", type=int, default=5_000,
                   help="devices on the small map beside it (0 skips it)")
    p.add_argument("--points-repeats", type=int, default=5, help="page loads per map and renderer")
    p.add_argument("--points-browser", action=argparse.BooleanOptionalAction, default=True,
                   help="draw the maps in headless Chromium (else the server's figure alone)")
    p.add_argument("--month-devices", type=int, default=1_000, help="devices of the month store (PostgreSQL; --only month)")
    p.add_argument("--month-days", type=int, default=30, help="days of minute-by-minute history of the month store")
    p.add_argument("--quick", action="store_true", help="small sizes, to check the benchmark itself runs")
    p.add_argument("--json", action=argparse.BooleanOptionalAction, default=True,
                   help="write the figures to bench/results/<date>.json (default; --no-json to skip)")
    a = p.parse_args()
    if a.quick:
        a.n, a.million, a.latency_seconds = 5_000, 20_000, 3.0
        a.wall_observations, a.wall_events, a.wall_ticks = 100_000, 5_000, 20
        a.wall_cycles = min(a.wall_cycles, 150)
        a.drill_devices, a.drill_events, a.drill_n = 1_000, 10_000, 8
        a.alert_stations, a.alert_minutes = 200, 30
        a.load_screens, a.load_leaders, a.load_seconds = 40, 4, 30
        a.points_devices, a.points_small, a.points_repeats = 5_000, 1_000, 1
        a.month_devices, a.month_days = 100, 1
    logging.basicConfig(level=logging.WARNING)
    gc.freeze()  # as app.py does once the app is built
    started = datetime.now().astimezone()
    printed: dict[str, list[str]] = {}

    def show(section: str, lines: Iterable[str]) -> None:
        """Print a section's lines as they come, and keep them for the JSON."""
        kept = printed.setdefault(section, [])
        for line in lines:
            print(line, flush=True)
            kept.append(line)

    if a.only in (None, "ingest"):
        print("== ingest ==", flush=True)
        show("ingest", ingest.run(a.n, a.million, a.latency_seconds))
    if a.only in (None, "wall"):
        print("\n== wall ==", flush=True)
        sizes = wall.Sizes(observations=a.wall_observations, events=a.wall_events, ticks=a.wall_ticks,
                           cycles=a.wall_cycles, first=min(100, a.wall_cycles), browser=a.wall_cycles > 0,
                           postgres=a.wall_postgres)
        show("wall", wall.run(sizes))
    if a.only in (None, "drill"):
        print("\n== drill ==", flush=True)
        dsizes = drill.DrillSizes(devices=a.drill_devices, events=a.drill_events, drills=a.drill_n,
                                  naive_drills=a.drill_n, replays=a.drill_n, postgres=a.drill_postgres)
        show("drill", drill.run(dsizes))
    if a.only in (None, "alerts"):
        print("\n== alerts ==", flush=True)
        show("alerts", alerts.run(alerts.AlertSizes(stations=a.alert_stations, minutes=a.alert_minutes)))
    if a.only in (None, "load"):
        print("\n== load ==", flush=True)
        show("load", load.run(load.LoadSizes(screens=a.load_screens, leaders=a.load_leaders, seconds=a.load_seconds)))
    if a.only in (None, "points"):
        print("\n== points ==", flush=True)
        show("points", points.run(points.PointSizes(devices=a.points_devices, small=a.points_small,
                                                    repeats=a.points_repeats, browser=a.points_browser)))
    if a.only == "month":  # only when asked: building the month store alone takes 10–60 minutes on 2 cores
        print("\n== month ==", flush=True)
        msizes = month.MonthSizes(devices=a.month_devices, days=a.month_days)
        if a.quick:
            msizes.events, msizes.ticks, msizes.renders, msizes.drills, msizes.drops = 2_000, 10, 2, 8, 1
        show("month", month.run(msizes))
    if a.json and not a.quick:
        print(f"\nfigures written to {results.write(printed, vars(a), started)}", flush=True)


if __name__ == "__main__":
    main()

