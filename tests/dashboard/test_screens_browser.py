"""Every screen the users have, in headless Chromium: walls of 16:9 and spliced walls up to 48:9 use their width and
never scroll; phones and tablets get a page to scroll down, the map first, text of at least 12 px, nothing wider
than the screen (issue 16)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.browser import LiveApp, county_shapes, screen, wait_for
from tests.waiting import wait_until

pytestmark = pytest.mark.browser
OUT = Path(__file__).resolve().parents[2] / "test-output"

WALLS = [(1920, 1080), (3840, 2160), (5760, 1080), (7680, 2160), (11520, 2160), (7680, 3240)]
HANDHELD = [(390, 844), (412, 915), (768, 1024), (1024, 768)]

# What a screen must not do, measured in the page: each check returns the problems it found, as text.
GEOMETRY_JS = """
const out = {problems: []};
const e = document.documentElement;
out.scroll = [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight];
const panels = [...document.querySelectorAll('.panel')].filter(p => p.offsetParent !== null);
const rects = panels.map(p => p.getBoundingClientRect());
for (let i = 0; i < panels.length; i++) {
  for (let j = i + 1; j < panels.length; j++) {
    if (panels[i].contains(panels[j]) || panels[j].contains(panels[i])) continue;  // a panel within a panel
    const a = rects[i], b = rects[j];
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 1) out.problems.push(`overlap: ${panels[i].className} / ${panels[j].className}`);
  }
}
out.panels = panels.map((p, i) => {
  const t = p.querySelector('.panel-head h2, h2');
  const r = rects[i];
  let title = null;
  if (t) {
    const tr = t.getBoundingClientRect();
    title = {cut: t.scrollWidth > t.clientWidth + 1 || tr.right > r.right + 1 || tr.bottom > r.bottom + 1 ||
             tr.top < r.top - 1, text: t.textContent};
  }
  return {cls: p.className, w: r.width, h: r.height, left: r.left, top: r.top, title};
});
const map = document.querySelector('.map-panel');
out.map = map && map.getBoundingClientRect().toJSON();
out.view = [innerWidth, innerHeight];
return out;
"""

SMALL_TEXT_JS = """
const small = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const n = walker.currentNode;
  if (!n.textContent.trim()) continue;
  const el = n.parentElement;
  if (!el || el.closest('svg') || el.offsetParent === null) continue;
  const cs = getComputedStyle(el);
  if (cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) continue;
  const size = parseFloat(cs.fontSize);
  if (size < 12) small.push(`${size}px ${el.tagName}.${el.className}: ${n.textContent.trim().slice(0, 30)}`);
}
return small;
"""


def settled(d: WebDriver, url: str, what: str = "the city map") -> dict[str, Any]:
    """Open a page, wait for its map (or the plan's table) and for its panels to fill, and measure it."""
    d.get(url)
    wait_for(lambda: county_shapes(d, "city-map") or d.find_elements("css selector",
                                                                      ".js-plotly-plot, .pl-table tr, .ev-table tr"),
             timeout=20, what=what)
    time.sleep(1.5)  # the first tick's panels and the map's resize
    return d.execute_script(GEOMETRY_JS)


@pytest.mark.parametrize("size", WALLS, ids=[f"{w}x{h}" for w, h in WALLS])
def test_a_wall_of_any_shape_uses_its_width_without_scroll_bars(app: LiveApp, size: tuple[int, int]) -> None:
    w, h = size
    with screen(w, h) as d:
        got = settled(d, f"{app.url}/?theme=social")
        OUT.mkdir(exist_ok=True)
        d.save_screenshot(str(OUT / f"screen-wall-social-{w}x{h}.png"))
    sw, cw, sh, ch = got["scroll"]
    assert sw <= cw and sh <= ch, (size, got["scroll"])  # no scroll bars at all on a wall
    assert got["problems"] == [], got["problems"]
    side = [p for p in got["panels"] if "map-panel" not in p["cls"] and "kpi-panel" not in p["cls"]]
    assert len(side) >= 6
    for p in side:
        assert p["h"] >= 120 * h / 1080 - 1, (size, p)  # at 1080 px high: 120 CSS px; taller walls, in step
        assert p["title"] is not None and not p["title"]["cut"], (size, p)
    m = got["map"]
    assert m["width"] >= w / 4 - 1 and m["height"] >= h / 2, (size, m)  # the map: a quarter of the width at least


PHONE = (390, 844)
PAGES = [(size, path) for size in HANDHELD for path in ("/?theme=social", "/county/441224", "/map", "/plan")] + [
    (PHONE, f"/?theme={key}") for key in ("economy", "market", "service", "ecology")] + [
    (size, "/evaluation") for size in (PHONE, (1024, 768))]


@pytest.mark.parametrize(("size", "path"), PAGES, ids=[f"{p}-{w}x{h}" for (w, h), p in PAGES])
def test_phones_and_tablets_get_a_page_to_scroll_with_the_map_first(app: LiveApp, size: tuple[int, int],
                                                                    path: str) -> None:
    w, h = size
    with screen(w, h, mobile=w < 800) as d:
        got = settled(d, app.url + path, "the page's map or table")
        small = d.execute_script(SMALL_TEXT_JS)
        if path == "/?theme=social" or (w, h) == PHONE:
            full = d.execute_script("return document.documentElement.scrollHeight")
            d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                              {"width": w, "height": min(full, 6000), "deviceScaleFactor": 1, "mobile": w < 800})
            time.sleep(0.5)  # only for the screenshot: the page relays out at its new height
            name = path.strip("/").replace("?theme=", "wall-").replace("/", "-") or "wall"
            d.save_screenshot(str(OUT / f"screen-{name}-{w}x{h}.png"))
    sw, cw, _, _ = got["scroll"]
    assert sw <= cw, (size, path, got["scroll"])  # no horizontal scrolling
    assert got["problems"] == [], got["problems"]
    assert small == [], small[:10]
    if path not in ("/plan", "/evaluation"):
        m = got["map"]
        assert m is not None and m["width"] >= 0.9 * w - 40, (size, path, m)  # full width
        others = [p for p in got["panels"] if "map-panel" not in p["cls"]]
        assert all(p["top"] >= m["bottom"] - 1 for p in others), (size, path)  # the map first, the panels below


