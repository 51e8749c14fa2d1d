"""挂图作战: the plan_supervision panel and the /plan page, from KPIs in the store (SQLite and PostgreSQL),
the simulator's plan progress through the real decoder, and the page and panel sized in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dash import Dash, dcc, html
from selenium.webdriver.common.by import By
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.context import AppContext
from dashboard.factory import ASSETS, build_registries
from dashboard.pages import plan as plan_page
from dashboard.panels import PanelInput, PanelRegistry, shell
from dashboard.panels.plan import register_plan_panels, render_plan_supervision
from feeds import Accepted
from feeds.simulator import Simulator
from settings import CITY_TZ, Settings
from store import Batch, write_batch
from tests.browser import chromium
from tests.feeds.samples import make_decoder
from tests.servers import wsgi_thread
from topics.loader import BUILTIN_DIR, ThemeStore
from topics.plan import load_plan

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=CITY_TZ)
IN_2021 = datetime(2021, 10, 15, 9, 0, tzinfo=CITY_TZ)
DEC_2021 = datetime(2021, 12, 20, 10, 0, tzinfo=CITY_TZ)  # the plan's year, after (五)'s deadline
OUT = Path(__file__).resolve().parents[2] / "test-output"


# ---- helpers -----------------------------------------------------------------------------------


def texts(node: Any) -> list[str]:
    """Every string in a Dash component tree, in document order."""
    if node is None:
        return []
    if isinstance(node, str | int | float):
        return [str(node)]
    if isinstance(node, list | tuple):
        return [s for n in node for s in texts(n)]
    return texts(getattr(node, "children", None))


def find(node: Any, cls: str) -> list[Any]:
    """Components carrying a class, in document order."""
    out: list[Any] = []
    if isinstance(node, list | tuple):
        for n in node:
            out += find(n, cls)
        return out
    if node is None or isinstance(node, str | int | float):
        return out
    if cls in (getattr(node, "className", None) or "").split():
        out.append(node)
    return out + find(getattr(node, "children", None), cls)


def text_of(node: Any) -> str:
    return "".join(texts(node))


def chip_counts(body: Any) -> dict[str, int]:
    """Status → count, read from the chips."""
    return {next(c for c in chip.className.split() if c not in ("pl-chip",)).removeprefix("pl-"):
            int(text_of(find(chip, "pl-chip-n")))
            for chip in find(body, "pl-chip")}


def write_progress(engine: Engine, values: dict[int, float], ts: datetime, fresh_feed: bool = True) -> None:
    """Progress KPIs as the kpi feed writes them, and the feed's status."""
    b = Batch()
    for n, v in values.items():
        b.add_kpi({"key": f"plan.task.{n}.progress", "region": "441200", "ts": ts, "value": v, "unit": "%"})
    if fresh_feed:
        b.count("kpi", ok=True, message_at=ts, received_at=ts)
    with Session(engine) as s, s.begin():
        write_batch(s, b)


def late_since(label: str, today: date) -> int:
    return (today - next(t for t in load_plan() if t.label == label).deadline).days


def panel(engine: Engine, now: datetime, lang: str = "zh") -> Any:
    with Session(engine) as s:
        inp = PanelInput(session=s, lang=lang, county=None, health={}, now=now, names={})
        return render_plan_supervision(inp)


def make_ctx(url: str, engine: Engine, now: datetime) -> AppContext:
    """An app context on the test's database with a fixed clock (no geometry: the page draws no map)."""
    settings = Settings(db=url)
    ctx = AppContext(settings=settings, engine=engine, registries=build_registries(settings),
                     counties_wall=None, counties_detail=None,  # type: ignore[arg-type]
                     names={}, names_en={}, grids=None,  # type: ignore[arg-type]
                     topics=ThemeStore(BUILTIN_DIR))
    ctx.now = lambda: now  # type: ignore[method-assign]
    return ctx


# Most tasks done; (五) 60 % (an older 30 % is superseded), (十三) 85 %, (十四) 40 %; (十七) and (二十) silent.
AFTER = {n: 100.0 for n in range(1, 30) if n not in (5, 13, 14, 17, 20)} | {5: 60.0, 13: 85.0, 14: 40.0}


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    write_progress(engine, {5: 30.0}, NOW - timedelta(days=30))
    write_progress(engine, AFTER, NOW - timedelta(minutes=1))
    return engine


# ---- the panel ---------------------------------------------------------------------------------


