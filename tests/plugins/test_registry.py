"""The one registry class: names unique, unknown names refused with the known ones, entries of its kind only."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from alerts.rules import RuleRegistry, Threshold, register_builtin_rules
from dashboard.panels import PanelRegistry, register_builtin_panels
from feeds import FeedRegistry, register_builtin_feeds
from layers import DEVICES, LayerRegistry, register_builtin_layers
from plugins import BUILTIN, Registry, UnknownName


@dataclass(frozen=True)
class Tool:
    name: str
    size: int = 1


def tools() -> Registry[Tool]:
    return Registry("tool", lambda t: t.name, lambda o: isinstance(o, Tool))


def test_entries_keep_their_order_and_are_found_by_name() -> None:
    reg = tools()
    hammer = reg.register(Tool("hammer"))
    reg.register(Tool("saw"), origin="toolbox 1.0: saw = toolbox:SAW")
    assert reg.names() == ["hammer", "saw"]
    assert [t.name for t in reg] == ["hammer", "saw"]
    assert reg.items()[0] == ("hammer", hammer)
    assert reg["hammer"] is hammer and reg.get("hammer") is hammer and reg.get("drill") is None
    assert "saw" in reg and "drill" not in reg and len(reg) == 2
    assert reg.origin("hammer") == BUILTIN
    assert reg.origin("saw") == "toolbox 1.0: saw = toolbox:SAW"


def test_a_second_entry_of_a_name_is_refused_naming_who_registered_the_first() -> None:
    reg = tools()
    reg.register(Tool("hammer"))
    with pytest.raises(ValueError, match=r"tool 'hammer' is already registered \(by built-in\); other: saw"):
        reg.register(Tool("hammer", 2), origin="other: saw")
    assert reg["hammer"].size == 1


def test_an_unknown_name_is_refused_with_the_known_names() -> None:
    reg = tools()
    reg.register(Tool("hammer"))
    reg.register(Tool("saw"))
    with pytest.raises(UnknownName) as got:
        reg["drill"]
    assert str(got.value) == "'drill' is not a registered tool (known: hammer, saw)"
    assert isinstance(got.value, KeyError)  # what a mapping's caller already catches
    with pytest.raises(ValueError, match=r"'drill' is not a registered tool \(known: hammer, saw\)"):
        reg.require("drill")
    assert reg.require("saw") == "saw"


def test_only_entries_of_its_kind_and_with_a_name_are_taken() -> None:
    reg = tools()
    with pytest.raises(TypeError, match="'hammer' is not a tool"):
        reg.register("hammer")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a tool needs a name"):
        reg.register(Tool(""))
    assert len(reg) == 0


def test_replace_keeps_the_name_and_the_origin() -> None:
    reg = tools()
    reg.register(Tool("saw"), origin="toolbox")
    reg.replace("saw", replace(reg["saw"], size=3))
    assert reg["saw"].size == 3 and reg.origin("saw") == "toolbox"
    with pytest.raises(ValueError, match="cannot be replaced by one named 'drill'"):
        reg.replace("saw", Tool("drill"))
    with pytest.raises(UnknownName):
        reg.replace("drill", Tool("drill"))


def test_the_four_extension_points_are_that_registry() -> None:
    feeds, layers, panels, rules = FeedRegistry(), LayerRegistry(), PanelRegistry(), RuleRegistry()
    register_builtin_feeds(feeds)
    register_builtin_layers(layers)
    register_builtin_panels(panels)
    register_builtin_rules(rules)
    for reg, what, one in ((feeds, "feed", "road_weather"), (layers, "layer", "devices"),
                           (panels, "panel type", "point_layer"), (rules, "rule kind", "threshold")):
        assert isinstance(reg, Registry) and reg.what == what and one in reg.names()
        assert all(reg.origin(n) == BUILTIN for n in reg.names())
        with pytest.raises(UnknownName, match=f"is not a registered {what} \\(known: "):
            reg["nope"]
    assert rules["threshold"] is Threshold
    assert feeds.devices() == ["video_point", "road_weather", "fire_risk", "air_quality", "hydrology"]
    with pytest.raises(TypeError, match="is not a rule kind"):
        rules.register(int)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be an MQTT topic level"):
        feeds.register(replace(feeds["kpi"], name="a/b"))


def test_a_layer_is_built_by_its_typed_handle_or_by_name() -> None:
    layers = LayerRegistry()
    register_builtin_layers(layers)
    assert layers.build(DEVICES, [], "zh") == layers.build("devices", [], "zh")


def test_set_cadence_replaces_the_feed_and_refuses_unknown_feeds() -> None:
    feeds = FeedRegistry()
    register_builtin_feeds(feeds)
    feeds.set_cadence("fire_risk", 900)
    assert feeds["fire_risk"].cadence_s == 900 and feeds.names()[2] == "fire_risk"
    with pytest.raises(ValueError, match="cannot set the cadence of unknown feed 'smoke'; known: video_point"):
        feeds.set_cadence("smoke", 60)
