"""Small indexed read queries that panels and endpoints run on every tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from store.models import DeadLetter, Device, FeedStatus, GridEvent, KpiMetric, LatestValue


def open_events_by_county(session: Session) -> dict[str, int]:
    """Open (not closed) grid events per county adcode."""
    stmt = (
        select(GridEvent.county_adcode, func.count())
        .where(GridEvent.closed_at.is_(None))
        .group_by(GridEvent.county_adcode)
    )
    return {c: n for c, n in session.execute(stmt) if c is not None}


def open_events_by_step(session: Session, county: str | None = None) -> dict[int, int]:
    """Open grid events per workflow step, for the city or one county."""
    stmt = select(GridEvent.step, func.count()).where(GridEvent.closed_at.is_(None))
    if county:
        stmt = stmt.where(GridEvent.county_adcode == county)
    return dict(session.execute(stmt.group_by(GridEvent.step)).all())


def open_events(session: Session, county: str, limit: int = 500) -> list[GridEvent]:
    """Open cases of one county, most recently updated first."""
    stmt = (select(GridEvent).where(GridEvent.closed_at.is_(None), GridEvent.county_adcode == county)
            .order_by(GridEvent.updated_at.desc()).limit(limit))
    return list(session.scalars(stmt))


def recent_events(session: Session, limit: int = 10, county: str | None = None) -> list[GridEvent]:
    """The most recently updated grid events."""
    stmt = select(GridEvent).order_by(GridEvent.updated_at.desc()).limit(limit)
    if county:
        stmt = stmt.where(GridEvent.county_adcode == county)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class LatestRow:
    """One device's newest value of one metric, with where the device is."""

    device_id: str
    name: str | None
    county_adcode: str | None
    metric: str
    ts: datetime
    value: float


def latest_values(
    session: Session, feed: str, metrics: list[str] | None = None, county: str | None = None
) -> list[LatestRow]:
    """Newest values of a feed's devices, optionally of some metrics or one county."""
    return latest_values_by_feed(session, {feed: metrics}, county)[feed]


def latest_values_by_feed(
    session: Session, wanted: Mapping[str, Sequence[str] | None], county: str | None = None
) -> dict[str, list[LatestRow]]:
    """`latest_values` of several feeds (feed → its metrics, None for all) in one statement: {feed: rows}.

    A metric ending in `.*` names a family by prefix (`detection.*`).
    """
    which = [LatestValue.feed == f if not m else and_(LatestValue.feed == f, _metric_filter(m))
             for f, m in wanted.items()]
    stmt = (
        select(LatestValue.feed, LatestValue.device_id, Device.name, LatestValue.county_adcode,
               LatestValue.metric, LatestValue.ts, LatestValue.value)
        .join(Device, Device.id == LatestValue.device_id)
        .where(or_(*which))
    )
    if county:
        stmt = stmt.where(LatestValue.county_adcode == county)
    out: dict[str, list[LatestRow]] = {f: [] for f in wanted}
    stmt = stmt.order_by(LatestValue.feed, LatestValue.device_id, LatestValue.metric)
    for feed, device_id, name, county_adcode, metric, ts, value in session.execute(stmt):
        out[feed].append(LatestRow(device_id, name, county_adcode, metric, ts, value))
    return out


def _metric_filter(metrics: Sequence[str]) -> ColumnElement[bool]:
    """Metrics by name, and families by prefix (`detection.*`)."""
    exact = [m for m in metrics if not m.endswith(".*")]
    families = [LatestValue.metric.startswith(m[:-1], autoescape=True) for m in metrics if m.endswith(".*")]
    return or_(*([LatestValue.metric.in_(exact)] if exact else []), *families)


def devices(session: Session, county: str | None = None, kind: str | None = None) -> list[Device]:
    """Devices, optionally of one county (by coordinates) and one kind."""
    stmt = select(Device).order_by(Device.kind, Device.id)
    if county:
        stmt = stmt.where(Device.county_adcode == county)
    if kind:
        stmt = stmt.where(Device.kind == kind)
    return list(session.scalars(stmt))


def feed_statuses(session: Session) -> list[FeedStatus]:
    """Every feed's counters and last message time."""
    return list(session.scalars(select(FeedStatus).order_by(FeedStatus.feed)))


def recent_dead_letters(session: Session, limit: int = 20) -> list[DeadLetter]:
    """The newest dead letters, for the operator to see what was refused and why."""
    return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)))


def dead_letter_count(session: Session) -> int:
    """All dead letters kept."""
    return session.scalar(select(func.count()).select_from(DeadLetter)) or 0


@lru_cache(maxsize=64)
def _latest_kpis_statement(n: int) -> Select[KpiMetric]:
    """The newest row of n keys in one region: one seek per key on the unique (key, region, ts) index.

    Built once per n with bound parameters: building it cost more than running it.
    """
    newest = [select(KpiMetric.id)
              .where(KpiMetric.key == bindparam(f"k{i}"), KpiMetric.region == bindparam("region"))
              .order_by(KpiMetric.ts.desc()).limit(1).scalar_subquery() for i in range(n)]
    return select(KpiMetric).where(KpiMetric.id.in_(newest))


def latest_kpis(session: Session, keys: list[str], region: str) -> dict[str, KpiMetric]:
    """The newest value of each KPI key for one region."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    # A GROUP BY max(ts) read every row of each key's history: with 29 keys and a week at a value a minute
    # the plan panel took 54 ms a tick (`make bench`, wall); these seeks take the same time at any history.
    params = {"region": region, **{f"k{i}": k for i, k in enumerate(keys)}}
    return {k.key: k for k in session.scalars(_latest_kpis_statement(len(keys)), params)}


def kpi_by_region(session: Session, key: str, regions: list[str]) -> dict[str, float]:
    """The newest value of one KPI for each of several regions (counties)."""
    newest = (
        select(KpiMetric.region, func.max(KpiMetric.ts).label("ts"))
        .where(KpiMetric.key == key, KpiMetric.region.in_(regions))
        .group_by(KpiMetric.region)
        .subquery()
    )
    stmt = select(KpiMetric.region, KpiMetric.value).join(
        newest, (KpiMetric.region == newest.c.region) & (KpiMetric.ts == newest.c.ts)
    ).where(KpiMetric.key == key)
    return dict(session.execute(stmt).all())


def rejected_outside_city(session: Session, limit: int = 200) -> list[DeadLetter]:
    """Dead letters refused because their coordinates lie outside the city, newest first."""
    # The decoder's reason reads "coordinates (lon, lat) are outside the city <adcode>" (feeds/decode.py).
    return list(session.scalars(select(DeadLetter).where(DeadLetter.reason.like("coordinates %outside the city%"))
                                .order_by(DeadLetter.last_received_at.desc()).limit(limit)))
