"""The daily briefing (运行日报): a PDF of the city's or one county's day, from the measures, printed by headless
Chromium; kept in the store with its history, listed at /briefings (dashboard/briefing_routes.py), POSTed to
the briefing webhooks ([briefing.md](../docs/briefing.md)).

What it shows is what the wall shows, read the way the wall reads it: the measures' hourly samples
(`MeasureRegistry.samples`, as the trend panel draws them), the themes' KPIs with their targets, the day's alarms
and cases (store/briefing_queries.py), the stations' fog, fire-danger and water-level episodes (the station
measures' samples), the plan's progress (the plan panel's functions), the city map (the wall's `map_state` and
`city_map`) and the trends (the trend panel's `trend_figure`), drawn by the plotly.js bundled in the plotly
package — nothing is fetched from the network.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import logging
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path
from typing import Any

import orjson
import plotly
import plotly.io as pio
from sqlalchemy.orm import Session

from alerts.notify import MAX_TARGET, MAX_URL, Notifier, url_problem
from dashboard.context import AppContext
from dashboard.pages.wall import city_map, map_state
from dashboard.panels.kpis import fmt_amount, is_met
from dashboard.panels.measures import TrendData, trend_figure
from dashboard.panels.plan import overdue_worst_first, plan_rows, read_progress, status_counts
from measures.air import AQI_KEY, PM25_KEY
from measures.cases import OPEN_CASES_KEY, OVERDUE_CASES_KEY
from measures.devices import VIDEO_ONLINE_KEY
from measures.stations import FIRE_LEVEL_KEY, FOG_STATIONS_KEY, WATER_OVER_WARNING_KEY
from settings import CITY_TZ
from store import briefing_queries as bq
from store.leases import LeaderThreads
from store.models import Briefing, Delivery
from topics.plan import plan_for, status_word, statuses
from topics.themes import KpiDef
from words import Words, html_lang, pick

tx = Words("briefing")  # this module's words in the catalog (words/locale)

log = logging.getLogger(__name__)

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
# The figures of the day every briefing lists first (then the themes' KPIs with targets).
HEADLINE = (AQI_KEY, PM25_KEY, OPEN_CASES_KEY, OVERDUE_CASES_KEY, VIDEO_ONLINE_KEY, FOG_STATIONS_KEY, FIRE_LEVEL_KEY,
            WATER_OVER_WARNING_KEY)
EPISODES = (FOG_STATIONS_KEY, FIRE_LEVEL_KEY, WATER_OVER_WARNING_KEY)
TRENDS = (AQI_KEY, OPEN_CASES_KEY, OVERDUE_CASES_KEY, VIDEO_ONLINE_KEY)
FIRE_EPISODE_LEVEL = 3  # 较高 and above: a fire-danger episode
DEPARTMENT_ROWS = 15
PLAN_ROWS = 8
DRAWN = re.compile(r'data-zq-drawn="(\d+)"')


class BriefingError(RuntimeError):
    """Why a briefing could not be made (recorded on its row)."""


# ---- what it shows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One figure of the day: its value at the day's end (the newest hourly sample), the day's peak, and the
    target the plan sets for it."""

    key: str
    name: str
    unit: str
    value: float | None
    peak: float | None
    target: float | None
    target_kind: str
    department: str

    @property
    def state(self) -> str | None:
        if self.target is None or self.value is None:
            return None
        return "met" if is_met(self.value, self.target, self.target_kind) else "behind"


@dataclass(frozen=True)
class Episode:
    """A station measure over the day: the hours it was on (fog ≥ 1 station, fire level ≥ 较高, gauges over
    warning ≥ 1), its peak, the first and last such hour."""

    key: str
    name: str
    unit: str
    hours: int
    peak: float | None
    first: datetime | None
    last: datetime | None


