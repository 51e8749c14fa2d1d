"""Feeds that arrive by HTTP polling: air-quality stations, hydrological stations, 12345 hotline tickets.

They are ordinary feeds: the poller (feeds/polling.py) turns each item of an API response into the
(topic, JSON) of one of them and hands it to the same decode path as MQTT, so anyone may also publish
them on MQTT.

Air quality. A station reports raw concentrations (µg/m³, CO mg/m³) named after the columns of
`standards.aqi` (``so2_1h``, ``pm2_5_24h``, …) plus ``pm2_5_1h`` / ``pm10_1h``, which have no
breakpoint column of their own. Every concentration is stored as given; the row maker adds the
real-time hourly AQI (HJ 633 实时报, ``averaging="1h"``): SO2, NO2, CO and O3 from their 1 h values,
O3 8 h from its moving average, SO2 24 h only as the standard's stand-in above 800 µg/m³, and PM2.5 /
PM10 from their 24 h (moving) averages when the station gives them, else from the 1 h value against
the 24 h breakpoints — the practice of China's real-time publishing platform. Which PM value was
used, the edition and the primary pollutants go into the device's attrs so a panel can say so.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from feeds.payloads import ADCODE, DevicePayload, Lat, Lon, Payload, Timestamp
from feeds.registry import Context, Feed, FeedRegistry, RowMaker
from feeds.rows import device_row, observe
from standards.aqi import DEFAULT_EDITION, Edition, MissingSubstituteError, aqi
from standards.hydro import STATIONS, Station, WaterState, water_status
from store import Batch

# --- air quality ------------------------------------------------------------------------------------

def _ug(description: str) -> Any:
    # The bound is far beyond any real hour, so only nonsense is refused.
    return Field(None, ge=0, le=20_000, description=f"{description}, µg/m³")


class AirQualityPayload(DevicePayload):
    """Air-quality monitoring station: raw pollutant concentrations (µg/m³; CO mg/m³), at least one."""

    pm2_5_1h: float | None = _ug("PM2.5 1-hour mean")
    pm2_5_24h: float | None = _ug("PM2.5 24-hour moving mean")
    pm10_1h: float | None = _ug("PM10 1-hour mean")
    pm10_24h: float | None = _ug("PM10 24-hour moving mean")
    so2_1h: float | None = _ug("SO2 1-hour mean")
    so2_24h: float | None = _ug("SO2 24-hour moving mean")
    no2_1h: float | None = _ug("NO2 1-hour mean")
    no2_24h: float | None = _ug("NO2 24-hour moving mean")
    co_1h: float | None = Field(None, ge=0, le=1_000, description="CO 1-hour mean, mg/m³")
    co_24h: float | None = Field(None, ge=0, le=1_000, description="CO 24-hour moving mean, mg/m³")
    o3_1h: float | None = _ug("O3 1-hour mean")
    o3_8h: float | None = _ug("O3 8-hour moving mean")

    @model_validator(mode="after")
    def _some_concentration(self) -> AirQualityPayload:
        if all(getattr(self, f) is None for f in CONCENTRATIONS):
            raise ValueError("no concentration given: expected at least one of " + ", ".join(CONCENTRATIONS))
        return self


CONCENTRATIONS = ("pm2_5_1h", "pm2_5_24h", "pm10_1h", "pm10_24h", "so2_1h", "so2_24h", "no2_1h", "no2_24h",
                  "co_1h", "co_24h", "o3_1h", "o3_8h")


def realtime_concentrations(p: AirQualityPayload) -> tuple[dict[str, float | None], dict[str, str]]:
    """Inputs of `standards.aqi.aqi(..., averaging="1h")`, and which PM value (24h or 1h) fed each."""
    basis: dict[str, str] = {}
    pm: dict[str, float | None] = {}
    for name in ("pm2_5", "pm10"):
        day, hour = getattr(p, f"{name}_24h"), getattr(p, f"{name}_1h")
        pm[f"{name}_24h"] = day if day is not None else hour
        if pm[f"{name}_24h"] is not None:
            basis[name] = "24h" if day is not None else "1h"
    return {"so2_1h": p.so2_1h, "so2_24h": p.so2_24h, "no2_1h": p.no2_1h, "co_1h": p.co_1h, "o3_1h": p.o3_1h,
            "o3_8h": p.o3_8h, **pm}, basis


def make_air_quality_rows(edition: Edition | str = DEFAULT_EDITION) -> RowMaker:
    """A row maker storing every concentration and the real-time AQI of the given HJ 633 edition."""
    ed = Edition(edition)

    def air_quality_rows(batch: Batch, p: AirQualityPayload, ctx: Context) -> None:
        """One station hour: the concentrations as given, then AQI and its level."""
        values: dict[str, float | None] = {f: getattr(p, f) for f in CONCENTRATIONS}
        attrs: dict[str, Any] = {"aqi_edition": ed.value}
        inputs, basis = realtime_concentrations(p)
        attrs["aqi_pm_basis"] = basis
        if any(v is not None for k, v in inputs.items() if k != "so2_24h"):
            try:
                result = aqi(inputs, ed, averaging="1h")
            except MissingSubstituteError as e:
                # HJ 633 gives SO2 1h > 800 no IAQI without the 24h value: no AQI rather than a guess.
                attrs["aqi_error"] = str(e)
            else:
                values["aqi"] = result.aqi
                values["aqi_level"] = result.level
                attrs["primary_pollutants"] = [m.value for m in result.primary_pollutants]
        else:
            attrs["aqi_error"] = "no concentration of the real-time report (only 24h means of SO2/NO2/CO)"
        batch.add_device(device_row("air_quality", p, ctx, attrs))
        observe(batch, "air_quality", p, ctx, values)

    return air_quality_rows


# --- hydrology --------------------------------------------------------------------------------------

WATER_STATUS_CODE = {WaterState.NORMAL: 0, WaterState.ABOVE_WARNING: 1, WaterState.ABOVE_GUARANTEED: 2}


class HydrologyPayload(DevicePayload):
    """Hydrological station: water level (m), optional flow, and its warning levels if the API gives them."""

    river: str | None = Field(None, max_length=32, description="River, e.g. 西江")
    station_key: str | None = Field(
        None, max_length=32,
        description="Key in the standards.hydro station table (gaoyao, deqing, fengkai_jiangkou), "
                    "whose warning/guaranteed levels apply when the payload gives none")
    water_level_m: float = Field(ge=-50, le=500, description="Water level, m (the station's datum)")
    flow_m3s: float | None = Field(None, ge=0, le=200_000, description="Flow, m³/s")
    warning_m: float | None = Field(None, ge=-50, le=500, description="警戒水位 warning level, m")
    guaranteed_m: float | None = Field(None, ge=-50, le=500, description="保证水位 guaranteed level, m")

    @model_validator(mode="after")
    def _levels_in_order(self) -> HydrologyPayload:
        w, g = self.warning_m, self.guaranteed_m
        if w is not None and g is not None and g < w:
            raise ValueError(f"guaranteed_m {self.guaranteed_m} is below warning_m {self.warning_m}")
        return self


def station_levels(p: HydrologyPayload, stations: dict[str, Station] | None = None
                   ) -> tuple[float, float | None, str] | None:
    """(warning, guaranteed, where from) of a reading: the payload's levels first, else the station table."""
    if p.warning_m is not None:
        return p.warning_m, p.guaranteed_m, "payload"
    table = STATIONS if stations is None else stations
    station = table.get(p.station_key) if p.station_key else None
    if station is not None:
        return station.warning_m, station.guaranteed_m, "standards.hydro"
    return None


