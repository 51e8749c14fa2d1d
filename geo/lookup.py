"""Vectorised point -> county lookup over a county coverage."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.boundaries import PACKAGED_CITY, load_counties

__all__ = ["CountyLocator", "locate_points"]


def locate_points(tree: shapely.STRtree, labels: np.ndarray, lons: Any, lats: Any) -> np.ndarray:
    """labels[i] of the lowest-indexed tree geometry holding each point, labels[-1] for none (input shape).

    Shared by counties and grid cells: a point on a shared border hits two shapes, and the lowest index
    (their lowest id, as both sort the tree by id) wins, so a point always belongs to exactly one.
    """
    lon, lat = np.broadcast_arrays(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
    shape = lon.shape
    lon = lon.ravel()
    lat = lat.ravel()
    finite = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    best = np.full(lon.size, len(labels) - 1, dtype=np.intp)
    if finite.size and len(labels) > 1:
        points = shapely.points(lon[finite], lat[finite])
        hit_point, hit_shape = tree.query(points, predicate="intersects")
        np.minimum.at(best, finite[hit_point], hit_shape)
    return labels[best].reshape(shape)


class CountyLocator:
    """Finds the county holding each (lon, lat); a point on a shared border goes to the lowest adcode."""

    def __init__(self, counties: gpd.GeoDataFrame) -> None:
        """Index a counties frame (column adcode, lon/lat geometry) in an STRtree."""
        if "adcode" not in counties.columns:
            raise ValueError("counties frame needs an 'adcode' column")
        if counties.crs is not None and not counties.crs.equals("EPSG:4326"):
            counties = counties.to_crs("EPSG:4326")
        adcodes = counties["adcode"].astype(str)
        if adcodes.duplicated().any():
            raise ValueError("counties frame has duplicate adcodes")
        # Tree index order == ascending adcode, so "lowest tree index" is the tie-break rule.
        order = np.argsort(adcodes.to_numpy(), kind="stable")
        self._adcodes: tuple[str, ...] = tuple(adcodes.to_numpy()[order])
        geoms = np.asarray(counties.geometry.values)[order]
        self._tree = shapely.STRtree(geoms)
        # The extra slot is what points outside every county index into.
        self._labels = np.array([*self._adcodes, None], dtype=object)

    @classmethod
    def for_city(cls, city: str = PACKAGED_CITY, lod: str = "detail") -> CountyLocator:
        """Locator over a packaged city's counties (detail LOD by default)."""
        return cls(load_counties(city, lod))

    @property
    def adcodes(self) -> tuple[str, ...]:
        """Adcodes of the indexed counties, ascending."""
        return self._adcodes

    def locate(self, lons: Any, lats: Any) -> np.ndarray:
        """Adcode (object array, input shape) of each point's county; None outside them all."""
        return locate_points(self._tree, self._labels, lons, lats)

    def locate_one(self, lon: float, lat: float) -> str | None:
        """Adcode of the county holding one point, or None."""
        adcode = self.locate(np.array([lon]), np.array([lat]))[0]
        return adcode if isinstance(adcode, str) else None
