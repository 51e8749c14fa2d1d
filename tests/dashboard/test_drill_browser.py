"""The drill-down in a real headless Chromium: wall → county → grid cell → case or device, breadcrumbs,
deep links, layer toggles and the replay slider."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.browser import LiveApp, county_shapes, severe_console_errors, wait_for

pytestmark = pytest.mark.browser
OUT = Path(__file__).resolve().parents[2] / "test-output"

LAYER_POINTS = """
const g = document.querySelector('#%s .js-plotly-plot');
if (!g || !g._fullData) return null;
return g._fullData.filter(t => t.meta && t.meta.layer === '%s').flatMap(t => Array.from(t.customdata || []));
"""


def layer_ids(d: WebDriver, layer: str, graph: str = "drill-map") -> list[str] | None:
    """The customdata (kind:id) of a layer's points on a drawn map, or None before it is drawn."""
    return d.execute_script(LAYER_POINTS % (graph, layer))


def click_fraction(d: WebDriver, fraction: float) -> None:
    """Click the replay slider's track at a fraction of its width (0 = 24 h ago, 1 = live)."""
    track = d.find_element(By.CSS_SELECTOR, "#replay-slider .dash-slider-track")
    width = track.size["width"]
    ActionChains(d).move_to_element_with_offset(track, int(width * (fraction - 0.5)), 0).pause(0.2).click().perform()


def test_click_a_county_on_the_wall_opens_its_view_and_breadcrumbs_go_back(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/")
    counties = wait_for(lambda: county_shapes(browser, "city-map"), what="the city map")
    fill = browser.find_elements(By.CSS_SELECTOR, "#city-map .scatterlayer path.js-fill")[counties.index("441224")]
    ActionChains(browser).move_to_element_with_offset(fill, 0, 30).pause(0.3).click().perform()
    wait_for(lambda: urlparse(browser.current_url).path == "/county/441224", what="navigation to the county")
    title = wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county page")[0]
    assert "怀集县" in title.text
    # The county view: its grid cells (generated H3, labelled so), its devices by kind, KPIs beside the average.
    cells = wait_for(lambda: layer_ids(browser, "grid_choropleth"), what="the grid cells")
    assert len(cells) > 100 and all(c.startswith("grid:H3-441224-") for c in cells)
    assert "生成网格" in browser.find_element(By.ID, "drill-legend").text
    kinds = browser.execute_script(
        "return document.querySelector('#drill-map .js-plotly-plot')._fullData"
        ".filter(t => t.meta && t.meta.layer === 'devices').map(t => t.meta.kind)")
    assert {"video_point", "road_weather", "fire_risk"} <= set(kinds)
    table = browser.find_element(By.CSS_SELECTOR, ".county-kpi-table").text
    assert "全市平均" in table and "在办网格事件" in table
    assert "在办" in browser.find_element(By.ID, "county-open").text
    crumbs = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#breadcrumbs .crumb")]
    assert crumbs == ["肇庆市", "怀集县"]
    OUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUT / "county-1920x1080.png"))

    browser.find_element(By.ID, "crumb-0").click()  # 肇庆市: the city map
    wait_for(lambda: urlparse(browser.current_url).path == "/map", what="the city map page")
    assert sorted(wait_for(lambda: county_shapes(browser, "drill-map"), what="counties on the city map")) == \
        sorted(counties)
    browser.back()  # the browser's own history returns to the county
    wait_for(lambda: urlparse(browser.current_url).path == "/county/441224", what="history back to the county")
    wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county page again")
    browser.forward()  # and forward to the city map again
    wait_for(lambda: urlparse(browser.current_url).path == "/map", what="history forward to the city map")
    wait_for(lambda: browser.find_elements(By.ID, "city-map-title"), what="the city map page again")
    browser.back()
    wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county page, back once more")
    browser.back()
    wait_for(lambda: county_shapes(browser, "city-map"), what="the wall again")
    assert severe_console_errors(browser) == []


