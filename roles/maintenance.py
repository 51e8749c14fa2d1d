"""The maintenance role: observations' day partitions made ahead, hourly and daily roll-ups, retention.

It runs beside the alerts role (every process that runs alerts contends for it) under a lease of its own,
"maintenance", so one process at a time does it. Each round is one transaction fenced by that lease: a deposed
leader's round rolls back. On PostgreSQL a round waits at most LOCK_TIMEOUT for the table locks that making or
dropping a partition takes, so a long wall query never holds up ingest behind it; a round that gives up is
tried again at the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from store import partitions, rollups
from store.leases import LeaderThreads, LostLease
from store.models import epoch_ms

log = logging.getLogger(__name__)

AHEAD_DAYS = 3  # day partitions kept made past today
LOCK_TIMEOUT = "2s"


@dataclass(frozen=True)
class Round:
    """What one round did."""

    made: tuple[str, ...]  # day partitions made
    rollups: rollups.Refreshed
    dropped: partitions.Dropped | None  # None: retention off


def make_partitions(session: Session, now: datetime) -> list[str]:
    """Day partitions from yesterday to AHEAD_DAYS ahead, where observations is partitioned; the ones made."""
    conn = session.connection()
    if not partitions.is_partitioned(conn):
        return []
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    now_ms = epoch_ms(now)
    return partitions.ensure_days(conn, now_ms - partitions.DAY_MS, now_ms + AHEAD_DAYS * partitions.DAY_MS)


def drop_old(session: Session, now: datetime, retention_days: int) -> partitions.Dropped | None:
    """The days older than the retention dropped; None when it is off (0)."""
    if retention_days <= 0:
        return None
    conn = session.connection()
    if partitions.is_partitioned(conn):
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    return partitions.drop_before(conn, epoch_ms(now - timedelta(days=retention_days)))


def run_round(session: Session, now: datetime, retention_days: int) -> Round:
    """One round in the caller's transaction: partitions ahead, roll-ups up to the last whole hour, then the days
    older than the retention dropped (0 keeps everything)."""
    made = make_partitions(session, now)
    done = rollups.refresh(session.connection(), epoch_ms(now))
    return Round(tuple(made), done, drop_old(session, now, retention_days))


class MaintenanceRole(LeaderThreads):
    """Runs a round every `every_s` while this process holds the maintenance lease."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], retention_days: int,
                 holder: str | None = None, every_s: float = 300.0, first_after_s: float = 30.0,
                 lease_ttl_s: float = 6.0) -> None:
        super().__init__(engine, "maintenance", holder, ttl_s=lease_ttl_s, join_s=60.0)
        self.engine = engine
        self.clock = clock
        self.retention_days = retention_days
        self.every_s = every_s
        self.first_after_s = first_after_s  # a start-up is busy enough: the first round waits a little
        self.rounds = 0
        self.last: Round | None = None

    def loops(self) -> dict[str, Callable[[threading.Event], None]]:
        """One loop: the rounds."""
        return {"maintenance": self._loop}

    def step(self) -> Round:
        """One round now, in short transactions each fenced by the lease (LostLease if it is not held): a long one
        would hold the lease row locked past its expiry. Roll-ups go a day of raw rows per transaction."""
        now = self.clock()
        with Session(self.engine) as s, s.begin():
            self.leadership.fence(s)
            made = make_partitions(s, now)
        start: int | None = None
        first: int | None = None
        hourly = daily = 0
        while True:
            with Session(self.engine) as s, s.begin():
                self.leadership.fence(s)
                part = rollups.refresh(s.connection(), epoch_ms(now), start, rollups.DAY_MS)
            first = part.first_ms if first is None else first
            hourly, daily = hourly + part.hourly, daily + part.daily
            if part.first_ms is None or part.end_ms >= epoch_ms(now) - epoch_ms(now) % rollups.HOUR_MS:
                break
            start = part.end_ms
        with Session(self.engine) as s, s.begin():
            self.leadership.fence(s)
            dropped = drop_old(s, now, self.retention_days)
        got = Round(tuple(made), rollups.Refreshed(first, part.end_ms, hourly, daily), dropped)
        self.rounds += 1
        self.last = got
        if got.made or (got.dropped and (got.dropped.partitions or got.dropped.rows)):
            log.info("maintenance: made %s; dropped %s", ", ".join(got.made) or "none", got.dropped)
        return got

    def _loop(self, term: threading.Event) -> None:
        wait = self.first_after_s
        while not term.wait(wait):
            wait = self.every_s
            try:
                self.step()
            except LostLease:
                return
            except Exception as e:  # noqa: BLE001 — a lock timeout or a store outage: the next round tries again
                log.warning("maintenance round failed: %s", str(e).splitlines()[0][:300])
                wait = min(self.every_s, 60.0)

    def status(self) -> dict[str, object]:
        """Rounds run and what the last one did, for /healthz."""
        last = self.last
        return {"rounds": self.rounds, "made": list(last.made) if last else [],
                "rollup_hours_to": last.rollups.end_ms if last else None,
                "dropped": list(last.dropped.partitions) if last and last.dropped else []}
