"""A county (/county/<adcode>): its drill map with grid cells and replay, KPIs beside the city average,
cases and overdue ones, devices online, and its events over the last 24 hours."""

from __future__ import annotations

from datetime import timedelta
from statistics import mean
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.connection import beat, beat_id, beat_store
from dashboard.context import AppContext
from dashboard.drill import kpi_names
from dashboard.pages import drillmap
from dashboard.pages.common import breadcrumbs, header, href, query, status_chips
from dashboard.panels.base import figure_attrs
from dashboard.panels.kpis import fmt_amount
from dashboard.status import conditions, workflow_steps
from measures.cases import OPEN_CASES_KEY, OVERDUE_CASES_KEY
from measures.devices import VIDEO_ONLINE_KEY
from settings import CITY_TZ
from store import drill_queries as dq
from store import queries as q
from topics.cases import case_limits
from words import lang_param, pick, t

PATH_PREFIX = "/county/"
KINDS = ("video_point", "road_weather", "fire_risk")
DEVICE_LINKS = 40  # the rest are on the map and in their grid cells


def panel(title: str, body_id: str, body: Any, extra: str = "") -> html.Section:
    """A titled panel whose body the tick replaces."""
    return html.Section(className=f"panel {extra}".strip(), children=[
        html.Header(className="panel-head", children=[html.H2(title)]),
        html.Div(body, id=body_id, className="panel-body"),
    ])


def kpi_table(ctx: AppContext, session: Session, adcode: str, lang: str) -> html.Table | html.Div:
    """Each theme's county KPIs: the county's newest value beside the average of the counties."""
    counties = sorted(ctx.names)
    keys = tuple(k for th in ctx.themes() for k in th.by_county)
    points = ctx.registries.measures.latest(session, keys, counties)
    rows = []
    for th in ctx.themes():
        defs = {k.key: k for k in th.kpis}
        for i, key in enumerate(th.by_county):
            d = defs.get(key)
            per = points.get(key, {})
            own = per.get(adcode)
            others = [p.value for p in per.values()]
            avg = mean(others) if others else None
            zh, en, unit = kpi_names(key, ctx.themes())
            name = pick(zh, en, lang)
            better = None
            if own is not None and avg is not None and own.value != avg:
                defined = ctx.registries.measures.get(key)
                higher_is_better = (not defined.worse_high if defined is not None
                                    else not (d and d.target_kind == "max"))
                better = (own.value > avg) == higher_is_better
            rows.append(html.Tr(className="kpi-row", children=[
                html.Td(pick(th.name_zh, th.name_en, lang) if i == 0 else "", className="theme"),
                html.Td(name, className="name"),
                html.Td(fmt_amount(own.value, unit, lang) if own else "—",
                        className="own" + ("" if better is None else (" better" if better else " worse")),
                        **figure_attrs(ctx.registries.measures, key, adcode, own)),
                html.Td(fmt_amount(round(avg, 1), unit, lang) if avg is not None else "—", className="avg"),
                html.Td(unit, className="unit"),
            ]))
    if not rows:
        return html.Div(t("no_data", lang), className="empty")
    head = html.Tr([html.Th(""), html.Th(t("kpi", lang)), html.Th(t("this_county", lang)),
                    html.Th(t("city_avg", lang)), html.Th("")])
    return html.Table([html.Thead(head), html.Tbody(rows)], className="county-kpi-table")


