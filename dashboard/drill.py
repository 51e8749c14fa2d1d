"""The drill-down map as pure functions: what a URL asks for, the data then, and the layers' traces.

City scope draws counties (any KPI, or open cases), county scope draws that county's grid cells; both
can add devices by status, cases by step, a hexagon aggregation and a heat layer, live or as they were
at any moment of the last 24 hours (`?at=`).
"""

from __future__ import annotations

import hashlib
import math
import operator
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import orjson
from sqlalchemy.orm import Session

from dashboard import scope
from dashboard.context import AppContext
from measures import devices
from layers import PointRow, map_figure_dict
from layers.choropleth import Shading, plain
from layers.classify import shading_for_metric
from layers.points import CELLS_ALONG
from settings import CITY_TZ
from store import drill_queries as dq
from dashboard.panels.base import default_city
from geo import City
from topics import Theme, builtin_themes
from words import lang_param, lang_query, norm, pick, t

CITY = "city"  # the city scope of a drill view (its counties), beside a county's
REPLAY_HOURS = 24
REPLAY_STEP_MIN = 15
REPLAY_STEPS = REPLAY_HOURS * 60 // REPLAY_STEP_MIN  # slider positions; the last one is "now"
# Layers each scope offers, in drawing order; the base (counties or grid cells) is drawn first.
CITY_LAYERS = ("county_choropleth", "hexbin", "heat", "events", "devices")
COUNTY_LAYERS = ("grid_choropleth", "hexbin", "heat", "events", "devices")
CITY_DEFAULT = ("county_choropleth",)  # aggregates only: the city has thousands of points
COUNTY_DEFAULT = ("grid_choropleth", "devices")  # cases by cell; their points one toggle away
OPEN_EVENTS = "open_events"
# What a click on each layer's trace opens: the customdata of its traces is prefixed with this.
CLICK_TARGETS = {"county_choropleth": "county", "county-labels": "county", "neighbours": "county",
                 "grid_choropleth": "grid", "devices": "device", "events": "case"}


@dataclass(frozen=True)
class DrillView:
    """What a drill URL says: language, layers shown, the replay moment (None: live), the city's measure."""

    lang: str = "zh"
    layers: tuple[str, ...] = ()
    at: datetime | None = None
    metric: str = OPEN_EVENTS
    screen: float = 1.0  # the screen's width over 1920 px (not in the URL: each screen knows its own)
    px: int = 1920  # the screen's width in CSS pixels: a phone's map draws coarser device cells
    visible: frozenset[str] | None = None  # the viewer's counties (None: the city); not in the URL (dashboard/scope)

    def params(self, scope_default: tuple[str, ...], **changes: object) -> dict[str, str | None]:
        """URL parameters of this view (defaults left out)."""
        v = replace(self, **changes) if changes else self
        return {"lang": lang_param(v.lang),
                "layers": ",".join(v.layers) if v.layers != scope_default else None,
                "at": v.at.astimezone(CITY_TZ).strftime("%Y-%m-%dT%H:%M") if v.at else None,
                "metric": v.metric if v.metric != OPEN_EVENTS else None}


def kpi_names(key: str, themes: Sequence[Theme] | None = None, city: City | None = None) -> tuple[str, str, str]:
    """(zh, en, unit) of a KPI as every county reports it: a wall KPI for one county loses the county's name
    (themes: the packaged ones by default; city: the app's, default the default settings' city)."""
    counties = (city or default_city()).counties
    for th in themes if themes is not None else builtin_themes():
        for d in th.kpis:
            if d.key == key:
                zh, en = d.name_zh, d.name_en
                if d.region in counties:  # one county's, e.g. 端州区AQI / Duanzhou AQI → AQI
                    zh = zh.removeprefix(counties[d.region])
                    en = en.split(" ", 1)[1] if " " in en else en
                return zh, en, d.unit or ""
    return key, key, ""


