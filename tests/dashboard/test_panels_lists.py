"""The configurable list panels (point_layer, event_table, alarm_list, markdown), from real payloads run through
the decoder into both stores, their settings as a theme file sets them, and their refusals."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

import geopandas as gpd
import pytest
from dash import dcc, html
from dash.development.base_component import Component
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard.panels import PanelInput, PanelOutput, PanelRegistry, register_builtin_panels
from dashboard.panels.lists import (
    AlarmListSettings,
    EventTableSettings,
    MarkdownSettings,
    PointLayerSettings,
    kind_window,
    register_list_panels,
)
from alerts.engine import AlertEngine
from alerts.rules import RuleRegistry, register_builtin_rules
from feeds.health import FeedHealth
from geo import load_counties
from layers import LayerRegistry, register_builtin_layers
from tests.feeds.samples import ingest, INSIDE, T0, event, fire, iso, road, video
from topics.loader import BUILTIN_DIR, parse_theme
from tests.components import nodes, texts, with_class
from words import t

NAMES = {"441202": "端州区", "441203": "鼎湖区", "441204": "高要区", "441223": "广宁县", "441224": "怀集县",
         "441225": "封开县", "441226": "德庆县", "441284": "四会市"}
NAMES_EN = {"441202": "Duanzhou", "441203": "Dinghu", "441204": "Gaoyao", "441223": "Guangning",
            "441224": "Huaiji", "441225": "Fengkai", "441226": "Deqing", "441284": "Sihui"}
NOW = T0 + timedelta(minutes=5)
ECOLOGY = (BUILTIN_DIR / "ecology.yaml").read_text(encoding="utf-8")


# ---- payloads ------------------------------------------------------------------------------------------


def item(feed: str, county: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    key = body.get("device_id") or body["event_id"]
    return f"zq/{county}/{feed}/{key}", body


def hydro(county: str, stcd: str, level: float, **kw: Any) -> tuple[str, dict[str, Any]]:
    lon, lat = INSIDE[county]
    return item("hydrology", county, {"device_id": stcd, "ts": iso(T0), "lon": lon, "lat": lat, "name": f"{stcd}站",
                                      "river": "绥江", "water_level_m": level, **kw})


DEVICES = [
    item("video_point", "441202", video("441202", 1, detections=[])),  # online
    item("video_point", "441202", video("441202", 2, online=False, detections=[])),  # stream down: offline
    item("video_point", "441203", video("441203", 3, ts=T0 - timedelta(minutes=10), detections=[])),  # silent
    item("road_weather", "441204", road("441204", 2, visibility_m=40.0)),  # fog red: alarm
    item("road_weather", "441202", road("441202", 3, visibility_m=2000.0, name="端州气象站")),  # online
    item("fire_risk", "441223", fire("441223", 1, max_temp_c=12.0, rh_pct=80.0, dry_days=0)),  # 一级: online
    item("air_quality", "441224", {"device_id": "AQ44122401", "ts": iso(T0), "lon": INSIDE["441224"][0],
                                   "lat": INSIDE["441224"][1], "name": "怀集1号站", "pm2_5_1h": 300.0}),  # AQI 6级
    hydro("441284", "81200100", 11.2, warning_m=9.5, guaranteed_m=11.0),  # over guaranteed: alarm
]


def case(county: str, n: int, kind: str, category: str, sub: str, step: int, reported: timedelta,
         **kw: Any) -> tuple[str, dict[str, Any]]:
    body = event(county, n, step=step, ts=T0, kind=kind, category=category, subcategory=sub,
                 reported_at=iso(T0 - reported), **kw)
    return item("grid_event", county, body)


H = timedelta(hours=1)
CASES = [
    case("441202", 1, "事件", "市容环境", "暴露垃圾", 2, 6 * H),  # limit 4 h: 2.1 h overdue
    case("441202", 2, "事件", "市容环境", "暴露垃圾", 3, 1 * H),
    case("441202", 3, "部件", "公用设施", "井盖破损", 1, 5 * H, description="端州路与天宁路交叉口井盖缺失"),  # 2 h: 3.1 over
    case("441204", 4, "事件", "施工管理", "工地扬尘", 4, H / 2),
    case("441204", 5, "部件", "公用设施", "路灯不亮", 5, 30 * H),  # limit 24 h: 6.1 h overdue
    case("441202", 6, "事件", "街面秩序", "占道经营", 6, 2 * H),  # closed
    case("441203", 7, "事件", "街面秩序", "机动车乱停放", 7, 3 * H),  # evaluated (closed)
]
ID = {n: f"AJ{c}{n:05d}" for n, c in ((1, "441202"), (2, "441202"), (3, "441202"), (4, "441204"), (5, "441204"),
                                       (6, "441202"), (7, "441203"))}


# ---- rendering and reading the component tree ----------------------------------------------------------


@cache
def counties() -> gpd.GeoDataFrame:
    return load_counties("441200", "coarse")


@cache
def layers() -> LayerRegistry:
    reg = LayerRegistry()
    register_builtin_layers(reg)
    return reg


def registry() -> PanelRegistry:
    reg = PanelRegistry()
    register_list_panels(reg)
    return reg


def render(engine: Engine, name: str, settings: dict[str, Any] | None = None, lang: str = "zh",
           county: str | None = None, health: dict[str, FeedHealth] | None = None) -> PanelOutput:
    """A panel as the wall renders it: its settings validated by its type's model, then its renderer."""
    panel = registry()[name]
    model = panel.settings.model_validate(settings or {})
    with Session(engine) as s:
        inp = PanelInput(session=s, lang=lang, county=county, health=health or {}, now=NOW,
                         names=NAMES_EN if lang == "en" else NAMES, settings=model, counties=counties(),
                         layers=layers())
        return panel.render(inp)


