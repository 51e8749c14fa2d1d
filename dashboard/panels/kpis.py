"""Theme panels built on KPIs: the 2021 work plan's targets, progress against them and who answers for them.

Every panel shows its value with its unit, the plan's target where the plan names one (green when
met, amber when behind), the responsible department and the plan item. The shell around the panel
shows the data time and the stale badge, so the bodies here do not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from dash import html

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType
from dashboard.panels.builtin import fmt_amount
from dashboard.status import departments
from settings import CITY_TZ
from store.kpi_queries import KpiPoint, kpi_samples, kpis_as_of, latest_points
from words import Words, pick, t

FEED = "kpi"

tx = Words("panels.kpis")  # this module's words in the catalog (words/locale)
PANEL = Words("panel")  # the built-in panel types' titles, by their names


@dataclass(frozen=True)
class Metric:
    """A KPI as these panels show it: names, units in both languages, the plan's target and owners."""

    key: str
    name_zh: str
    name_en: str
    unit: str
    unit_en: str
    target: float | None = None
    kind: str = "min"  # min: reach at least the target; max: stay at most at it
    departments: tuple[str, ...] = ()
    plan_zh: str | None = None
    plan_en: str | None = None

    def name(self, lang: str) -> str:
        return pick(self.name_zh, self.name_en, lang)


METRIC = Words("panels.kpis.metric")  # the built-in KPIs' names (<key>) and units (<key>.unit)


def _m(key: str, unit: str, target: float | None = None, kind: str = "min",
       depts: tuple[str, ...] = ("市政数局",), plan: tuple[str, str] | None = None) -> Metric:
    """Shorthand for the table below: the KPI's names and English unit are the catalog's."""
    zh, en = METRIC.both(key)
    unit_en = METRIC(f"{key}.unit", "en")
    return Metric(key, zh, en, unit, unit_en, target, kind, depts, *(plan or (None, None)))


# Targets, departments and item numbers as the 2021 work plan (seed/…-2021-workplan.txt) gives them.
STAGES: tuple[Metric, ...] = (
    _m("econ.projects.negotiating", "个", depts=("市商务局",)),
    _m("econ.projects.signed", "个", depts=("市商务局",)),
    _m("econ.projects.construction", "个", depts=("市发改局",)),
    _m("econ.projects.production", "个", depts=("市工信局",)),
)
LIFECYCLE_PLAN = _m("econ.projects", "个", depts=("市投促局", "市政数局"), plan=("(十四)2", "§14.2"))
GDP_TARGET = 3000.0  # 亿元: "努力实现GDP超3000亿元目标"
GDP = _m("econ.gdp_ytd", "亿元", GDP_TARGET, depts=("市发改局", "市统计局"), plan=("总体要求", "preamble"))
WAGE = _m("econ.wage_warnings", "家", 0, "max", depts=("市人社局",), plan=("(十二)", "§12"))
ENTITIES = _m("market.entities_new_today", "户", depts=("市市场监管局",), plan=("(十四)4", "§14.4"))
CLAIMS = _m("market.supervision_claim_rate", "%", 100, plan=("(十四)11", "§14.11"))
YSHT_USERS = _m("market.ysht_users", "户", 230_000, plan=("(二)", "§2"))
YSHT_DAU = _m("market.ysht_dau", "户", 12_000, plan=("(二)", "§2"))
YSS_REG = _m("service.yss_registered", "人", 3_200_000, plan=("(二)", "§2"))
YSS_MAU = _m("service.yss_mau", "人", 1_200_000, plan=("(二)", "§2"))
HCP_ACTIVE = _m("service.haochaping_active_rate", "%", 85, plan=("(九)1", "§9.1"))
HCP_FIX = _m("service.bad_review_fix_rate", "%", 100, plan=("(九)1", "§9.1"))
ONE_THING = _m("service.one_thing", "个", 500, plan=("(一)", "§1"))
TONGBAN = _m("service.tongban", "项", 800, plan=("(四)", "§4"))
LEVELS: tuple[Metric, ...] = (
    _m("social.mediation.city", "件"),
    _m("social.mediation.county", "件"),
    _m("social.mediation.town", "件"),
    _m("social.mediation.village", "件"),
)
MEDIATION_PLAN = _m("social.mediation", "件", depts=("市委政法委", "市政数局"), plan=("(十六)5", "§16.5"))
HOTLINE_TODAY = _m("social.hotline_12345.today", "件", plan=("(八)", "§8"))
HOTLINE_OPEN = _m("social.hotline_12345.open", "件", plan=("(八)", "§8"))
HOTLINE_STATUSES = ("accepted", "dispatched", "in_progress", "closed")  # words: hotline_<status>


