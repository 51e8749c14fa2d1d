"""Valid payloads of the built-in feeds, a point inside each county, a decoder wired as the service does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from clock import process_clock
from feeds import Decoder, FeedRegistry, register_builtin_feeds
from geo import CountyLocator, county_names

CITY = "441200"
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=CST)

# A point well inside each county (WGS84), checked against the locator in test_decode.
INSIDE = {
    "441202": (112.4825, 23.1073), "441203": (112.6137, 23.2050), "441204": (112.7513, 23.1048),
    "441223": (112.4166, 23.6722), "441224": (112.2093, 23.9255), "441225": (111.7188, 23.5965),
    "441226": (111.9727, 23.2930), "441284": (112.6426, 23.4490),
}
GUANGZHOU = (113.26, 23.13)  # 广州 city centre: outside Zhaoqing

_locator: CountyLocator | None = None


def locator() -> CountyLocator:
    """One county locator for the test run (building the STRtree is the slow part)."""
    global _locator
    if _locator is None:
        _locator = CountyLocator.for_city(CITY)
    return _locator


def make_decoder(prefix: str = "zq", registry: FeedRegistry | None = None, **kw: Any) -> Decoder:
    """A decoder wired exactly as feeds.service.FeedService wires it."""
    if registry is None:
        registry = FeedRegistry()
        register_builtin_feeds(registry)
    return Decoder(prefix, registry, locator(), CITY, county_names(CITY), **kw)


def iso(t: datetime | str) -> str:
    """ISO 8601 with the offset; a string is passed through, to build malformed times."""
    return t if isinstance(t, str) else t.isoformat(timespec="seconds")


def video(county: str = "441202", serial: int = 1, ts: datetime | str = T0, **kw: Any) -> dict[str, Any]:
    lon, lat = INSIDE[county]
    body = {"device_id": f"{county}00091326{serial:06d}", "ts": iso(ts), "lon": lon, "lat": lat,
            "name": f"西江{serial}号视频点", "river": "西江", "online": True,
            "detections": [{"type": "dumping", "confidence": 0.83}, {"type": "dumping", "confidence": 0.6},
                           {"type": "floating_debris", "confidence": 0.7}]}
    return {**body, **kw}


def road(county: str = "441204", serial: int = 2, ts: datetime | str = T0, **kw: Any) -> dict[str, Any]:
    lon, lat = INSIDE[county]
    body = {"device_id": f"{county}00041316{serial:06d}", "ts": iso(ts), "lon": lon, "lat": lat,
            "name": "广昆高速气象站", "road": "G80 广昆高速", "visibility_m": 150.0, "air_temp_c": 14.2,
            "road_temp_c": 16.0, "humidity_pct": 97.0, "wind_speed_ms": 1.2, "precipitation_mm": 0.0,
            "road_state": "wet"}
    return {**body, **kw}


def fire(county: str = "441223", n: int = 1, ts: datetime | str = T0, **kw: Any) -> dict[str, Any]:
    lon, lat = INSIDE[county]
    body = {"device_id": f"FR{county}{n:02d}", "ts": iso(ts), "lon": lon, "lat": lat, "name": "林区火险站",
            "max_temp_c": 24.5, "rh_pct": 35.0, "wind_speed_ms": 4.0, "dry_days": 8, "precipitation_mm": 0.0}
    return {**body, **kw}


def event(county: str = "441202", n: int = 1, step: int = 1, ts: datetime | str = T0,
          **kw: Any) -> dict[str, Any]:
    lon, lat = INSIDE[county]
    body = {"event_id": f"AJ{county}{n:05d}", "ts": iso(ts), "lon": lon, "lat": lat, "kind": "事件",
            "category": "市容环境", "subcategory": "暴露垃圾", "description": "路口暴露垃圾", "step": step,
            "actor": "网格员", "reported_at": iso(T0)}
    return {**body, **kw}


def kpi(metric: str = "service.yss_registered", region: str = CITY, ts: datetime | str = T0,
        value: float = 3.1e6, **kw: Any) -> dict[str, Any]:
    return {"metric": metric, "region": region, "ts": iso(ts), "value": value, "unit": "人", **kw}


KEY_FIELD = {"video_point": "device_id", "road_weather": "device_id", "fire_risk": "device_id",
             "grid_event": "event_id", "kpi": "metric"}


def topic(feed: str, body: dict[str, Any], county: str | None = None, prefix: str = "zq") -> str:
    """The topic a well-behaved publisher uses for this payload."""
    if county is None:
        county = body["region"] if feed == "kpi" else _county_of(body)
    return f"{prefix}/{county}/{feed}/{body[KEY_FIELD[feed]]}"


def _county_of(body: dict[str, Any]) -> str:
    key = body.get("device_id") or body["event_id"]
    # GB/T 28181 ids start with the county; the FR…/AJ… ids here carry it after two letters.
    return key[:6] if key.isdigit() else key[2:8]


def msg(feed: str, body: dict[str, Any], county: str | None = None, prefix: str = "zq") -> tuple[str, bytes]:
    """(topic, payload bytes) of a well-formed message."""
    return topic(feed, body, county, prefix), orjson.dumps(body)


def arrival(body: dict[str, Any]) -> datetime:
    """When a fixture message arrives: now, or its own time when that is later (a test run at an earlier moment,
    ZQ_CLOCK_START, still receives the fixtures it sends as arriving when they say they were sent)."""
    times = [process_clock().now()]
    for name in ("ts", "reported_at"):
        value = body.get(name)
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
        if at is not None and at.tzinfo is not None:
            times.append(at)
    return max(times)


def ingest(engine: Any, items: list[tuple[str, dict[str, Any]]]) -> Any:
    """Decode real messages (topic, JSON body) into one batch and write it, as the ingest worker does; the batch."""
    from sqlalchemy.orm import Session

    from feeds.ingest import Message, build_batch
    from store import write_batch

    messages = [Message(t, orjson.dumps(body), arrival(body)) for t, body in items]
    batch, good, bad = build_batch(make_decoder(), messages)
    assert (good, bad) == (len(items), 0)
    with Session(engine) as s, s.begin():
        write_batch(s, batch)
    return batch
