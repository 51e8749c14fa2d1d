"""Heat layer: density contours on the lon/lat axes, transparent at zero, square bins from the bounds."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from geo import bounds, load_outline, sample_points
from layers.heat import BINS, heat_bins, heat_layer

CITY = bounds("441200")
DUANZHOU = bounds("441202")


def test_no_points_no_layer() -> None:
    assert heat_layer([], [], CITY) == []
    assert heat_layer([float("nan")], [23.0], CITY) == []


def test_one_contour_trace_transparent_at_zero_without_colorbar_or_hover() -> None:
    lons, lats = sample_points(load_outline("441202", "coarse"), 300, np.random.default_rng(1))
    traces = heat_layer(lons, lats, DUANZHOU, lang="en")
    assert len(traces) == 1
    t = traces[0]
    assert isinstance(t, go.Histogram2dContour)
    assert t.meta == {"layer": "heat"} and t.name == "Heat"
    first = t.colorscale[0]
    assert first[0] == 0 and first[1].replace(" ", "") == "rgba(0,0,0,0)"
    alphas = [float(c.rsplit(",", 1)[1].rstrip(")")) for _, c in t.colorscale]
    assert alphas == sorted(alphas)  # denser is never more transparent
    assert t.showscale is False and t.hoverinfo == "skip"
    assert len(t.x) == 300
    go.Figure(traces).to_json()  # plotly accepts it as a whole figure


@pytest.mark.parametrize("b", [CITY, DUANZHOU], ids=["city", "duanzhou"])
def test_bins_cover_the_bounds_and_are_square_on_the_ground(b: tuple[float, float, float, float]) -> None:
    xbins, ybins = heat_bins(b)
    minx, miny, maxx, maxy = b
    coslat = math.cos(math.radians((miny + maxy) / 2))
    assert xbins["size"] * coslat == pytest.approx(ybins["size"])
    assert xbins["start"] == minx and xbins["end"] >= maxx and ybins["start"] == miny and ybins["end"] >= maxy
    along_x = (maxx - minx) / xbins["size"]
    along_y = (maxy - miny) / ybins["size"]
    assert max(along_x, along_y) == pytest.approx(BINS)
    assert min(along_x, along_y) <= BINS


def test_the_hottest_bin_is_where_the_points_cluster() -> None:
    rng = np.random.default_rng(4)
    spread_lon, spread_lat = sample_points(load_outline("441200", "coarse"), 400, rng)
    lons = np.concatenate([spread_lon, rng.normal(112.47, 0.01, 400)])
    lats = np.concatenate([spread_lat, rng.normal(23.05, 0.01, 400)])
    t = heat_layer(lons, lats, CITY)[0]
    xb, yb = t.xbins, t.ybins
    xedges = np.arange(xb.start, xb.end + xb.size / 2, xb.size)
    yedges = np.arange(yb.start, yb.end + yb.size / 2, yb.size)
    counts, _, _ = np.histogram2d(np.asarray(t.x), np.asarray(t.y), bins=[xedges, yedges])
    i, j = np.unravel_index(counts.argmax(), counts.shape)
    assert xedges[i] - xb.size <= 112.47 <= xedges[i + 1] + xb.size
    assert yedges[j] - yb.size <= 23.05 <= yedges[j + 1] + yb.size


def test_bounds_must_have_an_area() -> None:
    with pytest.raises(ValueError, match="bounds"):
        heat_layer([112.4], [23.0], (112.0, 23.0, 112.0, 23.5))
