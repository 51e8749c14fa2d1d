"""Drill-down reads: a county's cases and devices, one device, one case, a past moment replayed, data checks.

Each takes a Session and never opens one, and returns frozen dataclasses, named tuples or plain dicts rather
than ORM objects, so a caller may keep the answer after its session closes. Time ranges on grid events are index
ranges on reported_at (alone or after county_adcode) and closed_at; observations are read only through
their unique (device_id, feed, ts) index, since they have no other.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple, TypeVarTuple, Unpack

from sqlalchemy import (
    BigInteger,
    Integer,
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from store.case_queries import hours_over, open_grid_events
from store.models import Device, GridEvent, GridEventStep, LatestValue, Observation, epoch_ms

Ts = TypeVarTuple("Ts")

# SQLite allows 500 terms in one compound SELECT; stay well below it (as store.kpi_queries does).
_MAX_TERMS = 200
# The metric of a video point's heartbeat saying whether its stream is up (feeds/builtin.py).
ONLINE_METRIC = "online"
# Replay draws cases reported at most this long before the replayed moment: older ones are left out, so the
# read is one reported_at index range however long the history is.
MAX_OPEN_AGE = timedelta(days=30)
DEVICE_DETAIL_LIMIT = 500
# How far back a device's state looks for its newest message (device_states_as_of).
STATE_HORIZON = timedelta(days=1)


def _county(stmt: Select[Unpack[Ts]], column: QueryableAttribute[str | None], county: str | None
            ) -> Select[Unpack[Ts]]:
    """`stmt` restricted to one county when one is given."""
    return stmt if county is None else stmt.where(column == county)


def _open() -> ColumnElement[bool]:
    """Not closed: answered by ix_grid_events_open_county (closed_at, county_adcode)."""
    return GridEvent.closed_at.is_(None)


# ---- events over time --------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _bucket_statement(n: int, by_county: bool) -> CompoundSelect[int, int, int] | Select[int, int, int]:
    """Per bucket i < n, events reported and closed in [lo_i, hi_i): one index range count per term."""
    terms: list[Select[int, int, int]] = []
    for i in range(n):
        for what, col in ((0, GridEvent.reported_at), (1, GridEvent.closed_at)):
            stmt = select(literal_column(str(i), Integer).label("i"),
                          literal_column(str(what), Integer).label("w"), func.count().label("n")
                          ).where(col >= bindparam(f"lo{i}"), col < bindparam(f"hi{i}"))
            if by_county:
                # For closures the county is compared through a no-op `|| ''`: SQLite would otherwise walk
                # the county's every row on (county_adcode, reported_at) instead of the closed_at range
                # of ix_grid_events_open_county, which holds the county too (1.6 s instead of 1 ms).
                county = GridEvent.county_adcode if what == 0 else GridEvent.county_adcode.concat("")
                stmt = stmt.where(county == bindparam("county"))
            terms.append(stmt)
    return terms[0] if len(terms) == 1 else union_all(*terms)


def bucket_edges(start: datetime, end: datetime, buckets: int) -> list[datetime]:
    """buckets + 1 equally spaced times from start to end (both included)."""
    if buckets < 1 or end <= start:
        raise ValueError(f"need buckets >= 1 and start < end, got {buckets}, {start}, {end}")
    span = end - start
    return [start + span * i / buckets for i in range(buckets)] + [end]


def events_over_time(session: Session, county: str | None, start: datetime, end: datetime, buckets: int
                     ) -> list[tuple[datetime, int, int]]:
    """Per equal bucket [t_i, t_i+1) of [start, end): (t_i, events reported, events closed)."""
    edges = bucket_edges(start, end, buckets)
    # Counting each bucket as an index range (reported_at, closed_at) reads only the index entries in
    # [start, end) and compares times exactly; a bucket number computed in SQL would need each backend's
    # own date arithmetic, and julianday() floats put events at a bucket edge into the bucket before.
    reported, closed = [0] * buckets, [0] * buckets
    per = _MAX_TERMS // 2
    for first in range(0, buckets, per):
        n = min(per, buckets - first)
        params: dict[str, Any] = {}
        for i in range(n):
            params[f"lo{i}"], params[f"hi{i}"] = edges[first + i], edges[first + i + 1]
        if county is not None:
            params["county"] = county
        for i, what, count in session.execute(_bucket_statement(n, county is not None), params):
            (closed if int(what) else reported)[first + int(i)] = int(count)
    return [(edges[i], reported[i], closed[i]) for i in range(buckets)]


# ---- case summary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueCase:
    """An open case past its subcategory's limit, and by how many hours."""

    id: str
    subcategory: str | None
    step: int
    reported_at: datetime
    hours_over: float


