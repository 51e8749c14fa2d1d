"""A real headless Chromium (Debian chromium + chromedriver) driven by Selenium, and the app as a process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.servers import free_port, wait_for_port
from tests.waiting import wait_until
from tests.conftest import migrated_sqlite

ROOT = Path(__file__).resolve().parent.parent


def chromium_paths() -> tuple[str, str]:
    """The Chromium binary and its driver; both come from Debian packages."""
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    for p in (binary, driver):
        if not Path(p).exists():
            raise RuntimeError(f"{p} not found: `make test` installs Debian chromium and chromium-driver")
    return binary, driver


@contextmanager
def chromium(width: int = 1920, height: int = 1080) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with console logging, kept off the network."""
    binary, driver = chromium_paths()
    profile = tempfile.mkdtemp(prefix="zq-chrome-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def screen(width: int, height: int, mobile: bool = False) -> Iterator[webdriver.Chrome]:
    """Chromium showing a page at exactly width × height CSS px (a headless window is at least 500 px wide, so
    a phone's viewport is set by emulation, as DevTools' device mode does)."""
    with chromium(max(width, 500), height) as d:
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        yield d


@dataclass
class LiveApp:
    """The dashboard running as `python app.py` on a free port."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    cmd: list[str] | None = None
    env: dict[str, str] | None = None

    @property
    def popen(self) -> subprocess.Popen[bytes]:
        """The process, as tests.waiting watches it."""
        return self.proc

    def output(self) -> str:
        """What the process has printed so far."""
        return self.log.read_text(errors="replace")

    def get_json(self, path: str) -> dict:
        """GET a JSON endpoint of the app."""
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the process (SIGTERM: gracefully) and return its exit code."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def start(self, ready_s: float = 30.0) -> None:
        """Start it again, on the same port and store, and wait until it answers."""
        assert self.cmd is not None
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        wait_for_port(int(self.url.rsplit(":", 1)[1]), ready_s)


@contextmanager
def live_app(*args: str, env: dict[str, str] | None = None, ready_s: float = 30.0,
             feeds_ready: bool = True, subscribed: bool = False) -> Iterator[LiveApp]:
    """Start the app as a user would, wait until it answers (and, unless told not to, until every feed has
    reported: an app run with --no-simulate waits for the test's own messages; with `subscribed`, until the broker
    acknowledged its subscription, so a message the test publishes next is not sent before anyone listens),
    stop it after."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="zq-app-"))
    log = workdir / "app.log"
    cmd = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--db", migrated_sqlite(workdir / 'zq.sqlite3'),
           *args]
    full_env = {**os.environ, **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=full_env)
    app = LiveApp(f"http://127.0.0.1:{port}", proc, log, cmd, full_env)
    try:
        wait_for_port(port, ready_s)
        wait_until(lambda: (health := app.get_json("/healthz")) and (
                   not feeds_ready or all(f["messages"] > 0 for f in health["feeds"])) and (
                   not subscribed or health.get("process", {}).get("subscribed")),
                   "the app to answer /healthz" + (" with every feed reported" if feeds_ready else "")
                   + (" subscribed to the broker" if subscribed else ""), ready_s, {"app": app}, interval=0.2)
        yield app
    finally:
        app.proc.terminate()
        try:
            app.proc.wait(10)
        except subprocess.TimeoutExpired:
            app.proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


COUNTY_TRACES = """
const g = document.querySelector('#%s .js-plotly-plot');
if (!g || !g._fullData) return null;
return g._fullData.filter(t => t.meta && t.meta.layer === 'county_choropleth').map(t => t.meta.adcode);
"""


def wait_for(fn: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """tests.waiting.wait_until for a page: an element replaced mid-read (the page re-rendered) is read again."""
    return wait_until(fn, what, timeout, retry_on=(StaleElementReferenceException,))


def severe_console_errors(d: WebDriver) -> list[dict[str, Any]]:
    """Console entries at error level."""
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE"]


def county_shapes(d: WebDriver, graph_id: str) -> list[str]:
    """Adcodes of the county shapes plotly drew, with one filled SVG path each."""
    adcodes = d.execute_script(COUNTY_TRACES % graph_id) or []
    fills = d.find_elements(By.CSS_SELECTOR, f"#{graph_id} .scatterlayer path.js-fill")
    drawn = [f for f in fills if (f.get_attribute("d") or "").strip() not in ("", "M0,0Z")]
    return adcodes if len(drawn) >= len(adcodes) else []
