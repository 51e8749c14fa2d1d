"""Panel settings in theme files: checked by the panel type's own model with the file's line, instance ids so a
type can appear twice, and a type added by an extension checked like a built-in one."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from dash import html
from pydantic import Field, model_validator

from dashboard.panels import PanelOutput, PanelRegistry, PanelType, register_builtin_panels
from dashboard.panels.settings import KpiKey, PanelSettings
from topics.loader import BUILTIN_DIR, ThemeStore, parse_theme
from topics.themes import KPI_STRIP

ECOLOGY = (BUILTIN_DIR / "ecology.yaml").read_text(encoding="utf-8")


class CounterSettings(PanelSettings):
    """An extension's panel: one KPI, a number of rows."""

    kpi: KpiKey
    rows: int = Field(5, ge=1, le=20)


def registry() -> PanelRegistry:
    reg = PanelRegistry()
    register_builtin_panels(reg)
    reg.register(PanelType("counter", "计数", "Counter", "kpi", lambda inp: PanelOutput(html.Div(), None),
                           CounterSettings))
    return reg


def with_panels(block: str) -> str:
    """The ecology theme with its panels replaced by a block of YAML."""
    head, rest = ECOLOGY.split("panels:\n", 1)
    return head + "panels:\n" + block + "kpis:\n" + rest.split("kpis:\n", 1)[1]


def line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def test_settings_are_checked_by_the_panel_types_model_with_their_line() -> None:
    text = with_panels("- type: counter\n  column: left\n  kpi: eco.aqi\n  rows: 50\n"
                       "- type: counter\n  column: right\n  kpi: eco.noise\n  colour: red\n")
    theme, errors = parse_theme(text, "ecology.yaml", registry().schemas())
    assert theme is None
    assert [str(e) for e in errors] == [
        f"ecology.yaml, line {line_of(text, 'rows: 50')}: panels[0].rows: must be at most 20",
        f"ecology.yaml, line {line_of(text, 'eco.noise')}: panels[1].kpi: 'eco.noise' is not among this theme's "
        "kpis (eco.aqi, eco.pm2_5)",
        f"ecology.yaml, line {line_of(text, 'colour: red')}: panels[1].colour: is not a setting of panel type "
        "counter (docs/panels.md lists its settings)",
    ]


def test_an_unknown_type_and_a_setting_on_a_type_without_settings_are_refused() -> None:
    text = with_panels("- type: air_qualty\n  column: left\n- type: road_weather\n  column: right\n  rows: 3\n")
    _, errors = parse_theme(text, "ecology.yaml", registry().schemas())
    assert errors[0].line == line_of(text, "air_qualty") and "'air_qualty' is not a panel type" in errors[0].message
    assert "air_quality" in errors[0].message  # the known types are listed
    assert (errors[1].line, errors[1].field) == (line_of(text, "rows: 3"), "panels[1].rows")
    # Without the registry's models only the theme's own fields are checked (the packaged themes at import).
    theme, errors = parse_theme(text, "ecology.yaml")
    assert errors == [] and theme is not None


def test_a_type_may_appear_twice_with_instance_ids() -> None:
    text = with_panels("- type: counter\n  column: left\n  kpi: eco.aqi\n"
                       "- type: counter\n  column: left\n  kpi: eco.pm2_5\n  title_zh: PM2.5\n"
                       "- type: counter\n  column: right\n  id: counter-2b\n  kpi: eco.aqi\n")
    theme, errors = parse_theme(text, "ecology.yaml", registry().schemas())
    assert errors == [] and theme is not None
    assert [p.id for p in theme.placed()] == ["counter", "counter-2", "counter-2b"]
    assert theme.placed()[1].panel.settings == {"kpi": "eco.pm2_5"} and theme.placed()[1].panel.title_zh == "PM2.5"


def test_instance_ids_never_clash_with_each_other_or_the_kpi_strip() -> None:
    text = with_panels("- type: counter\n  column: left\n  kpi: eco.aqi\n  id: counter-2\n"
                       "- type: counter\n  column: left\n  kpi: eco.aqi\n"
                       "- type: counter\n  column: left\n  kpi: eco.aqi\n")
    theme, _ = parse_theme(text, "ecology.yaml", registry().schemas())
    assert theme is not None
    ids = [p.id for p in theme.placed()]
    assert ids == ["counter-2", "counter", "counter-3"] and len(set(ids)) == 3
    for bad in ("  id: kpi\n", "  id: same\n"):
        twice = with_panels(f"- type: counter\n  column: left\n  kpi: eco.aqi\n{bad}"
                            f"- type: road_weather\n  column: left\n{bad}")
        _, errors = parse_theme(twice, "ecology.yaml", registry().schemas())
        assert len(errors) == 1 and "is used twice" in errors[0].message
    assert KPI_STRIP == "kpi"


