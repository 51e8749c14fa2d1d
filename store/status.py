"""Read queries for feed and device health: devices per feed and county, the longest-silent devices.

A device is offline when its `last_seen` is older than its kind's cutoff; the caller (feeds/health.py)
computes the cutoffs from each feed's cadence, so the rule lives in one place and these stay plain reads.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from store.models import Device, LatestValue


@dataclass(frozen=True)
class DeviceCount:
    """Devices of one kind in one county: how many, and how many are offline."""

    kind: str
    county_adcode: str | None
    total: int
    offline: int

    @property
    def online(self) -> int:
        """Devices that reported within their cutoff."""
        return self.total - self.offline


@dataclass(frozen=True)
class SilentDevice:
    """A device past its cutoff, with when it last reported."""

    id: str
    kind: str
    name: str | None
    county_adcode: str | None
    last_seen: datetime


@dataclass(frozen=True)
class StreamCount:
    """Reporting devices of one kind in one county by the state of a flag metric (a video stream)."""

    kind: str
    county_adcode: str | None
    up: int
    down: int


def device_counts(session: Session, cutoffs: Mapping[str, datetime]) -> list[DeviceCount]:
    """Devices per (kind, county) of the kinds in `cutoffs`; offline = last_seen before its kind's cutoff."""
    if not cutoffs:
        return []
    offline = case(*[(and_(Device.kind == k, Device.last_seen < c), 1) for k, c in cutoffs.items()], else_=0)
    stmt = (
        select(Device.kind, Device.county_adcode, func.count(), func.sum(offline))
        .where(Device.kind.in_(list(cutoffs)))
        .group_by(Device.kind, Device.county_adcode)
        .order_by(Device.kind, Device.county_adcode)
    )
    return [DeviceCount(k, c, int(n), int(off or 0)) for k, c, n, off in session.execute(stmt)]


def offline_devices(session: Session, cutoffs: Mapping[str, datetime], limit: int = 20) -> list[SilentDevice]:
    """The offline devices silent longest, at most `limit`, oldest last_seen first."""
    # One range scan per kind on (kind, last_seen), each already in order and cut at `limit`, then
    # merged: no sort of the whole offline set, however large an outage is.
    per_kind = []
    for kind, cutoff in sorted(cutoffs.items()):
        stmt = (
            select(Device.id, Device.kind, Device.name, Device.county_adcode, Device.last_seen)
            .where(Device.kind == kind, Device.last_seen < cutoff)
            .order_by(Device.last_seen, Device.id)
            .limit(limit)
        )
        per_kind.append([SilentDevice(*r) for r in session.execute(stmt)])
    merged = heapq.merge(*per_kind, key=lambda d: (d.last_seen, d.id))
    return [d for _, d in zip(range(limit), merged, strict=False)]


def stream_counts(session: Session, flags: Mapping[str, str], cutoffs: Mapping[str, datetime]
                  ) -> list[StreamCount]:
    """Reporting devices of kinds with a flag metric (kind → metric) by its latest value: up (> 0.5) or down.

    Only devices still reporting are counted: an offline device's last flag says nothing about now.
    """
    kinds = [k for k in flags if k in cutoffs]
    if not kinds:
        return []
    which = or_(*[and_(LatestValue.feed == k, LatestValue.metric == flags[k], Device.last_seen >= cutoffs[k])
                  for k in kinds])
    down = func.sum(case((LatestValue.value > 0.5, 0), else_=1))
    stmt = (
        select(Device.kind, Device.county_adcode, func.count(), down)
        .select_from(LatestValue)
        .join(Device, Device.id == LatestValue.device_id)
        .where(which, Device.kind == LatestValue.feed)
        .group_by(Device.kind, Device.county_adcode)
        .order_by(Device.kind, Device.county_adcode)
    )
    return [StreamCount(k, c, int(n) - int(d or 0), int(d or 0)) for k, c, n, d in session.execute(stmt)]
