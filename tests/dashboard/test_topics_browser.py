"""Theme files in a real headless Chromium: a panel added by file appears without a restart, a broken file
leaves the wall as it was, and a title made of markup shows as text."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.dashboard.apps import add_user
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
    # Proof by order, not by a pause: a later change to another theme reaches this wall, which by then has read
    # the themes after the refusal, and it still shows economy's last good panels.
    edit(topics_dir / "market.yaml", "name_zh: 市场监管", "name_zh: 市场监管局")
    wait_for(lambda: any("市场监管局" in t.text for t in browser.find_elements(By.CSS_SELECTOR, ".tabs .tab")),
             timeout=10, what="a later change to another theme on the wall")
    assert panels(browser) == shown
    edit(topics_dir / "market.yaml", "name_zh: 市场监管局", "name_zh: 市场监管")
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
    add_user(f"sqlite:///{themed_app.log.parent / 'zq.sqlite3'}", "eco_owner", "owner", "lvshui-qingshan-2021",
             "ecology")
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
    # The measures a theme may name, with their definitions (the derived ones may not arrive as KPIs).
    listed = {e.get_attribute("data-key"): e.get_attribute("textContent")
              for e in browser.find_elements(By.CSS_SELECTOR, ".admin-measure")}
    assert {"eco.aqi", "eco.pm2_5", "social.open_grid_cases"} <= set(listed)
    assert "HJ 663" in listed["eco.aqi"] and "derived" in listed["eco.aqi"] and "(aqi)" in listed["eco.aqi"]

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

    # Two tabs edit from version 2: the second to save is refused, and its text is not written over the first's.
    first_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(themed_app.url + "/admin/topics")
    other = wait_for(lambda: browser.find_elements(By.ID, "admin-text"), what="the editor in a second tab")[0]
    wait_for(lambda: "road_weather" in other.get_attribute("value"), what="version 2 in the second tab")
    browser.execute_script(
        "const t = arguments[0]; Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set"
        ".call(t, arguments[1]); t.dispatchEvent(new Event('input', {bubbles: true}));",
        other, other.get_attribute("value").replace("name_zh: 生态环境保护", "name_zh: 生态环境"))
    browser.find_element(By.ID, "admin-save-go").click()
    wait_for(lambda: "v3" in browser.find_element(By.ID, "admin-result").text, what="the second tab's version 3")
    browser.close()
    browser.switch_to.window(first_tab)
    set_text(editor.get_attribute("value").replace("  column: right", "  column: left", 1))
    browser.find_element(By.ID, "admin-save-go").click()
    wait_for(lambda: "version 3" in browser.find_element(By.ID, "admin-result").text, what="the conflict")
    assert "他人已保存新版本" in browser.find_element(By.ID, "admin-result").text
    assert "name_zh: 生态环境\n" in (topics_dir / "ecology.yaml").read_text(encoding="utf-8")  # tab two's text

    browser.get(themed_app.url + "/?theme=ecology")
    wait_for(lambda: any("road_weather-panel" in c for c in panels(browser)), timeout=10,
             what="the saved panel on the wall")
    assert severe_console_errors(browser) == []


def field(browser: WebDriver, i: int, name: str, tag: str = "*") -> Any:
    """The form field of panel #i (0-based) for a setting: its id is the JSON of a pattern-matching id."""
    return browser.find_element(By.CSS_SELECTOR, f"{tag}[id*='\"f\":\"{name}\"'][id*='\"i\":{i},']")


def choose(browser: WebDriver, dropdown: Any, needle: str) -> None:
    """Open a dropdown and click the option whose label contains needle."""
    dropdown.click()
    option = wait_for(lambda: [o for o in browser.find_elements(By.CSS_SELECTOR, "[role=option]") if needle in o.text],
                      what=f"the option {needle}")[0]
    option.click()


def type_into(browser: WebDriver, element: Any, value: str) -> None:
    """Set a text box's value as typing would (React's value setter and an input event)."""
    proto = "HTMLTextAreaElement" if element.tag_name == "textarea" else "HTMLInputElement"
    browser.execute_script(
        f"const t = arguments[0]; Object.getOwnPropertyDescriptor({proto}.prototype, 'value').set.call(t, arguments[1]);"
        "t.dispatchEvent(new Event('input', {bubbles: true}));", element, value)