@dataclass
class BriefingData:
    """Everything one briefing shows, read at one moment."""

    region: str
    region_name: str
    city_name: str
    day: date
    start: datetime
    end: datetime
    made_at: datetime
    lang: str
    lines: list[Line] = field(default_factory=list)
    alarms: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # name, raised, acked, cleared, open
    cases: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # name, reported, closed, open, overdue
    departments: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    plan_counts: list[tuple[str, int]] = field(default_factory=list)
    plan_late: list[tuple[str, str, str, float, int]] = field(default_factory=list)  # no, title, dept, %, days
    plan_year: int | None = None
    figures: list[tuple[str, dict[str, Any], int, int]] = field(default_factory=list)  # title, figure, w, h px
    legends: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # a map's colours and their meaning


def day_span(day: date) -> tuple[datetime, datetime]:
    """The city's calendar day as [start, end) in its time zone."""
    start = datetime.combine(day, dtime(0), CITY_TZ)
    return start, start + timedelta(days=1)


def hour_edges(start: datetime, end: datetime) -> list[datetime]:
    """Hourly interval edges from the day's start to `end` (the last edge is `end` itself)."""
    edges = [start]
    while edges[-1] + timedelta(hours=1) < end:
        edges.append(edges[-1] + timedelta(hours=1))
    return [*edges, end]


def _series(ctx: AppContext, s: Session, key: str, region: str, edges: Sequence[datetime]) -> TrendData:
    got = ctx.registries.measures.samples(s, key, region, edges)
    xs = [p.ts if p is not None else e for p, e in zip(got, edges[1:], strict=True)]
    return TrendData(xs, [p.value if p is not None else None for p in got])


def _kpi_of(ctx: AppContext, key: str, region: str) -> KpiDef:
    """A measure as the trend panel's figure takes it: the theme's KPI of this region when one names it (its target
    and department), else the measure's own names."""
    for th in ctx.themes():
        for k in th.kpis:
            if ctx.registries.measures.key(k.key) == ctx.registries.measures.key(key) \
                    and k.region_in(ctx.city.adcode) == region:
                return k
    m = ctx.registries.measures.get(key)
    return KpiDef(key=key, name_zh=m.label_zh if m else key, name_en=m.label_en if m else key,
                  unit=(m.unit or None) if m else None, department="—")


