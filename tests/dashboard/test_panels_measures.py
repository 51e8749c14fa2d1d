"""The configurable measure panels (kpi_target, gauge, trend, county_ranking, choropleth): KPIs, cases and air
quality run through the real decoder into both stores, rendered with settings checked as a theme file's are."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly
import pytest
from dash import dcc
from dash.development.base_component import Component
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard.panels import PanelRegistry, register_builtin_panels
from dashboard.panels.base import PanelInput, PanelOutput
from dashboard.panels.measures import (
    MEASURE_PANELS, ChoroplethSettings, CountyRankingSettings, GaugeSettings, KpiTargetSettings, TrendSettings,
    gauge_range, gauge_share, gauge_state, kpi_name, ranking, register_measure_panels,
)
from geo import load_counties
from layers import LayerRegistry, register_builtin_layers
from tests.feeds.samples import ingest, INSIDE, T0, event, iso
from topics import THEMES, KpiDef, Theme
from topics.loader import BUILTIN_DIR, parse_theme
from tests.components import nodes, texts, with_class
from words import t

NAMES = {"441202": "端州区", "441203": "鼎湖区", "441204": "高要区", "441223": "广宁县", "441224": "怀集县",
         "441225": "封开县", "441226": "德庆县", "441284": "四会市"}
NAMES_EN = {"441202": "Duanzhou", "441203": "Dinghu", "441204": "Gaoyao", "441223": "Guangning",
            "441224": "Huaiji", "441225": "Fengkai", "441226": "Deqing", "441284": "Sihui"}
CITY = "441200"
NOW = T0 + timedelta(minutes=20)
ECO = next(th for th in THEMES if th.key == "ecology")  # eco.aqi, eco.pm2_5: max targets, reported per county
ECON = next(th for th in THEMES if th.key == "economy")  # econ.gdp_ytd: a min target, city only
COUNTIES = load_counties(CITY, "coarse")  # what the wall passes (ctx.counties_wall)
LAYERS = LayerRegistry()
register_builtin_layers(LAYERS)

# HJ 633 Table 2 colours, as DOMAIN.md §2 gives them.
GREEN, YELLOW, ORANGE, RED, PURPLE, MAROON = "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"
GREY = "#3a4556"  # layers.choropleth.NO_DATA


# ---- payloads through the real decoder -----------------------------------------------------------------


def kpi(metric: str, value: float, region: str = CITY, ts: datetime = T0) -> tuple[str, dict[str, Any]]:
    """A KPI value as a business system publishes it."""
    return f"zq/{region}/kpi/{metric}", {"metric": metric, "region": region, "ts": iso(ts), "value": value}


def air(county: str, ts: datetime = T0, **conc: float) -> tuple[str, dict[str, Any]]:
    """An air-quality station's hour, as the poller hands it over."""
    lon, lat = INSIDE[county]
    code = f"AQ{county}01"
    return (f"zq/{county}/air_quality/{code}",
            {"device_id": code, "ts": iso(ts), "lon": lon, "lat": lat, "name": f"{NAMES[county]}1号站", **conc})


def pm(value: float, county: str, ts: datetime = T0) -> tuple[str, dict[str, Any]]:
    """A station's PM2.5 hour: the county's eco.pm2_5 measure (one station: its value)."""
    return air(county, ts, pm2_5_1h=value)


# HJ 633 PM2.5 breakpoints (µg/m³ → IAQI): the concentration whose AQI is a given value, exactly.
_PM_BREAKS = [(0, 0), (35, 50), (75, 100), (115, 150), (150, 200), (250, 300), (350, 400), (500, 500)]


def aqi_at(value: float, county: str, ts: datetime = T0) -> tuple[str, dict[str, Any]]:
    """A station hour whose AQI is `value` (by PM2.5 alone): the county's eco.aqi measure."""
    for (c0, i0), (c1, i1) in zip(_PM_BREAKS, _PM_BREAKS[1:]):
        if i0 <= value <= i1:
            return air(county, ts, pm2_5_1h=c0 + (value - i0) * (c1 - c0) / (i1 - i0))
    raise ValueError(value)


def case(county: str, n: int, step: int = 2) -> tuple[str, dict[str, Any]]:
    body = event(county, n, step=step)
    return f"zq/{county}/grid_event/{body['event_id']}", body


# ---- rendering and reading the component tree ----------------------------------------------------------


def registry() -> PanelRegistry:
    reg = PanelRegistry()
    register_measure_panels(reg)
    return reg


