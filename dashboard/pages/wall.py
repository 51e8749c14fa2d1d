"""The wall (/): a theme's panels around the city map, its KPI strip, a ticker; rotation by URL."""

from __future__ import annotations

from contextlib import nullcontext

import dataclasses
import hashlib
import threading
from collections import Counter, OrderedDict
import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import plotly
import orjson
from dash import ALL, Dash, Input, Output, Patch, State, dcc, html, no_update
from flask import Response, g, has_request_context, request
from sqlalchemy.orm import Session

from dashboard import ids, scope
from dashboard.connection import beat, beat_id, beat_store
from dashboard.context import AppContext
from dashboard.pages.common import View, header, parse_view, query, status_chips
from dashboard.panels import PanelInput, PanelOutput, freshness, shell
from dashboard.status import conditions, department_list, ticker
from layers import map_figure
from layers.aqi import aqi_choropleth_values, aqi_labels
from layers.choropleth import NO_DATA, Shading, classed
from store import alarm_queries as alq
from store import queries as q
from store import snapshot
from measures.air import AQI_KEY
from topics import Theme
from topics.themes import KPI_STRIP, PanelDef, Placed
from words import html_lang, pick, t

log = logging.getLogger(__name__)

PATH = "/"
KPI_PANEL = "kpi"
LABEL_PX = 14  # map label size at 1920 px wide; scaled with the screen
BANNER_ALSO = 2  # the banner names this many of the other red alarms under its headline

# Rotation runs in the browser on the clock: slot = floor(now / period) mod n, so every screen showing the
# same URL shows the same view, and a reload resumes where it was.
ROTATE_JS = """
function(n, search, counties) {
  const p = new URLSearchParams(search || '');
  const period = parseFloat(p.get('rotate') || '0');
  if (!(period > 0)) { return window.dash_clientside.no_update; }
  // The themes there are now are the header's tabs (theme files may add one while the wall runs).
  const all = Array.from(document.querySelectorAll('.tabs .tab')).map(e => e.id.replace(/^tab-/, ''));
  if (!all.length) { return window.dash_clientside.no_update; }
  const themes = (p.get('themes') || '').split(',').filter(k => all.includes(k));
  const list = themes.length ? themes : all;
  const slot = Math.floor((Date.now() + (window.zqClockOffset || 0)) / 1000 / period);  // the app's clock
  if (p.get('counties') === '1') {
    const county = counties[slot % counties.length];
    if (p.get('county') === county && p.get('theme') === list[0]) { return window.dash_clientside.no_update; }
    p.set('theme', list[0]); p.set('county', county);
  } else {
    const theme = list[slot % list.length];
    if (p.get('theme') === theme) { return window.dash_clientside.no_update; }
    p.set('theme', theme); p.delete('county');
  }
  return '?' + p.toString();
}
"""

# The wall's design width: its width (all its tiles', when one browser drives each screen), or on a splice wider
# than 2:1 the width its height gives at 16:9 — how wall.css scales rem, so the map's labels grow with the text
# around them, not with the splice.
VIEWPORT_JS = ("function(_) { const wall = document.querySelector('.wall');"
               " const w = wall ? wall.getBoundingClientRect().width : window.innerWidth, h = window.innerHeight;"
               " return Math.round(w / h > 2 ? h * 16 / 9 : w); }")


@dataclass(frozen=True)
class MapState:
    """What the city map shows now: the shading and its title."""

    shading: Shading
    title: str
    unit: str


def map_state(ctx: AppContext, session: Session, th: Theme, lang: str,
              alarms: list[Any] | None = None, visible: frozenset[str] | None = None) -> MapState:
    """The theme's map measure: open cases by county, or AQI by county in the standard's colours; each county's
    open alarms beside its label. Counties outside `visible` are outlined with no figure."""
    names = ctx.county_names(lang)
    adcodes = list(ctx.counties_wall["adcode"])
    measures = ctx.registries.measures
    # A county user's map is figured from their counties alone: the others' values would show in the classes.
    seen = adcodes if visible is None else [a for a in adcodes if a in visible]
    got = measures.latest(session, [th.map_measure], seen, ctx.now()).get(th.map_measure, {})
    if measures.key(th.map_measure) == AQI_KEY:
        per_county = {a: (int(got[a].value) if a in got else None) for a in adcodes}
        colours, legend_ = aqi_choropleth_values(per_county, lang=lang)
        labels, hover = aqi_labels(per_county, names, lang=lang)
        shading = Shading(colours=colours, labels=labels, hover=hover, legend=legend_)
        state = MapState(shading, t("aqi_map_title", lang), "")
    else:
        unit = t("legend_cases", lang)
        values = {a: p.value for a, p in got.items()}
        state = MapState(classed(values, names, unit, adcodes), t("map_title", lang), unit)
    per_county = (alq.open_by_county(session) if alarms is None
                  else dict(Counter(a.county_adcode for a in alarms if a.county_adcode)))
    state = with_alarms(state, per_county, lang)
    return state if visible is None else replace(state, shading=scope.mask(state.shading, visible, names))


