"""The ecology and grid-case panels, rendered from real payloads run through the decoder into both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from dash.development.base_component import Component
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import clock
from clock import FakeClock
from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, default_measures
from dashboard.panels.cases import register_case_panels
from dashboard.panels.environment import city_aqi, register_environment_panels, station_primary
from store.env_queries import AirStation, air_stations
from tests.feeds.samples import ingest, INSIDE, T0, event, iso
from tests.components import texts, with_class
from words import t

NAMES = {"441202": "端州区", "441203": "鼎湖区", "441204": "高要区", "441223": "广宁县", "441224": "怀集县",
         "441225": "封开县", "441226": "德庆县", "441284": "四会市"}
NAMES_EN = {"441202": "Duanzhou", "441203": "Dinghu", "441204": "Gaoyao", "441223": "Guangning",
            "441224": "Huaiji", "441225": "Fengkai", "441226": "Deqing", "441284": "Sihui"}
NOW = T0 + timedelta(minutes=20)

# HJ 633 Table 2 colours, as DOMAIN.md §2 gives them.
GREEN, YELLOW, ORANGE, RED, PURPLE, MAROON = "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"
GREY = "#3a4556"  # layers.choropleth.NO_DATA


# ---- payloads ------------------------------------------------------------------------------------------


def air(county: str, n: int, ts: datetime = T0, **conc: float) -> tuple[str, dict[str, Any]]:
    """An air-quality station's hour, as the poller hands it over."""
    lon, lat = INSIDE[county]
    code = f"AQ{county}{n:02d}"
    return (f"zq/{county}/air_quality/{code}",
            {"device_id": code, "ts": iso(ts), "lon": lon, "lat": lat, "name": f"{NAMES[county]}{n}号站",
             **conc})


def hydro(county: str, stcd: str, name: str, river: str, level: float,
          **kw: Any) -> tuple[str, dict[str, Any]]:
    """A gauging station's reading, as the poller hands it over."""
    lon, lat = INSIDE[county]
    return (f"zq/{county}/hydrology/{stcd}",
            {"device_id": stcd, "ts": iso(NOW - timedelta(minutes=5)), "lon": lon, "lat": lat, "name": name,
             "river": river,
             "water_level_m": level, "flow_m3s": 1000.0, **kw})


def case(county: str, n: int, kind: str, category: str, sub: str, step: int = 2,
         ts: datetime = T0) -> tuple[str, dict[str, Any]]:
    body = event(county, n, step=step, ts=ts, kind=kind, category=category, subcategory=sub)
    return f"zq/{county}/grid_event/{body['event_id']}", body


AIR = [
    air("441202", 1, pm2_5_1h=120.0),  # IAQI 158: 中度污染
    air("441202", 2, pm2_5_1h=40.0),  # 57: 良
    air("441202", 3, T0 - timedelta(hours=5), pm2_5_1h=400.0),  # 434, but silent for 5 h: left out
    air("441204", 1, o3_1h=250.0, o3_8h=180.0),  # O3 1h 125, O3 8h 119: 轻度污染, primary O3
    air("441284", 1, pm10_1h=150.0, no2_1h=200.0),  # both IAQI 100: 良, two primary pollutants
    air("441203", 1, pm2_5_1h=20.0),  # 29: 优, no primary pollutant
    air("441224", 1, pm2_5_1h=300.0),  # 350: 严重污染
    air("441225", 1, pm2_5_1h=200.0),  # 250: 重度污染
    air("441226", 1, so2_1h=900.0),  # SO2 1h > 800 without its 24h value: HJ 633 gives no AQI
    air("441223", 1, pm2_5_1h=10.0),  # 15 at T0 …
    air("441223", 1, T0 + timedelta(hours=1), so2_1h=900.0),  # … but the newest hour has no AQI
]
HYDRO = [
    hydro("441204", "81100100", "高要", "西江", 10.15, station_key="gaoyao"),  # warning 10.0 from standards.hydro
    hydro("441226", "81100200", "德庆", "西江", 14.58, station_key="deqing"),  # warning 15.0
    hydro("441284", "81200100", "四会", "绥江", 11.2, warning_m=9.5, guaranteed_m=11.0),  # over guaranteed
    hydro("441223", "81200200", "广宁", "绥江", 21.3),  # no levels known
]
CASES = [
    *[case("441202", n, "事件", "市容环境", "暴露垃圾") for n in (1, 2, 3)],
    case("441202", 4, "事件", "市容环境", "道路不洁", step=3),
    *[case("441202", n, "部件", "公用设施", "井盖破损", step=1) for n in (5, 6)],
    case("441202", 7, "事件", "街面秩序", "占道经营", step=6, ts=T0 + timedelta(minutes=10)),  # closed
    case("441204", 1, "事件", "施工管理", "工地扬尘", step=4),
]