def metric_choices(themes: Sequence[Theme] | None = None, city: City | None = None
                   ) -> list[tuple[str, str, str, str]]:
    """(key, zh, en, unit) of the measures a city map can be coloured by: open cases and every county KPI
    of the themes (pass the app's current themes: theme files change while it runs; default the packaged)."""
    themes = themes if themes is not None else builtin_themes()
    out = [(OPEN_EVENTS, "在办网格事件", "Open grid cases", "件")]
    for key in dict.fromkeys(k for th in themes for k in th.by_county):
        if key != "social.open_grid_cases":  # the same as open cases, counted from the cases themselves
            out.append((key, *kpi_names(key, themes, city)))
    return out


def parse_drill(params: dict[str, str], default_lang: str, offered: tuple[str, ...], default: tuple[str, ...],
                now: datetime, width: int | None = None, themes: Sequence[Theme] | None = None,
                visible: frozenset[str] | None = None) -> DrillView:
    """The view a drill URL names; unknown layers, bad times and times outside the last 24 h are dropped."""
    lang = norm(params.get("lang", default_lang))
    if "layers" in params:
        layers = tuple(n for n in offered if n in params["layers"].split(","))
    else:
        layers = default
    at = None
    if raw := params.get("at"):
        try:
            parsed = datetime.fromisoformat(raw)
            parsed = parsed.replace(tzinfo=CITY_TZ) if parsed.tzinfo is None else parsed
            if now - timedelta(hours=REPLAY_HOURS) <= parsed < now:
                at = parsed
        except ValueError:
            at = None
    metric = params.get("metric", OPEN_EVENTS)
    if metric not in {k for k, *_ in metric_choices(themes)}:
        metric = OPEN_EVENTS
    screen = max(1.0, min(4.0, (width or 1920) / 1920))
    px = max(320, min(7680, width or 1920))
    return DrillView(lang=lang, layers=layers, at=at, metric=metric, screen=screen, px=px, visible=visible)


def replay_end(now: datetime) -> datetime:
    """The slider's right end: now, floored to the step so positions are stable for a while."""
    local = now.astimezone(CITY_TZ)
    return local.replace(minute=local.minute - local.minute % REPLAY_STEP_MIN, second=0, microsecond=0)


def slider_value(at: datetime | None, end: datetime) -> int:
    """The slider position of a replay moment (the last position is live)."""
    if at is None:
        return REPLAY_STEPS
    steps = round((at - end).total_seconds() / 60 / REPLAY_STEP_MIN)
    return max(0, min(REPLAY_STEPS - 1, REPLAY_STEPS + steps))


def slider_time(value: int | None, end: datetime) -> datetime | None:
    """The moment a slider position stands for (None at the live end)."""
    if value is None or value >= REPLAY_STEPS:
        return None
    return end - timedelta(minutes=REPLAY_STEP_MIN * (REPLAY_STEPS - value))


# ---- data at a moment ---------------------------------------------------------------------------


def device_status(kind: str, reporting: bool, online: bool | float | None, data: dict[str, Any] | None) -> str:
    """A device's status from its last message (measures.devices: the one rule)."""
    return devices.device_status(kind, reporting, online, data)


@dataclass(frozen=True)
class MapData:
    """Everything the layers draw, as of one moment."""

    at: datetime
    live: bool
    events: list[dq.EventAt]
    devices: list[PointRow]


def map_data(ctx: AppContext, session: Session, county: str | None, at: datetime | None, with_devices: bool,
             now: datetime) -> MapData:
    """Open cases (with their step then) and, when asked, device states at a moment; `at=None` is now — read once
    a tick for every screen and leader showing the county (as its header and KPI table are), since the open
    cases and device states were two thirds of a drill's reads (`make bench`, drill)."""
    moment = at or now

    def read() -> MapData:
        events = dq.events_open_now(session, county) if at is None else _events_then(ctx, session, county, moment)
        devices = devices_at(ctx, session, county, moment) if with_devices else []
        return MapData(at=moment, live=at is None, events=events, devices=devices)

    if at is not None:
        return read()
    return ctx.cache.get(("drill-data", county, with_devices), ctx.settings.tick_seconds, read)


