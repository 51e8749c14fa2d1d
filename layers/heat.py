"""Heat layer: point density as smoothed filled contours on the lon/lat axes (no tiles, no WebGL)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from layers.figure import histogram2dcontour
from words import Words

WORDS = Words("layers.heat")

LAYER = "heat"
BINS = 40  # bins along the longer side of the bounds: ≈4 km a bin over the city, ≈0.5 km over 端州
# Transparent at zero so the map shows through, then ColorBrewer YlOrRd with rising opacity: a heat
# map of the same family as the choropleth classes, so the two never disagree on what "hot" looks like.
COLORSCALE = (
    (0.0, "rgba(0,0,0,0)"),
    (0.1, "rgba(255,237,160,0.25)"),
    (0.25, "rgba(254,217,118,0.45)"),
    (0.45, "rgba(254,178,76,0.6)"),
    (0.65, "rgba(253,141,60,0.7)"),
    (0.85, "rgba(240,59,32,0.8)"),
    (1.0, "rgba(189,0,38,0.9)"),
)


def heat_bins(bounds: tuple[float, float, float, float], bins: int = BINS) -> tuple[dict, dict]:
    """x and y bin specs over the bounds with square bins on the ground (y steps shrunk by cos latitude)."""
    minx, miny, maxx, maxy = bounds
    if not (maxx > minx and maxy > miny):
        raise ValueError(f"bounds must have positive width and height: {bounds}")
    coslat = math.cos(math.radians((miny + maxy) / 2))
    # A degree of longitude is cos(lat) times a degree of latitude on the ground.
    size = max((maxx - minx) * coslat, maxy - miny) / bins
    xsize, ysize = size / coslat, size
    return ({"start": minx, "end": maxx + xsize, "size": xsize},
            {"start": miny, "end": maxy + ysize, "size": ysize})


def heat_layer(lons: Sequence[float], lats: Sequence[float], bounds: tuple[float, float, float, float],
               lang: str = "zh", *, bins: int = BINS) -> list[go.Histogram2dContour]:
    """Density of points within bounds as smoothed contours, transparent where there are none; [] for no points."""
    x = np.asarray(lons, dtype=float)
    y = np.asarray(lats, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x):
        return []
    xbins, ybins = heat_bins(bounds, bins)
    return [histogram2dcontour(
        x=np.round(x, 5).tolist(), y=np.round(y, 5).tolist(), xbins=xbins, ybins=ybins,
        histfunc="count",
        colorscale=[list(stop) for stop in COLORSCALE], showscale=False, hoverinfo="skip",
        ncontours=12, contours={"coloring": "fill", "showlines": False},
        line={"width": 0, "smoothing": 1.3},
        name=WORDS("name", lang), showlegend=False, meta={"layer": LAYER},
    )]
