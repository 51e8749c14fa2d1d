"""Configurable panels a theme owner places and sets in a theme file: a device map, a case table, the
standing alarms and a Markdown note (point_layer, event_table, alarm_list, markdown).

Each type's settings model is what the theme file is checked against (with its line) and what the editor's
form is drawn from, so settings stay flat. A device's status is the one rule of `measures.devices` (the drill
map and the device page read it too), with the hydrology and air-quality alarms the header's warnings use
(water at its warning level, AQI level 4 and up), so a point reads the same on every map and list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal
from urllib.parse import quote

from dash import dcc, html
from pydantic import AfterValidator, Field, ValidationInfo, model_validator
from sqlalchemy.orm import Session

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType, figure
from dashboard.panels.cases import class_name
from dashboard.panels import markdown
from dashboard.panels.settings import PanelSettings, safe_markdown
from dashboard.status import StandingWarning, warnings_of, workflow_steps
from feeds.health import FeedHealth
from feeds.known import feeds_in
from feeds.payloads import CLOSING_STEP, COMPONENT_CATEGORIES, EVENT_CATEGORIES, WORKFLOW_STEPS
from layers import LayerRegistry, PointRow, map_figure_dict, register_builtin_layers
from layers.choropleth import plain
from layers.points import ALARM_RED, KIND_STYLE, STALE_GREY, STATUS_ORDER, device_marker, kind_name, step_colour
from layers.figure import scatter
from settings import Settings
from standards.colours import ORANGE, RED, YELLOW
from measures import devices
from measures.cases import OVERDUE_CASES_KEY
from store import alarm_queries as alq
from store.drill_queries import DeviceStateAt, device_states_as_of
from store.env_queries import events_updated_at
from store.case_queries import hours_over
from store.panel_queries import CaseLine, latest_cases, overdue_cases
from topics.cases import case_limits
from words import Words, html_lang, lang_query, pick, t

DESC = Words("settings")  # the settings' descriptions, both languages in one (the editor and the schemas)


tx = Words("panels.lists")  # this module's words in the catalog (words/locale)
PANEL = Words("panel")  # the built-in panel types' titles, by their names


def _empty(text: str) -> html.Div:
    return html.Div(text, className="empty ls-empty")


def _lang_attr(lang: str) -> str:
    return html_lang(lang)


# ---- shared --------------------------------------------------------------------------------------------

def _cadences() -> dict[str, int]:
    """The feeds' own cadences, for when the wall hands over no health for a feed (a preview, a test)."""
    return {f.name: f.cadence_s for f in feeds_in(None)}


# The floor of the silence rule as the app's settings default it; the health a wall passes carries each
# feed's cadence (settings.feed_cadences applied), not the floor, which panels are not given.
_FLOOR_S: int = Settings.model_fields["stale_after_s"].default


@cache
def _default_layers() -> LayerRegistry:
    reg = LayerRegistry()
    register_builtin_layers(reg)
    return reg


# ---- point_layer ---------------------------------------------------------------------------------------

def _device_kind(value: str, info: ValidationInfo) -> str:
    """A kind of device the wall has: a located feed of the validation context's registry (else the built-ins and
    the plugins this process loads), named with the known kinds when it is not one."""
    known = feeds_in(info.context).devices()
    if value not in known:
        raise ValueError(f"{value!r} is not a device kind of this wall ({', '.join(sorted(known))})")
    return value


DeviceKind = Annotated[str, Field(json_schema_extra={"x-choices": "devices"}), AfterValidator(_device_kind)]
DeviceStatus = Literal["online", "offline", "silent", "alarm"]
STATUSES: tuple[str, ...] = ("online", "offline", "silent", "alarm")
# The layer's name for a status where it differs (layers.points says "stale" for a silent device).
_LAYER_STATUS = {"silent": "stale"}
# Kinds the devices layer does not style yet, drawn here the same way (colour per kind, marker per status).
EXTRA_KIND_STYLE: dict[str, tuple[str, str]] = {"air_quality": ("#aed581", "square"), "hydrology": ("#7986cb", "hexagon")}
PLUGIN_KIND_COLOUR = "#4dd0e1"  # a kind no style here knows (a plugin's feed): one colour, its status marks it
POINT_SIZE = {False: 9, True: 12}  # px, city view and county view
# The count chips' dots, drawn as the map marks each status: filled, hollow (offline), grey, alarm red.
STATUS_DOT: dict[str, dict[str, str]] = {
    "online": {"background": "#66bb6a"}, "offline": {"background": "transparent", "border": "0.12rem solid #8a9bb5"},
    "silent": {"background": STALE_GREY}, "alarm": {"background": ALARM_RED}}


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class PointLayerSettings(PanelSettings):
    """设备点位图：所选类型的设备按状态着色 / A map of the chosen kinds of devices, coloured by status."""

    kinds: Annotated[list[DeviceKind], AfterValidator(_unique)] = Field(
        min_length=1, description="设备类型（至少一种；第一种决定数据时效）/ Device kinds (at least one; the first "
                                  "sets the freshness badge)")
    statuses: Annotated[list[DeviceStatus], AfterValidator(_unique)] = Field(
        default=list(STATUSES), min_length=1,
        description=DESC.pair("PointLayerSettings.statuses"))
    show_counts: bool = Field(True, description=DESC.pair("PointLayerSettings.show_counts"))


