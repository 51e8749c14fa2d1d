"""The ingest write path: one batch, Core bulk statements, in the caller's transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Table, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from store.models import (
    Base,
    DeadLetter,
    Device,
    FeedStatus,
    GridEvent,
    GridEventStep,
    KpiMetric,
    epoch_ms,
    table_of,
)


# How much of a refused message is kept: enough to read what it was (device messages are well under it).
DEAD_LETTER_KEEP = 8 * 1024


@dataclass
class FeedDelta:
    """What a batch adds to one feed's counters."""

    messages: int = 0
    dead_letters: int = 0
    last_message_at: datetime | None = None
    last_received_at: datetime | None = None


@dataclass
class Batch:
    """Rows gathered from many messages, deduplicated by key so one statement per table suffices."""

    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Tuples in OBS_COLUMNS / LATEST_COLUMNS order: the hot path binds them straight to the driver.
    observations: list[tuple[Any, ...]] = field(default_factory=list)
    latest: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_steps: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    kpis: dict[tuple[str, str, datetime], dict[str, Any]] = field(default_factory=dict)
    dead_letters: dict[str, dict[str, Any]] = field(default_factory=dict)
    feeds: dict[str, FeedDelta] = field(default_factory=dict)
    size: int = 0
    # Which feed's message the rows being added come from (set by the decoder loop), and the feed of each step
    # and KPI row: a feed's stored-message count is the rows it added that were new to the store, so a
    # redelivered message (already stored, its acknowledgement lost) is not counted twice.
    feed: str | None = None
    step_feed: dict[tuple[str, int], str] = field(default_factory=dict)
    kpi_feed: dict[tuple[str, str], str] = field(default_factory=dict)
    _newest: dict[str, int] = field(default_factory=dict)  # per device, the newest observation time in `latest`

    def add_device(self, row: dict[str, Any]) -> None:
        """Keep the newest sighting of a device; the first sighting keeps its first_seen."""
        old = self.devices.get(row["id"])
        if old is None:
            self.devices[row["id"]] = row
        elif row["last_seen"] >= old["last_seen"]:
            if old["first_seen"] < row["first_seen"]:
                row = {**row, "first_seen": old["first_seen"]}
            self.devices[row["id"]] = row

    def add_observations(self, device_id: str, feed: str, ts: datetime, county: str | None,
                         values: dict[str, float]) -> None:
        """One message's values at one time; the newest per (device, metric) also goes to latest_values."""
        ms = epoch_ms(ts)
        self.observations.append((device_id, feed, ms, county, orjson.dumps(values).decode()))
        latest = self.latest
        if ms >= self._newest.get(device_id, ms):
            # Not older than anything of this device in the batch (the usual case): newest for every metric.
            self._newest[device_id] = ms
            for metric, value in values.items():
                latest[(device_id, metric)] = (device_id, metric, feed, county, ms, value)
            return
        for metric, value in values.items():
            old = latest.get((device_id, metric))
            if old is None or ms >= old[4]:
                latest[(device_id, metric)] = (device_id, metric, feed, county, ms, value)

    def add_event(self, row: dict[str, Any]) -> None:
        """Keep the newest state of each grid event seen in this batch."""
        old = self.events.get(row["id"])
        if old is None or row["updated_at"] >= old["updated_at"]:
            if old is not None:
                row = {**row, "reported_at": min(old["reported_at"], row["reported_at"])}
            self.events[row["id"]] = row

    def add_event_step(self, row: dict[str, Any]) -> None:
        """Record that an event reached a workflow step (first report of a step wins)."""
        self.event_steps.setdefault((row["event_id"], row["step"]), row)
        self.step_feed.setdefault((row["event_id"], row["step"]), self.feed or "grid_event")

    def add_kpi(self, row: dict[str, Any]) -> None:
        """Add a KPI value; a repeat of (key, region, ts) replaces the earlier one."""
        self.kpis[(row["key"], row["region"], row["ts"])] = row
        self.kpi_feed[(row["key"], row["region"])] = self.feed or "kpi"

    def add_dead_letter(self, received_at: datetime, topic: str, feed: str | None, payload: bytes,
                        reason: str) -> None:
        """Keep a rejected input with its reason; repeats of the same topic and bytes fold into a count."""
        digest = hashlib.sha256(topic.encode("utf-8", "surrogateescape") + b"\0" + payload).hexdigest()
        old = self.dead_letters.get(digest)
        if old is not None:
            old["count"] += 1
            old["last_received_at"] = max(old["last_received_at"], received_at)
            return
        self.dead_letters[digest] = {
            "digest": digest, "received_at": received_at, "last_received_at": received_at, "count": 1,
            # The topic column is bounded and text columns cannot hold NUL; the digest covers the raw topic.
            "topic": topic[:256].replace("\0", "\\0"), "feed": feed,
            # A bounded prefix, with the digest and the size: two 50 MB refusals must not become 100 MB of store.
            "payload": payload[:DEAD_LETTER_KEEP], "size": len(payload),
            "reason": reason.replace("\0", "\\0"),
        }

    def count(self, feed: str, *, ok: bool, message_at: datetime | None, received_at: datetime) -> None:
        """Count one message for a feed's status row (times only move for good messages)."""
        delta = self.feeds.get(feed)
        if delta is None:
            delta = self.feeds[feed] = FeedDelta()
        if not ok:
            # A feed that sends only garbage is not alive: dead letters do not move its times.
            delta.dead_letters += 1
            return
        delta.messages += 1
        if message_at is not None and (delta.last_message_at is None or message_at > delta.last_message_at):
            delta.last_message_at = message_at
        if delta.last_received_at is None or received_at > delta.last_received_at:
            delta.last_received_at = received_at