# ---- pure helpers ------------------------------------------------------------------------------


def progress(value: float, target: float | None) -> float | None:
    """Share of a target reached, in % (uncapped); None without a positive target."""
    if target is None or target <= 0:
        return None
    return 100 * value / target


def is_met(value: float, target: float, kind: str = "min") -> bool:
    """Whether a value meets the plan's target: at least it (min) or at most it (max)."""
    return value <= target if kind == "max" else value >= target


def year_elapsed(ts: datetime, tz: tzinfo = CITY_TZ) -> float:
    """Share of the local calendar year elapsed at `ts`, 0–1."""
    local = ts.astimezone(tz)
    start = datetime(local.year, 1, 1, tzinfo=tz)
    end = datetime(local.year + 1, 1, 1, tzinfo=tz)
    return (local - start) / (end - start)


def pace(value: float, target: float, elapsed: float) -> tuple[str, float]:
    """('met' | 'on_track' | 'behind', points behind the time share) of a year-to-date value."""
    if value >= target:
        return "met", 0.0
    gap = 100 * elapsed - 100 * value / target
    return ("behind", gap) if gap > 0 else ("on_track", 0.0)


def change(now: KpiPoint | None, before: KpiPoint | None) -> float | None:
    """The change between two readings, when both exist."""
    if now is None or before is None:
        return None
    return now.value - before.value


def unit_of(m: Metric, lang: str) -> str:
    """The unit shown after a value."""
    return pick(m.unit, m.unit_en, lang)


def target_text(m: Metric, lang: str) -> str:
    """'目标 ≥23万户' / 'Target ≥230.0k entities'."""
    if m.target is None:
        return ""
    sign = "≤" if m.kind == "max" else "≥"
    unit = unit_of(m, lang)
    sep = "" if lang != "en" or unit == "%" else " "
    amount = re.sub(r"\.0(?=[万kM]|$)", "", fmt_amount(m.target, m.unit, lang))
    return f"{t('target', lang)} {sign}{amount}{sep}{unit}"


def day_edges(now: datetime, tz: tzinfo = CITY_TZ, step: timedelta = timedelta(hours=1)) -> list[datetime]:
    """Interval edges from local midnight up to `now`, the last edge being `now` itself."""
    local = now.astimezone(tz)
    edges = [local.replace(hour=0, minute=0, second=0, microsecond=0)]
    while edges[-1] + step < local:
        edges.append(edges[-1] + step)
    return [*edges, local]


def trailing_edges(now: datetime, hours: int = 24) -> list[datetime]:
    """hours + 1 edges ending at `now`, an hour apart."""
    return [now - timedelta(hours=hours - i) for i in range(hours + 1)]


def newest(points: Sequence[KpiPoint | None]) -> datetime | None:
    """The newest time among readings."""
    return max((p.ts for p in points if p is not None), default=None)


# ---- shared pieces -----------------------------------------------------------------------------


def _empty(lang: str) -> html.Div:
    return html.Div(t("no_data", lang), className="empty kp-empty")


def _foot(m: Metric, lang: str, county: str | None, city_level: bool = True) -> html.Div:
    """Department, plan item and scope."""
    parts: list[Any] = [html.Span(f"{tx('dept', lang)} {departments(m.departments, lang)}", className="kp-dept")]
    if m.plan_zh:
        parts.append(html.Span(f"{tx('plan', lang)} {pick(m.plan_zh, m.plan_en or m.plan_zh, lang)}",
                               className="kp-plan"))
    if city_level:
        parts.append(html.Span(tx("city_only" if county else "city", lang), className="tag kp-scope"))
    return html.Div(parts, className="kp-foot")


