"""Repair what a store kept from the future before the clock discipline refused such messages at the edge.

A reading stamped 2099 that was stored before feeds.decode refused future times still blocks newer data: latest
values, a device's last sighting, a feed's last message and a KPI's newest value never move backwards, and an alarm
it cleared stays cleared. `repair_future` moves every stored row later than a limit into dead letters (kept, with
its reason, as a refused message would be), recomputes what was derived from them from the honest rows, and
reopens alarms that such a reading cleared. It is idempotent; the ingest role runs it at start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from store.models import Alarm, DeadLetter, Device, FeedStatus, KpiMetric, LatestValue, Observation, epoch_ms
from store.results import rowcount
from store.writes import insert_for

REASON = ("stored before times ahead of their arrival were refused: {ts} was later than {limit}; moved here so it "
          "no longer hides newer data")


def repair_future(session: Session, limit: datetime, now: datetime) -> dict[str, int]:
    """Move rows later than `limit` into dead letters and repair what they blocked; counts of what was done."""
    out = {"observations": 0, "latest_values": 0, "kpis": 0, "devices": 0, "feeds": 0, "alarms_reopened": 0}
    limit_ms = epoch_ms(limit)

    rows = session.execute(select(Observation.device_id, Observation.feed, Observation.ts, Observation.county_adcode,
                                  Observation.data).where(Observation.ts > limit)).all()
    if rows:
        _dead(session, now, limit, (({"device_id": d, "feed": f, "ts": ts.isoformat(), "values": _values(v)},
                                     f"(stored)/{c or '-'}/{f}/{d}", f, ts) for d, f, ts, c, v in rows))
        session.execute(delete(Observation).where(Observation.ts > limit))
        out["observations"] = len(rows)

    future_latest = session.execute(select(LatestValue.device_id, LatestValue.metric)
                                    .where(LatestValue.ts > limit)).all()
    if future_latest:
        session.execute(delete(LatestValue).where(LatestValue.ts > limit))
        _rebuild_latest(session, {d for d, _ in future_latest}, limit_ms)
        out["latest_values"] = len(future_latest)

    kpis = session.execute(select(KpiMetric.key, KpiMetric.region, KpiMetric.ts, KpiMetric.value, KpiMetric.unit)
                           .where(KpiMetric.ts > limit)).all()
    if kpis:
        _dead(session, now, limit, (({"metric": k, "region": r, "ts": ts.isoformat(), "value": v, "unit": u},
                                     f"(stored)/{r}/kpi/{k}", "kpi", ts) for k, r, ts, v, u in kpis))
        session.execute(delete(KpiMetric).where(KpiMetric.ts > limit))
        out["kpis"] = len(kpis)

    for dev in session.scalars(select(Device).where(Device.last_seen > limit)):
        newest = session.scalar(select(func.max(Observation.ts)).where(Observation.device_id == dev.id))
        dev.last_seen = max(dev.first_seen, newest) if newest is not None else min(dev.first_seen, limit)
        out["devices"] += 1

    for fs in session.scalars(select(FeedStatus).where(FeedStatus.last_message_at > limit)):
        fs.last_message_at = session.scalar(select(func.max(Observation.ts)).where(Observation.feed == fs.feed))
        out["feeds"] += 1

    # An alarm a future reading cleared by itself is open again; one a future reading raised or kept up keeps the
    # honest times it has. (An alarm cleared by a person keeps its clearing: that was a person's decision.)
    out["alarms_reopened"] = rowcount(session.execute(
        update(Alarm).where(Alarm.cleared_at > limit, Alarm.cleared_by == "auto")
        .values(cleared_at=None, cleared_by=None, state="active")))
    session.execute(update(Alarm).where(and_(Alarm.last_at > limit, Alarm.opened_at <= limit))
                    .values(last_at=Alarm.opened_at))
    # One a future reading raised is ended now, by the repair (kept, for the record, with its odd opening time).
    session.execute(update(Alarm).where(Alarm.opened_at > limit, Alarm.cleared_at.is_(None))
                    .values(cleared_at=now, cleared_by="repair", state="cleared"))
    session.execute(update(Alarm).where(Alarm.opened_at > limit, Alarm.cleared_at > limit)
                    .values(cleared_at=now, cleared_by="repair", state="cleared"))
    return out


def _rebuild_latest(session: Session, devices: set[str], limit_ms: int) -> None:
    """latest_values of these devices again, from their newest honest observation of each metric."""
    insert = insert_for(session)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for d, f, ts, c, data in session.execute(
            select(Observation.device_id, Observation.feed, Observation.ts, Observation.county_adcode,
                   Observation.data).where(Observation.device_id.in_(devices)).order_by(Observation.ts)):
        for metric, value in _values(data).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                rows[(d, metric)] = {"device_id": d, "metric": metric, "feed": f, "county_adcode": c,
                                     "ts": epoch_ms(ts), "value": float(value)}
    if rows:
        stmt = insert(LatestValue)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["device_id", "metric"],
            set_={"feed": stmt.excluded.feed, "ts": stmt.excluded.ts, "value": stmt.excluded.value,
                  "county_adcode": stmt.excluded.county_adcode}), list(rows.values()))


def _values(data: Any) -> dict[str, Any]:
    """An observation's values, whichever way the driver hands the JSON column back."""
    return data if isinstance(data, dict) else orjson.loads(data)


def _dead(session: Session, now: datetime, limit: datetime,
          items: Iterable[tuple[dict[str, Any], str, str, datetime]]) -> None:
    """Keep moved rows as dead letters (one per row, folded with repeats)."""
    insert = insert_for(session)
    for body, topic, feed, ts in items:
        payload = orjson.dumps(body)
        digest = hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()
        stmt = insert(DeadLetter).values(digest=digest, received_at=now, last_received_at=now, count=1,
                                         topic=topic[:256], feed=feed, payload=payload, size=len(payload),
                                         reason=REASON.format(ts=ts.isoformat(), limit=limit.isoformat()))
        session.execute(stmt.on_conflict_do_nothing(index_elements=["digest"]))