# A replayed moment is read as what changed since a nearby moment read within this many seconds: a write about
# the past (a late message, a backfill) shows in a replay at most this late. Beyond REPLAY_NEAR, a whole read.
REPLAY_REUSE_S = 30.0
REPLAY_NEAR = timedelta(hours=2)


class ReplayBases:
    """The last few replayed moments' open cases per county (None: the city), to read the next as a change."""

    def __init__(self, keep: int = 3) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._bases: dict[str | None, list[tuple[float, datetime, list[dq.EventAt]]]] = {}

    def nearest(self, county: str | None, moment: datetime) -> tuple[float, datetime, list[dq.EventAt]] | None:
        """The base nearest to `moment` (its read's time, moment and cases), if one is fresh and near enough."""
        now = time.monotonic()
        with self._lock:
            fresh = [b for b in self._bases.get(county, []) if now - b[0] < REPLAY_REUSE_S
                     and abs(b[1] - moment) <= REPLAY_NEAR]
        return min(fresh, key=lambda b: abs(b[1] - moment), default=None)

    def add(self, county: str | None, read_at: float, moment: datetime, events: list[dq.EventAt]) -> None:
        """Keep a moment's cases; `read_at` is when the whole read it derives from was made (staleness is bounded
        from there, however many steps were derived since)."""
        with self._lock:
            bases = [b for b in self._bases.get(county, []) if b[1] != moment]
            self._bases[county] = [*bases, (read_at, moment, events)][-self.keep:]


def _events_then(ctx: AppContext, session: Session, county: str | None, moment: datetime) -> list[dq.EventAt]:
    """Open cases at a past moment: from a nearby replayed moment's when there is one, else a whole read."""
    bases = ctx.cache.get(("replay-bases",), math.inf, ReplayBases)
    base = bases.nearest(county, moment)
    if base is None:
        read_at, events = time.monotonic(), dq.events_as_of(session, moment, county)
    else:
        read_at, events = base[0], dq.events_as_of_from(session, moment, base[1], base[2], county)
    bases.add(county, read_at, moment, events)
    return events


def devices_at(ctx: AppContext, session: Session, county: str | None, moment: datetime) -> list[PointRow]:
    """The devices of the city or a county as points, each with its status at a moment (each kind's window)."""
    windows = ctx.device_windows()
    floor = moment - timedelta(seconds=ctx.settings.stale_after_s)
    since = defaultdict(lambda: floor, {kind: moment - w for kind, w in windows.items() if w})  # as reporting() has it
    status_of = devices.device_status
    # PointRow._make skips the constructor's check: device_status only answers valid statuses.
    return [PointRow._make((st.id, st.kind, st.lon, st.lat, st.name or st.id, status != "offline", status))
            for st in dq.device_states_as_of(session, moment, county, window=max(windows.values())).values()
            for status in (status_of(st.kind, st.last_ts is not None and st.last_ts >= since[st.kind], st.online,
                                     st.data),)]


# ---- traces -------------------------------------------------------------------------------------


def clickable(traces: list[Any]) -> list[Any]:
    """Prefix each trace's customdata with what a click on it opens (county:, grid:, device:, case:)."""
    for tr in traces:
        layer = (tr.meta or {}).get("layer") if isinstance(tr.meta, dict) else None
        # A cell of several devices names its place: the county holding it, or in a county its grid cell.
        target = "spot" if tr.meta and tr.meta.get("cell") else CLICK_TARGETS.get(layer or "")
        if target and tr.customdata is not None:
            tr.customdata = [f"{target}:{c}" for c in np.asarray(tr.customdata, dtype=object).ravel()]
    return traces


