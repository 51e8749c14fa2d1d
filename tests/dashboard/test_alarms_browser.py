"""A red alarm in real headless Chromium: road-weather stations published by mosquitto_pub report fog under 50 m,
every wall is taken over by the banner, a duty officer acknowledges them at the console, and the banner leaves.

The app runs without its simulator: the only alarms are the test's own, whatever the season (the simulator's
December fire danger raises red alarms of its own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from sqlalchemy import create_engine, text

from clock import process_clock
from tests.dashboard.apps import add_user
from tests.browser import LiveApp, chromium, live_app, screen, severe_console_errors, wait_for
from tests.servers import Mosquitto

pytestmark = pytest.mark.browser
STATION = "44120400041316000777"
SECOND = "44120400041316000779"


def click_first(d: Any, css: str) -> None:
    """Click the first element matching css, finding it again if the page re-rendered it in between."""
    def go() -> bool:
        found = d.find_elements(By.CSS_SELECTOR, css)
        if not found:
            return False
        found[0].click()  # a stale element raises before anything is clicked: wait_for finds it again
        return True

    wait_for(go, what=f"a click on {css}")


@pytest.fixture(scope="module")
def mqtt_app(mosquitto: Mosquitto) -> Iterator[LiveApp]:
    """The app subscribed to a real broker, with no simulator (a quiet world), ticking every second."""
    with live_app("--mqtt", mosquitto.url, "--no-simulate", "--tick-seconds", "1", "--mqtt-client-id",
                  "zq-alarm-test", feeds_ready=False, subscribed=True) as a:
        yield a


def banner(d: WebDriver) -> str | None:
    """The takeover banner's text while it is shown, else None."""
    el = d.find_elements(By.ID, "takeover")
    if not el or "hidden" in (el[0].get_attribute("class") or ""):
        return None
    return el[0].text


def headline(d: WebDriver) -> str:
    """The banner's headline: the alarm it puts first."""
    el = d.find_elements(By.ID, "takeover-title")
    return el[0].text if el and banner(d) else ""


def fog_reading(device_id: str, name: str, visibility_m: float) -> dict[str, object]:
    """A road-weather reading stamped now on the app's clock (the tests and the app share ZQ_CLOCK_START)."""
    return {"device_id": device_id, "ts": process_clock().now().isoformat(), "lon": 112.46, "lat": 23.05,
            "name": name, "road": "G80 广昆高速", "visibility_m": visibility_m, "air_temp_c": 14.0,
            "road_temp_c": 15.0, "humidity_pct": 98.0, "wind_speed_ms": 1.0, "precipitation_mm": 0.0,
            "road_state": "wet"}