def render(engine: Engine, name: str, settings: dict[str, Any], theme: Theme = ECO, lang: str = "zh",
           county: str | None = None, now: datetime = NOW) -> PanelOutput:
    """A panel as the wall renders it: settings checked against the theme, then the renderer."""
    panel = registry()[name]
    model = panel.settings.model_validate(settings, context={"theme": theme})
    with Session(engine) as s:
        inp = PanelInput(session=s, lang=lang, county=county, health={}, now=now,
                         names=NAMES_EN if lang == "en" else NAMES, theme=theme.key, theme_def=theme,
                         settings=model, counties=COUNTIES, layers=LAYERS)
        return panel.render(inp)


def text(out: PanelOutput) -> str:
    return " ".join(texts(out.body))


def one(c: Any, cls: str) -> Component:
    found = with_class(c, cls)
    assert len(found) == 1, (cls, found)
    return found[0]


def classes(c: Component) -> list[str]:
    return (getattr(c, "className", None) or "").split()


def graph(out: PanelOutput) -> dict[str, Any]:
    g = [n for n in nodes(out.body) if isinstance(n, dcc.Graph)]
    assert len(g) == 1
    assert g[0].config["staticPlot"] is True and g[0].config["displayModeBar"] is False
    return g[0].figure


def is_empty(out: PanelOutput, lang: str = "zh") -> bool:
    return any(texts(e) == [t("no_data", lang)] for e in with_class(out.body, "empty"))


# ---- registration and settings -------------------------------------------------------------------------


def test_the_five_types_register_through_the_public_call_with_their_settings_models() -> None:
    reg = registry()
    assert [p.name for p in reg] == ["kpi_target", "gauge", "trend", "county_ranking", "choropleth"]
    assert [p.settings for p in reg] == [KpiTargetSettings, GaugeSettings, TrendSettings, CountyRankingSettings,
                                         ChoroplethSettings]
    assert all(p.title_zh and p.title_en for p in reg)
    with pytest.raises(ValueError):
        register_measure_panels(reg)
    builtin = PanelRegistry()
    register_builtin_panels(builtin)
    assert all(p.name in builtin for p in MEASURE_PANELS)


@pytest.mark.parametrize("model", [p.settings for p in MEASURE_PANELS])
def test_settings_are_flat_and_described_in_chinese_then_english(model: type[BaseModel]) -> None:
    assert model.__doc__ and len(model.__doc__.strip().splitlines()) == 1
    schema = model.model_json_schema()
    assert schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        branches = prop.get("anyOf", [prop])
        assert all(b.get("type") in ("string", "integer", "number", "boolean", "null") for b in branches), name
        zh, _, en = prop["description"].partition(" / ")
        def cjk(s: str) -> bool:
            return any("\u4e00" <= ch <= "\u9fff" for ch in s)

        assert cjk(zh) and en and not cjk(en), prop["description"]


def test_an_unknown_kpi_is_refused_naming_the_themes_kpis() -> None:
    for model, field in ((KpiTargetSettings, "kpi"), (GaugeSettings, "kpi"), (TrendSettings, "kpi"),
                         (CountyRankingSettings, "measure"), (ChoroplethSettings, "measure")):
        with pytest.raises(ValidationError) as e:
            model.model_validate({field: "eco.noise"}, context={"theme": ECO})
        assert "'eco.noise'" in str(e.value) and "eco.aqi, eco.pm2_5" in str(e.value)
        # The other theme's KPI is not this theme's.
        with pytest.raises(ValidationError):
            model.model_validate({field: "econ.gdp_ytd"}, context={"theme": ECO})
        assert getattr(model.model_validate({field: "eco.pm2_5"}, context={"theme": ECO}), field) == "eco.pm2_5"
    # open_cases and aqi are measures of every theme, not KPIs.
    for measure in ("open_cases", "aqi"):
        got = CountyRankingSettings.model_validate({"measure": measure}, context={"theme": ECON})
        assert got.measure == measure
        with pytest.raises(ValidationError):
            KpiTargetSettings.model_validate({"kpi": measure}, context={"theme": ECON})