def test_drill_to_a_grid_cell_a_case_and_a_device_by_deep_links(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/county/441202?layers=grid_choropleth,events,devices")  # 端州区 carries the most cases
    cases = wait_for(lambda: layer_ids(browser, "events"), what="the county's cases")
    devices = wait_for(lambda: layer_ids(browser, "devices"), what="the county's devices")
    case_id = cases[0].removeprefix("case:")
    device_id = devices[0].removeprefix("device:")

    browser.get(app.url + f"/case/{case_id}")  # a deep link, loaded cold
    title = wait_for(lambda: browser.find_elements(By.ID, "case-title"), what="the case page")[0]
    assert title.text.startswith("案件")
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#case-timeline li"), what="the case history")
    crumbs = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#breadcrumbs .crumb")]
    assert crumbs[:2] == ["肇庆市", "端州区"] and crumbs[2].startswith("网格") and crumbs[3].startswith("案件")

    browser.find_element(By.ID, "crumb-2").click()  # up to the case's grid cell
    wait_for(lambda: urlparse(browser.current_url).path.startswith("/grid/H3-441202-"), what="the grid cell")
    listed = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#cell-cases a"), what="the cell's cases")
    assert any(case_id in a.get_attribute("href") for a in listed)

    browser.get(app.url + f"/device/{device_id}?lang=en")
    title = wait_for(lambda: browser.find_elements(By.ID, "device-title"), what="the device page")[0]
    assert title.text.startswith("Device")
    assert browser.find_element(By.ID, "device-status").text in {"Online", "Offline", "Silent", "Alarm"}
    assert [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#breadcrumbs .crumb")][:2] == \
        ["Zhaoqing", "Duanzhou"]

    browser.get(app.url + "/county/441299")
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".not-found"), what="not found")
    browser.get(app.url + "/consistency")
    assert wait_for(lambda: browser.find_elements(By.ID, "consistency-table"), what="the consistency view")
    assert severe_console_errors(browser) == []


def test_layer_toggles_and_replay_live_in_the_url(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/map?layers=county_choropleth,events")
    live = wait_for(lambda: layer_ids(browser, "events"), what="the city's cases")
    assert browser.find_element(By.ID, "replay-label").text == "实时"

    # Replay three hours ago: the simulator's backlog reaches four hours back, so fewer cases were open then.
    click_fraction(browser, 1 - 3 / 24)
    wait_for(lambda: "at" in parse_qs(urlparse(browser.current_url).query), what="the replay time in the URL")
    wait_for(lambda: "回放" in browser.find_element(By.ID, "replay-label").text, what="the replay label")
    then = wait_for(lambda: (ids := layer_ids(browser, "events")) is not None and set(ids) != set(live) and ids,
                    what="the map as it was")
    assert 0 < len(then) < len(live)
    replay_url = browser.current_url

    # The replayed view is a URL: loaded cold, it shows the same cases.
    browser.get(replay_url)
    again = wait_for(lambda: layer_ids(browser, "events"), what="the replayed map, deep-linked")
    assert set(again) == set(then)

    # Toggling a layer off removes its traces and writes the URL; back to live restores the present.
    browser.find_element(By.CSS_SELECTOR, "#layer-toggle input[value='events']").click()
    wait_for(lambda: layer_ids(browser, "events") == [], what="the cases layer hidden")
    assert "events" not in parse_qs(urlparse(browser.current_url).query).get("layers", [""])[0]
    click_fraction(browser, 1.0)
    wait_for(lambda: browser.find_element(By.ID, "replay-label").text == "实时", what="live again")
    assert "at" not in parse_qs(urlparse(browser.current_url).query)
    assert severe_console_errors(browser) == []


GEOMETRY = """
const g = document.querySelector('#drill-map .js-plotly-plot');
if (!g || !g.data || !g.data.length || !window.zqCompact) return null;
return {sent: window.zqCompact.sent, held: window.zqCompact.held,
        shapes: g.data.filter(t => t.meta && ['outline', 'neighbours'].includes(t.meta.layer))
                      .map(t => [t.meta.layer, t.meta.adcode || '', t.x.length, JSON.stringify(t.x), JSON.stringify(t.y)])};
"""


def test_a_county_visited_again_is_drawn_from_the_arrays_the_browser_kept(app: LiveApp, browser: WebDriver) -> None:
    """dashboard/compact.py: the outlines come once; the second visit names them and the map is the same."""
    browser.get(app.url + "/county/441224")
    first = wait_for(lambda: browser.execute_script(GEOMETRY), what="the county map, first visit")
    assert first["sent"] > 10 and len(first["shapes"]) == 8  # its outline and the seven neighbours
    browser.find_element(By.ID, "crumb-0").click()
    wait_for(lambda: browser.find_elements(By.ID, "city-map-title"), what="the city map")
    browser.back()
    wait_for(lambda: browser.find_elements(By.ID, "county-title"), what="the county again")
    again = wait_for(lambda: (g := browser.execute_script(GEOMETRY)) and g["sent"] < first["sent"] and g,
                     what="the county map drawn from kept arrays")
    assert again["shapes"] == first["shapes"]  # every outline point as it was sent the first time
    assert severe_console_errors(browser) == []
