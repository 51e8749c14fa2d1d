"""Read queries of the environment and case panels: air-quality and gauging stations, open cases by class.

Each takes a Session and never opens one. The rules that decide what a panel may show (which station
reading is current, how a county's AQI is formed) live here so the panel and the map agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Device, GridEvent, LatestValue

AIR_FEED = "air_quality"
HYDRO_FEED = "hydrology"

# A station's AQI counts only if it is at most this much older than the newest AQI of the feed: three
# hourly cycles, as the feed's staleness rule. A station silent longer must not set a county's colour.
STATION_MAX_LAG = timedelta(hours=3)
# Device times keep microseconds, latest_values milliseconds: readings of one message agree within this.
_SAME_MESSAGE = timedelta(seconds=1)


_DeviceValues = dict[str, tuple[Any, dict[str, tuple[datetime, float]]]]


def _rows(session: Session, feed: str, county: str | None) -> _DeviceValues:
    """Per device of a feed: (its first row, {metric: (ts, value)}) from latest_values."""
    stmt = (
        select(LatestValue.device_id, LatestValue.metric, LatestValue.ts, LatestValue.value,
               LatestValue.county_adcode, Device.name, Device.last_seen, Device.attrs)
        .join(Device, Device.id == LatestValue.device_id)
        .where(LatestValue.feed == feed)
    )
    if county:
        stmt = stmt.where(LatestValue.county_adcode == county)
    out: _DeviceValues = {}
    for r in session.execute(stmt.order_by(LatestValue.device_id, LatestValue.metric)):
        entry = out.setdefault(r.device_id, (r, {}))
        entry[1][r.metric] = (r.ts, r.value)
    return out


# ---- air quality ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AirStation:
    """An air-quality station's current real-time AQI, as the feed computed it, and that hour's inputs."""

    device_id: str
    name: str | None
    county_adcode: str | None
    ts: datetime
    aqi: int
    primary_pollutants: tuple[str, ...] | None  # metric keys from the device attrs; None: attrs do not say
    edition: str | None  # HJ 633 edition the feed used (attrs aqi_edition)
    pm_basis: dict[str, str] = field(default_factory=dict)  # {"pm2_5": "24h" | "1h", …}
    values: dict[str, float] = field(default_factory=dict)  # concentrations of the same message


def newest_aqi_time(session: Session) -> datetime | None:
    """Time of the newest stored AQI of any station."""
    return session.scalar(select(func.max(LatestValue.ts))
                          .where(LatestValue.feed == AIR_FEED, LatestValue.metric == "aqi"))


def air_stations(session: Session, county: str | None = None,
                 max_lag: timedelta = STATION_MAX_LAG) -> list[AirStation]:
    """Stations whose newest message gave an AQI no older than `max_lag` behind the newest of the city.

    A station whose newest message gave no AQI (HJ 633 had no answer) is left out rather than shown
    with an older hour's value; so is one silent for longer than `max_lag`.
    """
    newest = newest_aqi_time(session)
    if newest is None:
        return []
    out = []
    for device_id, (dev, metrics) in _rows(session, AIR_FEED, county).items():
        got = metrics.get("aqi")
        if got is None:
            continue
        ts, value = got
        if dev.last_seen - ts >= _SAME_MESSAGE or newest - ts > max_lag:
            continue
        attrs = dev.attrs or {}
        primary = attrs.get("primary_pollutants")
        out.append(AirStation(
            device_id=device_id, name=dev.name, county_adcode=dev.county_adcode, ts=ts, aqi=int(value),
            primary_pollutants=None if primary is None else tuple(primary), edition=attrs.get("aqi_edition"),
            pm_basis=dict(attrs.get("aqi_pm_basis") or {}),
            values={m: v for m, (t, v) in metrics.items()
                    if m not in ("aqi", "aqi_level") and abs(t - ts) < _SAME_MESSAGE},
        ))
    return out


# ---- hydrology -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaugeReading:
    """A gauging station's newest level, with the warning levels the feed applied to it."""

    device_id: str
    name: str | None
    county_adcode: str | None
    ts: datetime
    level_m: float
    flow_m3s: float | None
    river: str | None
    station_key: str | None
    warning_m: float | None
    guaranteed_m: float | None
    levels_from: str | None  # "payload" (the bureau's API) or "standards.hydro" (our table); None: unknown


def gauge_readings(session: Session, county: str | None = None) -> list[GaugeReading]:
    """Every gauging station's newest water level and its levels (from the device attrs of that message)."""
    out = []
    for device_id, (dev, metrics) in _rows(session, HYDRO_FEED, county).items():
        level = metrics.get("water_level_m")
        if level is None:
            continue
        ts, value = level
        flow = metrics.get("flow_m3s")
        attrs = dev.attrs or {}
        # Attrs describe the device's newest message; levels apply only if the level is from it too.
        current = dev.last_seen - ts < _SAME_MESSAGE
        out.append(GaugeReading(
            device_id=device_id, name=dev.name, county_adcode=dev.county_adcode, ts=ts, level_m=value,
            flow_m3s=flow[1] if flow is not None and abs(flow[0] - ts) < _SAME_MESSAGE else None,
            river=attrs.get("river"), station_key=attrs.get("station_key"),
            warning_m=attrs.get("warning_m") if current else None,
            guaranteed_m=attrs.get("guaranteed_m") if current else None,
            levels_from=attrs.get("levels_from") if current else None,
        ))
    return out


# ---- grid cases ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassCount:
    """Open cases of one kind (部件/事件), top-level class and subcategory."""

    kind: str
    category: str
    subcategory: str | None
    count: int


def open_events_by_class(session: Session, county: str | None = None) -> list[ClassCount]:
    """Open (not closed) grid cases per kind, class and subcategory, for the city or one county."""
    stmt = (select(GridEvent.kind, GridEvent.category, GridEvent.subcategory, func.count())
            .where(GridEvent.closed_at.is_(None)))
    if county:
        stmt = stmt.where(GridEvent.county_adcode == county)
    stmt = stmt.group_by(GridEvent.kind, GridEvent.category, GridEvent.subcategory)
    return [ClassCount(k, c, s, n) for k, c, s, n in session.execute(stmt)]


def events_updated_at(session: Session, county: str | None = None) -> datetime | None:
    """Time of the newest case update (opening or closing), which dates the open counts."""
    stmt = select(func.max(GridEvent.updated_at))
    if county:
        stmt = stmt.where(GridEvent.county_adcode == county)
    return session.scalar(stmt)