def test_an_unknown_setting_a_bad_region_and_out_of_range_numbers_are_refused() -> None:
    ctx = {"theme": ECO}
    with pytest.raises(ValidationError) as e:
        KpiTargetSettings.model_validate({"kpi": "eco.aqi", "colour": "red"}, context=ctx)
    assert e.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError, match="not 441200"):
        KpiTargetSettings.model_validate({"kpi": "eco.aqi", "region": "441299"}, context=ctx)
    for hours in (0, 169, -5):
        with pytest.raises(ValidationError):
            TrendSettings.model_validate({"kpi": "eco.aqi", "hours": hours}, context=ctx)
    ends = [TrendSettings.model_validate({"kpi": "eco.aqi", "hours": h}, context=ctx).hours for h in (1, 168)]
    assert ends == [1, 168]
    for top in (0, 9):
        with pytest.raises(ValidationError):
            CountyRankingSettings.model_validate({"measure": "aqi", "top": top}, context=ctx)
    with pytest.raises(ValidationError):
        CountyRankingSettings.model_validate({"measure": "aqi", "order": "worst"}, context=ctx)
    with pytest.raises(ValidationError, match="must be more than min"):
        GaugeSettings.model_validate({"kpi": "eco.aqi", "min": 50, "max": 50}, context=ctx)
    # Thresholds go the KPI's way: for a max target (higher is worse) the alarm is above the warning …
    with pytest.raises(ValidationError, match="alarm .* must be at least warn"):
        GaugeSettings.model_validate({"kpi": "eco.aqi", "warn": 150, "alarm": 100}, context=ctx)
    # … for a min target below it.
    with pytest.raises(ValidationError, match="alarm .* must be at most warn"):
        GaugeSettings.model_validate({"kpi": "econ.gdp_ytd", "warn": 2500, "alarm": 2800},
                                     context={"theme": ECON})
    assert GaugeSettings.model_validate({"kpi": "econ.gdp_ytd", "warn": 2800, "alarm": 2500},
                                        context={"theme": ECON}).alarm == 2500


ECOLOGY = (BUILTIN_DIR / "ecology.yaml").read_text(encoding="utf-8")


def with_panels(block: str) -> str:
    """The ecology theme file with its panels replaced by a block of YAML."""
    head, rest = ECOLOGY.split("panels:\n", 1)
    return head + "panels:\n" + block + "kpis:\n" + rest.split("kpis:\n", 1)[1]


def line_of(text_: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text_.splitlines()) if needle in line)


PANELS_YAML = """\
- type: kpi_target
  column: left
  kpi: eco.pm2_5
- type: gauge
  column: left
  kpi: eco.aqi
  region: '441224'
  warn: 100
  alarm: 150
- type: trend
  column: left
  kpi: eco.pm2_5
  hours: 48
  show_target: false
- type: county_ranking
  column: right
  measure: eco.pm2_5
  order: worst_first
  top: 5
- type: choropleth
  column: right
  measure: aqi
"""


def test_a_theme_file_with_these_panels_loads_and_its_mistakes_are_named_with_their_lines() -> None:
    reg = PanelRegistry()
    register_builtin_panels(reg)
    theme, errors = parse_theme(with_panels(PANELS_YAML), "ecology.yaml", reg.schemas())
    assert errors == [] and theme is not None
    assert [p.type for p in theme.panels] == ["kpi_target", "gauge", "trend", "county_ranking", "choropleth"]
    assert theme.panels[2].settings == {"kpi": "eco.pm2_5", "hours": 48, "show_target": False}

    bad = with_panels(PANELS_YAML.replace("hours: 48", "hours: 500").replace("kpi: eco.aqi", "kpi: eco.no2")
                      .replace("top: 5", "top: 5\n  colour: red").replace("warn: 100", "warn: lots"))
    theme, errors = parse_theme(bad, "ecology.yaml", reg.schemas())
    assert theme is None
    got = {(e.line, e.field): e.message for e in errors}
    assert got[(line_of(bad, "kpi: eco.no2"), "panels[1].kpi")] == (
        "'eco.no2' is not among this theme's kpis (eco.aqi, eco.pm2_5)")
    assert got[(line_of(bad, "warn: lots"), "panels[1].warn")] == "must be a number"
    assert got[(line_of(bad, "hours: 500"), "panels[2].hours")] == "must be at most 168"
    assert got[(line_of(bad, "colour: red"), "panels[3].colour")].startswith(
        "is not a setting of panel type county_ranking")
    assert len(errors) == 4


# ---- kpi_target ----------------------------------------------------------------------------------------


def test_kpi_target_max_target_met_then_behind_with_the_headroom_used(engine: Engine) -> None:
    ingest(engine, [pm(24.9, "441202")])
    out = render(engine, "kpi_target", {"kpi": "eco.pm2_5"})
    assert out.feed == "air_quality" and out.data_time == T0  # derived from the stations (measures/air.py)
    assert one(out.body, "ms-value").children == "24.9" and one(out.body, "ms-unit").children == "µg/m³"
    assert one(out.body, "ms-target").children == "目标 ≤35µg/m³"
    tag = one(out.body, "ms-tag")
    assert tag.children == "达标" and "ms-met" in classes(tag)
    assert one(out.body, "ms-fill").style["width"] == "71.1%"  # 24.9 of the 35 allowed
    assert one(out.body, "ms-pct").children == "已用 71%"
    assert "端州区PM2.5" in text(out) and "端州区" in one(out.body, "ms-scope").children
    assert "市生态环境局" in text(out)

    ingest(engine, [pm(42.0, "441202", T0 + timedelta(minutes=10))])
    out = render(engine, "kpi_target", {"kpi": "eco.pm2_5"}, lang="en")
    tag = one(out.body, "ms-tag")
    assert tag.children == "Behind" and "ms-behind" in classes(tag)
    assert one(out.body, "ms-fill").style["width"] == "100.0%"  # capped; the text says how far over
    assert one(out.body, "ms-pct").children == "Used 120%"
    assert one(out.body, "ms-target").children == "Target ≤35 µg/m³" and "Duanzhou PM2.5" in text(out)


