"""Theme files in a real headless Chromium: a panel added by file appears without a restart, a broken file
leaves the wall as it was, and a title made of markup shows as text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import LiveApp, live_app, severe_console_errors, wait_for
from topics.loader import BUILTIN_DIR

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def topics_dir() -> Iterator[Path]:
    """A copy of the packaged theme files that the test edits."""
    folder = Path(tempfile.mkdtemp(prefix="zq-topics-"))
    for path in BUILTIN_DIR.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def themed_app(topics_dir: Path) -> Iterator[LiveApp]:
    """The app reading its themes from that folder, ticking every second."""
    with live_app("--topics-dir", str(topics_dir), "--tick-seconds", "1") as a:
        yield a


def edit(path: Path, old: str, new: str) -> None:
    """Change a theme file as an owner's editor would, moving its time on."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 1))


def panels(d: WebDriver) -> list[str]:
    return [e.get_attribute("class") for e in d.find_elements(By.CSS_SELECTOR, ".wall-grid > .col > section.panel")]


def test_a_panel_added_by_file_appears_without_a_restart_and_a_broken_file_changes_nothing(
        themed_app: LiveApp, topics_dir: Path, browser: WebDriver) -> None:
    browser.get(themed_app.url + "/?theme=economy")
    before = wait_for(lambda: panels(browser), what="the economy panels")
    assert not any("road_weather-panel" in c for c in before)

    edit(topics_dir / "economy.yaml", "- type: gdp_progress\n  column: left\n",
         "- type: gdp_progress\n  column: left\n- type: road_weather\n  column: left\n")
    wait_for(lambda: any("road_weather-panel" in c for c in panels(browser)), timeout=10,
             what="the new panel, within 10 s, without a restart")
    wait_for(lambda: "数据时间" in browser.find_element(By.CSS_SELECTOR, ".road_weather-panel .panel-meta").text,
             what="the new panel filled with data")

    shown = panels(browser)
    edit(topics_dir / "economy.yaml", "column: left", "column: middle")  # refused: the wall keeps its panels
    errors = wait_for(lambda: themed_app.get_json("/healthz")["topics"]["errors"], timeout=10,
                      what="the refusal reported by /healthz")
    assert errors == ["economy.yaml, line 16: panels[0].column: must be one of 'left' or 'right'"]
    time.sleep(2)  # a tick or two later the wall still shows the last good version
    assert panels(browser) == shown
    edit(topics_dir / "economy.yaml", "column: middle", "column: left")
    assert severe_console_errors(browser) == []


def test_a_title_made_of_markup_shows_as_text(themed_app: LiveApp, topics_dir: Path, browser: WebDriver) -> None:
    edit(topics_dir / "market.yaml", "name_zh: 市场监管", "name_zh: <script>alert(1)</script>")
    browser.get(themed_app.url + "/?theme=market")
    tab = wait_for(lambda: [t for t in browser.find_elements(By.CSS_SELECTOR, ".tabs .tab")
                            if "script" in t.text], timeout=10, what="the tab with the new title")[0]
    assert tab.text == "<script>alert(1)</script>"
    assert browser.execute_script("return document.querySelectorAll('.tabs script').length") == 0
    kpi_title = browser.find_element(By.CSS_SELECTOR, ".kpi-panel .panel-head h2").text
    assert kpi_title.startswith("<script>alert(1)</script>")
    assert severe_console_errors(browser) == []


def test_an_owner_signs_in_edits_previews_and_saves_in_the_editor(themed_app: LiveApp, topics_dir: Path,
                                                                   browser: WebDriver) -> None:
    db = f"sqlite:///{themed_app.log.parent / 'zq.sqlite3'}"
    done = subprocess.run([sys.executable, "-m", "dashboard", "users", "add", "eco_owner", "--role", "owner",
                           "--theme", "ecology", "--db", db], cwd=Path(__file__).resolve().parents[2],
                          env={**os.environ, "ZQ_NEW_PASSWORD": "lvshui-qingshan-2021"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    browser.get(themed_app.url + "/admin/topics")
    wait_for(lambda: browser.find_elements(By.ID, "admin-user"), what="the sign-in form")
    browser.find_element(By.ID, "admin-user").send_keys("eco_owner")
    browser.find_element(By.ID, "admin-pass").send_keys("wrong")
    browser.find_element(By.ID, "admin-login").click()
    wait_for(lambda: "错误" in browser.find_element(By.ID, "admin-login-msg").text, what="the refusal")
    field = browser.find_element(By.ID, "admin-pass")
    field.send_keys(Keys.CONTROL, "a")  # select what was typed and type over it, as a person would
    field.send_keys("lvshui-qingshan-2021")
    browser.find_element(By.ID, "admin-login").click()
    editor = wait_for(lambda: browser.find_elements(By.ID, "admin-text"), what="the editor")[0]
    assert "key: ecology" in editor.get_attribute("value")  # only their theme is offered
    assert "eco_owner · owner" in browser.find_element(By.ID, "admin-who").text
    wait_for(lambda: "生态环境保护" in browser.find_element(By.ID, "admin-preview-title").text, what="the preview")

    original = editor.get_attribute("value")
    def set_text(value: str) -> None:
        browser.execute_script(
            "const t = arguments[0]; const set = Object.getOwnPropertyDescriptor("
            "HTMLTextAreaElement.prototype, 'value').set; set.call(t, arguments[1]);"
            "t.dispatchEvent(new Event('input', {bubbles: true}));", editor, value)

    set_text(original.replace("  column: left", "  column: middle", 1))
    browser.find_element(By.ID, "admin-preview-go").click()
    problem = wait_for(lambda: browser.find_elements(By.ID, "admin-problems"), what="the problem list")[0]
    line = original.splitlines().index("  column: left") + 1
    assert f"ecology.yaml, line {line}: panels[0].column" in problem.text

    set_text(original.replace("- type: water_levels\n  column: left\n",
                              "- type: water_levels\n  column: left\n- type: road_weather\n  column: left\n"))
    browser.find_element(By.ID, "admin-save-go").click()
    wait_for(lambda: "v2" in browser.find_element(By.ID, "admin-result").text, what="saved as version 2")
    assert "road_weather" in (topics_dir / "ecology.yaml").read_text(encoding="utf-8")
    browser.get(themed_app.url + "/?theme=ecology")
    wait_for(lambda: any("road_weather-panel" in c for c in panels(browser)), timeout=10,
             what="the saved panel on the wall")
    assert severe_console_errors(browser) == []
