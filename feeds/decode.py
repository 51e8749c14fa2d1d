"""Decode one message: topic → feed, bytes → JSON → validated payload → located county, or a reason."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from feeds.payloads import Payload, is_gbt28181
from feeds.registry import Context, Feed, FeedRegistry
from geo import CountyLocator

MAX_PAYLOAD_BYTES = 256 * 1024
# A message's own time may run this far ahead of its arrival (clocks differ a little); beyond, it is refused.
MAX_FUTURE_S = 300
WHERE_CACHE = 200_000  # remembered positions; a fixed device costs one lookup, ever


@dataclass(slots=True)  # not frozen: built once per message, and a frozen dataclass costs three times as much
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
                 county_names: dict[str, str] | None = None, max_future_s: float = MAX_FUTURE_S,
                 derived: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self.max_future = timedelta(seconds=max_future_s)
        # KPI keys the app derives from raw data itself (key → how): one number has one source, so a business
        # system's message for one of them is refused rather than shown beside the derived figure. A live
        # mapping (the measure registry's) also answers for the measures theme files define as they change.
        self.derived: Mapping[str, str] = derived if derived is not None else {}
        self.feeds = feeds
        self.locator = locator
        self.city = city
        self.counties: Collection[str] = frozenset(locator.adcodes)
        self.names = county_names or {}
        self._where: dict[tuple[float, float], str | None] = {}
        # The time fields each payload model has: a missing attribute costs pydantic a slow fallback lookup.
        self._times: dict[type, tuple[str, ...]] = {}

    def _county(self, code: str) -> str:
        name = self.names.get(code)
        return f"{code} ({name})" if name else code

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> Accepted | Rejected:
        """Decode and validate one message; never raises for bad input."""
        checked = self._check(topic, payload)
        if isinstance(checked, Rejected):
            return checked
        return self._place(checked, self.where(*checked.position) if checked.position else None, received_at)

    def decode_many(self, messages: Sequence[_Raw]) -> list[Accepted | Rejected]:
        """Decode a batch: the same checks, with the new positions located in one vectorised query."""
        checked = [self._check(m.topic, m.payload) for m in messages]
        todo = {c.position for c in checked
                if isinstance(c, _Checked) and c.position is not None and c.position not in self._where}
        if todo:
            points = list(todo)
            found = self.locator.locate([p[0] for p in points], [p[1] for p in points])
            self._remember(dict(zip(points, found, strict=True)))
        return [c if isinstance(c, Rejected)
                else self._place(c, self._where[c.position] if c.position else None, m.received_at)
                for c, m in zip(checked, messages, strict=True)]

    def where(self, lon: float, lat: float) -> str | None:
        """The county of a position, remembered: devices report from the same place again and again."""
        key = (lon, lat)
        if key not in self._where:
            self._remember({key: self.locator.locate_one(lon, lat)})
        return self._where[key]

    def _remember(self, found: dict[tuple[float, float], str | None]) -> None:
        if len(self._where) + len(found) > WHERE_CACHE:
            self._where.clear()  # moving devices: start over rather than grow without bound
        self._where.update(found)

    def _check(self, topic: str, payload: bytes) -> _Checked | Rejected:
        """Everything except the point-in-county lookup."""
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
        if b"\\u0000" in payload:
            return Rejected("payload contains a NUL character (\\u0000), which text fields cannot keep", feed.name)
        try:
            data = orjson.loads(payload)  # strict JSON (no NaN); its error message says where
        except orjson.JSONDecodeError as e:
            return Rejected(f"payload is not valid UTF-8 JSON: {e}", feed.name)
        if not isinstance(data, dict):
            return Rejected(f"payload must be a JSON object, got {type(data).__name__}", feed.name)
        try:
            # Strict JSON types, as docs/schemas publish them: a number where the schema says string, true where it
            # says number, or a Unix time where it says an ISO time is refused, never coerced (lax mode stored
            # "ts": 12345 as 1970 and true as 1.0).
            model: Payload = feed.payload.model_validate_json(payload, strict=True)
        except ValidationError as e:
            return Rejected(f"invalid {feed.name} payload: {explain(e)}", feed.name)

        key_value = getattr(model, feed.key_field)
        if key_value != key:
            return Rejected(f"topic names {feed.key_field} {key!r} but the payload says {key_value!r}", feed.name)
        if feed.region_field is not None:
            region = getattr(model, feed.region_field)
            if region != county:
                return Rejected(f"topic names region {county} but the payload says {region}", feed.name)
            if key in self.derived:
                return Rejected(f"{key} is not accepted as a KPI: the dashboard derives it from the stored raw "
                                f"data ({self.derived[key]}); publish that raw data instead", feed.name)
        if is_gbt28181(key) and key[:6] != county:
            return Rejected(
                f"GB/T 28181 id {key} belongs to county {self._county(key[:6])} "
                f"but was published under county {self._county(county)}", feed.name)
        # A located feed's payload has lon and lat (Feed.located says so); an isinstance against a protocol
        # would cost more than the rest of the decode on this path.
        position = (model.lon, model.lat) if feed.located else None  # type: ignore[attr-defined]
        return _Checked(topic, feed, model, county, position)

    def _place(self, c: _Checked, located: str | None, received_at: datetime) -> Accepted | Rejected:
        # The clock discipline: a message from the future is refused, not clamped. Its time would otherwise move
        # latest values, a device's last sighting, a KPI's newest value and every rule's memory past all the
        # honest data to come (one 2099 reading silenced a device's alarms); a clamped time would be a made-up
        # one. Refused, it is kept in dead letters with its reason, where the device's fast clock shows.
        model = c.model
        times = self._times.get(type(model))
        if times is None:
            fields = type(model).model_fields
            times = self._times[type(model)] = tuple(n for n in ("ts", "reported_at") if n in fields)
        for name in times:
            at = getattr(model, name)
            if at is not None and at - received_at > self.max_future:
                return Rejected(f"{name} {at.isoformat()} is {_span(at - received_at)} ahead of its arrival "
                                f"{received_at.isoformat(timespec='seconds')}; times more than "
                                f"{self.max_future.total_seconds():g} s ahead are refused (is the sender's clock "
                                f"fast?)", c.feed.name)
        if c.position is not None and located is None:
            return Rejected(f"coordinates ({c.position[0]}, {c.position[1]}) are outside the city {self.city}",
                            c.feed.name)
        ctx = Context(topic=c.topic, declared_adcode=c.county, county_adcode=located, received_at=received_at)
        return Accepted(feed=c.feed, payload=c.model, context=ctx)


def _span(d: timedelta) -> str:
    """A time difference in the largest unit that says it: 73 years, 4 days, 12 minutes, 40 s."""
    seconds = d.total_seconds()
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


@dataclass(slots=True)
class _Checked:
    """A message that passed every check but the location."""

    topic: str
    feed: Feed
    model: Any
    county: str
    position: tuple[float, float] | None


class _Raw(Protocol):
    topic: str
    payload: bytes
    received_at: datetime
