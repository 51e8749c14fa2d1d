"""Overdue on the county view and in the event table counts working hours once an event has its case: 暴露垃圾
(4 working hours) reported Friday 16:00 is not late on Saturday, though 20 clock hours have passed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alerts.calendar import load_calendar
from alerts.cases import sync_cases_from_grid_events
from settings import CITY_TZ
from store import drill_queries as dq
from store import panel_queries as pq
from tests.feeds.samples import event, ingest, iso
from topics.cases import case_limits

FRIDAY = datetime(2026, 3, 13, 16, 0, tzinfo=CITY_TZ)
SATURDAY_NOON = datetime(2026, 3, 14, 12, 0, tzinfo=CITY_TZ)
MONDAY_NOON = datetime(2026, 3, 16, 12, 0, tzinfo=CITY_TZ)


def summary(engine: Engine, now: datetime) -> tuple[int, int]:
    limits = case_limits()
    with Session(engine) as s:
        c = dq.case_summary(s, "441202", now, limits.limits, limits.default_hours)
        table = pq.overdue_cases(s, "441202", now, limits.limits, limits.default_hours, [1, 2, 3, 4, 5], [], 10)
    return c.overdue, table.total


def test_overdue_follows_the_cases_working_hours_and_the_clock_without_one(engine: Engine) -> None:
    body = event("441202", 1, step=2, ts=iso(FRIDAY), reported_at=iso(FRIDAY))
    batch = ingest(engine, [(f"zq/441202/grid_event/{body['event_id']}", body)])
    assert summary(engine, SATURDAY_NOON) == (1, 1)  # no case yet: 4 h on the clock, 20 h have passed
    with Session(engine) as s, s.begin():
        sync_cases_from_grid_events(s, batch.events.values(), load_calendar(), case_limits())
    assert summary(engine, SATURDAY_NOON) == (0, 0)  # due Monday 11:00 in working hours
    assert summary(engine, MONDAY_NOON) == (1, 1)
