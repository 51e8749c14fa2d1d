"""The ingest log: what each committed batch stored, in commit order, for readers that judge committed data.

The ingest worker appends one row per batch in the batch's own transaction: a batch is in the log exactly when
its data is in the store. The alert role reads the rows after its cursor and moves the cursor in the transaction
that writes what it made of them (store.cursors), so every committed batch is judged, once per commit of the
judge, whatever restarts in between.

Commit order: on SQLite writers are serialised, so `seq` grows in commit order. On PostgreSQL two ingest
workers commit concurrently, and a sequence value taken by one transaction may become visible after a higher one
taken later; a reader that had moved past the higher would never see the lower. So the append takes a
transaction-scoped advisory lock first: no other batch can take a `seq` until this one has committed (or rolled
back, which leaves a harmless gap). The lock covers only the append and the commit at the end of the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from store.models import Cursor, IngestLog, epoch_ms
from store.results import rowcount
from store.writes import insert_for

LOG_LOCK = 0x7A71696C  # "zqil": the advisory lock that orders appends on PostgreSQL
EVENT_TIMES = ("reported_at", "updated_at", "closed_at")


@dataclass
class LoggedBatch:
    """A batch as the log keeps it: the shapes of store.Batch's fields that judges read."""

    observations: list[tuple[Any, ...]] = field(default_factory=list)  # (device, feed, ms, county, values JSON)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # name, lon, lat of those devices
    kpis: dict[tuple[str, str, datetime], dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    size: int = 0


def encode(batch: Any) -> bytes | None:
    """The log payload of a batch (store.Batch), or None when it holds nothing a judge reads."""
    if not (batch.observations or batch.kpis or batch.events):
        return None
    devices = {d: [r.get("name"), r.get("lon"), r.get("lat")] for d, r in batch.devices.items()}
    kpis = [[r["key"], r["region"], epoch_ms(r["ts"]), r["value"]] for r in batch.kpis.values()]
    return orjson.dumps({"o": batch.observations, "d": devices, "k": kpis, "e": list(batch.events.values()),
                         "n": batch.size})


def decode(payload: bytes) -> LoggedBatch:
    """A logged batch back from its payload."""
    doc = orjson.loads(payload)
    out = LoggedBatch(size=doc.get("n", 0))
    out.observations = [tuple(o) for o in doc["o"]]
    out.devices = {d: {"name": n, "lon": lon, "lat": lat} for d, (n, lon, lat) in doc["d"].items()}
    for key, region, ms, value in doc["k"]:
        ts = datetime.fromtimestamp(ms / 1000, UTC)
        out.kpis[(key, region, ts)] = {"key": key, "region": region, "ts": ts, "value": value}
    for ev in doc["e"]:
        out.events[ev["id"]] = {k: (datetime.fromisoformat(v) if k in EVENT_TIMES and v is not None else v)
                                for k, v in ev.items()}
    return out


def append(session: Session, batch: Any, at: datetime) -> int | None:
    """Log a batch in the caller's (the batch's) transaction; its seq, or None when there was nothing to log."""
    payload = encode(batch)
    if payload is None:
        return None
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOG_LOCK)))
    return session.execute(insert(IngestLog).values(at=at, messages=batch.size, payload=payload)
                           .returning(IngestLog.seq)).scalar_one()


@dataclass(frozen=True)
class Entry:
    """One logged batch."""

    seq: int
    at: datetime
    payload: bytes


def read_after(session: Session, seq: int, limit: int = 20) -> list[Entry]:
    """The logged batches after `seq`, oldest first."""
    rows = session.execute(select(IngestLog.seq, IngestLog.at, IngestLog.payload).where(IngestLog.seq > seq)
                           .order_by(IngestLog.seq).limit(limit))
    return [Entry(s, a, bytes(p)) for s, a, p in rows]


def read_since(session: Session, since: datetime, upto: int) -> list[Entry]:
    """The logged batches written since a time, up to and including seq `upto` (to rebuild a judge's memory)."""
    rows = session.execute(select(IngestLog.seq, IngestLog.at, IngestLog.payload)
                           .where(IngestLog.at >= since, IngestLog.seq <= upto).order_by(IngestLog.seq))
    return [Entry(s, a, bytes(p)) for s, a, p in rows]


def pending(session: Session, seq: int) -> int:
    """How many logged batches lie after `seq` (a reader's lag)."""
    return session.scalar(select(func.count()).select_from(IngestLog).where(IngestLog.seq > seq)) or 0


def last_seq(session: Session) -> int:
    """The newest seq in the log (0 when empty)."""
    return session.scalar(select(func.max(IngestLog.seq))) or 0


def trim(session: Session, before: datetime, keep_after: int | None = None) -> int:
    """Delete logged batches written before a time (and, when given, only those at or below a cursor)."""
    stmt = delete(IngestLog).where(IngestLog.at < before)
    if keep_after is not None:
        stmt = stmt.where(IngestLog.seq <= keep_after)
    return rowcount(session.execute(stmt))


# ---- cursors ---------------------------------------------------------------------------------------------------


def cursor(session: Session, name: str) -> int:
    """Where a reader is (0 before it has read anything)."""
    return session.scalar(select(Cursor.seq).where(Cursor.name == name)) or 0


def cursors(session: Session) -> Mapping[str, int]:
    """Every reader's position."""
    return {name: seq for name, seq in session.execute(select(Cursor.name, Cursor.seq))}


def move_cursor(session: Session, name: str, old: int, new: int, at: datetime) -> bool:
    """Move a cursor from `old` to `new` in the caller's transaction; False when it was not at `old` (another
    reader moved it: what the caller wrote must roll back)."""
    if old == 0 and session.get(Cursor, name) is None:
        ins = insert_for(session)(Cursor).values(name=name, seq=new, updated_at=at)
        return session.execute(ins.on_conflict_do_nothing(index_elements=["name"]).returning(Cursor.name)
                               ).first() is not None
    stmt = update(Cursor).where(Cursor.name == name, Cursor.seq == old).values(seq=new, updated_at=at)
    return rowcount(session.execute(stmt)) == 1