def cases_body(ctx: AppContext, session: Session, adcode: str, lang: str) -> list[Any]:
    """Open and overdue cases, how many are at each step, and the most overdue ones (links to them)."""
    limits = case_limits()
    summary = dq.case_summary(session, adcode, ctx.now(), limits.limits, limits.default_hours)
    steps = workflow_steps(lang)
    top = max([1, *summary.by_step.values()])
    bars = [html.Div(className="step-row", children=[
        html.Span(steps[s - 1], className="step-name"),
        html.Span(html.I(style={"width": f"{100 * summary.by_step.get(s, 0) / top:.0f}%"}), className="step-bar"),
        html.Span(str(summary.by_step.get(s, 0)), className="step-n")]) for s in range(1, 7)]
    keep = {"lang": lang_param(lang)}
    late = [html.Li(dcc.Link([html.Span(c.subcategory or "—", className="what"),
                              html.Span(t("overdue_by", lang, h=f"{c.hours_over:.1f}"), className="late")],
                             href=href(f"/case/{c.id}", **keep), className="case-link"))
            for c in summary.most_overdue[:5]]
    # The counts are the measures (one definition with the wall's); the steps and the list are their detail.
    figures = ctx.registries.measures.latest(session, [OPEN_CASES_KEY, OVERDUE_CASES_KEY], [adcode],
                                                ctx.now())
    open_now, overdue_now = (figures.get(k, {}).get(adcode) for k in (OPEN_CASES_KEY, OVERDUE_CASES_KEY))
    n_open = int(open_now.value) if open_now is not None else summary.open
    n_overdue = int(overdue_now.value) if overdue_now is not None else summary.overdue
    return [
        html.Div(className="case-counts", children=[
            html.Span(t("open_n", lang, n=n_open), className="count open", id="county-open",
                      **figure_attrs(ctx.registries.measures, OPEN_CASES_KEY, adcode, open_now)),
            html.Span(t("overdue_n", lang, n=n_overdue),
                      className="count overdue" + (" alert" if n_overdue else ""), id="county-overdue",
                      **figure_attrs(ctx.registries.measures, OVERDUE_CASES_KEY, adcode, overdue_now))]),
        html.Div(bars, className="steps"),
        html.Ul(late, className="overdue-list") if late else html.Div(t("no_overdue", lang), className="empty"),
    ]


def devices_body(ctx: AppContext, session: Session, adcode: str, lang: str) -> list[Any]:
    """Online rate by kind, and the county's video points and sensors as links."""
    now = ctx.now()
    rate = dq.device_online_rate(session, adcode, now, ctx.device_windows())  # each kind's window: the map's
    video = ctx.registries.measures.value(session, VIDEO_ONLINE_KEY, adcode, now)
    keep = {"lang": lang_param(lang)}
    out: list[Any] = []
    for kind in KINDS:
        r = rate.get(kind)
        if r is None or r.total == 0:
            continue
        ok = r.online if r.online is not None else r.reporting
        pct = 100 * ok / r.total
        attrs = figure_attrs(ctx.registries.measures, VIDEO_ONLINE_KEY, adcode, video) if kind == "video_point" else {}
        out.append(html.Div(className="rate-row", children=[
            html.Span(t(f"kind_{kind}", lang), className="kind"),
            html.Span(html.I(style={"width": f"{pct:.0f}%"}), className="rate-bar"),
            html.Span(f"{ok}/{r.total} · {pct:.0f}%", className="rate-n", **attrs)]))
    devs = dq.county_devices(session, adcode, limit=DEVICE_LINKS)
    out.append(html.Ul([html.Li(dcc.Link(d.name or d.id, href=href(f"/device/{d.id}", **keep),
                                         className=f"device-link {d.kind}"))
                        for d in devs], className="device-list"))
    return out


def events_chart(session: Session, adcode: str, now: Any, lang: str, screen: float = 1.0) -> dcc.Graph:
    """Cases reported and closed in each hour of the last 24."""
    end = now.astimezone(CITY_TZ).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    rows = dq.events_over_time(session, adcode, end - timedelta(hours=24), end, 24)
    xs = [r[0].astimezone(CITY_TZ).strftime("%H:00") for r in rows]
    # A plain dict, as the maps are: a go.Figure validated every property and sent plotly's whole default
    # template (8 KB) with a chart of 48 bars (`make bench`, drill).
    fig = {"data": [
        {"type": "bar", "x": xs, "y": [r[1] for r in rows], "name": t("reported", lang), "marker": {"color": "#4fc3f7"}},
        {"type": "bar", "x": xs, "y": [r[2] for r in rows], "name": t("closed", lang), "marker": {"color": "#66bb6a"}},
    ], "layout": {
        "barmode": "group", "margin": {"l": 30, "r": 8, "t": 4, "b": 24}, "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": "#d8e1ee", "size": round(11 * screen)}, "bargap": 0.15,
        "legend": {"orientation": "h", "x": 0, "y": 1.12},
        "xaxis": {"tickangle": 0, "nticks": 8, "showgrid": False, "linecolor": "#22314a"},
        "yaxis": {"gridcolor": "#22314a", "zerolinecolor": "#22314a"}}}
    return dcc.Graph(figure=fig, config={"displayModeBar": False, "staticPlot": True}, className="events-chart")


