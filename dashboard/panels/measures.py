"""Configurable panels of one measure: a KPI against its target, a gauge, a trend, a county ranking, a map.

A theme owner names the measure in the theme file (`kpi: eco.pm2_5`, `measure: aqi`); the settings models
below check it against the theme's KPIs when the file is read, with its line. A KPI shows the region its
panel names (default: the region of its definition in the theme); on the wall a county filter (`?county=`)
replaces it for the KPIs the theme reports per county (`by_county`), as the KPI strip does.

Colours: met / behind and the gauge's thresholds use the wall's green / amber / red (assets/wall.css), AQI the
HJ 633 band colours (standards.aqi), other county values the choropleth's classes (layers.choropleth).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from dash import dcc, html
from pydantic import Field, ValidationInfo, model_validator

from dashboard.panels.base import (
    PanelInput, PanelOutput, PanelRegistry, PanelType, default_city, figure, fmt_time,
)
from dashboard.panels.builtin import unit_word
from dashboard.panels.kpis import (
    Metric, fmt_amount, is_met, progress, target_text, trailing_edges,
)
from dashboard.status import department_list
from dashboard.panels.settings import (
    COUNTIES, KpiKey, Measure, Order, PanelSettings, Region,
)
from geo import load_counties
from layers import county_choropleth, map_figure_dict
from layers.aqi import aqi_choropleth_values, aqi_colour, aqi_labels
from layers.choropleth import NO_DATA, Shading, classed
from measures import MeasureRegistry
from measures.air import AQI_KEY
from measures.cases import OPEN_CASES_KEY
from settings import CITY_TZ
from store.kpi_queries import KpiPoint
from topics import KpiDef, Theme
from topics import theme as get_theme
from words import Words, html_lang, pick, t

DESC = Words("settings")  # the settings' descriptions, both languages in one (the editor and the schemas)

KPI_FEED = "kpi"

MINUS = "\u2212"


tx = Words("panels.measures")  # this module's words in the catalog (words/locale)
PANEL = Words("panel")  # the built-in panel types' titles, by their names


def feed_of(measures: MeasureRegistry, measure: str) -> str:
    """The feed whose freshness a measure's panel shows: the measure's own, else the KPI feed's."""
    defined = measures.get(measure)
    return defined.feed if defined is not None and defined.feed else KPI_FEED


def _lang_attr(lang: str) -> str:
    return html_lang(lang)


# ---- settings ------------------------------------------------------------------------------------------


_REGION = ("区域：全市代码或区县代码；默认取指标定义的区域，墙上选区县时按区县上报的指标改显该区县 / "
           "Region: the city's adcode or a county's; default: the KPI's own region (a county chosen on "
           "the wall replaces it for KPIs reported per county)")


class KpiTargetSettings(PanelSettings):
    """One KPI against the plan's target: value, target, progress and met or behind."""

    kpi: KpiKey = Field(description=DESC.pair("KpiTargetSettings.kpi"))
    region: Region | None = Field(None, description=_REGION)


class GaugeSettings(PanelSettings):
    """One KPI on a semicircle dial, coloured by its warning and alarm thresholds."""

    kpi: KpiKey = Field(description=DESC.pair("GaugeSettings.kpi"))
    region: Region | None = Field(None, description=_REGION)
    min: float = Field(0, description=DESC.pair("GaugeSettings.min"))
    max: float | None = Field(None, description=DESC.pair("GaugeSettings.max"))
    warn: float | None = Field(None, description=DESC.pair("GaugeSettings.warn"))
    alarm: float | None = Field(None, description=DESC.pair("GaugeSettings.alarm"))

    @model_validator(mode="after")
    def _scale_and_thresholds(self, info: ValidationInfo) -> GaugeSettings:
        if self.max is not None and self.max <= self.min:
            raise ValueError(f"max ({self.max:g}) must be more than min ({self.min:g})")
        theme = (info.context or {}).get("theme")
        if theme is None or self.warn is None or self.alarm is None:
            return self
        kpi = next((k for k in theme.kpis if k.key == self.kpi), None)
        if kpi is None:
            return self
        if kpi.target_kind == "max" and self.alarm < self.warn:
            raise ValueError(f"{self.kpi} has a max target (higher is worse): alarm ({self.alarm:g}) must be "
                             f"at least warn ({self.warn:g})")
        if kpi.target_kind != "max" and self.alarm > self.warn:
            raise ValueError(f"{self.kpi} has a min target (lower is worse): alarm ({self.alarm:g}) must be "
                             f"at most warn ({self.warn:g})")
        return self


