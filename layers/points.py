"""Point layers: devices coloured by kind and state, grid events by workflow step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

KIND_STYLE = {
    "video_point": ("#4fc3f7", "circle", "河长视频点位", "Video points"),
    "road_weather": ("#b39ddb", "diamond", "交通气象站", "Road-weather stations"),
    "fire_risk": ("#ffb74d", "triangle-up", "森林火险站", "Fire-risk stations"),
}


@dataclass(frozen=True)
class PointRow:
    """One thing to draw at a place."""

    id: str
    kind: str
    lon: float
    lat: float
    label: str
    ok: bool = True


def device_points(rows: Sequence[PointRow], lang: str = "zh") -> list[go.Scatter]:
    """One trace per device kind; offline devices drawn hollow."""
    traces = []
    for kind, (colour, symbol, zh, en) in KIND_STYLE.items():
        sel = [r for r in rows if r.kind == kind]
        if not sel:
            continue
        traces.append(go.Scatter(
            x=[r.lon for r in sel], y=[r.lat for r in sel], mode="markers", name=zh if lang == "zh" else en,
            marker={"size": 13, "color": [colour if r.ok else "rgba(0,0,0,0)" for r in sel], "symbol": symbol,
                    "line": {"color": colour, "width": 2}},
            text=[r.label for r in sel], customdata=[r.id for r in sel], hoverinfo="text",
            meta={"layer": "devices", "kind": kind},
        ))
    return traces


STEP_COLOURS = ("#ef5350", "#ff7043", "#ffa726", "#ffca28", "#9ccc65", "#66bb6a", "#26a69a")


def event_points(rows: Sequence[PointRow], steps: Sequence[int], lang: str = "zh") -> list[go.Scatter]:
    """Open grid events, coloured by how far along the workflow they are."""
    if not rows:
        return []
    return [go.Scatter(
        x=[r.lon for r in rows], y=[r.lat for r in rows], mode="markers",
        name="网格事件" if lang == "zh" else "Grid events",
        marker={"size": 8, "color": [STEP_COLOURS[s - 1] for s in steps], "symbol": "square",
                "line": {"color": "#0b1220", "width": 1}},
        text=[r.label for r in rows], customdata=[r.id for r in rows], hoverinfo="text",
        meta={"layer": "events"},
    )]
