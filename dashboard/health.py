"""/healthz: feeds (staleness, rates), devices (offline, streams), dead letters, ingest counters, as JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from flask import Flask, Response
from sqlalchemy.orm import Session

from dashboard.context import AppContext
from plugins import BUILTIN
from roles import Runtime, broker_report, cluster_status
from store import alarm_queries as alq
from store import case_queries as cq
from store import delivery_queries as dq
from feeds.health import (
    STREAM_FLAGS,
    FeedDevices,
    FeedHealth,
    FeedRates,
    OfflineDevice,
    Rate,
    device_cutoffs,
    feed_devices,
    offline_list,
    stale_after,
)
from store import queries as q
from store import status as st

# The most offline devices /healthz lists (the longest silent); the count covers them all.
OFFLINE_LIST_LIMIT = 20
# Rates cover about this many seconds; counters are sampled at most this often.
RATE_WINDOW_S = 300.0
RATE_MIN_INTERVAL_S = 5.0

IngestStats = Callable[[], dict[str, Any] | None]


@dataclass(frozen=True)
class HealthSnapshot:
    """Everything /healthz and /metrics report, read in one short transaction."""

    now: datetime
    feeds: dict[str, FeedHealth]
    stale_after_s: dict[str, int]
    rates: dict[str, Rate | None]
    devices: dict[str, FeedDevices]
    streams: list[st.StreamCount]
    offline: list[OfflineDevice]
    dead_letters: int
    ingest: dict[str, Any] | None

    @property
    def stale_feeds(self) -> list[str]:
        """Names of the stale feeds."""
        return [f for f, h in self.feeds.items() if h.stale]

    @property
    def offline_count(self) -> int:
        """All offline devices, of every feed."""
        return sum(d.offline for d in self.devices.values())

    @property
    def status(self) -> str:
        """`ok`, or `degraded` when a feed is stale or a device offline."""
        return "degraded" if self.stale_feeds or self.offline_count else "ok"


class HealthMonitor:
    """Reads the health of one app's store and keeps the feeds' rate windows; one per app."""

    def __init__(self, ctx: AppContext, ingest_stats: IngestStats,
                 clock: Callable[[], float] = time.monotonic, window_s: float = RATE_WINDOW_S,
                 min_interval_s: float = RATE_MIN_INTERVAL_S) -> None:
        self.ctx = ctx
        self.ingest_stats = ingest_stats
        self.runtime: Runtime | None = None  # the process's background roles, when register() mounted it
        self.rates = FeedRates(window_s, min_interval_s, clock)

    def snapshot(self, offline_limit: int = OFFLINE_LIST_LIMIT) -> HealthSnapshot:
        """Read feeds, devices and dead letters now, and sample the rate windows."""
        ctx = self.ctx
        feeds, floor = ctx.registries.feeds, ctx.settings.stale_after_s
        now = ctx.now()
        cutoffs = device_cutoffs(feeds, now, floor)
        with Session(ctx.engine) as s, s.begin():
            health = ctx.health(s)
            counts = st.device_counts(s, cutoffs)
            streams = st.stream_counts(s, STREAM_FLAGS, cutoffs)
            silent = st.offline_devices(s, cutoffs, offline_limit)
            dead = q.dead_letter_count(s)
        rates = self.rates.observe({f: (h.messages, h.dead_letters) for f, h in health.items()})
        return HealthSnapshot(
            now=now, feeds=health, stale_after_s={f.name: stale_after(f.cadence_s, floor) for f in feeds},
            rates=rates, devices=feed_devices(counts, streams, feeds), streams=streams,
            offline=offline_list(silent, now),
            dead_letters=dead, ingest=self.ingest_stats(),
        )


def _feed_json(h: FeedHealth, snap: HealthSnapshot) -> dict[str, Any]:
    rate, devices = snap.rates.get(h.feed), snap.devices.get(h.feed)
    return {
        **h.as_json(),
        "stale_after_s": snap.stale_after_s[h.feed],
        "rate_per_min": None if rate is None else round(rate.per_min, 2),
        "error_rate": None if rate is None or rate.error_rate is None else round(rate.error_rate, 4),
        "rate_window_s": None if rate is None else round(rate.span_s, 1),
        "devices_total": devices.total if devices else None,
        "devices_offline": devices.offline if devices else None,
        "streams_down": devices.streams_down if devices else None,
    }


def health_report(snap: HealthSnapshot) -> dict[str, Any]:
    """The health document: overall status, feeds, offline devices, dead letters, ingest counters."""
    return {
        "status": snap.status,
        "now": snap.now.isoformat(),
        "stale_feeds": snap.stale_feeds,
        "offline_devices": snap.offline_count,
        "feeds": [_feed_json(h, snap) for h in snap.feeds.values()],
        "devices_offline": [d.as_json() for d in snap.offline],
        "dead_letters": snap.dead_letters,
        "ingest": snap.ingest,
    }


def plugins_report(ctx: AppContext) -> dict[str, Any]:
    """What the plugins added (each entry with the distribution and entry point that registered it) and the
    entries left out, with why (docs/plugins.md)."""
    reg = ctx.registries
    added = {what: [{"name": name, "plugin": r.origin(name)} for name in r.names() if r.origin(name) != BUILTIN]
             for what, r in (("feeds", reg.feeds), ("layers", reg.layers), ("panels", reg.panels),
                             ("rules", reg.rules))}
    return {"selected": ctx.settings.plugins, "added": added, "problems": [str(p) for p in reg.problems]}


def calendar_report(ctx: AppContext) -> dict[str, Any]:
    """The working calendar's state: a warning when a year's holidays are missing, those years, and how many open
    cases have a deadline counted across them (weekends only: computed, but unconfirmed)."""
    cal = ctx.calendar
    if cal is None:
        return {"warning": None, "missing_years": [], "unconfirmed_open_cases": 0}
    today = ctx.now().date()
    with Session(ctx.engine) as s:
        unconfirmed = cq.open_cases_spanning(s, [cal.year_span(y) for y in cal.uncovered_near(today)])
    return {"warning": cal.warning(today), "missing_years": cal.missing_years(today),
            "unconfirmed_open_cases": unconfirmed}


def figures_report(ctx: AppContext, region: str) -> dict[str, Any]:
    """The derived measures' values for a region with their data times: the figures the wall shows, read through
    the same registry (a monitoring system may alert on them without scraping a page)."""
    measures = ctx.registries.measures
    keys = sorted(measures.derived_keys())
    with Session(ctx.engine) as s:
        got = measures.latest(s, keys, [region], ctx.now())
    return {k: ({"value": p.value, "ts": p.ts.isoformat()} if (p := got.get(k, {}).get(region)) else None)
            for k in keys}


def register(server: Flask, ctx: AppContext, runtime: Runtime) -> HealthMonitor:
    """Mount /healthz on the Flask server; returns the app's monitor, which /metrics shares."""
    monitor = HealthMonitor(ctx, runtime.ingest_stats)
    monitor.runtime = runtime
    server.extensions["zq_health"] = monitor

    @server.get("/healthz")
    def healthz() -> Response:
        # Always 200: the body says degraded. A load balancer must not take the wall out of service
        # because a sensor in the field is silent (docs/health.md).
        body = health_report(monitor.snapshot())
        ctx.themes()  # look at the theme files now if they are due, so a refusal shows here at once
        body["topics"] = {"version": ctx.topics.version, "fingerprint": ctx.topics.fingerprint(),
                          "directory": str(ctx.topics.directory),
                          "errors": [str(e) for e in ctx.topics.errors()]}
        with Session(ctx.engine) as s:
            body["alarms"] = {"open": alq.open_count(s), "red_unacknowledged": len(alq.critical_unacknowledged(s)),
                              "deliveries": dq.delivery_counts(s)}
        body["plugins"] = plugins_report(ctx)
        if body["plugins"]["problems"]:  # an installed plugin that did not load: what it adds is missing
            body["status"] = "degraded"
        body["calendar"] = calendar_report(ctx)
        body["figures"] = {"region": ctx.settings.city, "measures": figures_report(ctx, ctx.settings.city)}
        body["process"] = {**runtime.status(), "web": True}
        body["cluster"] = cluster_status(ctx.engine, ctx.now())
        body["broker"] = broker_report(body["process"], body["cluster"])
        if body["broker"]["warning"]:
            body["status"] = "degraded"
        return Response(orjson.dumps(body), mimetype="application/json")

    return monitor