def with_alarms(state: MapState, alarms: dict[str, int], lang: str) -> MapState:
    """The map's labels and hover with each county's open alarms (⚠ N), where it has any."""
    if not alarms:
        return state
    sh = state.shading
    labels = {a: f"{text}<br>⚠ {alarms[a]}" if alarms.get(a) else text for a, text in sh.labels.items()}
    hover = {a: f"{text}<br>{t('map_alarms', lang, n=alarms[a])}" if alarms.get(a) else text
             for a, text in sh.hover.items()}
    return replace(state, shading=replace(sh, labels=labels, hover=hover))


def city_map(ctx: AppContext, state: MapState, county: str | None) -> Any:
    """The city map figure; a selected county is outlined."""
    names = ctx.names
    traces = ctx.registries.layers.build("county_choropleth", ctx.counties_wall, state.shading, names)
    if county:
        for tr in traces:
            if (tr.meta or {}).get("adcode") == county:
                tr.update(line={"color": "#ffffff", "width": 4})
    b = ctx.counties_wall.total_bounds
    return map_figure(traces, (b[0], b[1], b[2], b[3]))


def map_patch(ctx: AppContext, state: MapState, county: str | None, width: int | None) -> Patch:
    """Only colours, texts and outline that change between ticks; the polygons stay in the browser."""
    patch = Patch()
    adcodes = list(ctx.counties_wall["adcode"])
    for i, adcode in enumerate(adcodes):
        patch["data"][i]["fillcolor"] = state.shading.colours.get(adcode, NO_DATA)
        patch["data"][i]["text"] = state.shading.hover.get(adcode, "")
        patch["data"][i]["line"] = {"color": "#ffffff", "width": 4} if adcode == county else \
            {"color": "#9fb3c8", "width": 1.2}
    labels = patch["data"][len(adcodes)]
    labels["text"] = [state.shading.labels.get(a, "") for a in adcodes]
    labels["textfont"] = {"color": state.shading.label_colours(adcodes),
                          "size": round(LABEL_PX * max(1.0, (width or 1920) / 1920))}
    return patch


def legend(state: MapState) -> list[html.Span]:
    """Swatches explaining the map's colours."""
    items = [html.Span([html.I(style={"background": c}), label], className="legend-item")
             for c, label in state.shading.legend]
    return items + ([html.Span(state.unit)] if state.unit else [])


def columns(ctx: AppContext, th: Theme) -> tuple[list[Placed], list[Placed]]:
    """The theme's panels per column, with instance ids; a type not registered is left out, not fatal."""
    placed = [p for p in th.placed() if p.type in ctx.registries.panels]
    return [p for p in placed if p.panel.column == "left"], [p for p in placed if p.panel.column == "right"]


def title_of(ctx: AppContext, placed: Placed, lang: str) -> str:
    """A placed panel's title: as its file says, else its type's."""
    if placed.panel.title_zh:
        return pick(placed.panel.title_zh, placed.panel.title_en or placed.panel.title_zh, lang)
    panel = ctx.registries.panels[placed.type]
    return pick(panel.title_zh, panel.title_en, lang)


def panel_shell(ctx: AppContext, placed: Placed, lang: str) -> html.Section:
    """The frame of a placed panel."""
    return shell(ctx.registries.panels[placed.type], lang, f"{placed.type}-panel", title=title_of(ctx, placed, lang),
                 ident=placed.id)


# The KPI strip under the map, placed like any panel.
STRIP = Placed(KPI_STRIP, PanelDef(type=KPI_PANEL, column="left"))


