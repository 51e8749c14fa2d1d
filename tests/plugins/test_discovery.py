"""Plugins are found through entry points of installed distributions (here: written into a directory on sys.path,
as pip installs them); a broken one is logged by name and left out, and the app starts without it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins
from dashboard.factory import build_registries
from feeds.known import default_feeds
from settings import Settings

GOOD = '''
from dash import html
from feeds import Feed
from feeds.payloads import DevicePayload
from dashboard.panels import PanelOutput, PanelType

FEED = Feed("meter", "电表", "Meters", DevicePayload, 60, lambda batch, p, ctx: None)
PANEL = PanelType("meter_panel", "电表", "Meters", "meter", lambda inp: PanelOutput(html.Div(), None))
'''

DISTRIBUTIONS = {
    # distribution: (module source, entry points)
    "zq-fake-good": (GOOD, "[zq.feeds]\nmeter = zq_fake_good:FEED\n[zq.panels]\nmeter_panel = zq_fake_good:PANEL\n"),
    "zq-fake-broken": ("raise RuntimeError('cannot reach its licence server')\n",
                       "[zq.feeds]\nlicensed = zq_fake_broken:FEED\n"),
    "zq-fake-wrong": ("FEED = 'a feed, it says'\nfrom feeds.builtin import BUILTIN_FEEDS\nROAD = BUILTIN_FEEDS[1]\n",
                      "[zq.feeds]\nwords = zq_fake_wrong:FEED\nroad_weather = zq_fake_wrong:ROAD\n"
                      "[zq.layers]\nmisnamed = zq_fake_wrong:ROAD\n"),
}


def install(root: Path, dist: str, source: str, entry_points: str) -> None:
    """A distribution as pip leaves it in site-packages: its module and its .dist-info with the entry points."""
    module = dist.replace("-", "_")
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for dist, (source, eps) in DISTRIBUTIONS.items():
        install(tmp_path, dist, source, eps)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    plugins.select(plugins.NONE)
    for dist in DISTRIBUTIONS:
        sys.modules.pop(dist.replace("-", "_"), None)


def test_the_plugins_register_beside_the_built_ins_and_the_broken_ones_are_named_and_left_out(
        installed: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="plugins"):
        reg = build_registries(Settings(plugins=",".join(DISTRIBUTIONS)))
    assert reg.feeds.names()[-1] == "meter" and "road_weather" in reg.feeds
    assert reg.feeds.origin("meter") == "zq-fake-good: meter = zq_fake_good:FEED"
    assert reg.panels["meter_panel"].feed == "meter"
    assert reg.feeds.origin("road_weather") == plugins.BUILTIN  # the plugin's second road_weather was refused
    problems = sorted(str(p) for p in reg.problems)
    assert problems == [
        "plugin zq-fake-broken: licensed = zq_fake_broken:FEED (zq.feeds): RuntimeError: cannot reach its licence "
        "server",
        "plugin zq-fake-wrong: misnamed = zq_fake_wrong:ROAD (zq.layers): TypeError: Feed(name='road_weather', "
        + problems[1].split("Feed(name='road_weather', ", 1)[1],
        "plugin zq-fake-wrong: road_weather = zq_fake_wrong:ROAD (zq.feeds): ValueError: feed 'road_weather' is "
        "already registered (by built-in); zq-fake-wrong: road_weather = zq_fake_wrong:ROAD cannot register it again",
        "plugin zq-fake-wrong: words = zq_fake_wrong:FEED (zq.feeds): TypeError: 'a feed, it says' is not a feed",
    ]
    assert problems[1].endswith("is not a layer")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 4 and all("left out" in r.getMessage() for r in errors)
    assert any("zq-fake-broken" in r.getMessage() and r.exc_info for r in errors)  # the traceback, for its author
    assert any("registered panel type 'meter_panel'" in r.getMessage() for r in caplog.records)


def test_the_app_starts_without_a_broken_plugin_and_its_health_names_what_was_left_out(
        installed: Path, tmp_path: Path) -> None:
    from dashboard import create_app

    app = create_app(Settings(db=f"sqlite:///{tmp_path / 'zq.sqlite3'}", plugins=",".join(DISTRIBUTIONS)),
                     start_feeds=False)
    health = app.server.test_client().get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["plugins"]["added"]["feeds"] == [{"name": "meter", "plugin": "zq-fake-good: meter = zq_fake_good:FEED"}]
    assert health["plugins"]["added"]["panels"][0]["name"] == "meter_panel"
    assert len(health["plugins"]["problems"]) == 4
    assert any(p.startswith("plugin zq-fake-broken: licensed") for p in health["plugins"]["problems"])
    assert "meter" in [f["feed"] for f in health["feeds"]]  # watched like a built-in feed
    assert app.server.test_client().get("/?theme=ecology").status_code == 200


def test_a_plugin_named_one_way_in_its_entry_point_and_another_in_its_entry_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, "zq-fake-misnamed", GOOD, "[zq.feeds]\nwatts = zq_fake_misnamed:FEED\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        reg = build_registries(Settings(plugins="zq-fake-misnamed"))
    finally:
        plugins.select(plugins.NONE)
        sys.modules.pop("zq_fake_misnamed", None)
    assert "meter" not in reg.feeds and "watts" not in reg.feeds
    assert [p.error for p in reg.problems] == ["ValueError: the entry point is named 'watts', its feed 'meter'"]


@pytest.mark.parametrize(("spec", "meter"), [("*", True), ("ZQ_Fake.Good", True), ("zq-fake-good,other", True),
                                             ("none", False), ("", False), ("zq-fake-wrong", False)])
def test_the_plugins_setting_selects_by_distribution_name(installed: Path, spec: str, meter: bool) -> None:
    reg = build_registries(Settings(plugins=spec))
    assert ("meter" in reg.feeds) is meter
    assert ("meter" in default_feeds()) is meter  # what a theme file checked without an app reads: the same


def test_a_selected_plugin_that_is_not_installed_is_named(installed: Path, caplog: pytest.LogCaptureFixture) -> None:
    reg = build_registries(Settings(plugins="zq-fake-good,zq-fake-goood"))
    assert "meter" in reg.feeds
    assert [str(p) for p in reg.problems] == [
        "plugin zq-fake-goood (*): selected by --plugins but not installed (no zq.* entry point)"]
    assert "zq-fake-goood" in caplog.text


def test_a_process_that_selected_nothing_has_the_built_ins_only(installed: Path) -> None:
    assert plugins.selected() == frozenset()
    assert "meter" not in default_feeds()
    assert plugins.parse_selection(" * ") is None
    assert plugins.parse_selection("A_b, c.d") == frozenset({"a-b", "c-d"})


def test_no_plugin_is_loaded_unless_chosen(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed is not chosen: the settings' default loads none, so a package installed beside the app for another
    purpose adds no feed to the wall (where one nobody sends would be reported stale)."""
    monkeypatch.delenv("ZQ_PLUGINS", raising=False)
    assert Settings().plugins == plugins.NONE
    reg = build_registries(Settings())
    assert "meter" not in reg.feeds and reg.problems == []
    assert "meter" in build_registries(Settings(plugins=plugins.EVERY)).feeds
