"""The editor's panel form: fields generated from a type's settings schema, the panels read back from the
fields, reordering, and a write-back that touches only the panels block."""

from __future__ import annotations

from typing import Literal

import yaml
from dash import html
from pydantic import Field

from dashboard.pages import topics_form as tf
from dashboard.panels import PanelOutput, PanelRegistry, PanelType, register_builtin_panels
from dashboard.panels.settings import KpiKey, PanelSettings, Region
from topics.loader import BUILTIN_DIR, parse_theme

ECOLOGY = (BUILTIN_DIR / "ecology.yaml").read_text(encoding="utf-8")
THEME = yaml.safe_load(ECOLOGY)


class Sample(PanelSettings):
    """Every kind of field the form draws."""

    kpi: KpiKey = Field(description="指标 · KPI")
    region: Region | None = None
    hours: int = Field(24, ge=1, le=168, description="小时 · hours")
    share: float = 0.5
    steps: list[int] = Field([1, 2], description="步骤")
    statuses: list[Literal["online", "offline"]] = []
    names: list[str] = []
    on: bool = True
    order: Literal["high_first", "low_first"] = "high_first"
    text_zh: str = Field("", max_length=4000)


def registry() -> PanelRegistry:
    reg = PanelRegistry()
    register_builtin_panels(reg)
    reg.register(PanelType("sample", "样例", "Sample", None, lambda inp: PanelOutput(html.Div(), None), Sample))
    return reg


def test_fields_are_generated_from_the_settings_schema() -> None:
    specs = {s.name: s for s in tf.field_specs(Sample, THEME, {"441202": "端州区"})}
    assert list(specs) == ["kpi", "region", "hours", "share", "steps", "statuses", "names", "on", "order", "text_zh"]
    assert specs["kpi"].widget == "choice" and specs["kpi"].required and specs["kpi"].label == "指标 · KPI"
    assert [v for v, _ in specs["kpi"].options] == ["eco.aqi", "eco.pm2_5"]  # the theme's KPIs, once each
    assert specs["region"].options[0][0] == "441200" and ("441202", "端州区 (441202)") in specs["region"].options
    assert (specs["hours"].widget, specs["hours"].minimum, specs["hours"].maximum) == ("integer", 1, 168)
    assert specs["share"].widget == "number" and specs["on"].widget == "bool"
    assert specs["statuses"].widget == "multi" and [v for v, _ in specs["statuses"].options] == ["online", "offline"]
    assert specs["steps"].widget == "text" and specs["steps"].extra == {"list": True}  # unbounded ints: typed
    assert specs["order"].widget == "choice" and specs["text_zh"].widget == "textarea"


def test_panels_are_read_back_from_the_fields_without_defaults_left_empty() -> None:
    ids = [{"i": 0, "f": "type"}, {"i": 0, "f": "column"}, {"i": 0, "f": "title_zh"}, {"i": 0, "f": "id"},
           {"i": 0, "f": "kpi"}, {"i": 0, "f": "hours"}, {"i": 0, "f": "names"}, {"i": 0, "f": "statuses"},
           {"i": 1, "f": "type"}, {"i": 1, "f": "column"}, {"i": 1, "f": "kpi"}]
    values = ["sample", "right", "空气", "", "eco.aqi", 12.0, "a, b", [], "road_weather", "left", "eco.aqi"]
    panels = tf.panels_from_fields(ids, values, registry(), THEME)
    assert panels == [
        {"type": "sample", "column": "right", "title_zh": "空气", "kpi": "eco.aqi", "hours": 12, "names": ["a", "b"]},
        {"type": "road_weather", "column": "left"},  # a type change drops the settings the new type has not
    ]
    text = tf.replace_panels(ECOLOGY, panels)
    theme, errors = parse_theme(text, "ecology.yaml", registry().schemas())
    assert errors == [] and theme is not None and theme.placed()[0].panel.settings["hours"] == 12


