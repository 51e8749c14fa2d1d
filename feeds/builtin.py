"""The built-in feeds: river-chief video points, road weather, fire risk, grid events and KPIs."""

from __future__ import annotations

from feeds.payloads import (
    CLOSING_STEP,
    FireRiskPayload,
    GridEventPayload,
    KpiPayload,
    RoadWeatherPayload,
    VideoPointPayload,
)
from feeds.polled import register_polled_feeds
from feeds.registry import Context, Feed, FeedRegistry
from feeds.rows import device_row, observe
from standards.aqi import DEFAULT_EDITION
from store import Batch


def video_point_rows(batch: Batch, p: VideoPointPayload, ctx: Context) -> None:
    """A heartbeat: online state, and the strongest confidence per detection type."""
    batch.add_device(device_row("video_point", p, ctx, {"river": p.river}))
    strongest: dict[str, float] = {}
    for d in p.detections:
        strongest[d.type.value] = max(strongest.get(d.type.value, 0.0), d.confidence)
    values: dict[str, float | None] = {"online": 1.0 if p.online else 0.0, "detections": len(p.detections)}
    values.update({f"detection.{k}": v for k, v in strongest.items()})
    observe(batch, "video_point", p, ctx, values)


def road_weather_rows(batch: Batch, p: RoadWeatherPayload, ctx: Context) -> None:
    """One reading of a road-weather station."""
    state = p.road_state.value if p.road_state else None
    batch.add_device(device_row("road_weather", p, ctx, {"road": p.road, "road_state": state}))
    observe(batch, "road_weather", p, ctx, {
        "visibility_m": p.visibility_m, "air_temp_c": p.air_temp_c, "road_temp_c": p.road_temp_c,
        "humidity_pct": p.humidity_pct, "wind_speed_ms": p.wind_speed_ms, "precipitation_mm": p.precipitation_mm,
    })


def fire_risk_rows(batch: Batch, p: FireRiskPayload, ctx: Context) -> None:
    """One reading of a fire-risk weather station."""
    batch.add_device(device_row("fire_risk", p, ctx, {}))
    observe(batch, "fire_risk", p, ctx, {
        "max_temp_c": p.max_temp_c, "rh_pct": p.rh_pct, "wind_speed_ms": p.wind_speed_ms,
        "dry_days": p.dry_days, "precipitation_mm": p.precipitation_mm,
    })


def grid_event_rows(batch: Batch, p: GridEventPayload, ctx: Context) -> None:
    """A case update: the case's current state and the step it reached."""
    batch.add_event({
        "id": p.event_id, "county_adcode": ctx.county_adcode, "declared_adcode": ctx.declared_adcode,
        "grid_code": p.grid_code, "kind": p.kind, "category": p.category, "subcategory": p.subcategory,
        "description": p.description, "lon": p.lon, "lat": p.lat, "step": p.step,
        "reported_at": p.reported_at or p.ts, "updated_at": p.ts,
        "closed_at": p.ts if p.step >= CLOSING_STEP else None,
    })
    batch.add_event_step({"event_id": p.event_id, "step": p.step, "ts": p.ts, "actor": p.actor, "note": None})


def kpi_rows(batch: Batch, p: KpiPayload, ctx: Context) -> None:
    """One KPI value."""
    batch.add_kpi({"key": p.metric, "region": p.region, "ts": p.ts, "value": p.value, "unit": p.unit})


BUILTIN_FEEDS = (
    Feed("video_point", "河长视频点位", "River-chief video points", VideoPointPayload, 60, video_point_rows),
    Feed("road_weather", "交通气象", "Road weather", RoadWeatherPayload, 60, road_weather_rows),
    Feed("fire_risk", "森林火险", "Fire risk", FireRiskPayload, 300, fire_risk_rows),
    Feed("grid_event", "网格事件", "Grid events", GridEventPayload, 120, grid_event_rows, key_field="event_id"),
    Feed("kpi", "指标", "KPI metrics", KpiPayload, 300, kpi_rows, key_field="metric", located=False,
         region_field="region"),
)


def register_builtin_feeds(registry: FeedRegistry, aqi_edition: str = DEFAULT_EDITION) -> None:
    """Register the built-in feeds through the public registry call."""
    for feed in BUILTIN_FEEDS:
        registry.register(feed)
    register_polled_feeds(registry, aqi_edition)
