"""Grid-cell choropleth: hundreds to thousands of cells as one filled trace per colour plus one hover trace."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import plotly.graph_objects as go
import shapely

from layers.choropleth import NO_DATA, Shading
from layers.figure import scatter
from words import Words

WORDS = Words("layers.regions")

LAYER = "grid_choropleth"
CELL_LINE = {"color": "rgba(11,18,32,0.55)", "width": 0.6}
# Hover/click targets: small and nearly transparent so the fills carry the colour, yet plotly still
# reports a hover or click on them (a fully transparent marker would too, but shows no halo on hover).
CELL_MARKER = {"size": 6, "color": "rgba(255,255,255,0.06)", "line": {"width": 0}}


def rings_xy(geoms: Sequence[shapely.Geometry], precision: int = 5) -> tuple[list[float | None], list[float | None]]:
    """Exterior rings of many (multi)polygons as one x/y path, rings separated by None.

    Holes are left out (as polygon_xy does): a fill with toself would otherwise paint them. Coordinates
    are rounded to `precision` decimals (5 ≈ 1 m), which is what keeps the JSON small.
    """
    parts = shapely.get_parts(np.asarray([g for g in geoms if g is not None and not g.is_empty], dtype=object))
    polys = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON] if len(parts) else parts
    if not len(polys):
        return [], []
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
    coords = np.round(coords, precision)
    # One None after each ring: insert a NaN row where the ring index changes, then turn NaN into None.
    ends = np.append(np.flatnonzero(np.diff(ring)) + 1, len(coords))
    xy = np.insert(coords, ends, np.nan, axis=0)
    xs, ys = xy[:, 0].tolist(), xy[:, 1].tolist()
    # The gaps are where they were inserted (each shifted by the ones before): set those, not test every point.
    for i in (ends + np.arange(len(ends))).tolist():
        xs[i] = ys[i] = None
    return xs, ys


def cell_points(cells: gpd.GeoDataFrame) -> tuple[list[float], list[float]]:
    """Each cell's label point: its lon/lat columns where given, else a point inside its polygon (computed only for
    the cells without one: a county's 1,000 cells took 3.7 ms, and the loaded cells all have one)."""
    n = len(cells)
    if "lon" in cells.columns and "lat" in cells.columns:
        lons = cells["lon"].to_numpy(dtype=float, na_value=np.nan)
        lats = cells["lat"].to_numpy(dtype=float, na_value=np.nan)
    else:
        lons, lats = np.full(n, np.nan), np.full(n, np.nan)
    missing = np.isnan(lons) | np.isnan(lats)
    if missing.any():
        inside = shapely.point_on_surface(np.asarray(cells.geometry.array, dtype=object)[missing])
        lons, lats = lons.copy(), lats.copy()
        lons[missing], lats[missing] = shapely.get_x(inside), shapely.get_y(inside)
    return np.round(lons, 5).tolist(), np.round(lats, 5).tolist()


def region_choropleth(cells: gpd.GeoDataFrame, shading: Shading, lang: str = "zh", labels: bool = False,
                      *, precision: int = 5) -> list[go.Scatter]:
    """Grid cells filled by shading: one filled trace per colour, then one marker trace to hover and click.

    The marker trace sits at each cell's label point with customdata = grid_id and the shading's hover
    text; with labels=True it also writes the shading's labels. All traces carry meta layer
    "grid_choropleth"; so the trace count is the number of distinct colours plus one.
    """
    if cells.empty:
        return []
    ids = [str(g) for g in cells["grid_id"]]
    names = [str(n) for n in cells["name"]] if "name" in cells.columns else ids
    colour_of = [shading.colours.get(g, NO_DATA) for g in ids]
    # Legend order first (light to dark), so darker cells are drawn over lighter neighbours' edges.
    order = [c for c, _ in shading.legend]
    colours = sorted(set(colour_of), key=lambda c: (order.index(c) if c in order else len(order), c))
    legend_label = dict(shading.legend)
    geoms = np.asarray(cells.geometry.array, dtype=object)
    of_colour = np.asarray(colour_of, dtype=object)
    traces: list[go.Scatter] = []
    for colour in colours:
        xs, ys = rings_xy(list(geoms[of_colour == colour]), precision)
        traces.append(scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour, line=CELL_LINE,
            hoverinfo="skip", showlegend=False, name=legend_label.get(colour, colour),
            meta={"layer": LAYER, "colour": colour},
        ))
    lons, lats = cell_points(cells)
    hover = [shading.hover.get(g, n) for g, n in zip(ids, names, strict=True)]
    traces.append(scatter(
        x=lons, y=lats, mode="markers+text" if labels else "markers", marker=CELL_MARKER,
        text=[shading.labels.get(g, n) for g, n in zip(ids, names, strict=True)] if labels else None,
        textfont={"color": shading.label_colours(ids), "size": 11} if labels else None,
        hovertext=hover, hoverinfo="text", customdata=ids, showlegend=False,
        name=WORDS("name", lang), meta={"layer": LAYER, "part": "cells"},
    ))
    return traces