def layout(ctx: AppContext, view: View, search: str | None = None) -> html.Div:
    """The wall page for a view; the first tick fills the panels (a red alarm's banner is there at once)."""
    panels = ctx.registries.panels
    th = ctx.theme_for(view.theme, view.county)
    lang = view.lang
    left, right = columns(ctx, th)
    with Session(ctx.engine) as s:
        alarms = visible_alarms(alq.open_alarms(s, limit=None), view.visible)
        state = map_state(ctx, s, th, lang, alarms, view.visible)
        banner, banner_cls = takeover(ctx, s, lang, search, alarms)
    title = f"{pick(th.name_zh, th.name_en, lang)} · {department_list(th.owner, lang)}"
    map_title = state.title if not view.county else f"{state.title} · {ctx.county_name(view.county, lang)}"
    size = "three" if max(len(left), len(right)) > 2 else "two"
    return html.Div(className=view.classes(), lang=html_lang(lang),
                    children=[
        header(ctx, PATH, lang, th.key, view),
        html.Div(className="ticker", children=html.Div(id=ids.TICKER, className="ticker-track")),
        html.Main(className=f"wall-grid {size}", children=[
            html.Div([panel_shell(ctx, p, lang) for p in left], className="col left"),
            html.Section(className="panel map-panel", children=[
                html.Header(className="panel-head", children=[
                    html.H2(map_title, id="map-title"),
                    html.Div(legend(state), id=ids.MAP_LEGEND, className="legend")]),
                dcc.Graph(id=ids.CITY_MAP, figure=city_map(ctx, state, view.county), className="map",
                          config={"displayModeBar": False, "scrollZoom": False, "responsive": True}),
            ]),
            html.Div([panel_shell(ctx, p, lang) for p in right], className="col right"),
            shell(panels[KPI_PANEL], lang, f"{KPI_PANEL}-panel", title=title, ident=KPI_STRIP),
        ]),
        dcc.Interval(id=ids.WALL_TICK, interval=int(ctx.settings.tick_seconds * 1000)),
        # Drawn over the header: it never takes a click (pointer-events: none), acknowledgement is at a console.
        html.Div(banner, id=ids.TAKEOVER, className=banner_cls, **{"aria-live": "assertive", "role": "alert"}),
        dcc.Store(id=ids.PANEL_HASHES, data={}),
        dcc.Store(id=ids.THEMES_VERSION, data=ctx.topics.fingerprint()),
        beat_store("wall"),
    ])


def digest(value: Any) -> str:
    """A short fingerprint of rendered components, to send only panels that changed."""
    return hashlib.blake2b(json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True).encode(),
                           digest_size=8).hexdigest()