def kind_window(kind: str, health: dict[str, FeedHealth], floor_s: int = _FLOOR_S) -> timedelta:
    """How long a device of a kind may be silent and still count as reporting (measures.devices: one rule)."""
    h = health.get(kind)
    return devices.reporting_window(kind, {kind: h.cadence_s} if h is not None else _cadences(), floor_s)


def point_status(st: DeviceStateAt, at: datetime, window: timedelta) -> str:
    """online, offline, silent or alarm (measures.devices: the drill map's and the device page's rule too)."""
    status = devices.device_status(st.kind, devices.reporting(st.last_ts, at, window), st.online, st.data)
    return "silent" if status == "stale" else status


@dataclass(frozen=True)
class PointView:
    """What the point panel draws: each device of the chosen kinds with its status, and the counts."""

    points: list[PointRow]  # only the chosen statuses
    counts: dict[str, int]  # every status of the chosen kinds
    newest: datetime | None


def point_view(session: Session, settings: PointLayerSettings, county: str | None, now: datetime,
               health: dict[str, FeedHealth]) -> PointView:
    """The chosen kinds' devices (city or county) with their status now, filtered to the chosen statuses."""
    windows = {k: kind_window(k, health) for k in settings.kinds}
    states = device_states_as_of(session, now, county, window=max(windows.values()))
    counts: Counter[str] = Counter()
    points, times = [], []
    for st in states.values():
        if st.kind not in windows:
            continue
        status = point_status(st, now, windows[st.kind])
        counts[status] += 1
        if st.last_ts is not None:
            times.append(st.last_ts)
        if status in settings.statuses:
            points.append(PointRow(st.id, st.kind, st.lon, st.lat, st.name or st.id, status != "offline",
                                   status=_LAYER_STATUS.get(status, status)))  # type: ignore[arg-type]
    return PointView(points, {s: counts.get(s, 0) for s in STATUSES}, max(times, default=None))


def extra_kind_traces(rows: Sequence[PointRow], lang: str) -> list[Any]:
    """Traces of the kinds the devices layer has no style for, marked by status as it marks them."""
    traces = []
    for kind in _unique([r.kind for r in rows]):
        colour, symbol = kind_style(kind)
        first = True
        for status in STATUS_ORDER:
            sel = [r for r in rows if r.kind == kind and r.status == status]
            if not sel:
                continue
            word = tx(f"status_{'silent' if status == 'stale' else status}", lang)
            traces.append(scatter(
                x=[round(r.lon, 5) for r in sel], y=[round(r.lat, 5) for r in sel], mode="markers",
                name=kind_label(kind, lang), legendgroup=kind, showlegend=first,
                marker=device_marker(status, colour, symbol), text=[r.label for r in sel],
                hovertemplate=f"%{{text}}<br>{word}<extra></extra>", customdata=[r.id for r in sel],
                meta={"layer": "devices", "kind": kind, "status": status}))
            first = False
    return traces


def kind_style(kind: str) -> tuple[str, str]:
    """(colour, symbol) a kind is drawn with; a kind no style knows (a plugin's feed) in one neutral colour."""
    return KIND_STYLE.get(kind) or EXTRA_KIND_STYLE.get(kind) or (PLUGIN_KIND_COLOUR, "circle")


def kind_label(kind: str, lang: str) -> str:
    """A device kind's name in a language: the word kind_<kind>, else (a plugin's kind) its feed's title."""
    if kind in KIND_STYLE or kind in EXTRA_KIND_STYLE:
        return kind_name(kind, lang)
    feed = feeds_in(None).get(kind)
    return kind if feed is None else pick(feed.title_zh, feed.title_en, lang)


