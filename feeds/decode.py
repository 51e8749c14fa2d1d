"""Decode one message: topic → feed, bytes → JSON → validated payload → located county, or a reason."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from feeds.payloads import Payload, is_gbt28181
from feeds.registry import Context, Feed, FeedRegistry
from geo import CountyLocator

MAX_PAYLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class Accepted:
    """A message that passed every check, ready to become rows."""

    feed: Feed
    payload: Any
    context: Context


@dataclass(frozen=True)
class Rejected:
    """A message refused, with the reason kept beside it in dead letters."""

    reason: str
    feed: str | None


def explain(err: ValidationError) -> str:
    """One line naming each bad field and what is wrong with it."""
    parts = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(x) for x in e["loc"]) or "payload"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


class Decoder:
    """Checks a message against the topic scheme, its feed's model and the city's geography."""

    def __init__(self, prefix: str, feeds: FeedRegistry, locator: CountyLocator, city: str,
                 county_names: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.feeds = feeds
        self.locator = locator
        self.city = city
        self.counties: Collection[str] = frozenset(locator.adcodes)
        self.names = county_names or {}

    def _county(self, code: str) -> str:
        name = self.names.get(code)
        return f"{code} ({name})" if name else code

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> Accepted | Rejected:
        """Decode and validate; never raises for bad input."""
        levels = topic.split("/")
        if len(levels) != 4 or levels[0] != self.prefix or not all(levels):
            return Rejected(f"topic {topic!r} does not follow {self.prefix}/{{county}}/{{feed}}/{{device}}", None)
        _, county, feed_name, key = levels
        feed = self.feeds.get(feed_name)
        if feed is None:
            return Rejected(f"unknown feed {feed_name!r}; known feeds: {', '.join(self.feeds.names())}", None)
        region_ok = county in self.counties or (feed.region_field is not None and county == self.city)
        if not region_ok:
            return Rejected(f"topic county {county!r} is not a county of {self.city}", feed.name)
        if len(payload) > MAX_PAYLOAD_BYTES:
            return Rejected(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}", feed.name)
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError as e:
            return Rejected(f"payload is not valid UTF-8 JSON: {e}", feed.name)
        if not isinstance(data, dict):
            return Rejected(f"payload must be a JSON object, got {type(data).__name__}", feed.name)
        try:
            model: Payload = feed.payload.model_validate(data)
        except ValidationError as e:
            return Rejected(f"invalid {feed.name} payload: {explain(e)}", feed.name)

        key_value = getattr(model, feed.key_field)
        if key_value != key:
            return Rejected(f"topic names {feed.key_field} {key!r} but the payload says {key_value!r}", feed.name)
        if feed.region_field is not None:
            region = getattr(model, feed.region_field)
            if region != county:
                return Rejected(f"topic names region {county} but the payload says {region}", feed.name)
        if is_gbt28181(key) and key[:6] != county:
            return Rejected(
                f"GB/T 28181 id {key} belongs to county {self._county(key[:6])} "
                f"but was published under county {self._county(county)}", feed.name)

        located: str | None = None
        if feed.located:
            lon, lat = model.lon, model.lat  # type: ignore[attr-defined]
            located = self.locator.locate_one(lon, lat)
            if located is None:
                return Rejected(f"coordinates ({lon}, {lat}) are outside the city {self.city}", feed.name)
        ctx = Context(topic=topic, declared_adcode=county, county_adcode=located, received_at=received_at)
        return Accepted(feed=feed, payload=model, context=ctx)