def _state(m: Metric, value: float) -> str | None:
    return None if m.target is None else ("met" if is_met(value, m.target, m.kind) else "behind")


def _bar(pct: float | None, state: str | None) -> html.Div:
    """A progress bar, its fill capped at 100 %."""
    return html.Div(html.Div(className=f"kp-fill kp-{state or 'plain'}",
                             style={"width": f"{max(0.0, min(100.0, pct or 0.0)):.1f}%"}), className="kp-bar")


def _big(value: str, unit: str, extra: str = "") -> html.Span:
    return html.Span([html.Span(value, className=f"kp-value {extra}".strip()), html.Span(unit, className="kp-unit")],
                     className="kp-big")


def _tag(state: str | None, text: str) -> html.Span:
    return html.Span(text, className=f"kp-tag kp-{state or 'plain'}")


def gauge(m: Metric, point: KpiPoint | None, lang: str, large: bool = False) -> html.Div:
    """One KPI against its target: name and target, value, share reached and met/behind, a bar."""
    head = html.Div([html.Span(m.name(lang), className="kp-name"),
                     html.Span(target_text(m, lang), className="kp-target")], className="kp-line")
    if point is None:
        return html.Div([head, _empty(lang)], className="kp-gauge kp-missing")
    state = _state(m, point.value)
    pct = progress(point.value, m.target) if m.kind == "min" else None
    right: list[Any] = []
    if pct is not None and m.unit != "%":
        right.append(html.Span(f"{pct:.1f}%", className=f"kp-pct kp-{state}"))
    if state:
        right.append(_tag(state, tx(state, lang)))
    value_line = html.Div([_big(fmt_amount(point.value, m.unit, lang), unit_of(m, lang), "kp-xl" if large else ""),
                           html.Span(right, className="kp-right")], className="kp-line")
    kids: list[Any] = [head, value_line]
    if pct is not None:
        kids.append(_bar(pct, state))
    return html.Div(kids, className=f"kp-gauge kp-{state or 'plain'}")


def _city(inp: PanelInput, metrics: Sequence[Metric]) -> dict[str, KpiPoint]:
    got = latest_points(inp.session, [m.key for m in metrics], [inp.city.adcode])
    return {k: by_region[inp.city.adcode] for k, by_region in got.items()}


def _tz(inp: PanelInput) -> tzinfo:
    return inp.now.tzinfo or CITY_TZ


def _panel(name: str, kids: list[Any]) -> html.Div:
    return html.Div(kids, className=f"kp kp-{name.replace('_', '-')}")


# ---- panels ------------------------------------------------------------------------------------


def render_project_lifecycle(inp: PanelInput) -> PanelOutput:
    """洽谈 → 签约 → 在建 → 投产 as a centred funnel, each stage with its department and its 24 h change."""
    lang = inp.lang
    now = _city(inp, STAGES)
    foot = _foot(LIFECYCLE_PLAN, lang, inp.county)
    if not now:
        return PanelOutput(_panel("project_lifecycle", [_empty(lang), foot]), None)
    latest = max(p.ts for p in now.values())
    before = kpis_as_of(inp.session, [m.key for m in STAGES], inp.city.adcode, latest - timedelta(hours=24),
                        not_before=latest - timedelta(hours=48))
    top = max((p.value for p in now.values()), default=0) or 1
    rows = []
    for i, m in enumerate(STAGES):
        p = now.get(m.key)
        delta = change(p, before.get(m.key))
        width = 0.0 if p is None else max(18.0, 100 * p.value / top)
        rows.append(html.Div(className="kp-stage", children=[
            html.Div([html.Span(f"{i + 1} {m.name(lang)}", className="kp-stage-name"),
                      html.Span(departments(m.departments, lang), className="kp-stage-dept")], className="kp-stage-label"),
            html.Div(className="kp-funnel-track", children=html.Div(
                className=f"kp-funnel-bar kp-step-{i + 1}" + (" kp-none" if p is None else ""),
                style={"width": f"{width:.1f}%"},
                children=[html.Span(fmt_amount(p.value, m.unit, lang) if p else t("no_data", lang),
                                    className="kp-funnel-num")])),
            html.Span("" if not delta else f"{'▲' if delta > 0 else '▼'}{fmt_amount(abs(delta), m.unit, lang)}",
                      className="kp-delta " + ("kp-up" if (delta or 0) > 0 else "kp-down")),
        ]))
    legend = html.Div(f"{tx('unit', lang)}: {unit_of(STAGES[0], lang)} · {tx('vs_yesterday', lang)}",
                      className="kp-note kp-funnel-legend")
    return PanelOutput(_panel("project_lifecycle", [html.Div(rows, className="kp-funnel"), legend, foot]), latest)


