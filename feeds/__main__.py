"""`python -m feeds schemas|ingest|simulate|grids`: export schemas, run ingest or the simulator, grids."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
from pathlib import Path

from pydantic_settings import CliApp, CliSettingsSource

from clock import use
from settings import Settings, clock_of

log = logging.getLogger("feeds")


def _settings(command: str, args: list[str]) -> Settings:
    """Settings from ZQ_* variables and the same flags as app.py (`--db`, `--mqtt`, …)."""
    source: CliSettingsSource[Settings]
    source = CliSettingsSource(Settings, cli_prog_name=f"python -m feeds {command}")
    settings = CliApp.run(Settings, cli_args=args, cli_settings_source=source)
    use(clock_of(settings))  # what every part of this process reads as now, --clock-start included
    return settings


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def schemas(out: Path, plugin: str | None = None) -> int:
    """Write every built-in feed's JSON Schema and the README into `out`; with a plugin (its distribution name),
    the schemas of that plugin's feeds (a plugin publishes its payloads' schemas as the app does its own)."""
    from feeds.schemas import dumps, export, feed_schema, schema_file

    if plugin is None:
        written = export(out)
    else:
        import plugins
        from feeds import FeedRegistry

        plugins.select(plugin)
        registry = FeedRegistry()
        problems = plugins.discover(plugins.FEEDS, registry)
        if problems or not len(registry):
            print(f"no feed of plugin {plugin!r} could be registered: {'; '.join(map(str, problems)) or 'none found'}",
                  file=sys.stderr)
            return 1
        out.mkdir(parents=True, exist_ok=True)
        written = [out / schema_file(f) for f in registry]
        for feed, path in zip(registry, written, strict=True):
            path.write_text(dumps(feed_schema(feed)), encoding="utf-8")
    for path in written:
        print(path)
    return 0


def ingest(args: list[str]) -> int:
    """Run the ingest worker (and the simulator under its lease, unless --no-simulate) without the dashboard."""
    import plugins
    from feeds import FeedRegistry, register_builtin_feeds
    from feeds.service import FeedService
    from store import make_engine, migrate

    settings = _settings("ingest", args)
    if not settings.mqtt and not settings.simulate:
        log.warning("no --mqtt broker and --no-simulate: nothing will arrive")
    engine = make_engine(settings.db)
    migrate(engine)
    registry = FeedRegistry()
    register_builtin_feeds(registry, settings.aqi_edition)
    plugins.select(settings.plugins)  # the plugins' feeds are ingested as the app's are (docs/plugins.md)
    plugins.discover(plugins.FEEDS, registry)
    for feed, seconds in settings.feed_cadences.items():
        registry.set_cadence(feed, seconds)
    # The same as `python app.py --roles ingest,poll,simulate`: what it stores is judged by the alerts role wherever
    # that runs (from the ingest log), so this worker needs no rules of its own.
    roles = {"ingest", "poll", "simulate"} & settings.active_roles()
    service = FeedService(settings, engine, registry).start(roles)
    gc.freeze()  # long-lived objects built by now: spare them every collection (see app.py)
    log.info("ingesting into %s from %s%s", engine.url.render_as_string(hide_password=True),
             settings.mqtt or "the in-process simulator", " with the simulator" if settings.simulate else "")
    try:
        _wait_for_signal()
    finally:
        service.stop()
        engine.dispose()
    return 0


def simulate(args: list[str]) -> int:
    """Run only the simulator, publishing to the broker given by --mqtt."""
    from feeds.mqtt import Broker, MqttPublisher
    from feeds.simulator import Simulator, SimulatorThread

    settings = _settings("simulate", args)
    if not settings.mqtt:
        log.error("simulate publishes to a broker: give --mqtt mqtt://host:port")
        return 2
    publisher = MqttPublisher(Broker.from_settings(settings), f"{settings.mqtt_client_id}-simulator").start()
    sim = Simulator(settings.city, settings.mqtt_prefix, settings.simulator_seed, settings.simulator_speed)
    thread = SimulatorThread(sim, publisher.publish, clock=clock_of(settings)).start()
    log.info("simulating %s to %s under %s/", settings.city, settings.mqtt, settings.mqtt_prefix)
    try:
        _wait_for_signal()
    finally:
        thread.stop()
        publisher.stop()
    return 0


def grids(args: list[str]) -> int:
    """Import, check or generate the grid cells (网格) of the county drill-down (docs/grids.md)."""
    from feeds.grids import main as grids_main

    return grids_main(args, _settings)


def main(argv: list[str] | None = None) -> int:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="python -m feeds", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("schemas", help="export each feed's payload JSON Schema and a README")
    p.add_argument("--out", type=Path, default=Path("docs/schemas"), help="folder (default: docs/schemas)")
    p.add_argument("--plugin", help="export an installed plugin's feeds instead (its distribution name)")
    sub.add_parser("ingest", add_help=False,
                   help="run the ingest worker alone; takes app.py's settings flags "
                        "(--db, --mqtt, --no-simulate …)")
    sub.add_parser("simulate", add_help=False,
                   help="run only the simulator, publishing to --mqtt; takes app.py's settings flags")
    sub.add_parser("grids", add_help=False,
                   help="grid cells (网格): import PATH | check PATH | generate [--resolution 7]; "
                        "takes app.py's --db and --city")
    ns, rest = parser.parse_known_args(argv)
    if ns.command == "schemas":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return schemas(ns.out, ns.plugin)
    if ns.command == "grids":
        return grids(rest)
    return ingest(rest) if ns.command == "ingest" else simulate(rest)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