def test_a_region_is_checked_against_the_city_the_app_hands_down() -> None:
    from types import MappingProxyType

    import pytest
    from pydantic import ValidationError

    from alerts.rules import Threshold
    from dashboard.panels.measures import KpiTargetSettings
    from geo import City

    other = City(adcode="440100", name="广州市", name_en="Guangzhou", counties=MappingProxyType({"440103": "荔湾区"}),
                 counties_en=MappingProxyType({"440103": "Liwan"}), centre=(113.26, 23.13))
    got = KpiTargetSettings.model_validate({"kpi": "eco.aqi", "region": "440103"}, context={"city": other})
    assert got.region == "440103"
    with pytest.raises(ValidationError, match=r"not 440100 \(the city, 广州市\)"):
        KpiTargetSettings.model_validate({"kpi": "eco.aqi", "region": "441202"}, context={"city": other})
    # No city given (a theme file checked on its own): the default settings' city.
    assert KpiTargetSettings.model_validate({"kpi": "eco.aqi", "region": "441202"}).region == "441202"
    rule = {"id": "r", "kind": "threshold", "feed": "road_weather", "metric": "visibility_m", "below": 200}
    assert Threshold.model_validate({**rule, "county": "440103"}, context={"city": other}).county == "440103"
    with pytest.raises(ValidationError, match="not a county of the city 广州市"):
        Threshold.model_validate({**rule, "county": "441202"}, context={"city": other})


class CountedSettings(PanelSettings):
    """A panel whose model counts its readings."""

    kpi: KpiKey
    rows: int = Field(5, ge=1, le=20)
    reads: ClassVar[list[str]] = []

    @model_validator(mode="after")
    def _count(self) -> CountedSettings:
        CountedSettings.reads.append(self.kpi)
        return self


def test_settings_are_read_once_at_load_and_handed_down_typed(tmp_path: Path) -> None:
    reg = registry()
    reg.register(PanelType("counted", "计数", "Counted", "kpi", lambda inp: PanelOutput(html.Div(), None),
                           CountedSettings))
    (tmp_path / "ecology.yaml").write_text(with_panels("- type: counted\n  column: left\n  kpi: eco.pm2_5\n"),
                                           encoding="utf-8")
    CountedSettings.reads.clear()
    store = ThemeStore(tmp_path, recheck_s=0, schemas=reg.schemas())
    for _ in range(3):  # the wall asks for the themes on every tick: the unchanged file is not read again
        (theme,) = store.themes()
    assert CountedSettings.reads == ["eco.pm2_5"]
    checked = theme.placed()[0].panel.checked
    assert isinstance(checked, CountedSettings) and checked.kpi == "eco.pm2_5" and checked.rows == 5


def test_a_bad_setting_is_refused_at_load_with_its_line(tmp_path: Path) -> None:
    text = with_panels("- type: counter\n  column: left\n  kpi: eco.aqi\n  rows: 50\n")
    (tmp_path / "ecology.yaml").write_text(text, encoding="utf-8")
    store = ThemeStore(tmp_path, schemas=registry().schemas())
    assert store.themes() == ()
    assert [str(e) for e in store.errors()] == [
        f"ecology.yaml, line {line_of(text, 'rows: 50')}: panels[0].rows: must be at most 20"]


def test_the_wall_and_the_alert_engine_use_the_loaders_settings(tmp_path: Path, monkeypatch) -> None:
    from words import t
    from dashboard.pages.wall import render_panels
    from alerts.engine import bind_rules
    from tests.dashboard.apps import app_with_themes

    ctx = app_with_themes(tmp_path).server.config["ZQ_CONTEXT"]
    themes = ctx.themes()
    models = {p.settings for p in ctx.registries.panels} | set(ctx.registries.rules.schemas().values())

    def read_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("a theme's settings were read again after the file was loaded")

    for model in models:  # from here on, no settings model may read a theme's settings
        monkeypatch.setattr(model, "model_validate", read_again)
    for theme in themes:
        placed = theme.placed()
        assert all(p.panel.checked is not None for p in placed)
        bodies, _, _ = render_panels(ctx, placed, "zh", None, theme.key)
        assert len(bodies) == len(placed)
        assert t("panel_failed", "zh") not in str(bodies), theme.key  # (a panel that raised says it failed)
    bound = bind_rules(themes, ctx.registries.rules, city=ctx.city)
    rules = [r for th in themes for r in th.rules]
    assert len(bound) == len(rules) > 0
    assert all(b.settings is r.checked for b, r in zip(bound, rules, strict=True))