# ---- point_layer ---------------------------------------------------------------------------------------


def counts(body: Any) -> dict[str, int]:
    """The status counts above the map: {label: n}."""
    return {texts(c)[0]: int(texts(c)[1]) for c in with_class(body, "ls-count")}


def figure(body: Any) -> dict[str, Any]:
    graphs = [n for n in nodes(body) if isinstance(n, dcc.Graph)]
    assert len(graphs) == 1
    return graphs[0].figure


def drawn(body: Any) -> dict[str, set[str]]:
    """Device ids on the map by status (the layer's words: online, offline, stale, alarm)."""
    out: dict[str, set[str]] = {}
    for tr in figure(body)["data"]:
        meta = tr.get("meta") or {}
        if meta.get("layer") == "devices":
            out.setdefault(meta["status"], set()).update(tr["customdata"])
    return out


VIDEO = {n: f"{c}00091326{n:06d}" for n, c in ((1, "441202"), (2, "441202"), (3, "441203"))}
ROAD_FOG, ROAD_CLEAR = "44120400041316000002", "44120200041316000003"


def test_point_layer_counts_each_status_and_draws_the_chosen_kinds(engine: Engine) -> None:
    ingest(engine, DEVICES)
    out = render(engine, "point_layer", {"kinds": ["video_point", "road_weather"]})
    assert counts(out.body) == {"在线": 2, "离线": 1, "未上报": 1, "告警": 1}
    assert drawn(out.body) == {"online": {VIDEO[1], ROAD_CLEAR}, "offline": {VIDEO[2]}, "stale": {VIDEO[3]},
                               "alarm": {ROAD_FOG}}  # the fire-risk station and the gauge are not asked for
    assert out.feed == "video_point" and out.data_time == T0
    # Eight county outlines beneath the points, the view fitted to the city.
    outlines = [tr for tr in figure(out.body)["data"] if (tr.get("meta") or {}).get("layer") == "outline"]
    assert len(outlines) == 8
    b = counties().total_bounds
    assert figure(out.body)["layout"]["xaxis"]["range"][0] < b[0] < b[2] < figure(out.body)["layout"]["xaxis"]["range"][1]
    # The first kind names the feed whose freshness the panel shows.
    assert render(engine, "point_layer", {"kinds": ["road_weather", "video_point"]}).feed == "road_weather"


def test_point_layer_status_filter_removes_points_but_keeps_their_counts_out(engine: Engine) -> None:
    ingest(engine, DEVICES)
    out = render(engine, "point_layer", {"kinds": ["video_point", "road_weather"], "statuses": ["alarm", "offline"]})
    assert drawn(out.body) == {"alarm": {ROAD_FOG}, "offline": {VIDEO[2]}}
    assert counts(out.body) == {"离线": 1, "告警": 1}  # the chosen statuses, in the fixed order
    hidden = render(engine, "point_layer", {"kinds": ["video_point"], "show_counts": False})
    assert counts(hidden.body) == {} and sum(map(len, drawn(hidden.body).values())) == 3


