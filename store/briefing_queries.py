"""Daily briefings (运行日报) and the day's counts they report: alarms raised, acknowledged and cleared, cases
reported, closed and overdue, by county and department. Sessions are owned by the caller."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from store.models import Alarm, Briefing, Case

STATES = ("making", "ready", "failed")


def schedule_key(day: date, region: str) -> str:
    """The key of the scheduled briefing of one day and region: one of them exists, however often it is tried."""
    return f"schedule:{day.isoformat()}:{region}"


def claim(session: Session, key: str, day: date, region: str, trigger: str, lang: str, started_at: datetime,
          covers_to: datetime) -> Briefing | None:
    """Add a briefing being made; None when one with the key exists already (another process made or is making
    it). Flushed in a savepoint, so the caller's transaction goes on either way."""
    row = Briefing(key=key, day=day, region=region, trigger=trigger, lang=lang, state="making",
                   started_at=started_at, covers_to=covers_to)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def exists(session: Session, key: str) -> bool:
    """Whether a briefing with this key was made, is being made or failed."""
    return session.scalar(select(func.count()).select_from(Briefing).where(Briefing.key == key)) == 1


def finish(session: Session, briefing_id: int, made_at: datetime, pdf: bytes | None, pages: int | None,
           sha256: str | None, render_ms: int | None, error: str | None) -> Briefing | None:
    """Record the outcome: ready with its PDF, or failed with the reason."""
    row = session.get(Briefing, briefing_id)
    if row is None:
        return None
    row.made_at, row.render_ms = made_at, render_ms
    if error is None:
        row.state, row.pdf, row.size, row.pages, row.sha256, row.error = "ready", pdf, len(pdf or b""), pages, \
            sha256, None
    else:
        row.state, row.error = "failed", error
    return row


def briefings(session: Session, regions: Collection[str] | None = None, limit: int = 200) -> list[Briefing]:
    """The newest briefings (of some regions, when given), newest day first, then newest made; without the PDF."""
    stmt = select(Briefing)
    if regions is not None:
        stmt = stmt.where(Briefing.region.in_(list(regions)))
    return list(session.scalars(stmt.order_by(Briefing.day.desc(), Briefing.id.desc()).limit(limit)))


def briefing(session: Session, briefing_id: int, with_pdf: bool = False) -> Briefing | None:
    """One briefing (its PDF loaded when asked)."""
    stmt = select(Briefing).where(Briefing.id == briefing_id)
    if with_pdf:
        stmt = stmt.options(undefer(Briefing.pdf))
    return session.scalar(stmt)


def release_for_retry(session: Session, key: str, now: datetime, failed_before: datetime,
                      abandoned_before: datetime, tries: int) -> bool:
    """Free a scheduled briefing's key to be tried again: when it failed before `failed_before`, or was left
    `making` since before `abandoned_before` (the process making it stopped; marked failed, with that reason), and
    fewer than `tries` attempts were made. The failed attempt is kept, under a key of its own. Whether it was freed."""
    row = session.scalar(select(Briefing).where(Briefing.key == key).with_for_update())
    if row is None:
        return False
    if row.state == "making" and row.started_at < abandoned_before:
        row.state, row.made_at = "failed", now
        row.error = "abandoned: the process making it stopped before it finished"
    elif not (row.state == "failed" and (row.made_at or row.started_at) < failed_before):
        return False
    earlier = session.scalar(select(func.count()).select_from(Briefing)
                             .where(Briefing.key.like(f"retried:%:{key}"))) or 0
    if earlier + 1 >= tries:
        return False
    row.key = f"retried:{row.id}:{key}"[:64]
    return True


# ---- the day's counts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmDay:
    """Alarms of one county (None: without a county) in a period: raised, acknowledged, cleared in it, and open
    at its end."""

    county: str | None
    raised: int
    acknowledged: int
    cleared: int
    open_at_end: int


def _in(col: Any, start: datetime, end: datetime) -> Any:
    return (col >= start) & (col < end)


def count(cond: Any) -> Any:
    """How many rows meet a condition (a NULL comparison counts as not)."""
    return func.coalesce(func.sum(when((cond, 1), else_=0)), 0)


def alarm_day(session: Session, start: datetime, end: datetime) -> list[AlarmDay]:
    """Per county: alarms raised (opened_at), acknowledged (acked_at) and cleared (cleared_at) in [start, end),
    and open at end (raised before it, not cleared by it)."""
    rows = session.execute(
        select(Alarm.county_adcode,
               count(_in(Alarm.opened_at, start, end)), count(_in(Alarm.acked_at, start, end)),
               count(_in(Alarm.cleared_at, start, end)),
               count((Alarm.opened_at < end) & (Alarm.cleared_at.is_(None) | (Alarm.cleared_at >= end))))
        .where((Alarm.opened_at < end) & (Alarm.cleared_at.is_(None) | (Alarm.cleared_at >= start)))
        .group_by(Alarm.county_adcode))
    return [AlarmDay(c, int(r or 0), int(a or 0), int(cl or 0), int(o or 0)) for c, r, a, cl, o in rows]


@dataclass(frozen=True)
class CaseDay:
    """Cases of one county and department in a period: reported and closed in it, open and overdue at its end."""

    county: str | None
    department: str
    reported: int
    closed: int
    open_at_end: int
    overdue_at_end: int


def case_day(session: Session, start: datetime, end: datetime) -> list[CaseDay]:
    """Per county and department: cases opened and closed in [start, end), and open at end (opened before it, not
    closed by it) of which past their deadline then. Reads the cases opened before end and not closed before
    start (ix_cases_open, ix_cases_opened_at)."""
    open_end = (Case.opened_at < end) & (Case.closed_at.is_(None) | (Case.closed_at >= end))
    rows = session.execute(
        select(Case.county_adcode, Case.department,
               count(_in(Case.opened_at, start, end)), count(_in(Case.closed_at, start, end)), count(open_end),
               count(open_end & Case.deadline_at.is_not(None) & (Case.deadline_at < end)))
        .where((Case.opened_at < end) & (Case.closed_at.is_(None) | (Case.closed_at >= start)))
        .group_by(Case.county_adcode, Case.department))
    return [CaseDay(c, d, int(r or 0), int(cl or 0), int(o or 0), int(od or 0)) for c, d, r, cl, o, od in rows]