# ---- rendering and reading the component tree ----------------------------------------------------------


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    """The measures judge which stations still report on the process clock: stand it at NOW."""
    with clock.using(FakeClock(NOW)):
        yield


def registry() -> PanelRegistry:
    reg = PanelRegistry()
    register_environment_panels(reg)
    register_case_panels(reg)
    return reg


def render(engine: Engine, name: str, lang: str = "zh", county: str | None = None) -> PanelOutput:
    with Session(engine) as s:
        inp = PanelInput(session=s, lang=lang, county=county, health={}, now=NOW,
                         names=NAMES_EN if lang == "en" else NAMES)
        return registry()[name].render(inp)


def background(c: Component) -> str | None:
    return (getattr(c, "style", None) or {}).get("background")


# ---- air quality ---------------------------------------------------------------------------------------


def test_air_quality_by_county_worst_first_with_categories_colours_and_primary_pollutants(
        engine: Engine) -> None:
    ingest(engine, AIR)
    out = render(engine, "air_quality")
    rows = with_class(out.body, "ev-aq-row")
    assert [tuple(texts(r)) for r in rows] == [
        ("怀集县", "350", "严重污染", "PM₂.₅"),
        ("封开县", "250", "重度污染", "PM₂.₅"),
        ("高要区", "125", "轻度污染", "O₃"),
        ("端州区", "107", "轻度污染", "PM₂.₅"),  # HJ 663: its two stations' mean PM2.5 (120, 40) is 80 µg/m³
        ("四会市", "100", "良", "NO₂、PM₁₀"),
        ("鼎湖区", "29", "优", "—"),
        ("广宁县", "—", "—", "—"),  # its newest hour has no AQI: the older one is not shown as current
        ("德庆县", "—", "—", "—"),  # its only station's hour has no AQI (SO2 1h > 800 alone)
    ]
    tags = [with_class(r, "ev-cat")[0] for r in rows]
    assert [background(tag) for tag in tags] == [MAROON, PURPLE, ORANGE, ORANGE, YELLOW, GREEN, GREY, GREY]
    swatches = [background(with_class(r, "ev-swatch")[0]) for r in rows]
    assert swatches == [MAROON, PURPLE, ORANGE, ORANGE, YELLOW, GREEN, GREY, GREY]
    # The city: mean PM2.5 of the five stations reporting it is 136 µg/m³ → IAQI 180.
    badge = with_class(out.body, "ev-badge")[0]
    assert texts(badge) == ["全市 AQI", "180", "中度污染"] and background(badge) == RED
    assert texts(with_class(out.body, "ev-primary")[0]) == ["首要污染物", "PM₂.₅"]
    note = " ".join(texts(with_class(out.body, "footnote")[0]))
    assert "区县、全市均取各站浓度均值（HJ 663）" in note and "HJ 633-2012 实时报" in note and "市生态环境局" in note
    # Which stations' PM AQI used 1-h values is the footnote's tooltip (no room on the wall).
    assert with_class(out.body, "footnote")[0].title.startswith("PM按1小时值计的站点: 四会市1号站, 封开县1号站")
    assert out.data_time == T0


def test_air_quality_of_one_county_lists_its_current_stations(engine: Engine) -> None:
    ingest(engine, AIR)
    out = render(engine, "air_quality", county="441202")
    assert [tuple(texts(r)) for r in with_class(out.body, "ev-aq-row")] == [
        ("1号站", "158", "中度污染", "PM₂.₅"), ("2号站", "57", "良", "PM₂.₅")]  # the badge names the county
    assert texts(with_class(out.body, "ev-badge")[0]) == ["端州区 AQI", "107", "轻度污染"]  # the eco.aqi measure
    # A county whose only station has no current AQI shows the no-data text.
    assert texts(render(engine, "air_quality", county="441226").body) == [t("no_data", "zh")]


