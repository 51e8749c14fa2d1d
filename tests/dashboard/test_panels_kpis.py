"""KPI theme panels: values, the plan's targets, met/behind, departments, no-data, English, county filter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType
from dashboard.panels.kpis import (
    CLAIMS, KPI_PANELS, YSHT_USERS, HotlineRow, Metric, area_polygon, change, day_edges, fmt_amount, hotline_rows,
    is_met, pace, progress, register_kpi_panels, target_text, trailing_edges, year_elapsed,
)
from settings import CITY_TZ
from store import Batch, write_batch
from store.kpi_queries import KpiPoint, kpi_samples, kpis_as_of, latest_points
from topics import THEMES

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=CITY_TZ)  # a Monday morning, local time
CITY = "441200"
NAMES = {"441202": "端州区", "441203": "鼎湖区", "441204": "高要区", "441223": "广宁县", "441224": "怀集县",
         "441225": "封开县", "441226": "德庆县", "441284": "四会市"}
NAMES_EN = {"441202": "Duanzhou", "441203": "Dinghu", "441204": "Gaoyao", "441223": "Guangning", "441224": "Huaiji",
            "441225": "Fengkai", "441226": "Deqing", "441284": "Sihui"}
PANEL_NAMES = ["project_lifecycle", "gdp_progress", "wage_warnings", "market_entities", "supervision_claims",
               "ysht_users", "yss_users", "haochaping", "service_items", "mediation_levels", "hotline_12345"]


# ---- walking the Dash tree -----------------------------------------------------------------------


def strings(node: Any) -> Iterator[str]:
    """Every string in a Dash component tree, depth first."""
    if node is None:
        return
    if isinstance(node, str):
        yield node
    elif isinstance(node, (int, float)):
        yield str(node)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from strings(child)
    else:
        yield from strings(getattr(node, "children", None))


def text(out: PanelOutput) -> str:
    """The rendered body as one line of text."""
    return " ".join(strings(out.body))


def nodes(node: Any) -> Iterator[Any]:
    """Every component in a tree."""
    if isinstance(node, (list, tuple)):
        for child in node:
            yield from nodes(child)
    elif node is not None and not isinstance(node, (str, int, float)):
        yield node
        yield from nodes(getattr(node, "children", None))


def with_class(out: PanelOutput, cls: str) -> list[Any]:
    """Components whose className has `cls` among its classes."""
    return [n for n in nodes(out.body) if cls in (getattr(n, "className", None) or "").split()]


def gauge_states(out: PanelOutput) -> dict[str, str]:
    """KPI name → 'met' / 'behind' / 'plain' / 'missing' of every gauge in a body."""
    out_states = {}
    for g in with_class(out, "kp-gauge"):
        name = next(n for n in nodes(g) if "kp-name" in (getattr(n, "className", "") or "")).children
        cls = g.className.split()
        out_states[name] = next(c.removeprefix("kp-") for c in cls if c != "kp-gauge")
    return out_states


# ---- fixtures ------------------------------------------------------------------------------------


def put(engine: Engine, rows: list[tuple[str, str, datetime, float]]) -> None:
    """Write KPI rows (key, region, ts, value) through the ingest write path."""
    b = Batch()
    for key, region, ts, value in rows:
        b.add_kpi({"key": key, "region": region, "ts": ts, "value": float(value), "unit": None})
    with Session(engine) as s, s.begin():
        write_batch(s, b)


@pytest.fixture
def registry() -> PanelRegistry:
    reg = PanelRegistry()
    register_kpi_panels(reg)
    return reg


def render(engine: Engine, registry: PanelRegistry, name: str, lang: str = "zh", county: str | None = None,
           now: datetime = NOW) -> PanelOutput:
    with Session(engine) as s:
        inp = PanelInput(session=s, lang=lang, county=county, health={}, now=now,
                         names=NAMES_EN if lang == "en" else NAMES)
        return registry[name].render(inp)


def city(key: str, value: float, ts: datetime = NOW) -> tuple[str, str, datetime, float]:
    return (key, CITY, ts, value)


# ---- registration --------------------------------------------------------------------------------


def test_the_panels_register_through_the_public_call_once(registry: PanelRegistry) -> None:
    assert [p.name for p in registry] == PANEL_NAMES
    assert all(isinstance(p, PanelType) and p.title_zh and p.title_en for p in registry)
    # The hotline counts come from the polled 12345 feed; the rest from the KPI stream.
    assert {p.name: p.feed for p in registry}["hotline_12345"] == "hotline_12345"
    assert {p.feed for p in registry if p.name != "hotline_12345"} == {"kpi"}
    with pytest.raises(ValueError):
        register_kpi_panels(registry)


def test_every_panel_a_theme_names_for_these_kpis_exists() -> None:
    named = {n for th in THEMES for n in (*th.left, *th.right)}
    assert set(PANEL_NAMES) <= named, set(PANEL_NAMES) - named
    assert len(KPI_PANELS) == len(PANEL_NAMES)


# ---- pure helpers --------------------------------------------------------------------------------


def test_progress_and_met() -> None:
    assert progress(2_400_000, 3_200_000) == 75
    assert progress(5, None) is None and progress(5, 0) is None
    assert progress(120, 100) == 120  # uncapped: over-achievement shows
    assert is_met(85, 85) and not is_met(84.9, 85)
    assert is_met(0, 0, "max") and not is_met(1, 0, "max")


def test_year_elapsed_and_pace() -> None:
    assert year_elapsed(datetime(2026, 1, 1, tzinfo=CITY_TZ)) == 0
    # Local midnight, not UTC midnight: 2025-12-31 16:00 UTC is already 1 January in Zhaoqing.
    assert year_elapsed(datetime(2025, 12, 31, 16, 0, tzinfo=UTC)) == 0
    assert year_elapsed(datetime(2026, 7, 2, 12, 0, tzinfo=CITY_TZ)) == pytest.approx(0.5, abs=0.001)
    assert year_elapsed(datetime(2026, 12, 31, 23, 59, tzinfo=CITY_TZ)) == pytest.approx(1, abs=0.001)
    assert pace(3_050, 3_000, 0.9) == ("met", 0.0)
    assert pace(2_850, 3_000, 0.9) == ("on_track", 0.0)  # 95 % of target at 90 % of the year
    state, gap = pace(2_400, 3_000, 0.9)  # 80 % at 90 %
    assert state == "behind" and gap == pytest.approx(10)


def test_change_formatting_and_targets() -> None:
    assert change(KpiPoint(NOW, 50), KpiPoint(NOW, 48)) == 2
    assert change(KpiPoint(NOW, 50), None) is None
    assert fmt_amount(218_400, "户", "zh") == "21.8万"  # builtin.fmt_value's 万 convention
    assert fmt_amount(218_400, "户", "en") == "218.4k"
    assert fmt_amount(3_251_234, "人", "en") == "3.25M"
    assert fmt_amount(2_647.6, "亿元", "en") == "264.8"  # bn CNY
    assert fmt_amount(99.2, "%", "zh") == "99.2"
    assert target_text(YSHT_USERS, "zh") == "目标 ≥23万户"
    assert target_text(YSHT_USERS, "en") == "Target ≥230k entities"
    assert target_text(CLAIMS, "en") == "Target ≥100%"
    wage = Metric("w", "w", "w", "家", "firms", 0, "max")
    assert target_text(wage, "zh") == "目标 ≤0家"


def test_time_edges_are_local() -> None:
    edges = day_edges(NOW)
    assert edges[0] == datetime(2026, 11, 30, 0, 0, tzinfo=CITY_TZ)  # local midnight
    assert edges[-1] == NOW and len(edges) == 11  # 0:00 … 9:00 and now (10:00)
    late = day_edges(NOW + timedelta(minutes=30))
    assert len(late) == 12 and late[-2] == NOW
    trail = trailing_edges(NOW, 24)
    assert len(trail) == 25 and trail[0] == NOW - timedelta(hours=24) and trail[-1] == NOW


def test_area_polygon() -> None:
    assert area_polygon([None, None], [0.5, 1.0], 10) is None
    poly = area_polygon([0, None, 10], [0.25, 0.5, 0.75], 10)
    assert poly == "polygon(25.00% 100%, 25.00% 100.00%, 75.00% 0.00%, 75.00% 100%)"


def test_hotline_rows_sort_by_open_and_skip_the_city() -> None:
    pts = {"social.hotline_12345.open": {CITY: KpiPoint(NOW, 30), "441202": KpiPoint(NOW, 3),
                                         "441224": KpiPoint(NOW, 9)},
           "social.hotline_12345.today": {"441202": KpiPoint(NOW, 40), "441224": KpiPoint(NOW, 12),
                                          "441284": KpiPoint(NOW, 7)}}
    rows = hotline_rows(pts, NAMES)
    assert rows == [HotlineRow("441224", "怀集县", 9, 12), HotlineRow("441202", "端州区", 3, 40),
                    HotlineRow("441284", "四会市", None, 7)]


# ---- queries (SQLite and PostgreSQL) -------------------------------------------------------------


def test_kpi_queries(engine: Engine) -> None:
    k = "econ.wage_warnings"
    put(engine, [city(k, v, NOW - timedelta(minutes=m)) for m, v in ((0, 5), (30, 4), (90, 3), (200, 2))]
        + [(k, "441202", NOW, 1)])
    with Session(engine) as s:
        got = latest_points(s, [k, "missing"], [CITY, "441202", "441224"])
        assert {r: p.value for r, p in got[k].items()} == {CITY: 5, "441202": 1}
        assert got[k][CITY].ts == NOW and "missing" not in got
        assert kpis_as_of(s, [k], CITY, NOW - timedelta(minutes=60)) == {k: KpiPoint(NOW - timedelta(minutes=90), 3)}
        assert kpis_as_of(s, [k], CITY, NOW - timedelta(minutes=60), not_before=NOW - timedelta(minutes=80)) == {}
        samples = kpi_samples(s, k, CITY, [NOW - timedelta(hours=h) for h in (4, 3, 2, 1, 0)])
        assert [p.value if p else None for p in samples] == [2, None, 3, 5]  # a gap stays a gap
        assert kpi_samples(s, k, CITY, [NOW]) == []
        # More probes than one compound SELECT may hold.
        many = latest_points(s, [k], [f"{i:06d}" for i in range(450)] + [CITY])
        assert list(many[k]) == [CITY]


# ---- panels with no data -------------------------------------------------------------------------


@pytest.mark.parametrize("lang, no_data", [("zh", "暂无数据"), ("en", "No data yet")])
def test_every_panel_says_no_data_and_still_names_its_department(engine: Engine, registry: PanelRegistry,
                                                                 lang: str, no_data: str) -> None:
    for name in PANEL_NAMES:
        out = render(engine, registry, name, lang)
        assert no_data in text(out), name
        assert out.data_time is None, name
        dept = "市政数局" if lang == "zh" else "Gov. Service & Data Admin."
        if name in ("project_lifecycle", "mediation_levels", "hotline_12345", "supervision_claims"):
            assert dept in text(out), name


def test_a_count_from_yesterday_is_not_today_s(engine: Engine, registry: PanelRegistry) -> None:
    put(engine, [city("market.entities_new_today", 150, NOW - timedelta(hours=12))])
    out = render(engine, registry, "market_entities")
    assert "暂无数据" in text(out) and "150" not in text(out)
    assert out.data_time == NOW - timedelta(hours=12)


# ---- panels with data ----------------------------------------------------------------------------


STAGE_KEYS = ["econ.projects.negotiating", "econ.projects.signed", "econ.projects.construction",
              "econ.projects.production"]


def test_project_lifecycle(engine: Engine, registry: PanelRegistry) -> None:
    put(engine, [city(k, v) for k, v in zip(STAGE_KEYS, (48, 36, 61, 27), strict=True)]
        + [city(k, v, NOW - timedelta(hours=25)) for k, v in zip(STAGE_KEYS, (46, 36, 62, 27), strict=True)])
    out = render(engine, registry, "project_lifecycle")
    body = text(out)
    for s in ("48", "36", "61", "27", "洽谈", "签约", "在建", "投产", "市商务局", "市发改局", "市工信局",
              "市投促局、市政数局", "(十四)2", "全市", "▲2", "▼1"):
        assert s in body, s
    assert out.data_time == NOW
    assert len(with_class(out, "kp-stage")) == 4
    widths = [b.style["width"] for b in with_class(out, "kp-funnel-bar")]
    assert widths[2] == "100.0%" and widths[0] == f"{100 * 48 / 61:.1f}%"
    en = text(render(engine, registry, "project_lifecycle", "en"))
    for s in ("Negotiating", "Signed", "Building", "Producing", "Commerce Bureau", "Industry & IT Bureau", "§14.2"):
        assert s in en, s


def test_lifecycle_without_yesterday_shows_no_change(engine: Engine, registry: PanelRegistry) -> None:
    put(engine, [city(k, 10) for k in STAGE_KEYS] + [city(STAGE_KEYS[0], 4, NOW - timedelta(days=5))])
    body = text(render(engine, registry, "project_lifecycle"))
    assert "▲" not in body.replace("▲▼", "") and "▼" not in body.replace("▲▼", "")


@pytest.mark.parametrize("value, expect", [(2_500, "落后时间进度 8.0 个百分点"), (2_900, "进度正常"),
                                           (3_050, "已达全年目标")])
def test_gdp_against_the_year(engine: Engine, registry: PanelRegistry, value: float, expect: str) -> None:
    put(engine, [city("econ.gdp_ytd", value)])
    out = render(engine, registry, "gdp_progress")
    body = text(out)
    elapsed = 100 * year_elapsed(NOW)
    assert f"{value:,.0f}" in body and "亿元" in body and "目标 ≥3,000亿元" in body
    assert expect in body and f"{elapsed:.1f}%" in body and f"{100 * value / 3000:.1f}%" in body
    assert "市发改局、市统计局" in body and out.data_time == NOW
    tags = with_class(out, "kp-tag")
    assert ("kp-behind" in tags[0].className) == (value == 2_500)
    en = text(render(engine, registry, "gdp_progress", "en"))
    assert "bn CNY" in en and "Target ≥300 bn CNY" in en and "Of year" in en and "Dev. & Reform Bureau" in en


def test_wage_warnings_with_24_hours_of_history(engine: Engine, registry: PanelRegistry) -> None:
    hist = [city("econ.wage_warnings", h % 5, NOW - timedelta(hours=h, minutes=10)) for h in range(1, 30) if h != 6]
    put(engine, [*hist, city("econ.wage_warnings", 7)])
    out = render(engine, registry, "wage_warnings")
    body = text(out)
    for s in ("7", "家", "目标 ≤0家", "需处置", "市人社局", "(十二)", "近24小时", "峰值 7"):
        assert s in body, s
    bars = with_class(out, "kp-spark-bar")
    assert len(bars) == 24
    assert sum("kp-gap" in b.className for b in bars) == 1  # the hour without a report
    assert bars[-1].style["height"] == "100%"
    put(engine, [city("econ.wage_warnings", 0, NOW + timedelta(minutes=1))])
    out = render(engine, registry, "wage_warnings", "en")
    assert "None" in text(out) and "Target ≤0 firms" in text(out) and "HR & Social Security" in text(out)
    assert "kp-met" in with_class(out, "kp-tag")[0].className


def test_market_entities_today_with_yesterday_for_comparison(engine: Engine, registry: PanelRegistry) -> None:
    today = [city("market.entities_new_today", v, NOW.replace(hour=h, minute=30)) for h, v in
             ((7, 3), (8, 20), (9, 61))]
    put(engine, [*today, city("market.entities_new_today", 75),
                 city("market.entities_new_today", 50, NOW - timedelta(hours=24, minutes=5)),
                 city("market.entities_new_today", 140, NOW - timedelta(hours=14))])
    out = render(engine, registry, "market_entities")
    body = text(out)
    for s in ("75", "户", "昨日同时 50", "▲25", "市市场监管局", "今日0时起", "全市"):
        assert s in body, s
    assert out.data_time == NOW
    clip = with_class(out, "kp-area-fill")[0].style["clipPath"]
    # One point per hour with a report, at the time it was taken (7:30, 8:30, 10:00), and two base corners.
    assert clip == "polygon(31.25% 100%, 31.25% 96.36%, 35.42% 75.76%, 41.67% 9.09%, 41.67% 100%)"
    assert "New market entities" not in text(render(engine, registry, "market_entities", "en"))
    assert "Yesterday by now 50" in text(render(engine, registry, "market_entities", "en"))


@pytest.mark.parametrize("value, state", [(99.2, "behind"), (100, "met")])
def test_supervision_claims(engine: Engine, registry: PanelRegistry, value: float, state: str) -> None:
    put(engine, [city("market.supervision_claim_rate", value)])
    out = render(engine, registry, "supervision_claims")
    body = text(out)
    assert f"{value:g}" in body and "%" in body and "目标 ≥100%" in body and "市政数局" in body
    assert ("达标" if state == "met" else "未达标") in body and "(十四)11" in body
    assert gauge_states(out) == {"互联网+监管事项认领率": state}
    fill = with_class(out, "kp-fill")[0]
    assert fill.style["width"] == f"{min(100.0, value):.1f}%" and f"kp-{state}" in fill.className


PAIRS = [
    ("ysht_users", [("market.ysht_users", 218_400), ("market.ysht_dau", 12_100)],
     ["21.8万", "目标 ≥23万户", "1.2万", "目标 ≥1.2万户", "95.0%", "100.8%", "市政数局", "(二)"],
     {"注册市场主体": "behind", "日均活跃": "met"},
     ["218.4k", "Target ≥230k entities", "12.1k", "Registered entities", "Daily active", "Behind", "Met"]),
    ("yss_users", [("service.yss_registered", 3_251_234), ("service.yss_mau", 1_085_000)],
     ["325.1万", "目标 ≥320万人", "108.5万", "目标 ≥120万人", "101.6%", "90.4%", "(二)"],
     {"实名注册用户": "met", "月均活跃用户": "behind"},
     ["3.25M", "Target ≥3.20M people", "1.08M", "Monthly active users"]),
    ("haochaping", [("service.haochaping_active_rate", 86.5), ("service.bad_review_fix_rate", 99.1)],
     ["86.5", "目标 ≥85%", "99.1", "目标 ≥100%", "主动评价率", "差评整改率", "(九)1"],
     {"主动评价率": "met", "差评整改率": "behind"},
     ["Active evaluation rate", "Bad reviews rectified", "Target ≥85%", "§9.1"]),
    ("service_items", [("service.one_thing", 478), ("service.tongban", 802)],
     ["478", "目标 ≥500个", "802", "目标 ≥800项", "95.6%", "100.2%", "(一)(四)"],
     {"高频“一件事”": "behind", "通办事项": "met"},
     ["One-thing services", "Cross-region items", "Target ≥500 services", "Target ≥800 items"]),
]


@pytest.mark.parametrize("name, rows, zh, states, en", PAIRS, ids=[p[0] for p in PAIRS])
def test_two_kpis_against_their_targets(engine: Engine, registry: PanelRegistry, name: str,
                                        rows: list[tuple[str, float]], zh: list[str], states: dict[str, str],
                                        en: list[str]) -> None:
    put(engine, [city(k, v, NOW - timedelta(minutes=i)) for i, (k, v) in enumerate(rows)])
    out = render(engine, registry, name)
    body = text(out)
    for s in [*zh, "市政数局", "全市"]:
        assert s in body, s
    assert gauge_states(out) == states
    assert out.data_time == NOW  # the newer of the two
    body_en = text(render(engine, registry, name, "en"))
    for s in [*en, "Gov. Service & Data Admin.", "City-wide"]:
        assert s in body_en, s
    assert "目标" not in body_en and "市政数局" not in body_en


def test_one_kpi_of_two_missing(engine: Engine, registry: PanelRegistry) -> None:
    put(engine, [city("service.yss_registered", 3_251_234)])
    out = render(engine, registry, "yss_users")
    assert gauge_states(out) == {"实名注册用户": "met", "月均活跃用户": "missing"}
    assert "暂无数据" in text(out) and "目标 ≥120万人" in text(out)


def test_mediation_at_four_levels(engine: Engine, registry: PanelRegistry) -> None:
    put(engine, [city(f"social.mediation.{lv}", v) for lv, v in
                 (("city", 12), ("county", 57), ("town", 143), ("village", 268))])
    out = render(engine, registry, "mediation_levels")
    body = text(out)
    for s in ("480", "件", "市级", "县级", "镇级", "村级", "12", "57", "143", "268", "市委政法委、市政数局", "(十六)5"):
        assert s in body, s
    fills = [f.style["width"] for f in with_class(out, "fill")]
    assert fills == [f"{100 * v / 268:.0f}%" for v in (12, 57, 143, 268)]
    en = text(render(engine, registry, "mediation_levels", "en"))
    for s in ("City", "County", "Town", "Village", "cases", "Political-Legal Commission"):
        assert s in en, s


def hotline_data(engine: Engine) -> None:
    rows = []
    for i, region in enumerate(NAMES):
        for key, v in (("today", 30 + i), ("open", (i * 7) % 23), ("status.accepted", i), ("status.dispatched", 2),
                       ("status.in_progress", 5), ("status.closed", 40 + i)):
            rows.append((f"social.hotline_12345.{key}", region, NOW - timedelta(minutes=i), v))
    rows += [("social.hotline_12345.today", CITY, NOW - timedelta(minutes=1), 452),
             ("social.hotline_12345.open", CITY, NOW - timedelta(minutes=1), 120)]
    put(engine, rows)


def test_hotline_by_county_for_the_city(engine: Engine, registry: PanelRegistry) -> None:
    hotline_data(engine)
    out = render(engine, registry, "hotline_12345")
    body = text(out)
    assert "120" in body and "452" in body and "在办" in body and "今日受理" in body and "市政数局" in body
    names = [n.children for n in with_class(out, "kp-county-name")]
    opens = {region: (i * 7) % 23 for i, region in enumerate(NAMES)}
    assert names == [NAMES[r] for r in sorted(NAMES, key=lambda r: (-opens[r], -(30 + list(NAMES).index(r))))]
    assert out.data_time == NOW
    en = text(render(engine, registry, "hotline_12345", "en"))
    assert "Huaiji" in en and "open" in en and "today" in en


def test_hotline_filters_to_the_county(engine: Engine, registry: PanelRegistry) -> None:
    hotline_data(engine)
    i = list(NAMES).index("441224")
    out = render(engine, registry, "hotline_12345", county="441224")
    body = text(out)
    assert f"{(i * 7) % 23}" in body and f"{30 + i}" in body and "怀集县" in body
    for other in set(NAMES.values()) - {"怀集县"}:
        assert other not in body
    assert "452" not in body  # the city's total is not the county's
    for s in ("受理", "派单", "办理中", "已办结", f"{40 + i}", f"占全市在办 {100 * ((i * 7) % 23) / 120:.0f}%"):
        assert s in body, s
    assert out.data_time == NOW - timedelta(minutes=i)
    assert "暂无数据" in text(render(engine, registry, "hotline_12345", county="441299"))


def test_city_only_kpis_stay_city_level_in_a_county_view(engine: Engine, registry: PanelRegistry) -> None:
    put(engine, [city("market.supervision_claim_rate", 99.2), ("market.supervision_claim_rate", "441224", NOW, 50)])
    out = render(engine, registry, "supervision_claims", county="441224")
    assert "99.2" in text(out) and "50" not in text(out) and "仅全市" in text(out)
    assert "City only" in text(render(engine, registry, "supervision_claims", "en", county="441224"))
