"""Reads of the configurable list panels: grid cases filtered by step and class, newest or most overdue first.

Each takes a Session and never opens one and returns frozen dataclasses. Whether a list holds only open
cases is the caller's to say (`open_only`): the store knows a case is closed by its closed_at, the workflow
step that closes it is the feed's rule. Open-only reads go through the open-case index (closed_at,
county_adcode) and sort the few matching rows; reads that include closed cases walk the report-time index
backwards and stop at `limit`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple, Unpack

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from store.case_queries import hours_over, with_deadline
from store.models import Case, GridEvent

Ts = TypeVarTuple("Ts")

# The list shows the start of a case's description as its location; the rest is on the case page.
DESCRIPTION_CHARS = 120


@dataclass(frozen=True)
class CaseLine:
    """One case of a list panel: what, where, which step, when reported and (if closed) when closed."""

    id: str
    county_adcode: str | None
    kind: str
    category: str
    subcategory: str | None
    step: int
    reported_at: datetime
    closed_at: datetime | None
    grid_code: str | None
    description: str | None
    deadline_at: datetime | None = None  # its case's deadline (working hours), when a case is kept for it


@dataclass(frozen=True)
class OverdueLine:
    """An open case past its subcategory's limit, and by how many hours."""

    case: CaseLine
    hours_over: float


@dataclass(frozen=True)
class CaseList:
    """The rows a list panel shows and how many cases match in all (None: not counted)."""

    rows: tuple[CaseLine, ...]
    total: int | None


@dataclass(frozen=True)
class OverdueList:
    """The most overdue matching cases, most overdue first, and how many are overdue in all."""

    rows: tuple[OverdueLine, ...]
    total: int


_LINE = (GridEvent.id, GridEvent.county_adcode, GridEvent.kind, GridEvent.category, GridEvent.subcategory,
         GridEvent.step, GridEvent.reported_at, GridEvent.closed_at, GridEvent.grid_code,
         func.substr(GridEvent.description, 1, DESCRIPTION_CHARS), Case.deadline_at)


def _filtered(stmt: Select[Unpack[Ts]], county: str | None, steps: Sequence[int], categories: Sequence[str],
              open_only: bool) -> Select[Unpack[Ts]]:
    """`stmt` restricted to a county, steps, top-level classes (empty: all) and, if asked, open cases."""
    conds: list[ColumnElement[bool]] = [GridEvent.step.in_(sorted(set(steps)))]
    if open_only:
        conds.append(GridEvent.closed_at.is_(None))
    if county is not None:
        conds.append(GridEvent.county_adcode == county)
    if categories:
        conds.append(GridEvent.category.in_(sorted(set(categories))))
    return stmt.where(*conds)


def latest_cases(session: Session, county: str | None, steps: Sequence[int], categories: Sequence[str],
                 limit: int, open_only: bool) -> CaseList:
    """Cases at the given steps (and classes), newest report first, at most `limit`; counted when open_only."""
    if open_only:
        # Ordered by a no-op coalesce so the sort runs on the open rows rather than down the whole
        # reported_at index (as store.drill_queries.events_in_bbox does).
        order: Any = func.coalesce(GridEvent.reported_at, GridEvent.updated_at).desc()
    else:
        order = GridEvent.reported_at.desc()
    stmt = _filtered(with_deadline(select(*_LINE)), county, steps, categories, open_only).order_by(order, GridEvent.id)
    rows = tuple(CaseLine(*r) for r in session.execute(stmt.limit(limit)))
    total = None
    if open_only:
        total = session.scalar(_filtered(select(func.count()).select_from(GridEvent), county, steps, categories,
                                         True))
    return CaseList(rows, total)


def overdue_cases(session: Session, county: str | None, now: datetime, limits_hours: Mapping[str, float],
                  default_hours: float, steps: Sequence[int], categories: Sequence[str], limit: int) -> OverdueList:
    """Open cases open longer than their subcategory's limit, most overdue first, at most `limit`.

    A subcategory's limit is limits_hours.get(subcategory or "", default_hours), as topics.cases has it and
    store.drill_queries.case_summary applies it: the open set is read once and the rule applied here.
    """
    stmt = _filtered(with_deadline(select(GridEvent.id, GridEvent.subcategory, GridEvent.reported_at,
                                          Case.deadline_at)), county, steps, categories, True)
    late: list[tuple[float, str]] = []
    for id_, subcategory, reported_at, deadline_at in session.execute(stmt):
        over = hours_over(now, reported_at, deadline_at, limits_hours.get(subcategory or "", default_hours))
        if over > 0:
            late.append((over, id_))
    top = heapq.nsmallest(limit, late, key=lambda c: (-c[0], c[1])) if limit > 0 else []
    if not top:
        return OverdueList((), len(late))
    by_id = {r[0]: CaseLine(*r) for r in session.execute(with_deadline(select(*_LINE)).where(GridEvent.id.in_([i for _, i in top])))}
    rows = tuple(OverdueLine(by_id[i], over) for over, i in top if i in by_id)
    return OverdueList(rows, len(late))


__all__ = ["DESCRIPTION_CHARS", "CaseLine", "CaseList", "OverdueLine", "OverdueList", "latest_cases", "overdue_cases"]