@dataclass(frozen=True)
class CaseSummary:
    """Open cases of the city or a county: how many, how many overdue, per step, and the most overdue."""

    open: int
    overdue: int
    by_step: dict[int, int]
    most_overdue: tuple[OverdueCase, ...]


def case_summary(session: Session, county: str | None, now: datetime, limits_hours: Mapping[str, float],
                 default_hours: float, top: int = 10) -> CaseSummary:
    """Open and overdue cases (past their case's deadline in working hours, or, for events from before cases were
    kept, open longer on the clock than their subcategory's limit) and the `top` most overdue.

    A subcategory's limit is limits_hours.get(subcategory or "", default_hours), as topics.cases has it.
    """
    # One read of the open cases on ix_grid_events_open_county (closed_at IS NULL, county), the rule applied
    # here: the open set is what is pending, not history. Pushing the per-subcategory limits into SQL was no
    # faster for the city (15 ms) and, for a county, SQLite chose (county_adcode, reported_at) to serve the
    # ORDER BY of the most-overdue list and read the county's whole history (400 ms).
    by_step: dict[int, int] = defaultdict(int)
    late: list[tuple[float, str, str | None, int, datetime]] = []
    for id_, _, subcategory, step, reported_at, deadline_at in open_grid_events(session, None if county is None else [county]):
        by_step[step] += 1
        over = hours_over(now, reported_at, deadline_at, limits_hours.get(subcategory or "", default_hours))
        if over > 0:
            late.append((over, id_, subcategory, step, reported_at))
    most = heapq.nsmallest(top, late, key=lambda c: (-c[0], c[1])) if top > 0 else []
    return CaseSummary(open=sum(by_step.values()), overdue=len(late), by_step=dict(sorted(by_step.items())),
                       most_overdue=tuple(OverdueCase(i, sub, st, rep, over) for over, i, sub, st, rep in most))


# ---- devices -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineRate:
    """Devices of one kind: all, reporting (last_seen within the staleness window), streams up.

    `online` is None for a kind whose devices report no flag metric; otherwise it counts reporting devices
    whose newest flag is up: a silent device's last flag says nothing about now (as store.status does).
    """

    kind: str
    total: int
    reporting: int
    online: int | None

    @property
    def rate(self) -> float | None:
        """Share of devices online (by the flag where there is one, else by reporting); None with no devices."""
        if not self.total:
            return None
        return (self.reporting if self.online is None else self.online) / self.total


def device_online_rate(session: Session, county: str | None, now: datetime,
                       stale_after: timedelta | Mapping[str, timedelta],
                       flag_metric: str = ONLINE_METRIC) -> dict[str, OnlineRate]:
    """Per device kind, for the city or a county (by coordinates): totals, reporting, and streams up.

    `stale_after` is one window for every kind, or each kind's (measures.devices.reporting_window: the map's)."""
    if isinstance(stale_after, Mapping):
        windows = dict(stale_after)
        fresh = or_(*[(Device.kind == k) & (Device.last_seen >= now - w) for k, w in sorted(windows.items())]) \
            if windows else false()
    else:
        fresh = Device.last_seen >= now - stale_after
    stmt = _county(
        select(Device.kind, func.count(), func.sum(case((fresh, 1), else_=0)), func.count(LatestValue.value),
               func.sum(case((and_(fresh, LatestValue.value > 0.5), 1), else_=0)))
        .outerjoin(LatestValue, and_(LatestValue.device_id == Device.id, LatestValue.metric == flag_metric)),
        Device.county_adcode, county).group_by(Device.kind).order_by(Device.kind)
    return {kind: OnlineRate(kind, int(n), int(rep or 0), int(up or 0) if flagged else None)
            for kind, n, rep, flagged, up in session.execute(stmt)}


@dataclass(frozen=True)
class DeviceRow:
    """A device on a county map: where it is, when it last reported, and its stream flag if it has one."""

    id: str
    kind: str
    name: str | None
    county_adcode: str | None
    lon: float
    lat: float
    last_seen: datetime
    online: bool | None  # the newest flag metric (video points); None for kinds without one