def test_panel_counts_statuses_and_lists_the_overdue_worst_first(seeded: Engine) -> None:
    out = panel(seeded, DEC_2021)
    assert chip_counts(out.body) == {"done": 24, "on_track": 1, "at_risk": 1, "overdue": 1, "unknown": 2}
    assert [text_of(c) for c in find(out.body, "pl-chip-label")] == ["已完成", "正常推进", "临期预警", "已逾期",
                                                                       "未报进度"]
    rows = find(out.body, "pl-row")
    # (五) was due 2021-10-31; (十四) (40 %) and (十三) (85 %) are due 2021-12-31: at risk, and on track.
    assert [text_of(find(r, "pl-no")) for r in rows] == ["(五)"]
    assert texts(rows[0]) == ["(五)", "全面推动“无证明城市”建设", "市政数局等", "60%",
                              f"逾期{late_since('(五)', DEC_2021.date())}天"]
    assert "逾期任务 1 项" in texts(out.body) and "全部29项 →" in texts(out.body)
    assert out.data_time == NOW - timedelta(minutes=1)


def test_a_plan_whose_year_has_ended_shows_its_final_state_not_days_overdue(seeded: Engine) -> None:
    out = panel(seeded, NOW)  # 2026: the 2021 plan's year is long over
    assert chip_counts(out.body) == {"done": 24, "not_done": 3, "unknown": 2}
    assert [text_of(c) for c in find(out.body, "pl-chip-label")] == ["已完成", "未完成", "未报进度"]
    rows = find(out.body, "pl-row")
    assert [text_of(find(r, "pl-no")) for r in rows] == ["(十四)", "(五)", "(十三)"]  # the furthest short first
    assert [text_of(find(r, "pl-days")) for r in rows] == ["差60%", "差40%", "差15%"]
    assert "2021年度已结束 · 未完成 3 项" in texts(out.body)
    assert not any("逾期" in x for x in texts(out.body))


def test_panel_in_english(seeded: Engine) -> None:
    out = panel(seeded, NOW, "en")
    assert [text_of(c) for c in find(out.body, "pl-chip-label")] == ["Done", "Not done", "No data"]
    rows = find(out.body, "pl-row")
    assert text_of(find(rows[0], "pl-no")) == "#14" and text_of(find(rows[0], "pl-days")) == "60% short"
    assert "2021 ended · not done: 3" in texts(out.body)
    late = panel(seeded, DEC_2021, "en")
    assert text_of(find(find(late.body, "pl-row")[0], "pl-days")).endswith(" d late")
    assert "Overdue tasks: 1" in texts(late.body)


def test_panel_during_2021_shows_at_risk_and_on_track(engine: Engine) -> None:
    write_progress(engine, {1: 50.0, 6: 50.0, 27: 100.0}, IN_2021 - timedelta(minutes=5))
    out = panel(engine, IN_2021)
    # (一) due 2021-10-31 is 16 days away at 50 %; (六) due 2021-12-31 is 77 days away.
    assert chip_counts(out.body) == {"done": 1, "on_track": 1, "at_risk": 1, "overdue": 0, "unknown": 26}
    assert find(out.body, "pl-row") == [] and "无逾期任务" in texts(out.body)


def test_panel_with_no_progress_at_all(engine: Engine) -> None:
    out = panel(engine, NOW)
    assert chip_counts(out.body)["unknown"] == 29 and out.data_time is None


def test_the_panel_registers_through_the_public_call() -> None:
    reg = PanelRegistry()
    register_plan_panels(reg)
    p = reg["plan_supervision"]
    assert p.feed == "kpi" and p.title_zh.startswith("挂图作战")
    with pytest.raises(ValueError):
        register_plan_panels(reg)


def test_the_simulators_plan_progress_passes_the_decoder_with_late_and_silent_tasks(engine: Engine) -> None:
    decoder = make_decoder()
    sim = Simulator(seed=20211)
    batch = Batch()
    messages = [(t, p) for t, p in sim.messages(NOW) if "/kpi/plan.task." in t]
    assert len(messages) == 27
    for topic, payload in messages:
        result = decoder.decode(topic, payload, NOW)
        assert isinstance(result, Accepted), result
        result.feed.to_rows(batch, result.payload, result.context)
    with Session(engine) as s, s.begin():
        write_batch(s, batch)
    counts = chip_counts(panel(engine, NOW).body)
    assert counts == {"done": 23, "not_done": 4, "unknown": 2}  # 2026: the 2021 plan's final state
    # Deterministic from the seed: the same tasks lag on every tick and in every run.
    again = [(t, p) for t, p in Simulator(seed=20211).messages(NOW) if "/kpi/plan.task." in t]
    assert again == messages
    later = [p for t, p in sim.messages(NOW + timedelta(minutes=5)) if "/kpi/plan.task." in t]
    assert [p.split(b'"ts"')[0] for p in later] == [p.split(b'"ts"')[0] for _, p in messages]


