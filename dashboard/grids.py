"""The city's grid cells (网格) for the drill-down: imported ones from the store, else generated H3 cells."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo.grids import GridIndex, generate_hex_grid
from store import grid_queries

GENERATED_RESOLUTION = 7  # H3 res 7: ≈5 km² a cell, 30 to 700 cells a county


@dataclass(frozen=True)
class GridCells:
    """Cells (grid_id, name, county_adcode, source, geometry, lon, lat) with a point index over them."""

    frame: gpd.GeoDataFrame
    index: GridIndex
    generated: bool

    def in_county(self, adcode: str) -> gpd.GeoDataFrame:
        """The cells of one county."""
        return self.frame[self.frame["county_adcode"] == adcode]

    def get(self, grid_id: str) -> dict | None:
        """One cell as a dict, or None."""
        rows = self.frame[self.frame["grid_id"] == grid_id]
        return None if rows.empty else rows.iloc[0].to_dict()

    def locate(self, lons: object, lats: object) -> np.ndarray:
        """The grid_id holding each point (None outside every cell)."""
        return self.index.locate(lons, lats)


def load_grid_cells(engine: Engine, counties: gpd.GeoDataFrame) -> GridCells:
    """Imported cells if the store holds any, otherwise H3 cells clipped to each county."""
    with Session(engine) as s:
        rows = grid_queries.grid_cells(s)
    if rows:
        frame = gpd.GeoDataFrame({
            "grid_id": [r.id for r in rows], "name": [r.name for r in rows],
            "county_adcode": [r.county_adcode for r in rows], "source": [r.source for r in rows],
            "lon": [r.lon for r in rows], "lat": [r.lat for r in rows],
        }, geometry=[shapely.from_geojson(r.geojson) for r in rows], crs="EPSG:4326")
        generated = all(r.source == "generated" for r in rows)
    else:
        frame = generate_hex_grid(counties, resolution=GENERATED_RESOLUTION)
        if "source" not in frame.columns:
            frame["source"] = "generated"
        generated = True
    if "lon" not in frame.columns or "lat" not in frame.columns:
        points = frame.geometry.representative_point()
        frame["lon"], frame["lat"] = points.x.round(6), points.y.round(6)
    frame = frame.sort_values("grid_id").reset_index(drop=True)
    return GridCells(frame=frame, index=GridIndex(frame), generated=generated)


class GridProvider:
    """Loads the cells once, on first use, and again after `python -m feeds grids import` changed them."""

    RECHECK_S = 60.0  # how often the store is asked whether the cells changed (one count query)

    def __init__(self, engine: Engine, counties: gpd.GeoDataFrame) -> None:
        self._engine, self._counties = engine, counties
        self._cells: GridCells | None = None
        self._version: tuple[int, object] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _store_version(self) -> tuple[int, object]:
        with Session(self._engine) as s:
            return grid_queries.grid_cells_version(s)

    def get(self) -> GridCells:
        """The cells, loaded on the first call and reloaded when the store's cells changed."""
        with self._lock:
            now = time.monotonic()
            if self._cells is not None and now - self._checked < self.RECHECK_S:
                return self._cells
            self._checked = now
            version = self._store_version()
            if self._cells is None or version != self._version:
                self._cells = load_grid_cells(self._engine, self._counties)
                self._version = version
            return self._cells

    def reset(self) -> None:
        """Forget the cells, so the next use reloads them."""
        with self._lock:
            self._cells = None