def test_kpi_target_min_target_behind_then_met(engine: Engine) -> None:
    ingest(engine, [kpi("econ.gdp_ytd", 2400.0)])
    out = render(engine, "kpi_target", {"kpi": "econ.gdp_ytd"}, theme=ECON)
    assert one(out.body, "ms-value").children == "2,400" and one(out.body, "ms-unit").children == "亿元"
    assert one(out.body, "ms-target").children == "目标 ≥3,000亿元"
    tag = one(out.body, "ms-tag")
    assert tag.children == "未达标" and "ms-behind" in classes(tag)
    assert one(out.body, "ms-fill").style["width"] == "80.0%" and one(out.body, "ms-pct").children == "完成 80%"
    assert "市发改局" in text(out) and "总体要求: GDP超3000亿元" in text(out)
    out = render(engine, "kpi_target", {"kpi": "econ.gdp_ytd"}, theme=ECON, lang="en")
    assert one(out.body, "ms-value").children == "240.0" and one(out.body, "ms-unit").children == "bn CNY"
    assert "Dev. & Reform Bureau" in text(out)

    ingest(engine, [kpi("econ.gdp_ytd", 3010.5, ts=T0 + timedelta(minutes=5))])
    out = render(engine, "kpi_target", {"kpi": "econ.gdp_ytd"}, theme=ECON)
    tag = one(out.body, "ms-tag")
    assert tag.children == "达标" and "ms-met" in classes(tag)
    assert one(out.body, "ms-fill").style["width"] == "100.0%"


def test_kpi_target_region_setting_county_filter_and_no_data(engine: Engine) -> None:
    ingest(engine, [aqi_at(60, "441202"), aqi_at(130, "441224"), kpi("econ.gdp_ytd", 2400.0)])
    # The definition for the region asked for gives the name.
    out = render(engine, "kpi_target", {"kpi": "eco.aqi", "region": "441224"})
    assert one(out.body, "ms-value").children == "130" and "怀集县AQI" in text(out)
    assert one(out.body, "ms-tag").children == "未达标"
    # The wall's county replaces the region of a KPI reported per county (the name follows) …
    out = render(engine, "kpi_target", {"kpi": "eco.aqi"}, county="441224")
    assert one(out.body, "ms-value").children == "130" and "怀集县AQI" in text(out)
    out = render(engine, "kpi_target", {"kpi": "eco.aqi"}, county="441203")
    assert is_empty(out) and "鼎湖区AQI" in text(out)  # no value reported for 鼎湖区
    # … but not of a city-only KPI.
    out = render(engine, "kpi_target", {"kpi": "econ.gdp_ytd"}, theme=ECON, county="441224")
    assert one(out.body, "ms-value").children == "2,400" and one(out.body, "ms-scope").children == "全市"
    # No station in the county shown: the standard no-data line, dated nothing.
    out = render(engine, "kpi_target", {"kpi": "eco.pm2_5"}, county="441203")
    assert is_empty(out) and out.data_time is None and out.feed == "air_quality"


def test_kpi_names_follow_the_region_shown() -> None:
    duanzhou = next(k for k in ECO.kpis if k.key == "eco.aqi" and k.region == "441202")
    assert kpi_name(duanzhou, "441202", NAMES, "zh") == "端州区AQI"
    assert kpi_name(duanzhou, "441284", NAMES, "zh") == "四会市AQI"
    assert kpi_name(duanzhou, "441284", NAMES_EN, "en") == "Sihui AQI"
    assert kpi_name(duanzhou, CITY, NAMES, "zh") == "AQI"
    gdp = ECON.kpis[0]
    assert kpi_name(gdp, "441204", NAMES, "zh") == gdp.name_zh


# ---- gauge ---------------------------------------------------------------------------------------------


def _def(**kw: Any) -> KpiDef:
    return KpiDef(**{"key": "x.y", "name_zh": "指标", "name_en": "KPI", "department": "市政数局", **kw})