def test_county_aqi_follows_the_panels_rule(engine: Engine) -> None:
    ingest(engine, AIR)
    with Session(engine) as s:
        got = default_measures().latest(s, ["eco.aqi"], list(NAMES))["eco.aqi"]
        assert {c: p.value for c, p in got.items()} == {"441202": 107, "441203": 29, "441204": 125, "441224": 350,
                                                        "441225": 250, "441284": 100}
        stations = {st.device_id: st for st in air_stations(s)}
    assert stations["AQ44128401"].primary_pollutants == ("no2_1h", "pm10_24h")
    assert stations["AQ44120401"].values == {"o3_1h": 250.0, "o3_8h": 180.0}
    assert "AQ44120203" not in stations and "AQ44122301" not in stations


def test_primary_pollutants_are_recomputed_when_the_attrs_do_not_say() -> None:
    old = AirStation("AQ44120201", "端州区1号站", "441202", T0, 158, None, "HJ633-2012", {},
                     {"pm2_5_1h": 120.0, "no2_1h": 20.0})
    assert station_primary(old) == ("pm2_5_24h",)
    assert city_aqi([old]) is not None and city_aqi([old]).aqi == 158  # type: ignore[union-attr]
    assert station_primary(AirStation("x", None, None, T0, 20, None, "HJ633-2012", {}, {"pm2_5_1h": 10.0})) == ()


def test_air_quality_in_english(engine: Engine) -> None:
    ingest(engine, AIR)
    out = render(engine, "air_quality", lang="en")
    rows = [tuple(texts(r)) for r in with_class(out.body, "ev-aq-row")]
    assert rows[0] == ("Huaiji", "350", "Severe", "PM₂.₅")
    assert rows[4] == ("Sihui", "100", "Good", "NO₂, PM₁₀")
    assert texts(with_class(out.body, "ev-badge")[0]) == ["City AQI", "180", "Moderate"]
    assert texts(with_class(out.body, "ev-primary")[0]) == ["Primary", "PM₂.₅"]
    assert "County and city: mean of stations (HJ 663)" in texts(with_class(out.body, "footnote")[0])[0]


# ---- water levels --------------------------------------------------------------------------------------


def test_a_silent_gauge_is_listed_dimmed_and_not_counted_over_warning(engine: Engine) -> None:
    silent = hydro("441225", "81100300", "封开", "西江", 30.0, warning_m=20.0)  # far over, but two hours old
    silent[1]["ts"] = iso(NOW - timedelta(hours=2))
    ingest(engine, [*HYDRO, silent])
    out = render(engine, "water_levels")
    head = with_class(out.body, "ev-wl-head")[0]
    assert texts(head)[:2] == ["2", " / 4 站超警戒"]  # 四会 and 高要: the measure counts reporting gauges
    assert getattr(with_class(head, "value")[0], "data-measure") == "water.over_warning"
    assert [texts(n)[-1] for n in with_class(out.body, "silent")] == ["封开"]


def test_water_levels_against_warning_and_guaranteed_levels(engine: Engine) -> None:
    ingest(engine, HYDRO)
    out = render(engine, "water_levels")
    cells = texts(with_class(out.body, "ev-gauges")[0])
    assert cells[:5] == ["站点", "河流·区县", "水位 m", "警戒/保证", "较警戒"]
    assert [cells[i:i + 5] for i in range(5, len(cells), 5)] == [
        ["四会", "绥江·四会市", "11.20", "9.50/11.00", "超保证 +0.20 m"],
        ["高要", "西江·高要区", "10.15", "10.00/—", "超警戒 +0.15 m"],
        ["德庆", "西江·德庆县", "14.58", "15.00/—", "距警戒 −0.42 m"],
        ["广宁", "绥江·广宁县", "21.30", "—", "无警戒水位"],
    ]
    assert [background(s) for s in with_class(out.body, "ev-state")] == [RED, ORANGE, GREEN, GREY]
    assert texts(with_class(out.body, "ev-wl-head")[0]) == ["2", " / 3 站超警戒", "超保证 1"]
    note = texts(with_class(out.body, "footnote")[0])[0]
    assert "高要站、德庆站警戒水位源自新闻报道，基面未核实" in note and "其余取自水文接口" in note
    assert "standards.hydro" in with_class(out.body, "footnote")[0].title
    assert out.data_time == NOW - timedelta(minutes=5)

    one = render(engine, "water_levels", county="441226")
    assert texts(with_class(one.body, "ev-gauges")[0])[5:] == ["德庆", "西江·德庆县", "14.58", "15.00/—",
                                                              "距警戒 −0.42 m"]
    assert "其余取自水文接口" not in texts(with_class(one.body, "footnote")[0])[0]


