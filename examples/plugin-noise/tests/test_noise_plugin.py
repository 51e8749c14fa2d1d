"""The noise plugin as the dashboard finds it installed: its entries registered beside the built-ins, its theme
checked by the app's theme store, its payloads decoded, its rule judging readings; the core never names it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import yaml

import plugins
from alerts.rules import Reading
from dashboard.factory import build_registries, theme_store
from feeds.decode import Accepted, Rejected
from feeds.schemas import dumps, feed_schema
from settings import Settings
from tests.feeds.samples import INSIDE, T0, make_decoder
from topics.loader import parse_theme
from zq_noise.feed import FEED
from zq_noise.panel import PANEL
from zq_noise.rule import RULE, NoiseThreshold

PLUGIN = "zq-plugin-noise"
HERE = Path(__file__).resolve().parents[1]
ROOT = HERE.parents[1]
THEME = (HERE / "themes" / "noise.yaml").read_text(encoding="utf-8")


@pytest.fixture
def selected() -> Iterator[Settings]:
    """Settings loading this plugin (the suite loads none); none again after."""
    yield Settings(plugins=PLUGIN)
    plugins.select(plugins.NONE)


def reading(laeq: float, minutes: int = 0, device: str = "noise-0001") -> Reading:
    return Reading(device, "noise", T0 + timedelta(minutes=minutes), {"laeq_db": laeq}, "441202", "端州噪声1号站")


def test_the_installed_plugin_registers_its_feed_panel_type_and_rule_kind(selected: Settings) -> None:
    reg = build_registries(selected)
    assert reg.problems == []
    assert reg.feeds["noise"] is FEED and reg.panels["noise_level"] is PANEL and reg.rules["noise_threshold"] is RULE
    assert reg.feeds.origin("noise") == f"{PLUGIN}: noise = zq_noise.feed:FEED"
    assert "noise" in reg.feeds.devices()  # a device kind like the built-in stations: the point map can draw it


def test_not_selected_it_is_not_there() -> None:
    reg = build_registries(Settings(plugins="none"))
    assert "noise" not in reg.feeds and "noise_level" not in reg.panels and "noise_threshold" not in reg.rules


def test_the_example_theme_is_checked_by_the_app_against_the_plugins_entries(selected: Settings,
                                                                             tmp_path: Path) -> None:
    (tmp_path / "noise.yaml").write_text(THEME, encoding="utf-8")
    store = theme_store(selected.model_copy(update={"topics_dir": str(tmp_path)}), build_registries(selected))
    assert store.errors() == []
    (theme,) = store.themes()
    assert [p.type for p in theme.panels] == ["noise_level", "point_layer", "alarm_list"]
    assert [r.kind for r in theme.rules] == ["noise_threshold", "threshold"]


def test_a_mistake_in_the_theme_is_named_with_the_plugins_names_among_the_known_ones(selected: Settings) -> None:
    reg = build_registries(selected)
    text = THEME.replace("kinds: [noise]", "kinds: [noice]").replace("feed: noise", "feed: noize")
    text = text.replace("limit_db: 70\n  clear_at_db: 65", "limit_db: 70\n  clear_at_db: 75")
    _, errors = parse_theme(text, "noise.yaml", reg.panels.schemas(), reg.rules.schemas(), {"feeds": reg.feeds})
    messages = [str(e) for e in errors]
    assert any("'noice' is not a device kind of this wall (air_quality, fire_risk, hydrology, noise, road_weather, "
               "video_point)" in m for m in messages), messages
    assert any("'noize' is not a feed of this wall (" in m and "noise" in m for m in messages), messages
    assert any("clear_at_db must be at most limit_db" in m for m in messages), messages


def test_the_editor_offers_the_plugins_panel_type_rule_kind_feed_and_device_kind(selected: Settings) -> None:
    from dashboard.pages import topics_form as tf

    reg = build_registries(selected)
    kinds = next(f for f in tf.field_specs(reg.panels["point_layer"].settings, {}, {}, None, reg.feeds)
                 if f.name == "kinds")
    assert kinds.widget == "multi" and ("noise", "噪声监测 (noise)") in kinds.options
    feed = next(f for f in tf.field_specs(reg.rules["threshold"], {}, {}, None, reg.feeds) if f.name == "feed")
    assert ("noise", "噪声监测 (noise)") in feed.options
    limit = next(f for f in tf.field_specs(reg.panels["noise_level"].settings, {}, {}) if f.name == "limit_db")
    assert limit.widget == "number" and limit.default == 70.0
    data = yaml.safe_load(THEME)
    assert "noise_level" in str(tf.render_form(reg.panels, data, {}, "zh", None, reg.feeds))
    assert "noise_threshold" in str(tf.render_rules(reg.rules.schemas(), data, {}, None, reg.feeds))


def test_a_noise_message_is_decoded_and_a_wrong_one_refused_naming_the_field(selected: Settings) -> None:
    decoder = make_decoder(registry=build_registries(selected).feeds)
    lon, lat = INSIDE["441202"]
    body = {"device_id": "noise-0001", "ts": T0.isoformat(), "lon": lon, "lat": lat, "laeq_db": 72.4,
            "lmax_db": 88.0, "zone": "4a", "name": "端州噪声1号站"}
    where = "zq/441202/noise/noise-0001"
    got = decoder.decode(where, orjson.dumps(body), T0)
    assert isinstance(got, Accepted) and got.payload.laeq_db == 72.4 and got.context.county_adcode == "441202"
    bad = decoder.decode(where, orjson.dumps({**body, "laeq_db": 190}), T0)
    assert isinstance(bad, Rejected) and "laeq_db" in bad.reason


def test_the_published_schema_is_the_payload_model_s() -> None:
    shipped = (HERE / "schemas" / "noise.schema.json").read_text(encoding="utf-8")
    assert shipped == dumps(feed_schema(FEED)), "re-export: python -m feeds schemas --plugin zq-plugin-noise --out examples/plugin-noise/schemas"
    assert json.loads(shipped)["x-mqtt-topic"] == "{prefix}/{county_adcode}/noise/{device_id}"


def test_the_rule_raises_at_the_limit_and_clears_only_below_its_clearing_line() -> None:
    rule = NoiseThreshold.model_validate({"id": "road-noise", "kind": "noise_threshold", "limit_db": 70,
                                          "clear_at_db": 65})
    assert rule.reads() == ("noise",)
    assert not rule.check(reading(69.9), {}, active=False).active
    raised = rule.check(reading(70.0), {}, active=False)
    assert raised.active and raised.severity == 3 and raised.zh == "端州噪声1号站 噪声 70.0 dB(A)，限值 70"
    assert rule.check(reading(66.0), {}, active=True).active  # in the band: still standing
    assert not rule.check(reading(64.9), {}, active=True).active
    assert rule.check(Reading("x", "noise", T0, {"lmax_db": 99.0}), {}, active=False) is None


def test_no_core_file_names_the_plugin() -> None:
    """The plugin is added without a line of the core changed for it: only its own folder and its guide name it
    (its package, its entries, or its feed as a name in code or a theme file)."""
    names = r"zq_noise|zq-plugin-noise|noise_level|noise_threshold|[\"']noise[\"']|kinds: \[noise\]|feed: noise"
    found = subprocess.run(["git", "grep", "-l", "-E", names, "--", ".", ":!examples/plugin-noise",
                            ":!docs/plugins.md"],
                           cwd=ROOT, capture_output=True, text=True)
    assert found.returncode in (0, 1), found.stderr
    assert found.stdout.split() == []
