"""Air quality as measures: a county's and the city's AQI and PM2.5, derived from the stations' readings.

The rule (HJ 663-2013 §5, the city's figure): each pollutant's concentration is the arithmetic mean over the
area's current stations, and the area's AQI is HJ 633's AQI of those means, with its primary pollutants. A
county is an area like the city. Real-time basis: PM2.5 and PM10 by their 24-hour moving means where a station
gives them, else the hour's (as the feed itself chooses, feeds/polled.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from measures.base import Point
from standards.aqi import AqiResult, Edition, aqi
from store.env_queries import AIR_FEED, AirStation, air_stations
from store.models import Device, Observation, ObservationHourly
from store.rollups import RAW_SPAN

AQI_KEY = "eco.aqi"
PM25_KEY = "eco.pm2_5"


def realtime_inputs(values: dict[str, float]) -> dict[str, float | None]:
    """A station's inputs to the real-time AQI, chosen as the feed chooses them (feeds/polled.py)."""
    def pm(name: str) -> float | None:
        day = values.get(f"{name}_24h")
        return day if day is not None else values.get(f"{name}_1h")

    return {"so2_1h": values.get("so2_1h"), "so2_24h": values.get("so2_24h"), "no2_1h": values.get("no2_1h"),
            "co_1h": values.get("co_1h"), "o3_1h": values.get("o3_1h"), "o3_8h": values.get("o3_8h"),
            "pm2_5_24h": pm("pm2_5"), "pm10_24h": pm("pm10")}


def aqi_of(inputs: Mapping[str, float | Fraction | None], edition: str) -> AqiResult | None:
    """The real-time AQI of some inputs, or None where HJ 633 gives none."""
    if all(v is None for k, v in inputs.items() if k != "so2_24h"):
        return None
    return _aqi(tuple(sorted(inputs.items())), edition)


@lru_cache(maxsize=4096)
def _aqi(inputs: tuple[tuple[str, float | Fraction | None], ...], edition: str) -> AqiResult | None:
    """aqi_of's work, kept: every tick window the trend asks again for the same closed hours' means (HJ 633 in
    exact fractions was most of the wall's rendering on the 5M-observation store, `make bench`, wall)."""
    try:
        return aqi(dict(inputs), edition, averaging="1h")
    except ValueError:  # MissingSubstituteError included: no answer rather than a guess
        return None


@lru_cache(maxsize=65536)
def _exact(value: float) -> Fraction:
    """A reading as the decimal the station sent, exact."""
    return Fraction(str(value))


def mean_inputs(readings: Sequence[dict[str, float]]) -> dict[str, Fraction | None]:
    """Each real-time input's mean over the stations that give it (HJ 663: the area's concentration), exact:
    the decimals the stations sent, summed as fractions, so an AQI (rounded up) or a PM2.5 on a rounding boundary
    never depends on the order of a floating-point sum."""
    sums: dict[str, Fraction] = {}
    counts: Counter[str] = Counter()
    for values in readings:
        for metric, value in realtime_inputs(values).items():
            if value is not None:
                sums[metric] = sums.get(metric, Fraction(0)) + _exact(value)
                counts[metric] += 1
    return {m: sums[m] / counts[m] for m in sums}