def test_point_layer_of_one_county_zooms_to_it(engine: Engine) -> None:
    ingest(engine, DEVICES)
    out = render(engine, "point_layer", {"kinds": ["video_point", "road_weather"]}, county="441202")
    assert counts(out.body) == {"在线": 2, "离线": 1, "未上报": 0, "告警": 0}
    assert drawn(out.body) == {"online": {VIDEO[1], ROAD_CLEAR}, "offline": {VIDEO[2]}}
    minx, miny, maxx, maxy = counties()[counties()["adcode"] == "441202"].total_bounds
    x0, x1 = figure(out.body)["layout"]["xaxis"]["range"]
    assert minx - 0.05 < x0 < minx and maxx < x1 < maxx + 0.05  # 端州 only, not the city
    lit = [tr for tr in figure(out.body)["data"] if (tr.get("meta") or {}).get("adcode") == "441202"]
    assert lit[0]["line"]["width"] == 2


def test_point_layer_draws_gauges_and_air_stations_with_their_alarms(engine: Engine) -> None:
    ingest(engine, DEVICES)
    out = render(engine, "point_layer", {"kinds": ["hydrology", "fire_risk", "air_quality"]}, lang="en")
    assert counts(out.body) == {"Online": 1, "Offline": 0, "Silent": 0, "Alarm": 2}
    assert drawn(out.body) == {"alarm": {"81200100", "AQ44122401"}, "online": {"FR44122301"}}
    assert texts(with_class(out.body, "ls-kinds")[0])[1::2] == ["Hydrological stations", "Fire-risk stations",
                                                                "Air-quality stations"]
    # Nothing of the kind there: the no-data text, with the kind's feed for the badge.
    none = render(engine, "point_layer", {"kinds": ["air_quality"]}, county="441225")
    assert texts(none.body) == [t("no_data", "zh")] and none.feed == "air_quality"


def test_a_devices_silence_is_judged_by_its_feeds_cadence(engine: Engine) -> None:
    ingest(engine, DEVICES)
    slow = {"video_point": FeedHealth("video_point", "", "", 600, T0, T0, 0.0, False, 1, 0)}
    assert kind_window("video_point", slow) == timedelta(minutes=30) and kind_window("video_point", {}) == \
        timedelta(minutes=5)
    out = render(engine, "point_layer", {"kinds": ["video_point"]}, health=slow)
    assert counts(out.body)["未上报"] == 0 and counts(out.body)["在线"] == 2


# ---- event_table ---------------------------------------------------------------------------------------


def rows(body: Any) -> list[Component]:
    return with_class(body, "ls-row")


def row_ids(body: Any) -> list[str]:
    return [r.href.split("/case/")[1].split("?")[0] for r in rows(body)]


def test_event_table_lists_open_cases_newest_first_with_links(engine: Engine) -> None:
    ingest(engine, CASES)
    out = render(engine, "event_table")
    assert row_ids(out.body) == [ID[4], ID[2], ID[3], ID[1], ID[5]]
    assert [r.href for r in rows(out.body)][0] == f"/case/{ID[4]}"
    assert texts(with_class(out.body, "ls-head")[0]) == ["符合条件 5 件"]
    assert texts(with_class(out.body, "ls-thead")[0]) == ["上报时间", "区县", "小类", "环节", "历时"]
    assert texts(rows(out.body)[2]) == ["03:00", "端州区", "井盖破损", "1 信息收集", "5.1小时"]
    assert texts(rows(out.body)[4]) == ["11-29 02:00", "高要区", "路灯不亮", "5 处理反馈", "30.1小时"]
    # The overdue ones (井盖破损 past 2 h, 暴露垃圾 past 4 h, 路灯不亮 past 24 h) are marked.
    late = [r.href.split("/case/")[1] for r in with_class(out.body, "ls-late-row")]
    assert late == [ID[3], ID[1], ID[5]]
    assert out.data_time == T0

    en = render(engine, "event_table", {"limit": 2}, lang="en")
    assert [r.href for r in rows(en.body)] == [f"/case/{ID[4]}?lang=en", f"/case/{ID[2]}?lang=en"]
    assert texts(rows(en.body)[0]) == ["07:30", "Gaoyao", "工地扬尘", "4 Handling", "35 min"]
    assert texts(with_class(en.body, "ls-head")[0]) == ["5 matching"]  # the limit cuts rows, not the count


