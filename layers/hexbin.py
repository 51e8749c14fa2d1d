"""Hexagon aggregation: points counted per H3 cell, cells coloured by class, one trace per colour."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import h3
import numpy as np
import plotly.graph_objects as go
import shapely

from layers.classify import classify, number_formatter
from layers.regions import CELL_LINE, rings_xy
from layers.figure import scatter
from words import Words

LAYER = "hexbin"
WORDS = Words("layers.hexbin")
MARKER = {"size": 7, "color": "rgba(255,255,255,0.06)", "line": {"width": 0}}
FILL_OPACITY = 0.8  # lets the counties and grid cells beneath show through the hexagons


def _points(lons: Sequence[float], lats: Sequence[float],
            weights: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points as float arrays, with weights (1 each by default); points without a position dropped."""
    x = np.asarray(lons, dtype=float)
    y = np.asarray(lats, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"lons and lats differ in length: {len(x)} and {len(y)}")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != x.shape:
        raise ValueError(f"weights and points differ in length: {len(w)} and {len(x)}")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok], w[ok]


def hex_aggregate(lons: Sequence[float], lats: Sequence[float], resolution: int = 7,
                  weights: Sequence[float] | None = None) -> dict[str, int | float]:
    """Points counted (or their weights summed) per H3 cell of a resolution; cells without points left out."""
    x, y, w = _points(lons, lats, weights)
    cells = [h3.latlng_to_cell(lat, lon, resolution) for lon, lat in zip(x.tolist(), y.tolist(), strict=True)]
    if weights is None:
        return dict(Counter(cells))
    totals: dict[str, float] = {}
    for cell, weight in zip(cells, w.tolist(), strict=True):
        totals[cell] = totals.get(cell, 0.0) + weight
    return totals


def hex_polygon(cell: str) -> shapely.Polygon:
    """The hexagon (or pentagon) of an H3 cell in lon/lat."""
    return shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def hex_layer(lons: Sequence[float], lats: Sequence[float], resolution: int = 7, lang: str = "zh",
              clip: shapely.Geometry | None = None, *, weights: Sequence[float] | None = None,
              unit: str | None = None) -> list[go.Scatter]:
    """Hexagons holding points, coloured by natural-breaks classes of their counts.

    One filled trace per class colour, then one marker trace at the cell centres whose hover reads
    "N 件" / "N events" and whose customdata is the H3 cell. With `clip` (a lon/lat polygon) only points
    inside it count and the hexagons are cut to it, so the layer stops at the county or city edge.
    """
    x, y, w = _points(lons, lats, weights)
    if clip is not None and len(x):
        inside = shapely.contains_xy(clip, x, y)
        x, y, w = x[inside], y[inside], w[inside]
    totals = hex_aggregate(x, y, resolution, None if weights is None else w)
    if not totals:
        return []
    cells = sorted(totals)
    classes = classify(totals, "natural_breaks", 5, lang=lang)
    polys = [hex_polygon(c) for c in cells]
    if clip is not None:
        polys = list(shapely.intersection(np.asarray(polys, dtype=object), clip))
    traces: list[go.Scatter] = []
    colour_of = [classes.colour_of(totals[c]) for c in cells]
    for colour, label in classes.legend:
        mine = [p for p, c in zip(polys, colour_of, strict=True) if c == colour]
        if not mine:
            continue
        xs, ys = rings_xy(mine)
        traces.append(scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour, opacity=FILL_OPACITY, line=CELL_LINE,
            hoverinfo="skip", showlegend=False, name=label, meta={"layer": LAYER, "colour": colour},
        ))
    unit_text = unit if unit is not None else WORDS("unit", lang)
    fmt = number_formatter(list(totals.values()), lang)
    centres = [shapely.Point(h3.cell_to_latlng(c)[::-1]) for c in cells]
    if clip is not None:
        # A clipped cell's centre may fall outside the clip: hover on a point of what is drawn instead.
        centres = [c if p.contains(c) or p.is_empty else p.representative_point()
                   for c, p in zip(centres, polys, strict=True)]
    traces.append(scatter(
        x=[round(p.x, 5) for p in centres], y=[round(p.y, 5) for p in centres], mode="markers", marker=MARKER,
        hovertext=[f"{fmt(totals[c])} {unit_text}" for c in cells], hoverinfo="text", customdata=cells,
        showlegend=False, name=WORDS("name", lang),
        meta={"layer": LAYER, "part": "cells", "resolution": resolution},
    ))
    return traces
