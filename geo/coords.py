"""GCJ-02 (the offset "Mars" datum of AMap and other Chinese map services) <-> WGS84."""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
import shapely

__all__ = [
    "in_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "geometry_gcj02_to_wgs84",
]

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 obfuscation formula.
_A = 6378245.0
_EE = 0.00669342162296594323

# The rectangle every open implementation (eviltransform, coordtransform, gcoord) treats as
# "China"; outside it GCJ-02 is defined to equal WGS84.
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271

# A fixed count rather than "until converged" so that every point's result depends on that
# point alone: a vertex shared by two polygons converts identically whether it is converted
# with one polygon, the other, or the whole coverage at once. Each step gains about two
# digits (measured over a 400x400 grid across China: 6 steps reach 3e-14°); 8 leave margin.
_INVERSE_ITERATIONS = 8

FloatOrArray = float | np.ndarray


def in_china(lon: Any, lat: Any) -> np.ndarray | bool:
    """True where (lon, lat) lies in the rectangle where GCJ-02 differs from WGS84."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    inside = (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)
    return bool(inside) if inside.ndim == 0 else inside


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 shift (dlon, dlat) in degrees at a WGS84 position, ignoring the China test."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a, lat_a, lon_a.ndim == 0


def _result(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> tuple[FloatOrArray, FloatOrArray]:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert WGS84 (lon, lat) to GCJ-02; identity outside China; scalars or arrays."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    dlon, dlat = _offset(lon_a, lat_a)
    inside = np.asarray(in_china(lon_a, lat_a))
    return _result(
        np.where(inside, lon_a + dlon, lon_a), np.where(inside, lat_a + dlat, lat_a), scalar
    )


@overload
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[FloatOrArray, FloatOrArray]:
    """Convert GCJ-02 (lon, lat) to WGS84 by fixed-point inversion (error far below 1e-7°)."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    wlon = lon_a.copy()
    wlat = lat_a.copy()
    for _ in range(_INVERSE_ITERATIONS):
        # Solve wgs + offset(wgs) = gcj for wgs; the offset is the raw one so the iteration
        # stays smooth for points whose WGS84 estimate strays just outside the rectangle.
        dlon, dlat = _offset(wlon, wlat)
        wlon = lon_a - dlon
        wlat = lat_a - dlat
    inside = np.asarray(in_china(lon_a, lat_a))
    return _result(np.where(inside, wlon, lon_a), np.where(inside, wlat, lat_a), scalar)


def _transform_coords(coords: np.ndarray) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def geometry_gcj02_to_wgs84(geom: Any) -> Any:
    """Convert every vertex of a shapely geometry (or array of them) from GCJ-02 to WGS84."""
    return shapely.transform(geom, _transform_coords)