def test_event_table_filters_by_step_class_and_county(engine: Engine) -> None:
    ingest(engine, CASES)
    assert row_ids(render(engine, "event_table", {"categories": ["公用设施"]}).body) == [ID[3], ID[5]]
    assert row_ids(render(engine, "event_table", {"steps": [1, 2]}).body) == [ID[3], ID[1]]
    closed = render(engine, "event_table", {"steps": [6, 7], "columns": ["subcategory", "step", "age"]})
    assert row_ids(closed.body) == [ID[6], ID[7]] and with_class(closed.body, "ls-head") == []
    assert texts(rows(closed.body)[0]) == ["占道经营", "6 核查结案", "2.0小时"]  # reported to closed
    assert row_ids(render(engine, "event_table", county="441202").body) == [ID[2], ID[3], ID[1]]
    both = render(engine, "event_table", {"categories": ["市容环境", "施工管理"], "steps": [2, 3, 4]}, county="441204")
    assert row_ids(both.body) == [ID[4]]


def test_event_table_overdue_only_lists_the_cases_past_their_limit_most_overdue_first(engine: Engine) -> None:
    ingest(engine, CASES)
    out = render(engine, "event_table", {"overdue_only": True, "columns": ["subcategory", "age"]})
    assert row_ids(out.body) == [ID[5], ID[3], ID[1]]
    assert texts(with_class(out.body, "ls-head")[0]) == ["超期 3 件"]
    ages = with_class(out.body, "ls-c-age")[1:]
    assert [a.title for a in ages] == ["超期 6.1 小时", "超期 3.1 小时", "超期 2.1 小时"]
    assert all("ls-late" in a.className for a in ages)
    cut = render(engine, "event_table", {"overdue_only": True, "limit": 1})
    assert row_ids(cut.body) == [ID[5]] and texts(with_class(cut.body, "ls-head")[0]) == ["超期 3 件"]
    assert row_ids(render(engine, "event_table", {"overdue_only": True, "categories": ["市容环境"]}).body) == [ID[1]]
    none = render(engine, "event_table", {"overdue_only": True}, county="441203")
    assert texts(none.body) == ["无超期案件"] and none.data_time == T0


def test_event_table_shows_only_the_chosen_columns(engine: Engine) -> None:
    ingest(engine, CASES)
    out = render(engine, "event_table", {"columns": ["county", "category", "address"], "limit": 3}, lang="en")
    assert texts(with_class(out.body, "ls-thead")[0]) == ["County", "Class", "Location"]
    assert [len(r.children) for r in rows(out.body)] == [3, 3, 3]
    assert texts(rows(out.body)[2]) == ["Duanzhou", "Utilities", "端州路与天宁路交叉口井盖缺失"]
    assert rows(out.body)[0].style == {"--ls-cols": "4.3rem minmax(0, 1fr) minmax(0, 1.6fr)"}


def test_event_table_on_an_empty_store_says_no_data(engine: Engine) -> None:
    out = render(engine, "event_table")
    assert texts(out.body) == [t("no_data", "zh")] and out.data_time is None


# ---- alarm_list ----------------------------------------------------------------------------------------

ALARMS = [
    item("road_weather", "441204", road("441204", 2, visibility_m=40.0, name="广昆高速气象站")),  # red
    item("road_weather", "441202", road("441202", 3, visibility_m=150.0, name="端州气象站")),  # orange
    item("road_weather", "441226", road("441226", 4, visibility_m=300.0, name="德庆气象站")),  # yellow
    hydro("441284", "81200100", 11.2, warning_m=9.5, guaranteed_m=11.0),  # over guaranteed: red
]


def with_alarms(engine: Engine) -> None:
    """The messages ingested and judged by two rules, as the ingest worker hands its batches to the engine."""
    rules = RuleRegistry()
    register_builtin_rules(rules)
    text = (BUILTIN_DIR / "ecology.yaml").read_text(encoding="utf-8").split("\nrules:\n")[0] + (
        "\nrules:\n- id: fog\n  kind: fog\n  min_signal: yellow\n- id: water\n  kind: water_level\n")
    theme, errors = parse_theme(text, "ecology.yaml", None, rules.schemas())
    assert errors == [] and theme is not None
    AlertEngine(engine, rules, lambda: (theme,)).on_batch(ingest(engine, ALARMS))