_SYMBOL_CHAR = {"circle": "●", "diamond": "◆", "triangle-up": "▲", "square": "■", "hexagon": "⬢"}


def point_figure(inp: PanelInput, points: Sequence[PointRow]) -> dict | None:
    """The panel's map: county outlines (the chosen county lit, the view fitted to it) and the devices."""
    reg = inp.layers or _default_layers()
    traces: list[Any] = []
    bounds: tuple[float, float, float, float] | None = None
    counties = inp.counties
    if counties is not None and len(counties):
        adcodes = list(counties["adcode"])
        names = {a: inp.names.get(a, a) for a in adcodes}
        traces += reg.build("county_choropleth", counties, plain(names, adcodes), names, labels=False)
        for tr in traces:
            mine = (tr.meta or {}).get("adcode") == inp.county
            tr.update(fillcolor="rgba(40,70,110,0.55)" if mine else "rgba(20,30,50,0.6)",
                      line={"color": "#9fb3c8" if mine else "#2c3e5c", "width": 2 if mine else 1},
                      hoverinfo="skip", meta={"layer": "outline", "adcode": (tr.meta or {}).get("adcode")})
        own = counties[counties["adcode"] == inp.county] if inp.county else counties
        if len(own):
            b = own.total_bounds
            bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    layered = [p for p in points if p.kind in KIND_STYLE]
    devices = reg.build("devices", layered, inp.lang) if layered else []
    devices += extra_kind_traces([p for p in points if p.kind not in KIND_STYLE], inp.lang)
    for tr in devices:  # a panel's map is a fraction of the drill map's: smaller markers, most in a city view
        tr.update(marker={"size": POINT_SIZE[inp.county is not None]})
    traces += devices
    if bounds is None:
        if not points:
            return None
        xs, ys = [p.lon for p in points], [p.lat for p in points]
        bounds = (min(xs) - 0.05, min(ys) - 0.05, max(xs) + 0.05, max(ys) + 0.05)
    return map_figure_dict(traces, bounds, legend=False)


def render_point_layer(inp: PanelInput) -> PanelOutput:
    """Devices of the chosen kinds as points coloured by status, with the count of each status above."""
    s: PointLayerSettings = inp.settings or PointLayerSettings(kinds=["video_point"])
    lang = inp.lang
    view = point_view(inp.session, s, inp.county, inp.now, inp.health)
    feed = s.kinds[0]
    if not any(view.counts.values()):
        return PanelOutput(_empty(t("no_data", lang)), None, feed)
    kids: list[Any] = []
    if s.show_counts:
        kids.append(html.Div(className="ls-counts", children=[
            html.Span(className=f"ls-count ls-st-{st}", children=[
                html.I(className="ls-dot", style=STATUS_DOT[st]),
                html.Span(tx(f"status_{st}", lang), className="ls-count-label"),
                html.B(str(view.counts[st]), className="ls-count-n")])
            for st in STATUSES if st in s.statuses]))
    if len(s.kinds) > 1:
        kids.append(html.Div(className="ls-kinds", children=[
            html.Span(className="ls-kind", children=[
                html.Span(_SYMBOL_CHAR.get(kind_style(k)[1], "●"), style={"color": kind_style(k)[0]}),
                html.Span(kind_label(k, lang))]) for k in s.kinds]))
    figure = point_figure(inp, view.points)
    if figure is not None:
        kids.append(dcc.Graph(figure=figure, className="ls-map", responsive=True,
                              config={"displayModeBar": False, "scrollZoom": False, "doubleClick": False}))
    body = html.Div(kids, className="ls-points", lang=_lang_attr(lang))
    return PanelOutput(body, view.newest, feed)


# ---- event_table ---------------------------------------------------------------------------------------

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys((*COMPONENT_CATEGORIES, *EVENT_CATEGORIES)))
Column = Literal["time", "county", "category", "subcategory", "step", "age", "address"]
DEFAULT_COLUMNS: tuple[str, ...] = ("time", "county", "subcategory", "step", "age")
OPEN_STEPS = tuple(range(1, CLOSING_STEP))
# Grid column of each table column: fixed widths for short values, shares of the rest for text (every row is its
# own grid, so only these keep the columns aligned); English county names are longer, Chinese ages wider.
COLUMN_WIDTH = {"time": "4.7rem", "county": "3.2rem", "category": "minmax(0, 1fr)", "subcategory": "minmax(0, 1.2fr)",
                "step": "minmax(0, 1.3fr)", "age": "3.9rem", "address": "minmax(0, 1.6fr)"}
