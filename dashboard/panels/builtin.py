"""The built-in panels: one per feed (latest state) and the theme KPI strip."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dash import html

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType, figure, fmt_time, silent_before
from dashboard.status import department_list, workflow_steps
from measures.cases import OPEN_CASES_KEY
from measures.devices import VIDEO_ONLINE_KEY
from measures.stations import FIRE, FIRE_LEVEL_KEY, FOG, FOG_STATIONS_KEY, FIRE_METRICS, latest_rows
from feeds.payloads import DETECTION_NAMES, Detection
from standards.fire import FIRE_LEVELS, FireDangerResult, beaufort, fire_danger
from standards.fog import expressway_rule, fog_signal
from store import queries as q
from store.queries import LatestRow
from topics import KpiDef
from topics import theme as get_theme
from words import Words, pick, t

PANEL = Words("panel")  # the built-in panel types' titles, by their names
UNIT = Words("unit")  # KPI units, by the theme files' Chinese names


def _by_device(rows: Sequence[LatestRow]) -> dict[str, dict[str, LatestRow]]:
    out: dict[str, dict[str, LatestRow]] = defaultdict(dict)
    for r in rows:
        out[r.device_id][r.metric] = r
    return out


def _newest(rows: Sequence[LatestRow]) -> datetime | None:
    return max((r.ts for r in rows), default=None)


# ---- road weather ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationView:
    """A road-weather station as the panel lists it."""

    name: str
    county: str | None
    ts: datetime
    visibility_m: float
    air_temp_c: float | None
    signal_severity: int
    colour: str | None
    signal_zh: str | None
    signal_en: str | None


def road_weather_view(rows: Sequence[LatestRow]) -> list[StationView]:
    """Stations worst visibility first, each with its CMA fog signal."""
    out = []
    for metrics in _by_device(rows).values():
        vis = metrics.get("visibility_m")
        if vis is None:
            continue
        sig = fog_signal(vis.value)
        temp = metrics.get("air_temp_c")
        out.append(StationView(vis.name or vis.device_id, vis.county_adcode, vis.ts, vis.value,
                               temp.value if temp else None, sig.severity if sig else 0,
                               sig.colour.hex if sig else None, sig.name_zh if sig else None,
                               sig.name_en if sig else None))
    return sorted(out, key=lambda s: s.visibility_m)


def render_road_weather(inp: PanelInput) -> PanelOutput:
    """Fog signals and the Art. 81 rule for the worst station."""
    rows = latest_rows(inp.session, FOG.feed, FOG.metrics, inp.county)  # the fog measure's read, shared
    stations = road_weather_view(rows)
    if not stations:
        return PanelOutput(html.Div(t("no_data", inp.lang), className="empty"), None)
    region = inp.county or inp.city.adcode
    got = inp.measures.value(inp.session, FOG_STATIONS_KEY, region, inp.now)  # reporting stations in fog: the map's rule
    foggy = int(got.value) if got is not None else 0
    silent = silent_before(inp, FOG_STATIONS_KEY)
    worst = stations[0]
    rule = expressway_rule(worst.visibility_m)
    summary = [html.Div(className="big-number", children=[
        html.Span(str(foggy), className="value" + (" alert" if foggy else ""),
                  **figure(inp, FOG_STATIONS_KEY, region, got)),
        html.Span(f" / {len(stations)} {t('fog_stations', inp.lang)}", className="unit")])]
    if rule is not None:
        gap = t("gap", inp.lang, v=rule.min_gap_m) if rule.min_gap_m else t("leave", inp.lang)
        summary.append(html.Div(f"{worst.name}: {t('speed_limit', inp.lang, v=rule.speed_limit_kmh)} · {gap}",
                                className="rule-line"))
    items = [html.Li(className="row" + (" silent" if s.ts < silent else ""), children=[
        html.Span(s.name, className="name"),
        html.Span(inp.names.get(s.county or "", ""), className="county"),
        html.Span(f"{s.visibility_m:,.0f} m", className="num",
                  style={"color": s.colour} if s.colour else None),
        html.Span(pick(s.signal_zh or "", s.signal_en or "", inp.lang), className="tag",
                  style={"background": s.colour} if s.colour else {"display": "none"}),
        html.Span("—" if s.air_temp_c is None else f"{s.air_temp_c:.1f} °C", className="num"),
    ]) for s in stations[:6]]
    return PanelOutput([*summary, html.Ul(items, className="rows")], _newest(rows))


# ---- fire risk ---------------------------------------------------------------------------------



@dataclass(frozen=True)
class FireView:
    """A fire-danger station as the panel lists it: its newest reading and its QX/T 77 result."""

    name: str
    county: str | None
    ts: datetime
    result: FireDangerResult


def fire_risk_view(rows: Sequence[LatestRow]) -> list[FireView]:
    """Stations reporting every factor, worst first."""
    out = []
    for metrics in _by_device(rows).values():
        if not all(m in metrics for m in FIRE_METRICS):
            continue
        res = fire_danger(metrics["max_temp_c"].value, metrics["rh_pct"].value, int(metrics["dry_days"].value),
                          beaufort(metrics["wind_speed_ms"].value))
        first = metrics["max_temp_c"]
        out.append(FireView(first.name or first.device_id, first.county_adcode,
                            min(metrics[m].ts for m in FIRE_METRICS), res))
    return sorted(out, key=lambda x: -x.result.score)


def render_fire_risk(inp: PanelInput) -> PanelOutput:
    """Stations per fire-danger level and the worst stations, naming the method."""
    rows = latest_rows(inp.session, FIRE.feed, FIRE.metrics, inp.county)  # the fire measure's read, shared
    stations = fire_risk_view(rows)
    if not stations:
        return PanelOutput(html.Div(t("no_data", inp.lang), className="empty"), _newest(rows))
    silent = silent_before(inp, FIRE_LEVEL_KEY)
    counts: dict[int, int] = defaultdict(int)
    for st in stations:
        if st.ts >= silent:  # a silent station's old level is not today's danger (the measure's rule)
            counts[st.result.level] += 1
    region = inp.county or inp.city.adcode
    got = inp.measures.value(inp.session, FIRE_LEVEL_KEY, region, inp.now)
    worst = next((lv for lv in FIRE_LEVELS if got is not None and lv.level == int(got.value)), None)
    head = html.Div(className="fire-worst", children=[
        html.Span(t("highest", inp.lang), className="label"),
        html.Span(pick(f"{worst.level_zh} {worst.name_zh}", worst.name_en, inp.lang) if worst else "—",
                  className="tag", style={"background": worst.colour.hex, "color": "#111"} if worst else None,
                  **figure(inp, FIRE_LEVEL_KEY, region, got))])
    chips = html.Div(className="level-chips", children=[
        html.Div(className="chip", style={"borderColor": lv.colour.hex}, children=[
            html.Span(str(counts.get(lv.level, 0)), className="value", style={"color": lv.colour.hex}),
            html.Span(pick(lv.name_zh, lv.name_en, inp.lang), className="label")])
        for lv in FIRE_LEVELS])
    items = [html.Li(className="row" + (" silent" if st.ts < silent else ""), children=[
        html.Span(st.name, className="name"), html.Span(inp.names.get(st.county or "", ""), className="county"),
        html.Span(pick(f"{st.result.level_zh} {st.result.name_zh}", st.result.name_en, inp.lang), className="tag",
                  style={"background": st.result.colour.hex, "color": "#111"}),
        html.Span(f"{st.result.score}", className="num")])
        for st in stations[:4]]
    method = stations[0].result.method
    return PanelOutput([head, chips, html.Ul(items, className="rows"),
                        html.Div(f"{t('method', inp.lang)}: {method}", className="footnote")], _newest(rows))


# ---- river-chief video points ------------------------------------------------------------------


def render_video_points(inp: PanelInput) -> PanelOutput:
    """Online rate and the AI detections of the last hour."""
    rows = q.latest_values(inp.session, "video_point", None, inp.county)
    devices = _by_device(rows)
    if not devices:
        return PanelOutput(html.Div(t("no_data", inp.lang), className="empty"), None)
    region = inp.county or inp.city.adcode
    got = inp.measures.value(inp.session, VIDEO_ONLINE_KEY, region, inp.now)  # the map's rule: reporting, stream up
    rate = got.value if got is not None else 0.0
    online = round(rate * len(devices) / 100)
    since = inp.now - timedelta(hours=1)
    alarms = sorted((r for r in rows if r.metric.startswith("detection.") and r.ts >= since),
                    key=lambda r: r.ts, reverse=True)
    items = []
    for r in alarms[:5]:
        zh, en = DETECTION_NAMES.get(Detection(r.metric.removeprefix("detection.")), (r.metric, r.metric))
        items.append(html.Li(className="row", children=[
            html.Span(fmt_time(r.ts, inp.now), className="time"), html.Span(r.name or r.device_id, className="name"),
            html.Span(pick(zh, en, inp.lang), className="tag warn"), html.Span(f"{r.value:.0%}", className="num")]))
    body = [
        html.Div(className="big-number", children=[
            html.Span(f"{rate:.1f}", className="value" + (" alert" if rate < 90 else ""),
                      **figure(inp, VIDEO_ONLINE_KEY, region, rate)),
            html.Span(f" % {t('online_rate', inp.lang)} ({online}/{len(devices)})", className="unit")]),
        html.H3(t("ai_alarms", inp.lang)),
        html.Ul(items, className="rows") if items else html.Div(t("none_recent", inp.lang), className="empty"),
    ]
    return PanelOutput(body, _newest(rows))


# ---- grid events -------------------------------------------------------------------------------


def render_grid_events(inp: PanelInput) -> PanelOutput:
    """Open cases per workflow step and the latest case updates."""
    by_step = q.open_events_by_step(inp.session, inp.county)
    recent = q.recent_events(inp.session, 4, inp.county)
    region = inp.county or inp.city.adcode
    got = inp.measures.value(inp.session, OPEN_CASES_KEY, region, inp.now)  # the one count of open cases
    total = int(got.value) if got is not None else sum(by_step.values())
    top = max(by_step.values(), default=1)
    steps = workflow_steps(inp.lang)
    bars = html.Div(className="step-bars", children=[
        html.Div(className="step", children=[
            html.Span(steps[i], className="label"),
            html.Div(className="bar", children=html.Div(
                className="fill", style={"width": f"{100 * by_step.get(i + 1, 0) / top:.0f}%"})),
            html.Span(str(by_step.get(i + 1, 0)), className="num")])
        for i in range(5)])  # steps 6–7 are closed cases: not "open"
    items = [html.Li(className="row", children=[
        html.Span(fmt_time(e.updated_at, inp.now), className="time"),
        html.Span(inp.names.get(e.county_adcode or "", ""), className="county"),
        html.Span(e.subcategory or e.category, className="name"),
        html.Span(steps[e.step - 1], className="tag")]) for e in recent]
    body = [html.Div(className="big-number", children=[
        html.Span(str(total), className="value", **figure(inp, OPEN_CASES_KEY, region, total)),
        html.Span(f" {t('open_cases', inp.lang)}", className="unit")]),
        bars, html.H3(t("latest_cases", inp.lang)), html.Ul(items, className="rows")]
    return PanelOutput(body, recent[0].updated_at if recent else None)


# ---- KPIs of a theme ---------------------------------------------------------------------------


def kpi_progress(value: float, kpi: KpiDef) -> float | None:
    """Share of the target reached (min targets) or the headroom used (max targets), in %."""
    if kpi.target is None:
        return None
    if kpi.target_kind == "max":
        return None if kpi.target == 0 else 100 * value / kpi.target
    return 100 * value / kpi.target if kpi.target else None


def fmt_value(value: float, unit: str | None) -> str:
    """Large numbers in 万 (Chinese convention for people and entities), others as they are."""
    if unit in ("人", "户") and abs(value) >= 10_000:
        return f"{value / 10_000:,.1f}万"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def fmt_amount(value: float, unit: str, lang: str) -> str:
    """A value for display: 万 for large counts in Chinese (builtin.fmt_value), k/M and bn CNY in English."""
    if lang == "en":
        if unit == "亿元":
            return f"{value / 10:,.1f}"
        if unit in ("人", "户") and abs(value) >= 1_000_000:
            return f"{value / 1_000_000:,.2f}M"
        if unit in ("人", "户") and abs(value) >= 10_000:
            return f"{value / 1_000:,.1f}k"
    return fmt_value(value, unit)


# Counted things English names by the KPI itself: the number stands alone (Chinese says 个).
BARE_COUNTERS = frozenset({"个"})


def unit_word(unit: str, lang: str) -> str:
    """A KPI's unit as shown after its value: the catalog's `unit` word (the theme files give units in Chinese)."""
    if unit in BARE_COUNTERS:
        return pick(unit, "", lang)
    return UNIT.get(unit, lang, unit)


def kpi_cards(inp: PanelInput, kpis: Sequence[KpiDef]) -> PanelOutput:
    """One card per KPI: value with unit, the plan's target, progress, department, data time."""
    cards = []
    newest: datetime | None = None
    # One read per region, not per KPI: each read cost PostgreSQL about 0.7 ms a tick (`make bench`, wall).
    regions: dict[str, list[str]] = defaultdict(list)
    for kpi in kpis:
        regions[inp.county or kpi.region_in(inp.city.adcode)].append(kpi.key)
    latest = {region: inp.measures.latest(inp.session, keys, [region], inp.now) for region, keys in regions.items()}
    for kpi in kpis:
        region = inp.county or kpi.region_in(inp.city.adcode)
        got = latest[region].get(kpi.key, {}).get(region)
        target = ""
        cls = "kpi-card"
        if got is not None:
            newest = max(newest, got.ts) if newest else got.ts
            progress = kpi_progress(got.value, kpi)
            if kpi.target is not None:
                sign = "≤" if kpi.target_kind == "max" else "≥"
                target = t("target_at", inp.lang, sign=sign, amount=fmt_amount(kpi.target, kpi.unit or "", inp.lang),
                           unit=unit_word(kpi.unit or "", inp.lang)).rstrip()
                met = (got.value <= kpi.target) if kpi.target_kind == "max" else (got.value >= kpi.target)
                cls += " met" if met else " behind"
                if progress is not None and kpi.target_kind == "min":
                    target += f" · {progress:.0f}%"
        unit = kpi.unit or ""
        value = fmt_amount(got.value, unit, inp.lang) if got else "—"
        cards.append(html.Div(className=cls, children=[
            html.Div(pick(kpi.name_zh, kpi.name_en, inp.lang), className="kpi-name"),
            html.Div([html.Span(value, className="kpi-value", **figure(inp, kpi.key, region, got)),
                      html.Span(unit_word(unit, inp.lang), className="kpi-unit")]),
            html.Div(target, className="kpi-target"),
            html.Div([html.Span(department_list(kpi.department, inp.lang), className="dept"),
                      html.Span(fmt_time(got.ts if got else None, inp.now), className="time")],
                     className="kpi-foot"),
        ]))
    return PanelOutput(cards, newest)


def render_theme_kpis(inp: PanelInput) -> PanelOutput:
    """The KPI cards of the theme the wall shows."""
    return kpi_cards(inp, (inp.theme_def or get_theme(inp.theme or "")).kpis)


BUILTIN_PANELS = (
    PanelType("road_weather", *PANEL.both("road_weather"), "road_weather", render_road_weather),
    PanelType("fire_risk", *PANEL.both("fire_risk"), "fire_risk", render_fire_risk),
    PanelType("video_point", *PANEL.both("video_point"), "video_point", render_video_points),
    PanelType("grid_event", *PANEL.both("grid_event"), "grid_event", render_grid_events),
    PanelType("kpi", *PANEL.both("kpi"), "kpi", render_theme_kpis),
)


def register_feed_panels(registry: PanelRegistry) -> None:
    """Register the feed panels and the KPI strip through the public registry call."""
    for panel in BUILTIN_PANELS:
        registry.register(panel)
