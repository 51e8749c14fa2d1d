"""What every page and callback shares: settings, the engine, the registries, the city's geometry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import geopandas as gpd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard.grids import GridProvider
from dashboard.panels import PanelRegistry
from feeds import FeedRegistry
from feeds.health import FeedHealth, feed_health
from layers import LayerRegistry
from settings import CITY_TZ, Settings
from store import queries as q


@dataclass
class Registries:
    """The extension points: built-ins and additions register here alike."""

    feeds: FeedRegistry = field(default_factory=FeedRegistry)
    layers: LayerRegistry = field(default_factory=LayerRegistry)
    panels: PanelRegistry = field(default_factory=PanelRegistry)


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

    def now(self) -> datetime:
        """Current time in the city's zone (UTC+8)."""
        return datetime.now(CITY_TZ)

    def health(self, session: Session) -> dict[str, FeedHealth]:
        """Health of every registered feed, by name."""
        rows = feed_health(q.feed_statuses(session), self.registries.feeds, self.now(),
                           self.settings.stale_after_s)
        return {h.feed: h for h in rows}

    def county_name(self, adcode: str, lang: str) -> str:
        """A county's name in the UI language."""
        return (self.names_en if lang == "en" else self.names).get(adcode, adcode)