def test_gauge_state_at_the_thresholds_in_both_directions() -> None:
    worse_high = _def(target=100, target_kind="max")
    assert [gauge_state(v, worse_high, 100, 150) for v in (99.9, 100, 149.9, 150, 400)] == [
        "ok", "warn", "warn", "alarm", "alarm"]
    worse_low = _def(target=3000, target_kind="min")
    assert [gauge_state(v, worse_low, 2800, 2500) for v in (2800.1, 2800, 2500.1, 2500, 0)] == [
        "ok", "warn", "warn", "alarm", "alarm"]
    assert gauge_state(120, worse_high, None, 150) == "ok"
    assert gauge_state(150, worse_high, None, 150) == "alarm"
    # Without thresholds the target decides, without a target nothing does.
    assert gauge_state(90, worse_high, None, None) == "ok"
    assert gauge_state(101, worse_high, None, None) == "warn"
    assert gauge_state(5, _def(), None, None) == "plain"


def test_gauge_scale_defaults_and_share() -> None:
    def scale(settings: dict[str, Any], kpi: KpiDef, value: float | None = None) -> tuple[float, float]:
        return gauge_range(GaugeSettings.model_validate({"kpi": "x.y", **settings}), kpi, value)

    assert scale({}, _def(target=100, target_kind="max")) == (0, 125)
    assert scale({}, _def(target=85, unit="%")) == (0, 100)  # a share: 0–100 %, not 0–106 %
    assert scale({"min": 20, "max": 60}, _def(target=35)) == (20, 60)
    # No usable target (wage warnings: at most 0): a round number above the thresholds and the value.
    assert scale({"warn": 5, "alarm": 10}, _def(target=0, target_kind="max"), 3) == (0, 20)
    assert scale({}, _def(), 7) == (0, 10)
    assert gauge_share(120, 0, 125) == 0.96 and gauge_share(-5, 0, 125) == 0 and gauge_share(400, 0, 125) == 1


def test_gauge_renders_the_arc_to_the_value_in_the_threshold_colour(engine: Engine) -> None:
    settings = {"kpi": "eco.aqi", "warn": 100, "alarm": 150}
    ingest(engine, [aqi_at(120, "441202")])
    out = render(engine, "gauge", settings)
    dial = one(out.body, "ms-dial")
    assert "ms-warn" in classes(dial) and getattr(dial, "data-share") == "0.9600"  # 120 on 0–125
    arc = one(out.body, "ms-arc").style["background"]
    assert arc.startswith("conic-gradient(from 270deg, var(--warn) 0deg 172.8deg")
    readout = one(out.body, "ms-readout")
    assert texts(readout) == ["120", ""] and "ms-warn" in classes(one(readout, "ms-value"))
    assert [one(out.body, f"ms-scale-{end}").children for end in ("min", "max")] == ["0", "125"]
    # Ticks at both ends, the target (labelled) and the thresholds on the scale (the alarm, 150, is off it).
    assert {c for tk in with_class(out.body, "ms-tick") for c in classes(tk)} == {
        "ms-tick", "ms-tick-min", "ms-tick-max", "ms-tick-target", "ms-tick-warn"}
    wide = render(engine, "gauge", {**settings, "max": 200})
    assert len(with_class(wide.body, "ms-tick-alarm")) == 1
    assert getattr(one(wide.body, "ms-dial"), "data-share") == "0.6000"
    assert one(out.body, "ms-tick-target").style["transform"] == "rotate(54.0deg)"  # 100 of 125: 144° round
    assert one(out.body, "ms-tick-label-target").children == "100"
    assert "预警 ≥100" in text(out) and "报警 ≥150" in text(out) and out.feed == "air_quality"

    ingest(engine, [aqi_at(150, "441202", T0 + timedelta(minutes=5))])
    out = render(engine, "gauge", settings)
    assert "ms-alarm" in classes(one(out.body, "ms-dial")) and "var(--alert)" in one(out.body, "ms-arc").style[
        "background"]
    ingest(engine, [aqi_at(40, "441202", T0 + timedelta(minutes=10))])
    out = render(engine, "gauge", settings)
    dial = one(out.body, "ms-dial")
    assert "ms-ok" in classes(dial) and getattr(dial, "data-share") == "0.3200"