def render_gdp_progress(inp: PanelInput) -> PanelOutput:
    """GDP year to date against 3,000亿元, the share of the target beside the share of the year."""
    lang = inp.lang
    p = _city(inp, [GDP]).get(GDP.key)
    foot = _foot(GDP, lang, inp.county)
    if p is None:
        return PanelOutput(_panel("gdp_progress", [_empty(lang), foot]), None)
    elapsed = year_elapsed(p.ts, _tz(inp))
    share = progress(p.value, GDP_TARGET) or 0.0
    state, gap = pace(p.value, GDP_TARGET, elapsed)
    label = {"met": tx("target_met", lang), "on_track": tx("on_track", lang),
             "behind": tx("behind_pace", lang, p=f"{gap:.1f}")}[state]
    colour = "met" if state != "behind" else "behind"
    body = [
        html.Div([_big(fmt_amount(p.value, GDP.unit, lang), unit_of(GDP, lang), "kp-xl"), _tag(colour, label)],
                 className="kp-line"),
        html.Div([html.Span(tx("target_done", lang), className="kp-bar-label"), _bar(share, colour),
                  html.Span(f"{share:.1f}%", className=f"kp-pct kp-{colour}")], className="kp-bar-row"),
        html.Div([html.Span(tx("year_elapsed", lang), className="kp-bar-label"), _bar(100 * elapsed, "time"),
                  html.Span(f"{100 * elapsed:.1f}%", className="kp-pct")], className="kp-bar-row"),
        html.Div(f"{target_text(GDP, lang)} ({tx('annual', lang)})", className="kp-target kp-target-line"),
        foot,
    ]
    return PanelOutput(_panel("gdp_progress", body), p.ts)


def render_wage_warnings(inp: PanelInput) -> PanelOutput:
    """Enterprises with wage-payment warnings now, and hour by hour over the last 24 h."""
    lang = inp.lang
    p = _city(inp, [WAGE]).get(WAGE.key)
    foot = _foot(WAGE, lang, inp.county)
    if p is None:
        return PanelOutput(_panel("wage_warnings", [_empty(lang), foot]), None)
    state = _state(WAGE, p.value)
    samples = kpi_samples(inp.session, WAGE.key, inp.city.adcode, trailing_edges(p.ts, 24))
    values = [s.value if s else None for s in samples]
    peak = max((v for v in values if v is not None), default=0) or 1
    bars = [html.Div(className="kp-spark-bar" + (" kp-gap" if v is None else " kp-hot" if v > 0 else ""),
                     style={"height": "0" if v is None else f"{max(4.0, 100 * v / peak):.0f}%"}) for v in values]
    body = [
        html.Div([_big(fmt_amount(p.value, WAGE.unit, lang), unit_of(WAGE, lang), "kp-xl"),
                  html.Span([html.Span(target_text(WAGE, lang), className="kp-target"),
                             _tag(state, tx("no_warnings" if state == "met" else "act", lang))],
                            className="kp-right")], className="kp-line"),
        html.Div([html.Span(tx("last_24h", lang), className="kp-note"),
                  html.Span(tx("peak", lang, v=fmt_amount(peak if any(values) else 0, WAGE.unit, lang)),
                            className="kp-note")], className="kp-line"),
        html.Div(bars, className="kp-spark"),
        foot,
    ]
    return PanelOutput(_panel("wage_warnings", body), p.ts)


