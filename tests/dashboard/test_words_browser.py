"""Pages in English in a real Chromium: no Chinese word of the catalog shows where it has the English."""

from __future__ import annotations

import re
from string import Formatter

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

import words
from tests.browser import LiveApp, county_shapes, wait_for

pytestmark = pytest.mark.browser
CJK = re.compile(r"[\u3400-\u9fff]")
# Every text node of the page that a person can read, SVG (map legends, chart labels) included; the plan
# page's task titles and departments are shown as the plan issued them, in Chinese, and its sub-heading says so.
PAGE_TEXT = """
const out = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walk.nextNode(); n; n = walk.nextNode()) {
  const p = n.parentElement;
  if (p && !['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(p.tagName) && !p.closest('.pl-depts, .pl-title')
      && n.nodeValue.trim())
    out.push(n.nodeValue.trim());
}
return out;
"""


def chinese_words() -> dict[str, str]:
    """Each Chinese piece of the catalog's texts (what lies between placeholders, two characters or more) that
    English shows otherwise, with the key it comes from. Pieces an English text contains (the language
    switch's 中文) are left out."""
    english = " ".join(words.catalog("en").values())
    pieces: dict[str, str] = {}
    for (ctx, key), zh in words.catalog("zh").items():
        if zh == words.catalog("en")[(ctx, key)]:
            continue
        for literal, *_ in Formatter().parse(zh):
            for run in re.findall(r"[\u3400-\u9fff]{2,}", literal):
                if run not in english:
                    pieces.setdefault(run, f"{ctx or '(shared)'}:{key}")
    return pieces


def leaks(texts: list[str]) -> dict[str, list[str]]:
    """Catalog words found in the page's texts, piece → the texts that hold it. A piece inside a longer run of
    Chinese is a name in the data (西江 in the camera 西江端州段1号视频点), not a word left untranslated."""
    found: dict[str, list[str]] = {}
    for piece in chinese_words():
        alone = re.compile(rf"(?<![\u3400-\u9fff]){re.escape(piece)}(?![\u3400-\u9fff])")
        hits = [x for x in texts if alone.search(x)]
        if hits:
            found[piece] = hits[:3]
    return found


def test_the_catalog_gives_the_scan_words_to_look_for() -> None:
    pieces = chinese_words()
    assert len(pieces) > 300 and "数据时间" in pieces and "中文" not in pieces
    assert leaks(["Data time 12:00", "端州区", "西江端州段1号视频点"]) == {}
    assert leaks(["数据时间 12:00", "Owner 市政数局"]) == {"数据时间": ["数据时间 12:00"],
                                                          "市政数局": ["Owner 市政数局"]}


@pytest.mark.parametrize("theme", ["social", "environment"])
def test_the_wall_in_english_shows_no_chinese_word_of_the_catalog(app: LiveApp, browser: WebDriver,
                                                                   theme: str) -> None:
    browser.get(app.url + f"/?theme={theme}&lang=en")
    wait_for(lambda: county_shapes(browser, "city-map"), what="the city map")
    # Every panel filled: its data-time line shows a time.
    wait_for(lambda: all("Data time" in m.text and "—" not in m.text
                         for m in browser.find_elements(By.CSS_SELECTOR, ".panel-meta")) or None,
             timeout=30, what="the panels' data")
    texts = browser.execute_script(PAGE_TEXT)
    assert any("Data time" in x for x in texts)
    assert leaks(texts) == {}


@pytest.mark.parametrize("path", ["/county/441225?lang=en", "/map?lang=en", "/plan?lang=en",
                                  "/evaluation?lang=en"])
def test_the_drill_pages_in_english_show_no_chinese_word_of_the_catalog(app: LiveApp, browser: WebDriver,
                                                                         path: str) -> None:
    browser.get(app.url + path)
    wait_for(lambda: browser.find_elements(By.TAG_NAME, "h1") or None, what="the page's heading")
    wait_for(lambda: not CJK.search(browser.find_element(By.TAG_NAME, "h1").text) or None,
             what="an English heading")
    texts = wait_for(lambda: (t := browser.execute_script(PAGE_TEXT)) and len(t) > 20 and t, what="the page")
    assert leaks(texts) == {}
