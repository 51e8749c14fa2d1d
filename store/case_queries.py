"""Reads of cases (the seven-step workflow with SLA clocks): open, overdue, one case with its steps, counts.

Each takes a Session and never opens one, and returns frozen dataclasses, so an answer outlives its session.
Open and overdue reads are ranges of ix_cases_open (closed_at, deadline_at).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple, Unpack

from sqlalchemy import Select, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from store.models import Case, CaseStep, GridEvent

Ts = TypeVarTuple("Ts")

LEVELS: Sequence[str] = ("市", "县", "镇", "村")  # from the city down


@dataclass(frozen=True)
class CaseRow:
    """A case as lists show it."""

    id: str
    origin: str
    origin_id: str
    title: str
    category: str | None
    subcategory: str | None
    county_adcode: str | None
    department: str
    level: str
    step: int
    opened_at: datetime
    limit_hours: float | None
    deadline_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class CaseStepRow:
    """A step a case passed."""

    step: int
    at: datetime
    actor: str | None
    note: str | None


@dataclass(frozen=True)
class CaseDetail:
    """One case and its steps in order."""

    case: CaseRow
    steps: tuple[CaseStepRow, ...]


@dataclass(frozen=True)
class CaseCounts:
    """Cases by handling level (市, 县, 镇, 村) and by workflow step."""

    total: int
    by_level: dict[str, int]
    by_step: dict[int, int]


_COLUMNS = (Case.id, Case.origin, Case.origin_id, Case.title, Case.category, Case.subcategory, Case.county_adcode,
            Case.department, Case.level, Case.step, Case.opened_at, Case.limit_hours, Case.deadline_at,
            Case.closed_at)


def _rows(session: Session, stmt: Select[Unpack[tuple[Any, ...]]]) -> list[CaseRow]:
    """Rows of a select of _COLUMNS as CaseRow."""
    return [CaseRow(*r) for r in session.execute(stmt)]


def _scope(stmt: Select[Unpack[Ts]], county: str | None, open_only: bool = True) -> Select[Unpack[Ts]]:
    """Open cases (closed_at IS NULL leads ix_cases_open), of one county when one is given."""
    if open_only:
        stmt = stmt.where(Case.closed_at.is_(None))
    return stmt if county is None else stmt.where(Case.county_adcode == county)


def open_cases(session: Session, county: str | None = None, limit: int | None = None) -> list[CaseRow]:
    """Open cases of the city or a county, soonest deadline first (cases without one last)."""
    stmt = _scope(select(*_COLUMNS), county).order_by(Case.deadline_at.is_(None), Case.deadline_at, Case.id)
    return _rows(session, stmt if limit is None else stmt.limit(limit))


def overdue_open_cases(session: Session, now: datetime, county: str | None = None,
                       limit: int | None = None) -> list[CaseRow]:
    """Open cases past their deadline (deadline_at < now), most overdue first."""
    stmt = _scope(select(*_COLUMNS), county).where(Case.deadline_at < now).order_by(Case.deadline_at, Case.id)
    return _rows(session, stmt if limit is None else stmt.limit(limit))


def open_cases_spanning(session: Session, spans: Sequence[tuple[datetime, datetime]]) -> int:
    """Open cases whose clock (opening to deadline) overlaps any of the spans [start, end)."""
    if not spans:
        return 0
    overlaps = [(Case.opened_at < end) & (Case.deadline_at >= start) for start, end in spans]
    stmt = _scope(select(func.count()).select_from(Case), None).where(Case.deadline_at.is_not(None), or_(*overlaps))
    return session.scalar(stmt) or 0


def case_with_steps(session: Session, case_id: str) -> CaseDetail | None:
    """One case and the steps it passed, or None when there is no such case."""
    rows = _rows(session, select(*_COLUMNS).where(Case.id == case_id))
    if not rows:
        return None
    steps = session.execute(select(CaseStep.step, CaseStep.at, CaseStep.actor, CaseStep.note)
                            .where(CaseStep.case_id == case_id).order_by(CaseStep.step))
    return CaseDetail(rows[0], tuple(CaseStepRow(*s) for s in steps))


def case_counts(session: Session, county: str | None = None, open_only: bool = True) -> CaseCounts:
    """How many cases (open ones by default) there are per handling level and per workflow step."""
    stmt = _scope(select(Case.level, Case.step, func.count()), county, open_only).group_by(Case.level, Case.step)
    by_level: dict[str, int] = {}
    by_step: dict[int, int] = {}
    for level, step, n in session.execute(stmt):
        by_level[level] = by_level.get(level, 0) + n
        by_step[step] = by_step.get(step, 0) + n
    return CaseCounts(sum(by_level.values()), dict(sorted(by_level.items(), key=lambda kv: _level_order(kv[0]))),
                      dict(sorted(by_step.items())))


def _level_order(level: str) -> int:
    """市 before 县 before 镇 before 村; anything else after."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def with_deadline(stmt: Select[Unpack[Ts]]) -> Select[Unpack[Ts]]:
    """A select over grid_events joined to each event's case (if it has one), for Case.deadline_at."""
    return stmt.outerjoin(Case, (Case.origin == "grid_event") & (Case.origin_id == GridEvent.id))


