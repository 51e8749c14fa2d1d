"""The wall as the operations centre runs it, in headless Chromium: themes, rotation, kiosk, staleness."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from clock import ANCHOR_VAR, START_VAR
from settings import CITY_TZ
from tests.browser import LiveApp, chromium, county_shapes, live_app, severe_console_errors, wait_for
from topics import THEMES

pytestmark = pytest.mark.browser
OUT = Path(__file__).resolve().parents[2] / "test-output"


def active_tab(d: WebDriver) -> str:
    tabs = d.find_elements(By.CSS_SELECTOR, ".tabs .tab.active")
    return tabs[0].get_attribute("id") if tabs else ""


def panel_state(d: WebDriver, name: str) -> tuple[str, str]:
    """(meta line, body text) of one panel."""
    meta = d.find_elements(By.CSS_SELECTOR, f"[id*='panel-meta'][id*='\"{name}\"']")
    body = d.find_elements(By.CSS_SELECTOR, f"[id*='panel-body'][id*='\"{name}\"']")
    return (meta[0].text if meta else "", body[0].text if body else "")


@pytest.mark.parametrize("theme", THEMES, ids=[t.key for t in THEMES])
def test_every_theme_renders_its_panels_with_values(app: LiveApp, browser: WebDriver, theme) -> None:
    browser.get(f"{app.url}/?theme={theme.key}")
    wait_for(lambda: county_shapes(browser, "city-map"), what="the city map")
    assert active_tab(browser) == f"tab-{theme.key}"
    for name in (*theme.left, *theme.right, "kpi"):
        meta, body = wait_for(lambda n=name: (s := panel_state(browser, n))[0] and "—" not in s[0] and s,
                              what=f"the {name} panel of {theme.key}")
        assert "数据时间" in meta, (theme.key, name, meta)
        assert body.strip() and "暂无数据" not in body, (theme.key, name, body)
    OUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUT / f"wall-{theme.key}-1920x1080.png"))
    assert severe_console_errors(browser) == []


def test_rotation_moves_on_and_survives_a_reload(app: LiveApp, browser: WebDriver) -> None:
    browser.get(f"{app.url}/?themes=social,service&rotate=3&kiosk=1")
    first = wait_for(lambda: active_tab(browser) in ("tab-social", "tab-service") and active_tab(browser),
                     what="a rotating theme")
    assert not browser.find_elements(By.ID, "lang-switch")  # kiosk: no app chrome
    second = wait_for(lambda: (tab := active_tab(browser)) != first and tab, timeout=10, what="the next theme")
    assert {first, second} == {"tab-social", "tab-service"}
    assert "rotate=3" in browser.current_url and "kiosk=1" in browser.current_url
    browser.refresh()
    third = wait_for(lambda: active_tab(browser) in ("tab-social", "tab-service") and active_tab(browser),
                     what="the rotation after a reload")
    wait_for(lambda: active_tab(browser) != third, timeout=10, what="rotation to go on after the reload")
    assert severe_console_errors(browser) == []


def map_title(d: WebDriver) -> str:
    """The map's title, or '' while the page is being swapped for the next view."""
    found = d.find_elements(By.ID, "map-title")
    try:
        return found[0].text if found else ""
    except Exception:  # noqa: BLE001 - the element went stale under us: the view is changing
        return ""


def test_one_theme_rotates_through_the_counties(app: LiveApp, browser: WebDriver) -> None:
    browser.get(f"{app.url}/?themes=ecology&counties=1&rotate=2")
    title = wait_for(lambda: "·" in (t := map_title(browser)) and t, what="a county on the map title")
    seen = {title}
    wait_for(lambda: ("·" in (t := map_title(browser)) and seen.add(t)) or len(seen) >= 3, timeout=12,
             what="three counties in turn")
    assert active_tab(browser) == "tab-ecology"
    assert "county=" in browser.current_url


def test_a_silent_feed_greys_its_panel_with_a_delay_badge() -> None:
    # Road-weather stations report every 60 s; told to expect them every second, the feed is stale
    # three seconds after the simulator's first burst, until the next reading.
    with live_app("--feed-cadences", '{"road_weather": 1}', "--stale-after-s", "0") as a, chromium() as d:
        d.get(f"{a.url}/?theme=social")
        panel = wait_for(lambda: d.find_elements(By.CSS_SELECTOR, ".road_weather-panel.stale"), timeout=30,
                         what="the stale road-weather panel")[0]
        badge = panel.find_element(By.CSS_SELECTOR, ".badge-stale").text
        assert badge.startswith("数据延迟") and badge.endswith("分钟")
        assert "气象站" in panel.find_element(By.CSS_SELECTOR, ".panel-body").text  # last values kept, greyed
        fresh = d.find_elements(By.CSS_SELECTOR, ".fire_risk-panel.stale")
        assert fresh == []  # only the silent feed's panel


def test_the_wall_at_both_sizes_has_no_scroll_bars(app: LiveApp) -> None:
    OUT.mkdir(exist_ok=True)
    for w, h in ((1920, 1080), (3840, 2160)):
        with chromium(w, h) as d:
            d.get(f"{app.url}/?theme=social")
            wait_for(lambda d=d: county_shapes(d, "city-map"), what="the city map")
            wait_for(lambda d=d: "数据时间" in panel_state(d, "kpi")[0], what="the KPIs")
            sizes = d.execute_script("const e = document.documentElement; "
                                     "return [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]")
            assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], (w, h, sizes)
            # Labels on the map grow with the screen, so they stay legible from across the room.
            size = wait_for(lambda d=d: d.execute_script(
                "const g = document.querySelector('#city-map .js-plotly-plot');"
                "const t = g._fullData.find(t => t.meta && t.meta.layer === 'county-labels');"
                "return t && t.textfont && t.textfont.size;"), what="label size")
            assert size >= 14 * w / 1920 - 1, (w, size)
            d.save_screenshot(str(OUT / f"wall-social-{w}x{h}.png"))


def test_the_wall_clock_and_rotation_run_on_the_apps_time_not_the_browsers() -> None:
    # The app started at a summer afternoon (as a wall PC with a wrong clock would see a right server): the
    # header's clock shows the app's time, and the rotation's slot is counted on it too.
    start = datetime(2026, 7, 15, 14, 0, tzinfo=CITY_TZ)
    env = {START_VAR: start.isoformat(), ANCHOR_VAR: repr(time.time())}
    with live_app("--no-simulate", env=env, feeds_ready=False) as a, chromium() as d:
        d.get(f"{a.url}/?themes=social,service&rotate=3600")
        shown = wait_for(lambda: (e := d.find_elements(By.ID, "clock")) and "2026" in (t := e[0].text) and t,
                         what="the header clock")
        assert shown.startswith("2026/07/15") and " 14:0" in shown, shown
        offset_s = d.execute_script("return window.zqClockOffset") / 1000
        assert abs(offset_s - (start.timestamp() - time.time())) < 120  # the app's time minus the browser's
        # rotate=3600: the slot is floor(app time / 3600 s) mod 2 themes, the same for the whole of 14:xx.
        expected = ("social", "service")[int(start.timestamp() // 3600) % 2]
        wait_for(lambda: active_tab(d) == f"tab-{expected}", what=f"the {expected} theme of this hour")
