"""The wall in a real headless Chromium: counties drawn, panels live, drill into a county and back."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.browser import LiveApp, chromium, county_shapes, severe_console_errors, wait_for

pytestmark = pytest.mark.browser
OUT = Path(__file__).resolve().parents[2] / "test-output"

def test_wall_shows_eight_counties_and_live_panels(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/?theme=social")
    counties = wait_for(lambda: county_shapes(browser, "city-map"), what="the city map")
    assert sorted(counties) == ["441202", "441203", "441204", "441223", "441224", "441225", "441226", "441284"]
    # Every feed panel fills from the store: its data-time line shows a time, not the placeholder.
    for name in ("road_weather", "fire_risk", "grid_event", "hotline_12345", "mediation_levels", "kpi"):
        meta = wait_for(lambda n=name: browser.find_element(By.CSS_SELECTOR, f"[id*='panel-meta'][id*='\"{n}\"']").text,
                        what=f"the {name} panel")
        assert "数据时间" in meta and "—" not in meta, (name, meta)
    open_cases = int(browser.find_element(By.CSS_SELECTOR, ".grid_event-panel .big-number .value").text)
    labels = browser.execute_script(
        "return document.querySelector('#city-map .js-plotly-plot')._fullData"
        ".filter(t => t.meta && t.meta.layer === 'county-labels')[0].text")
    assert open_cases > 0
    assert sum(int(label.split("<b>")[1].split("</b>")[0]) for label in labels) <= open_cases + 5
    assert [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".tabs .tab")] == [
        "经济调节", "市场监管", "社会管理", "公共服务", "生态环境保护"]
    OUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUT / "wall-1920x1080.png"))
    assert severe_console_errors(browser) == []


def test_click_a_county_then_back(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/")
    counties = wait_for(lambda: county_shapes(browser, "city-map"), what="the city map")
    target = counties.index("441224")  # 怀集县, a large county: its fill is easy to hit
    fill = browser.find_elements(By.CSS_SELECTOR, "#city-map .scatterlayer path.js-fill")[target]
    ActionChains(browser).move_to_element_with_offset(fill, 0, 30).pause(0.3).click().perform()
    wait_for(lambda: browser.current_url.endswith("/county/441224"), what="navigation to the county")
    title = wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county page")[0]
    assert "怀集县" in title.text
    wait_for(lambda: county_shapes(browser, "county-map"), what="the county map")
    kinds = browser.execute_script(
        "return document.querySelector('#county-map .js-plotly-plot')._fullData"
        ".filter(t => t.meta && t.meta.layer === 'devices').map(t => t.meta.kind)")
    assert {"video_point", "road_weather", "fire_risk"} <= set(kinds)

    browser.find_element(By.ID, "back-to-city").click()
    wait_for(lambda: county_shapes(browser, "city-map"), what="the city map after going back")
    assert browser.current_url.rstrip("/") == app.url

    browser.back()  # the browser's own history returns to the county
    wait_for(lambda: browser.current_url.endswith("/county/441224"), what="history back to the county")
    wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county page again")
    assert severe_console_errors(browser) == []


def test_deep_link_to_a_county_loads_directly(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/county/441225?lang=en")
    title = wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county page")[0]
    assert "Fengkai" in title.text
    wait_for(lambda: county_shapes(browser, "county-map"), what="the county map")
    OUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUT / "county-441225-en.png"))
    assert severe_console_errors(browser) == []


def test_wall_at_4k_has_no_scroll_bars(app: LiveApp) -> None:
    with chromium(3840, 2160) as d:
        d.get(app.url + "/?theme=service")
        wait_for(lambda: county_shapes(d, "city-map"), what="the city map")
        wait_for(lambda: "数据时间" in d.find_element(By.CSS_SELECTOR, ".kpi-panel .panel-meta").text, what="KPIs")
        sizes = d.execute_script("const e = document.documentElement; "
                                 "return [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]")
        assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes
        assert "粤省事" in d.find_element(By.CSS_SELECTOR, ".kpi-panel").text
        OUT.mkdir(exist_ok=True)
        d.save_screenshot(str(OUT / "wall-3840x2160.png"))
        assert severe_console_errors(d) == []