def county_devices(session: Session, county: str | None, flag_metric: str = ONLINE_METRIC,
                   limit: int | None = None) -> list[DeviceRow]:
    """Devices of a county (by coordinates; None: the whole city) by kind and id, with their stream flag."""
    stmt = _county(
        select(Device.id, Device.kind, Device.name, Device.county_adcode, Device.lon, Device.lat,
               Device.last_seen, LatestValue.value)
        .outerjoin(LatestValue, and_(LatestValue.device_id == Device.id, LatestValue.metric == flag_metric)),
        Device.county_adcode, county).order_by(Device.kind, Device.id).limit(limit)
    return [DeviceRow(dev, kind, name, county_adcode, lon, lat, seen, None if flag is None else flag > 0.5)
            for dev, kind, name, county_adcode, lon, lat, seen, flag in session.execute(stmt)]


@dataclass(frozen=True)
class DeviceDetail:
    """One device, its recent messages (newest first) and its newest value of each metric."""

    id: str
    kind: str
    name: str | None
    county_adcode: str | None
    declared_adcode: str
    lon: float
    lat: float
    first_seen: datetime
    last_seen: datetime
    attrs: dict[str, Any]
    observations: tuple[tuple[datetime, dict[str, Any]], ...]
    latest: dict[str, tuple[datetime, float]]  # metric → (time, value)


def device_detail(session: Session, device_id: str, since: datetime, limit: int = DEVICE_DETAIL_LIMIT
                  ) -> DeviceDetail | None:
    """A device with its messages since `since` (newest first, at most `limit`) and its latest values."""
    dev = session.execute(select(Device.id, Device.kind, Device.name, Device.county_adcode,
                                 Device.declared_adcode, Device.lon, Device.lat, Device.first_seen,
                                 Device.last_seen, Device.attrs).where(Device.id == device_id)).first()
    if dev is None:
        return None
    latest_rows = session.execute(select(LatestValue.metric, LatestValue.feed, LatestValue.ts, LatestValue.value)
                                  .where(LatestValue.device_id == device_id)
                                  .order_by(LatestValue.metric)).all()
    # The unique index is (device_id, feed, ts): with the feed fixed, "newest first" is read in index
    # order and stops at `limit`; without it, every row of the device since `since` would be sorted.
    feeds = sorted({dev.kind} | {r.feed for r in latest_rows})
    terms = []
    for feed in feeds:
        sub = (select(Observation.ts, Observation.data)
               .where(Observation.device_id == device_id, Observation.feed == feed, Observation.ts >= since)
               .order_by(Observation.ts.desc()).limit(limit).subquery())
        terms.append(select(sub.c.ts, sub.c.data))
    if len(terms) == 1:
        stmt = terms[0]
    else:
        merged = union_all(*terms).subquery()
        stmt = select(merged.c.ts, merged.c.data).order_by(merged.c.ts.desc()).limit(limit)
    observations = tuple((ts, dict(data)) for ts, data in session.execute(stmt))
    return DeviceDetail(**dev._asdict(), observations=observations,  # (its columns are named as its fields)
                        latest={r.metric: (r.ts, r.value) for r in latest_rows})


# ---- one case ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseStep:
    """One workflow step a case passed: which, when, by whom."""

    step: int
    ts: datetime
    actor: str | None
    note: str | None


@dataclass(frozen=True)
class CaseDetail:
    """One grid case as stored now, with its step history in order."""

    id: str
    county_adcode: str | None
    declared_adcode: str
    grid_code: str | None
    kind: str
    category: str
    subcategory: str | None
    description: str | None
    lon: float
    lat: float
    step: int
    reported_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    steps: tuple[CaseStep, ...]


_CASE_COLUMNS = (GridEvent.id, GridEvent.county_adcode, GridEvent.declared_adcode, GridEvent.grid_code,
                 GridEvent.kind, GridEvent.category, GridEvent.subcategory, GridEvent.description, GridEvent.lon,
                 GridEvent.lat, GridEvent.step, GridEvent.reported_at, GridEvent.updated_at, GridEvent.closed_at)


def case_detail(session: Session, event_id: str) -> CaseDetail | None:
    """A case and its steps ordered by step, or None if there is no such case."""
    row = session.execute(select(*_CASE_COLUMNS).where(GridEvent.id == event_id)).first()
    if row is None:
        return None
    steps = session.execute(select(GridEventStep.step, GridEventStep.ts, GridEventStep.actor, GridEventStep.note)
                            .where(GridEventStep.event_id == event_id)
                            .order_by(GridEventStep.step, GridEventStep.ts))
    # (its columns are named as its fields)
    return CaseDetail(**row._asdict(), steps=tuple(CaseStep(*s) for s in steps))