def register(app: Dash, ctx: AppContext) -> None:
    """The wall's callbacks: the live tick, the click into a county, rotation and the screen width."""

    @app.callback(
        Output({"type": ids.PANEL_BODY, "name": ALL}, "children"),
        Output({"type": ids.PANEL_META, "name": ALL}, "children"),
        Output({"type": ids.PANEL, "name": ALL}, "className"),
        Output(ids.STATUS, "children"),
        Output(ids.TICKER, "children"),
        Output(ids.CITY_MAP, "figure", allow_duplicate=True),
        Output(ids.MAP_LEGEND, "children"),
        Output(ids.TAKEOVER, "children"),
        Output(ids.TAKEOVER, "className"),
        Output(ids.PANEL_HASHES, "data"),
        Output(ids.PAGE, "children", allow_duplicate=True),
        Output(beat_id("wall"), "data"),
        Input(ids.WALL_TICK, "n_intervals"),
        State({"type": ids.PANEL, "name": ALL}, "id"),
        State(ids.URL, "search"),
        State(ids.PANEL_HASHES, "data"),
        State(ids.VIEWPORT, "data"),
        State(ids.THEMES_VERSION, "data"),
        prevent_initial_call="initial_duplicate",
        # A slow tick holds the next one back instead of letting requests pile up.
        running=[(Output(ids.WALL_TICK, "disabled"), True, False)],
    )
    def tick(_n: int, panel_ids: list[dict[str, str]], search: str | None, hashes: dict[str, str] | None,
             width: int | None, shown_version: str | None) -> tuple[Any, ...]:
        view = parse_view(query(search), ctx.settings.lang, set(ctx.names), ctx.theme_keys(), scope.current())
        names = [p["name"] for p in panel_ids]
        th = ctx.theme_for(view.theme, view.county)
        if shown_version is not None and ctx.topics.fingerprint() != shown_version:
            # A theme file changed (and was valid): the page is rebuilt with its new panels, in place.
            return ([no_update] * len(names), [no_update] * len(names), [no_update] * len(names),
                    *([no_update] * 7), layout(ctx, view, search), beat(ctx))
        sound = query(search).get("sound") == "1" or ctx.settings.alarm_sound
        f = shared_frame(ctx, th, view, sound)
        missing = [n for n in names if n not in f["panels"]]
        if missing:  # a page drawn from other panels than the theme's now (rare): render those on their own
            by_id = {p.id: p for p in (*th.placed(), STRIP)}
            placed = [by_id.get(n) or Placed(n, PanelDef(type=n, column="left")) for n in missing]
            extra = render_panels(ctx, placed, view.lang, view.county, view.theme, visible=view.visible)
            for n, body, meta, cls in zip(missing, *extra, strict=True):
                f["panels"][n] = [body, meta, cls]
                f["digests"][n] = digest([body, meta, cls])
        old = hashes or {}
        new = {}
        out_bodies, out_metas, out_classes = [], [], []
        for name in names:
            body, meta, cls = f["panels"][name]
            new[name] = f["digests"][name]
            same = old.get(name) == new[name]
            out_bodies.append(no_update if same else body)
            out_metas.append(no_update if same else meta)
            out_classes.append(no_update if same else cls)
        # The header, ticker, map colours and legend too are sent only when they changed: unchanged, they were
        # 9.4 kB of a steady tick's 9.6 kB (`make bench`, wall). Their keys cannot clash with panel names.
        label_px = round(LABEL_PX * max(1.0, (width or 1920) / 1920))
        new["@map"] = f"{f['digests']['@shading']}:{view.county or '-'}:{label_px}"
        sent = []
        for key in SHARED:
            if key != "@map":
                new[key] = f["digests"][key]
            if old.get(key) == new[key]:
                sent.append(no_update)  # the screen shows it already: most ticks of a steady wall
            elif key == "@map":
                sent.append(map_patch(ctx, MapState(Shading(**f["shading"]), "", ""), view.county, width))
            else:
                sent.append(f["shared"][key])
        return (out_bodies, out_metas, out_classes, *sent, new, no_update, beat(ctx))

    @app.callback(Output(ids.URL, "pathname"), Input(ids.CITY_MAP, "clickData"), State(ids.CITY_MAP, "figure"),
                  prevent_initial_call=True)
    def drill(click: dict[str, Any] | None, figure: dict[str, Any]) -> Any:
        adcode = clicked_county(click, figure, ctx.names)
        return f"/county/{adcode}" if adcode else no_update

    app.clientside_callback(ROTATE_JS, Output(ids.URL, "search", allow_duplicate=True),
                            Input(ids.CLOCK_TICK, "n_intervals"), State(ids.URL, "search"),
                            State(ids.COUNTIES, "data"), prevent_initial_call=True)
    app.clientside_callback(VIEWPORT_JS, Output(ids.VIEWPORT, "data"), Input(ids.URL, "pathname"))


SHARED_ANSWERS = 4096  # answers kept: views × the states screens of a view are in × two windows, with room
# What a tick sends besides the panels, in output order.
SHARED = ("@status", "@ticker", "@map", "@legend", "@takeover", "@takeover-class")