def gather(ctx: AppContext, s: Session, region: str, day: date, end: datetime, lang: str = "zh") -> BriefingData:
    """Read what the briefing of `region` shows for `day` up to `end` (the day's end, or now for the day so far)."""
    city = ctx.city
    names = ctx.county_names(lang)
    start, _ = day_span(day)
    counties = list(city.counties) if region == city.adcode else [region]
    region_name = pick(city.name, city.name_en, lang) if region == city.adcode \
        else names.get(region, region)
    data = BriefingData(region, region_name, pick(city.name, city.name_en, lang), day, start,
                        end, ctx.now(), lang)
    edges = hour_edges(start, end)
    measures = ctx.registries.measures

    # The day's figures: the headline measures, then every theme KPI of this region with a target.
    wanted: list[tuple[str, KpiDef]] = [(k, _kpi_of(ctx, k, region)) for k in HEADLINE]
    seen = {measures.key(k) for k in HEADLINE}
    for th in ctx.themes():
        th = ctx.theme_for_panels(th)
        for k in th.kpis:
            mine = k.region_in(city.adcode) == region or (region != city.adcode and k.key in th.by_county)
            if mine and k.target is not None and measures.key(k.key) not in seen:
                seen.add(measures.key(k.key))
                wanted.append((k.key, k))
    series: dict[str, TrendData] = {}
    for key, kpi in wanted:
        tr = series[key] = _series(ctx, s, key, region, edges)
        pts = [y for _, y in tr.points]
        data.lines.append(Line(key, pick(kpi.name_zh, kpi.name_en, lang), kpi.unit or "",
                               pts[-1] if pts else None, max(pts) if pts else None,
                               kpi.target if kpi.region_in(city.adcode) == region else None, kpi.target_kind,
                               kpi.department))

    # Episodes: the station measures hour by hour.
    for key in EPISODES:
        tr = series[key]
        on = [(x, y) for x, y in tr.points if y >= (FIRE_EPISODE_LEVEL if key == FIRE_LEVEL_KEY else 1)]
        m = measures.get(key)
        data.episodes.append(Episode(key, pick(m.label_zh, m.label_en, lang) if m else key, m.unit if m else "",
                                     len(on), max((y for _, y in tr.points), default=None),
                                     on[0][0] if on else None, on[-1][0] if on else None))

    # Alarms and cases of the day, by county (and cases by department).
    alarm_rows = {a.county: a for a in bq.alarm_day(s, start, end)}
    case_rows = bq.case_day(s, start, end)
    none = tx("no_county", lang)
    for c in counties:
        a = alarm_rows.get(c)
        data.alarms.append((names.get(c, c), *(a and (a.raised, a.acknowledged, a.cleared, a.open_at_end)
                                               or (0, 0, 0, 0))))
        rows = [r for r in case_rows if r.county == c]
        data.cases.append((names.get(c, c), *(sum(getattr(r, f) for r in rows)
                                              for f in ("reported", "closed", "open_at_end", "overdue_at_end"))))
    if region == city.adcode:
        if (a := alarm_rows.get(None)) is not None:
            data.alarms.append((none, a.raised, a.acknowledged, a.cleared, a.open_at_end))
        if rows := [r for r in case_rows if r.county is None]:
            data.cases.append((none, *(sum(getattr(r, f) for r in rows)
                                       for f in ("reported", "closed", "open_at_end", "overdue_at_end"))))
    by_dept: dict[str, list[int]] = {}
    for r in case_rows:
        if r.county in counties or (region == city.adcode):
            acc = by_dept.setdefault(r.department, [0, 0, 0, 0])
            for i, f in enumerate(("reported", "closed", "open_at_end", "overdue_at_end")):
                acc[i] += getattr(r, f)
    data.departments = sorted(((d, *v) for d, v in by_dept.items()), key=lambda r: (-r[4], -r[3], -r[1], r[0]))
    data.departments = data.departments[:DEPARTMENT_ROWS]  # type: ignore[assignment]

    # The plan (the city's): counts by status on the day, the overdue tasks worst first.
    plan = plan_for(day)
    progress, _ = read_progress(s, plan.tasks, city.adcode)
    rows_ = plan_rows(plan.tasks, progress, day, plan.year)
    data.plan_year = plan.year
    data.plan_counts = [(status_word(k, lang), n)
                        for k, n in status_counts(rows_, statuses(plan.ended(day))).items()]
    data.plan_late = [(r.task.label, r.task.title, "、".join(r.task.departments), r.status.progress or 0.0,
                       r.status.days_overdue or 0) for r in overdue_worst_first(rows_)[:PLAN_ROWS]]

    # Pictures: the wall's city map (cases, and AQI), then the trends of the day.
    county = None if region == city.adcode else region
    for mm in ("open_events", "aqi"):
        th = next((t for t in ctx.themes() if t.map_measure == mm), None)
        if th is None:
            continue
        # A county's briefing goes to the county's people: the neighbours are outlined with no figure (scope.mask).
        st = map_state(ctx, s, th, lang, visible=frozenset({county}) if county else None)
        fig = city_map(ctx, st, county).to_plotly_json()
        fig["layout"].update(showlegend=False, width=330, height=300, autosize=False)
        data.figures.append((tx("map_at_generation", lang, title=st.title), fig, 330, 300))
        data.legends[len(data.figures) - 1] = list(st.shading.legend)
    for key in TRENDS:
        kpi = _kpi_of(ctx, key, region)
        tr = series.get(key) or _series(ctx, s, key, region, edges)
        fig = trend_figure(tr, kpi, True, edges[0], edges[-1], "#4fc3f7")
        for trace in fig["data"]:  # plotly reads no offset in a date: the city's wall time, as the wall shows it
            trace["x"] = [x[:19] for x in trace["x"]]
        fig["layout"]["xaxis"].update(visible=True, tickformat="%H:%M", nticks=7, range=[x[:19] for x in
                                      fig["layout"]["xaxis"]["range"]], tickfont={"color": "#8a9bb5", "size": 10})
        fig["layout"]["margin"] = {"l": 4, "r": 4, "t": 4, "b": 22}
        data.figures.append((f"{pick(kpi.name_zh, kpi.name_en, lang)} · {data.region_name}", fig, 330, 150))
    return data


