"""Run-time access to the packaged county and city boundaries (WGS84 GeoJSON under geo/data)."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

__all__ = [
    "DATA_DIR",
    "LODS",
    "PACKAGED_CITY",
    "BoundaryProperties",
    "area_km2",
    "bounds",
    "county_names",
    "load_counties",
    "load_outline",
    "metric_crs",
    "outline_properties",
    "packaged_cities",
    "sample_points",
]

DATA_DIR: Path = Path(__file__).resolve().parent / "data"
LODS: tuple[str, ...] = ("detail", "medium", "coarse")

_COLUMNS = ["adcode", "name", "name_en"]


class BoundaryProperties(BaseModel):
    """Properties every feature of a packaged boundary file carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    adcode: str = Field(pattern=r"^\d{6}$")
    name: str = Field(min_length=1)
    name_en: str


def _check_lod(lod: str) -> None:
    if lod not in LODS:
        raise ValueError(f"unknown level of detail {lod!r}; expected one of {LODS}")


def lod_suffix(lod: str) -> str:
    """File-name suffix of a level of detail: '' for detail, '.medium', '.coarse'."""
    _check_lod(lod)
    return "" if lod == "detail" else f".{lod}"


def counties_file(city: str, lod: str) -> str:
    """File name of a city's counties FeatureCollection."""
    return f"{city}{lod_suffix(lod)}.geojson"


def outline_file(adcode: str, lod: str, *, is_city: bool) -> str:
    """File name of a city's outline (is_city) or of a single county's outline."""
    middle = ".outline" if is_city else ""
    return f"{adcode}{middle}{lod_suffix(lod)}.geojson"


def _missing(adcode: str, lod: str) -> ValueError:
    return ValueError(
        f"no packaged boundary for {adcode!r} at lod {lod!r} under {DATA_DIR}; "
        f"generate it with: python -m geo.build <city adcode>"
    )


def _is_city(adcode: str) -> bool:
    return (DATA_DIR / outline_file(adcode, "detail", is_city=True)).is_file()


def packaged_cities() -> tuple[str, ...]:
    """Adcodes of the cities whose boundaries are packaged under DATA_DIR, ascending."""
    suffix = outline_file("", "detail", is_city=True)  # ".outline.geojson"
    return tuple(sorted(p.name.removesuffix(suffix) for p in DATA_DIR.glob(f"*{suffix}")
                        if p.name.removesuffix(suffix).isdigit()))


# The city a geo function means when its caller names none: the packaged one (the lowest adcode if several are
# packaged). The app names its city (settings --city) and hands it down; this default is for tools and tests.
PACKAGED_CITY: str = packaged_cities()[0]