def hydrology_rows(batch: Batch, p: HydrologyPayload, ctx: Context) -> None:
    """One reading: level, flow, and the status against the station's levels when they are known."""
    attrs: dict[str, Any] = {"river": p.river, "station_key": p.station_key}
    values: dict[str, float | None] = {"water_level_m": p.water_level_m, "flow_m3s": p.flow_m3s}
    levels = station_levels(p)
    if levels is not None:
        warning, guaranteed, source = levels
        attrs.update(warning_m=warning, guaranteed_m=guaranteed, levels_from=source)
        values["water_status"] = WATER_STATUS_CODE[water_status(p.water_level_m, warning, guaranteed).state]
    batch.add_device(device_row("hydrology", p, ctx, attrs))
    observe(batch, "hydrology", p, ctx, values)


# --- 12345 hotline ----------------------------------------------------------------------------------


class TicketStatus(StrEnum):
    """Where a 12345 ticket is: 受理 → 派单 → 办理中 → 已办结."""

    accepted = "accepted"  # 受理
    dispatched = "dispatched"  # 派单
    in_progress = "in_progress"  # 办理中
    closed = "closed"  # 已办结


TICKET_STATUS_NAMES: dict[TicketStatus, tuple[str, str]] = {
    TicketStatus.accepted: ("受理", "Accepted"),
    TicketStatus.dispatched: ("派单", "Dispatched"),
    TicketStatus.in_progress: ("办理中", "In progress"),
    TicketStatus.closed: ("已办结", "Closed"),
}