# ---- replay ------------------------------------------------------------------------------------------


class EventAt(NamedTuple):
    """A case as it was at a past moment: open then, at the step it had reached then.

    A tuple, not a dataclass, and no times: a city replay step reads ~9,000 of them, and a frozen dataclass
    and a timezone-aware datetime per row were half the read (`make bench`, drill)."""

    id: str
    kind: str
    category: str
    subcategory: str | None
    county_adcode: str | None
    lon: float
    lat: float
    step: int


_EVENT_AT = (GridEvent.id, GridEvent.kind, GridEvent.category, GridEvent.subcategory, GridEvent.county_adcode,
             GridEvent.lon, GridEvent.lat)


def _events_at(session: Session, stmt: Select[Unpack[tuple[Any, ...]]]) -> list[EventAt]:
    """Rows of an EventAt select, read through Core: no ORM row processing, no type processors on its columns."""
    return list(map(EventAt._make, session.connection().execute(stmt)))


def events_as_of(session: Session, at: datetime, county: str | None = None,
                 max_open_age: timedelta = MAX_OPEN_AGE, ids: Collection[str] | None = None) -> list[EventAt]:
    """Cases open at `at` (reported by then, not closed by then) with their step then, by id (ids in order share
    their beginnings, and go to the browser in a few characters each: dashboard/compact.py).

    Cases reported more than `max_open_age` before `at` are not drawn, even if still open then: the read
    stays one reported_at index range (ix_grid_events_reported, or ix_grid_events_county_reported for a
    county) whatever the length of the history. `ids`: only these cases (events_as_of_from's re-read).
    """
    # The step then. A case not updated since `at` is at the step it is at now, as the live map draws it (a
    # case sent back for rework included). Only a case updated after `at` needs its history: the highest step
    # reached by `at`, one seek on the unique (event_id, step) index; a case whose first step row is missing or
    # later (clock skew) counts as reported (step 1). Seeking every case was 55 of a city step's 120 ms.
    step_then = (select(func.max(GridEventStep.step))
                 .where(GridEventStep.event_id == GridEvent.id, GridEventStep.ts <= at)
                 .correlate(GridEvent).scalar_subquery())
    step = case((GridEvent.updated_at <= at, GridEvent.step), else_=func.coalesce(step_then, 1))
    stmt = _county(
        select(*_EVENT_AT, step)
        .where(GridEvent.reported_at >= at - max_open_age, GridEvent.reported_at <= at,
               or_(GridEvent.closed_at.is_(None), GridEvent.closed_at > at)),
        GridEvent.county_adcode, county).order_by(GridEvent.id)
    if ids is not None:
        stmt = stmt.where(GridEvent.id.in_(list(ids)))
    return _events_at(session, stmt)


# Past this many changed cases between two moments, a whole read is as quick as the re-read of the changed.
CHANGED_LIMIT = 2_000


def events_changed(session: Session, lo: datetime, hi: datetime, max_open_age: timedelta = MAX_OPEN_AGE,
                   limit: int = CHANGED_LIMIT) -> set[str] | None:
    """Ids of the cases whose being open, or step, may differ between moments lo <= hi (None: more than `limit`).

    events_as_of draws a case from its reported_at, closed_at, updated_at, step and the times of its steps; a case
    with none of them in [lo, hi] (nor reported_at in [lo, hi] less max_open_age) is drawn the same at both
    moments. Each part is one index range: the reported, open-case, updated and step-time indexes.
    """
    # The city's changes, whatever the county: each range is short on its own index, while with the county's
    # filter SQLite walked the county's index whole (a county step: 40–130 ms, the city's 2 ms). A case of
    # another county re-read with the county's filter simply drops out.
    parts = [select(GridEvent.id).where(column.between(a, b))
             for column, a, b in ((GridEvent.reported_at, lo, hi),
                                  (GridEvent.reported_at, lo - max_open_age, hi - max_open_age),
                                  (GridEvent.closed_at, lo, hi),
                                  (GridEvent.updated_at, lo, hi))]
    parts.append(select(GridEventStep.event_id).where(GridEventStep.ts.between(lo, hi)))
    found = set(session.connection().execute(union(*parts).limit(limit + 1)).scalars())
    return None if len(found) > limit else found