def area_polygon(values: Sequence[float | None], xs: Sequence[float], top: float) -> str | None:
    """A CSS clip-path polygon for an area chart: xs in 0–1 of the width, values scaled to `top`."""
    pts = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
    if not pts or top <= 0:
        return None
    coords = [f"{100 * pts[0][0]:.2f}% 100%"]
    coords += [f"{100 * x:.2f}% {100 - 100 * min(v, top) / top:.2f}%" for x, v in pts]
    coords.append(f"{100 * pts[-1][0]:.2f}% 100%")
    return f"polygon({', '.join(coords)})"


def render_market_entities(inp: PanelInput) -> PanelOutput:
    """New market entities registered today, with today's curve since local midnight."""
    lang = inp.lang
    tz = _tz(inp)
    p = _city(inp, [ENTITIES]).get(ENTITIES.key)
    foot = _foot(ENTITIES, lang, inp.county)
    midnight = inp.now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if p is None or p.ts < midnight:
        # Yesterday's count is not today's: a day without a report yet shows no data.
        return PanelOutput(_panel("market_entities", [_empty(lang), foot]), p.ts if p else None)
    edges = day_edges(p.ts, tz)
    samples = kpi_samples(inp.session, ENTITIES.key, inp.city.adcode, edges)
    got = [s for s in samples if s is not None]
    xs = [(s.ts - midnight) / timedelta(hours=24) for s in got]  # where each reading was taken
    values: list[float | None] = [s.value for s in got]
    # Yesterday by this time: how today's count compares with an ordinary day's pace.
    prev = kpis_as_of(inp.session, [ENTITIES.key], inp.city.adcode, p.ts - timedelta(hours=24),
                      not_before=midnight - timedelta(hours=24)).get(ENTITIES.key)
    top = max([v for v in values if v is not None] + [prev.value if prev else 0, 1])
    clip = area_polygon(values, xs, top * 1.1)
    chart = html.Div(className="kp-area", children=html.Div(
        className="kp-area-fill", style={"clipPath": clip} if clip else {"display": "none"}))
    ticks = html.Div([html.Span(tx("hour_tick", lang, h=h)) for h in (0, 6, 12, 18, 24)],
                     className="kp-ticks")
    right: list[Any] = []
    if prev is not None:
        d = p.value - prev.value
        right.append(html.Span(tx("yesterday_same", lang, v=f"{fmt_amount(prev.value, ENTITIES.unit, lang)}"),
                               className="kp-note"))
        if d:
            right.append(html.Span(f"{'▲' if d > 0 else '▼'}{fmt_amount(abs(d), ENTITIES.unit, lang)}",
                                   className="kp-delta " + ("kp-up" if d > 0 else "kp-down")))
    body = [
        html.Div([_big(fmt_amount(p.value, ENTITIES.unit, lang), unit_of(ENTITIES, lang), "kp-xl"),
                  html.Span(right, className="kp-right")], className="kp-line"),
        html.Div(tx("since_midnight", lang), className="kp-note"),
        chart,
        ticks,
        foot,
    ]
    return PanelOutput(_panel("market_entities", body), p.ts)


def render_supervision_claims(inp: PanelInput) -> PanelOutput:
    """互联网+监管 items claimed, against the plan's 100 %."""
    lang = inp.lang
    p = _city(inp, [CLAIMS]).get(CLAIMS.key)
    body = [gauge(CLAIMS, p, lang, large=True),
            html.Div(tx("claim_note", lang), className="kp-note"), _foot(CLAIMS, lang, inp.county)]
    return PanelOutput(_panel("supervision_claims", body), p.ts if p else None)


def _pair(name: str, a: Metric, b: Metric) -> Any:
    """A panel of two KPIs, each against its target."""
    def render(inp: PanelInput) -> PanelOutput:
        got = _city(inp, [a, b])
        body = [gauge(a, got.get(a.key), inp.lang), gauge(b, got.get(b.key), inp.lang), _foot(a, inp.lang, inp.county)]
        return PanelOutput(_panel(name, body), newest(list(got.values())))
    render.__doc__ = f"{a.name_en} and {b.name_en} against the plan's targets."
    return render


render_ysht_users = _pair("ysht_users", YSHT_USERS, YSHT_DAU)
render_yss_users = _pair("yss_users", YSS_REG, YSS_MAU)
render_haochaping = _pair("haochaping", HCP_ACTIVE, HCP_FIX)


