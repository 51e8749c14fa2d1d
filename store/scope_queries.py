"""Which county a thing belongs to, for the county scope (dashboard/scope.py): one indexed read by primary key."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Alarm, Case, Device, GridEvent


def device_county(session: Session, device_id: str) -> str | None:
    """The county of a device (None: no such device, or it is in none)."""
    return session.scalar(select(Device.county_adcode).where(Device.id == device_id))


def case_county(session: Session, ident: str) -> str | None:
    """The county of a case, named by its grid event's id or by the case's own id (AL-…, GE-…)."""
    county = session.scalar(select(GridEvent.county_adcode).where(GridEvent.id == ident))
    if county is not None:
        return county
    return session.scalar(select(Case.county_adcode).where(Case.id == ident))


def alarm_counties(session: Session, alarm_ids: Iterable[int]) -> dict[int, str | None]:
    """The county of each of these alarms."""
    wanted = sorted(set(alarm_ids))
    if not wanted:
        return {}
    return {i: c for i, c in session.execute(select(Alarm.id, Alarm.county_adcode).where(Alarm.id.in_(wanted)))}