OBS_COLUMNS = ("device_id", "feed", "ts", "county_adcode", "data")
LATEST_COLUMNS = ("device_id", "metric", "feed", "county_adcode", "ts", "value")
OBS_INSERT = (
    f"INSERT INTO observations ({', '.join(OBS_COLUMNS)}) VALUES ({{values}}) "
    "ON CONFLICT (device_id, feed, ts) DO NOTHING"
)
LATEST_UPSERT = (
    f"INSERT INTO latest_values ({', '.join(LATEST_COLUMNS)}) VALUES ({{values}}) "
    "ON CONFLICT (device_id, metric) DO UPDATE SET feed = excluded.feed, ts = excluded.ts, "
    "value = excluded.value, county_adcode = excluded.county_adcode WHERE excluded.ts >= latest_values.ts"
)


def insert_for(session: Session) -> Callable[[type[Base] | Table], Any]:
    """The dialect's INSERT that supports ON CONFLICT (SQLite and PostgreSQL both do)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"upserts are implemented for SQLite and PostgreSQL, not {name}")


def write_batch(session: Session, batch: Batch) -> None:
    """Write a batch with one bulk statement per table; the caller owns the transaction."""
    insert = insert_for(session)
    stored: dict[str, int] = {}  # per feed: messages whose rows were new to the store

    if batch.devices:
        t = table_of(Device)
        stmt = insert(t)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.id],
            set_={
                "kind": ex.kind,
                "name": func.coalesce(ex.name, t.c.name),
                "county_adcode": ex.county_adcode,
                "declared_adcode": ex.declared_adcode,
                "lon": ex.lon,
                "lat": ex.lat,
                "last_seen": ex.last_seen,
                "attrs": ex.attrs,
            },
            # A late, out-of-order message must not move a device back in time.
            where=ex.last_seen >= t.c.last_seen,
        )
        session.execute(stmt, list(batch.devices.values()))

    if (batch.observations or batch.latest) and session.get_bind().dialect.name == "postgresql":
        for feed, n in _copy_observations(session, batch).items():
            stored[feed] = stored.get(feed, 0) + n
    elif batch.observations or batch.latest:
        # The hot path: plain driver executemany with rows already in column order. SQLAlchemy's
        # per-row parameter processing cost more than the database's own insert (see `make bench`).
        conn = session.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        if batch.observations:
            by_feed: dict[str, list[tuple[Any, ...]]] = {}
            for row in batch.observations:
                by_feed.setdefault(row[1], []).append(row)
            sql = OBS_INSERT.format(values=", ".join([mark] * len(OBS_COLUMNS)))
            for feed, rows in by_feed.items():  # one statement per feed: the driver's count is that feed's new rows
                stored[feed] = stored.get(feed, 0) + max(conn.exec_driver_sql(sql, rows).rowcount, 0)
        if batch.latest:
            conn.exec_driver_sql(LATEST_UPSERT.format(values=", ".join([mark] * len(LATEST_COLUMNS))),
                                 list(batch.latest.values()))

    if batch.events:
        t = table_of(GridEvent)
        stmt = insert(t)
        ex = stmt.excluded
        cols = ("county_adcode", "declared_adcode", "grid_code", "kind", "category", "subcategory",
                "description", "lon", "lat", "step", "updated_at", "closed_at")
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.id],
            set_={c: getattr(ex, c) for c in cols},
            where=ex.updated_at >= t.c.updated_at,
        )
        session.execute(stmt, list(batch.events.values()))

    if batch.event_steps:
        t = table_of(GridEventStep)
        stmt = (insert(t).on_conflict_do_nothing(index_elements=[t.c.event_id, t.c.step])
                .returning(t.c.event_id, t.c.step))
        for event_id, step in session.execute(stmt, list(batch.event_steps.values())):
            feed = batch.step_feed.get((event_id, step), "grid_event")
            stored[feed] = stored.get(feed, 0) + 1

    if batch.kpis:
        t = table_of(KpiMetric)
        stmt = insert(t)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.key, t.c.region, t.c.ts], set_={"value": ex.value, "unit": ex.unit},
            # A correction is stored; the same value again (a redelivery) changes nothing and is not counted.
            where=or_(t.c.value != ex.value, func.coalesce(t.c.unit, "") != func.coalesce(ex.unit, "")),
        ).returning(t.c.key, t.c.region)
        for key, region in session.execute(stmt, list(batch.kpis.values())):
            feed = batch.kpi_feed.get((key, region), "kpi")
            stored[feed] = stored.get(feed, 0) + 1

    if batch.dead_letters:
        t = table_of(DeadLetter)
        stmt = insert(t)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.digest],
            set_={"count": t.c.count + ex.count,
                  "last_received_at": _greatest(session, ex.last_received_at, t.c.last_received_at)},
        )
        session.execute(stmt, list(batch.dead_letters.values()))

    if batch.feeds:
        # Feeds whose messages add observations, case steps or KPI values count what was new; any other counts
        # its good messages.
        counted = ({r[1] for r in batch.observations} | set(batch.step_feed.values())
                   | set(batch.kpi_feed.values()))
        t = table_of(FeedStatus)
        statuses = [
            {"feed": f, "messages": stored.get(f, 0) if f in counted else d.messages, "dead_letters": d.dead_letters,
             "last_message_at": d.last_message_at, "last_received_at": d.last_received_at}
            for f, d in sorted(batch.feeds.items())
        ]
        stmt = insert(t)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.feed],
            set_={
                "messages": t.c.messages + ex.messages,
                "dead_letters": t.c.dead_letters + ex.dead_letters,
                # Keep the newest time seen: NULL-safe max across the old row and this batch.
                "last_message_at": func.coalesce(
                    _greatest(session, ex.last_message_at, t.c.last_message_at), t.c.last_message_at
                ),
                "last_received_at": func.coalesce(
                    _greatest(session, ex.last_received_at, t.c.last_received_at), t.c.last_received_at
                ),
            },
        )
        session.execute(stmt, statuses)


# PostgreSQL's hot path: COPY the batch into session-local staging tables (emptied at commit), then one INSERT …
# SELECT … ON CONFLICT per table, so the unique keys still decide what is new (a redelivery is stored once). Row by
# row, even pipelined, executemany cost more in the driver and the server than the insert itself (see `make bench`).
OBS_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS zq_obs_in (device_id text, feed text, ts bigint, county_adcode text, "
    "data jsonb) ON COMMIT DELETE ROWS"
)
LATEST_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS zq_latest_in (device_id text, metric text, feed text, county_adcode text, "
    "ts bigint, value double precision) ON COMMIT DELETE ROWS"
)
OBS_FROM_STAGING = (
    f"WITH new AS (INSERT INTO observations ({', '.join(OBS_COLUMNS)}) SELECT {', '.join(OBS_COLUMNS)} "
    "FROM zq_obs_in ON CONFLICT (device_id, feed, ts) DO NOTHING RETURNING feed) "
    "SELECT feed, count(*) FROM new GROUP BY feed"
)
LATEST_FROM_STAGING = LATEST_UPSERT.replace(
    "VALUES ({values})", f"SELECT {', '.join(LATEST_COLUMNS)} FROM zq_latest_in")


def _copy_observations(session: Session, batch: Batch) -> dict[str, int]:
    """Observations and latest values of a batch through COPY (PostgreSQL); the new observations per feed."""
    conn = session.connection()
    new: dict[str, int] = {}
    if batch.observations:
        conn.exec_driver_sql(OBS_STAGING)
        _copy(conn, f"COPY zq_obs_in ({', '.join(OBS_COLUMNS)}) FROM STDIN", batch.observations)
        new = {feed: n for feed, n in conn.exec_driver_sql(OBS_FROM_STAGING)}
    if batch.latest:
        conn.exec_driver_sql(LATEST_STAGING)
        _copy(conn, f"COPY zq_latest_in ({', '.join(LATEST_COLUMNS)}) FROM STDIN", batch.latest.values())
        conn.exec_driver_sql(LATEST_FROM_STAGING)
    return new


def _copy(conn: Connection, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY rows through the driver, its errors raised as SQLAlchemy's (as a statement's would be)."""
    import psycopg

    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"COPY goes through psycopg, not {type(driver).__name__}")
    try:
        with driver.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as e:
        if isinstance(e, psycopg.OperationalError) and driver.closed:
            conn.invalidate(e)  # the server went away: the pool must not hand this connection out again
        raise DBAPIError.instance(statement, None, e, psycopg.Error) from e


def _greatest(session: Session, a: Any, b: Any) -> Any:
    """SQL max of two values that ignores NULL on either side (SQLite's MAX() returns NULL)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(a, b)
    return func.max(func.coalesce(a, b), func.coalesce(b, a))
