"""What every page and callback shares: settings, the engine, the registries, the city's geometry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import geopandas as gpd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alerts.engine import AlertEngine
from clock import Clock
from alerts.rules import RuleRegistry
from dashboard.grids import GridProvider
from dashboard.tickcache import LocalTickCache, TickCache
from dashboard.panels import PanelRegistry
from feeds import FeedRegistry
from feeds.health import FeedHealth, feed_health
from geo import City
from measures import MeasureRegistry, devices
from plugins import Problem
from layers import LayerRegistry
from settings import CITY_TZ, Settings
from store import queries as q
from topics import Theme, builtin_themes
from topics.loader import ThemeStore
from words import pick

T = TypeVar("T")


@dataclass
class Registries:
    """The extension points: built-ins and additions register here alike."""

    feeds: FeedRegistry = field(default_factory=FeedRegistry)
    layers: LayerRegistry = field(default_factory=LayerRegistry)
    panels: PanelRegistry = field(default_factory=PanelRegistry)
    rules: RuleRegistry = field(default_factory=RuleRegistry)
    measures: MeasureRegistry = field(default_factory=MeasureRegistry)
    problems: list[Problem] = field(default_factory=list)  # the plugin entries left out, and why


class TtlCache:
    """Values kept for a few seconds, keyed by what they were computed for.

    Several screens and drills showing the same county within one tick read the same header; a dozen keys
    at most, so no eviction beyond expiry is needed (and no dependency for one function).
    """

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, ttl_s: float, compute: Callable[[], T]) -> T:
        """The cached value of key if younger than ttl_s, else compute() (kept for next time)."""
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(key)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[1]
        value = compute()
        with self._lock:
            self._values[key] = (now, value)
        return value


@dataclass
class AppContext:
    """Shared, read-mostly state of one app instance."""

    settings: Settings
    engine: Engine
    registries: Registries
    counties_wall: gpd.GeoDataFrame  # coarse level of detail: the city map stays small
    counties_detail: gpd.GeoDataFrame
    names: dict[str, str]
    names_en: dict[str, str]
    grids: GridProvider
    topics: ThemeStore
    clock: Clock = field(default_factory=Clock)  # the process's one clock (--clock-start); the factory sets it
    cache: TtlCache = field(default_factory=TtlCache)
    ticks: TickCache = field(default_factory=LocalTickCache)  # rendered ticks shared by the screens of a view
    # Drawn from the counties' boundaries alone (a county map's neighbours and outline), once per process: the
    # boundaries are loaded at start and never change while it runs. Not data: never stale.
    shapes: dict[Any, Any] = field(default_factory=dict)
    alerts: AlertEngine | None = None  # set by the factory: the rules over live data
    open_case: Callable[[Session, Any, datetime], Any] | None = None  # alarm → case of the seven steps
    calendar: Any = None  # alerts.calendar.WorkingCalendar: working hours, weekends, public holidays
    # The settings' --city (geo.City: adcode, names, counties, centre), handed to every part; built from the
    # settings when not given.
    city: City = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.city is None:
            self.city = City.load(self.settings.city)

    def now(self) -> datetime:
        """Current time in the city's zone (UTC+8), on the app's clock."""
        return self.clock.now(CITY_TZ)

    def health(self, session: Session) -> dict[str, FeedHealth]:
        """Health of every registered feed, by name."""
        rows = feed_health(q.feed_statuses(session), self.registries.feeds, self.now(),
                           self.settings.stale_after_s)
        return {h.feed: h for h in rows}

    def device_windows(self) -> dict[str, timedelta]:
        """How long a device of each kind may be silent and still count as reporting (measures.devices: the feed's
        offline rule, the same for the map, the device page and the panels)."""
        cadences = {f.name: f.cadence_s for f in self.registries.feeds}
        return {kind: devices.reporting_window(kind, cadences, self.settings.stale_after_s) for kind in cadences}

    def themes(self) -> tuple[Theme, ...]:
        """The themes now (theme files are re-read when they change)."""
        return self.topics.themes() or builtin_themes()

    def theme_keys(self) -> tuple[str, ...]:
        """The keys of the themes now, in tab order (what ?theme= and rotation may name)."""
        return tuple(t.key for t in self.themes())

    def theme(self, key: str) -> Theme:
        """The theme with that key; the first theme when the key is unknown."""
        themes = self.themes()
        return next((t for t in themes if t.key == key), themes[0])

    def theme_for(self, key: str, county: str | None) -> Theme:
        """The theme as the wall of a county shows it: the city's, with the county's override (its panels, its
        owner) when it has one; the city's as it is for the city's wall (county None)."""
        theme = self.theme(key)
        override = self.topics.override(theme.key, county)
        return override.apply(theme) if override is not None else theme

    def theme_for_panels(self, theme: Theme) -> Theme:
        """A theme as the panels read it: every KPI's region spelt out (an unset region is this city)."""
        return theme.for_city(self.city.adcode)

    def county_names(self, lang: str) -> dict[str, str]:
        """The counties' names by adcode in the UI language (the boundaries' own, not catalog words)."""
        return pick(self.names, self.names_en, lang)

    def county_name(self, adcode: str, lang: str) -> str:
        """A county's name in the UI language."""
        return self.county_names(lang).get(adcode, adcode)