def test_water_levels_in_english(engine: Engine) -> None:
    ingest(engine, HYDRO)
    out = render(engine, "water_levels", lang="en")
    cells = texts(with_class(out.body, "ev-gauges")[0])
    assert cells[:5] == ["Station", "River · county", "Level m", "Warn./guar.", "vs warning"]
    assert cells[5:10] == ["四会", "Sui·Sihui", "11.20", "9.50/11.00", "+0.20 m over guar."]
    assert cells[15:20] == ["德庆", "Xi·Deqing", "14.58", "15.00/—", "−0.42 m to warn."]
    assert "Gaoyao station, Deqing station: warning levels from news reports" in texts(
        with_class(out.body, "footnote")[0])[0]


# ---- grid categories -----------------------------------------------------------------------------------


def bars(body: Any) -> dict[str, dict[str, int]]:
    out = {}
    for kind in with_class(body, "ev-kind"):
        head, *rows = [texts(r) for r in kind.children]
        out[head[0]] = {"total": int(head[1]), **{r[0]: int(r[1]) for r in rows}}
    return out


def test_grid_categories_count_open_cases_by_kind_and_class(engine: Engine) -> None:
    ingest(engine, CASES)
    out = render(engine, "grid_categories")
    assert texts(with_class(out.body, "big-number")[0]) == ["7", " 件在办"]
    assert bars(out.body) == {
        "部件": {"total": 2, "公用设施": 2, "道路交通": 0, "市容环境": 0, "园林绿化": 0, "房屋土地": 0, "其他设施": 0},
        "事件": {"total": 5, "市容环境": 4, "宣传广告": 0, "施工管理": 1, "突发事件": 0, "街面秩序": 0},
    }  # the 扩展 classes appear only when used
    assert [texts(c) for c in with_class(out.body, "ev-chip")] == [
        ["暴露垃圾", " 3"], ["井盖破损", " 2"], ["工地扬尘", " 1"], ["道路不洁", " 1"]]
    widths = [f.style["width"] for f in with_class(out.body, "ev-fill")]
    assert widths[0] == "50%" and widths[6] == "100%"  # bars share one scale: 公用设施 2 of the top 4
    assert out.data_time == T0 + timedelta(minutes=10)  # the closing is the newest change of the counts

    one = render(engine, "grid_categories", county="441204")
    assert texts(with_class(one.body, "big-number")[0]) == ["1", " 件在办"]
    assert bars(one.body)["事件"]["施工管理"] == 1 and bars(one.body)["部件"]["total"] == 0

    en = render(engine, "grid_categories", lang="en")
    assert texts(with_class(en.body, "big-number")[0]) == ["7", " open cases"]
    assert bars(en.body)["Components"]["Utilities"] == 2 and bars(en.body)["Events"]["Cityscape"] == 4
    assert texts(with_class(en.body, "ev-subcats")[0])[0] == "Top subcategories"


# ---- no data -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_panel_says_no_data_on_an_empty_store(engine: Engine, lang: str) -> None:
    for name in ("air_quality", "water_levels", "grid_categories"):
        out = render(engine, name, lang=lang)
        assert texts(out.body) == [t("no_data", lang)] and out.data_time is None, name
    with Session(engine) as s:
        assert default_measures().latest(s, ["eco.aqi", "eco.pm2_5", "social.open_grid_cases"], list(NAMES)) == {}


def test_registration_names_the_feeds_whose_freshness_the_panels_show() -> None:
    reg = registry()
    assert {p.name: p.feed for p in reg} == {"air_quality": "air_quality", "water_levels": "hydrology",
                                             "grid_categories": "grid_event"}
    with pytest.raises(ValueError):
        register_case_panels(reg)
