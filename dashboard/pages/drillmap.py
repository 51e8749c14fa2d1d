"""The drill map section shared by the city map (/map) and a county (/county/<adcode>): layers, replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update
from sqlalchemy.orm import Session

from dashboard import compact, drill, ids
from dashboard.scope import current as viewer_scope
from dashboard.connection import beat, beat_id, beat_store
from dashboard.context import AppContext
from dashboard.pages.common import href, query
from layers.choropleth import Shading
from settings import CITY_TZ
from words import pick, t

MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "responsive": True}


def scope_layers(scope: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(offered, default) layers of a scope."""
    return (drill.CITY_LAYERS, drill.CITY_DEFAULT) if scope == drill.CITY else (drill.COUNTY_LAYERS,
                                                                                 drill.COUNTY_DEFAULT)


def view_for(ctx: AppContext, scope: str, search: str | None, width: int | None = None) -> drill.DrillView:
    """The drill view a URL's query names, for a scope, on a screen that wide."""
    offered, default = scope_layers(scope)
    return drill.parse_drill(query(search), ctx.settings.lang, offered, default, ctx.now(), width,
                             ctx.themes(), viewer_scope())


def legend(shading: Shading | None, extra: str = "") -> list[Any]:
    """Swatches of the map's colours."""
    items = [html.Span([html.I(style={"background": c}), label], className="legend-item")
             for c, label in (shading.legend if shading else [])]
    return items + ([html.Span(extra, className="legend-note")] if extra else [])


def replay_label(view: drill.DrillView) -> str:
    """"Live" or the replayed moment."""
    if view.at is None:
        return t("live", view.lang)
    return t("replay_at", view.lang, t=view.at.astimezone(CITY_TZ).strftime("%m-%d %H:%M"))


def render(ctx: AppContext, scope: str, view: drill.DrillView) -> tuple[Any, str, list[Any]]:
    """(figure, title, legend) of the map for a scope and view: a live view is drawn once a tick for every screen
    and leader showing it, as its reads are (the figure is never changed after: compact.pack copies), so a tick
    that finds the map unchanged costs a lookup, not a figure of 50,000 devices (`make bench`, points)."""
    if view.at is None:
        return ctx.cache.get(("drill-render", scope, view), ctx.settings.tick_seconds, lambda: _render(ctx, scope, view))
    return _render(ctx, scope, view)


def _render(ctx: AppContext, scope: str, view: drill.DrillView) -> tuple[Any, str, list[Any]]:
    now = ctx.now()
    with Session(ctx.engine) as s:
        if scope == drill.CITY:
            fig, title, shading = drill.city_figure(ctx, s, view, now)
            return fig, title, legend(shading, t("hex_note", view.lang) if "hexbin" in view.layers else "")
        fig, shading = drill.county_figure(ctx, s, scope, view, now)
    cells = ctx.grids.get()
    note = t("grid_generated" if cells.generated else "grid_imported", view.lang)
    title = f"{ctx.county_name(scope, view.lang)} · {t('cell_cases', view.lang)}"
    return fig, title, legend(shading, note if "grid_choropleth" in view.layers else "")


