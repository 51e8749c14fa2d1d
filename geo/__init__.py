"""Boundaries, CRS, point-in-county lookup: the lowest layer, never importing dashboard/, store/, feeds/."""

from geo.boundaries import (
    DATA_DIR,
    LODS,
    area_km2,
    bounds,
    county_names,
    load_counties,
    load_outline,
    metric_crs,
    sample_points,
)
from geo.coords import gcj02_to_wgs84, geometry_gcj02_to_wgs84, wgs84_to_gcj02
from geo.lookup import CountyLocator

__all__ = [
    "DATA_DIR",
    "LODS",
    "CountyLocator",
    "area_km2",
    "bounds",
    "county_names",
    "gcj02_to_wgs84",
    "geometry_gcj02_to_wgs84",
    "load_counties",
    "load_outline",
    "metric_crs",
    "sample_points",
    "wgs84_to_gcj02",
]
