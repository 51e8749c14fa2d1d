"""Reads for the comprehensive evaluation (综合评价): the cases of a period with the times of their steps.

Takes a Session and never opens one; returns frozen dataclasses, so an answer outlives its session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from store.models import Case, CaseStep


@dataclass(frozen=True)
class CaseRecord:
    """One case as the evaluation reads it: where, its clock, and when it reached each step it recorded."""

    id: str
    county_adcode: str | None
    opened_at: datetime
    deadline_at: datetime | None
    closed_at: datetime | None
    steps: tuple[tuple[int, datetime], ...]  # (step, at), by step; one row per step (uq_case_steps_case_step)
    # Whether the case went back for rework (返工); None: the source does not record it. This store cannot:
    # it keeps one row per step and steps only move forward (alerts.cases.advance_case).
    reworked: bool | None = None

    def at(self, step: int) -> datetime | None:
        """When the case reached `step`, or else the earliest later step it recorded (which implies `step`)."""
        times = [t for s, t in self.steps if s >= step]
        if not times:
            return None
        exact = [t for s, t in self.steps if s == step]
        return exact[0] if exact else min(times)

    @property
    def reported_at(self) -> datetime:
        """When the problem was reported (信息收集, step 1), else when the case was opened."""
        first = [t for s, t in self.steps if s == 1]
        return first[0] if first else self.opened_at


def evaluation_records(session: Session, start: datetime, end: datetime) -> list[CaseRecord]:
    """Cases reported or opened in [start, end), with their steps, by id: one query (cases outer-joined to steps).

    An alarm's case records 信息收集 at the alarm's opening, before the case was opened, so a case counts when
    either time falls in the period; the evaluation itself selects by the report time (CaseRecord.reported_at).
    """
    # Two index ranges (ix_cases_opened_at, ix_case_steps_step_at) joined by UNION: an OR with a correlated
    # EXISTS read the whole cases table.
    ids = union(select(Case.id).where(Case.opened_at >= start, Case.opened_at < end),
                select(CaseStep.case_id).where(CaseStep.step == 1, CaseStep.at >= start, CaseStep.at < end))
    stmt = (select(Case.id, Case.county_adcode, Case.opened_at, Case.deadline_at, Case.closed_at,
                   CaseStep.step, CaseStep.at)
            .outerjoin(CaseStep, CaseStep.case_id == Case.id)
            .where(Case.id.in_(select(ids.subquery().c[0])))
            .order_by(Case.id, CaseStep.step))
    records: list[CaseRecord] = []
    head: tuple[str, str | None, datetime, datetime | None, datetime | None] | None = None
    steps: list[tuple[int, datetime]] = []
    for cid, county, opened, deadline_at, closed, step, at in session.execute(stmt):
        if head is None or head[0] != cid:
            if head is not None:
                records.append(CaseRecord(*head, tuple(steps)))
            head, steps = (cid, county, opened, deadline_at, closed), []
        if step is not None:
            steps.append((step, at))
    if head is not None:
        records.append(CaseRecord(*head, tuple(steps)))
    return records