def section(ctx: AppContext, scope: str, view: drill.DrillView, held: list[str] | None = None) -> html.Section:
    """The map panel: title and legend, layer toggles (and the city's measure), the map, the replay slider. The
    figure goes packed (dashboard/compact.py: the arrays the browser holds, `held`, by reference) and the browser
    unpacks it into the graph; the graph starts with the frame alone."""
    offered, _ = scope_layers(scope)
    reg = ctx.registries.layers
    fig, title, legend_items = render(ctx, scope, view)
    end = drill.replay_end(ctx.now())
    marks = {i: (end - (drill.REPLAY_STEPS - i) * timedelta(minutes=drill.REPLAY_STEP_MIN)).strftime("%H:%M")
             for i in range(0, drill.REPLAY_STEPS, drill.REPLAY_STEPS // 6)}
    marks[drill.REPLAY_STEPS] = t("live", view.lang)
    metrics = [{"label": pick(zh, en, view.lang), "value": k}
               for k, zh, en, _ in drill.metric_choices(ctx.themes(), ctx.city)]
    return html.Section(className="panel map-panel drill-map-panel", children=[
        html.Header(className="panel-head", children=[
            html.H2(title, id=ids.DRILL_TITLE),
            html.Div(legend_items, id=ids.DRILL_LEGEND, className="legend")]),
        html.Div(className="drill-controls", children=[
            html.Span(t("layers", view.lang), className="control-label"),
            dcc.Checklist(id=ids.LAYER_TOGGLE, value=list(view.layers), inline=True, className="layer-toggle",
                          options=[{"label": pick(reg[n].title_zh, reg[n].title_en, view.lang), "value": n}
                                   for n in offered]),
            html.Div(className="metric" + ("" if scope == drill.CITY else " hidden"), children=[
                html.Span(t("measure", view.lang), className="control-label"),
                dcc.Dropdown(id=ids.METRIC_PICK, options=metrics, value=view.metric, clearable=False,
                             searchable=False, className="metric-pick")]),
        ]),
        dcc.Graph(id=ids.DRILL_MAP, figure={"data": [], "layout": fig["layout"]}, className="map", config=MAP_CONFIG),
        dcc.Store(id=ids.DRILL_PACKED, data=compact.pack(fig, held)),
        html.Div(className="replay", children=[
            html.Span(t("replay", view.lang), className="control-label"),
            html.Div(dcc.Slider(id=ids.REPLAY_SLIDER, min=0, max=drill.REPLAY_STEPS, step=1, marks=marks,
                                value=drill.slider_value(view.at, end), updatemode="mouseup", allow_direct_input=False,
                                tooltip={"always_visible": False}), className="replay-slider"),
            html.Span(replay_label(view), id=ids.REPLAY_LABEL,
                      className="replay-label" + (" replaying" if view.at else "")),
        ]),
        dcc.Store(id=ids.DRILL_SCOPE, data=scope),
        dcc.Store(id=ids.REPLAY_END, data=end.isoformat()),
        dcc.Store(id=ids.DRILL_HASH, data=drill.figure_key(fig)),
        dcc.Interval(id=ids.DRILL_TICK, interval=int(ctx.settings.tick_seconds * 1000)),
        beat_store("drill"),
    ])


def path_scope(pathname: str | None) -> str | None:
    """The drill scope a path shows: the city map, a county, or none."""
    path = (pathname or "").rstrip("/")
    if path == "/map":
        return drill.CITY
    if path.startswith("/county/"):
        return path.removeprefix("/county/")
    return None


def register(app: Dash, ctx: AppContext) -> None:
    """Controls write the URL; the URL (and the live tick) draws the map; a click drills down."""

    @app.callback(Output(ids.URL, "search", allow_duplicate=True),
                  Input(ids.LAYER_TOGGLE, "value"), Input(ids.REPLAY_SLIDER, "value"), Input(ids.METRIC_PICK, "value"),
                  State(ids.URL, "search"), State(ids.DRILL_SCOPE, "data"), State(ids.REPLAY_END, "data"),
                  prevent_initial_call=True)
    def controls(layers: list[str] | None, slider: int | None, metric: str | None, search: str | None, scope: str,
                 end: str) -> Any:
        view = view_for(ctx, scope, search)
        offered, default = scope_layers(scope)
        at = drill.slider_time(slider, datetime.fromisoformat(end))
        new = drill.DrillView(lang=view.lang, layers=tuple(n for n in offered if n in (layers or [])), at=at,
                              metric=metric or drill.OPEN_EVENTS)
        target = href("", **new.params(default))
        return no_update if target == href("", **view.params(default)) else (target or "?")

    # The browser rebuilds the figure from the packed one and the arrays it holds (assets/zq-compact.js).
    app.clientside_callback(ClientsideFunction("zq", "unpack"), Output(ids.DRILL_MAP, "figure"),
                            Output(ids.CHUNKS, "data"), Output(ids.DRILL_HASH, "data", allow_duplicate=True),
                            Input(ids.DRILL_PACKED, "data"), prevent_initial_call="initial_duplicate")

    @app.callback(Output(ids.DRILL_PACKED, "data"), Output(ids.DRILL_TITLE, "children"),
                  Output(ids.DRILL_LEGEND, "children"), Output(ids.REPLAY_LABEL, "children"),
                  Output(ids.REPLAY_LABEL, "className"), Output(ids.DRILL_HASH, "data"),
                  Output(beat_id("drill"), "data"),
                  Input(ids.URL, "search"), Input(ids.DRILL_TICK, "n_intervals"),
                  State(ids.URL, "pathname"), State(ids.DRILL_SCOPE, "data"), State(ids.DRILL_HASH, "data"),
                  State(ids.VIEWPORT, "data"), State(ids.CHUNKS, "data"),
                  prevent_initial_call=True,
                  running=[(Output(ids.DRILL_TICK, "disabled"), True, False)])
    def redraw(search: str | None, _n: int, pathname: str | None, scope: str, old: str | None,
               width: int | None, held: list[str] | None = None) -> tuple[Any, ...]:
        if path_scope(pathname) != scope:
            return (no_update,) * 7  # the page is being replaced
        view = view_for(ctx, scope, search, width)
        fig, title, legend_items = render(ctx, scope, view)
        new = drill.figure_key(fig)
        cls = "replay-label" + (" replaying" if view.at else "")
        return (no_update if new == old else compact.pack(fig, held), title, legend_items, replay_label(view), cls, new,
                beat(ctx))

    @app.callback(Output(ids.URL, "pathname", allow_duplicate=True), Output(ids.URL, "search", allow_duplicate=True),
                  Input(ids.DRILL_MAP, "clickData"), State(ids.URL, "search"), State(ids.DRILL_SCOPE, "data"),
                  prevent_initial_call=True)
    def click(data: dict[str, Any] | None, search: str | None, scope: str) -> Any:
        return drill.click_url(data, search, ctx.names, current=scope, grids=ctx.grids.get()) or (no_update, no_update)