def city_shading(ctx: AppContext, session: Session, data: MapData, metric: str, lang: str,
                 visible: frozenset[str] | None = None) -> tuple[Shading, str]:
    """The counties' colours for a measure: open cases then, or a KPI's newest county values (of the `visible`
    counties only, when given: the others' values would show in the classes)."""
    names = ctx.county_names(lang)
    adcodes = list(ctx.counties_wall["adcode"])
    choices = {k: (zh, en, unit) for k, zh, en, unit in metric_choices(ctx.themes(), ctx.city)}
    zh, en, unit = choices[metric]
    if metric == OPEN_EVENTS:
        counts = Counter(e.county_adcode for e in data.events)
        values: dict[str, float | None] = {a: float(counts.get(a, 0)) for a in adcodes}
    else:
        seen = adcodes if visible is None else [a for a in adcodes if a in visible]
        points = ctx.registries.measures.latest(session, [metric], seen, ctx.now()).get(metric, {})
        values = {a: (points[a].value if a in points else None) for a in adcodes}
    standard = "aqi" if metric == "eco.aqi" else None
    return shading_for_metric(values, names, unit, adcodes, standard=standard, lang=lang), pick(zh, en, lang)


def grid_shading(cells: Any, data: MapData, ctx: AppContext, lang: str) -> Shading:
    """Grid cells coloured by the cases open in each then."""
    ids = list(cells["grid_id"])
    if data.events:
        located = ctx.grids.get().locate([e.lon for e in data.events], [e.lat for e in data.events])
        counts = Counter(g for g in located if g is not None)
    else:
        counts = Counter()
    names = dict(zip(cells["grid_id"], cells["name"], strict=True))
    return shading_for_metric({g: float(counts.get(g, 0)) for g in ids}, names, t("legend_cases", lang), ids,
                              lang=lang)


# Hexagons a size smaller than the grid cells beneath them: H3 res 6 (≈36 km²) for the city, 8 (≈0.7 km²) in a county.
HEX_RESOLUTION = {True: 6, False: 8}


def cells_along(px: int) -> int:
    """Device cells along a map's longer side: 64 at 1920 px and wider (fit_screen grows the squares with the
    screen), fewer on a narrower screen so a phone's cells stay ~30 px apart rather than a solid block."""
    return max(8, round(CELLS_ALONG * min(1.0, px / 1920)))


def _points_layers(ctx: AppContext, data: MapData, layers: tuple[str, ...], bounds: tuple[float, ...],
                   lang: str, city: bool, px: int = 1920) -> list[Any]:
    reg = ctx.registries.layers
    traces: list[Any] = []
    lons = [e.lon for e in data.events]
    lats = [e.lat for e in data.events]
    if "hexbin" in layers and data.events:
        traces += reg.build("hexbin", lons, lats, resolution=HEX_RESOLUTION[city], lang=lang)
    if "heat" in layers and data.events:
        traces += reg.build("heat", lons, lats, bounds, lang=lang)
    if "events" in layers and data.events:
        rows = [PointRow._make((e.id, "event", e.lon, e.lat, e.subcategory or e.category, True, "online"))
                for e in data.events]  # _make: no per-row check (9,000 cases in a city replay)
        traces += reg.build("events", rows, [e.step for e in data.events], lang,
                            categories=[(e.kind, e.category) for e in data.events])
    if "devices" in layers and data.devices:
        # The map's bounds: from layers.points.CLUSTER_FROM devices on, they are drawn per grid cell of the map.
        traces += reg.build("devices", data.devices, lang, bounds=bounds, along=cells_along(px))
    return traces


def see_through(traces: list[Any], layers: tuple[str, ...]) -> None:
    """Fills made translucent when the heat layer is on: plotly draws contours beneath every scatter fill."""
    if "heat" in layers:
        for tr in traces:
            tr.update(opacity=0.45)


