"""A grid cell (/grid/<id>): its outline, the open cases and devices inside it, each a link."""

from __future__ import annotations

import shapely
from dash import dcc, html
from sqlalchemy.orm import Session

from dashboard import drill
from dashboard.context import AppContext
from dashboard.pages.common import href
from dashboard.pages.detail import facts, not_found, page, section, small_map
from dashboard.status import workflow_steps
from geo import area_km2
from layers import PointRow
from layers.choropleth import Shading
from store import drill_queries as dq
from words import Words, lang_param, t

FACT = Words("fact")  # the detail pages' labels and facts

PATH_PREFIX = "/grid/"


def cell_contents(ctx: AppContext, session: Session, cell: dict, now: object) -> tuple[list, list[PointRow]]:
    """Open cases (now) and devices (with status) whose position lies inside the cell."""
    geom = cell["geometry"]
    minx, miny, maxx, maxy = geom.bounds
    events = [e for e in dq.events_in_bbox(session, minx, miny, maxx, maxy, county=cell["county_adcode"])
              if shapely.contains_xy(geom, e.lon, e.lat)]
    devices = [d for d in drill.devices_at(ctx, session, cell["county_adcode"], now)  # type: ignore[arg-type]
               if shapely.contains_xy(geom, d.lon, d.lat)]
    return events, devices


def layout(ctx: AppContext, grid_id: str, lang: str) -> html.Div:
    """The grid-cell page."""
    cells = ctx.grids.get()
    cell = cells.get(grid_id)
    path = f"{PATH_PREFIX}{grid_id}"
    if cell is None:
        return not_found(ctx, path, lang)
    now = ctx.now()
    with Session(ctx.engine) as s:
        events, devices = cell_contents(ctx, s, cell, now)
    steps = workflow_steps(lang)
    keep = {"lang": lang_param(lang)}
    reg = ctx.registries.layers
    frame = cells.frame[cells.frame["grid_id"] == grid_id]
    shading = Shading(colours={grid_id: "rgba(79,195,247,0.35)"}, labels={grid_id: ""}, hover={grid_id: cell["name"]},
                      legend=[])
    traces = reg.build("grid_choropleth", frame, shading, lang=lang)
    if events:
        traces += reg.build("events", [PointRow(e.id, "event", e.lon, e.lat, f"{e.subcategory or e.category}<br>{e.id}")
                                       for e in events], [e.step for e in events], lang)
    traces += reg.build("devices", devices, lang) if devices else []
    source = t("grid_generated" if cell.get("source") == "generated" else "grid_imported", lang)
    case_items = [html.Li(dcc.Link(f"{e.subcategory or e.category} · {steps[e.step - 1]} · {e.id}",
                                   href=href(f"/case/{e.id}", **keep), className="case-link")) for e in events[:50]]
    device_items = [html.Li(dcc.Link(f"{d.label.split('<br>')[0]} · {t('status_' + (d.status or 'online'), lang)}",
                                     href=href(f"/device/{d.id}", **keep), className="device-link")) for d in devices]
    info = facts([
        (FACT("id", lang), grid_id), (FACT("source", lang), source),
        (FACT("county", lang), ctx.county_name(cell["county_adcode"], lang)),
        (FACT("area", lang), f"{cell.get('area_km2') or area_km2(cell['geometry']):.2f} km²"),
        (t("open_cases", lang), len(events)), (t("devices", lang), len(devices)),
    ])
    minx, miny, maxx, maxy = cell["geometry"].bounds
    return page(ctx, path, lang, {"county": cell["county_adcode"]}, t("grid_cell", lang, name=cell["name"]), [
        html.Section(className="panel map-panel", children=[small_map(ctx, cell["county_adcode"], traces,
                                                                       (minx, miny, maxx, maxy), lang)]),
        html.Div(className="col detail-side", children=[
            section(t("grid_cell", lang, name=""), info),
            section(t("cell_cases", lang), html.Ul(case_items, className="link-list", id="cell-cases")
                    if case_items else html.Div(t("no_data", lang), className="empty")),
            section(t("cell_devices", lang), html.Ul(device_items, className="link-list", id="cell-devices")
                    if device_items else html.Div(t("no_data", lang), className="empty")),
        ]),
    ], "grid-title")
