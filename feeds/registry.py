"""The feed registry: what each feed's payload is, how often it reports, and the rows it makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from feeds.payloads import Payload
from plugins import Registry
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


class FeedRegistry(Registry[Feed]):
    """Feeds by name; the built-ins register through the same call an addition (a plugin, zq.feeds) uses."""

    def __init__(self) -> None:
        super().__init__("feed", lambda f: f.name, lambda o: isinstance(o, Feed))

    def check_name(self, name: str) -> None:
        """A feed's name is a level of its MQTT topics."""
        super().check_name(name)
        if "/" in name or "+" in name or "#" in name:
            raise ValueError(f"feed name {name!r} cannot be an MQTT topic level")

    def set_cadence(self, name: str, seconds: int) -> None:
        """Change a feed's expected cadence (deployments differ in how often devices report)."""
        if name not in self:
            raise ValueError(f"cannot set the cadence of unknown feed {name!r}; known: "
                             f"{', '.join(self.names())}")
        if seconds <= 0:
            raise ValueError(f"cadence of {name!r} must be positive, got {seconds}")
        self.replace(name, replace(self[name], cadence_s=seconds))

    def devices(self) -> list[str]:
        """The feeds whose messages are located devices (a device id, a position): the device kinds."""
        return [f.name for f in self if f.located and f.key_field == "device_id"]
