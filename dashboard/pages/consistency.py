"""Spatial consistency (/consistency): devices whose GB/T 28181 county disagrees with where they are."""

from __future__ import annotations

from typing import Any

import orjson
from dash import dcc, html
from sqlalchemy.orm import Session

from dashboard.context import AppContext
from dashboard.pages.common import breadcrumbs, header, href
from settings import CITY_TZ
from store import drill_queries as dq
from store import queries as q
from words import Words, lang_param, t

FACT = Words("fact")  # the detail pages' labels and facts

PATH = "/consistency"


def outside_rows(session: Session) -> list[dict[str, Any]]:
    """Devices refused for coordinates outside the city, one row per device (from the dead letters)."""
    seen: dict[str, dict[str, Any]] = {}
    for dl in q.rejected_outside_city(session):
        parts = dl.topic.split("/")
        key = parts[-1] if len(parts) >= 4 else dl.topic
        if key in seen:
            seen[key]["count"] += dl.count
            continue
        try:
            body = orjson.loads(dl.payload)
            lon, lat = body.get("lon"), body.get("lat")
        except (orjson.JSONDecodeError, AttributeError):
            lon = lat = None
        seen[key] = {"id": key, "county_by_id": parts[-3] if len(parts) >= 4 else None, "lon": lon, "lat": lat,
                     "feed": dl.feed, "count": dl.count, "last": dl.last_received_at}
    return list(seen.values())


def layout(ctx: AppContext, lang: str) -> html.Div:
    """The findings, as two tables: stored devices that disagree, and refused devices outside the city."""
    with Session(ctx.engine) as s:
        rows = dq.consistency(s)
        outside = outside_rows(s)
    keep = {"lang": lang_param(lang)}
    name = lambda a: ctx.county_name(a, lang) if a else t("outside_city", lang)  # noqa: E731
    head = html.Tr([html.Th(x) for x in (FACT("device", lang), t("reason", lang),
                                          t("county_by_id", lang), t("county_by_xy", lang),
                                          FACT("position", lang))])
    body = [html.Tr(className=f"finding {r.reason}", children=[
        html.Td(dcc.Link(r.name or r.device_id, href=href(f"/device/{r.device_id}", **keep)), className="device"),
        html.Td(t(r.reason, lang)), html.Td(name(r.id_county or r.declared_adcode)), html.Td(name(r.located_adcode)),
        html.Td(f"{r.lon:.5f}, {r.lat:.5f}")]) for r in rows]
    body += [html.Tr(className="finding outside_city refused", children=[
        html.Td(r["id"], className="device"),
        html.Td(f"{t('outside_city', lang)} · " + FACT("refused", lang, n=r['count'])),
        html.Td(name(r["county_by_id"])), html.Td(t("outside_city", lang)),
        html.Td(f"{r['lon']}, {r['lat']} · {r['last'].astimezone(CITY_TZ):%m-%d %H:%M}")]) for r in outside]
    table = html.Table([html.Thead(head), html.Tbody(body)], className="consistency-table", id="consistency-table") \
        if body else html.Div(t("none_found", lang), className="empty", id="consistency-table")
    return html.Div(className="wall drill detail", children=[
        header(ctx, PATH, lang, None),
        html.Div(className="drill-bar", children=[breadcrumbs(ctx, lang, leaf=t("consistency", lang)),
                                                  html.H1(t("consistency", lang), id="consistency-title")]),
        html.Main(className="detail-grid single", children=[html.Section(className="panel", children=[
            html.Header(className="panel-head", children=[html.H2(t("consistency_intro", lang))]),
            html.Div(table, className="panel-body scroll")])]),
    ])