def status(ctx: AppContext, adcode: str, lang: str) -> list[html.Span]:
    """The header's chips for the county (shared for a moment by every screen and drill showing it)."""
    def read() -> list[html.Span]:
        with Session(ctx.engine) as s:
            return status_chips(ctx.health(s), q.dead_letter_count(s), conditions(s, ctx.now(), adcode), lang)

    return ctx.cache.get(("county-status", adcode, lang), ctx.settings.tick_seconds, read)


def side(ctx: AppContext, adcode: str, lang: str, screen: float = 1.0) -> tuple[Any, Any, Any, Any]:
    """The four side panels' bodies, in one session: drawn once a tick for every screen and leader showing the
    county (the page as it opens, and each screen's tick), as its header and map reads are."""
    def draw() -> tuple[Any, Any, Any, Any]:
        with Session(ctx.engine) as s:
            return (kpi_table(ctx, s, adcode, lang), cases_body(ctx, s, adcode, lang),
                    devices_body(ctx, s, adcode, lang), events_chart(s, adcode, ctx.now(), lang, screen))

    return ctx.cache.get(("county-side", adcode, lang, round(screen, 2)), ctx.settings.tick_seconds, draw)


def layout(ctx: AppContext, adcode: str, search: str | None, width: int | None = None,
           held: list[str] | None = None) -> html.Div:
    """The county page, or a not-found message for an unknown adcode (`held`: the arrays the browser holds)."""
    view = drillmap.view_for(ctx, adcode, search, width)
    lang = view.lang
    if adcode not in ctx.names:
        return html.Div(className="wall", children=[header(ctx, f"{PATH_PREFIX}{adcode}", lang, None),
                                                    html.H2(t("not_found", lang), className="not-found")])
    kpis, cases, devices, events = side(ctx, adcode, lang, view.screen)
    keep = {"lang": lang_param(lang)}
    return html.Div(className="wall county drill", children=[
        header(ctx, f"{PATH_PREFIX}{adcode}", lang, None, status=status(ctx, adcode, lang)),
        html.Div(className="drill-bar", children=[
            breadcrumbs(ctx, lang, county=adcode),
            html.H1(t("county_of", lang, name=ctx.county_name(adcode, lang)), id="county-title"),
            dcc.Link(t("county_wall_link", lang), href=href("/", county=adcode, **keep), className="bar-link"),
            dcc.Link(t("consistency", lang), href=href("/consistency", **keep), className="bar-link"),
        ]),
        html.Main(className="drill-grid", children=[
            drillmap.section(ctx, adcode, view, held),
            html.Div(className="col drill-side", children=[
                panel(t("county_kpis", lang), ids.COUNTY_KPIS, kpis, "county-kpis"),
                panel(t("county_cases", lang), ids.COUNTY_CASES, cases, "county-cases"),
                panel(t("county_devices", lang), ids.COUNTY_DEVICES, devices, "county-devices"),
                panel(t("events_24h", lang), ids.COUNTY_EVENTS, events, "county-events"),
            ]),
        ]),
        dcc.Store(id=ids.COUNTY_ADCODE, data=adcode),
        dcc.Interval(id=ids.COUNTY_TICK, interval=int(ctx.settings.tick_seconds * 1000)),
        beat_store("county"),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    """The county page's live tick: the side panels and the header's status."""

    @app.callback(
        Output(ids.COUNTY_KPIS, "children"), Output(ids.COUNTY_CASES, "children"),
        Output(ids.COUNTY_DEVICES, "children"), Output(ids.COUNTY_EVENTS, "children"),
        Output(ids.STATUS, "children", allow_duplicate=True), Output(beat_id("county"), "data"),
        Input(ids.COUNTY_TICK, "n_intervals"), State(ids.COUNTY_ADCODE, "data"), State(ids.URL, "search"),
        State(ids.VIEWPORT, "data"),
        # The layout has just drawn all of it: the first tick comes one interval later.
        prevent_initial_call=True,
        running=[(Output(ids.COUNTY_TICK, "disabled"), True, False)],
    )
    def tick(_n: int, adcode: str, search: str | None, width: int | None) -> tuple[Any, ...]:
        if adcode not in ctx.names:
            return (*(no_update,) * 5, beat(ctx))
        lang = "en" if query(search).get("lang", ctx.settings.lang) == "en" else "zh"
        kpis, cases, devices, events = side(ctx, adcode, lang, max(1.0, (width or 1920) / 1920))
        return kpis, cases, devices, events, status(ctx, adcode, lang), beat(ctx)