# ---- the page Chromium prints ----------------------------------------------------------------------------------

CSS = """
@page { size: A4 portrait; margin: 12mm 11mm 14mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: 'Noto Sans CJK SC', 'Noto Sans CJK', sans-serif; font-size: 10.5pt; color: #13233a; margin: 0; }
h1 { font-size: 19pt; margin: 0 0 2mm; color: #0b3d6e; }
h2 { font-size: 12.5pt; margin: 5mm 0 2mm; padding-bottom: 1mm; border-bottom: 1.5px solid #0b3d6e; color: #0b3d6e;
     break-after: avoid; }
.meta { color: #46566e; font-size: 9.5pt; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; break-inside: auto; }
th, td { border: 1px solid #c7d1de; padding: 1.2mm 1.8mm; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #e8eef6; font-weight: 600; }
tr { break-inside: avoid; }
tr.total td { font-weight: 700; background: #f3f6fa; }
.met { color: #1b7a32; font-weight: 600; } .behind { color: #b3261e; font-weight: 600; }
.figs { display: flex; flex-wrap: wrap; gap: 3mm; }
.fig { background: #0d1b2e; border-radius: 2mm; padding: 2mm; break-inside: avoid; }
.fig .cap { color: #d8e1ee; font-size: 8.5pt; margin-bottom: 1mm; }
.legend { color: #d8e1ee; font-size: 7.5pt; line-height: 1.5; }
.legend span { display: inline-block; margin-right: 2mm; white-space: nowrap; }
.legend i { display: inline-block; width: 3mm; height: 3mm; margin-right: 1mm; vertical-align: -0.4mm; }
.chips span { display: inline-block; margin: 0 2mm 1mm 0; padding: 0.6mm 2mm; border-radius: 1mm;
              background: #e8eef6; }
.foot { margin-top: 5mm; color: #6b7a90; font-size: 8pt; }
.none { color: #6b7a90; }
"""

JS = """
const figs = Array.from(document.querySelectorAll('.plot'));
Promise.all(figs.map(el => Plotly.newPlot(el, JSON.parse(el.dataset.fig).data, JSON.parse(el.dataset.fig).layout,
  {staticPlot: true, displayModeBar: false}))).then(() => {
  const drawn = figs.filter(el => el.querySelector('svg.main-svg')).length;
  document.body.setAttribute('data-zq-drawn', String(drawn));
  document.getElementById('drawn').textContent = String(drawn);
}).catch(e => { document.body.setAttribute('data-zq-error', String(e)); });
"""


def _e(text: Any) -> str:
    return htmllib.escape(str(text))


def _num(v: float | None, unit: str, lang: str) -> str:
    if v is None:
        return "—"
    return fmt_amount(v, unit, lang) if unit not in ("", "个", "级", "站", "件") else f"{v:g}"


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], total: Sequence[Any] | None = None) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c if isinstance(c, Markup) else _e(c)}</td>" for c in r) + "</tr>")
    if total is not None:
        out.append('<tr class="total">' + "".join(f"<td>{_e(c)}</td>" for c in total) + "</tr>")
    return "".join(out) + "</tbody></table>"


class Markup(str):
    """Text already HTML."""


def _hm(ts: datetime | None) -> str:
    return "—" if ts is None else ts.astimezone(CITY_TZ).strftime("%H:%M")


