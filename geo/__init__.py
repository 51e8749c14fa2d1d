"""Boundaries, CRS, point-in-county lookup: the lowest layer, never importing dashboard/, store/, feeds/."""

from geo.boundaries import (
    DATA_DIR,
    LODS,
    PACKAGED_CITY,
    area_km2,
    bounds,
    county_names,
    load_counties,
    load_outline,
    metric_crs,
    outline_properties,
    sample_points,
)
from geo.city import City
from geo.coords import gcj02_to_wgs84, geometry_gcj02_to_wgs84, wgs84_to_gcj02
from geo.grids import (
    GRID_COLUMNS,
    PROBLEM_KINDS,
    GridFileError,
    GridIndex,
    GridProblem,
    check_grids,
    coverage_by_county,
    generate_hex_grid,
    read_grid_file,
)
from geo.lookup import CountyLocator

__all__ = [
    "DATA_DIR",
    "GRID_COLUMNS",
    "LODS",
    "PACKAGED_CITY",
    "PROBLEM_KINDS",
    "City",
    "CountyLocator",
    "GridFileError",
    "GridIndex",
    "GridProblem",
    "area_km2",
    "bounds",
    "check_grids",
    "coverage_by_county",
    "county_names",
    "gcj02_to_wgs84",
    "generate_hex_grid",
    "geometry_gcj02_to_wgs84",
    "load_counties",
    "load_outline",
    "metric_crs",
    "outline_properties",
    "read_grid_file",
    "sample_points",
    "wgs84_to_gcj02",
]