class TrendSettings(PanelSettings):
    """One KPI hour by hour over the last hours, with its target as a dashed line."""

    kpi: KpiKey = Field(description=DESC.pair("TrendSettings.kpi"))
    region: Region | None = Field(None, description=_REGION)
    hours: int = Field(24, ge=1, le=168, description=DESC.pair("TrendSettings.hours"))
    show_target: bool = Field(True, description=DESC.pair("TrendSettings.show_target"))


class CountyRankingSettings(PanelSettings):
    """The eight counties ranked by a measure, as bars."""

    measure: Measure = Field(description=DESC.pair("CountyRankingSettings.measure"))
    order: Order = Field("worst_first", description=DESC.pair("CountyRankingSettings.order"))
    top: int = Field(8, ge=1, le=len(COUNTIES), description=DESC.pair("CountyRankingSettings.top"))


class ChoroplethSettings(PanelSettings):
    """A small map of the counties coloured by a measure."""

    measure: Measure = Field(description=DESC.pair("ChoroplethSettings.measure"))


# ---- a KPI as these panels show it ---------------------------------------------------------------------


@dataclass(frozen=True)
class KpiView:
    """A theme KPI resolved for a panel: its definition, the region shown and its name there."""

    kpi: KpiDef
    region: str
    name: str
    region_name: str

    @property
    def worse_high(self) -> bool:
        """Whether a higher value is worse (a max target)."""
        return self.kpi.target_kind == "max"


def theme_of(inp: PanelInput) -> Theme:
    """The theme the panel belongs to."""
    return inp.theme_def or get_theme(inp.theme or "")


def kpi_defs(theme: Theme, key: str) -> list[KpiDef]:
    """The theme's definitions of a KPI key (one per region it is defined for); a measure the theme defines and
    does not also list under kpis shows by its own names and unit, without a target."""
    defs = [k for k in theme.kpis if k.key == key]
    if not defs:
        defs = [KpiDef(key=m.key, name_zh=m.name_zh, name_en=m.name_en, unit=m.unit,
                       target_kind="max" if m.worse_high else "min", department=theme.owner)
                for m in theme.measures if m.key == key]
    return defs


def region_of(theme: Theme, key: str, region: str | None, county: str | None, city: str) -> str:
    """The region a KPI panel shows: the wall's county for a KPI reported per county, else the setting's,
    else the region of the KPI's first definition (the city's adcode `city` when it names none)."""
    if county and key in theme.by_county:
        return county
    if region:
        return region
    defs = kpi_defs(theme, key)
    return defs[0].region_in(city) if defs else city


def pick_def(defs: Sequence[KpiDef], *regions: str | None, city: str) -> KpiDef:
    """The definition for the first of the regions that has one, else the first definition."""
    for region in regions:
        for d in defs:
            if d.region_in(city) == region:
                return d
    return defs[0]


def place_name(region: str, names: Mapping[str, str], lang: str, city: str | None = None) -> str:
    """全市 / a county's name (city: the city's adcode; default the default settings' city)."""
    city = city or default_city().adcode
    return tx("city", lang) if region == city else names.get(region, region)


def kpi_name(kpi: KpiDef, region: str, names: Mapping[str, str], lang: str, city: str | None = None) -> str:
    """The KPI's name for a region: a name that names its own county ("端州区AQI") is renamed for another one
    (city: the city's adcode; default the default settings' city)."""
    city = city or default_city().adcode
    name = pick(kpi.name_zh, kpi.name_en, lang)
    own_region = kpi.region_in(city)
    own = names.get(own_region) if own_region != city else None
    if region == own_region or not own or own not in name:
        return name
    return name.replace(own, "" if region == city else names.get(region, region)).strip() or name


def generic_name(kpi: KpiDef, names: Mapping[str, str], lang: str, city: str) -> str:
    """The KPI's name without the county its definition is for ("端州区AQI" → "AQI"), for county comparisons."""
    return kpi_name(kpi, city, names, lang, city)


def resolve_kpi(inp: PanelInput, key: str, region: str | None) -> KpiView | None:
    """The KPI a panel's settings name, for the region it shows; None when the theme no longer has it."""
    theme = theme_of(inp)
    defs = kpi_defs(theme, key)
    if not defs:
        return None
    city = inp.city.adcode
    shown = region_of(theme, key, region, inp.county, city)
    kpi = pick_def(defs, shown, region, city=city)
    return KpiView(kpi, shown, kpi_name(kpi, shown, inp.names, inp.lang, city),
                   place_name(shown, inp.names, inp.lang, city))


def metric_of(kpi: KpiDef) -> Metric:
    """The KPI as the KPI panels' helpers take it (target text, amounts)."""
    unit = kpi.unit or ""
    return Metric(kpi.key, kpi.name_zh, kpi.name_en, unit, unit_word(unit, "en"), kpi.target, kpi.target_kind,
                  tuple(kpi.department.split("、")), kpi.plan_item)