def render_html(d: BriefingData) -> str:
    """The briefing as one self-contained HTML page (plotly.js inline), laid out for A4."""
    L = d.lang
    end_local = d.end.astimezone(CITY_TZ)
    span = (f"{d.start.astimezone(CITY_TZ):%Y-%m-%d %H:%M} – "
            + ("24:00" if end_local.date() > d.day else f"{end_local:%H:%M}"))
    parts = [f"<h1>{_e(d.region_name)} {tx('daily_briefing', L)}</h1>",
             f'<div class="meta">{tx("day", L)} {d.day.isoformat()} · {tx("covers", L)} {span} (UTC+8) · '
             f'{tx("made", L)} {d.made_at.astimezone(CITY_TZ):%Y-%m-%d %H:%M}</div>']

    parts.append(f"<h2>{tx('section_measures', L)}</h2>")
    rows = []
    for ln in d.lines:
        state = "" if ln.state is None else Markup(
            f'<span class="{ln.state}">{tx("met", L) if ln.state == "met" else tx("behind", L)}</span>')
        target = "—" if ln.target is None else f"{'≤' if ln.target_kind == 'max' else '≥'}{_num(ln.target, ln.unit, L)}"
        rows.append((ln.name, _num(ln.value, ln.unit, L), _num(ln.peak, ln.unit, L), ln.unit, target, state,
                     ln.department))
    parts.append(_table([tx("measure", L), tx("end_of_day", L), tx("day_peak", L), tx("unit", L),
                         tx("target", L), tx("state", L), tx("department", L)], rows))

    parts.append(f"<h2>{tx('section_alarms', L)}</h2>")
    tot = [tx("total", L), *(sum(r[i] for r in d.alarms) for i in range(1, 5))]
    parts.append(_table([tx("county", L), tx("raised", L), tx("acknowledged", L), tx("cleared", L),
                         tx("alarms_open_at_end", L)], d.alarms, tot if len(d.alarms) > 1 else None))

    parts.append(f"<h2>{tx('section_cases', L)}</h2>")
    tot = [tx("total", L), *(sum(r[i] for r in d.cases) for i in range(1, 5))]
    head = [tx("reported", L), tx("closed", L), tx("cases_open_at_end", L), tx("overdue", L)]
    parts.append(_table([tx("county", L), *head], d.cases, tot if len(d.cases) > 1 else None))
    if d.departments:
        parts.append(_table([tx("responsible_department", L), *head], d.departments))

    parts.append(f"<h2>{tx('section_episodes', L)}</h2>")
    parts.append(_table([tx("episode", L), tx("hours", L), tx("peak", L), tx("first", L),
                         tx("last", L)],
                        [(e.name, e.hours, "—" if e.peak is None else f"{e.peak:g} {e.unit}", _hm(e.first),
                          _hm(e.last)) for e in d.episodes]))

    parts.append(f"<h2>{tx('section_plan', L)}（{d.plan_year}）</h2>")
    parts.append('<div class="chips">' + "".join(f"<span>{_e(k)} {n}</span>" for k, n in d.plan_counts) + "</div>")
    if d.plan_late:
        parts.append(_table([tx("task", L), tx("title", L), tx("lead", L), tx("progress", L),
                             tx("days_overdue", L)],
                            [(no, title, dept, f"{pct:.0f}%", days) for no, title, dept, pct, days in d.plan_late]))
    else:
        parts.append(f'<p class="none">{tx("no_overdue_tasks", L)}</p>')

    parts.append(f"<h2>{tx('section_figures', L)}</h2><div class=\"figs\">")
    for i, (title, fig, w, h) in enumerate(d.figures):
        blob = _e(orjson.dumps(fig, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC).decode()
                  if not isinstance(fig, str) else fig)
        legend = "".join(f'<span><i style="background:{_e(c)}"></i>{_e(label)}</span>' for c, label in d.legends.get(i, []))
        parts.append(f'<div class="fig" style="width:{w + 16}px"><div class="cap">{_e(title)}</div>'
                     f'<div class="plot" id="f{i}" style="width:{w}px;height:{h}px" data-fig="{blob}"></div>'
                     + (f'<div class="legend">{legend}</div>' if legend else "") + "</div>")
    parts.append("</div>")
    parts.append(f'<div class="foot">{tx("foot", L)} '
                 f'<span id="drawn">0</span>/{len(d.figures)}</div>')
    js = PLOTLY_JS.read_text(encoding="utf-8")
    return (f'<!doctype html><html lang="{html_lang(L)}"><head><meta charset="utf-8">'
            f"<title>{_e(d.region_name)} {d.day}</title><style>{CSS}</style><script>{js}</script></head>"
            f"<body>{''.join(parts)}<script>{JS}</script></body></html>")


def _jsonable(fig: dict[str, Any]) -> dict[str, Any]:
    """A figure as plain JSON (plotly's encoder: numpy arrays, dates)."""
    return orjson.loads(pio.to_json(fig, validate=False))


