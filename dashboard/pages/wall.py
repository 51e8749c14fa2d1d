"""The wall (/): city map coloured by open cases, one panel per feed, the theme's KPI strip."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, Patch, State, dcc, html, no_update
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.context import AppContext
from dashboard.i18n import pick, t
from dashboard.pages.common import header, query, status_chips
from dashboard.panels import PanelInput, freshness, shell
from layers import map_figure
from layers.choropleth import class_breaks, colour_for, label_texts, legend_items, text_colour
from store import queries as q
from topics import theme as get_theme

PATH = "/"
LEFT = ("road_weather", "fire_risk")
RIGHT = ("video_point", "grid_event")
KPI_PANEL = "kpi"


def city_map(ctx: AppContext, session: Session, lang: str) -> Any:
    """The city map figure with the current open-case counts."""
    values = q.open_events_by_county(session)
    traces = ctx.registries.layers.build("county_choropleth", ctx.counties_wall, values,
                                         ctx.names_en if lang == "en" else ctx.names,
                                         t("legend_cases", lang))
    b = ctx.counties_wall.total_bounds
    return map_figure(traces, (b[0], b[1], b[2], b[3]))


def map_patch(ctx: AppContext, values: dict[str, int], lang: str) -> Patch:
    """Only the colours and numbers that change between ticks; the polygons stay in the browser."""
    patch = Patch()
    breaks = class_breaks(list(values.values()))
    names = ctx.names_en if lang == "en" else ctx.names
    adcodes = list(ctx.counties_wall["adcode"])
    for i, adcode in enumerate(adcodes):
        v = values.get(adcode, 0)
        patch["data"][i]["fillcolor"] = colour_for(v, breaks)
        patch["data"][i]["text"] = f"{names.get(adcode, adcode)}: {v} {t('legend_cases', lang)}"
    patch["data"][len(adcodes)]["text"] = label_texts(adcodes, values, names)
    patch["data"][len(adcodes)]["textfont"]["color"] = [
        text_colour(colour_for(values.get(a, 0), breaks)) for a in adcodes]
    return patch


def legend(values: dict[str, int], lang: str) -> list[html.Span]:
    """Colour classes of the map, as small swatches."""
    return [html.Span([html.I(style={"background": c}), label], className="legend-item")
            for c, label in legend_items(list(values.values()))] + [html.Span(t("legend_cases", lang))]


def layout(ctx: AppContext, lang: str, theme_key: str | None) -> html.Div:
    """The wall page; panels are framed here and filled by the first tick."""
    panels = ctx.registries.panels
    th = get_theme(theme_key or "")
    with Session(ctx.engine) as s:
        fig = city_map(ctx, s, lang)
        values = q.open_events_by_county(s)
    kpi = shell(panels[KPI_PANEL], lang, f"{KPI_PANEL}-panel",
                title=f"{pick(th.name_zh, th.name_en, lang)} · {th.owner}")
    return html.Div(className="wall", children=[
        header(ctx, PATH, lang, th.key),
        html.Main(className="wall-grid", children=[
            html.Div([shell(panels[n], lang, f"{n}-panel") for n in LEFT], className="col left"),
            html.Section(className="panel map-panel", children=[
                html.Header(className="panel-head", children=[
                    html.H2(t("map_title", lang)),
                    html.Div(legend(values, lang), id=ids.MAP_LEGEND, className="legend")]),
                dcc.Graph(id=ids.CITY_MAP, figure=fig, className="map",
                          config={"displayModeBar": False, "scrollZoom": False, "responsive": True}),
            ]),
            html.Div([shell(panels[n], lang, f"{n}-panel") for n in RIGHT], className="col right"),
            kpi,
        ]),
        dcc.Interval(id=ids.WALL_TICK, interval=int(ctx.settings.tick_seconds * 1000)),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    """The wall's callbacks: the live tick and the click into a county."""

    @app.callback(
        Output({"type": ids.PANEL_BODY, "name": ALL}, "children"),
        Output({"type": ids.PANEL_META, "name": ALL}, "children"),
        Output({"type": ids.PANEL, "name": ALL}, "className"),
        Output(ids.STATUS, "children"),
        Output(ids.CITY_MAP, "figure", allow_duplicate=True),
        Output(ids.MAP_LEGEND, "children"),
        Input(ids.WALL_TICK, "n_intervals"),
        State({"type": ids.PANEL, "name": ALL}, "id"),
        State(ids.URL, "search"),
        prevent_initial_call="initial_duplicate",
    )
    def tick(_n: int, panel_ids: list[dict[str, str]], search: str | None) -> tuple[Any, ...]:
        params = query(search)
        lang = params.get("lang", ctx.settings.lang)
        bodies, metas, classes = render_panels(ctx, [p["name"] for p in panel_ids], lang, None,
                                               params.get("theme"))
        with Session(ctx.engine) as s:
            values = q.open_events_by_county(s)
            status = status_chips(ctx.health(s), q.dead_letter_count(s), lang)
        return bodies, metas, classes, status, map_patch(ctx, values, lang), legend(values, lang)

    @app.callback(Output(ids.URL, "pathname"), Input(ids.CITY_MAP, "clickData"), State(ids.CITY_MAP, "figure"),
                  prevent_initial_call=True)
    def drill(click: dict[str, Any] | None, figure: dict[str, Any]) -> Any:
        adcode = clicked_county(click, figure, ctx.names)
        return f"/county/{adcode}" if adcode else no_update


def clicked_county(click: dict[str, Any] | None, figure: dict[str, Any] | None,
                   counties: dict[str, str]) -> str | None:
    """The adcode of the county a map click landed on, if any.

    A click inside a filled area has no point, so dcc.Graph hands over the trace's whole customdata array
    (or nothing, in which case the trace's meta names the county); a label marker carries its own adcode.
    """
    traces = (figure or {}).get("data", [])
    for point in (click or {}).get("points", []):
        adcode = point.get("customdata")
        if isinstance(adcode, list):
            adcode = adcode[0] if adcode else None
        curve = point.get("curveNumber")
        if adcode is None and isinstance(curve, int) and 0 <= curve < len(traces):
            adcode = (traces[curve].get("meta") or {}).get("adcode")
        if isinstance(adcode, str) and adcode in counties:
            return adcode
    return None


def render_panels(ctx: AppContext, names: list[str], lang: str, county: str | None,
                  theme_key: str | None) -> tuple[list[Any], list[Any], list[str]]:
    """Bodies, freshness lines and classes of the named panels, in one session."""
    bodies, metas, classes = [], [], []
    with Session(ctx.engine) as s:
        inp = PanelInput(session=s, lang=lang, county=county, health=ctx.health(s), now=ctx.now(),
                         names=ctx.names_en if lang == "en" else ctx.names, theme=theme_key)
        for name in names:
            panel = ctx.registries.panels[name]
            out = panel.render(inp)
            meta, cls = freshness(panel, out, inp)
            bodies.append(out.body)
            metas.append(meta)
            classes.append(f"{cls} {name}-panel")
    return bodies, metas, classes
