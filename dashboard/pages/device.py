"""A device (/device/<id>): what and where it is, its status by the standards, latest values, last 24 h."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html
from sqlalchemy.orm import Session

from dashboard.context import AppContext
from dashboard.pages.detail import facts, not_found, page, section, small_map
from layers import PointRow
from settings import CITY_TZ
from feeds.payloads import is_gbt28181
from standards import gbt28181
from measures import devices
from store import drill_queries as dq
from words import Words, pick, t

FACT = Words("fact")  # the detail pages' labels and facts

PATH_PREFIX = "/device/"
HISTORY_METRICS = ("visibility_m", "air_temp_c", "road_temp_c", "wind_speed_ms", "rh_pct", "online")


def history_chart(detail: Any, lang: str) -> dcc.Graph | html.Div:
    """The numeric values of the last 24 hours, one line per metric (the first four that exist)."""
    series: dict[str, tuple[list[Any], list[float]]] = {}
    for ts, data in reversed(detail.observations):
        for k, v in (data or {}).items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                xs, ys = series.setdefault(k, ([], []))
                xs.append(ts.astimezone(CITY_TZ))
                ys.append(v)
    if not series:
        return html.Div(t("no_data", lang), className="empty")
    keys = [k for k in HISTORY_METRICS if k in series] + [k for k in series if k not in HISTORY_METRICS]
    fig = go.Figure([go.Scatter(x=series[k][0], y=series[k][1], name=k, mode="lines+markers") for k in keys[:4]])
    fig.update_layout(margin={"l": 40, "r": 8, "t": 4, "b": 24}, paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", font={"color": "#d8e1ee", "size": 11},
                      legend={"orientation": "h", "y": 1.15}, yaxis={"gridcolor": "#22314a"})
    return dcc.Graph(figure=fig, config={"displayModeBar": False, "staticPlot": True}, className="history-chart")


def layout(ctx: AppContext, device_id: str, lang: str) -> html.Div:
    """The device page."""
    path = f"{PATH_PREFIX}{device_id}"
    now = ctx.now()
    with Session(ctx.engine) as s:
        detail = dq.device_detail(s, device_id, now - timedelta(hours=24))
        if detail is None:
            return not_found(ctx, path, lang)
    d = detail
    # Its status from the newest message the detail already holds (no second read of the county's devices).
    newest = d.observations[0][1] if d.observations else None
    window = ctx.device_windows().get(d.kind) or timedelta(seconds=ctx.settings.stale_after_s)
    flag = (newest or {}).get("online")
    status = devices.device_status(d.kind, newest is not None and devices.reporting(d.last_seen, now, window),
                                   None if flag is None else flag > 0.5, newest)
    cells = ctx.grids.get()
    cell_id = cells.locate([d.lon], [d.lat])[0]
    cell = cells.get(cell_id) if cell_id else None
    check = gbt28181.check_county(d.id, d.county_adcode) if is_gbt28181(d.id) else None
    info = facts([
        (FACT("id", lang), d.id), (FACT("kind", lang), t(f"kind_{d.kind}", lang)),
        (FACT("name", lang), d.name),
        (FACT("status", lang), html.Span(t(f"status_{status}", lang), className=f"status {status}",
                                                          id="device-status")),
        (t("county_by_xy", lang), ctx.county_name(d.county_adcode, lang) if d.county_adcode else t("outside_city", lang)),
        (t("county_by_id", lang), (ctx.county_name(check.id_county_adcode, lang) + ("" if not check.is_finding else
                                   f" · {pick(check.label_zh, check.label_en, lang)}")) if check else None),
        (FACT("position", lang), f"{d.lon:.5f}, {d.lat:.5f}"),
        (FACT("last_report", lang), d.last_seen.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M:%S")),
    ])
    latest = facts([(m, f"{v:g}") for m, (_ts, v) in sorted(detail.latest.items())])
    point = PointRow(d.id, d.kind, d.lon, d.lat, d.name or d.id, status != "offline", status=status)
    traces = ctx.registries.layers.build("devices", [point], lang)
    crumbs = {"county": d.county_adcode, "cell": (cell["grid_id"], cell["name"]) if cell else None}
    return page(ctx, path, lang, crumbs, t("device", lang, id=d.name or d.id), [
        html.Section(className="panel map-panel", children=[
            small_map(ctx, d.county_adcode, traces, (d.lon, d.lat, d.lon, d.lat), lang)]),
        html.Div(className="col detail-side", children=[
            section(t("device", lang, id=""), info), section(t("latest_values", lang), latest),
            section(t("history", lang), history_chart(detail, lang)),
        ]),
    ], "device-title")