def city_figure(ctx: AppContext, session: Session, view: DrillView, now: datetime) -> tuple[dict, str, Shading]:
    """The city drill map: counties by the chosen measure and the chosen layers, at the view's moment; a county
    user's counties only, the others outlined with no figure and no points."""
    data = visible_data(ctx, session, view, now)
    shading, title = city_shading(ctx, session, data, view.metric, view.lang, view.visible)
    names = ctx.county_names(view.lang)
    shading = scope.mask(shading, view.visible, names)
    reg = ctx.registries.layers
    if "county_choropleth" in view.layers:
        traces = reg.build("county_choropleth", ctx.counties_wall, shading, names)
    else:
        traces = reg.build("county_choropleth", ctx.counties_wall, plain(names, list(ctx.counties_wall["adcode"])),
                           names)
    b = tuple(ctx.counties_wall.total_bounds)
    see_through(traces, view.layers)
    # County names on top of whatever the other layers draw over the fills.
    labels = [t for t in traces if (t.meta or {}).get("layer") == "county-labels"]
    traces = [t for t in traces if t not in labels]
    traces += _points_layers(ctx, data, view.layers, b, view.lang, city=True, px=view.px) + labels
    figure = fit_screen(map_figure_dict(clickable(traces), b, legend=True), view.screen)
    return with_key(figure, view, data, shading), title, shading


def visible_data(ctx: AppContext, session: Session, view: DrillView, now: datetime) -> MapData:
    """The city's map data, or only that of the viewer's counties."""
    with_devices = "devices" in view.layers
    if view.visible is None:
        return map_data(ctx, session, None, view.at, with_devices, now)
    parts = [map_data(ctx, session, c, view.at, with_devices, now) for c in sorted(view.visible)]
    return MapData(at=parts[0].at, live=parts[0].live, events=[e for p in parts for e in p.events],
                   devices=[d for p in parts for d in p.devices])


def county_figure(ctx: AppContext, session: Session, adcode: str, view: DrillView,
                  now: datetime) -> tuple[dict, Shading | None]:
    """A county's drill map: neighbours faint, its grid cells by open cases, and the chosen layers."""
    reg = ctx.registries.layers
    frame, b = county_frame(ctx, adcode, view.lang)
    traces: list[Any] = []
    data = map_data(ctx, session, adcode, view.at, "devices" in view.layers, now)
    shading = None
    if "grid_choropleth" in view.layers:
        cells = ctx.grids.get().in_county(adcode)
        shading = grid_shading(cells, data, ctx, view.lang)
        traces += reg.build("grid_choropleth", cells, shading, lang=view.lang, precision=4)  # ≈10 m: under a pixel
    see_through(traces, view.layers)
    traces += _points_layers(ctx, data, view.layers, b, view.lang, city=False, px=view.px)
    figure = map_figure_dict([*frame, *clickable(traces)], b, legend=True)
    if "heat" in view.layers:  # see_through, on this figure's own copies of the shared frame traces
        for trace in figure["data"][:len(frame)]:
            trace["opacity"] = 0.45
    figure = fit_screen(figure, view.screen)
    return with_key(figure, view, data, shading), shading


def county_frame(ctx: AppContext, adcode: str, lang: str) -> tuple[tuple[Any, ...], tuple[float, ...]]:
    """A county map's neighbours (faint, a click drills into them) and its own outline, and its bounds: drawn once
    per process and language from the boundaries (ctx.shapes), as they never change while it runs. The traces are
    shared by every figure: map_figure_dict and fit_screen copy what they change."""
    key = ("county-frame", adcode, lang)
    got = ctx.shapes.get(key)
    if got is None:
        reg = ctx.registries.layers
        names = ctx.county_names(lang)
        others = ctx.counties_wall[ctx.counties_wall["adcode"] != adcode]
        traces = reg.build("county_choropleth", others, plain(names, list(others["adcode"])), names, labels=False)
        for tr in traces:
            tr.update(fillcolor="rgba(20,30,50,0.6)", line={"color": "#2c3e5c", "width": 1},
                      meta={"layer": "neighbours"})
        own = ctx.counties_detail[ctx.counties_detail["adcode"] == adcode]
        outline = reg.build("county_choropleth", own, plain(names, [adcode]), names, labels=False)
        outline[0].update(fillcolor="rgba(40,70,110,0.55)", line={"color": "#9fb3c8", "width": 2},
                          meta={"layer": "outline"}, hoverinfo="skip")
        got = ctx.shapes[key] = (tuple(clickable(traces + outline)), tuple(own.total_bounds))
    return got


