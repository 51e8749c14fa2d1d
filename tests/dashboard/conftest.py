"""Fixtures of the browser tests: one live app for the package, a fresh Chromium per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.browser import LiveApp, chromium, live_app


@pytest.fixture(scope="package")
def app() -> Iterator[LiveApp]:
    """The dashboard as `python app.py` with its defaults (simulator, SQLite), shared by the browser tests."""
    with live_app() as a:
        yield a


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium at 1920×1080."""
    with chromium(1920, 1080) as d:
        yield d
