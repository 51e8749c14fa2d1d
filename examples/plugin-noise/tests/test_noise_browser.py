"""The plugin on the wall, in headless Chromium: sound-level meters publish through mosquitto_pub to a real
Mosquitto, the app (started with the plugin selected and the example theme beside the packaged ones) shows their
levels in the plugin's panel and its point map, and the plugin's rule raises an alarm the theme's alarm list shows.

The app runs without its simulator: the only readings are the test's own."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from clock import process_clock
from tests.browser import LiveApp, chromium, live_app, severe_console_errors, wait_for
from tests.servers import Mosquitto, mosquitto_broker
from topics.loader import BUILTIN_DIR

pytestmark = pytest.mark.browser
HERE = Path(__file__).resolve().parents[1]
LOUD, QUIET = "NZ441202-0001", "NZ441203-0002"


@pytest.fixture(scope="module")
def broker() -> Iterator[Mosquitto]:
    """A real Mosquitto of this module's own."""
    with mosquitto_broker() as b:
        yield b


@pytest.fixture(scope="module")
def app(broker: Mosquitto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app with the plugin selected (ZQ_PLUGINS) and the example theme dropped in beside the packaged ones:
    nothing of the core is edited to show it."""
    topics = tmp_path_factory.mktemp("topics")
    for path in (*BUILTIN_DIR.glob("*.yaml"), HERE / "themes" / "noise.yaml"):
        shutil.copy(path, topics / path.name)
    with live_app("--mqtt", broker.url, "--no-simulate", "--tick-seconds", "1", "--topics-dir", str(topics),
                  "--mqtt-client-id", "zq-noise-test", env={"ZQ_PLUGINS": "zq-plugin-noise"},
                  feeds_ready=False, subscribed=True) as a:
        yield a


def reading(device_id: str, name: str, lon: float, lat: float, laeq_db: float) -> str:
    """A meter's reading stamped now on the app's clock (the test and the app share ZQ_CLOCK_START)."""
    return json.dumps({"device_id": device_id, "ts": process_clock().now().isoformat(), "lon": lon, "lat": lat,
                       "name": name, "laeq_db": laeq_db, "lmax_db": laeq_db + 9.5, "zone": "4a"},
                      ensure_ascii=False)


def body(d: WebDriver, panel: str) -> str:
    """The text of one panel's body ('' until it is drawn)."""
    found = d.find_elements(By.CSS_SELECTOR, f".{panel}-panel .panel-body")
    return found[0].text if found else ""


def test_published_noise_levels_show_in_the_plugins_panel_and_its_rule_raises_an_alarm(
        app: LiveApp, broker: Mosquitto) -> None:
    health = wait_for(lambda: (h := app.get_json("/healthz"))["process"].get("subscribed") and h,
                      what="the app's subscription to the broker")
    assert "noise" in [f["feed"] for f in health["feeds"]]  # the plugin's feed, watched like the built-ins
    broker.pub(f"zq/441202/noise/{LOUD}", reading(LOUD, "端州测试噪声站", 112.4825, 23.1073, 74.5))
    broker.pub(f"zq/441203/noise/{QUIET}", reading(QUIET, "鼎湖测试噪声站", 112.6137, 23.2050, 58.2))
    with chromium() as d:
        d.get(f"{app.url}/?theme=noise")
        wait_for(lambda: "鼎湖测试噪声站" in body(d, "noise_level"), timeout=30, what="the noise panel's meters")
        rows = d.find_elements(By.CSS_SELECTOR, ".noise_level-panel .noise-row")
        assert [r.get_attribute("data-device") for r in rows] == [LOUD, QUIET]  # loudest first
        assert [r.find_element(By.CSS_SELECTOR, ".noise-value").text for r in rows] == ["74.5", "58.2"]
        assert "noise-loud" in rows[0].get_attribute("class") and "noise-loud" not in rows[1].get_attribute("class")
        assert "2 站中 1 站达到 70 dB(A)" in body(d, "noise_level")
        meta = d.find_element(By.CSS_SELECTOR, ".noise_level-panel .panel-meta").text
        assert "数据时间" in meta and "延迟" not in meta
        # The built-in device map draws the plugin's kind: two meters online.
        wait_for(lambda: "在线\n2" in body(d, "point_layer"), what="the point map's counts")
        # The plugin's rule kind, judged by the alert engine over the ingested reading.
        alarms = wait_for(lambda: "端州测试噪声站 噪声 74.5 dB(A)，限值 70" in (b := body(d, "alarm_list")) and b,
                          timeout=30, what="the noise alarm in the theme's alarm list")
        assert "鼎湖测试噪声站" not in alarms
        d.get(f"{app.url}/?theme=noise&lang=en")
        wait_for(lambda: "1 of 2 at or above 70 dB(A)" in body(d, "noise_level"), what="the panel in English")
        wait_for(lambda: "端州测试噪声站: noise 74.5 dB(A), limit 70" in body(d, "alarm_list"), what="the alarm")
        assert severe_console_errors(d) == []