# ---- the page ----------------------------------------------------------------------------------


def test_page_lists_all_29_tasks_in_two_tables(db_url: str, seeded: Engine) -> None:
    ctx = make_ctx(db_url, seeded, NOW)
    page = plan_page.layout(ctx, "zh")
    tables = find(page, "pl-table")
    assert [len(find(t, "pl-tr")) for t in tables] == [15, 14]
    rows = {r.id: r for r in find(page, "pl-tr")}
    assert sorted(rows) == sorted(f"plan-task-{n}" for n in range(1, 30))
    assert [text_of(find(t, "pl-h1")) for t in tables] == ["任务", "任务"]
    five = texts(rows["plan-task-5"])
    assert five == ["(五)", "全面推动“无证明城市”建设", "市政数局、各县(市、区)政府(管委会)", "2021-10-31", "60%",
                    "未完成 差40%"]
    assert "pl-not_done" in rows["plan-task-5"].className
    assert texts(rows["plan-task-17"]) == ["(十七)", "推动民生保障能力取得新突破", "含7项",
                                          "市教育局、市民政局 等7个部门", "2021-12-31", "按子项", "—", "未报进度"]
    assert texts(rows["plan-task-7"])[3:] == ["2021-12-31", "持续推进", "100%", "已完成"]
    assert "市政数局、市投促局 等11个部门" in texts(rows["plan-task-14"])
    summary = texts(find(page, "pl-summary"))
    assert "挂图作战 · 肇庆市数字政府改革建设2021年工作要点" in summary
    assert "数据时间 09:59:00" in summary and "年度已结束 · 年末状态 2021-12-31" in summary
    assert "29项任务 · 未完成3项 · 责任部门与完成时限据2021-03-12印发原文" in summary or any(
        x.startswith("29项任务 · 未完成3项") for x in summary)
    assert dict(zip(summary[summary.index("24") + 1:][:1], ["已完成"], strict=True)) == {"已完成": "已完成"}
    assert "pl-stale" not in find(page, "pl-cols")[0].className


def test_page_in_english_and_greyed_when_the_kpi_feed_is_stale(db_url: str, engine: Engine) -> None:
    write_progress(engine, AFTER, NOW - timedelta(hours=3))
    ctx = make_ctx(db_url, engine, NOW)
    page = plan_page.layout(ctx, "en")
    row = next(r for r in find(page, "pl-tr") if r.id == "plan-task-14")
    assert texts(row)[0] == "14" and "市政数局、市投促局 +9" in texts(row) and "60% short" in text_of(row)
    assert [text_of(h) for h in find(find(page, "pl-table")[0], "pl-h5")] == ["Status"]
    cols = find(page, "pl-cols")[0]
    assert "pl-stale" in cols.className
    assert "Data delayed 180 min" in texts(find(page, "pl-summary"))


# ---- on a real screen --------------------------------------------------------------------------


@contextmanager
def serve(layout: Any, ctx: AppContext | None = None) -> Iterator[str]:
    """A Dash app with the project's assets and the given layout, on a free port, stopped after."""
    app = Dash(__name__, assets_folder=str(ASSETS), serve_locally=True, suppress_callback_exceptions=True,
               update_title=None)
    app.layout = html.Div([dcc.Location(id=ids.URL), layout])
    if ctx is not None:
        plan_page.register(app, ctx)
    with wsgi_thread(app.server) as url:
        yield url


def exact_viewport(d: Any, width: int, height: int) -> None:
    """The page's viewport exactly width × height (a headless window's size includes its frame)."""
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


