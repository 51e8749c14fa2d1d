"""The map canvas: lon/lat axes with the right aspect, dark, no chrome, no tiles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

# plotly validates every element of every list a trace is given: on a county drill (≈3,000 points and the
# grid cells) that was 60 % of the server time (`make bench`, drill). Traces are built by our own code from
# our own data, so validation is a development aid: the tests switch it on (tests/conftest.py), and a test
# checks that every built-in layer serialises the same with and without it.
_validate = False


def validate_traces(on: bool) -> None:
    """Validate traces as they are built (on in tests; off when serving)."""
    global _validate
    _validate = on


def scatter(**props: object) -> go.Scatter:
    """A scatter trace, validated only when validation is on."""
    return go.Scatter(_validate=_validate, **props)


def scattergl(**props: object) -> go.Scattergl:
    """A WebGL scatter trace (drawn on a canvas above the SVG ones), validated only when validation is on."""
    return go.Scattergl(_validate=_validate, **props)


def histogram2dcontour(**props: object) -> go.Histogram2dContour:
    """A 2-D histogram contour trace, validated only when validation is on."""
    return go.Histogram2dContour(_validate=_validate, **props)


def map_layout(bounds: tuple[float, float, float, float], legend: bool = False, pad: float = 0.03) -> dict:
    """Lon/lat axes whose y is scaled by 1/cos(latitude), so shapes keep their true proportions; no chrome."""
    minx, miny, maxx, maxy = bounds
    dx, dy = (maxx - minx) * pad, (maxy - miny) * pad
    mid_lat = (miny + maxy) / 2
    axis = {"visible": False, "showgrid": False, "zeroline": False, "fixedrange": True}
    return {
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {**axis, "range": [minx - dx, maxx + dx]},
        "yaxis": {**axis, "range": [miny - dy, maxy + dy], "scaleanchor": "x",
                  "scaleratio": 1 / math.cos(math.radians(mid_lat))},
        "showlegend": legend, "dragmode": False, "hovermode": "closest", "uirevision": "map",
        "legend": {"font": {"color": "#d8e1ee"}, "bgcolor": "rgba(11,18,32,0.6)", "x": 0.01, "y": 0.99},
        "font": {"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
    }


def map_figure(traces: Sequence[go.Scatter | go.Scattergl], bounds: tuple[float, float, float, float],
               legend: bool = False, pad: float = 0.03) -> go.Figure:
    """The map as a plotly Figure."""
    return go.Figure(data=list(traces), layout=map_layout(bounds, legend, pad), _validate=_validate)


def map_figure_dict(traces: Sequence[go.Scatter | go.Scattergl], bounds: tuple[float, float, float, float],
                    legend: bool = False, pad: float = 0.03) -> dict:
    """The map as the plain dict dcc.Graph takes, without copying the traces.

    A Figure deep-copies every trace (and again when Dash serialises it): for a county's ≈5,000 points that
    was a third of a drill's server time (`make bench`, drill). The traces' own property dicts are used as
    they are; a test checks the result equals the Figure's.
    """
    return {"data": [{"type": t.plotly_name, **t._props} for t in traces],  # noqa: SLF001 — see above
            "layout": map_layout(bounds, legend, pad)}