def render_service_items(inp: PanelInput) -> PanelOutput:
    """一件事 and 通办 item counts against 500 and 800 (plan items 一 and 四)."""
    got = _city(inp, [ONE_THING, TONGBAN])
    lang = inp.lang
    foot = _foot(Metric("", "", "", "", "", departments=("市政数局",), plan_zh="(一)(四)", plan_en="§1, §4"),
                 lang, inp.county)
    body = [gauge(ONE_THING, got.get(ONE_THING.key), lang), gauge(TONGBAN, got.get(TONGBAN.key), lang), foot]
    return PanelOutput(_panel("service_items", body), newest(list(got.values())))


def render_mediation_levels(inp: PanelInput) -> PanelOutput:
    """Conflict-mediation cases at the city, county, town and village levels."""
    lang = inp.lang
    got = _city(inp, LEVELS)
    foot = _foot(MEDIATION_PLAN, lang, inp.county)
    if not got:
        return PanelOutput(_panel("mediation_levels", [_empty(lang), foot]), None)
    total = sum(p.value for p in got.values())
    top = max(p.value for p in got.values()) or 1
    bars = html.Div(className="step-bars kp-levels", children=[
        html.Div(className="step", children=[
            html.Span(m.name(lang), className="label"),
            html.Div(className="bar", children=html.Div(
                className="fill", style={"width": f"{100 * got[m.key].value / top:.0f}%" if m.key in got else "0"})),
            html.Span(fmt_amount(got[m.key].value, m.unit, lang) if m.key in got else "—", className="num")])
        for m in LEVELS])
    body = [html.Div([_big(fmt_amount(total, "件", lang), unit_of(LEVELS[0], lang), "kp-xl"),
                      html.Span(tx("total_4", lang), className="kp-note")], className="kp-line"),
            bars, foot]
    return PanelOutput(_panel("mediation_levels", body), newest(list(got.values())))


@dataclass(frozen=True)
class HotlineRow:
    """One county's 12345 counts."""

    region: str
    name: str
    open: float | None
    today: float | None


def hotline_rows(points: dict[str, dict[str, KpiPoint]], names: dict[str, str],
                 city: str | None = None) -> list[HotlineRow]:
    """Counties (of `names`; never the city, adcode `city`) with any count, most open tickets first."""
    opens, todays = points.get(HOTLINE_OPEN.key, {}), points.get(HOTLINE_TODAY.key, {})
    rows = [HotlineRow(r, names.get(r, r), opens[r].value if r in opens else None,
                       todays[r].value if r in todays else None)
            for r in names if r != city and (r in opens or r in todays)]
    return sorted(rows, key=lambda x: (-(x.open or 0), -(x.today or 0), x.region))


