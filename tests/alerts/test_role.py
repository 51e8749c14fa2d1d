"""The alerts role over the ingest log, on SQLite and PostgreSQL: committed batches are judged from a cursor that
moves with what judging wrote; a failed commit is judged again; a standby takes over from the cursor with the
rules' memory rebuilt, so nothing is missed and nothing raised twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alerts.calendar import load_calendar
from alerts.cases import sync_cases_from_grid_events
from alerts.engine import AlertEngine
from alerts.role import CURSOR, AlertRole
from clock import FakeClock
from feeds.ingest import Message, build_batch
from store import ingest_log, write_batch
from store.models import Alarm, Case
from tests.alerts.test_rules import RULES, theme
from tests.feeds.samples import T0, event, iso, make_decoder, road
from tests.waiting import wait_until
from topics.cases import case_limits

FOG = "- id: fog\n  kind: fog\n"
SLOW_FOG = ("- id: slow\n  kind: duration\n  feed: road_weather\n  metric: visibility_m\n  below: 200\n"
            "  minutes: 10\n  severity: 3\n")


def log_batch(engine: Engine, items: list[tuple[str, dict[str, Any]]], clock: FakeClock) -> None:
    """Decode and write messages as the ingest worker does: data and log entry in one transaction."""
    messages = [Message(t, orjson.dumps(b), clock.now()) for t, b in items]
    batch, good, bad = build_batch(make_decoder(), messages)
    assert (good, bad) == (len(items), 0)
    with Session(engine) as s, s.begin():
        write_batch(s, batch)
        ingest_log.append(s, batch, clock.now())


def fog_at(minutes: float, visibility: float, serial: int = 7) -> tuple[str, dict[str, Any]]:
    body = road("441204", serial, ts=iso(T0 + timedelta(minutes=minutes)), visibility_m=visibility)
    return f"zq/441204/road_weather/{body['device_id']}", body


def role(engine: Engine, rules: str, clock: FakeClock, holder: str, on_events: Any = None) -> AlertRole:
    th = theme(rules)
    alerts = AlertEngine(engine, RULES, lambda: (th,), clock=clock.now, on_events=on_events)
    return AlertRole(engine, alerts, None, holder, lease_ttl_s=1.0, poll_s=0.05)


def alarm_rows(engine: Engine) -> list[tuple[str, str, int]]:
    with Session(engine) as s:
        return [(a.rule, a.source, a.count) for a in s.scalars(select(Alarm).order_by(Alarm.id))]


def test_the_leader_judges_the_log_and_moves_its_cursor_with_its_alarms(engine: Engine) -> None:
    clock = FakeClock(T0)
    log_batch(engine, [fog_at(0, 900)], clock)
    log_batch(engine, [fog_at(1, 30), fog_at(1, 900, serial=8)], clock)
    r = role(engine, FOG, clock, "one").start()
    try:
        wait_until(lambda: r.cursor == 2, "the cursor at 2", 10, interval=0.05)
        assert alarm_rows(engine) == [("ecology/fog", "44120400041316000007", 1)]
        log_batch(engine, [fog_at(2, 25)], clock)
        r.wake()
        wait_until(lambda: r.cursor == 3, "the cursor at 3", 10, interval=0.05)
        assert alarm_rows(engine) == [("ecology/fog", "44120400041316000007", 2)]
        with Session(engine) as s:
            assert ingest_log.cursor(s, CURSOR) == 3 and ingest_log.pending(s, 3) == 0
    finally:
        r.stop()


def test_a_failed_commit_leaves_the_batch_to_be_judged_again(engine: Engine) -> None:
    clock = FakeClock(T0)
    calendar, limits = load_calendar(), case_limits()
    failures = [RuntimeError("the store went away mid-transaction")]

    def cases_then_fail(session: Session, events: list[dict[str, Any]]) -> None:
        sync_cases_from_grid_events(session, events, calendar, limits)
        if failures:
            raise failures.pop()

    ev = event("441202", 9, step=1, ts=iso(T0))
    log_batch(engine, [fog_at(0, 30), (f"zq/441202/grid_event/{ev['event_id']}", ev)], clock)
    r = role(engine, FOG, clock, "one", on_events=cases_then_fail)
    r.leadership.epoch = None
    with Session(engine) as s, s.begin():
        from store.leases import try_acquire

        r.leadership.epoch = try_acquire(s, "alerts", r.leadership.holder, 30)
    r._rebuild()
    try:
        r.step()
        raise AssertionError("the first attempt should have failed")
    except RuntimeError:
        pass
    assert alarm_rows(engine) == [] and r.cursor == 0  # nothing of it was committed, the cursor did not move
    r._rebuild()
    assert r.step() == 1
    assert alarm_rows(engine) == [("ecology/fog", "44120400041316000007", 1)]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1
    assert r.step() == 0  # judged once


def test_a_standby_takes_over_from_the_cursor_with_the_rules_memory_rebuilt(engine: Engine) -> None:
    clock = FakeClock(T0)
    one = role(engine, FOG + SLOW_FOG, clock, "one").start()
    two = role(engine, FOG + SLOW_FOG, clock, "two").start()
    try:
        wait_until(lambda: one.leadership.leading, "one leading", 10, interval=0.05)
        assert not two.leadership.leading
        # Visibility under 200 m from minute 0; the slow rule needs 10 minutes of it.
        for minute in range(0, 7):
            clock.set(T0 + timedelta(minutes=minute))
            log_batch(engine, [fog_at(minute, 150)], clock)
        one.wake()
        wait_until(lambda: one.cursor == 7, "one's cursor at 7", 10, interval=0.05)
        assert alarm_rows(engine) == []
        # The leader dies without a word: its lease thread and its loops stop, nothing is handed back.
        one.leadership._stop.set()
        one.leadership._thread.join()
        one._term.set()
        for minute in range(7, 12):  # meanwhile ingest goes on
            clock.set(T0 + timedelta(minutes=minute))
            log_batch(engine, [fog_at(minute, 150)], clock)
        wait_until(lambda: two.leadership.leading and two.cursor == 12, "two leading, its cursor at 12", 10,
                   interval=0.05)
        # Raised at minute 10 (ten minutes after the first reading under 200 m, which the old leader judged):
        # the new leader remembered when the condition began, from the log.
        rows = alarm_rows(engine)
        assert rows == [("ecology/slow", "44120400041316000007", 2)], rows
        with Session(engine) as s:
            opened = s.scalar(select(Alarm.opened_at))
        assert opened == T0 + timedelta(minutes=10)
    finally:
        two.stop()
        one.leadership.epoch = None
