"""Pieces the grid-cell, device and case pages share: a small map, a facts list, the page frame."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import drill, ids
from dashboard.context import AppContext
from dashboard.pages.common import breadcrumbs, header
from dashboard.pages.drillmap import MAP_CONFIG
from layers import map_figure_dict
from layers.choropleth import plain
from words import t

DETAIL_MAP = "detail-map"


def facts(items: list[tuple[str, Any]]) -> html.Dl:
    """A definition list of label → value."""
    out: list[Any] = []
    for label, value in items:
        out += [html.Dt(label), html.Dd(value if value not in (None, "") else "—")]
    return html.Dl(out, className="facts")


def small_map(ctx: AppContext, county: str | None, traces: list[Any], bounds: tuple[float, float, float, float],
              lang: str) -> dcc.Graph:
    """The county's outline faint with the given traces on top, framed to the bounds."""
    names = ctx.county_names(lang)
    base: list[Any] = []
    if county:
        own = ctx.counties_detail[ctx.counties_detail["adcode"] == county]
        base = ctx.registries.layers.build("county_choropleth", own, plain(names, [county]), names, labels=False)
        for tr in base:
            tr.update(fillcolor="rgba(40,70,110,0.35)", line={"color": "#9fb3c8", "width": 1.5}, hoverinfo="skip",
                      meta={"layer": "outline"})
    minx, miny, maxx, maxy = bounds
    pad = max(maxx - minx, maxy - miny, 0.05) * 0.6  # at least ≈6 km around a single point, for context
    fig = map_figure_dict(drill.clickable(base + traces), (minx - pad, miny - pad, maxx + pad, maxy + pad), legend=True)
    return dcc.Graph(id=DETAIL_MAP, figure=fig, className="map detail-map", config=MAP_CONFIG)


def page(ctx: AppContext, path: str, lang: str, crumbs: dict[str, Any], title: str, main: list[Any],
         title_id: str) -> html.Div:
    """The frame of a detail page: header, breadcrumbs and title, then the page's own panels."""
    return html.Div(className="wall drill detail", children=[
        header(ctx, path, lang, None),
        html.Div(className="drill-bar", children=[breadcrumbs(ctx, lang, leaf=crumbs.pop("leaf", title), **crumbs),
                                                  html.H1(title, id=title_id)]),
        html.Main(className="detail-grid", children=main),
    ])


def not_found(ctx: AppContext, path: str, lang: str) -> html.Div:
    """The page for an unknown id."""
    return html.Div(className="wall drill", children=[
        header(ctx, path, lang, None), html.Div(className="drill-bar", children=[breadcrumbs(ctx, lang)]),
        html.H2(t("not_found", lang), className="not-found")])


def section(title: str, body: Any, extra: str = "") -> html.Section:
    """A titled panel."""
    return html.Section(className=f"panel {extra}".strip(), children=[
        html.Header(className="panel-head", children=[html.H2(title)]), html.Div(body, className="panel-body")])


def register(app: Dash, ctx: AppContext) -> None:
    """A click on a detail map opens what was clicked (a device, a case, the county)."""

    @app.callback(Output(ids.URL, "pathname", allow_duplicate=True), Output(ids.URL, "search", allow_duplicate=True),
                  Input(DETAIL_MAP, "clickData"), State(ids.URL, "search"), prevent_initial_call=True)
    def click(data: dict[str, Any] | None, search: str | None) -> Any:
        return drill.click_url(data, search, ctx.names) or (no_update, no_update)