def shared_frame(ctx: AppContext, th: Theme, view: View, sound: bool) -> dict[str, Any]:
    """The tick of a view, rendered once per tick window and shared by every screen showing it (ctx.ticks)."""
    window = int(ctx.clock.time() // ctx.settings.tick_seconds)
    seen = ",".join(sorted(view.visible)) if view.visible is not None else "*"
    key = (f"wall:{ctx.topics.fingerprint()}:{th.key}:{view.county or '-'}:{seen}:{view.lang}:{int(sound)}:"
           f"{ctx.settings.tick_seconds:g}")
    f = ctx.ticks.get(key, window, lambda: {**frame(ctx, th, view, sound), "window": window})
    if f.get("window", window) < window and has_request_context():
        g.zq_tick_stale = True  # the previous window's: this answer must not be kept as this window's
    # The caller may add panels of an outdated page to its copy, never to the shared one.
    return {**f, "panels": dict(f["panels"]), "digests": dict(f["digests"])}


def register_shared_answers(app: Dash, ctx: AppContext) -> None:
    """Screens of a view that show the same thing get the same answer within a tick window: kept in memory and sent
    again without running the callback (Dash's own per-request work was most of what the 300th screen cost).

    Registered after the sign-in gate, so an answer is only ever sent to whoever may ask. The key is the tick's
    whole state (the view's URL, the panels on the page, the digests the screen holds, its width, the theme files'
    fingerprint) and the window; n_intervals, the only input, changes nothing in the answer.
    """
    if ctx.settings.cache == "off":
        return  # no sharing at all: the baseline of `make bench --only load`
    output = next(k for k, v in app.callback_map.items()
                  if any(i.get("id") == ids.WALL_TICK for i in v.get("inputs", [])))
    marker = orjson.dumps(output)[1:-1]
    answers: OrderedDict[str, bytes] = OrderedDict()
    lock = threading.Lock()
    server = app.server

    def answer_key() -> str | None:
        if request.method != "POST" or request.path != "/_dash-update-component":
            return None
        raw = request.get_data(cache=True)  # kept for Dash, which reads it again
        if marker not in raw:
            return None
        body = orjson.loads(raw)
        if body.get("output") != output:
            return None
        window = int(ctx.clock.time() // ctx.settings.tick_seconds)
        # The viewer's counties are part of the state: a county user's screen never gets the city's answer.
        seen = sorted(scope.current() or ["*"])
        digest_ = hashlib.blake2b(orjson.dumps([body.get("state"), window, ctx.topics.fingerprint(), seen]),
                                  digest_size=16).hexdigest()
        return digest_

    @server.before_request
    def shared_answer() -> Response | None:
        k = answer_key()
        if k is None:
            return None
        with lock:
            kept = answers.get(k)
            if kept is not None:
                answers.move_to_end(k)
        if kept is not None:
            return Response(kept, mimetype="application/json")
        g.zq_tick_answer = k
        return None

    @server.after_request
    def keep_answer(resp: Response) -> Response:
        k = g.pop("zq_tick_answer", None)
        if k is not None and resp.status_code == 200 and not g.pop("zq_tick_stale", False):
            data = resp.get_data()
            with lock:
                answers[k] = data
                while len(answers) > SHARED_ANSWERS:
                    answers.popitem(last=False)
        return resp


def frame(ctx: AppContext, th: Theme, view: View, sound: bool) -> dict[str, Any]:
    """A view's tick as JSON: each panel's body, freshness line and class, the header, ticker, legend and banner,
    the map's shading, and a digest of each (what a screen compares with what it shows)."""
    left, right = columns(ctx, th)
    placed = [*left, *right, STRIP]
    # One snapshot for the whole tick: the panels, the map and the header read the store as of one moment, so two
    # of them never straddle an ingest commit (one figure in two places shows one value).
    with snapshot(ctx.engine) as s:
        bodies, metas, classes = render_panels(ctx, placed, view.lang, view.county, view.theme, th, session=s,
                                               visible=view.visible)
        # The city's open alarms, read once a tick: the map's ⚠ counts, the header and ticker, the banner.
        alarms = visible_alarms(alq.open_alarms(s, limit=None), view.visible)
        state = map_state(ctx, s, th, view.lang, alarms, view.visible)
        cond = conditions(s, ctx.now(), view.county, alarms)
        status = status_chips(ctx.health(s), q.dead_letter_count(s), cond, view.lang)
        lines = ticker(s, cond, view.lang, view.county)
        banner, banner_cls = takeover(ctx, s, view.lang, None, alarms, sound)
    ticker_items = [html.Span(line, className="ticker-item") for line in lines]
    out = as_json({
        "panels": {p.id: [b, m, c] for p, b, m, c in zip(placed, bodies, metas, classes, strict=True)},
        "shared": {"@status": status, "@ticker": ticker_items + ticker_items, "@legend": legend(state),
                   "@takeover": banner, "@takeover-class": banner_cls},
        "shading": dataclasses.asdict(state.shading),
    })
    out["digests"] = {**{n: digest(v) for n, v in out["panels"].items()},
                      **{k: digest(v) for k, v in out["shared"].items()}, "@shading": digest(out["shading"])}
    return out


def visible_alarms(alarms: list[Any], visible: frozenset[str] | None) -> list[Any]:
    """The alarms a viewer sees: all for the city, their counties' for a county user."""
    return alarms if visible is None else [a for a in alarms if scope.sees(visible, a.county_adcode)]


def as_json(value: Any) -> Any:
    """Components and figures as the plain JSON Dash sends them (what the tick cache keeps)."""
    return json.loads(json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder))


def takeover(ctx: AppContext, session: Session, lang: str, search: str | None,
             open_alarms: list[Any] | None = None, sound: bool | None = None) -> tuple[list[Any], str]:
    """The red-alarm banner and its class (hidden when no red alarm waits for acknowledgement)."""
    alarms = (alq.critical_unacknowledged(session) if open_alarms is None
              else sorted((a for a in open_alarms if alq.takes_over(a)), key=alq.banner_order))
    if sound is None:
        sound = query(search).get("sound") == "1" or ctx.settings.alarm_sound
    return takeover_banner(ctx, alarms, lang, sound), "takeover" + ("" if alarms else " hidden")


def takeover_banner(ctx: AppContext, alarms: list[Any], lang: str, sound: bool = False) -> list[Any]:
    """The red banner: the first alarm in banner order (the most severe, then the one raised last), the titles of
    the next ones, how many there are, and where to acknowledge."""
    if not alarms:
        return []
    first = alarms[0]
    local = first.opened_at.astimezone(ctx.now().tzinfo)
    county = ctx.county_name(first.county_adcode, lang) if first.county_adcode else t("city", lang)
    out: list[Any] = [
        html.Div(t("takeover_head", lang), className="takeover-head"),
        html.Div(pick(first.title_zh, first.title_en, lang), className="takeover-title", id="takeover-title"),
        html.Div(f"{county} · {local:%H:%M:%S} · " + t("takeover_how", lang, n=len(alarms)),
                 className="takeover-meta"),
    ]
    if len(alarms) > 1:  # the others are still waiting: name them, so none hides behind the newest
        others = [pick(a.title_zh, a.title_en, lang) for a in alarms[1:1 + BANNER_ALSO]]
        more = len(alarms) - 1 - len(others)
        text = t("title_sep", lang).join(others)
        if more:
            text += t("takeover_more", lang, n=more)
        out.append(html.Div(t("takeover_also", lang, titles=text), className="takeover-also", id="takeover-also"))
    if sound:  # browsers play it only where autoplay is allowed (a kiosk flag): see docs/wall.md
        out.append(html.Audio(src="/assets/alarm.wav", autoPlay=True, loop=True, id="takeover-sound"))
    return out


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


def render_panels(ctx: AppContext, placed: list[Placed], lang: str, county: str | None,
                  theme_key: str | None, theme: Theme | None = None,
                  session: Session | None = None,
                  visible: frozenset[str] | None = None) -> tuple[list[Any], list[Any], list[str]]:
    """Bodies, freshness lines and classes of the placed panels, in one session (theme: an unsaved edit's; session:
    the caller's, a tick's snapshot)."""
    bodies, metas, classes = [], [], []
    with nullcontext(session) if session is not None else Session(ctx.engine) as s:
        th = theme or (ctx.theme(theme_key) if theme_key else None)
        inp = PanelInput(session=s, lang=lang, county=county, health=ctx.health(s), now=ctx.now(),
                         names=ctx.county_names(lang), theme=theme_key,
                         theme_def=ctx.theme_for_panels(th) if th is not None else None,
                         counties=ctx.counties_wall, layers=ctx.registries.layers, measures=ctx.registries.measures,
                         city=ctx.city, visible=visible)
        for p in placed:
            body, meta, cls = render_one(ctx, p, inp)
            bodies.append(body)
            metas.append(meta)
            classes.append(cls)
    return bodies, metas, classes


def render_one(ctx: AppContext, placed: Placed, inp: PanelInput) -> tuple[Any, Any, str]:
    """One panel's body, freshness line and class; a panel that fails shows why and the others still draw."""
    panel = ctx.registries.panels[placed.type]
    try:
        # The settings as the theme's loader read them (topics/loader.py); read here only for a panel the wall
        # adds itself (the KPI strip, one a page shows after its theme dropped it) or a theme built in code.
        settings = placed.panel.checked
        if not isinstance(settings, panel.settings):
            context: dict[str, Any] = {"city": inp.city, "feeds": ctx.registries.feeds}
            if inp.theme_def:
                context["theme"] = inp.theme_def
            settings = panel.settings.model_validate(placed.panel.settings, context=context)
        out = panel.render(replace(inp, settings=settings))
    except Exception as e:  # noqa: BLE001 — one panel's fault must not blank the wall
        log.exception("panel %s (%s) failed", placed.id, placed.type)
        out = PanelOutput(html.Div(f"{t('panel_failed', inp.lang)}: {type(e).__name__}", className="empty problem"),
                          None)
    meta, cls = freshness(panel, out, inp)
    return out.body, meta, f"{cls} {placed.type}-panel"
