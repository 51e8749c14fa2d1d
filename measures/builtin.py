"""The built-in measures, registered through the same call as any addition."""

from __future__ import annotations

from measures.air import AQI_KEY, PM25_KEY, AirMeasures
from measures.base import Measure, MeasureRegistry
from measures.cases import OPEN_CASES_KEY, CaseMeasures


def register_builtin_measures(registry: MeasureRegistry, city: str, aqi_edition: str) -> None:
    """Register the derived measures of the city; every other theme KPI is reported through the KPI feed."""
    air = AirMeasures(city, aqi_edition)
    cases = CaseMeasures(city)
    registry.register(Measure(
        AQI_KEY, "空气质量指数", "AQI", "", "derived", ("city", "county"),
        city_rule="HJ 663: each pollutant's mean over the city's stations, then HJ 633's AQI of the means",
        feed="air_quality", source="HJ 633 real-time AQI of the area's mean concentrations over its current "
                                   "stations (a county like the city)",
        worse_high=True, latest_fn=air.latest_aqi, samples_fn=air.aqi_samples), "aqi")
    registry.register(Measure(
        PM25_KEY, "PM2.5浓度", "PM2.5", "µg/m³", "derived", ("city", "county"),
        city_rule="mean over the city's stations", feed="air_quality",
        source="mean of the area's stations' PM2.5 (24-hour moving mean where given, else the hour's)",
        worse_high=True, latest_fn=air.latest_pm25, samples_fn=air.pm25_samples))
    registry.register(Measure(
        OPEN_CASES_KEY, "在办网格案件", "Open grid cases", "件", "derived", ("city", "county"),
        city_rule="sum of the counties'", feed="grid_event",
        source="grid events not closed (reported by then and not closed by then, for a past moment)",
        worse_high=True, latest_fn=cases.latest, samples_fn=cases.samples), "open_cases", "open_events")
