"""A wall, a county view and the alarm console in headless Chromium whose server stops: each says 连接中断 with the
time of its last good update within two ticks, keeps its data greyed, and recovers by itself within two ticks of
the server answering again. The server stops on SIGTERM with exit code 0."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser import chromium, live_app, wait_for
from tests.dashboard.apps import add_user

pytestmark = pytest.mark.browser
TICK_S = 1.0
# Two ticks, the watchdog's grace (dashboard/connection.py GRACE_MS) and its own once-a-second look.
LOST_WITHIN_S = 2 * TICK_S + 1.5 + 1.2


def sign(d: WebDriver) -> str | None:
    """The connection-lost sign's text while it is shown, else None."""
    el = d.find_elements(By.ID, "conn-lost")
    if not el or "hidden" in (el[0].get_attribute("class") or ""):
        return None
    return el[0].text


def greyed(d: WebDriver) -> bool:
    return "conn-lost-page" in (d.find_element(By.ID, "page").get_attribute("class") or "")


def last_beat(d: WebDriver) -> float:
    """The app's time (s) of the newest tick the page received."""
    return (d.execute_script("return window.zqBeat && window.zqBeat.at") or 0) / 1000


def test_pages_say_the_connection_is_lost_and_recover_by_themselves() -> None:
    with live_app("--tick-seconds", str(TICK_S)) as app, chromium() as wall, chromium() as county, \
            chromium(1366, 768) as console:
        add_user(f"sqlite:///{app.log.parent / 'zq.sqlite3'}", "duty", "leader", "zhiban-2021-duty")
        console.get(app.url + "/admin/login?next=/alarms")
        console.find_element(By.NAME, "username").send_keys("duty")
        console.find_element(By.NAME, "password").send_keys("zhiban-2021-duty")
        console.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wall.get(app.url + "/?theme=social")
        county.get(app.url + "/county/441224?lang=en")
        screens = {"wall": wall, "county": county, "console": console}
        for name, d in screens.items():
            wait_for(lambda d=d: last_beat(d) > 0, what=f"the {name}'s first tick")
            assert sign(d) is None and not greyed(d)
        before = wall.find_element(By.CSS_SELECTOR, ".road_weather-panel .panel-body").text

        stopped = time.monotonic()
        assert app.stop() == 0  # SIGTERM: every role finished and handed back, exit code 0
        for name, d in screens.items():
            text = wait_for(lambda d=d: sign(d), timeout=LOST_WITHIN_S + 1, what=f"连接中断 on the {name}")
            words = ("Connection lost", "last update") if d is county else ("连接中断", "最后更新")
            assert words[0] in text and words[1] in text, (name, text)
            assert greyed(d), name
        assert time.monotonic() - stopped <= LOST_WITHIN_S + 1
        # The last data stays, greyed: the sign does not blank the wall.
        assert wall.find_element(By.CSS_SELECTOR, ".road_weather-panel .panel-body").text == before

        app.start()  # the same port and store: the server answers again
        answered = time.time()
        for name, d in screens.items():
            wait_for(lambda d=d: sign(d) is None and not greyed(d), timeout=LOST_WITHIN_S + 1,
                     what=f"the {name} back to normal")
            assert last_beat(d) >= answered - 1, name  # fresh data: a tick from the restarted server