def test_an_owner_builds_panels_with_the_form_and_the_wall_shows_them(themed_app: LiveApp, topics_dir: Path,
                                                                       browser: WebDriver) -> None:
    add_user(f"sqlite:///{themed_app.log.parent / 'zq.sqlite3'}", "eco_form", "owner", "qingshan-lvshui-2021",
             "ecology")
    browser.get(themed_app.url + "/admin/topics")
    wait_for(lambda: browser.find_elements(By.ID, "admin-user"), what="the sign-in form")
    browser.find_element(By.ID, "admin-user").send_keys("eco_form")
    browser.find_element(By.ID, "admin-pass").send_keys("qingshan-lvshui-2021")
    browser.find_element(By.ID, "admin-login").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".pf-panel"), what="the panel form")
    text = lambda: browser.find_element(By.ID, "admin-text").get_attribute("value")  # noqa: E731
    n = len(yaml.safe_load(text())["panels"])

    # A note in Markdown: the form offers the type, then its own settings (text_zh, text_en).
    add_type = wait_for(lambda: browser.find_elements(By.ID, "pf-add-type"), what="the form's add row")[0]
    choose(browser, add_type, "(markdown)")
    browser.find_element(By.ID, "pf-add-go").click()
    wait_for(lambda: "type: markdown" in text(), what="the new panel in the file")
    note = wait_for(lambda: field(browser, n, "text_zh", "textarea"), what="the note's text field")
    type_into(browser, note, "<script>alert(1)</script>")
    wait_for(lambda: "alert" in text(), what="the typed note in the file")
    browser.find_element(By.ID, "admin-preview-go").click()
    line = text().splitlines().index(next(x for x in text().splitlines() if "alert(1)" in x)) + 1
    refusal = f"line {line}: panels[{n}].text_zh: may not contain HTML tags"
    wait_for(lambda: any(refusal in e.text for e in browser.find_elements(By.ID, "admin-problems")),
             what="the refusal with its line")
    type_into(browser, field(browser, n, "text_zh", "textarea"), "**值班电话** 0758-2222222\n\n- 查看 [全市地图](/map)")
    wait_for(lambda: "值班电话" in text(), what="the note in the file")

    # A KPI against its target: the KPI is chosen from the theme's own KPIs; a title is typed.
    choose(browser, browser.find_element(By.ID, "pf-add-type"), "(kpi_target)")
    browser.find_element(By.ID, "pf-add-go").click()
    wait_for(lambda: "type: kpi_target" in text(), what="the second new panel")
    choose(browser, wait_for(lambda: field(browser, n + 1, "kpi", "button"), what="the KPI choice"), "(eco.pm2_5)")
    wait_for(lambda: "kpi: eco.pm2_5" in text(), what="the chosen KPI in the file")
    title = field(browser, n + 1, "title_zh", "input")
    title.send_keys("端州区细颗粒物", Keys.ENTER)
    wait_for(lambda: "title_zh: 端州区细颗粒物" in text(), what="the title in the file")
    # Reorder: the note moves up one place.
    field(browser, n, "type", "button")  # the row is drawn
    browser.find_elements(By.CSS_SELECTOR, ".pf-panel")[n].find_element(By.CSS_SELECTOR, "[title^='上移']").click()
    wait_for(lambda: [p["type"] for p in yaml.safe_load(text())["panels"]][n - 1] == "markdown",
             what="the note one place up")
    wait_for(lambda: [e.get_attribute("textContent") for e in
                      browser.find_elements(By.CSS_SELECTOR, "#admin-preview .ls-md strong")] == ["值班电话"],
             what="the note previewed")

    # An alarm rule through the rules form: the kind's settings are drawn from its model (min_signal here).
    browser.find_element(By.XPATH, "//summary[contains(., '告警规则')]").click()
    rules_before = len(yaml.safe_load(text()).get("rules") or [])
    choose(browser, browser.find_element(By.ID, "rf-add-kind"), "fog")
    browser.find_element(By.ID, "rf-add-go").click()
    wait_for(lambda: len(yaml.safe_load(text()).get("rules") or []) == rules_before + 1, what="the new rule")
    signal = wait_for(lambda: browser.find_element(
        By.CSS_SELECTOR, f"button[id*='\"f\":\"min_signal\"'][id*='\"i\":{rules_before},']"), what="its setting")
    choose(browser, signal, "yellow")
    wait_for(lambda: (yaml.safe_load(text())["rules"][-1] == {"id": "fog-1", "kind": "fog", "min_signal": "yellow"}),
             what="the rule's setting in the file")

    browser.find_element(By.ID, "admin-diff-go").click()
    added = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#admin-diff-table .df-ins"), what="the diff")
    shown = [a.get_attribute("textContent") for a in added]  # the table may be scrolled out of view
    assert any("type: kpi_target" in a for a in shown) and any("type: markdown" in a for a in shown)
    assert any("kind: fog" in a for a in shown)

    browser.find_element(By.ID, "admin-save-go").click()
    wait_for(lambda: browser.find_elements(By.ID, "admin-saved"), what="saved")
    browser.find_element(By.ID, "admin-audit-go").click()  # the owner sees who changed their theme
    wait_for(lambda: any("eco_form" in t and "save" in t and "theme:ecology" in t
                         for t in (r.get_attribute("textContent")
                                   for r in browser.find_elements(By.CSS_SELECTOR, "#admin-audit-table tbody tr"))),
             what="the save in the audit log")
    saved = yaml.safe_load((topics_dir / "ecology.yaml").read_text(encoding="utf-8"))["panels"]
    assert {"type": "kpi_target", "column": "left", "title_zh": "端州区细颗粒物", "kpi": "eco.pm2_5"} in saved
    rules = yaml.safe_load((topics_dir / "ecology.yaml").read_text(encoding="utf-8"))["rules"]
    assert rules[-1] == {"id": "fog-1", "kind": "fog", "min_signal": "yellow"}

    browser.get(themed_app.url + "/?theme=ecology")
    strong = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".markdown-panel .ls-md strong"), timeout=15,
                      what="the note on the wall")
    assert strong[0].get_attribute("textContent") == "值班电话"
    assert browser.find_element(By.CSS_SELECTOR, ".markdown-panel a").get_attribute("href").endswith("/map")
    kpi = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".kpi_target-panel .panel-head h2"),
                   what="the KPI panel on the wall")
    assert kpi[0].text == "端州区细颗粒物"
    assert severe_console_errors(browser) == []