COLUMN_WIDTH_EN = {**COLUMN_WIDTH, "county": "4.3rem", "age": "3.6rem"}


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError(f"{value!r} is not a top-level class of CJJ/T 106 ({'、'.join(CATEGORIES)})")
    return value


Category = Annotated[str, Field(json_schema_extra={"enum": list(CATEGORIES)}), AfterValidator(_category)]
Step = Annotated[int, Field(ge=1, le=7)]


class EventTableSettings(PanelSettings):
    """网格案件表：按环节、大类筛选，最新或超期最久在前 / Grid cases by step and class, newest or most overdue first."""

    steps: Annotated[list[Step], AfterValidator(_unique)] = Field(
        default=list(OPEN_STEPS), min_length=1,
        description="流程环节 1–7（默认 1–5 在办）/ Workflow steps 1–7 (default 1–5: open): "
                    + " → ".join(WORKFLOW_STEPS))
    categories: Annotated[list[Category], AfterValidator(_unique)] = Field(
        default=[], description="大类（空为全部）/ Top-level classes of CJJ/T 106 (empty: all)")
    overdue_only: bool = Field(False, description=DESC.pair("EventTableSettings.overdue_only"))
    limit: int = Field(8, ge=1, le=30, description=DESC.pair("EventTableSettings.limit"))
    columns: Annotated[list[Column], AfterValidator(_unique)] = Field(
        default=list(DEFAULT_COLUMNS), min_length=1,
        description=DESC.pair("EventTableSettings.columns"))

    @model_validator(mode="after")
    def _overdue_needs_open_steps(self) -> EventTableSettings:
        if self.overdue_only and not any(s in OPEN_STEPS for s in self.steps):
            raise ValueError(f"overdue_only lists open cases, but steps {self.steps} are all closed ones "
                             f"(open: 1–{CLOSING_STEP - 1})")
        return self


def fmt_duration(delta: timedelta, lang: str) -> str:
    """A case's age: minutes under an hour, hours (one decimal) under two days, then days."""
    hours = max(0.0, delta.total_seconds() / 3600)
    if hours < 1:
        return tx("minutes", lang, n=int(hours * 60))
    if hours < 48:
        return tx("hours", lang, n=f"{hours:.1f}")
    return tx("days", lang, n=f"{hours / 24:.1f}")


def case_href(case_id: str, lang: str) -> str:
    """The case page of a case, in the panel's language."""
    return f"/case/{quote(case_id, safe='')}" + lang_query(lang)


def _cell(column: str, c: CaseLine, inp: PanelInput, hours_over: float | None) -> html.Span:
    lang = inp.lang
    title: str | None = None
    extra = ""
    value: Any
    if column == "time":
        local = c.reported_at.astimezone(inp.now.tzinfo)
        value = local.strftime("%H:%M" if local.date() == inp.now.date() else "%m-%d %H:%M")
    elif column == "county":
        value = inp.names.get(c.county_adcode or "", c.county_adcode or "—")
    elif column == "category":
        value = class_name(c.kind, c.category, lang)
        title = f"{c.kind} · {c.category}"
    elif column == "subcategory":
        value = c.subcategory or "—"
    elif column == "step":
        name = workflow_steps(lang)[c.step - 1] if 1 <= c.step <= 7 else "?"
        value = [html.I(className="ls-dot", style={"background": step_colour(c.step)}), f"{c.step} {name}"]
        title = f"{c.step}/7 {name}"
    elif column == "age":
        value = fmt_duration((c.closed_at or inp.now) - c.reported_at, lang)
        if hours_over is not None and hours_over > 0:
            extra = " ls-late"
            title = tx("overdue_h", lang, h=f"{hours_over:.1f}")
    else:  # address: the case carries no street address; its description says where, else its grid cell
        value = c.description or c.grid_code or "—"
        title = value
    return html.Span(value, className=f"ls-td ls-c-{column}{extra}", title=title)


def _hours_over(c: CaseLine, now: datetime) -> float:
    """Hours past the limit (at closing, for a closed case): the overdue measure's rule (store.hours_over)."""
    return hours_over(c.closed_at or now, c.reported_at, c.deadline_at, case_limits().hours(c.subcategory))


