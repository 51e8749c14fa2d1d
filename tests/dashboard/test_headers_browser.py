"""Security headers: every page runs under the Content Security Policy in Chromium with no violation, and the
policy is enforced (an injected inline script does not run)."""

from __future__ import annotations

import urllib.request

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser import LiveApp, wait_for

pytestmark = pytest.mark.browser

# Every kind of page: the wall of each theme, the map, a county, the plan, the console, the editor, the sign-in
# form, the consistency report, a page that does not exist.
PAGES = ["/?theme=economy", "/?theme=market", "/?theme=social", "/?theme=service", "/?theme=ecology", "/map",
         "/county/441224", "/plan", "/alarms", "/admin/topics", "/consistency", "/admin/login", "/no-such-page"]


def headers(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=20) as r:
        return dict(r.headers.items())


def violations(d: WebDriver) -> list[str]:
    return [e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"]
            or "unsafe-eval" in e["message"]]


def test_every_page_runs_under_the_policy_without_a_violation(app: LiveApp, browser: WebDriver) -> None:
    for path in PAGES:
        browser.get(app.url + path)
        if path.startswith("/admin/login"):
            wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "form input[type=password]"), what="the form")
        else:  # Dash rendered the page: the router filled it
            wait_for(lambda: browser.execute_script(
                "const c = document.getElementById('page'); return c && c.children.length > 0"),
                what=f"{path} rendered")
        if path == "/map" or path.startswith("/?theme"):  # plotly drew (hover and drill paths run plotly too)
            wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg"), what="a plot")
        assert violations(browser) == [], path
    # The wall's clock reads the app's time from the page (a meta tag and an asset, not an inline script).
    browser.get(app.url + "/")
    assert wait_for(lambda: browser.execute_script("return typeof window.zqClockOffset === 'number'"),
                    what="the clock offset")


def test_the_policy_is_enforced_an_injected_inline_script_does_not_run(app: LiveApp, browser: WebDriver) -> None:
    browser.get(app.url + "/plan")
    wait_for(lambda: browser.find_elements(By.ID, "page"), what="the page")
    browser.execute_script("const s = document.createElement('script'); s.textContent = 'window.zqInjected = 1;';"
                           "document.head.appendChild(s);")
    assert browser.execute_script("return window.zqInjected === undefined")
    assert any("inline script" in v for v in violations(browser))


def test_headers_on_pages_api_and_errors(app: LiveApp) -> None:
    for path in ("/", "/healthz", "/_dash-layout"):
        h = headers(app.url + path)
        csp = h["Content-Security-Policy"]
        assert "script-src 'self' 'sha256-" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
        assert "'unsafe-eval'" not in csp and "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
        assert (h["X-Frame-Options"], h["X-Content-Type-Options"], h["Referrer-Policy"]) == (
            "SAMEORIGIN", "nosniff", "same-origin")
        assert h["Server"] == "zq"  # not the development server's name and version
        assert "Strict-Transport-Security" not in h  # a plain-HTTP LAN deployment (no --https)