def test_a_red_fog_alarm_takes_over_the_wall_until_acknowledged(mqtt_app: LiveApp, mosquitto: Mosquitto,
                                                                  browser: WebDriver) -> None:
    add_user(f"sqlite:///{mqtt_app.log.parent / 'zq.sqlite3'}", "duty", "leader", "zhiban-2021-duty")
    browser.get(mqtt_app.url + "/?theme=social")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".road_weather-panel .panel-meta span"), what="the wall")

    body = fog_reading(STATION, "广昆高速测试7号气象站", 32.0)
    message = json.dumps(body, ensure_ascii=False)
    mosquitto.pub(f"zq/441204/road_weather/{STATION}", message)
    wait_for(lambda: "广昆高速测试7号气象站" in headline(browser), timeout=15, what="the red banner")
    assert "1 条未确认" in banner(browser)
    with screen(390, 844, mobile=True) as phone:  # a leader's phone: the alarm is a bar above the page
        phone.get(mqtt_app.url + "/?theme=social")
        wait_for(lambda: any("广昆高速测试7号气象站" in (e.text or "") for e in phone.find_elements(By.ID, "takeover")),
                 timeout=15, what="the red bar on a phone")
        bar, head = (phone.find_element(By.ID, "takeover").rect, phone.find_element(By.CSS_SELECTOR,
                                                                                   ".wall-header").rect)
        assert bar["y"] <= 1 and head["y"] >= bar["y"] + bar["height"] - 1, (bar, head)  # above, not over, it
        assert bar["width"] <= 390
    for _ in range(3):  # the same message again, as a reconnecting station or broker would redeliver it
        mosquitto.pub(f"zq/441204/road_weather/{STATION}", message)
    # A marker from another station, published after the replays: once it is stored, so are they.
    marker = {**body, "device_id": STATION[:-3] + "778", "name": "标记站", "visibility_m": 9000.0}
    mosquitto.pub(f"zq/441204/road_weather/{marker['device_id']}", json.dumps(marker, ensure_ascii=False))
    engine = create_engine(f"sqlite:///{mqtt_app.log.parent / 'zq.sqlite3'}")

    def marker_stored() -> bool:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM devices WHERE id = :d"), {"d": marker["device_id"]}).first() \
                is not None

    wait_for(marker_stored, what="the replays and the marker stored")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*), max(count) FROM alarms WHERE source = :s"), {"s": STATION}).one()
    assert tuple(rows) == (1, 1)  # one alarm, and the replays did not even count as readings
    assert "红色告警" in banner(browser) and "能见度 32 米" in banner(browser)
    # The banner takes no clicks: the wall's own links still work under it.
    assert browser.execute_script("return getComputedStyle(document.getElementById('takeover')).pointerEvents") \
        == "none"

    # A second red alarm, raised later: the banner puts it first and still names the first (docs/alarms.md).
    second = fog_reading(SECOND, "肇明高速测试9号气象站", 20.0)
    mosquitto.pub(f"zq/441204/road_weather/{SECOND}", json.dumps(second, ensure_ascii=False))
    wait_for(lambda: "肇明高速测试9号气象站" in headline(browser), timeout=15, what="the newer alarm first")
    also = browser.find_element(By.ID, "takeover-also").text
    assert "2 条未确认" in banner(browser) and also.startswith("另有：") and "广昆高速测试7号气象站" in also, also

    with chromium(1920, 1080) as console:  # the duty officer's own screen
        console.get(mqtt_app.url + "/admin/login?next=/alarms")
        console.find_element(By.NAME, "username").send_keys("duty")
        console.find_element(By.NAME, "password").send_keys("zhiban-2021-duty")
        console.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        rows = wait_for(lambda: [r for r in console.find_elements(By.CSS_SELECTOR, "tr.al-row.sev-red")
                                 if "广昆高速测试7号气象站" in r.text], timeout=15, what="the alarm at the console")
        assert "未确认" in rows[0].text
        # Exactly the two alarms the test raised are red and waiting; acknowledge both to free the wall.
        red = wait_for(lambda: len(console.find_elements(By.CSS_SELECTOR, "tr.al-row.sev-red")) == 2 and
                       console.find_elements(By.CSS_SELECTOR, "tr.al-row.sev-red"), what="two red alarms")
        assert sorted("广昆高速测试7号气象站" in r.text for r in red) == [False, True]
        for left in (1, 0):
            click_first(console, "tr.al-row.sev-red:not(.acked) .al-ack")  # the console re-renders on its tick
            wait_for(lambda: console.find_elements(By.ID, "alarm-done"), what="the acknowledgement")
            wait_for(lambda left=left: len(console.find_elements(By.CSS_SELECTOR,
                                                                 "tr.al-row.sev-red:not(.acked) .al-ack")) == left,
                     what="the row marked acknowledged")
        mine = wait_for(lambda: [r for r in console.find_elements(By.CSS_SELECTOR, "tr.al-row")
                                 if "广昆高速测试7号气象站" in r.text and "已确认" in r.text], what="acknowledged by duty")
        assert "duty" in mine[0].text
        assert severe_console_errors(console) == []

    wait_for(lambda: banner(browser) is None, timeout=10, what="the banner gone after acknowledgement")
    assert severe_console_errors(browser) == []