def sev_counts(body: Any) -> dict[str, int]:
    return {texts(c)[1]: int(texts(c)[0]) for c in with_class(body, "ls-sev")}


def test_alarm_list_worst_first_with_counts_and_colours(engine: Engine) -> None:
    with_alarms(engine)
    out = render(engine, "alarm_list")
    assert sev_counts(out.body) == {"红色": 2, "橙色": 1, "黄色": 1, "蓝色": 0}
    lines = sorted(texts(r)[0] for r in with_class(out.body, "ls-alarm")[:2]) + \
        [texts(r)[0] for r in with_class(out.body, "ls-alarm")[2:]]
    assert lines == ["81200100站 超保证水位 11.20 米", "广昆高速气象站 能见度 40 米 大雾红色预警信号",
                     "端州气象站 能见度 150 米 大雾橙色预警信号", "德庆气象站 能见度 300 米 大雾黄色预警信号"]
    bars = [b.style["background"] for b in with_class(out.body, "ls-bar")]
    assert bars == ["#FF0000", "#FF0000", "#FF7E00", "#FFFF00"]


def test_alarm_list_severity_filter_limit_county_and_english(engine: Engine) -> None:
    with_alarms(engine)
    out = render(engine, "alarm_list", {"min_severity": 3, "limit": 2}, lang="en")
    assert sev_counts(out.body) == {"Red": 2, "Orange": 1}
    assert sorted(texts(r)[0] for r in with_class(out.body, "ls-alarm")) == [
        "81200100站: above guaranteed level 11.20 m", "广昆高速气象站: visibility 40 m, Dense fog red warning signal"]
    assert texts(with_class(out.body, "ls-more")[0]) == ["1 more"]
    red = render(engine, "alarm_list", {"min_severity": 4}, county="441204")
    assert [texts(r)[0] for r in with_class(red.body, "ls-alarm")] == ["广昆高速气象站 能见度 40 米 大雾红色预警信号"]
    quiet = render(engine, "alarm_list", {"min_severity": 4}, county="441226")
    assert texts(with_class(quiet.body, "ls-empty")[0]) == ["无预警"] and sev_counts(quiet.body) == {"红色": 0}


def test_alarm_list_badges_only_when_all_its_sources_are_silent(engine: Engine) -> None:
    feeds = ("road_weather", "fire_risk", "hydrology", "video_point", "air_quality")

    def health(stale: set[str]) -> dict[str, FeedHealth]:
        return {f: FeedHealth(f, f"{f}中", f, 60, T0, T0, 0.0, f in stale, 1, 0) for f in feeds}

    fresh = render(engine, "alarm_list", health=health(set()))
    assert fresh.feed is None and fresh.data_time == T0 and with_class(fresh.body, "ls-silent") == []
    some = render(engine, "alarm_list", health=health({"fire_risk"}))
    assert some.feed is None and texts(with_class(some.body, "ls-silent")[0]) == ["未更新: fire_risk中"]
    every = render(engine, "alarm_list", health=health(set(feeds)))
    assert every.feed == "road_weather" and with_class(every.body, "ls-silent") == []


# ---- markdown ------------------------------------------------------------------------------------------


def test_markdown_renders_allowed_markdown_without_html(engine: Engine) -> None:
    text = "**市生态环境局** 值班电话 12345\n\n- [全市地图](/map)\n- [说明](https://example.gov.cn/a)"
    out = render(engine, "markdown", {"text_zh": text, "text_en": "On duty: **Eco-Env. Bureau**"})
    # Rendered from the parse the validator judged: components, no Markdown read a second time in the browser.
    assert not [n for n in nodes(out.body) if isinstance(n, dcc.Markdown)]
    strong = [n for n in nodes(out.body) if isinstance(n, html.Strong)]
    assert [texts(s) for s in strong] == [["市生态环境局"]]
    assert [(type(n).__name__, n.href) for n in nodes(out.body) if isinstance(n, (dcc.Link, html.A))] == [
        ("Link", "/map"), ("A", "https://example.gov.cn/a")]
    assert len([n for n in nodes(out.body) if isinstance(n, html.Li)]) == 2
    assert out.feed is None and out.data_time is None
    en = render(engine, "markdown", {"text_zh": text, "text_en": "On duty: **Eco-Env. Bureau**"}, lang="en")
    assert " ".join(texts(en.body)).startswith("On duty:") and "Eco-Env. Bureau" in texts(en.body)
    zh_only = render(engine, "markdown", {"text_zh": text}, lang="en")
    assert "市生态环境局" in texts(zh_only.body)


