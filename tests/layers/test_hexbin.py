"""Hexagon aggregation: H3 counts that add up, classed colours, hover counts, clipping to a boundary."""

from __future__ import annotations

import re

import h3
import numpy as np
import pytest
import shapely

from geo import load_outline, sample_points
from layers.hexbin import hex_aggregate, hex_layer, hex_polygon

GUANGZHOU = (113.26, 23.13)  # outside Zhaoqing


def points_in(geom: shapely.Geometry, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return sample_points(geom, n, np.random.default_rng(seed))


def hover_counts(trace: object) -> list[int]:
    return [int(re.match(r"(\d+) ", t).group(1)) for t in trace.hovertext]  # type: ignore[attr-defined, union-attr]


def test_points_inside_one_hexagon_are_counted_in_that_cell() -> None:
    cell = h3.latlng_to_cell(23.05, 112.47, 7)
    inner = hex_polygon(cell).buffer(-0.002)  # keep clear of the edge, where rounding could tip a point over
    lons, lats = points_in(inner, 250)
    assert hex_aggregate(lons, lats, 7) == {cell: 250}
    # Its seven children at resolution 8 share the same points.
    fine = hex_aggregate(lons, lats, 8)
    assert sum(fine.values()) == 250 and set(fine) <= set(h3.cell_to_children(cell, 8))


def test_counts_add_up_to_the_points_and_weights_are_summed() -> None:
    lons, lats = points_in(load_outline("441202", "coarse"), 1000)
    counts = hex_aggregate(lons, lats, 7)
    assert sum(counts.values()) == 1000 and all(isinstance(v, int) for v in counts.values())
    assert {h3.get_resolution(c) for c in counts} == {7}
    weighted = hex_aggregate(lons, lats, 7, weights=np.full(1000, 2.5))
    assert weighted == {c: pytest.approx(2.5 * n) for c, n in counts.items()}
    # Points without a position are left out rather than failing.
    assert sum(hex_aggregate([112.47, float("nan")], [23.05, 23.05]).values()) == 1


def test_the_layer_counts_only_points_inside_the_clip_and_stays_inside_it() -> None:
    county = load_outline("441202", "medium")
    lons, lats = points_in(county, 600, seed=2)
    lons = np.append(lons, [GUANGZHOU[0]] * 40)
    lats = np.append(lats, [GUANGZHOU[1]] * 40)
    traces = hex_layer(lons, lats, 7, clip=county)
    markers = traces[-1]
    assert sum(hover_counts(markers)) == 600
    assert set(markers.customdata) == set(hex_aggregate(lons[:600], lats[:600], 7))
    # Every drawn vertex lies on or inside the county.
    edge = county.buffer(1e-4)
    for t in traces[:-1]:
        xy = [(x, y) for x, y in zip(t.x, t.y, strict=True) if x is not None]
        assert shapely.contains_xy(edge, *np.array(xy).T).all()
    # Without the clip the Guangzhou points form a cell of 40 of their own.
    unclipped = hex_layer(lons, lats, 7)[-1]
    assert sum(hover_counts(unclipped)) == 640 and 40 in hover_counts(unclipped)


def test_one_trace_per_class_colour_plus_a_marker_trace() -> None:
    lons, lats = points_in(load_outline("441200", "coarse"), 3000, seed=5)
    traces = hex_layer(lons, lats, 6)
    fills, markers = traces[:-1], traces[-1]
    assert len({t.fillcolor for t in fills}) == len(fills) == len(traces) - 1
    assert all(t.meta["layer"] == "hexbin" for t in traces)
    # A fill's number of rings is the number of cells in its class.
    assert sum(sum(v is None for v in t.x) for t in fills) == len(markers.customdata)
    # Darker classes hold larger counts: the count of the hexagon under each marker rises with its class.
    by_colour = {t.fillcolor: i for i, t in enumerate(fills)}
    counts = dict(zip(markers.customdata, hover_counts(markers), strict=True))
    ring_counts: dict[int, list[int]] = {}
    for t in fills:
        xs = [x for x in t.x]
        starts = [0] + [i + 1 for i, v in enumerate(xs) if v is None][:-1]
        for s in starts:
            cell = h3.latlng_to_cell(np.mean([y for y in t.y[s:s + 6]]), np.mean(xs[s:s + 6]), 6)
            ring_counts.setdefault(by_colour[t.fillcolor], []).append(counts[cell])
    ordered = [ring_counts[i] for i in sorted(ring_counts)]
    assert all(max(a) < min(b) for a, b in zip(ordered, ordered[1:]))


def test_hover_reads_n_events_in_both_languages() -> None:
    cell = h3.latlng_to_cell(23.05, 112.47, 7)
    lons, lats = points_in(hex_polygon(cell).buffer(-0.002), 3)
    assert hex_layer(lons, lats)[-1].hovertext == ("3 件",)
    assert hex_layer(lons, lats, lang="en")[-1].hovertext == ("3 events",)


def test_no_points_no_traces() -> None:
    assert hex_layer([], []) == []
    assert hex_layer([GUANGZHOU[0]], [GUANGZHOU[1]], clip=load_outline("441202", "coarse")) == []
    with pytest.raises(ValueError, match="length"):
        hex_layer([1.0, 2.0], [1.0])