FIT = """
const vw = innerWidth, vh = innerHeight, se = document.scrollingElement;
const rows = [...document.querySelectorAll('.pl-tr')];
const cells = [...document.querySelectorAll('.pl-tr td')];
return {scrollH: se.scrollHeight, scrollW: se.scrollWidth, vw, vh, rows: rows.length,
  lowest: Math.max(...rows.map(r => r.getBoundingClientRect().bottom)),
  widest: Math.max(...rows.map(r => r.getBoundingClientRect().right)),
  rowH: Math.min(...rows.map(r => r.getBoundingClientRect().height)),
  titlePx: parseFloat(getComputedStyle(document.querySelector('.pl-task .pl-title')).fontSize),
  spill: cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.className + ' ' + c.textContent),
  status: document.querySelectorAll('#header-status .chip-status').length};
"""


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height", "lang"),
                         [(1920, 1080, "zh"), (3840, 2160, "zh"), (1920, 1080, "en")])
def test_the_page_fits_the_wall_without_scrolling(db_url: str, seeded: Engine, width: int, height: int,
                                                  lang: str) -> None:
    ctx = make_ctx(db_url, seeded, NOW)
    with serve(html.Div(id=ids.PAGE, children=plan_page.layout(ctx, lang)), ctx) as url, \
            chromium(width, height) as d:
        exact_viewport(d, width, height)
        d.get(url + "/plan" + ("?lang=en" if lang == "en" else ""))
        d.implicitly_wait(15)
        d.find_element(By.ID, "plan-task-29")
        deadline = time.monotonic() + 15
        m = d.execute_script(FIT)
        while m["status"] == 0 and time.monotonic() < deadline:  # the tick fills the header's feed status
            m = d.execute_script(FIT)
        OUT.mkdir(exist_ok=True)
        d.save_screenshot(str(OUT / f"plan-{width}x{height}{'-en' if lang == 'en' else ''}.png"))
    assert m["rows"] == 29 and m["status"] >= 2  # the feeds and refused-messages chips at least
    assert (m["vw"], m["vh"]) == (width, height)
    assert m["scrollH"] <= m["vh"] and m["scrollW"] <= m["vw"], m
    assert m["lowest"] <= m["vh"] and m["widest"] <= m["vw"], m
    assert m["spill"] == [], m["spill"]
    scale = width / 1920
    assert m["titlePx"] >= 15 * scale and m["rowH"] >= 50 * scale, m  # legible from across the room


PANEL_FIT = """
const box = document.querySelector('#box').getBoundingClientRect();
const body = document.querySelector('.panel-body');
const visible = [...document.querySelectorAll('.pl-row')].filter(r => {
  const b = r.getBoundingClientRect(); return b.left < box.right && b.right > box.left; });
return {rows: document.querySelectorAll('.pl-row').length, visible: visible.length,
  inside: visible.every(r => r.getBoundingClientRect().bottom <= box.bottom + 0.5),
  overflow: body.scrollHeight > body.clientHeight + 1,
  chipPx: Math.min(...[...document.querySelectorAll('.pl-chip-n')]
    .map(c => parseFloat(getComputedStyle(c).fontSize))),
  chipsFit: [...document.querySelectorAll('.pl-chip')]
    .every(c => c.getBoundingClientRect().right <= box.right),
  titles: visible.map(r => r.querySelector('.pl-title').getBoundingClientRect().width)};
"""


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_panel_fits_a_third_of_a_wall_column(engine: Engine, lang: str) -> None:
    many_late = {n: 100.0 for n in range(1, 30)} | {n: 50.0 + n for n in (2, 3, 5, 8, 13, 14, 21, 25)}
    write_progress(engine, many_late, NOW - timedelta(minutes=1))
    reg = PanelRegistry()
    register_plan_panels(reg)
    frame = shell(reg["plan_supervision"], lang, "plan_supervision-panel")
    frame.children[1].children = panel(engine, NOW, lang).body
    box = html.Div(id="box", children=frame, style={"width": "440px", "height": "230px", "display": "flex",
                                                    "flexDirection": "column"})
    with serve(box) as url, chromium(1920, 1080) as d:
        exact_viewport(d, 1920, 1080)
        d.get(url)
        d.implicitly_wait(15)
        d.find_element(By.CSS_SELECTOR, ".pl-row")
        m = d.execute_script(PANEL_FIT)
        OUT.mkdir(exist_ok=True)
        d.find_element(By.ID, "box").screenshot(str(OUT / f"plan-panel-440x230-{lang}.png"))
    assert m["rows"] == 8 and 3 <= m["visible"] < 8 and m["inside"] and not m["overflow"], m
    assert m["chipPx"] >= 32 and m["chipsFit"], m
    assert min(m["titles"]) >= 80, m  # a few characters of every title stay readable
