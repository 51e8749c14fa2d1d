"""Grid cases as measures: the open cases of each county and of the city, counted from the events themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from clock import process_clock
from measures.base import Point
from store.case_queries import overdue_by_county
from store.models import GridEvent

OPEN_CASES_KEY = "social.open_grid_cases"


class CaseMeasures:
    """Open grid cases now and at past moments; the city's figure is the sum of its counties'."""

    def __init__(self, city: str) -> None:
        self.city = city

    def latest(self, session: Session, regions: Sequence[str], now: datetime | None = None) -> dict[str, Point]:
        """Cases open now per region, dated by the newest case update (a county with none open counts 0)."""
        counts = dict(session.execute(select(GridEvent.county_adcode, func.count())
                                      .where(GridEvent.closed_at.is_(None)).group_by(GridEvent.county_adcode)).all())
        newest = session.scalar(select(func.max(GridEvent.updated_at)))
        if newest is None:
            return {}
        return {r: Point(newest, float(sum(n for c, n in counts.items() if c is not None) if r == self.city
                                       else counts.get(r, 0))) for r in regions}

    def samples(self, session: Session, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        """Cases open at each interval's end: reported by then and not closed by then."""
        out: list[Point | None] = []
        for end in edges[1:]:
            stmt = select(func.count()).select_from(GridEvent).where(
                GridEvent.reported_at <= end, or_(GridEvent.closed_at.is_(None), GridEvent.closed_at > end))
            if region != self.city:
                stmt = stmt.where(and_(GridEvent.county_adcode == region))
            n = session.scalar(stmt) or 0
            out.append(Point(end, float(n)))
        return out


OVERDUE_CASES_KEY = "social.overdue_grid_cases"


class OverdueMeasures:
    """Open grid cases past their time limit: their case's deadline in working hours, or (events from before cases
    were kept) their subcategory's limit on the clock — store.case_queries.hours_over, the rule the case lists,
    the county page and the alarm rules share."""

    def __init__(self, city: str, limits: Mapping[str, float], default_hours: float) -> None:
        self.city, self.limits, self.default_hours = city, dict(limits), default_hours

    def _value(self, counts: Mapping[str | None, int], region: str) -> float:
        return float(sum(n for c, n in counts.items() if c is not None) if region == self.city
                     else counts.get(region, 0))

    def latest(self, session: Session, regions: Sequence[str], now: datetime | None = None) -> dict[str, Point]:
        """Cases overdue at `now` per region, dated by the newest case update (the grid feed's data time)."""
        newest = session.scalar(select(func.max(GridEvent.updated_at)))
        if newest is None:
            return {}
        now = now or process_clock().now()
        counties = None if self.city in regions else set(regions)  # the city needs every county's
        counts = overdue_by_county(session, now, self.limits, self.default_hours, counties=counties)
        return {r: Point(newest, self._value(counts, r)) for r in regions}

    def samples(self, session: Session, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        """Cases overdue at each interval's end: open then and past their limit then."""
        return [Point(end, self._value(overdue_by_county(session, end, self.limits, self.default_hours, past=True),
                                       region)) for end in edges[1:]]
