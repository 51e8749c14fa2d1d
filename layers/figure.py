"""The map canvas: lon/lat axes with the right aspect, dark, no chrome, no tiles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go


def map_figure(traces: Sequence[go.Scatter], bounds: tuple[float, float, float, float],
               legend: bool = False, pad: float = 0.03) -> go.Figure:
    """A figure whose y axis is scaled by 1/cos(latitude) so shapes keep their true proportions."""
    minx, miny, maxx, maxy = bounds
    dx, dy = (maxx - minx) * pad, (maxy - miny) * pad
    mid_lat = (miny + maxy) / 2
    fig = go.Figure(data=list(traces))
    axis = {"visible": False, "showgrid": False, "zeroline": False, "fixedrange": True}
    fig.update_layout(
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        xaxis={**axis, "range": [minx - dx, maxx + dx]},
        yaxis={**axis, "range": [miny - dy, maxy + dy], "scaleanchor": "x",
               "scaleratio": 1 / math.cos(math.radians(mid_lat))},
        showlegend=legend, dragmode=False, hovermode="closest", uirevision="map",
        legend={"font": {"color": "#d8e1ee"}, "bgcolor": "rgba(11,18,32,0.6)", "x": 0.01, "y": 0.99},
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
    )
    return fig
