"""A county (/county/<adcode>): its outline, devices and open cases, and the feed panels for it."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.context import AppContext
from dashboard.i18n import t
from dashboard.pages.common import header, href, query, status_chips
from dashboard.pages.wall import clicked_county, render_panels
from dashboard.panels import shell
from dashboard.status import conditions
from layers import PointRow, map_figure
from layers.choropleth import plain
from store import queries as q

PATH_PREFIX = "/county/"
PANELS = ("road_weather", "video_point", "grid_event", "fire_risk")


def county_map(ctx: AppContext, session: Session, adcode: str, lang: str) -> Any:
    """The county's outline with its devices and open cases."""
    layers = ctx.registries.layers
    sel = ctx.counties_detail[ctx.counties_detail["adcode"] == adcode]
    names = ctx.names_en if lang == "en" else ctx.names
    # Neighbours drawn faintly for context, the county itself on top.
    others = ctx.counties_wall[ctx.counties_wall["adcode"] != adcode]
    traces = layers.build("county_choropleth", others, plain(names, list(others["adcode"])), names, labels=False)
    for tr in traces:
        tr.update(fillcolor="rgba(20,30,50,0.6)", line={"color": "#2c3e5c", "width": 1})
    own = layers.build("county_choropleth", sel, plain(names, [adcode]), names, labels=False)
    own[0].update(fillcolor="rgba(40,70,110,0.75)", line={"color": "#9fb3c8", "width": 2})
    traces += own
    devices = q.devices(session, county=adcode)
    latest_online = {r.device_id: r.value for r in q.latest_values(session, "video_point", ["online"], adcode)}
    rows = [PointRow(d.id, d.kind, d.lon, d.lat, f"{d.name or d.id}<br>{d.id}", latest_online.get(d.id, 1) >= 1)
            for d in devices]
    traces += layers.build("devices", rows, lang)
    events = q.open_events(session, adcode)
    traces += layers.build("events", [PointRow(e.id, "event", e.lon, e.lat, f"{e.subcategory or e.category}<br>{e.id}")
                                      for e in events], [e.step for e in events], lang)
    minx, miny, maxx, maxy = sel.total_bounds
    return map_figure(traces, (minx, miny, maxx, maxy), legend=True)


def layout(ctx: AppContext, adcode: str, lang: str) -> html.Div:
    """The county page, or a not-found message for an unknown adcode."""
    if adcode not in ctx.names:
        return html.Div(className="wall", children=[header(ctx, f"{PATH_PREFIX}{adcode}", lang, None),
                                                    html.H2(t("not_found", lang), className="not-found")])
    with Session(ctx.engine) as s:
        fig = county_map(ctx, s, adcode, lang)
    panels = ctx.registries.panels
    return html.Div(className="wall county", children=[
        header(ctx, f"{PATH_PREFIX}{adcode}", lang, None),
        html.Main(className="county-grid", children=[
            html.Section(className="panel map-panel", children=[
                html.Header(className="panel-head", children=[
                    dcc.Link(t("back_city", lang), href=href("/", lang=lang if lang != "zh" else None),
                             className="back", id="back-to-city"),
                    html.H2(t("county_of", lang, name=ctx.county_name(adcode, lang)), id="county-title"),
                ]),
                dcc.Graph(id=ids.COUNTY_MAP, figure=fig, className="map",
                          config={"displayModeBar": False, "scrollZoom": False, "responsive": True}),
            ]),
            html.Div([shell(panels[n], lang, f"{n}-panel") for n in PANELS], className="col county-panels"),
        ]),
        dcc.Store(id=ids.COUNTY_ADCODE, data=adcode),
        dcc.Interval(id=ids.COUNTY_TICK, interval=int(ctx.settings.tick_seconds * 1000)),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    """The county page's live tick (panels filtered to the county)."""

    @app.callback(
        Output({"type": ids.PANEL_BODY, "name": ALL}, "children", allow_duplicate=True),
        Output({"type": ids.PANEL_META, "name": ALL}, "children", allow_duplicate=True),
        Output({"type": ids.PANEL, "name": ALL}, "className", allow_duplicate=True),
        Output(ids.STATUS, "children", allow_duplicate=True),
        Input(ids.COUNTY_TICK, "n_intervals"),
        State(ids.COUNTY_ADCODE, "data"),
        State({"type": ids.PANEL, "name": ALL}, "id"),
        State(ids.URL, "search"),
        prevent_initial_call="initial_duplicate",
    )
    def tick(_n: int, adcode: str, panel_ids: list[dict[str, str]], search: str | None) -> tuple[Any, ...]:
        lang = query(search).get("lang", ctx.settings.lang)
        bodies, metas, classes = render_panels(ctx, [p["name"] for p in panel_ids], lang, adcode, None)
        with Session(ctx.engine) as s:
            status = status_chips(ctx.health(s), q.dead_letter_count(s), conditions(s, ctx.now(), adcode), lang)
        return bodies, metas, classes, status

    @app.callback(Output(ids.URL, "pathname", allow_duplicate=True), Input(ids.COUNTY_MAP, "clickData"),
                  State(ids.COUNTY_MAP, "figure"), State(ids.COUNTY_ADCODE, "data"), prevent_initial_call=True)
    def neighbour(click: dict[str, Any] | None, figure: dict[str, Any], current: str) -> Any:
        adcode = clicked_county(click, figure, ctx.names)
        return f"{PATH_PREFIX}{adcode}" if adcode and adcode != current else no_update