# ---- printing --------------------------------------------------------------------------------------------------


def chromium_path(setting: str) -> str:
    """The Chromium binary the setting names (a path, or a name looked up on PATH)."""
    found = shutil.which(setting)
    if found is None:
        raise BriefingError(f"Chromium not found: {setting!r} (install the chromium package or set --chromium)")
    return found


def print_pdf(page: str, chromium: str, figures: int, timeout_s: float = 90.0) -> bytes:
    """Print an HTML page to PDF with headless Chromium; refuse it unless every figure was drawn (plotly's SVG is
    in the page Chromium printed, read from the same run's --dump-dom)."""
    binary = chromium_path(chromium)
    with tempfile.TemporaryDirectory(prefix="zq-briefing-") as tmp:
        src, out = Path(tmp) / "briefing.html", Path(tmp) / "briefing.pdf"
        src.write_text(page, encoding="utf-8")
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw",
               f"--print-to-pdf={out}", "--dump-dom", src.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as e:
            raise BriefingError(f"Chromium did not finish within {timeout_s:g} s") from e
        if done.returncode != 0 or not out.exists():
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise BriefingError(f"Chromium failed (exit {done.returncode}): {tail[0][:300]}")
        dom = done.stdout.decode("utf-8", "replace")
        m = DRAWN.search(dom)
        if m is None or int(m.group(1)) != figures:
            err = re.search(r'data-zq-error="([^"]*)"', dom)
            raise BriefingError(f"the figures were not drawn ({m.group(1) if m else 0} of {figures})"
                                + (f": {htmllib.unescape(err.group(1))[:200]}" if err else ""))
        return out.read_bytes()


def page_count(pdf: bytes) -> int:
    """Pages of a PDF Chromium wrote (its page objects are plain dictionaries)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


# ---- making one, and the schedule -----------------------------------------------------------------------------


def webhook_payload(b: Briefing, region_name: str, hook: str, base_url: str | None, now: datetime) -> bytes:
    """The JSON a briefing webhook receives: the briefing's facts and where to fetch its PDF."""
    path = f"/briefings/{b.id}.pdf"
    return orjson.dumps({
        "event": "briefing", "hook": hook, "created_at": now.astimezone(CITY_TZ).isoformat(),
        "briefing": {"id": b.id, "day": b.day.isoformat(), "region": b.region, "region_name": region_name,
                     "trigger": b.trigger, "lang": b.lang, "state": b.state, "pages": b.pages, "size": b.size,
                     "sha256": b.sha256, "made_at": b.made_at.astimezone(CITY_TZ).isoformat() if b.made_at else None,
                     "error": b.error},
        "pdf_url": (base_url.rstrip("/") + path) if base_url else path,
        "list_url": (base_url.rstrip("/") + "/briefings") if base_url else "/briefings",
    })


def enqueue_webhooks(ctx: AppContext, s: Session, b: Briefing, now: datetime) -> list[Delivery]:
    """One delivery per briefing webhook, sent by the notifier like an alarm's (alerts/notify.py)."""
    out = []
    for name, url in ctx.settings.briefing_webhooks.items():
        problem = url_problem(name, url)
        d = Delivery(alarm_id=None, event="briefing", target=name[:MAX_TARGET], url=(url or "")[:MAX_URL],
                     payload=webhook_payload(b, ctx.county_name(b.region, "zh") if b.region != ctx.city.adcode
                                             else ctx.city.name, name, ctx.settings.public_url, now).decode(),
                     attempts=0, created_at=now)
        d.status, d.next_at, d.last_error = ("failed", None, problem) if problem else ("pending", now, None)
        s.add(d)
        out.append(d)
    return out


