"""Reads of alarms and silences: what is open now, what the wall must show, what a console lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from store.models import Alarm, Silence


def open_alarms(session: Session, county: str | None = None, min_severity: int = 1,
                limit: int | None = 500) -> list[Alarm]:
    """Alarms not cleared, worst first then newest (of one county, when given; all of them with limit None)."""
    stmt = select(Alarm).where(Alarm.cleared_at.is_(None), Alarm.severity >= min_severity)
    if county:
        stmt = stmt.where(Alarm.county_adcode == county)
    stmt = stmt.order_by(Alarm.severity.desc(), Alarm.opened_at.desc())
    return list(session.scalars(stmt if limit is None else stmt.limit(limit)))


def open_count(session: Session) -> int:
    """How many alarms are open."""
    return session.scalar(select(func.count()).select_from(Alarm).where(Alarm.cleared_at.is_(None))) or 0


def takes_over(alarm: Alarm, severity: int = 4) -> bool:
    """Whether an open alarm holds the wall: red, nobody has acknowledged it, no silence covers it (as
    critical_unacknowledged selects them)."""
    return alarm.cleared_at is None and alarm.acked_at is None and alarm.severity >= severity and not alarm.silenced


def open_alarm_keys(session: Session) -> list[tuple[str, str, int]]:
    """(rule, source, id) of every open alarm: what the engine remembers at start."""
    stmt = select(Alarm.rule, Alarm.source, Alarm.id).where(Alarm.cleared_at.is_(None))
    return [(rule, source, alarm) for rule, source, alarm in session.execute(stmt)]


def last_seen_by_key(session: Session) -> dict[tuple[str, str], datetime]:
    """The newest data time each (rule, source) has judged, from its alarms: readings older are replays."""
    newest = func.max(func.coalesce(Alarm.cleared_at, Alarm.last_at))
    rows = session.execute(select(Alarm.rule, Alarm.source, newest).group_by(Alarm.rule, Alarm.source))
    return {(rule, source): ts for rule, source, ts in rows if ts is not None}


def alarm_at(session: Session, rule: str, source: str, opened_at: datetime) -> Alarm | None:
    """The alarm a reading at opened_at raised, if it was raised already (a replay finds it)."""
    return session.scalar(select(Alarm).where(Alarm.rule == rule, Alarm.source == source,
                                              Alarm.opened_at == opened_at))


def banner_order(alarm: Alarm) -> tuple[int, int]:
    """Sort key of the wall's banner (docs/alarms.md): the most severe first, then the one raised last.

    Raised last is by the alarm's id (the order the store took them in), not its data time: a station that
    comes back with a buffered reading from an hour ago raises news the room has not seen yet.
    """
    return -alarm.severity, -alarm.id


def critical_unacknowledged(session: Session, severity: int = 4) -> list[Alarm]:
    """Red alarms that nobody has acknowledged and no silence covers (they take over the wall), in banner order."""
    stmt = (select(Alarm).where(Alarm.cleared_at.is_(None), Alarm.acked_at.is_(None), Alarm.severity >= severity,
                                Alarm.silenced.is_(False))
            .order_by(Alarm.severity.desc(), Alarm.id.desc()))
    return list(session.scalars(stmt))


def open_by_county(session: Session) -> dict[str, int]:
    """Open alarms per county (alarms without a county are left out)."""
    stmt = (select(Alarm.county_adcode, func.count()).where(Alarm.cleared_at.is_(None),
                                                            Alarm.county_adcode.is_not(None))
            .group_by(Alarm.county_adcode))
    return {c: n for c, n in session.execute(stmt) if c is not None}  # (the WHERE leaves none out)


def recent_alarms(session: Session, limit: int = 200, states: Iterable[str] | None = None) -> list[Alarm]:
    """The newest alarms, of some states when given."""
    stmt = select(Alarm)
    if states is not None:
        stmt = stmt.where(Alarm.state.in_(list(states)))
    return list(session.scalars(stmt.order_by(Alarm.id.desc()).limit(limit)))


def unacknowledged_for_escalation(session: Session, now: datetime, after: Mapping[str, timedelta]) -> list[Alarm]:
    """Open, unacknowledged, not silenced alarms of the rules that escalate (`after`: each rule's wait), due now:
    opened, or last escalated, at least that long ago. Chosen in SQL: a city with 42,000 devices silent loaded
    every open alarm each tick to escalate none."""
    if not after:
        return []
    since = func.coalesce(Alarm.escalated_at, Alarm.opened_at)
    stmt = select(Alarm).where(Alarm.cleared_at.is_(None), Alarm.acked_at.is_(None), Alarm.silenced.is_(False),
                               or_(*(and_(Alarm.rule == rule, since <= now - wait)
                                     for rule, wait in sorted(after.items()))))
    return list(session.scalars(stmt.order_by(Alarm.id)))


def active_silences(session: Session, now: datetime) -> list[Silence]:
    """Silences in force at now."""
    return list(session.scalars(select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)))