def unit_text(kpi: KpiDef, lang: str) -> str:
    """The unit shown after a value."""
    unit = kpi.unit or ""
    return unit_word(unit, lang)


def amount(value: float, kpi: KpiDef, lang: str) -> str:
    """A KPI value for display (万 in Chinese, k/M and bn CNY in English)."""
    return fmt_amount(value, kpi.unit or "", lang)


def round_amount(value: float, kpi: KpiDef, lang: str) -> str:
    """A scale mark: the amount without a trailing .0 (300 bn CNY, not 300.0)."""
    return re.sub(r"\.0(?=[万kM]|$)", "", amount(value, kpi, lang))


def display_factor(kpi: KpiDef, lang: str) -> float:
    """What a chart multiplies values by to match the amounts shown as text (亿元 are shown as bn CNY)."""
    return 0.1 if lang == "en" and kpi.unit == "亿元" else 1.0


def state_of(kpi: KpiDef, value: float) -> str | None:
    """'met' / 'behind' against the target; None without a target."""
    return None if kpi.target is None else ("met" if is_met(value, kpi.target, kpi.target_kind) else "behind")


def share_of_target(kpi: KpiDef, value: float) -> float | None:
    """Share of a min target reached, or of a max target's headroom used, in % (uncapped)."""
    return progress(value, kpi.target)


def latest(inp: PanelInput, view: KpiView) -> KpiPoint | None:
    """The KPI's newest value in the region shown."""
    return inp.measures.value(inp.session, view.kpi.key, view.region, inp.now)


def _empty(lang: str) -> html.Div:
    return html.Div(t("no_data", lang), className="empty")


def _not_in_theme(inp: PanelInput, key: str) -> PanelOutput:
    body = html.Div(tx("not_in_theme", inp.lang, key=key), className="empty problem")
    return PanelOutput(body, None, KPI_FEED)


def _head(view: KpiView) -> html.Div:
    return html.Div([html.Span(view.name, className="ms-name", title=view.name),
                     html.Span(view.region_name, className="tag ms-scope")], className="ms-head")


def _foot(kpi: KpiDef, lang: str, extra: Sequence[Any] = ()) -> html.Div:
    """Department and plan item (and whatever else the panel adds first)."""
    depts = department_list(kpi.department, lang)
    parts: list[Any] = [*extra, html.Span(f"{tx('dept', lang)} {depts}", className="ms-dept", title=depts)]
    if kpi.target is not None and kpi.target_year is not None:
        parts.append(html.Span(tx("year_target", lang, year=kpi.target_year),
                               className="ms-year"))
    if kpi.plan_item:
        parts.append(html.Span(f"{tx('plan', lang)} {kpi.plan_item}", className="ms-plan", title=kpi.plan_item))
    return html.Div(parts, className="ms-foot")


def _panel(name: str, lang: str, kids: list[Any]) -> html.Div:
    return html.Div(kids, className=f"ms ms-{name}", lang=_lang_attr(lang))


def _pct(value: float) -> str:
    return f"{value:.0f}%" if abs(value) >= 10 else f"{value:.1f}%"


# ---- kpi_target ----------------------------------------------------------------------------------------


def render_kpi_target(inp: PanelInput) -> PanelOutput:
    """The KPI's value with its unit, the target, a progress bar, met or behind, and who answers for it."""
    s: KpiTargetSettings = inp.settings
    lang = inp.lang
    view = resolve_kpi(inp, s.kpi, s.region)
    if view is None:
        return _not_in_theme(inp, s.kpi)
    kpi = view.kpi
    point = latest(inp, view)
    foot = _foot(kpi, lang)
    if point is None:
        return PanelOutput(_panel("kpi-target", lang, [_head(view), _empty(lang), foot]), None, feed_of(inp.measures, kpi.key))
    state = state_of(kpi, point.value)
    value_line: list[Any] = [html.Span([html.Span(amount(point.value, kpi, lang), className="ms-value",
                                                  **figure(inp, kpi.key, view.region, point)),
                                        html.Span(unit_text(kpi, lang), className="ms-unit")],
                                       className="ms-big")]
    if state:
        value_line.append(html.Span(tx(state, lang), className=f"ms-tag ms-{state}"))
    kids: list[Any] = [_head(view), html.Div(value_line, className="ms-line")]
    if kpi.target is not None:
        share = share_of_target(kpi, point.value)
        label = tx("used" if kpi.target_kind == "max" else "reached", lang)
        kids.append(html.Div([html.Span(target_text(metric_of(kpi), lang), className="ms-target"),
                              html.Span("" if share is None else f"{label} {_pct(share)}",
                                        className=f"ms-pct ms-{state}")], className="ms-line"))
        if share is not None:
            kids.append(html.Div(html.Div(className=f"ms-fill ms-{state}",
                                          style={"width": f"{max(0.0, min(100.0, share)):.1f}%"}),
                                 className="ms-bar"))
    kids.append(foot)
    return PanelOutput(_panel("kpi-target", lang, kids), point.ts, feed_of(inp.measures, kpi.key))