def test_a_notes_links_as_chromium_renders_them_go_only_to_the_wall_or_to_websites(
        themed_app: LiveApp, topics_dir: Path, browser: WebDriver) -> None:
    note = ("[全市地图](/map) [区县](/county/441224?lang=en) [政务网](https://www.zhaoqing.gov.cn/) "
            "[转义](\\/plan) [引用][r]\n\n[r]: /alarms")
    edit(topics_dir / "service.yaml", "- type: plan_supervision\n  column: right\n",
         "- type: plan_supervision\n  column: right\n- type: markdown\n  column: right\n"
         f"  text_zh: {yaml.safe_dump(note, allow_unicode=True).strip().removesuffix('...').strip()}\n")
    browser.get(themed_app.url + "/?theme=service")
    anchors = wait_for(lambda: browser.execute_script(
        "return [...document.querySelectorAll('.markdown-panel a')].map(a => [a.textContent, a.href])"),
        timeout=10, what="the note's links")
    origin = themed_app.url
    assert dict(anchors) == {"全市地图": f"{origin}/map", "区县": f"{origin}/county/441224?lang=en",
                             "政务网": "https://www.zhaoqing.gov.cn/", "转义": f"{origin}/plan",
                             "引用": f"{origin}/alarms"}
    # What the probe sent is refused with its reason and the wall keeps the note it had.
    for hostile in ("[x][a\\]]\n\n[a\\]]: javascript:alert(1)", "[x](//evil.example)", "[x](/\\evil.example)"):
        quoted = json.dumps(hostile, ensure_ascii=False)  # a YAML double-quoted string
        edit(topics_dir / "service.yaml", "  text_zh: ", f"  text_zh: {quoted}\n  text_en: ")
        errors = wait_for(lambda: themed_app.get_json("/healthz")["topics"]["errors"], timeout=10,
                          what="the refusal")
        assert "service.yaml" in errors[0] and ("links may only be" in errors[0]), errors
        edit(topics_dir / "service.yaml", f"  text_zh: {quoted}\n  text_en: ", "  text_zh: ")
        wait_for(lambda: not themed_app.get_json("/healthz")["topics"]["errors"], timeout=10, what="the fix")
    assert len(browser.execute_script("return document.querySelectorAll('.markdown-panel a')")) == 5
    assert severe_console_errors(browser) == []