def render_event_table(inp: PanelInput) -> PanelOutput:
    """Grid cases filtered by step and class, newest first (or most overdue first), each row a link to its case."""
    s: EventTableSettings = inp.settings or EventTableSettings()
    lang = inp.lang
    updated = events_updated_at(inp.session, inp.county)
    if s.overdue_only:
        limits = case_limits()
        late = overdue_cases(inp.session, inp.county, inp.now, limits.limits, limits.default_hours,
                             [st for st in s.steps if st in OPEN_STEPS], s.categories, s.limit)
        rows = [(r.case, r.hours_over) for r in late.rows]
        head = tx("overdue_total", lang, n=late.total)
        if set(s.steps) >= set(OPEN_STEPS) and not s.categories:  # unfiltered: the overdue measure itself
            region = inp.county or inp.city.adcode
            got = inp.measures.value(inp.session, OVERDUE_CASES_KEY, region, inp.now)
            head = html.Span(tx("overdue_total", lang, n=int(got.value) if got else late.total),
                             **figure(inp, OVERDUE_CASES_KEY, region, got))
        empty = tx("no_overdue", lang)
    else:
        open_only = all(st in OPEN_STEPS for st in s.steps)
        got = latest_cases(inp.session, inp.county, s.steps, s.categories, s.limit, open_only)
        rows = [(c, _hours_over(c, inp.now)) for c in got.rows]
        head = tx("open_total", lang, n=got.total) if got.total is not None else ""
        empty = tx("no_cases", lang)
    if not rows:
        if updated is None:
            return PanelOutput(_empty(t("no_data", lang)), None)
        return PanelOutput(html.Div(_empty(empty), className="ls-events", lang=_lang_attr(lang)), updated)
    widths = COLUMN_WIDTH_EN if lang == "en" else COLUMN_WIDTH
    cols = {"--ls-cols": " ".join(widths[c] for c in s.columns)}
    header = html.Div([html.Span(tx(f"col_{c}", lang), className=f"ls-th ls-c-{c}") for c in s.columns],
                      className="ls-tr ls-thead", style=cols)
    lines = [dcc.Link([_cell(col, c, inp, over) for col in s.columns], href=case_href(c.id, lang),
                      className="ls-tr ls-row" + (" ls-late-row" if over > 0 and c.closed_at is None else ""),
                      style=cols, title=c.id)
             for c, over in rows]
    kids: list[Any] = []
    if head:
        kids.append(html.Div(head, className="ls-head" + (" ls-alert" if s.overdue_only and rows else "")))
    kids.append(html.Div([header, *lines], className="ls-table"))
    return PanelOutput(html.Div(kids, className="ls-events", lang=_lang_attr(lang)), updated)


# ---- alarm_list ----------------------------------------------------------------------------------------

# The feeds the standing warnings are drawn from (dashboard.status.conditions reads these five).
ALARM_FEEDS: tuple[str, ...] = ("road_weather", "fire_risk", "hydrology", "video_point", "air_quality")
SEVERITY_COLOUR = {4: RED.hex, 3: ORANGE.hex, 2: YELLOW.hex, 1: "#3A8EE6"}  # 蓝 黄 橙 红, the warning colours


def standing_alarms(session: Session, now: datetime, county: str | None,
                    theme: str | None = None) -> list[StandingWarning]:
    """The alarms open now (raised by the themes' rules, alerts/), worst first: the header counts the same.

    With a theme, only the alarms its own rules raised.
    """
    return warnings_of(a for a in alq.open_alarms(session, county) if theme is None or a.theme == theme)


class AlarmListSettings(PanelSettings):
    """当前预警列表：按级别从高到低 / The alarms standing now, worst first."""

    min_severity: int = Field(1, ge=1, le=4, description=DESC.pair("AlarmListSettings.min_severity"))
    limit: int = Field(8, ge=1, le=30, description=DESC.pair("AlarmListSettings.limit"))
    theme_only: bool = Field(False, description=DESC.pair("AlarmListSettings.theme_only"))


def _sources(health: dict[str, FeedHealth], lang: str) -> tuple[datetime | None, str | None, list[str]]:
    """(newest message of the alarm feeds, the feed to badge when all are silent, names of the silent ones)."""
    known = [health[f] for f in ALARM_FEEDS if f in health]
    newest = max((h.last_message_at for h in known if h.last_message_at is not None), default=None)
    stale = [h for h in known if h.stale]
    badge = known[0].feed if known and len(stale) == len(known) else None
    return newest, badge, [pick(h.title_zh, h.title_en, lang) for h in stale]


