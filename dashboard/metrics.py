"""/metrics: feed, device, dead-letter and ingest figures in Prometheus text format, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboard.health import HealthMonitor, HealthSnapshot
from roles import cluster_status

# The label of devices whose county is not known (none of the built-in feeds stores one without).
UNKNOWN_COUNTY = "unknown"

# IngestStats field → metric name (all counters).
INGEST_COUNTERS = {
    "received": ("zq_ingest_received_total", "Messages this process's ingest worker took off its queue."),
    "stored": ("zq_ingest_stored_total", "Messages this process's ingest worker stored."),
    "dead": ("zq_ingest_dead_total", "Messages this process's ingest worker sent to dead letters."),
    "batches": ("zq_ingest_batches_total", "Batches this process's ingest worker committed."),
    "write_errors": ("zq_ingest_write_errors_total", "Failed batch writes (store down or refusing)."),
}


def families(snap: HealthSnapshot) -> Iterator[Metric]:
    """The metric families of one health snapshot."""
    messages = CounterMetricFamily("zq_feed_messages_total", "Good messages stored per feed (all ingest "
                                   "workers, from feed_status).", labels=["feed"])
    dead = CounterMetricFamily("zq_feed_dead_letters_total", "Refused messages per feed (from feed_status).",
                               labels=["feed"])
    last = GaugeMetricFamily("zq_feed_last_message_timestamp_seconds", "Arrival time (Unix) of the feed's "
                             "newest good message; absent if never heard from.", labels=["feed"])
    age = GaugeMetricFamily("zq_feed_age_seconds", "Seconds since the feed's newest good message arrived; "
                            "absent if never heard from.", labels=["feed"])
    stale = GaugeMetricFamily("zq_feed_stale", "1 when the feed is stale (silent past stale_after), else 0.",
                              labels=["feed"])
    cadence = GaugeMetricFamily("zq_feed_cadence_seconds", "Expected seconds between messages of a feed's "
                                "sources.", labels=["feed"])
    after = GaugeMetricFamily("zq_feed_stale_after_seconds", "Silence after which the feed is stale and its "
                              "devices offline: max(3 × cadence, --stale-after-s).", labels=["feed"])
    for f, h in snap.feeds.items():
        messages.add_metric([f], h.messages)
        dead.add_metric([f], h.dead_letters)
        if h.last_received_at is not None and h.last_message_at is not None:
            last.add_metric([f], h.last_received_at.timestamp())
        if h.age_s is not None:
            age.add_metric([f], h.age_s)
        stale.add_metric([f], 1 if h.stale else 0)
        cadence.add_metric([f], h.cadence_s)
        after.add_metric([f], snap.stale_after_s[f])
    yield from (messages, dead, last, age, stale, cadence, after)

    devices = GaugeMetricFamily("zq_devices", "Devices per feed and county: online (reported within "
                                "stale_after) or offline.", labels=["feed", "county", "state"])
    streams = GaugeMetricFamily("zq_device_streams", "Online devices with a stream flag (video points) by "
                                "stream state: up or down. Offline devices are not counted.",
                                labels=["feed", "county", "state"])
    for f, d in snap.devices.items():
        for c in d.by_county:
            county = c.county_adcode or UNKNOWN_COUNTY
            devices.add_metric([f, county, "online"], c.online)
            devices.add_metric([f, county, "offline"], c.offline)
    for s in snap.streams:
        county = s.county_adcode or UNKNOWN_COUNTY
        streams.add_metric([s.kind, county, "up"], s.up)
        streams.add_metric([s.kind, county, "down"], s.down)
    yield from (devices, streams)

    yield CounterMetricFamily("zq_dead_letters_total", "Dead letters kept in the store (every feed, and "
                              "topics naming no feed).", value=snap.dead_letters)

    if snap.ingest is not None:  # absent when this process runs no ingest worker
        for field, (name, doc) in INGEST_COUNTERS.items():
            if snap.ingest.get(field) is not None:
                yield CounterMetricFamily(name, doc, value=snap.ingest[field])
        commit = snap.ingest.get("last_commit_at")
        if commit is not None:
            yield GaugeMetricFamily("zq_ingest_last_commit_timestamp_seconds",
                                    "Time (Unix) of this process's last ingest commit.",
                                    value=commit.timestamp())


def role_families(process: dict[str, Any], cluster: dict[str, Any]) -> Iterator[Metric]:
    """Which roles this process runs, whether it leads each lease, and how far the alert role lags."""
    roles = GaugeMetricFamily("zq_process_role", "1 for each role this process runs (web is the process serving "
                              "this scrape).", labels=["role"])
    for role in ["web", *process["roles"]]:
        roles.add_metric([role], 1)
    yield roles
    leader = GaugeMetricFamily("zq_lease_leader", "1 when this process leads the lease, 0 when it stands by.",
                               labels=["lease"])
    for name, state in process["leases"].items():
        leader.add_metric([name], 1 if state == "leader" else 0)
    yield leader
    lag = GaugeMetricFamily("zq_log_lag_batches", "Committed ingest batches a reader of the ingest log has not "
                            "judged yet.", labels=["reader"])
    for name, n in cluster["lag_batches"].items():
        lag.add_metric([name], n)
    yield lag


class HealthCollector(Collector):
    """Reads the app's health at scrape time; registered in the app's own CollectorRegistry."""

    def __init__(self, monitor: HealthMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        """The metrics as of now."""
        yield from families(self.monitor.snapshot())
        if self.monitor.runtime is not None:
            yield from role_families(self.monitor.runtime.status(), cluster_status(self.monitor.ctx.engine))
        ticks = CounterMetricFamily("zq_tick_cache_total", "Wall ticks this web worker answered, by how: hit (the "
                                    "window's rendering, shared), stale (the previous window's, while this one "
                                    "rendered), miss (rendered here), wait (waited for another's first rendering).",
                                    labels=["result"])
        stats = self.monitor.ctx.ticks.stats
        for label, value in (("hit", stats.hits), ("stale", stats.stale), ("miss", stats.misses),
                             ("wait", stats.waits)):
            ticks.add_metric([label], value)
        yield ticks

    def describe(self) -> list[Metric]:
        """Names only, so registering reads nothing from the store."""
        names = [("zq_feed_messages_total", "counter"), ("zq_feed_dead_letters_total", "counter"),
                 ("zq_dead_letters_total", "counter")]
        names += [(n, "counter") for n, _ in INGEST_COUNTERS.values()]
        names += [(n, "gauge") for n in (
            "zq_feed_last_message_timestamp_seconds", "zq_feed_age_seconds", "zq_feed_stale",
            "zq_feed_cadence_seconds", "zq_feed_stale_after_seconds", "zq_devices", "zq_device_streams",
            "zq_ingest_last_commit_timestamp_seconds", "zq_process_role", "zq_lease_leader", "zq_log_lag_batches")]
        names += [("zq_tick_cache_total", "counter")]
        return [CounterMetricFamily(n, "") if kind == "counter" else GaugeMetricFamily(n, "")
                for n, kind in names]


def register(server: Flask, monitor: HealthMonitor) -> CollectorRegistry:
    """Mount /metrics on the Flask server, with a registry of its own (apps in one process never collide)."""
    registry = CollectorRegistry()
    registry.register(HealthCollector(monitor))
    server.extensions["zq_metrics"] = registry

    @server.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return registry
