"""Devices as measures: one rule for a device's status (online, offline, silent, alarm) and one window for how
long a device of a kind may be silent — the drill map, the device page, the point panel and the video panel's
online rate all read these (they had two windows: the drill map one for every kind, the panel the feed's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from clock import process_clock
from feeds.health import offline_after
from measures.base import Point
from measures.stations import fire_level, in_fog, over_warning
from store.drill_queries import device_states_as_of
from store.models import Device, LatestValue

Status = Literal["online", "offline", "stale", "alarm"]


def reporting_window(kind: str, cadences: Mapping[str, int], floor_s: int) -> timedelta:
    """How long a device of a kind may be silent and still count as reporting: the feeds' offline rule (three
    cadences, at least the floor, `--stale-after-s`)."""
    return timedelta(seconds=offline_after(cadences.get(kind, floor_s), floor_s))


def reporting(last_ts: datetime | None, at: datetime, window: timedelta) -> bool:
    """Whether a device last heard at `last_ts` counts as reporting at `at`."""
    return last_ts is not None and last_ts >= at - window


def device_status(kind: str, is_reporting: bool, online: bool | float | None, data: dict[str, Any] | None) -> Status:
    """A device's status from its last message: stale (silent too long), offline (a video stream down), alarm (by
    the standards: fog, fire danger ≥ 4, water at warning level, AQI level ≥ 4), else online."""
    if not is_reporting:
        return "stale"
    if kind == "video_point" and online is not None and online < 1:
        return "offline"
    data = data or {}
    if kind == "road_weather" and in_fog(data) == 1:
        return "alarm"
    if kind == "fire_risk" and (fire_level(data) or 0) >= 4:
        return "alarm"
    if kind == "hydrology" and over_warning(data) == 1:
        return "alarm"
    aqi_level = data.get("aqi_level")
    if kind == "air_quality" and isinstance(aqi_level, int | float) and aqi_level >= 4:
        return "alarm"
    return "online"


VIDEO_ONLINE_KEY = "video.online_rate"


class DeviceMeasures:
    """The river-chief video points' online rate (%): reporting within the feed's window and the stream up."""

    def __init__(self, city: str, cadences: Mapping[str, int], floor_s: int) -> None:
        self.city = city
        self.window = reporting_window("video_point", cadences, floor_s)

    def _rate(self, states: list[tuple[str | None, bool]], regions: list[str]) -> dict[str, float]:
        out = {}
        for region in regions:
            mine = [up for county, up in states if region == self.city or county == region]
            if mine:
                out[region] = round(100 * sum(mine) / len(mine), 1)
        return out

    def latest(self, session: Session, regions: Sequence[str], now: datetime | None = None) -> dict[str, Point]:
        """Each region's online rate now, dated by its newest video message."""
        now = now or process_clock().now()
        stmt = (select(Device.county_adcode, Device.last_seen, LatestValue.value)
                .outerjoin(LatestValue, (LatestValue.device_id == Device.id) & (LatestValue.metric == "online"))
                .where(Device.kind == "video_point"))
        if self.city not in regions:  # a county's page: its own devices (ix_devices_county_kind), not the city's
            stmt = stmt.where(Device.county_adcode.in_(sorted(regions)))
        rows = session.execute(stmt).all()
        if not rows:
            return {}
        states = [(county, device_status("video_point", reporting(seen, now, self.window),
                                         None if flag is None else flag >= 1, {}) in ("online", "alarm"))
                  for county, seen, flag in rows]
        newest = max(seen for _, seen, _ in rows)
        return {r: Point(newest, v) for r, v in self._rate(states, list(regions)).items()}

    def samples(self, session: Session, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        """The online rate at each interval's end, from each device's newest message by then."""
        out: list[Point | None] = []
        for end in edges[1:]:
            got = device_states_as_of(session, end, None if region == self.city else region, window=self.window)
            states = [(st.county_adcode, device_status(st.kind, st.reporting, st.online, {}) in ("online", "alarm"))
                      for st in got.values() if st.kind == "video_point"]
            rate = self._rate(states, [region]).get(region)
            out.append(None if rate is None else Point(end, rate))
        return out
