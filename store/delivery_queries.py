"""Outbound notifications (webhook deliveries): the notifier's queue and the console's reads (sessions owned by the caller)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store.models import Delivery
from store.results import rowcount

STATUSES = ("pending", "sent", "failed")


def due_deliveries(session: Session, now: datetime, limit: int = 100) -> list[Delivery]:
    """Pending deliveries whose next attempt is due, oldest first (a `raised` before its `cleared`)."""
    stmt = (select(Delivery).where(Delivery.status == "pending", Delivery.next_at <= now)
            .order_by(Delivery.id).limit(limit))
    return list(session.scalars(stmt))


def claim_delivery(session: Session, delivery_id: int, now: datetime, until: datetime) -> bool:
    """Push a due pending delivery's next attempt to `until`; False if it is no longer due (another worker took it)."""
    stmt = (update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == "pending", Delivery.next_at <= now)
            .values(next_at=until))
    return rowcount(session.execute(stmt)) == 1


def alarm_deliveries(session: Session, alarm_id: int) -> list[Delivery]:
    """Every delivery of one alarm, in the order they were queued."""
    return list(session.scalars(select(Delivery).where(Delivery.alarm_id == alarm_id).order_by(Delivery.id)))


def recent_deliveries(session: Session, limit: int = 200, status: str | None = None) -> list[Delivery]:
    """The newest deliveries (of one status, when given), newest first."""
    stmt = select(Delivery)
    if status is not None:
        stmt = stmt.where(Delivery.status == status)
    return list(session.scalars(stmt.order_by(Delivery.id.desc()).limit(limit)))


def delivery_counts(session: Session) -> dict[str, int]:
    """Deliveries per status; every status is present, zero when there are none."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    return counts