def events_as_of_from(session: Session, at: datetime, base_at: datetime, base: list[EventAt],
                      county: str | None = None, max_open_age: timedelta = MAX_OPEN_AGE) -> list[EventAt]:
    """events_as_of(at) from what it gave at another moment (`base`, for the same county): the cases changed
    between the two are read again, the rest kept — a leader scrubbing the replay slider 5 minutes a step re-reads
    tens of cases, not the ~9,000 open in the city (`make bench`, drill)."""
    lo, hi = (at, base_at) if at <= base_at else (base_at, at)
    changed = events_changed(session, lo, hi, max_open_age)
    if changed is None:
        return events_as_of(session, at, county, max_open_age)
    fresh = events_as_of(session, at, county, max_open_age, ids=changed) if changed else []
    rows = [r for r in base if r.id not in changed]
    rows += fresh
    rows.sort(key=itemgetter(0))  # by id, as the whole read's ORDER BY gives them (ids are ASCII)
    return rows


def events_open_now(session: Session, county: str | None = None) -> list[EventAt]:
    """Cases open now, at their current step, by id: the live map's read.

    The open-case index (closed_at, county_adcode) answers it without the replay's step subquery: 27 → 9 ms
    for a county with 2,900 open cases (`make bench`, drill).
    """
    stmt = _county(
        select(*_EVENT_AT, GridEvent.step)
        .where(_open()), GridEvent.county_adcode, county).order_by(GridEvent.id)
    return _events_at(session, stmt)


class DeviceStateAt(NamedTuple):
    """A device as it was at a past moment: its newest message by then, and its stream flag in it.

    A tuple, read through Core with the time as its integer: a city map of 50,000 devices reads one each, and
    ORM rows, frozen dataclasses and a datetime made by the column type were half the read (`make bench`,
    points)."""

    id: str
    kind: str
    county_adcode: str | None
    lon: float
    lat: float
    last_ts: datetime | None  # newest message at or before the moment; None: none in the day (STATE_HORIZON) before
    reporting: bool  # last_ts within the window before the moment
    online: bool | None  # the flag metric in that message (video points); None: not in it
    data: dict[str, Any] | None = None  # all values of that message (the caller applies the standards)
    name: str | None = None