def make_briefing(ctx: AppContext, region: str, day: date, trigger: str = "demand", lang: str = "zh",
                  end: datetime | None = None) -> int | None:
    """Make one briefing and keep it (ready with its PDF, or failed with the reason); its id, or None when the
    scheduled briefing of that day and region exists already. `end`: the end of what it covers (default: the
    day's end; on demand, the day so far)."""
    now = ctx.now()
    end = end or day_span(day)[1]
    key = bq.schedule_key(day, region) if trigger == "schedule" else f"demand:{uuid.uuid4().hex}"
    with Session(ctx.engine) as s, s.begin():
        row = bq.claim(s, key, day, region, trigger, lang, now, end)
        if row is None:
            return None
        s.flush()
        bid = row.id
    t0 = time.monotonic()
    pdf: bytes | None = None
    error: str | None = None
    try:
        with Session(ctx.engine) as s:
            data = gather(ctx, s, region, day, end, lang)
        data.figures = [(t, _jsonable(f), w, h) for t, f, w, h in data.figures]
        pdf = print_pdf(render_html(data), ctx.settings.chromium, len(data.figures),
                        ctx.settings.briefing_timeout_s)
    except Exception as e:  # noqa: BLE001 — whatever went wrong is the briefing's recorded reason
        log.warning("briefing %s of %s for %s failed: %s", bid, region, day, e, exc_info=not isinstance(e, BriefingError))
        error = str(e) or type(e).__name__
    ms = round((time.monotonic() - t0) * 1000)
    with Session(ctx.engine) as s, s.begin():
        b = bq.finish(s, bid, ctx.now(), pdf, page_count(pdf) if pdf else None,
                      hashlib.sha256(pdf).hexdigest() if pdf else None, ms, error)
        if b is not None:
            enqueue_webhooks(ctx, s, b, ctx.now())
    log.info("briefing %s of %s for %s: %s in %d ms", bid, region, day, "ready" if error is None else "failed", ms)
    return bid


def due_day(now: datetime, at: str) -> date | None:
    """The day whose scheduled briefings are due at `now`: yesterday (city time) once the time of day `at`
    (HH:MM) has passed, else none yet."""
    local = now.astimezone(CITY_TZ)
    hh, mm = (int(x) for x in at.split(":"))
    return local.date() - timedelta(days=1) if local.time() >= dtime(hh, mm) else None


# A scheduled briefing that failed is tried again after this, up to TRIES attempts in all; one left `making` longer
# than twice the printing's time limit was abandoned by a process that stopped, and is tried again too.
RETRY_AFTER = timedelta(minutes=10)
TRIES = 3


def run_schedule(ctx: AppContext) -> list[int]:
    """Make the due day's scheduled briefings not made yet: the city's, then each county's (ids made); a failed or
    abandoned one is tried again (RETRY_AFTER, TRIES)."""
    now = ctx.now()
    day = due_day(now, ctx.settings.briefing_at)
    if day is None:
        return []
    made = []
    abandoned = now - timedelta(seconds=2 * ctx.settings.briefing_timeout_s + 60)
    for region in (ctx.city.adcode, *ctx.city.counties):
        key = bq.schedule_key(day, region)
        with Session(ctx.engine) as s, s.begin():
            if bq.exists(s, key) and not bq.release_for_retry(s, key, now, now - RETRY_AFTER, abandoned, TRIES):
                continue
        bid = make_briefing(ctx, region, day, "schedule", ctx.settings.lang)
        if bid is not None:
            made.append(bid)
    return made


class BriefingRole(LeaderThreads):
    """The `briefing` role: under the `briefing` lease, makes the scheduled briefings when due and sends the
    briefing webhooks' deliveries (as the notifier does; a delivery is claimed before it is sent, so two senders
    never send one twice)."""

    def __init__(self, ctx: AppContext, holder: str | None = None, poll_s: float = 5.0) -> None:
        super().__init__(ctx.engine, "briefing", holder, join_s=5.0)
        self.ctx = ctx
        self.poll_s = poll_s
        self.notifier = Notifier(ctx.engine, {}, clock=ctx.clock.now)

    def loops(self) -> dict[str, Callable[[threading.Event], None]]:
        """One loop: the schedule and the deliveries."""
        return {"briefing": self._loop}

    def _loop(self, term: threading.Event) -> None:
        while not term.is_set():
            try:
                run_schedule(self.ctx)
                self.notifier.deliver_due()
            except Exception:  # noqa: BLE001 — a store outage: try again next pass
                log.exception("briefing pass failed")
            term.wait(self.poll_s)