def render_alarm_list(inp: PanelInput) -> PanelOutput:
    """Standing alarms at or above a severity: counts by colour, then the worst first with a colour bar."""
    s: AlarmListSettings = inp.settings or AlarmListSettings()
    lang = inp.lang
    theme = inp.theme if s.theme_only else None
    alarms = sorted((a for a in standing_alarms(inp.session, inp.now, inp.county, theme)
                     if a.severity >= s.min_severity), key=lambda a: -a.severity)
    newest, badge, silent = _sources(inp.health, lang)
    levels = [sev for sev in (4, 3, 2, 1) if sev >= s.min_severity]
    counts = Counter(a.severity for a in alarms)
    chips = html.Div(className="ls-sevs", children=[
        html.Span(className=f"ls-sev ls-sev-{sev}" + ("" if counts.get(sev) else " ls-zero"),
                  style={"borderColor": SEVERITY_COLOUR[sev]}, children=[
                      html.B(str(counts.get(sev, 0)), className="ls-sev-n", style={"color": SEVERITY_COLOUR[sev]}),
                      html.Span(tx(f"sev_{sev}", lang), className="ls-sev-label")])
        for sev in levels])
    kids: list[Any] = [chips]
    if alarms:
        kids.append(html.Ul(className="ls-alarms", children=[
            html.Li(className=f"ls-alarm ls-sev-{a.severity}", children=[
                html.I(className="ls-bar", style={"background": SEVERITY_COLOUR.get(a.severity, YELLOW.hex)}),
                html.Span(pick(a.zh, a.en, lang), className="ls-alarm-text", title=pick(a.zh, a.en, lang))])
            for a in alarms[:s.limit]]))
        if len(alarms) > s.limit:
            kids.append(html.Div(tx("more", lang, n=len(alarms) - s.limit), className="ls-more"))
    else:
        kids.append(_empty(tx("no_alarms", lang)))
    if silent and badge is None:
        kids.append(html.Div(tx("silent_sources", lang, names=t("list_sep", lang).join(silent)),
                             className="footnote ls-silent"))
    return PanelOutput(html.Div(kids, className="ls-alarm-list", lang=_lang_attr(lang)), newest, badge)


# ---- markdown ------------------------------------------------------------------------------------------

MarkdownText = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(safe_markdown)]


class MarkdownSettings(PanelSettings):
    """说明文字（Markdown，无 HTML）/ A note in Markdown (no HTML)."""

    text_zh: MarkdownText = Field(description="中文内容（Markdown：**粗体**、- 列表、[链接](/map)；不得含 HTML）/ "
                                              "Chinese text in Markdown (no HTML)")
    text_en: MarkdownText | None = Field(None, description="英文内容（?lang=en，缺省用中文）/ English text "
                                                           "(?lang=en; the Chinese one when absent)")


def render_markdown(inp: PanelInput) -> PanelOutput:
    """The theme owner's note, as Markdown without HTML; links open in the wall's own window."""
    s: MarkdownSettings | None = inp.settings
    if s is None:
        return PanelOutput(_empty(t("no_data", inp.lang)), None)
    text = pick(s.text_zh, s.text_en or s.text_zh, inp.lang)
    body = markdown.render(text)  # the parse the validator judged, as components: no second Markdown reader
    return PanelOutput(html.Div(body, className="ls-note", lang=_lang_attr(inp.lang)), None)


# ---- registration --------------------------------------------------------------------------------------

LIST_PANELS: tuple[PanelType, ...] = (
    PanelType("point_layer", *PANEL.both("point_layer"), "video_point", render_point_layer,
              PointLayerSettings),
    PanelType("event_table", *PANEL.both("event_table"), "grid_event", render_event_table, EventTableSettings),
    PanelType("alarm_list", *PANEL.both("alarm_list"), None, render_alarm_list, AlarmListSettings),
    PanelType("markdown", *PANEL.both("markdown"), None, render_markdown, MarkdownSettings),
)


def register_list_panels(registry: PanelRegistry) -> None:
    """Register the configurable list panels (point_layer, event_table, alarm_list, markdown)."""
    for panel in LIST_PANELS:
        registry.register(panel)