def device_states_as_of(session: Session, at: datetime, county: str | None = None, *, window: timedelta,
                        flag_metric: str = ONLINE_METRIC, kind: str | None = None) -> dict[str, DeviceStateAt]:
    """Per device seen by `at` (of one kind, if given): whether it had reported within `window` before `at`, and
    its flag then."""
    at_ms = epoch_ms(at)
    # Observations have only their unique (device_id, feed, ts) index; a device's kind is its feed
    # (feeds/rows.py), so "its newest message by `at`" is one backward seek on that index per device. Bounded
    # below by a day (or the window, if longer): on PostgreSQL's day partitions an unbounded seek merged every
    # partition's index for every device (the city's states 300 ms on a month's store, 7 ms bounded:
    # docs/data-retention.md); a device silent longer is stale whatever its last message was.
    since_horizon = epoch_ms(at - max(window, STATE_HORIZON))
    o = aliased(Observation)
    mine = (o.device_id == Device.id, o.feed == Device.kind, o.ts <= at_ms, o.ts > since_horizon)
    columns = (Device.id, Device.kind, Device.county_adcode, Device.lon, Device.lat, Device.name)
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL hashed the whole observations table to join on a correlated subquery (160 ms for 10,000
        # devices); a LATERAL join runs the seek once per device (50 ms). SQLite has no LATERAL.
        newest = (select(o.ts, o.data[flag_metric].as_float().label("flag"), o.data.label("data")).where(*mine)
                  .order_by(o.ts.desc()).limit(1).lateral())
        stmt = (select(*columns, type_coerce(newest.c.ts, BigInteger), newest.c.flag, newest.c.data)
                .select_from(Device).outerjoin(newest, true()))
    else:
        newest_id = select(o.id).where(*mine).order_by(o.ts.desc()).limit(1).correlate(Device).scalar_subquery()
        stmt = (select(*columns, type_coerce(Observation.ts, BigInteger), Observation.data[flag_metric].as_float(),
                       Observation.data)
                .outerjoin(Observation, Observation.id == newest_id))
    stmt = _county(stmt.where(Device.first_seen <= at), Device.county_adcode, county)
    if kind is not None:
        stmt = stmt.where(Device.kind == kind)
    since_ms = epoch_ms(at - window)
    when = datetime.fromtimestamp
    return {id_: DeviceStateAt(id_, kind, county_adcode, lon, lat, None if ms is None else when(ms / 1000, UTC),
                               ms is not None and ms >= since_ms, None if flag is None else flag > 0.5, data, name)
            for id_, kind, county_adcode, lon, lat, name, ms, flag, data in session.connection().execute(stmt)}


@dataclass(frozen=True)
class EventRow:
    """A case in a map cell: what, where, which step, when."""

    id: str
    kind: str
    category: str
    subcategory: str | None
    county_adcode: str | None
    lon: float
    lat: float
    step: int
    reported_at: datetime
    closed_at: datetime | None


def events_in_bbox(session: Session, minx: float, miny: float, maxx: float, maxy: float,
                   county: str | None = None, open_only: bool = True, limit: int = 5000) -> list[EventRow]:
    """Cases inside a lon/lat box (edges included), newest report first, at most `limit`.

    The caller filters by the cell's polygon. Open cases are found through the open-case index; with
    `open_only=False` the whole table is read (there is no spatial index), so keep that for small boxes.
    """
    stmt = select(GridEvent.id, GridEvent.kind, GridEvent.category, GridEvent.subcategory, GridEvent.county_adcode,
                  GridEvent.lon, GridEvent.lat, GridEvent.step, GridEvent.reported_at, GridEvent.closed_at
                  ).where(GridEvent.lon.between(minx, maxx), GridEvent.lat.between(miny, maxy))
    if open_only:
        stmt = stmt.where(_open())
    stmt = _county(stmt, GridEvent.county_adcode, county)
    # Ordered by a no-op coalesce so the sort happens on the matching rows: ordered by the bare column,
    # SQLite walks the whole reported_at index to spare that sort (250 ms for a cell on 200,000 cases).
    newest_first = func.coalesce(GridEvent.reported_at, GridEvent.updated_at).desc()
    rows = session.execute(stmt.order_by(newest_first, GridEvent.id).limit(limit))
    # SQLAlchemy types a select of ten or more columns with a variadic tail (*tuple[Any, ...]) after the ten.
    return [EventRow(*r) for r in rows]  # type: ignore[call-arg]


# ---- data consistency --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsistencyRow:
    """A device whose recorded counties disagree, or that lies outside the city.

    reason: 'outside_city' (no county holds its coordinates), 'id_county' (the division code of its GB/T
    28181 id is not the county holding its coordinates) or 'declared_county' (the county of its topic is not).
    """

    reason: str
    device_id: str
    kind: str
    name: str | None
    lon: float
    lat: float
    id_county: str | None  # first six digits of a 20-digit GB/T 28181 id; None for other ids
    declared_adcode: str
    located_adcode: str | None


_REASON_ORDER = {"outside_city": 0, "id_county": 1, "declared_county": 2}


def _gb_division(device_id: str) -> str | None:
    """The division code of a 20-digit GB/T 28181 id (store may not import standards, so it is inline)."""
    if len(device_id) == 20 and device_id.isascii() and device_id.isdigit():
        return device_id[:6]
    return None


def consistency(session: Session) -> list[ConsistencyRow]:
    """Devices outside the city or whose id's or topic's county is not where they are; one row per device."""
    # The SQL keeps only candidates (portable substr); the 20-digit test and the reason are decided here.
    stmt = select(Device.id, Device.kind, Device.name, Device.lon, Device.lat, Device.declared_adcode,
                  Device.county_adcode).where(or_(
                      Device.county_adcode.is_(None), Device.declared_adcode != Device.county_adcode,
                      func.substr(Device.id, 1, 6) != Device.county_adcode))
    out = []
    for id_, kind, name, lon, lat, declared, located in session.execute(stmt):
        division = _gb_division(id_)
        if located is None:
            reason = "outside_city"
        # A city-level centre code (county digits 00) names no county, so it cannot disagree with one.
        elif division is not None and division[4:] != "00" and division != located:
            reason = "id_county"
        elif declared != located:
            reason = "declared_county"
        else:
            continue
        out.append(ConsistencyRow(reason, id_, kind, name, lon, lat, division, declared, located))
    out.sort(key=lambda r: (_REASON_ORDER[r.reason], r.device_id))
    return out


__all__ = [
    "MAX_OPEN_AGE", "CaseDetail", "CaseStep", "CaseSummary", "ConsistencyRow", "DeviceDetail", "DeviceRow",
    "DeviceStateAt", "EventAt", "EventRow", "OnlineRate", "OverdueCase", "bucket_edges", "case_detail",
    "case_summary", "consistency", "county_devices", "device_detail", "device_online_rate",
    "device_states_as_of", "events_as_of", "events_in_bbox", "events_over_time",
]