DESKS = [(1366, 768), (1440, 900)]
CUT_JS = """
return [...document.querySelectorAll('.panel-body, .panel')].filter(e => e.offsetParent !== null)
  .filter(e => getComputedStyle(e).overflowY === 'hidden' && e.scrollHeight > e.clientHeight + 2)
  .map(e => `${e.className} (${(e.closest('.panel') || e).querySelector('h2')?.textContent}): ${e.scrollHeight} > ${e.clientHeight}`);
"""


def signed_in(d: WebDriver, app: LiveApp, user: str, password: str, then: str) -> None:
    """Sign in through the form, as a person does, and land on `then`."""
    d.get(f"{app.url}/admin/login?next={then}")
    d.find_element("name", "username").send_keys(user)
    d.find_element("name", "password").send_keys(password)
    d.find_element("css selector", "button[type=submit]").click()


def test_a_device_and_its_grid_cell_on_a_phone(app: LiveApp) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{app.log.parent / 'zq.sqlite3'}")
    with engine.connect() as c:
        device = c.execute(text("SELECT id FROM devices WHERE kind = 'road_weather' ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    w, h = PHONE
    with screen(w, h, mobile=True) as d:
        pages = [("device", settled(d, f"{app.url}/device/{device}", "the device's map"),
                  d.execute_script(SMALL_TEXT_JS))]
        d.save_screenshot(str(OUT / f"screen-device-{w}x{h}.png"))
        grid = next(a.get_attribute("href") for a in d.find_elements("css selector", ".breadcrumbs a")
                    if "/grid/" in (a.get_attribute("href") or ""))
        pages.append(("grid", settled(d, grid, "the cell's map"), d.execute_script(SMALL_TEXT_JS)))
        d.save_screenshot(str(OUT / f"screen-grid-{w}x{h}.png"))
    for name, got, small in pages:
        assert got["scroll"][0] <= got["scroll"][1], (name, got["scroll"])
        assert got["problems"] == [] and small == [], (name, got["problems"], small[:5])
        assert got["map"] is not None and got["map"]["width"] >= 0.9 * w - 40, (name, got["map"])


@pytest.mark.parametrize("size", [*DESKS, PHONE], ids=[f"{w}x{h}" for w, h in [*DESKS, PHONE]])
def test_the_console_the_editor_and_a_case_at_desk_and_phone_sizes(app: LiveApp, size: tuple[int, int]) -> None:
    from sqlalchemy import create_engine, text

    from tests.dashboard.apps import add_user

    db = f"sqlite:///{app.log.parent / 'zq.sqlite3'}"
    add_user(db, f"duty{size[0]}", "admin", "zhiban-2021-screens")
    engine = create_engine(db)
    with engine.connect() as c:
        case = c.execute(text("SELECT id FROM cases ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    w, h = size
    with screen(w, h, mobile=w < 800) as d:
        signed_in(d, app, f"duty{w}", "zhiban-2021-screens", "/alarms")
        wait_for(lambda: d.find_elements("css selector", ".alarm-console tr.al-row"), timeout=20, what="alarm rows")
        time.sleep(1)  # as settled() does: the page's remaining callbacks draw before its geometry is read
        console = d.execute_script(GEOMETRY_JS)
        small = d.execute_script(SMALL_TEXT_JS)
        buttons = d.execute_script("return [...document.querySelectorAll('.al-btn')].filter(b => b.offsetParent)"
                                   ".map(b => [b.getBoundingClientRect().width, b.getBoundingClientRect().height]);")
        d.save_screenshot(str(OUT / f"screen-alarms-{w}x{h}.png"))
        d.get(f"{app.url}/admin/topics")
        wait_for(lambda: d.find_elements("id", "admin-text"), timeout=20, what="the editor")
        time.sleep(1)  # as settled() does: the page's remaining callbacks draw before its geometry is read
        editor = d.execute_script(GEOMETRY_JS)
        d.save_screenshot(str(OUT / f"screen-editor-{w}x{h}.png"))
        pages = [("alarms", console), ("editor", editor)]
        if case:
            d.get(f"{app.url}/case/{case}")
            wait_for(lambda: d.find_elements("css selector", ".case-timeline li"), timeout=20, what="the case")
            pages.append(("case", d.execute_script(GEOMETRY_JS)))
            cut = d.execute_script(CUT_JS)
            assert cut == [], cut
            d.save_screenshot(str(OUT / f"screen-case-{w}x{h}.png"))
    for name, got in pages:
        assert got["scroll"][0] <= got["scroll"][1], (name, size, got["scroll"])  # no horizontal scrolling
        assert got["problems"] == [], (name, got["problems"])
    if w < 800:
        assert buttons and all(bw >= 44 and bh >= 44 for bw, bh in buttons), buttons  # a thumb's target
        assert small == [], small[:10]


def test_the_url_names_the_arrangement_and_the_tile() -> None:
    from dashboard.pages.common import parse_view

    def view(**params: str) -> object:
        return parse_view(params, "zh", {"441202"})

    assert view(layout="3x1").classes() == "wall layout-wide"  # 48:9
    assert view(layout="2x1").classes() == "wall layout-wide"  # 32:9
    assert view(layout="1x1").classes() == "wall layout-standard"
    assert view(layout="4x3").classes() == "wall layout-standard"  # 64:27, a 4×3 block of screens
    assert view(tile="2/3").classes() == "wall layout-wide tiles-3 tile-2"
    assert view(tile="5/3").tile is None and view(tile="1/9").tile is None and view(layout="x1").layout is None
    assert view(tile="2/3", theme="social").params()["tile"] == "2/3"  # the rotation's URLs keep it


PERIOD = 10  # seconds a theme stays in the rotation test


def test_one_browser_per_screen_shows_one_continuous_wall_turning_together(app: LiveApp) -> None:
    rotation = f"themes=social,ecology&rotate={PERIOD}"
    with screen(5760, 1080) as whole:
        full = settled(whole, f"{app.url}/?{rotation}")
    tiles = []
    for i in (1, 2, 3):
        with screen(1920, 1080) as d:
            got = settled(d, f"{app.url}/?{rotation}&tile={i}/3")
            # Read well inside a slot: the browser turns at its next clock tick and redraws after (≤ 3 s).
            wait_until(lambda: 3 <= time.time() % PERIOD <= PERIOD - 1.5, "a moment well inside a slot", PERIOD,
                       interval=0.2)
            before = time.time()
            tab = d.execute_script("return document.querySelector('.tabs .tab.active')?.id")
            tiles.append((got, tab, (before, time.time())))
            d.save_screenshot(str(OUT / f"screen-tile-{i}of3-1920x1080.png"))
    for i, (got, _, _) in enumerate(tiles):
        assert got["view"] == [1920, 1080]
        # Each screen draws the whole splice and shows its third: the map where the 5760 px page has it.
        assert abs(got["map"]["left"] + 1920 * i - full["map"]["left"]) <= 2, (i, got["map"], full["map"])
        assert abs(got["map"]["width"] - full["map"]["width"]) <= 2
        assert got["problems"] == []
    # The rotation is the app's clock's (here the machine's): slot = floor(now / PERIOD) mod 2, on every screen.
    for _, tab, (before, after) in tiles:
        assert int(before // PERIOD) == int(after // PERIOD)
        assert tab == f"tab-{('social', 'ecology')[int(before // PERIOD) % 2]}", (tab, before)


HEADER_JS = """
const out = [];
for (const el of document.querySelectorAll('.wall-header .brand, .wall-header .tab, .wall-header .chip-status, '
                                           + '.wall-header .clock, .wall-header .lang')) {
  const r = el.getBoundingClientRect();
  out.push({text: el.textContent.trim().slice(0, 40), left: r.left, right: r.right, top: r.top, height: r.height});
}
return {items: out, width: innerWidth};
"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_walls_header_fits_a_1920_screen_in_either_language(app: LiveApp, lang: str) -> None:
    """The tabs, status chips, clock and language switch all on screen, the clock on one line, none overlapping:
    English words are longer than the Chinese, and the clock and the switch were pushed off the right edge."""
    with screen(1920, 1080) as d:
        settled(d, f"{app.url}/?theme=ecology&lang={lang}")
        got = d.execute_script(HEADER_JS)
    items = got["items"]
    assert any(i["text"] in ("EN", "中文") for i in items) and len(items) >= 9, items
    for i in items:
        assert 0 <= i["left"] and i["right"] <= got["width"], (lang, i)
    clock = next(i for i in items if ":" in i["text"] and any(c.isdigit() for c in i["text"]))
    tab = next(i for i in items if i["text"] in ("生态环境保护", "Ecological protection"))
    assert clock["height"] <= tab["height"] + 2, (lang, clock)  # one line
    row = sorted((i for i in items if i["top"] < 60), key=lambda i: i["left"])
    for a, b in zip(row, row[1:]):
        assert a["right"] <= b["left"] + 1, (lang, a, b)
