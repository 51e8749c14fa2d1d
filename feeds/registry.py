"""The feed registry: what each feed's payload is, how often it reports, and the rows it makes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from feeds.payloads import Payload
from store import Batch


@dataclass(frozen=True)
class Context:
    """Where a validated message came from and where it is."""

    topic: str
    declared_adcode: str  # the county level of the topic
    county_adcode: str | None  # the county its coordinates fall in (None for KPIs)
    received_at: datetime


RowMaker = Callable[[Batch, Any, Context], None]


@dataclass(frozen=True)
class Feed:
    """One kind of input: its payload model, expected cadence and how it becomes rows."""

    name: str
    title_zh: str
    title_en: str
    payload: type[Payload]
    cadence_s: int
    to_rows: RowMaker
    key_field: str = "device_id"  # the payload field the topic's last level must repeat
    located: bool = True  # whether the payload has lon/lat that must fall inside the city
    region_field: str | None = None  # for feeds keyed by region rather than position (KPIs)


class FeedRegistry:
    """Feeds by name; the built-ins register through the same call an addition uses."""

    def __init__(self) -> None:
        self._feeds: dict[str, Feed] = {}

    def register(self, feed: Feed) -> Feed:
        """Add a feed; a second feed of the same name is an error, not a silent override."""
        if feed.name in self._feeds:
            raise ValueError(f"feed {feed.name!r} is already registered")
        if "/" in feed.name or "+" in feed.name or "#" in feed.name:
            raise ValueError(f"feed name {feed.name!r} cannot be an MQTT topic level")
        self._feeds[feed.name] = feed
        return feed

    def set_cadence(self, name: str, seconds: int) -> None:
        """Change a feed's expected cadence (deployments differ in how often devices report)."""
        if name not in self._feeds:
            raise ValueError(f"cannot set the cadence of unknown feed {name!r}; known: {', '.join(self._feeds)}")
        if seconds <= 0:
            raise ValueError(f"cadence of {name!r} must be positive, got {seconds}")
        self._feeds[name] = replace(self._feeds[name], cadence_s=seconds)

    def get(self, name: str) -> Feed | None:
        """The feed of that name, if registered."""
        return self._feeds.get(name)

    def __iter__(self) -> Iterator[Feed]:
        return iter(self._feeds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._feeds

    def names(self) -> list[str]:
        """Registered feed names, in registration order."""
        return list(self._feeds)