def test_gauge_min_target_lower_is_worse(engine: Engine) -> None:
    settings = {"kpi": "econ.gdp_ytd", "warn": 2800, "alarm": 2500}
    ingest(engine, [kpi("econ.gdp_ytd", 2400.0)])
    out = render(engine, "gauge", settings, theme=ECON)
    dial = one(out.body, "ms-dial")
    assert "ms-alarm" in classes(dial) and getattr(dial, "data-share") == "0.6400"  # 2400 on 0–3750
    assert "预警 ≤2,800" in text(out) and "报警 ≤2,500" in text(out)
    out = render(engine, "gauge", settings, theme=ECON, lang="en")
    assert [one(out.body, f"ms-scale-{end}").children for end in ("min", "max")] == ["0", "375"]
    assert one(out.body, "ms-tick-label-target").children == "300"
    ingest(engine, [kpi("econ.gdp_ytd", 2800.0, ts=T0 + timedelta(minutes=5))])
    assert "ms-warn" in classes(one(render(engine, "gauge", settings, theme=ECON).body, "ms-dial"))
    ingest(engine, [kpi("econ.gdp_ytd", 2950.0, ts=T0 + timedelta(minutes=10))])
    assert "ms-ok" in classes(one(render(engine, "gauge", settings, theme=ECON).body, "ms-dial"))
    assert is_empty(render(engine, "gauge", {"kpi": "eco.aqi"}))


# ---- trend ---------------------------------------------------------------------------------------------


