"""Grid-cell choropleth: one fill trace per colour plus one hover trace, exteriors only, JSON kept small."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import plotly.io as pio
import pytest
import shapely

from geo import load_outline
from layers.choropleth import NO_DATA, Shading
from layers.classify import shading_for_metric
from layers.regions import region_choropleth, rings_xy

# Budget for 400 cells, measured on realistic cells: H3 resolution-7 hexagons (≈5 km²) clipped to 德庆's
# boundary came to ≈235 B a cell (≈94 KB for 400) and 400 plain squares to ≈170 B. One trace per colour
# means a change of value moves cells between traces, so the whole layer is sent again on such a tick;
# 120 KB (300 B a cell) keeps that near twice the whole city's county map (≈57 KB, sent once) on a LAN,
# and fails if coordinates stop being rounded (≈+45 %) or holes or per-cell traces creep back in.
BUDGET_400_CELLS = 120_000


def square_cells(n: int = 20) -> gpd.GeoDataFrame:
    """n × n square cells over 端州's bounding box."""
    minx, miny, maxx, maxy = load_outline("441202", "coarse").bounds
    xs, ys = np.linspace(minx, maxx, n + 1), np.linspace(miny, maxy, n + 1)
    geoms = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(n) for i in range(n)]
    return gpd.GeoDataFrame({"grid_id": [f"G{i:04d}" for i in range(len(geoms))],
                             "name": [f"网格{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4326")


def hex_cells(adcode: str = "441226", resolution: int = 7, limit: int = 400) -> gpd.GeoDataFrame:
    """H3 cells over a county, clipped to its boundary (irregular at the edge, like imported 网格)."""
    outline = load_outline(adcode, "medium")
    cells = sorted(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(outline.__geo_interface__), resolution,
                                                    contain="overlap"))
    polys = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]).intersection(outline)
             for c in cells]
    kept = [(c, p) for c, p in zip(cells, polys, strict=True) if not p.is_empty][:limit]
    return gpd.GeoDataFrame({"grid_id": [c for c, _ in kept], "name": [f"网格{i}" for i in range(len(kept))]},
                            geometry=[p for _, p in kept], crs="EPSG:4326")


def shading_of(cells: gpd.GeoDataFrame, seed: int = 0) -> Shading:
    ids = list(cells["grid_id"])
    counts = np.random.default_rng(seed).poisson(3, len(ids))
    return shading_for_metric({g: float(v) for g, v in zip(ids, counts, strict=True)},
                              dict(zip(ids, cells["name"], strict=True)), "件", ids)


def rings(trace: object) -> int:
    """Number of rings in a None-separated path."""
    return sum(v is None for v in trace.x)  # type: ignore[attr-defined]


def json_bytes(traces: list) -> int:
    return len(pio.to_json({"data": [t.to_plotly_json() for t in traces]}).encode("utf-8"))


def test_one_fill_trace_per_colour_plus_one_marker_trace() -> None:
    cells = square_cells()
    shading = shading_of(cells)
    traces = region_choropleth(cells, shading)
    colours = set(shading.colours.values())
    assert len(traces) == len(colours) + 1
    fills, markers = traces[:-1], traces[-1]
    assert {t.fillcolor for t in fills} == colours
    # Each fill holds exactly the cells of its colour, one ring each.
    for t in fills:
        assert rings(t) == sum(c == t.fillcolor for c in shading.colours.values())
        assert t.hoverinfo == "skip" and t.fill == "toself"
    assert sum(rings(t) for t in fills) == 400
    assert list(markers.customdata) == list(cells["grid_id"])
    assert list(markers.hovertext) == [shading.hover[g] for g in cells["grid_id"]]
    assert markers.mode == "markers" and markers.marker.size <= 8
    assert all(t.meta["layer"] == "grid_choropleth" for t in traces)


def test_fills_are_drawn_light_to_dark_in_legend_order() -> None:
    cells = square_cells()
    shading = shading_of(cells)
    order = [c for c, _ in shading.legend]
    drawn = [t.fillcolor for t in region_choropleth(cells, shading)[:-1]]
    assert drawn == sorted(drawn, key=order.index)


def test_the_marker_of_a_cell_sits_inside_it_unless_lon_lat_are_given() -> None:
    cells = square_cells(4)
    markers = region_choropleth(cells, shading_of(cells))[-1]
    for x, y, geom in zip(markers.x, markers.y, cells.geometry, strict=True):
        assert geom.contains(shapely.Point(x, y))
    cells["lon"], cells["lat"] = 112.5, 23.1
    cells.loc[0, "lon"] = None  # a missing label point falls back to a point inside
    markers = region_choropleth(cells, shading_of(cells))[-1]
    assert markers.x[1:] == (112.5,) * 15 and cells.geometry[0].contains(shapely.Point(markers.x[0], markers.y[0]))


def test_holes_are_left_out_and_every_part_of_a_multipolygon_is_drawn() -> None:
    ring = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (2, 1), (2, 2), (1, 2)]])
    two = shapely.MultiPolygon([shapely.box(10, 0, 11, 1), shapely.box(12, 0, 13, 1)])
    xs, ys = rings_xy([ring, two])
    assert xs.count(None) == 3 and (1, 1) not in set(zip(xs, ys, strict=True))
    cells = gpd.GeoDataFrame({"grid_id": ["a", "b"], "name": ["甲", "乙"]}, geometry=[ring, two])
    shading = Shading(colours={"a": "#ffffb2", "b": "#ffffb2"}, labels={}, hover={}, legend=[])
    fills = region_choropleth(cells, shading)[:-1]
    assert len(fills) == 1 and rings(fills[0]) == 3


def test_cells_without_a_colour_are_no_data_and_labels_can_be_shown() -> None:
    cells = square_cells(3)
    shading = Shading(colours={"G0000": "#bd0026"}, labels={"G0000": "网格0<br><b>9</b>"}, hover={}, legend=[])
    traces = region_choropleth(cells, shading, labels=True)
    assert {t.fillcolor for t in traces[:-1]} == {"#bd0026", NO_DATA}
    assert traces[-1].mode == "markers+text" and traces[-1].text[0] == "网格0<br><b>9</b>"
    assert traces[-1].hovertext[1] == "网格1"  # no hover text given: the cell's name
    assert region_choropleth(cells.iloc[0:0], shading) == []


@pytest.mark.parametrize("cells", [square_cells(), hex_cells()], ids=["squares", "h3-clipped"])
def test_400_cells_fit_the_json_budget(cells: gpd.GeoDataFrame) -> None:
    assert len(cells) == 400
    size = json_bytes(region_choropleth(cells, shading_of(cells)))
    assert size < BUDGET_400_CELLS, f"{size} B for 400 cells"


def test_rounding_keeps_the_json_small() -> None:
    cells = hex_cells()  # H3 boundaries come with full float precision
    shading = shading_of(cells)
    rounded, full = (json_bytes(region_choropleth(cells, shading, precision=p)) for p in (5, 15))
    assert full > BUDGET_400_CELLS > rounded and full > rounded * 1.3
