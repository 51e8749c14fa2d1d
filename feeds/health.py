"""Feed health: last message, counters, and whether a feed is stale against its cadence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from feeds.registry import FeedRegistry
from store.models import FeedStatus

# A feed is stale when nothing arrived for this many cadences (or the configured floor, if longer).
STALE_CADENCES = 3


@dataclass(frozen=True)
class FeedHealth:
    """What /healthz and the panels say about one feed."""

    feed: str
    title_zh: str
    title_en: str
    cadence_s: int
    last_message_at: datetime | None
    last_received_at: datetime | None
    age_s: float | None
    stale: bool
    messages: int
    dead_letters: int

    def as_json(self) -> dict[str, object]:
        """JSON-ready dict with ISO 8601 times."""
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return {"feed": self.feed, "title_zh": self.title_zh, "title_en": self.title_en,
                "cadence_s": self.cadence_s, "last_message_at": iso(self.last_message_at),
                "last_received_at": iso(self.last_received_at),
                "age_s": None if self.age_s is None else round(self.age_s, 1), "stale": self.stale,
                "messages": self.messages, "dead_letters": self.dead_letters}


def stale_after(cadence_s: int, floor_s: int) -> int:
    """Seconds of silence after which a feed of this cadence is stale."""
    return max(STALE_CADENCES * cadence_s, floor_s)


def feed_health(statuses: Iterable[FeedStatus], feeds: FeedRegistry, now: datetime, floor_s: int) -> list[FeedHealth]:
    """Health of every registered feed; a feed never heard from is stale."""
    by_feed = {s.feed: s for s in statuses}
    out = []
    for f in feeds:
        s = by_feed.get(f.name)
        received = s.last_received_at if s else None
        # Age counts from the last good message's arrival; dead letters do not keep a feed fresh.
        last_good = s.last_message_at if s else None
        age = (now - min(received, now)).total_seconds() if received and last_good else None
        out.append(FeedHealth(
            feed=f.name, title_zh=f.title_zh, title_en=f.title_en, cadence_s=f.cadence_s,
            last_message_at=last_good, last_received_at=received, age_s=age,
            stale=age is None or age > stale_after(f.cadence_s, floor_s),
            messages=s.messages if s else 0, dead_letters=s.dead_letters if s else 0,
        ))
    return out
