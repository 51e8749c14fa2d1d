"""Station measures: a figure judged by a standard from each reporting station's newest message — stations in fog
(CMA 大雾 signal), the worst forest-fire danger level (QX/T 77), gauges at or over their warning level.

A station silent longer than its feed's window says nothing about now and is left out (measures.devices'
rule); the panels that list the stations read these counts, so a head and the map cannot disagree."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from clock import process_clock
from measures.base import Point
from standards.fire import beaufort, fire_danger
from standards.fog import fog_signal
from store.drill_queries import device_states_as_of
from store.queries import LatestRow, latest_values

FOG_STATIONS_KEY = "traffic.fog_stations"
FIRE_LEVEL_KEY = "eco.fire_level"
WATER_OVER_WARNING_KEY = "water.over_warning"

FIRE_METRICS = ("max_temp_c", "rh_pct", "dry_days", "wind_speed_ms")


def _number(data: Mapping[str, Any], key: str) -> float | None:
    v = data.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def in_fog(data: Mapping[str, Any]) -> float | None:
    """1 when the visibility meets a CMA fog signal (< 500 m), 0 when not, None without a visibility."""
    v = _number(data, "visibility_m")
    return None if v is None else float(fog_signal(v) is not None)


def fire_level(data: Mapping[str, Any]) -> float | None:
    """The station's QX/T 77 fire-danger level (1–5), None unless every factor is in the message."""
    t, rh, dry, wind = (_number(data, k) for k in FIRE_METRICS)
    if t is None or rh is None or dry is None or wind is None:
        return None
    return float(fire_danger(t, rh, int(dry), beaufort(wind)).level)


def over_warning(data: Mapping[str, Any]) -> float | None:
    """1 at or over the warning level (water_status ≥ 1, judged at ingest by standards.hydro), 0 under, None
    for a gauge whose levels are unknown."""
    v = _number(data, "water_status")
    return None if v is None else float(v >= 1)


@dataclass(frozen=True)
class StationRule:
    """How one measure reads its stations: the feed, the metrics a judgement needs, the judgement, and how the
    stations of a region combine (a count of the ones judged 1, or the worst value)."""

    feed: str
    metrics: tuple[str, ...]
    judge: Callable[[Mapping[str, Any]], float | None]
    combine: Literal["count", "max"]


FOG = StationRule("road_weather", ("visibility_m", "air_temp_c"), in_fog, "count")  # the panel's read too
FIRE = StationRule("fire_risk", FIRE_METRICS, fire_level, "max")
WATER = StationRule("hydrology", ("water_status",), over_warning, "count")


def latest_rows(session: Session, feed: str, metrics: Sequence[str], county: str | None = None) -> list[LatestRow]:
    """A feed's newest values of some metrics, read once per session: a session is one reading moment (a wall
    tick), and the panel listing the stations and the measure counting them both ask."""
    key = ("measures.latest_rows", feed, tuple(metrics))
    cached = session.info.get(key)
    if cached is None:
        cached = session.info[key] = latest_values(session, feed, list(metrics))
    return [r for r in cached if county is None or r.county_adcode == county]


class StationMeasures:
    """One station measure for the city (the sum or the worst of its counties) and for each county."""

    def __init__(self, city: str, rule: StationRule, window: timedelta) -> None:
        self.city, self.rule, self.window = city, rule, window

    def _combine(self, judged: Sequence[tuple[str | None, float]], region: str) -> float | None:
        mine = [v for county, v in judged if region == self.city or county == region]
        if self.rule.combine == "count":
            return float(sum(1 for v in mine if v >= 1))
        return max(mine, default=None)

    def latest(self, session: Session, regions: Sequence[str], now: datetime | None = None) -> dict[str, Point]:
        """Each region's figure from its reporting stations, dated by the region's newest reading."""
        now = now or process_clock().now()
        by_device: dict[str, dict[str, Any]] = defaultdict(dict)
        county: dict[str, str | None] = {}
        seen: dict[str, datetime] = {}
        for r in latest_rows(session, self.rule.feed, self.rule.metrics):
            by_device[r.device_id][r.metric] = r.value
            county[r.device_id] = r.county_adcode
            seen[r.device_id] = max(seen.get(r.device_id, r.ts), r.ts)
        judged = [(county[d], v) for d, data in by_device.items()
                  if seen[d] >= now - self.window and (v := self.rule.judge(data)) is not None]
        out = {}
        for region in regions:
            times = [ts for d, ts in seen.items() if region == self.city or county[d] == region]
            value = self._combine(judged, region)
            if times and value is not None:
                out[region] = Point(max(times), value)
        return out

    def samples(self, session: Session, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        """The figure at each interval's end, from each station's newest message by then."""
        out: list[Point | None] = []
        for end in edges[1:]:
            got = device_states_as_of(session, end, None if region == self.city else region, window=self.window,
                                      kind=self.rule.feed)
            judged = [(st.county_adcode, v) for st in got.values()
                      if st.reporting and (v := self.rule.judge(st.data or {})) is not None]
            value = self._combine(judged, region) if got else None
            out.append(None if value is None else Point(end, value))
        return out
