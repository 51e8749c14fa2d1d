"""The alerts role: judges what ingest committed, from the ingest log, under the alerts lease.

Exactly one process leads (store.leases). The leader reads the log after its cursor, judges the batches, and
commits the alarms, the cases of grid events, the outbox of notifications and the moved cursor in one
transaction, fenced by its lease: a deposed leader's transaction rolls back, a crashed one's was never
committed, and the next leader starts from the cursor with the rules' memory rebuilt from the store. So every
committed batch is judged, and what judging writes is written once. Ingest never waits for it: an in-process
ingest worker only wakes the judge (`wake`), other processes' batches are found by polling the log.

The same lease runs the clock (absence and escalation); the notifier runs under a lease of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alerts.engine import AlertEngine
from alerts.notify import Notifier
from alerts.rules import Reading
from store import ingest_log
from store.leases import LeaderThreads, Leadership, LostLease

log = logging.getLogger(__name__)

CURSOR = "alerts"


@dataclass
class RoleStatus:
    """What /healthz and /metrics say of a role in this process."""

    name: str
    leading: bool
    gained: int
    detail: dict[str, Any]


class AlertRole(LeaderThreads):
    """The alert engine and its clock, led by one process at a time, reading the ingest log from a cursor."""

    def __init__(self, engine: Engine, alerts: AlertEngine, notifier: Notifier | None = None,
                 holder: str | None = None, batch_entries: int = 20, poll_s: float = 0.5,
                 lease_ttl_s: float = 6.0, log_hours: float = 24.0) -> None:
        super().__init__(engine, "alerts", holder, ttl_s=lease_ttl_s, join_s=30.0)
        self.engine = engine
        self.alerts = alerts
        self.notifier = notifier
        self.batch_entries = batch_entries
        self.poll_s = poll_s
        self.log_hours = log_hours
        self.notify_lease = (Leadership(engine, "notify", self.leadership.holder, ttl_s=lease_ttl_s,
                                        on_gain=notifier.start, on_lose=notifier.stop)
                             if notifier is not None else None)
        self.cursor = 0
        self.judged_batches = 0
        self.judged_at: datetime | None = None
        self._wake = threading.Event()

    # ---- control ------------------------------------------------------------------------------------------

    def loops(self) -> dict[str, Callable[[threading.Event], None]]:
        """Judging the ingest log, and the clock's tick."""
        return {"alerts-judge": self._judge_loop, "alerts-tick": self._tick_loop}

    def term_begins(self) -> None:
        """A new term judges from the store, not from what a former term left in memory."""
        self.alerts.reset()

    def term_ending(self) -> None:
        """The judge may be waiting for the next poll: wake it to see the term has ended."""
        self._wake.set()

    def term_ended(self) -> None:
        """Nothing of the term's memory outlives it."""
        self.alerts.reset()

    def start(self) -> Self:
        """Contend for the alerts (and notify) leases; the leader judges and ticks."""
        super().start()
        if self.notify_lease is not None:
            self.notify_lease.start()
        return self

    def stop(self) -> None:
        """Finish the batch in hand, hand the leases back, and stop."""
        super().stop()
        if self.notify_lease is not None:
            self.notify_lease.stop()

    def wake(self, *_: Any) -> None:
        """Something was committed in this process: look at the log now rather than at the next poll."""
        self._wake.set()

    # ---- judging ------------------------------------------------------------------------------------------

    def _judge_loop(self, term: threading.Event) -> None:
        rebuilt = False
        while not term.is_set():
            try:
                if not rebuilt:
                    self._rebuild()
                    rebuilt = True
                if self.step() == 0:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
            except LostLease:
                log.info("alerts: the lease moved to another process; judging stops here")
                self.alerts.reset()
                return
            except Exception:  # noqa: BLE001 — a store outage or a bad rule: memory back from the store, retry
                log.exception("alerts: judging the ingest log failed; retrying from cursor %d", self.cursor)
                self.alerts.reset()
                rebuilt = False
                term.wait(1.0)

    def _rebuild(self) -> None:
        """Rules' memory from the store: the recent log up to the cursor, then the alarms table."""
        with Session(self.engine) as s:
            self.cursor = ingest_log.cursor(s, CURSOR)
            since = self.alerts.clock() - self.alerts.memory_window()
            readings = [r for e in ingest_log.read_since(s, since, self.cursor)
                        for r in self.alerts.readings_of(ingest_log.decode(e.payload))]
            readings.sort(key=lambda r: r.ts)
            self.alerts.rebuild(s, readings)
        log.info("alerts: leading from cursor %d, memory rebuilt from %d recent readings", self.cursor,
                 len(readings))

    def step(self) -> int:
        """Judge the next logged batches in one fenced transaction; how many were judged."""
        with Session(self.engine, autoflush=False) as s:
            try:
                with s.begin():
                    self.leadership.fence(s)  # first: on PostgreSQL the lease row stays locked to our commit
                    start = ingest_log.cursor(s, CURSOR)
                    if start != self.cursor:  # moved by someone else since we read it: start again from it
                        raise LostLease(f"cursor at {start}, expected {self.cursor}")
                    entries = ingest_log.read_after(s, start, self.batch_entries)
                    if not entries:
                        return 0
                    readings: list[Reading] = []
                    events: list[dict[str, Any]] = []
                    for e in entries:
                        batch = ingest_log.decode(e.payload)
                        readings += self.alerts.readings_of(batch)
                        events += batch.events.values()
                    readings.sort(key=lambda r: r.ts)
                    self.alerts.judge(s, readings, events)
                    now = self.alerts.clock()
                    if not ingest_log.move_cursor(s, CURSOR, start, entries[-1].seq, now):
                        raise LostLease("the cursor moved under us")
            except BaseException:
                self.alerts.reset()
                raise
        self.cursor = entries[-1].seq
        self.judged_batches += len(entries)
        self.judged_at = now
        return len(entries)

    # ---- the clock --------------------------------------------------------------------------------------

    def _tick_loop(self, term: threading.Event) -> None:
        last_trim = 0.0
        while not term.wait(self.alerts.tick_s):
            try:
                with Session(self.engine) as s:
                    try:
                        with s.begin():
                            self.leadership.fence(s)
                            self.alerts.tick_in(s)
                    except BaseException:
                        self.alerts.reset()
                        raise
                if time.monotonic() - last_trim > 60:
                    self._trim()
                    last_trim = time.monotonic()
            except LostLease:
                return
            except Exception:  # noqa: BLE001 — the clock must outlive a bad rule or a store outage
                log.exception("alert tick failed")

    def _trim(self) -> None:
        """Drop logged batches judged already and older than the retention (kept that long for rebuilds)."""
        before = self.alerts.clock() - timedelta(hours=self.log_hours)
        with Session(self.engine) as s, s.begin():
            removed = ingest_log.trim(s, before, keep_after=self.cursor)
        if removed:
            log.info("alerts: trimmed %d judged batches from the ingest log", removed)

    # ---- status -----------------------------------------------------------------------------------------

    def status(self) -> list[RoleStatus]:
        """This process's part in the alerts and notify roles."""
        out = [RoleStatus("alerts", self.leadership.leading, self.leadership.gained,
                          {"cursor": self.cursor, "judged_batches": self.judged_batches,
                           "judged_at": self.judged_at.isoformat() if self.judged_at else None})]
        if self.notify_lease is not None:
            out.append(RoleStatus("notify", self.notify_lease.leading, self.notify_lease.gained, {}))
        return out