class HotlineTicketPayload(Payload):
    """A 12345 hotline ticket: when it was created, where, what about and how far it got (no caller data)."""

    ticket_id: str = Field(pattern=r"^[A-Za-z0-9_-]{4,40}$",
                           description="Ticket number; the topic's last level repeats it")
    ts: Timestamp = Field(description="Time of the ticket's latest change")
    created_at: Timestamp = Field(description="When the ticket was accepted (受理时间)")
    region: str = Field(pattern=ADCODE, description="Adcode of the county handling it (or the city); "
                                                    "the topic's county level repeats it")
    category: str = Field(max_length=32, description="Category, e.g. 城乡建设")
    subcategory: str | None = Field(None, max_length=48)
    status: TicketStatus = Field(description="accepted 受理, dispatched 派单, in_progress 办理中, closed 已办结")
    lon: Lon | None = None
    lat: Lat | None = None

    @model_validator(mode="after")
    def _both_or_no_coordinates(self) -> HotlineTicketPayload:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat must be given together")
        if self.created_at > self.ts:
            raise ValueError("created_at is after ts (the latest change)")
        return self


def hotline_rows(batch: Batch, p: HotlineTicketPayload, ctx: Context) -> None:
    """No rows: tickets are validated and counted here; the poller stores their counts as KPIs.

    The store has no ticket table, and grid_events hold the seven-step urban-management workflow,
    not 12345's; see docs/polling.md.
    """


# --- registration -----------------------------------------------------------------------------------

AIR_QUALITY_CADENCE_S = 3600  # the national real-time platform publishes hourly
HYDROLOGY_CADENCE_S = 300  # automatic gauging stations report every 5 minutes
HOTLINE_CADENCE_S = 600


def make_polled_feeds(aqi_edition: Edition | str = DEFAULT_EDITION) -> tuple[Feed, ...]:
    """The three polled feeds; the AQI row maker uses the given HJ 633 edition."""
    return (
        Feed("air_quality", "空气质量监测站", "Air-quality stations", AirQualityPayload, AIR_QUALITY_CADENCE_S,
             make_air_quality_rows(aqi_edition)),
        Feed("hydrology", "水文站水位", "Hydrological stations", HydrologyPayload, HYDROLOGY_CADENCE_S,
             hydrology_rows),
        Feed("hotline_12345", "12345热线工单", "12345 hotline tickets", HotlineTicketPayload, HOTLINE_CADENCE_S,
             hotline_rows, key_field="ticket_id", located=False, region_field="region"),
    )


POLLED_FEEDS = make_polled_feeds()


def register_polled_feeds(registry: FeedRegistry, aqi_edition: Edition | str = DEFAULT_EDITION) -> None:
    """Register the polled feeds through the public registry call."""
    for feed in make_polled_feeds(aqi_edition):
        registry.register(feed)


__all__ = ["POLLED_FEEDS", "AirQualityPayload", "HotlineTicketPayload", "HydrologyPayload",
           "TicketStatus", "make_polled_feeds", "register_polled_feeds"]
