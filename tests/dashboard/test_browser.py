"""The wall in a real headless Chromium: counties drawn, panels live, drill into a county and back."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
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


def test_deep_link_to_a_county_loads_directly(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/county/441225?lang=en")
    title = wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county page")[0]
    assert "Fengkai" in title.text
    cells = wait_for(lambda: browser.execute_script(
        "const g = document.querySelector('#drill-map .js-plotly-plot'); return g && g._fullData && "
        "g._fullData.filter(t => t.meta && t.meta.layer === 'grid_choropleth').length"), what="the county's grid")
    assert cells >= 2
    assert "Generated grid" in browser.find_element(By.ID, "drill-legend").text
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
