"""Grid cases as measures: the open cases of each county and of the city, counted from the events themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from measures.base import Point
from store.models import GridEvent

OPEN_CASES_KEY = "social.open_grid_cases"


class CaseMeasures:
    """Open grid cases now and at past moments; the city's figure is the sum of its counties'."""

    def __init__(self, city: str) -> None:
        self.city = city

    def latest(self, session: Session, regions: Sequence[str]) -> dict[str, Point]:
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