@pytest.mark.parametrize("text", [
    "提示<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[点我](javascript:alert(1))",
    "[点我]( JavaScript:alert(1))",
    "[点我][x]\n\n[x]: javascript:alert(1)",
    "[点我](&#106;avascript:alert(1))",
    "[点我][x]\n\n[x]:\n  &#106;avascript:alert(1)",
    "[点我](data:text/html;base64,PHNjcmlwdD4=)",
    "![外网图片](https://example.com/a.png)",
    # What the outside probe found: a reference with an escaped bracket, and a link to another host with no scheme.
    "[a\\]]: javascript:alert(1)",
    "[点我][a\\]]\n\n[a\\]]: javascript:alert(1)",
    "[点我](//evil.example)",
    "[点我][x]\n\n[x]: //evil.example",
    "[点我](\\/\\/evil.example)",  # escapes that render as //evil.example
    "[点我](/\\evil.example)",  # a backslash browsers read as a slash
    "[点我](/%5Cevil.example)",
    "[点我](https:evil.example)",  # no host
    "[点我](map)",  # relative: not a page of the wall as written
    "![图](//evil.example/a.png)",
])
def test_markdown_refuses_html_script_links_and_outside_images(text: str) -> None:
    with pytest.raises(ValidationError):
        MarkdownSettings.model_validate({"text_zh": "ok", "text_en": text})
    with pytest.raises(ValidationError):
        MarkdownSettings.model_validate({"text_zh": text})


@pytest.mark.parametrize("text", [
    "[全市地图](/map)", "[区县](/county/441224?lang=en#top)", "[说明](https://example.gov.cn/a?b=1)",
    "[上文](#top)", "![图标](/assets/logo.png)", "[x][r]\n\n[r]: /plan",
    "括号 [不是链接] 与反斜杠 \\ 都可以",
])
def test_markdown_keeps_links_to_the_wall_and_to_websites(text: str) -> None:
    assert MarkdownSettings.model_validate({"text_zh": text}).text_zh == text


def test_markdown_length_limits() -> None:
    with pytest.raises(ValidationError):
        MarkdownSettings.model_validate({"text_zh": ""})
    with pytest.raises(ValidationError):
        MarkdownSettings.model_validate({"text_zh": "字" * 4001})
    assert MarkdownSettings.model_validate({"text_zh": "字" * 4000}).text_en is None


