"""The built-in measures, registered through the same call as any addition."""

from __future__ import annotations

from collections.abc import Mapping

from measures.air import AQI_KEY, PM25_KEY, AirMeasures
from measures.base import Measure, MeasureRegistry
from measures.cases import OPEN_CASES_KEY, OVERDUE_CASES_KEY, CaseMeasures, OverdueMeasures
from measures.devices import VIDEO_ONLINE_KEY, DeviceMeasures, reporting_window
from measures.stations import (FIRE, FIRE_LEVEL_KEY, FOG, FOG_STATIONS_KEY, WATER, WATER_OVER_WARNING_KEY,
                               StationMeasures, StationRule)
from topics.cases import case_limits
from words import Words

LABEL = Words("measure")  # the built-in measures' labels, by their keys


def register_builtin_measures(registry: MeasureRegistry, city: str, aqi_edition: str,
                              cadences: Mapping[str, int] | None = None, floor_s: int = 300) -> None:
    """Register the derived measures of the city; every other theme KPI is reported through the KPI feed.

    `cadences` (feed → seconds) and `floor_s` (`--stale-after-s`) set how long a device may be silent."""
    air = AirMeasures(city, aqi_edition)
    cases = CaseMeasures(city)
    cadences = cadences or {"video_point": 60}
    devices = DeviceMeasures(city, cadences, floor_s)
    limits = case_limits()
    overdue = OverdueMeasures(city, limits.limits, limits.default_hours)

    def stations(rule: StationRule) -> StationMeasures:
        return StationMeasures(city, rule, reporting_window(rule.feed, cadences, floor_s))

    fog, fire, water = stations(FOG), stations(FIRE), stations(WATER)
    registry.register(Measure(
        AQI_KEY, *LABEL.both(AQI_KEY), "", "derived", ("city", "county"),
        city_rule="HJ 663: each pollutant's mean over the city's stations, then HJ 633's AQI of the means",
        feed="air_quality", source="HJ 633 real-time AQI of the area's mean concentrations over its current "
                                   "stations (a county like the city)",
        worse_high=True, latest_fn=air.latest_aqi, samples_fn=air.aqi_samples), "aqi")
    registry.register(Measure(
        PM25_KEY, *LABEL.both(PM25_KEY), "µg/m³", "derived", ("city", "county"),
        city_rule="mean over the city's stations", feed="air_quality",
        source="mean of the area's stations' PM2.5 (24-hour moving mean where given, else the hour's)",
        worse_high=True, latest_fn=air.latest_pm25, samples_fn=air.pm25_samples))
    registry.register(Measure(
        OPEN_CASES_KEY, *LABEL.both(OPEN_CASES_KEY), "件", "derived", ("city", "county"),
        city_rule="sum of the counties'", feed="grid_event",
        source="grid events not closed (reported by then and not closed by then, for a past moment)",
        worse_high=True, latest_fn=cases.latest, samples_fn=cases.samples), "open_cases", "open_events")
    registry.register(Measure(
        VIDEO_ONLINE_KEY, *LABEL.both(VIDEO_ONLINE_KEY), "%", "derived", ("city", "county"),
        city_rule="online points over all points of the city", feed="video_point",
        source="river-chief video points reporting within the feed's window with the stream up, over all points "
               "(measures.devices: the map's and the panels' rule)",
        worse_high=False, latest_fn=devices.latest, samples_fn=devices.samples))
    registry.register(Measure(
        OVERDUE_CASES_KEY, *LABEL.both(OVERDUE_CASES_KEY), "件", "derived", ("city", "county"),
        city_rule="sum of the counties'", feed="grid_event",
        source="open grid events past their time limit: their case's deadline in working hours (topics/calendar"
               ".yaml), else their subcategory's limit (topics/case_limits.json) on the clock",
        worse_high=True, latest_fn=overdue.latest, samples_fn=overdue.samples), "overdue_cases")
    registry.register(Measure(
        FOG_STATIONS_KEY, *LABEL.both(FOG_STATIONS_KEY), "个", "derived", ("city", "county"),
        city_rule="sum of the counties'", feed="road_weather",
        source="road-weather stations reporting within the feed's window whose visibility meets a CMA fog signal "
               "(< 500 m)", worse_high=True, latest_fn=fog.latest, samples_fn=fog.samples,
        window=fog.window), "fog_stations")
    registry.register(Measure(
        FIRE_LEVEL_KEY, *LABEL.both(FIRE_LEVEL_KEY), "级", "derived", ("city", "county"),
        city_rule="the worst of the counties'", feed="fire_risk",
        source="the highest QX/T 77-2007 fire-danger level among the stations reporting within the feed's window",
        worse_high=True, latest_fn=fire.latest, samples_fn=fire.samples,
        window=fire.window), "fire_level")
    registry.register(Measure(
        WATER_OVER_WARNING_KEY, *LABEL.both(WATER_OVER_WARNING_KEY), "站", "derived", ("city", "county"),
        city_rule="sum of the counties'", feed="hydrology",
        source="gauging stations reporting within the feed's window at or over their warning level "
               "(standards.hydro, with the levels the station's message gave)",
        worse_high=True, latest_fn=water.latest, samples_fn=water.samples,
        window=water.window), "water_over_warning")