def test_trend_takes_the_newest_reading_of_each_hour_and_the_change_over_the_window(engine: Engine) -> None:
    ingest(engine, [
        pm(99.0, "441202", NOW - timedelta(hours=7)),  # before the window
        pm(10.0, "441202", NOW - timedelta(hours=5, minutes=30)),
        pm(12.0, "441202", NOW - timedelta(hours=5, minutes=10)),  # same hour, newer: this one
        pm(15.0, "441202", NOW - timedelta(hours=3, minutes=20)),
        pm(18.0, "441202", NOW - timedelta(minutes=20)),
        pm(50.0, "441204", NOW - timedelta(minutes=20)),  # another county
    ])
    out = render(engine, "trend", {"kpi": "eco.pm2_5", "hours": 6})
    fig = graph(out)
    line, target = fig["data"]
    assert line["y"] == [12.0, None, 15.0, None, None, 18.0]  # a silent hour stays a gap
    assert line["x"][0] == (NOW - timedelta(hours=5, minutes=10)).isoformat()
    assert target["y"] == [35, 35] and target["line"]["dash"] == "dash"
    assert fig["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
    assert one(out.body, "ms-value").children == "18"
    change = one(out.body, "ms-change")
    assert change.children == "▲ +6" and "ms-worse" in classes(change)  # PM2.5 rising is worse
    assert out.data_time == NOW - timedelta(minutes=20) and out.feed == "air_quality"
    assert "6小时" in text(out) and "6小时前" in text(out)

    out = render(engine, "trend", {"kpi": "eco.pm2_5", "hours": 2, "show_target": False})
    assert len(graph(out)["data"]) == 1 and graph(out)["data"][0]["y"] == [None, 18.0]
    assert one(out.body, "ms-change").children == "—"  # one sample: no change to show
    out = render(engine, "trend", {"kpi": "eco.pm2_5", "hours": 6}, county="441204")
    assert graph(out)["data"][0]["y"] == [None, None, None, None, None, 50.0]


def test_trend_of_a_min_target_rising_is_better_and_no_data_says_so(engine: Engine) -> None:
    ingest(engine, [kpi("econ.gdp_ytd", 2400.0, ts=NOW - timedelta(hours=20)),
                    kpi("econ.gdp_ytd", 2412.5, ts=NOW - timedelta(minutes=5))])
    out = render(engine, "trend", {"kpi": "econ.gdp_ytd"}, theme=ECON)
    change = one(out.body, "ms-change")
    assert change.children == "▲ +12.5" and "ms-better" in classes(change)
    assert len(graph(out)["data"][0]["y"]) == 24
    # In English 亿元 read as bn CNY: the chart is in the unit the text shows.
    out = render(engine, "trend", {"kpi": "econ.gdp_ytd", "hours": 21}, theme=ECON, lang="en")
    line, target = graph(out)["data"]
    assert line["y"][0] == 240.0 and line["y"][-1] == 241.25 and target["y"] == [300.0, 300.0]
    assert one(out.body, "ms-unit").children == "bn CNY" and one(out.body, "ms-change").children == "▲ +1.2"
    assert is_empty(render(engine, "trend", {"kpi": "eco.aqi"}))
    # Without a target there is no dashed line and a change is neither better nor worse.
    ingest(engine, [kpi("econ.projects.signed", 30, ts=NOW - timedelta(hours=3)),
                    kpi("econ.projects.signed", 28, ts=NOW - timedelta(minutes=1))])
    out = render(engine, "trend", {"kpi": "econ.projects.signed", "hours": 4}, theme=ECON)
    assert len(graph(out)["data"]) == 1
    change = one(out.body, "ms-change")
    assert change.children == "▼ \u22122" and "ms-plain" in classes(change)


# ---- county_ranking ------------------------------------------------------------------------------------


def ranked(out: PanelOutput) -> list[tuple[str, str, str]]:
    """(rank, county name, value) of each row."""
    return [(one(r, "ms-rank-n").children, one(r, "ms-rank-name").children, one(r, "ms-rank-value").children)
            for r in with_class(out.body, "ms-rank")]


PM25 = {"441202": 24.9, "441203": 30.0, "441204": 41.0, "441223": 18.0, "441224": 12.5, "441225": 35.0,
        "441226": 20.0}  # 四会市 not reported


def test_ranking_worst_first_follows_the_kpis_target_kind(engine: Engine) -> None:
    gdp = {"441202": 900.0, "441204": 500.0, "441284": 650.0}
    ingest(engine, [pm(v, c) for c, v in PM25.items()]
           + [kpi("econ.gdp_ytd", v, c) for c, v in gdp.items()])
    out = render(engine, "county_ranking", {"measure": "eco.pm2_5"})  # a max target: highest is worst
    assert ranked(out)[:3] == [("1", "高要区", "41"), ("2", "封开县", "35"), ("3", "鼎湖区", "30")]
    assert ranked(out)[-1] == ("—", "四会市", "—")  # no value: last, unranked
    assert "PM2.5" in one(out.body, "ms-name").children and "端州区" not in one(out.body, "ms-name").children
    fills = {getattr(r, "data-county"): one(r, "ms-rank-fill").style for r in with_class(out.body, "ms-rank")}
    assert fills["441204"]["width"] == "100.0%" and fills["441204"]["background"] == "var(--warn)"  # over 35
    assert fills["441224"]["background"] == "var(--ok)"
    assert out.feed == "air_quality" and out.data_time == T0

    out = render(engine, "county_ranking", {"measure": "econ.gdp_ytd"}, theme=ECON)  # a min target: lowest
    assert [r[1] for r in ranked(out)[:3]] == ["高要区", "四会市", "端州区"]
    out = render(engine, "county_ranking", {"measure": "econ.gdp_ytd", "order": "best_first"}, theme=ECON)
    assert [r[1] for r in ranked(out)[:3]] == ["端州区", "四会市", "高要区"]
    out = render(engine, "county_ranking", {"measure": "eco.pm2_5", "order": "low_first", "top": 3})
    assert ranked(out) == [("1", "怀集县", "12.5"), ("2", "广宁县", "18"), ("3", "德庆县", "20")]


def test_ranking_highlights_the_walls_county_and_cuts_at_top(engine: Engine) -> None:
    ingest(engine, [pm(v, c) for c, v in PM25.items()])
    out = render(engine, "county_ranking", {"measure": "eco.pm2_5", "top": 5}, county="441202")
    rows = with_class(out.body, "ms-rank")
    assert len(rows) == 5 and one(out.body, "ms-ranks").style == {"--rows": "5"}
    current = with_class(out.body, "ms-current")
    assert [getattr(r, "data-county") for r in current] == ["441202"]
    assert one(current[0], "ms-rank-n").children == "4"  # after 高要区 41, 封开县 35, 鼎湖区 30
    # The county filter does not narrow the ranking: it is a comparison of all counties.
    out = render(engine, "county_ranking", {"measure": "eco.pm2_5", "top": 3}, county="441202")
    assert [r[1] for r in ranked(out)] == ["高要区", "封开县", "鼎湖区"]
    assert with_class(out.body, "ms-current") == [] and len(with_class(out.body, "ms-rank")) == 3


def test_ranking_of_open_cases_and_of_aqi_in_the_band_colours(engine: Engine) -> None:
    ingest(engine, [case("441202", 1), case("441202", 2), case("441202", 3), case("441204", 1),
                    case("441204", 2), case("441224", 1), case("441224", 2, step=6),  # closed: not open
                    air("441202", pm2_5_1h=120.0),  # AQI 158: 中度污染 (red)
                    air("441224", pm2_5_1h=300.0),  # 350: 严重污染 (maroon)
                    air("441203", pm2_5_1h=20.0),  # 29: 优 (green)
                    air("441284", pm2_5_1h=60.0)])  # 82: 良 (yellow)
    out = render(engine, "county_ranking", {"measure": "open_cases", "top": 4})
    assert ranked(out) == [("1", "端州区", "3"), ("2", "高要区", "2"), ("3", "怀集县", "1"), ("4", "鼎湖区", "0")]
    assert out.feed == "grid_event" and out.data_time is not None

    out = render(engine, "county_ranking", {"measure": "aqi"})
    assert ranked(out)[:4] == [("1", "怀集县", "350"), ("2", "端州区", "158"), ("3", "四会市", "82"),
                               ("4", "鼎湖区", "29")]
    colours = [one(r, "ms-rank-fill").style.get("background") for r in with_class(out.body, "ms-rank")[:4]]
    assert colours == [MAROON, RED, YELLOW, GREEN]
    assert out.feed == "air_quality" and out.data_time == T0
    out = render(engine, "county_ranking", {"measure": "aqi", "order": "best_first", "top": 2}, lang="en")
    assert ranked(out) == [("1", "Dinghu", "29"), ("2", "Sihui", "82")]


def test_ranking_order_is_pure() -> None:
    values = {"a": 3.0, "b": 1.0, "c": 3.0}
    assert ranking(values, "worst_first", True, ["a", "b", "c", "d"]) == [("a", 3.0), ("c", 3.0), ("b", 1.0),
                                                                          ("d", None)]
    assert ranking(values, "worst_first", False, ["a", "b", "c"])[0] == ("b", 1.0)
    assert ranking(values, "best_first", True, ["a", "b", "c"])[0] == ("b", 1.0)
    assert ranking(values, "high_first", False, ["a", "b", "c"])[0] == ("a", 3.0)
    assert ranking(values, "low_first", True, ["a", "b", "c"])[0] == ("b", 1.0)


def test_ranking_with_nothing_reported_says_no_data(engine: Engine) -> None:
    out = render(engine, "county_ranking", {"measure": "aqi"})
    assert is_empty(out) and out.feed == "air_quality"


# ---- choropleth ----------------------------------------------------------------------------------------


def fills(fig: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tr["meta"]["adcode"]: tr for tr in fig["data"] if tr["meta"]["layer"] == "county_choropleth"}


def test_choropleth_colours_aqi_in_the_hj633_bands_and_outlines_the_walls_county(engine: Engine) -> None:
    ingest(engine, [air("441202", pm2_5_1h=120.0), air("441224", pm2_5_1h=300.0), air("441203", pm2_5_1h=20.0),
                    air("441284", pm2_5_1h=60.0), air("441225", pm2_5_1h=200.0), air("441204", o3_1h=250.0,
                                                                                      o3_8h=180.0)])
    out = render(engine, "choropleth", {"measure": "aqi"}, county="441224")
    fig = graph(out)
    by_county = fills(fig)
    assert sorted(by_county) == sorted(NAMES)  # one trace per county (and one of labels)
    assert len(fig["data"]) == len(NAMES) + 1
    assert {a: tr["fillcolor"] for a, tr in by_county.items()} == {
        "441202": RED, "441224": MAROON, "441203": GREEN, "441284": YELLOW, "441225": PURPLE, "441204": ORANGE,
        "441223": GREY, "441226": GREY}
    assert by_county["441224"]["line"] == {"color": "#ffffff", "width": 3}
    assert by_county["441202"]["line"]["width"] < 3
    labels = next(tr for tr in fig["data"] if tr["meta"]["layer"] == "county-labels")
    assert "<b>350</b>" in labels["text"]
    swatches = [i.style["background"] for i in nodes(one(out.body, "ms-legend")) if i.__class__.__name__ == "I"]
    assert swatches[:6] == [GREEN, YELLOW, ORANGE, RED, PURPLE, MAROON] and swatches[6] == GREY
    assert out.feed == "air_quality" and out.data_time == T0
    # Small: simplified polygons, no per-point data.
    assert len(json.dumps(fig, cls=plotly.utils.PlotlyJSONEncoder)) < 25_000
    assert "customdata" not in by_county["441202"]


def test_choropleth_of_open_cases_and_of_a_kpi_in_classes(engine: Engine) -> None:
    ingest(engine, [case("441202", 1), case("441202", 2), case("441204", 1),
                    pm(40.0, "441202"), pm(8.0, "441224")])
    out = render(engine, "choropleth", {"measure": "open_cases"})
    by_county = fills(graph(out))
    assert len(by_county) == 8 and out.feed == "grid_event"
    assert by_county["441202"]["fillcolor"] != by_county["441203"]["fillcolor"]  # 2 cases vs none
    assert by_county["441203"]["fillcolor"] == by_county["441226"]["fillcolor"] != GREY  # 0 is a count
    out = render(engine, "choropleth", {"measure": "eco.pm2_5"})
    by_county = fills(graph(out))
    assert by_county["441203"]["fillcolor"] == GREY  # not reported: no data, not 0
    assert by_county["441202"]["fillcolor"] != by_county["441224"]["fillcolor"] != GREY
    assert out.feed == "air_quality" and "PM2.5" in one(out.body, "ms-name").children
    assert "无数据" in text(out)


def test_the_trend_window_ends_at_the_next_whole_minute() -> None:
    from dashboard.panels.measures import window_end

    assert window_end(datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)) == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert window_end(datetime(2026, 11, 30, 10, 0, 31, 5, tzinfo=UTC)) == datetime(2026, 11, 30, 10, 1, tzinfo=UTC)
