"""The city drill map (/map): counties by any county KPI or by open cases, layers and replay."""

from __future__ import annotations

from dash import dcc, html

from dashboard import drill
from dashboard.context import AppContext
from dashboard.pages import drillmap
from dashboard.pages.common import breadcrumbs, header, href
from words import lang_param, t

PATH = "/map"


def layout(ctx: AppContext, search: str | None, width: int | None = None, held: list[str] | None = None) -> html.Div:
    """The city map page: one map, full width, with its controls."""
    view = drillmap.view_for(ctx, drill.CITY, search, width)
    keep = {"lang": lang_param(view.lang)}
    return html.Div(className="wall drill city-drill", children=[
        header(ctx, PATH, view.lang, None),
        html.Div(className="drill-bar", children=[
            breadcrumbs(ctx, view.lang),
            html.H1(t("city_map", view.lang), id="city-map-title"),
            dcc.Link(t("consistency", view.lang), href=href("/consistency", **keep), className="bar-link"),
            dcc.Link(t("evaluation_link", view.lang), href=href("/evaluation", **keep),
                     className="bar-link", id="evaluation-link"),
            # A plain page of PDFs (Flask, not Dash): an ordinary link.
            html.A(t("briefings_link", view.lang), href=href("/briefings", **keep),
                   className="bar-link", id="briefings-link"),
        ]),
        html.Main(className="drill-grid single", children=[drillmap.section(ctx, drill.CITY, view, held)]),
    ])
