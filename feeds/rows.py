"""Row makers' shared pieces: a device row and one message's observations."""

from __future__ import annotations

from typing import Any

from feeds.payloads import DevicePayload
from feeds.registry import Context
from store import Batch


def device_row(kind: str, p: DevicePayload, ctx: Context, attrs: dict[str, Any]) -> dict[str, Any]:
    """The devices row of a located device's message; `kind` is its feed."""
    return {
        "id": p.device_id, "kind": kind, "name": p.name, "county_adcode": ctx.county_adcode,
        "declared_adcode": ctx.declared_adcode, "lon": p.lon, "lat": p.lat, "first_seen": p.ts,
        "last_seen": p.ts, "attrs": attrs,
    }


def observe(batch: Batch, feed: str, p: DevicePayload, ctx: Context, values: dict[str, float | None]) -> None:
    """Add a message's values (None ones dropped) as one observation."""
    batch.add_observations(p.device_id, feed, p.ts, ctx.county_adcode,
                           {m: float(v) for m, v in values.items() if v is not None})