def render_hotline_12345(inp: PanelInput) -> PanelOutput:
    """12345 tickets today and open: the city and bars by county, or one county with its status mix."""
    lang = inp.lang
    status_keys = [f"social.hotline_12345.status.{s}" for s in HOTLINE_STATUSES]
    keys = [HOTLINE_TODAY.key, HOTLINE_OPEN.key]
    foot = _foot(Metric("", "", "", "", "", departments=("市政数局",), plan_zh="(八)", plan_en="§8"),
                 lang, inp.county, city_level=False)
    unit = unit_of(HOTLINE_OPEN, lang)

    def summary(open_: KpiPoint | None, today: KpiPoint | None, with_foot: bool = False) -> html.Div:
        kids: list[Any] = [
            _big(fmt_amount(open_.value, "件", lang) if open_ else "—", "", "kp-open"),
            html.Span(tx("open_unit", lang, unit=unit),
                      className="kp-unit kp-open-label"),
            _big(fmt_amount(today.value, "件", lang) if today else "—", "", "kp-today"),
            html.Span(tx("today_unit", lang, unit=unit), className="kp-unit"),
        ]
        if with_foot:  # eight county rows leave no room for a foot line of its own
            kids.append(html.Div(foot.children, className="kp-foot kp-foot-side"))
        return html.Div(kids, className="kp-line kp-hotline-sum")

    if inp.county:
        got = latest_points(inp.session, [*keys, *status_keys], [inp.county, inp.city.adcode])
        mine = {k: v[inp.county] for k, v in got.items() if inp.county in v}
        if not mine:
            return PanelOutput(_panel("hotline_12345", [_empty(lang), foot]), None)
        open_, today = mine.get(HOTLINE_OPEN.key), mine.get(HOTLINE_TODAY.key)
        chips = html.Div(className="level-chips kp-status", children=[
            html.Div(className="chip", children=[
                html.Span(fmt_amount(mine[k].value, "件", lang) if k in mine else "—", className="value"),
                html.Span(tx(f"hotline_{status}", lang), className="label")])
            for k, status in zip(status_keys, HOTLINE_STATUSES, strict=True)])
        body: list[Any] = [summary(open_, today), chips]
        city_open = got.get(HOTLINE_OPEN.key, {}).get(inp.city.adcode)
        note = [inp.names.get(inp.county, inp.county)]
        if open_ is not None and city_open is not None and city_open.value > 0:
            note.append(tx("share_city", lang, p=f"{100 * open_.value / city_open.value:.0f}"))
        body.append(html.Div(" · ".join(note), className="kp-note"))
        body.append(foot)
        return PanelOutput(_panel("hotline_12345", body), newest(list(mine.values())))

    regions = [inp.city.adcode, *(r for r in inp.names if r != inp.city.adcode)]
    got = latest_points(inp.session, keys, regions)
    rows = hotline_rows(got, inp.names, inp.city.adcode)
    city = inp.city.adcode
    city_open, city_today = got.get(HOTLINE_OPEN.key, {}).get(city), got.get(HOTLINE_TODAY.key, {}).get(city)
    if city_open is None and city_today is None and not rows:
        return PanelOutput(_panel("hotline_12345", [_empty(lang), foot]), None)
    top = max((r.open or 0 for r in rows), default=0) or 1
    items = [html.Li(className="kp-county", children=[
        html.Span(r.name, className="kp-county-name"),
        html.Div(className="kp-bar", children=html.Div(className="kp-fill kp-open",
                                                      style={"width": f"{100 * (r.open or 0) / top:.0f}%"})),
        html.Span("—" if r.open is None else fmt_amount(r.open, "件", lang), className="kp-num kp-open"),
        html.Span("—" if r.today is None else fmt_amount(r.today, "件", lang), className="kp-num kp-today"),
    ]) for r in rows]
    all_points = [city_open, city_today, *(p for by in got.values() for p in by.values())]
    body = [summary(city_open, city_today, with_foot=True), html.Ul(items, className="kp-counties")]
    return PanelOutput(_panel("hotline_12345", body), newest(all_points))


KPI_PANELS: tuple[PanelType, ...] = (
    PanelType("project_lifecycle", *PANEL.both("project_lifecycle"), FEED, render_project_lifecycle),
    PanelType("gdp_progress", *PANEL.both("gdp_progress"), FEED, render_gdp_progress),
    PanelType("wage_warnings", *PANEL.both("wage_warnings"), FEED, render_wage_warnings),
    PanelType("market_entities", *PANEL.both("market_entities"), FEED, render_market_entities),
    PanelType("supervision_claims", *PANEL.both("supervision_claims"), FEED,
              render_supervision_claims),
    PanelType("ysht_users", *PANEL.both("ysht_users"), FEED, render_ysht_users),
    PanelType("yss_users", *PANEL.both("yss_users"), FEED, render_yss_users),
    PanelType("haochaping", *PANEL.both("haochaping"), FEED, render_haochaping),
    PanelType("service_items", *PANEL.both("service_items"), FEED, render_service_items),
    PanelType("mediation_levels", *PANEL.both("mediation_levels"), FEED, render_mediation_levels),
    # The hotline counts come from the polled 12345 feed: its freshness is that feed's, not the
    # simulator's KPI stream (which keeps "kpi" fresh while the 12345 API may be silent).
    PanelType("hotline_12345", *PANEL.both("hotline_12345"), "hotline_12345", render_hotline_12345),
)


def register_kpi_panels(registry: PanelRegistry) -> None:
    """Register the KPI theme panels through the public registry call."""
    for panel in KPI_PANELS:
        registry.register(panel)