def round1(value: Fraction) -> float:
    """A concentration for display: to 0.1, halves up (as the reports round)."""
    return float((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def current_stations(session: Session, county: str | None = None) -> list[AirStation]:
    """The stations whose AQI is current (store.env_queries.air_stations), read once per session: a session is
    one reading moment (a wall tick), and the KPI strip, the AQI panel, the trend and the map all ask."""
    cached = session.info.get("measures.air_stations")
    if cached is None:
        cached = session.info["measures.air_stations"] = air_stations(session)
    return [s for s in cached if county is None or s.county_adcode == county]


@dataclass(frozen=True)
class AreaAir:
    """An area's air now: its AQI result (None when HJ 633 gives none), PM2.5, the stations and their time."""

    result: AqiResult | None
    pm2_5: float | None
    stations: tuple[AirStation, ...]
    ts: datetime


def edition_of(stations: Sequence[AirStation], default: str) -> str:
    """The edition most stations' AQI used (they normally all agree)."""
    counts = Counter(s.edition or default for s in stations)
    return counts.most_common(1)[0][0] if counts else default


def area_air(stations: Sequence[AirStation], edition: str) -> AreaAir | None:
    """One area's AQI and PM2.5 from its current stations, or None without any."""
    if not stations:
        return None
    means = mean_inputs([s.values for s in stations])
    pm = means.get("pm2_5_24h")
    return AreaAir(aqi_of(means, edition_of(stations, edition)), None if pm is None else round1(pm),
                   tuple(stations), max(s.ts for s in stations))


class AirMeasures:
    """The AQI and PM2.5 of the city and each county, now and in the past, from the stations."""

    def __init__(self, city: str, edition: str = Edition.HJ633_2012.value) -> None:
        self.city = city
        self.edition = edition

    def areas(self, session: Session, regions: Sequence[str]) -> dict[str, AreaAir]:
        """Each region's air now (the city: every station; a county: its own); regions without stations left out."""
        stations = current_stations(session)
        by_county: dict[str, list[AirStation]] = defaultdict(list)
        for s in stations:
            if s.county_adcode:
                by_county[s.county_adcode].append(s)
        out = {}
        for region in regions:
            got = area_air(stations if region == self.city else by_county.get(region, []), self.edition)
            if got is not None:
                out[region] = got
        return out

    def latest_aqi(self, session: Session, regions: Sequence[str], now: datetime | None = None) -> dict[str, Point]:
        """The AQI of each region now."""
        return {r: Point(a.ts, float(a.result.aqi)) for r, a in self.areas(session, regions).items()
                if a.result is not None}

    def latest_pm25(self, session: Session, regions: Sequence[str], now: datetime | None = None) -> dict[str, Point]:
        """The PM2.5 of each region now."""
        return {r: Point(a.ts, a.pm2_5) for r, a in self.areas(session, regions).items() if a.pm2_5 is not None}

    def _history(self, session: Session, region: str, edges: Sequence[datetime]) -> list[list[tuple[datetime,
                                                                                                      dict[str, float]]]]:
        """Per interval (edges[i], edges[i+1]], each station's newest reading in it: [(ts, values)].

        Intervals ending over RAW_SPAN before the newest edge read the hourly roll-ups (store.rollups): there a
        station's sample is its newest reading that closed an hour, exact for stations reporting on the hour.
        """
        if len(edges) < 2:
            return []
        # By station: observations are indexed by (device, feed, ts), so each station's hours are one range read.
        stations = select(Device.id).where(Device.kind == AIR_FEED)
        if region != self.city:
            stations = stations.where(Device.county_adcode == region)
        ids = list(session.scalars(stations))
        if not ids:
            return [[] for _ in edges[1:]]
        # Hours before `split` are read from the roll-ups, the rest from raw rows: no reading twice or never.
        rolled = bisect_right(edges, edges[-1] - RAW_SPAN) - 1  # intervals [0, rolled) end before RAW_SPAN
        split = edges[rolled].replace(minute=0, second=0, microsecond=0) if rolled > 0 else None
        reads = []
        if split is not None:
            h = ObservationHourly
            reads.append(select(h.device_id, h.last_ts, h.last)
                         .where(h.device_id.in_(ids), h.feed == AIR_FEED,
                                h.bucket >= edges[0].replace(minute=0, second=0, microsecond=0), h.bucket < split))
        reads.append(select(Observation.device_id, Observation.ts, Observation.data)
                     .where(Observation.device_id.in_(ids), Observation.feed == AIR_FEED,
                            Observation.ts >= split if split is not None else Observation.ts > edges[0],
                            Observation.ts <= edges[-1]))
        buckets: list[dict[str, tuple[datetime, dict[str, float]]]] = [{} for _ in edges[1:]]
        for stmt in reads:
            for device_id, ts, data in session.execute(stmt):
                i = bisect_left(edges, ts) - 1  # edges[i] < ts <= edges[i + 1]
                if 0 <= i < len(buckets):
                    old = buckets[i].get(device_id)
                    if old is None or ts > old[0]:
                        buckets[i][device_id] = (ts, data or {})
        return [list(b.values()) for b in buckets]

    def aqi_samples(self, session: Session, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        """The region's AQI in each interval, from the stations' readings of that interval."""
        out: list[Point | None] = []
        for readings in self._history(session, region, edges):
            result = aqi_of(mean_inputs([v for _, v in readings]), self.edition) if readings else None
            out.append(None if result is None else Point(max(t for t, _ in readings), float(result.aqi)))
        return out

    def pm25_samples(self, session: Session, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        """The region's PM2.5 in each interval."""
        out: list[Point | None] = []
        for readings in self._history(session, region, edges):
            pm = mean_inputs([v for _, v in readings]).get("pm2_5_24h") if readings else None
            out.append(None if pm is None else Point(max(t for t, _ in readings), round1(pm)))
        return out
