"""County choropleth drawn as filled SVG paths: no tile server, no WebGL, works air-gapped."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import plotly.graph_objects as go
import shapely
from shapely.ops import polylabel
from layers.figure import scatter

# ColorBrewer YlOrRd, 5 classes: a sequential scheme readable on a dark wall. No standard bands
# exist for case counts, so classes are equal intervals from 0 to the current maximum.
SEQUENTIAL = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA = "#3a4556"


def polygon_xy(geom: shapely.Geometry) -> tuple[list[float | None], list[float | None]]:
    """Exterior rings of a (multi)polygon as one x/y path, rings separated by None."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for poly in getattr(geom, "geoms", [geom]):
        x, y = poly.exterior.coords.xy
        xs.extend(np.round(x, 5).tolist() + [None])
        ys.extend(np.round(y, 5).tolist() + [None])
    return xs, ys


def class_breaks(values: Sequence[float], classes: int = len(SEQUENTIAL)) -> list[float]:
    """Upper bounds of equal-interval classes from 0 to the maximum (at least 1 per class)."""
    top = max([*values, classes])
    return [top * (i + 1) / classes for i in range(classes)]


def colour_for(value: float | None, breaks: Sequence[float], palette: Sequence[str] = SEQUENTIAL) -> str:
    """The palette colour of the class a value falls in."""
    if value is None:
        return NO_DATA
    for colour, upper in zip(palette, breaks, strict=True):
        if value <= upper:
            return colour
    return palette[-1]


@functools.lru_cache(maxsize=1024)  # geometries hash by value; a city map's 8 labels took 8 ms a redraw
def label_point(geom: shapely.Geometry) -> shapely.Point:
    """Where a label reads best: the pole of inaccessibility of the largest part (inside even for odd shapes)."""
    part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
    return polylabel(part, tolerance=0.005)


def text_colour(fill: str) -> str:
    """Dark text on light fills, white on dark ones (WCAG relative luminance)."""
    if not fill.startswith("#") or len(fill) != 7:
        return "#ffffff"
    r, g, b = (int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#0b1220" if lum > 0.45 else "#ffffff"


@dataclass(frozen=True)
class Shading:
    """How each area (county or grid cell) is drawn: fill, label and hover text, and the legend explaining them."""

    colours: dict[str, str]
    labels: dict[str, str]
    hover: dict[str, str]
    legend: list[tuple[str, str]]
    title: str = ""  # the legend's heading: the standard or the classification the colours come from

    def label_colours(self, adcodes: Sequence[str]) -> list[str]:
        """Text colour of each label, readable on its fill."""
        return [text_colour(self.colours.get(a, NO_DATA)) for a in adcodes]


def classed(values: Mapping[str, float], names: Mapping[str, str], unit: str = "",
            adcodes: Sequence[str] = ()) -> Shading:
    """Shading of counts by equal-interval classes (no standard bands exist for them)."""
    breaks = class_breaks(list(values.values()))
    codes = list(adcodes) or list(values)
    return Shading(
        colours={a: colour_for(values.get(a, 0), breaks) for a in codes},
        labels={a: f"{names.get(a, a)}<br><b>{int(values.get(a, 0))}</b>" for a in codes},
        hover={a: f"{names.get(a, a)}: {int(values.get(a, 0))} {unit}".strip() for a in codes},
        legend=legend_items(list(values.values())),
    )


def plain(names: Mapping[str, str], adcodes: Sequence[str]) -> Shading:
    """Counties drawn alike, for context (no measure)."""
    return Shading(colours={a: NO_DATA for a in adcodes}, labels={a: names.get(a, a) for a in adcodes},
                   hover={a: names.get(a, a) for a in adcodes}, legend=[])


def county_choropleth(counties: gpd.GeoDataFrame, shading: Shading, names: Mapping[str, str],
                      labels: bool = True) -> list[go.Scatter]:
    """One filled trace per county (so each is clickable) plus a label trace; customdata holds the adcode.

    Fills carry ``meta={"layer": "county_choropleth", "adcode": …}``; the label trace carries
    ``meta={"layer": "county-labels", "part_of": "county_choropleth"}`` and belongs with the fills.
    """
    traces: list[go.Scatter] = []
    for adcode, geom in zip(counties["adcode"], counties.geometry, strict=True):
        xs, ys = polygon_xy(geom)
        traces.append(scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=shading.colours.get(adcode, NO_DATA),
            line={"color": "#9fb3c8", "width": 1.2}, hoveron="fills", name=names.get(adcode, adcode),
            text=shading.hover.get(adcode, names.get(adcode, adcode)), hoverinfo="text",
            customdata=[adcode] * len(xs), meta={"layer": "county_choropleth", "adcode": adcode}, showlegend=False,
        ))
    if labels:
        adcodes = list(counties["adcode"])
        points = [label_point(geom) for geom in counties.geometry]
        traces.append(scatter(
            x=[p.x for p in points], y=[p.y for p in points], mode="markers+text",
            marker={"size": 26, "color": "rgba(0,0,0,0)"},
            text=[shading.labels.get(a, names.get(a, a)) for a in adcodes],
            textfont={"color": shading.label_colours(adcodes), "size": 14},
            customdata=adcodes, hoverinfo="skip", showlegend=False,
            # Its own layer name (pages and tests find the labels by it), but it shows and hides with the fills.
            meta={"layer": "county-labels", "part_of": "county_choropleth"},
        ))
    return traces


def legend_items(values: Sequence[float], palette: Sequence[str] = SEQUENTIAL) -> list[tuple[str, str]]:
    """(colour, range label) of each class, for an HTML legend beside the map."""
    breaks = class_breaks(values, len(palette))
    out, lower = [], 0.0
    for colour, upper in zip(palette, breaks, strict=True):
        out.append((colour, f"{lower:.0f}–{upper:.0f}"))
        lower = upper
    return out