# ---- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "settings", "where"), [
    (EventTableSettings, {"steps": [1, 9]}, ("steps", 1)),
    (EventTableSettings, {"limit": 0}, ("limit",)),
    (EventTableSettings, {"limit": 31}, ("limit",)),
    (EventTableSettings, {"rows": 5}, ("rows",)),
    (EventTableSettings, {"categories": ["垃圾"]}, ("categories", 0)),
    (EventTableSettings, {"columns": ["time", "owner"]}, ("columns", 1)),
    (EventTableSettings, {"columns": []}, ("columns",)),
    (EventTableSettings, {"overdue_only": True, "steps": [6, 7]}, ()),
    (PointLayerSettings, {}, ("kinds",)),
    (PointLayerSettings, {"kinds": []}, ("kinds",)),
    (PointLayerSettings, {"kinds": ["grid_event"]}, ("kinds", 0)),
    (PointLayerSettings, {"kinds": ["video_point"], "statuses": ["stale"]}, ("statuses", 0)),
    (AlarmListSettings, {"min_severity": 5}, ("min_severity",)),
    (AlarmListSettings, {"limit": 0}, ("limit",)),
    (AlarmListSettings, {"colour": "red"}, ("colour",)),
    (MarkdownSettings, {"text_zh": "x", "text": "y"}, ("text",)),
])
def test_settings_mistakes_are_refused_where_they_are(model: type[BaseModel], settings: dict[str, Any],
                                                      where: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as e:
        model.model_validate(settings)
    assert e.value.errors()[0]["loc"] == where


def test_settings_defaults_and_duplicates() -> None:
    s = EventTableSettings()
    assert (s.steps, s.categories, s.overdue_only, s.limit, s.columns) == (
        [1, 2, 3, 4, 5], [], False, 8, ["time", "county", "subcategory", "step", "age"])
    p = PointLayerSettings.model_validate({"kinds": ["video_point", "video_point"]})
    assert p.kinds == ["video_point"] and p.statuses == ["online", "offline", "silent", "alarm"] and p.show_counts
    assert (AlarmListSettings().min_severity, AlarmListSettings().limit) == (1, 8)
    # The editor's form is drawn from the schema: lists offer their choices, and defaults show.
    schema = EventTableSettings.model_json_schema()
    assert schema["properties"]["categories"]["items"]["enum"][:2] == ["公用设施", "道路交通"]
    assert schema["properties"]["steps"]["items"] == {"type": "integer", "minimum": 1, "maximum": 7}
    assert schema["properties"]["columns"]["default"] == ["time", "county", "subcategory", "step", "age"]
    for m in (EventTableSettings, PointLayerSettings, AlarmListSettings, MarkdownSettings):
        props = m.model_json_schema()["properties"]
        assert "$defs" not in m.model_json_schema() and all(p.get("description") for p in props.values())


# ---- theme files ---------------------------------------------------------------------------------------


def with_panels(block: str) -> str:
    """The ecology theme with its panels replaced by a block of YAML."""
    head, rest = ECOLOGY.split("panels:\n", 1)
    return head + "panels:\n" + block + "kpis:\n" + rest.split("kpis:\n", 1)[1]


def line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def schemas() -> dict[str, type[BaseModel]]:
    reg = PanelRegistry()
    register_builtin_panels(reg)
    return reg.schemas()


GOOD = """\
- type: point_layer
  column: left
  kinds: [road_weather, video_point]
  statuses: [alarm, offline]
- type: event_table
  column: left
  title_zh: 超期案件
  overdue_only: true
  categories:
  - 市容环境
  - 街面秩序
  limit: 6
- type: alarm_list
  column: right
  min_severity: 2
- type: markdown
  column: right
  text_zh: |
    **值班**: 市生态环境局 · [全市地图](/map)
"""


def test_a_theme_file_with_the_list_panels_is_read_and_its_mistakes_named_by_line() -> None:
    theme, errors = parse_theme(with_panels(GOOD), "ecology.yaml", schemas())
    assert errors == [] and theme is not None
    assert [p.type for p in theme.panels] == ["point_layer", "event_table", "alarm_list", "markdown"]
    assert theme.panels[1].settings == {"overdue_only": True, "categories": ["市容环境", "街面秩序"], "limit": 6}

    bad = with_panels(GOOD.replace("limit: 6", "limit: 0").replace("min_severity: 2", "min_severity: 2\n  rows: 3")
                      .replace("[alarm, offline]", "[alarm, broken]")
                      .replace("[全市地图](/map)", "[全市地图](javascript:alert(1))")
                      + "- type: event_table\n  column: right\n  steps: [1, 9]\n")
    theme, errors = parse_theme(bad, "ecology.yaml", schemas())
    assert theme is None
    got = [(e.line, e.field) for e in errors]
    assert got == [
        (line_of(bad, "[alarm, broken]"), "panels[0].statuses[1]"),
        (line_of(bad, "limit: 0"), "panels[1].limit"),
        (line_of(bad, "rows: 3"), "panels[2].rows"),
        (line_of(bad, "text_zh: |"), "panels[3].text_zh"),
        (line_of(bad, "steps: [1, 9]"), "panels[4].steps[1]"),
    ]
    assert errors[1].message == "must be at least 1"
    assert "is not a setting of panel type alarm_list" in errors[2].message
    assert "not 'javascript:alert(1)'" in errors[3].message
    assert errors[4].message == "must be at most 7"


def test_registration_names_each_types_feed() -> None:
    reg = registry()
    assert {p.name: p.feed for p in reg} == {"point_layer": "video_point", "event_table": "grid_event",
                                             "alarm_list": None, "markdown": None}
    with pytest.raises(ValueError):
        register_list_panels(reg)


def test_alarm_list_of_the_themes_own_rules_only(engine: Engine) -> None:
    with_alarms(engine)  # both rules are the ecology theme's
    panel = registry()["alarm_list"]
    for theme, expected in (("ecology", 4), ("social", 0)):
        with Session(engine) as s:
            inp = PanelInput(session=s, lang="zh", county=None, health={}, now=NOW, names=NAMES, theme=theme,
                             settings=panel.settings.model_validate({"theme_only": True}))
            out = panel.render(inp)
        assert len(with_class(out.body, "ls-alarm")) == expected