def overdue_by_county(session: Session, at: datetime, limits_hours: Mapping[str, float], default_hours: float,
                      *, past: bool = False, counties: Collection[str] | None = None) -> dict[str | None, int]:
    """Grid events open at `at` and past their time limit (hours_over > 0), counted per county (of `counties`
    only, when given: a county page reads its own ~1/8 of the city's open cases).

    Now (`past` False) that is the open set, one read on ix_grid_events_open_county; for a past moment the
    events reported by then and not closed by then."""
    if past:
        open_then = (GridEvent.reported_at <= at) & or_(GridEvent.closed_at.is_(None), GridEvent.closed_at > at)
        stmt = with_deadline(select(GridEvent.county_adcode, GridEvent.subcategory, GridEvent.reported_at,
                                    Case.deadline_at)).where(open_then)
        if counties is not None:
            stmt = stmt.where(GridEvent.county_adcode.in_(sorted(counties)))
        rows: Iterable[Any] = session.execute(stmt)
    else:
        rows = ((c.county_adcode, c.subcategory, c.reported_at, c.deadline_at) for c in open_grid_events(session, counties))
    out: dict[str | None, int] = {}
    for county, subcategory, reported_at, deadline_at in rows:
        if hours_over(at, reported_at, deadline_at, limits_hours.get(subcategory or "", default_hours)) > 0:
            out[county] = out.get(county, 0) + 1
    return out


def open_grid_events(session: Session, counties: Collection[str] | None = None
                     ) -> Sequence[Row[str, str | None, str | None, int, datetime, datetime | None]]:
    """The open grid events (of some counties, else the city's) with their case's deadline — id, county_adcode,
    subcategory, step, reported_at, deadline_at — read once per session: a session is one reading moment (a page or
    a tick), and the overdue measure and the county page's case summary both ask (one read on
    ix_grid_events_open_county, where each did its own)."""
    key = ("store.open_grid_events", None if counties is None else tuple(sorted(counties)))
    cached = session.info.get(key)
    if isinstance(cached, list):  # (session.info holds anything: what this function put there is a list)
        return cached
    stmt = with_deadline(select(GridEvent.id, GridEvent.county_adcode, GridEvent.subcategory, GridEvent.step,
                                GridEvent.reported_at, Case.deadline_at)).where(GridEvent.closed_at.is_(None))
    if counties is not None:
        stmt = stmt.where(GridEvent.county_adcode.in_(sorted(counties)))
    rows = session.info[key] = list(session.connection().execute(stmt).all())  # Core: no ORM row handling
    return rows


def hours_over(now: datetime, reported_at: datetime, deadline_at: datetime | None, limit_hours: float) -> float:
    """Hours a grid event is past its deadline: its case's (counted in working hours on the calendar), or, for an
    event from before cases were kept, its limit on the clock from the report."""
    if deadline_at is not None:
        return (now - deadline_at).total_seconds() / 3600
    return (now - reported_at).total_seconds() / 3600 - limit_hours