_ID_STEP = operator.attrgetter("id", "step")  # picked in C: a city replay has ~9,000 cases


def with_key(figure: dict, view: DrillView, data: MapData, shading: Shading | None) -> dict:
    """The figure with a fingerprint of what it shows in layout.meta, so an unchanged map is not resent.

    Hashing what the map was drawn from costs ≈1 ms; hashing the figure's JSON cost 16 ms a drill.
    """
    what = [view.lang, list(view.layers), view.metric, view.screen, view.px, list(map(_ID_STEP, data.events)),
            [(d.id, d.status) for d in data.devices],
            [shading.colours, shading.labels, shading.hover] if shading else None]
    figure["layout"]["meta"] = {"key": hashlib.blake2b(orjson.dumps(what), digest_size=8).hexdigest()}
    return figure


def fit_screen(figure: dict, screen: float) -> dict:
    """Markers, lines' widths and text scaled with the screen, as the wall's labels are (16 px at 1920 wide)."""
    if screen <= 1.0:
        return figure
    for trace in figure["data"]:
        marker = trace.get("marker")
        if isinstance(marker, dict) and isinstance(marker.get("size"), int | float):
            trace["marker"] = {**marker, "size": marker["size"] * screen}
        font = trace.get("textfont")
        if isinstance(font, dict) and isinstance(font.get("size"), int | float):
            trace["textfont"] = {**font, "size": font["size"] * screen}
    layout = figure["layout"]
    layout["font"] = {**layout.get("font", {}), "size": round(12 * screen)}
    layout["legend"] = {**layout.get("legend", {}), "font": {**layout.get("legend", {}).get("font", {}),
                                                             "size": round(12 * screen)}}
    return figure


def figure_key(figure: dict) -> str | None:
    """The fingerprint with_key put on a figure."""
    return (figure.get("layout", {}).get("meta") or {}).get("key")


def click_target(click: dict[str, Any] | None) -> tuple[str, str] | None:
    """(kind, id) of what a map click landed on: county, grid, device or case."""
    for point in (click or {}).get("points", []):
        value = point.get("customdata")
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and ":" in value:
            kind, _, ident = value.partition(":")
            if kind in {"county", "grid", "device", "case", "spot"} and ident:
                return kind, ident
    return None


def target_path(kind: str, ident: str) -> str:
    """The URL of a drill target."""
    return f"/{kind}/{ident}"


def spot_target(ident: str, current: str | None, locate: Callable[[float, float], str | None],
                county_of: Mapping[str, str]) -> tuple[str, str] | None:
    """What a click on a place (a cell of several devices: "lon,lat") opens: on the city's map the county holding
    it, on a county's its grid cell (whose page lists the devices in it); None outside every grid cell."""
    try:
        lon, lat = (float(v) for v in ident.split(","))
    except ValueError:
        return None
    grid = locate(lon, lat)
    if grid is None:
        return None
    if current is None or current == CITY:
        return ("county", county_of[grid]) if grid in county_of else None
    return "grid", grid


def click_url(click: dict[str, Any] | None, search: str | None, counties: Mapping[str, str],
              current: str | None = None, grids: Any = None) -> tuple[str, str] | None:
    """(path, query) a map click opens, keeping the language; None for a miss, the current county or an unknown one.
    `grids` (dashboard.grids.GridCells) places a click on a cell of several devices."""
    target = click_target(click)
    if target is not None and target[0] == "spot":
        if grids is None:
            return None
        county_of = dict(zip(grids.frame["grid_id"], grids.frame["county_adcode"], strict=True))
        target = spot_target(target[1], current, lambda x, y: grids.locate([x], [y])[0], county_of)
    if target is None or (target[0] == "county" and (target[1] == current or target[1] not in counties)):
        return None
    lang = parse_qs((search or "").lstrip("?")).get("lang", [None])[0]
    return target_path(*target), lang_query(lang)