def test_moving_and_removing_panels() -> None:
    panels = [{"type": "a"}, {"type": "b"}, {"type": "c"}]
    assert [p["type"] for p in tf.move(panels, 0, 1)] == ["b", "a", "c"]
    assert [p["type"] for p in tf.move(panels, 2, -1)] == ["a", "c", "b"]
    assert [p["type"] for p in tf.move(panels, 2, 1)] == ["a", "b", "c"]  # the last cannot go further down
    assert [p["type"] for p in tf.move(panels, 1, 0)] == ["a", "c"]
    assert tf.move(panels, 7, 0) == panels


def test_the_write_back_keeps_the_rest_of_the_file_and_its_comments() -> None:
    assert tf.replace_panels(ECOLOGY, THEME["panels"]) == ECOLOGY  # unchanged panels: the very same text
    commented = ECOLOGY.replace("kpis:\n", "# the KPIs the plan sets\nkpis:\n", 1)
    out = tf.replace_panels(commented, THEME["panels"][::-1])
    before, after = commented.split("panels:\n", 1)[0], commented.split("# the KPIs", 1)[1]
    assert out.startswith(before) and out.endswith("# the KPIs" + after)
    assert [p["type"] for p in yaml.safe_load(out)["panels"]] == [p["type"] for p in THEME["panels"][::-1]]
    assert yaml.safe_load(out)["panels"] == THEME["panels"][::-1]  # settings and titles come along
    no_panels = "key: x\nname_zh: 甲\n"
    assert tf.replace_panels(no_panels, [{"type": "a", "column": "left"}]) == \
        no_panels + "panels:\n- type: a\n  column: left\n"


def test_the_side_by_side_diff_marks_changed_lines_with_their_numbers() -> None:
    table = tf.side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    rows = [[str(td.children) for td in tr.children] for tr in table.children[1].children if len(tr.children) == 4]
    assert ["2", "b", "2", "B"] in rows and ["", "", "4", "d"] in rows
    classes = {td.className for tr in table.children[1].children for td in (tr.children if isinstance(tr.children, list)
                                                                            else [tr.children])}
    assert "df-t df-del" in classes and "df-t df-ins" in classes
    same = tf.side_by_side("a\n", "a\n")
    assert "no difference" in str(same.children[1].children[0].children.children)


def test_the_rules_form_is_generated_from_the_rule_kinds_and_writes_back_only_rules() -> None:
    from alerts.rules import RuleRegistry, register_builtin_rules

    rules = RuleRegistry()
    register_builtin_rules(rules)
    models = rules.schemas()
    rows = tf.render_rules(models, THEME, {})
    threshold = {s.name: s for s in tf.field_specs(models["threshold"], THEME, {})}
    assert threshold["feed"].widget == "choice" and ("road_weather", "交通气象 (road_weather)") in \
        threshold["feed"].options
    assert threshold["above"].widget == "number" and threshold["severity"].widget == "integer"
    assert len(rows) == len(THEME["rules"]) + 1  # one row per rule, then "add"
    ids = [{"i": 0, "f": "kind"}, {"i": 0, "f": "id"}, {"i": 0, "f": "feed"}, {"i": 0, "f": "metric"},
           {"i": 0, "f": "below"}, {"i": 0, "f": "clear_at"}, {"i": 0, "f": "notify"}]
    values = ["threshold", "low-vis", "road_weather", "visibility_m", 200, 500, "高速交警, 值班领导"]
    got = tf.rules_from_fields(ids, values, models, THEME)
    assert got == [{"id": "low-vis", "kind": "threshold", "feed": "road_weather", "metric": "visibility_m",
                    "below": 200, "clear_at": 500, "notify": ["高速交警", "值班领导"]}]
    text = tf.replace_block(ECOLOGY, "rules", got)
    assert text.split("\nrules:\n")[0] == ECOLOGY.split("\nrules:\n")[0]  # panels, KPIs and comments untouched
    registry_ = registry()
    theme, errors = parse_theme(text, "ecology.yaml", registry_.schemas(), models)
    assert errors == [] and theme is not None and [r.id for r in theme.rules] == ["low-vis"]
    assert yaml.safe_load(tf.replace_block(ECOLOGY, "rules", []))["rules"] == []  # an empty list stays valid YAML