@lru_cache(maxsize=64)
def _read_features(path: Path) -> tuple[tuple[BoundaryProperties, BaseGeometry], ...]:
    """Parse and validate one packaged FeatureCollection; cached, immutable result."""
    with path.open(encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a FeatureCollection")
    out = []
    for i, feature in enumerate(doc["features"]):
        try:
            props = BoundaryProperties.model_validate(feature.get("properties"))
        except ValidationError as exc:
            raise ValueError(f"{path}: feature {i} has bad properties: {exc}") from exc
        geom = shape(feature["geometry"])
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            raise ValueError(f"{path}: feature {i} ({props.adcode}) is not a polygon")
        out.append((props, geom))
    return tuple(out)


@lru_cache(maxsize=16)
def _counties(city: str, lod: str) -> gpd.GeoDataFrame:
    _check_lod(lod)
    if not _is_city(city):
        raise _missing(city, lod)
    path = DATA_DIR / counties_file(city, lod)
    if not path.is_file():
        raise _missing(city, lod)
    features = _read_features(path)
    frame = pd.DataFrame([p.model_dump() for p, _ in features], columns=_COLUMNS)
    gdf = gpd.GeoDataFrame(frame, geometry=[g for _, g in features], crs="EPSG:4326")
    return gdf.sort_values("adcode", kind="stable").reset_index(drop=True)


def load_counties(city: str = PACKAGED_CITY, lod: str = "detail") -> gpd.GeoDataFrame:
    """Counties of a packaged city: columns adcode, name, name_en, geometry; EPSG:4326."""
    # A copy, so that a caller adding columns or reprojecting cannot change the cache.
    return _counties(city, lod).copy()


def load_outline(adcode: str, lod: str = "detail") -> BaseGeometry:
    """Outline of a packaged city (city adcode) or of one county (county adcode)."""
    _check_lod(lod)
    path = DATA_DIR / outline_file(adcode, lod, is_city=_is_city(adcode))
    if not path.is_file():
        raise _missing(adcode, lod)
    features = _read_features(path)
    if len(features) != 1:
        raise ValueError(f"{path}: expected one feature, found {len(features)}")
    # Shapely geometries are immutable, so handing out the cached object is safe.
    return features[0][1]


def outline_properties(adcode: str) -> BoundaryProperties:
    """Adcode and names (zh, en) of a packaged city or county, as its outline file gives them."""
    path = DATA_DIR / outline_file(adcode, "detail", is_city=_is_city(adcode))
    if not path.is_file():
        raise _missing(adcode, "detail")
    features = _read_features(path)
    if len(features) != 1:
        raise ValueError(f"{path}: expected one feature, found {len(features)}")
    return features[0][0]


def county_names(city: str = PACKAGED_CITY) -> dict[str, str]:
    """Adcode -> Chinese name of each county of a packaged city."""
    gdf = _counties(city, "detail")
    return dict(zip(gdf["adcode"], gdf["name"], strict=True))


def _utm_epsg(lon: float, lat: float) -> int:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError("cannot choose a UTM zone for an empty geometry")
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def _as_lonlat_geometries(obj: Any) -> np.ndarray:
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if obj.crs is None:
            raise ValueError("GeoDataFrame/GeoSeries has no CRS; set EPSG:4326 first")
        return np.asarray(obj.to_crs("EPSG:4326").geometry.values)
    if isinstance(obj, BaseGeometry):
        return np.array([obj], dtype=object)
    raise TypeError(f"expected a shapely geometry or GeoDataFrame, got {type(obj).__name__}")


def metric_crs(geom_or_gdf: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """WGS84 UTM CRS of the zone holding the centroid (geometry in lon/lat, frame any CRS)."""
    geoms = _as_lonlat_geometries(geom_or_gdf)
    # The centroid of the collection is area-weighted, so for a coverage it is the centroid
    # of the union without paying for the union.
    centre = shapely.GeometryCollection(list(geoms)).centroid
    if centre.is_empty:
        raise ValueError("cannot choose a UTM zone for an empty geometry")
    return pyproj.CRS.from_epsg(_utm_epsg(centre.x, centre.y))


@lru_cache(maxsize=32)
def _to_metric(epsg: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)


def project_to_metric(geom: Any, crs: pyproj.CRS) -> Any:
    """Project lon/lat shapely geometry (or array of them) into a metric EPSG CRS."""
    epsg = crs.to_epsg()
    if epsg is None:
        raise ValueError(f"metric CRS must have an EPSG code, got {crs}")
    transformer = _to_metric(epsg)
    return shapely.transform(
        geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


@overload
def area_km2(obj: BaseGeometry) -> float: ...
@overload
def area_km2(obj: gpd.GeoDataFrame | gpd.GeoSeries) -> pd.Series[float]: ...
def area_km2(obj: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries) -> float | pd.Series[float]:
    """Area in km² in the UTM zone of the centroid: float for a lon/lat geometry, Series for a frame."""
    crs = metric_crs(obj)
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        areas = obj.geometry.to_crs(crs).area / 1e6
        return pd.Series(areas.to_numpy(), index=obj.index, name="area_km2")
    return float(shapely.area(project_to_metric(obj, crs))) / 1e6


def bounds(adcode: str, lod: str = "coarse") -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a packaged city or county outline."""
    minx, miny, maxx, maxy = load_outline(adcode, lod).bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def sample_points(
    geom: BaseGeometry, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """n random (lon, lat) strictly inside a lon/lat polygon, uniform by surface area."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if geom.is_empty or geom.area <= 0:
        raise ValueError("sample_points needs a polygon with positive area")
    lons = np.empty(0)
    lats = np.empty(0)
    if n == 0:
        return lons, lats
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    # Drawing sin(lat) uniformly makes the draw uniform in area on the sphere rather than in
    # degrees, which would favour the high-latitude edge of a box by cos(lat).
    s_lo, s_hi = math.sin(math.radians(miny)), math.sin(math.radians(maxy))
    box_area = (maxx - minx) * (maxy - miny)
    acceptance = max(geom.area / box_area, 1e-6)
    got_lon: list[np.ndarray] = []
    got_lat: list[np.ndarray] = []
    have = 0
    for _ in range(1000):
        need = n - have
        batch = max(64, int(need / acceptance * 1.25) + 1)
        lon = rng.uniform(minx, maxx, batch)
        lat = np.degrees(np.arcsin(rng.uniform(s_lo, s_hi, batch)))
        keep = shapely.contains_xy(geom, lon, lat)
        got_lon.append(lon[keep][:need])
        got_lat.append(lat[keep][:need])
        have += int(min(keep.sum(), need))
        if have >= n:
            return np.concatenate(got_lon), np.concatenate(got_lat)
    raise RuntimeError("sample_points: rejection sampling did not converge")
