"""What people do to alarms at a console: acknowledge, clear, silence. Each in the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from store.models import Alarm, Silence


class AlarmError(ValueError):
    """An action the alarm's state does not allow (e.g. acknowledging a cleared alarm)."""


def acknowledge(session: Session, alarm_id: int, user: str, now: datetime) -> Alarm:
    """Someone has seen it and is on it: active → acknowledged (the wall lets go of a red alarm)."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise AlarmError(f"no alarm {alarm_id}")
    if alarm.cleared_at is not None:
        raise AlarmError(f"alarm {alarm_id} is cleared already")
    if alarm.acked_at is None:
        alarm.state, alarm.acked_at, alarm.acked_by = "acknowledged", now, user
    return alarm


def clear(session: Session, alarm_id: int, user: str, now: datetime) -> Alarm:
    """Closed by hand (the condition may persist: the rule then raises a new alarm on its next reading)."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise AlarmError(f"no alarm {alarm_id}")
    if alarm.cleared_at is None:
        alarm.state, alarm.cleared_at, alarm.cleared_by = "cleared", now, user
    return alarm


def silence(session: Session, user: str, now: datetime, minutes: float, rule: str | None = None,
            source: str | None = None, county: str | None = None, reason: str | None = None) -> Silence:
    """Silence matching alarms for a while: recorded, but no notifications and no takeover of the wall.

    Open alarms it covers are marked silenced at once, so a red one stops holding the wall.
    """
    if not 0 < minutes <= 7 * 24 * 60:  # written so that NaN fails it too
        raise AlarmError("a silence lasts more than 0 minutes and at most 7 days")
    if rule is None and source is None and county is None:
        raise AlarmError("a silence names a rule, a source or a county (silencing everything is not allowed)")
    row = Silence(rule=rule, source=source, county_adcode=county, starts_at=now,
                  ends_at=now + timedelta(minutes=minutes), created_by=user, reason=reason)
    session.add(row)
    stmt = session.query(Alarm).filter(Alarm.cleared_at.is_(None))
    if rule is not None:
        stmt = stmt.filter(Alarm.rule == rule)
    if source is not None:
        stmt = stmt.filter(Alarm.source == source)
    if county is not None:
        stmt = stmt.filter(Alarm.county_adcode == county)
    for alarm in stmt:
        alarm.silenced = True
    return row