# ---- gauge ---------------------------------------------------------------------------------------------


def _nice_ceiling(x: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above x (a scale end that reads well)."""
    if x <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(x))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= x)


def gauge_range(s: GaugeSettings, kpi: KpiDef, value: float | None) -> tuple[float, float]:
    """The dial's scale: min as set; max as set, else 100 for a % unit, else 1.25 × the target, else a round
    number above the thresholds and the value."""
    lo = s.min
    if s.max is not None:
        return lo, s.max
    if kpi.unit == "%" and lo < 100:
        return lo, 100.0
    if kpi.target is not None and 1.25 * kpi.target > lo:
        return lo, 1.25 * kpi.target
    top = max([v for v in (s.warn, s.alarm, value, kpi.target) if v is not None] + [lo])
    return lo, lo + _nice_ceiling(1.25 * (top - lo))


def gauge_share(value: float, lo: float, hi: float) -> float:
    """Where a value sits on the dial, 0–1 (clamped)."""
    return 0.0 if hi <= lo else max(0.0, min(1.0, (value - lo) / (hi - lo)))


def gauge_state(value: float, kpi: KpiDef, warn: float | None, alarm: float | None) -> str:
    """'ok' / 'warn' / 'alarm' by the thresholds (reaching one counts): higher is worse for a max target,
    lower for a min one. Without thresholds: 'ok' when the target is met, 'warn' when not, else 'plain'."""
    if warn is None and alarm is None:
        state = state_of(kpi, value)
        return "plain" if state is None else ("ok" if state == "met" else "warn")
    worse_high = kpi.target_kind == "max"

    def reached(threshold: float | None) -> bool:
        if threshold is None:
            return False
        return value >= threshold if worse_high else value <= threshold

    return "alarm" if reached(alarm) else "warn" if reached(warn) else "ok"


GAUGE_COLOURS = {"ok": "var(--ok)", "warn": "var(--warn)", "alarm": "var(--alert)", "plain": "var(--accent)"}
TRACK = "#1b2740"


def _arc_style(share: float, state: str) -> dict[str, str]:
    deg = 180 * share
    return {"background": f"conic-gradient(from 270deg, {GAUGE_COLOURS[state]} 0deg {deg:.1f}deg, "
                          f"{TRACK} {deg:.1f}deg 180deg, transparent 180deg 360deg)"}


def _tick(kind: str, share: float, label: str | None = None) -> list[Any]:
    """A tick on the dial at a share of the scale (0 left, 1 right), and its label outside the arc."""
    deg = 180 * share
    out: list[Any] = [html.Div(className=f"ms-tick ms-tick-{kind}",
                               style={"transform": f"rotate({deg - 90:.1f}deg)"})]
    if label:
        rad = math.radians(deg)
        x = 50 - 54 * math.cos(rad)  # % of the width (the radius is half of it), a little outside the arc
        y = 108 * math.sin(rad)  # % of the height (the radius)
        shift = "-100%" if deg < 60 else "0%" if deg > 120 else "-50%"
        out.append(html.Span(label, className=f"ms-tick-label ms-tick-label-{kind}",
                             style={"left": f"{x:.1f}%", "bottom": f"{y:.1f}%",
                                    "transform": f"translate({shift}, 0)"}))
    return out


def render_gauge(inp: PanelInput) -> PanelOutput:
    """A semicircle dial from min to max: the arc up to the value in green, amber or red, ticks at the ends,
    the target and the thresholds, the value in the middle (HTML and CSS: crisp at any size)."""
    s: GaugeSettings = inp.settings
    lang = inp.lang
    view = resolve_kpi(inp, s.kpi, s.region)
    if view is None:
        return _not_in_theme(inp, s.kpi)
    kpi = view.kpi
    point = latest(inp, view)
    lo, hi = gauge_range(s, kpi, point.value if point else None)
    thresholds = []
    for kind in ("warn", "alarm"):
        v = getattr(s, kind)
        if v is not None:
            sign = "≥" if kpi.target_kind == "max" else "≤"
            thresholds.append(html.Span(f"{tx(kind, lang)} {sign}{amount(v, kpi, lang)}",
                                        className=f"ms-{kind}"))
    foot = _foot(kpi, lang, [html.Span(target_text(metric_of(kpi), lang), className="ms-target"), *thresholds]
                 if kpi.target is not None else thresholds)
    if point is None:
        return PanelOutput(_panel("gauge", lang, [_head(view), _empty(lang), foot]), None, feed_of(inp.measures, kpi.key))
    share = gauge_share(point.value, lo, hi)
    state = gauge_state(point.value, kpi, s.warn, s.alarm)
    ticks: list[Any] = [*_tick("min", 0.0), *_tick("max", 1.0)]
    for kind in ("warn", "alarm"):
        v = getattr(s, kind)
        if v is not None and lo <= v <= hi:
            ticks += _tick(kind, gauge_share(v, lo, hi))
    if kpi.target is not None and lo <= kpi.target <= hi:
        ticks += _tick("target", gauge_share(kpi.target, lo, hi), round_amount(kpi.target, kpi, lang))
    dial = html.Div(className=f"ms-dial ms-{state}", **{"data-share": f"{share:.4f}"}, children=[
        html.Div(className="ms-arc-clip", children=[
            html.Div(className="ms-arc", style=_arc_style(share, state)), html.Div(className="ms-mask")]),
        *ticks,
        html.Div(className="ms-readout", children=[
            html.Span(amount(point.value, kpi, lang), className=f"ms-value ms-{state}",
                      **figure(inp, kpi.key, view.region, point)),
            html.Span(unit_text(kpi, lang), className="ms-unit")]),
        html.Span(round_amount(lo, kpi, lang), className="ms-scale ms-scale-min"),
        html.Span(round_amount(hi, kpi, lang), className="ms-scale ms-scale-max"),
    ])
    body = [_head(view), html.Div(dial, className="ms-dial-wrap"), foot]
    return PanelOutput(_panel("gauge", lang, body), point.ts, feed_of(inp.measures, kpi.key))


# ---- trend ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendData:
    """The hourly samples of a KPI over a window: (interval end or sample time, value or None)."""

    xs: list[datetime]
    ys: list[float | None]

    @property
    def points(self) -> list[tuple[datetime, float]]:
        """The samples that exist, oldest first."""
        return [(x, y) for x, y in zip(self.xs, self.ys, strict=True) if y is not None]

    @property
    def change(self) -> float | None:
        """Newest sample minus the oldest in the window; None with fewer than two."""
        pts = self.points
        return pts[-1][1] - pts[0][1] if len(pts) >= 2 else None


def window_end(now: datetime) -> datetime:
    """The trend's window ends at the next whole minute: the chart changes at most once a minute, not at every
    tick, and still holds the newest reading."""
    floor = now.replace(second=0, microsecond=0)
    return floor if floor == now else floor + timedelta(minutes=1)


def trend_data(inp: PanelInput, key: str, region: str, hours: int) -> TrendData:
    """One sample an hour (the newest reading in each of the last `hours` hours); a silent hour is a gap."""
    edges = trailing_edges(window_end(inp.now), hours)
    samples = inp.measures.samples(inp.session, key, region, edges)
    xs = [s.ts if s is not None else edge for s, edge in zip(samples, edges[1:], strict=True)]
    return TrendData(xs, [s.value if s is not None else None for s in samples])


FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"


def trend_figure(data: TrendData, kpi: KpiDef, show_target: bool, start: datetime, end: datetime,
                 colour: str, factor: float = 1.0) -> dict[str, Any]:
    """The line chart as the plain dict dcc.Graph takes: the samples, and the target as a dashed line
    (values times `factor`, the unit the text shows them in)."""
    tz = end.tzinfo or CITY_TZ
    ys = [None if y is None else round(y * factor, 6) for y in data.ys]
    xs = [x.astimezone(tz).isoformat() for x in data.xs]
    span = [start.astimezone(tz).isoformat(), end.astimezone(tz).isoformat()]
    traces: list[dict[str, Any]] = [{
        "type": "scatter", "x": xs, "y": ys, "mode": "lines+markers", "name": "value",
        "line": {"color": colour, "width": 2.5}, "marker": {"size": 4, "color": colour}, "connectgaps": False,
        "hoverinfo": "skip"}]
    if show_target and kpi.target is not None:
        target = round(kpi.target * factor, 6)
        traces.append({"type": "scatter", "x": span, "y": [target, target], "mode": "lines",
                       "name": "target", "hoverinfo": "skip",
                       "line": {"color": "#d8e1ee", "width": 1.5, "dash": "dash"}})
    axis = {"showgrid": False, "zeroline": False, "fixedrange": True}
    layout = {
        "margin": {"l": 0, "r": 0, "t": 4, "b": 0},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "color": "#8a9bb5", "size": 11}, "showlegend": False, "autosize": True,
        # Time labels are HTML under the chart (they scale with the wall); y labels sit inside the plot.
        "xaxis": {**axis, "visible": False, "range": span},
        "yaxis": {**axis, "showgrid": True, "gridcolor": "#22314a", "nticks": 4, "ticklabelposition": "inside",
                  "tickfont": {"color": "#8a9bb5"}},
    }
    return {"data": traces, "layout": layout}


def _signed(v: float, kpi: KpiDef, lang: str) -> str:
    text = amount(abs(v), kpi, lang)
    return f"+{text}" if v > 0 else f"{MINUS}{text}" if v < 0 else text


def render_trend(inp: PanelInput) -> PanelOutput:
    """The KPI hour by hour over the window, the latest value and the change over the window above it."""
    s: TrendSettings = inp.settings
    lang = inp.lang
    view = resolve_kpi(inp, s.kpi, s.region)
    if view is None:
        return _not_in_theme(inp, s.kpi)
    kpi = view.kpi
    data = trend_data(inp, kpi.key, view.region, s.hours)
    pts = data.points
    if not pts:
        return PanelOutput(_panel("trend", lang, [_head(view), _empty(lang)]), None, feed_of(inp.measures, kpi.key))
    last_ts, last = pts[-1]
    # The headline is the measure's value now, as every other panel shows it; the chart is its history.
    now_point = latest(inp, view)
    if now_point is not None:
        last_ts, last = now_point.ts, now_point.value
    state = state_of(kpi, last)
    d = data.change
    change_cls = "ms-flat"
    if d and kpi.target is not None:  # towards the target is better; without one a change is just a change
        better = (d < 0) if view.worse_high else (d > 0)
        change_cls = "ms-better" if better else "ms-worse"
    elif d:
        change_cls = "ms-plain"
    arrow = "▲" if d and d > 0 else "▼" if d and d < 0 else "■"
    change = "—" if d is None else f"{arrow} {_signed(d, kpi, lang)}"
    right: list[Any] = [html.Span(change, className=f"ms-change {change_cls}"),
                        html.Span(tx("change", lang, h=s.hours), className="ms-note")]
    if s.show_target and kpi.target is not None:
        right.append(html.Span(["╌ ", target_text(metric_of(kpi), lang)], className="ms-target"))
    colour = {"met": "var(--ok)", "behind": "var(--warn)"}.get(state or "", "#4fc3f7")
    end = window_end(inp.now)
    start = trailing_edges(end, s.hours)[0]
    chart = trend_figure(data, kpi, s.show_target, start, end,
                          {"met": "#66bb6a", "behind": "#ffb74d"}.get(state or "", "#4fc3f7"),
                          display_factor(kpi, lang))
    body = [
        _head(view),
        html.Div([html.Span([html.Span(amount(last, kpi, lang), className="ms-value", style={"color": colour},
                                       **figure(inp, kpi.key, view.region, last)),
                             html.Span(unit_text(kpi, lang), className="ms-unit")], className="ms-big"),
                  html.Span(right, className="ms-right")], className="ms-line"),
        dcc.Graph(figure=chart, config={"displayModeBar": False, "staticPlot": True, "responsive": True},
                  className="ms-trend-chart"),
        html.Div([html.Span(tx("ago", lang, h=s.hours)), html.Span(fmt_time(last_ts, inp.now)),
                  html.Span(tx("now", lang))], className="ms-axis"),
    ]
    return PanelOutput(_panel("trend", lang, body), last_ts, feed_of(inp.measures, kpi.key))


# ---- county_ranking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyValues:
    """A measure in each county, as the ranking and the map show it."""

    measure: str
    name: str
    unit: str
    values: dict[str, float]  # counties without a value are left out
    data_time: datetime | None
    worse_high: bool
    kpi: KpiDef | None = None

    @property
    def title(self) -> str:
        """The measure's name with its unit ("PM2.5 µg/m³"); a count's name says what is counted."""
        return self.name if self.measure == OPEN_CASES_KEY or not self.unit else f"{self.name} {self.unit}"

    def fmt(self, value: float, lang: str) -> str:
        """A value for display."""
        return amount(value, self.kpi, lang) if self.kpi else f"{value:,.0f}"


def county_values(inp: PanelInput, measure: str) -> CountyValues | None:
    """The measure's newest value in each county (None when neither a measure nor the theme defines it)."""
    lang = inp.lang
    defined = inp.measures.get(measure)
    defs = kpi_defs(theme_of(inp), measure) or kpi_defs(theme_of(inp), inp.measures.key(measure))
    if defined is None and not defs:
        return None
    got = inp.measures.latest(inp.session, [measure], list(inp.city.counties), inp.now).get(measure, {})
    values = {c: p.value for c, p in got.items() if inp.sees(c)}
    newest = max((p.ts for c, p in got.items() if inp.sees(c)), default=None)
    if defined is not None and not defs:
        unit = defined.unit or (t("legend_cases", lang) if defined.unit == "件" else "")
        return CountyValues(inp.measures.key(measure), pick(defined.label_zh, defined.label_en, lang),
                            unit, values, newest, defined.worse_high)
    kpi = pick_def(defs, inp.city.adcode, city=inp.city.adcode)
    return CountyValues(inp.measures.key(measure), generic_name(kpi, inp.names, lang, inp.city.adcode),
                        unit_text(kpi, lang), values,
                        newest, kpi.target_kind == "max", kpi)


def high_first(order: str, worse_high: bool) -> bool:
    """Whether an order puts the highest value first."""
    if order in ("high_first", "low_first"):
        return order == "high_first"
    return worse_high == (order == "worst_first")


def ranking(values: Mapping[str, float], order: str, worse_high: bool,
            counties: Sequence[str]) -> list[tuple[str, float | None]]:
    """Counties in the order asked for (ties by adcode), those without a value last."""
    sign = -1 if high_first(order, worse_high) else 1
    have = sorted((c for c in counties if c in values), key=lambda c: (sign * values[c], c))
    return [(c, values[c]) for c in have] + [(c, None) for c in counties if c not in values]


def _bar_colour(cv: CountyValues, value: float) -> str | None:
    if cv.measure == AQI_KEY:
        return aqi_colour(int(value))
    if cv.kpi is not None and cv.kpi.target is not None:
        return GAUGE_COLOURS["ok" if is_met(value, cv.kpi.target, cv.kpi.target_kind) else "warn"]
    return None


def render_county_ranking(inp: PanelInput) -> PanelOutput:
    """One bar per county in the order asked for, with its rank and value; the wall's county highlighted."""
    s: CountyRankingSettings = inp.settings
    lang = inp.lang
    feed = feed_of(inp.measures, s.measure)
    cv = county_values(inp, s.measure)
    if cv is None:
        return _not_in_theme(inp, s.measure)
    head = html.Div([html.Span(cv.title, className="ms-name"),
                     html.Span(tx(f"order_{s.order}", lang), className="tag ms-scope")], className="ms-head")
    if not cv.values:
        return PanelOutput(_panel("county-ranking", lang, [head, _empty(lang)]), cv.data_time, feed)
    rows = ranking(cv.values, s.order, cv.worse_high, inp.city.county_codes)[:s.top]
    target = cv.kpi.target if cv.kpi is not None else None
    top = max([abs(v) for v in cv.values.values()] + ([target] if target else [])) or 1.0
    items = []
    for rank, (county, value) in enumerate(rows, start=1):
        colour = None if value is None else _bar_colour(cv, value)
        fill_style = {"width": "0" if value is None else f"{max(0.0, 100 * value / top):.1f}%"}
        if colour:
            fill_style["background"] = colour
        bar: list[Any] = [html.Div(className="ms-rank-fill", style=fill_style)]
        if target is not None and 0 <= target <= top:
            bar.append(html.Div(className="ms-rank-target", style={"left": f"{100 * target / top:.1f}%"}))
        items.append(html.Li(className="ms-rank" + (" ms-current" if county == inp.county else ""),
                             **{"data-county": county}, children=[
            html.Span(str(rank) if value is not None else "—", className="ms-rank-n"),
            html.Span(inp.names.get(county, county), className="ms-rank-name"),
            html.Div(bar, className="ms-rank-bar"),
            html.Span("—" if value is None else cv.fmt(value, lang), className="ms-rank-value",
                      **figure(inp, cv.measure, county, value))]))
    kids: list[Any] = [head, html.Ul(items, className="ms-ranks", style={"--rows": str(len(items))})]
    if cv.kpi is not None:
        kids.append(_foot(cv.kpi, lang, [html.Span(target_text(metric_of(cv.kpi), lang), className="ms-target")]
                          if cv.kpi.target is not None else []))
    else:
        rule = tx("aqi_rule" if cv.measure == AQI_KEY else "cases_rule", lang)
        kids.append(html.Div(html.Span(rule, title=rule), className="ms-foot"))
    return PanelOutput(_panel("county-ranking", lang, kids), cv.data_time, feed)


# ---- choropleth ----------------------------------------------------------------------------------------

# About one screen pixel on a panel-sized map of the city: the polygons stay small in the page.
SIMPLIFY_DEG = 0.005
_simplified: list[tuple[Any, Any]] = []  # (the counties frame given, its simplified copy): one entry


def small_counties(counties: Any) -> Any:
    """The counties simplified for a small map (kept for the frame the wall passes, which does not change)."""
    if _simplified and _simplified[0][0] is counties:
        return _simplified[0][1]
    small = counties.copy()
    small["geometry"] = counties.geometry.simplify(SIMPLIFY_DEG, preserve_topology=True)
    _simplified[:] = [(counties, small)]
    return small


def county_shading(cv: CountyValues, adcodes: Sequence[str], names: Mapping[str, str], lang: str) -> Shading:
    """Fills, labels and legend: HJ 633 bands for AQI, equal-interval classes for counts and KPIs.

    A small map has no room for names: its labels are the values (the ranking panel names the counties).
    """
    labels = {a: f"<b>{cv.fmt(cv.values[a], lang)}</b>" if a in cv.values else "—" for a in adcodes}
    if cv.measure == AQI_KEY:
        per = {a: (int(cv.values[a]) if a in cv.values else None) for a in adcodes}
        colours, legend = aqi_choropleth_values(per, lang=lang)
        _, hover = aqi_labels(per, names, lang=lang)
        return Shading(colours=colours, labels=labels, hover=hover, legend=legend, title="HJ 633")
    shading = classed(cv.values, names, cv.unit, adcodes)
    hover = {a: f"{names.get(a, a)}: {cv.fmt(cv.values[a], lang) if a in cv.values else '—'} {cv.unit}".strip()
             for a in adcodes}
    colours = {a: (shading.colours[a] if a in cv.values else NO_DATA) for a in adcodes}
    legend = [(c, f"{label} {cv.unit}".strip()) for c, label in shading.legend]
    if cv.kpi is not None and any(a not in cv.values for a in adcodes):
        legend.append((NO_DATA, t("legend_no_data", lang)))
    return replace(shading, colours=colours, labels=labels, hover=hover, legend=legend)


def _round(xs: Sequence[float | None]) -> list[float | None]:
    return [None if v is None else round(v, 3) for v in xs]


def choropleth_figure(inp: PanelInput, shading: Shading) -> dict[str, Any]:
    """The small county map: the registered county_choropleth layer, the wall's county outlined, static."""
    counties = small_counties(inp.counties if inp.counties is not None else load_counties(inp.city.adcode, "coarse"))
    if inp.layers is not None:
        traces = inp.layers.build("county_choropleth", counties, shading, inp.names)
    else:
        traces = county_choropleth(counties, shading, inp.names)
    for tr in traces:
        if (tr.meta or {}).get("layer") == "county_choropleth" and tr.meta.get("adcode") == inp.county:
            tr.update(line={"color": "#ffffff", "width": 3})
    b = counties.total_bounds
    fig = map_figure_dict(traces, (b[0], b[1], b[2], b[3]), pad=0.02)
    for tr in fig["data"]:
        # A static map needs neither the per-point adcodes nor five decimals (≈1 m) of coordinates.
        if (tr.get("meta") or {}).get("layer") == "county_choropleth":
            tr.pop("customdata", None)
            tr["x"], tr["y"] = _round(tr["x"]), _round(tr["y"])
    fig["layout"]["hovermode"] = False
    return fig


def render_choropleth(inp: PanelInput) -> PanelOutput:
    """A small county map coloured by the measure (AQI in the HJ 633 band colours), its legend below."""
    s: ChoroplethSettings = inp.settings
    lang = inp.lang
    feed = feed_of(inp.measures, s.measure)
    cv = county_values(inp, s.measure)
    if cv is None:
        return _not_in_theme(inp, s.measure)
    adcodes = list(inp.city.counties)
    shading = county_shading(cv, adcodes, inp.names, lang)
    head = html.Div([html.Span(cv.title, className="ms-name")], className="ms-head")
    legend = html.Div([html.Span([html.I(style={"background": c}), label], className="legend-item")
                       for c, label in shading.legend], className="legend ms-legend")
    graph = dcc.Graph(figure=choropleth_figure(inp, shading), className="ms-map",
                      config={"displayModeBar": False, "staticPlot": True, "responsive": True})
    kids: list[Any] = [head, html.Div([graph, legend], className="ms-map-row")]
    if not cv.values:
        kids.insert(1, _empty(lang))
    return PanelOutput(_panel("choropleth", lang, kids), cv.data_time, feed)


# ---- registration --------------------------------------------------------------------------------------

MEASURE_PANELS: tuple[PanelType, ...] = (
    PanelType("kpi_target", *PANEL.both("kpi_target"), KPI_FEED, render_kpi_target, KpiTargetSettings),
    PanelType("gauge", *PANEL.both("gauge"), KPI_FEED, render_gauge, GaugeSettings),
    PanelType("trend", *PANEL.both("trend"), KPI_FEED, render_trend, TrendSettings),
    PanelType("county_ranking", *PANEL.both("county_ranking"), KPI_FEED, render_county_ranking,
              CountyRankingSettings),
    PanelType("choropleth", *PANEL.both("choropleth"), KPI_FEED, render_choropleth, ChoroplethSettings),
)


def register_measure_panels(registry: PanelRegistry) -> None:
    """Register the configurable measure panels through the public registry call."""
    for panel in MEASURE_PANELS:
        registry.register(panel)
