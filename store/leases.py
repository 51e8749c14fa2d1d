"""Leader election on the store: one holder per named lease, timed on the database server's clock.

A singleton role (the alert engine, the notifier, the poller, the simulator) runs only while its process holds
the role's lease. The holder renews it every few seconds; a holder that dies stops renewing and another process
takes the lease over once it has expired. Each new holder raises the lease's epoch, and writes that must not
come from a deposed leader are fenced: `fence()` renews the lease inside the writer's own transaction, so on
PostgreSQL the lease row stays locked until that transaction commits and a contender cannot take over in
between; a holder that lost the lease gets LostLease and its transaction rolls back.

Why rows and not PostgreSQL advisory locks: the same code runs on SQLite (one machine, several processes) and on
PostgreSQL, and the epoch gives the fencing token a lock does not. Times are the database's, so machines whose
clocks disagree (or an app started at --clock-start) still agree on who leads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import ColumnElement, Engine, Float, case, delete, literal_column, select, update
from sqlalchemy.orm import Session

from store.models import Lease, ProcessRow
from store.results import rowcount
from store.writes import insert_for

log = logging.getLogger(__name__)


class LostLease(RuntimeError):
    """This process no longer holds the lease it was writing under."""


def db_now(session: Session) -> ColumnElement[float]:
    """SQL for the database server's time in Unix seconds (with fractions)."""
    if session.get_bind().dialect.name == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())", Float)
    return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Float)


def new_holder() -> str:
    """A name for this process as a lease holder: host, pid and a random part (a restarted pid differs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(session: Session, name: str, holder: str, ttl_s: float) -> int | None:
    """Take or renew the lease for ttl_s; the epoch held, or None when another holds it unexpired."""
    now = db_now(session)
    insert = insert_for(session)
    session.execute(insert(Lease).values(name=name, holder="", epoch=0, expires_at=0.0, acquired_at=0.0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    mine = Lease.holder == holder
    stmt = (update(Lease).where(Lease.name == name, (Lease.expires_at < now) | mine)
            .values(epoch=case((mine, Lease.epoch), else_=Lease.epoch + 1),
                    acquired_at=case((mine, Lease.acquired_at), else_=now),
                    holder=holder, expires_at=now + ttl_s)
            .returning(Lease.epoch))
    return session.execute(stmt).scalar()


def renew(session: Session, name: str, holder: str, epoch: int, ttl_s: float) -> bool:
    """Extend a lease this holder holds at this epoch; False when it was lost."""
    now = db_now(session)
    stmt = (update(Lease).where(Lease.name == name, Lease.holder == holder, Lease.epoch == epoch,
                                Lease.expires_at >= now)
            .values(expires_at=now + ttl_s))
    return rowcount(session.execute(stmt)) == 1


def release(session: Session, name: str, holder: str, epoch: int) -> bool:
    """Give the lease up at once (a graceful stop): the next contender need not wait for it to expire."""
    stmt = (update(Lease).where(Lease.name == name, Lease.holder == holder, Lease.epoch == epoch)
            .values(expires_at=0.0))
    return rowcount(session.execute(stmt)) == 1


@dataclass(frozen=True)
class LeaseRow:
    """A lease as /healthz shows it."""

    name: str
    holder: str
    epoch: int
    expires_in_s: float


def leases(session: Session) -> list[LeaseRow]:
    """Every lease, with how long it still runs on the database's clock (negative: expired)."""
    now = db_now(session)
    rows = session.execute(select(Lease.name, Lease.holder, Lease.epoch, Lease.expires_at - now)
                           .order_by(Lease.name))
    return [LeaseRow(n, h, int(e), float(left)) for n, h, e, left in rows]


class Leadership:
    """Holds a named lease while this process may lead, in a background thread; says when it gains or loses it.

    `on_gain()` runs when the lease is won (start the singleton's work), `on_lose()` when it is lost or given up
    (stop it). A holder that cannot reach the store steps down before its lease could have expired, so two
    leaders never run at once even across a network partition from the database.
    """

    def __init__(self, engine: Engine, name: str, holder: str | None = None, ttl_s: float = 6.0,
                 renew_s: float = 1.5, on_gain: Callable[[], object] | None = None,
                 on_lose: Callable[[], object] | None = None) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder or new_holder()
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        self.on_gain = on_gain
        self.on_lose = on_lose
        self.epoch: int | None = None  # set while leading
        self.gained = 0  # how many times this process has won the lease
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renewed_at = 0.0  # monotonic time of the last successful renewal
        self._lock = threading.Lock()

    @property
    def leading(self) -> bool:
        """Whether this process holds the lease now."""
        return self.epoch is not None

    def start(self) -> Leadership:
        """Contend for the lease in a background thread (the first attempt is made before returning)."""
        self._attempt()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop contending; a leader stops its work and hands the lease back at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.renew_s + 5)
        with self._lock:
            epoch = self.epoch
            if epoch is None:
                return
            self._step_down("stopping")
        try:
            with Session(self.engine) as s, s.begin():
                release(s, self.name, self.holder, epoch)
        except Exception:  # noqa: BLE001 — the lease runs out by itself anyway
            log.warning("could not hand back lease %s; it expires in %.0fs", self.name, self.ttl_s)

    def fence(self, session: Session) -> None:
        """Renew the lease inside the caller's transaction, or raise LostLease (the caller rolls back)."""
        epoch = self.epoch
        if epoch is None or not renew(session, self.name, self.holder, epoch, self.ttl_s):
            raise LostLease(f"lease {self.name} is no longer held by {self.holder}")

    def _run(self) -> None:
        while not self._stop.wait(self.renew_s if self.leading else min(1.0, self.renew_s)):
            self._attempt()
            if self.leading and time.monotonic() - self._renewed_at > self.ttl_s * 0.8:
                # Could not renew for most of the lease: another may take it soon; stop before it can.
                with self._lock:
                    self._step_down("could not renew in time")

    def _attempt(self) -> None:
        try:
            with Session(self.engine) as s, s.begin():
                epoch = try_acquire(s, self.name, self.holder, self.ttl_s)
        except Exception as e:  # noqa: BLE001 — a store outage: keep trying; the check above steps down
            log.warning("lease %s: %s", self.name, str(e).splitlines()[0][:200])
            return
        with self._lock:
            if self._stop.is_set():
                return
            if epoch is None:
                if self.epoch is not None:
                    self._step_down("taken over")
                return
            self._renewed_at = time.monotonic()
            if self.epoch is None:
                self.epoch = epoch
                self.gained += 1
                log.info("lease %s won by %s (epoch %d)", self.name, self.holder, epoch)
                if self.on_gain is not None:
                    try:
                        self.on_gain()
                    except Exception:  # noqa: BLE001
                        log.exception("starting %s as leader failed", self.name)
            elif self.epoch != epoch:  # lost and won back between two attempts: a new term
                self._step_down("a new term")
                self.epoch = epoch
                if self.on_gain is not None:
                    self.on_gain()

    def _step_down(self, why: str) -> None:
        """Stop leading (the caller holds self._lock)."""
        if self.epoch is None:
            return
        log.info("lease %s given up by %s: %s", self.name, self.holder, why)
        self.epoch = None
        if self.on_lose is not None:
            try:
                self.on_lose()
            except Exception:  # noqa: BLE001
                log.exception("stopping %s after losing the lease failed", self.name)


class LeaderThreads:
    """Work that runs in threads only while this process holds a lease: the alerts, briefing and maintenance roles.

    Each time the lease is won the subclass's loops start, each with the term's event; each time it is lost or
    given up the event is set and the loops are joined (for up to `join_s`: a loop finishes what it has in hand).
    """

    def __init__(self, engine: Engine, lease: str, holder: str | None = None, ttl_s: float = 6.0,
                 join_s: float = 30.0) -> None:
        self.leadership = Leadership(engine, lease, holder, ttl_s=ttl_s, on_gain=self._gain, on_lose=self._lose)
        self.join_s = join_s
        self._term: threading.Event | None = None  # set when the current term ends
        self._threads: list[threading.Thread] = []

    def loops(self) -> dict[str, Callable[[threading.Event], None]]:
        """The loops a term runs, by thread name; each returns once the term's event is set."""
        raise NotImplementedError

    def term_begins(self) -> None:
        """Called as a term begins, before its loops start."""

    def term_ending(self) -> None:
        """Called as a term ends, once its event is set and before its loops are joined (wake them up here)."""

    def term_ended(self) -> None:
        """Called once a term's loops have been joined."""

    def start(self) -> Self:
        """Contend for the lease; while this process holds it, the loops run."""
        self.leadership.start()
        return self

    def stop(self) -> None:
        """Finish what is in hand, hand the lease back, and stop."""
        self.leadership.stop()
        self._lose()

    def _gain(self) -> None:
        self._term = term = threading.Event()
        self.term_begins()
        self._threads = [threading.Thread(target=loop, args=(term,), name=name, daemon=True)
                         for name, loop in self.loops().items()]
        for t in self._threads:
            t.start()

    def _lose(self) -> None:
        if self._term is None:
            return
        self._term.set()
        self.term_ending()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(self.join_s)
        self._threads, self._term = [], None
        self.term_ended()


# ---- who is in the cluster -------------------------------------------------------------------------------------


def report_process(session: Session, holder: str, roles: str, started_at: datetime, now: datetime,
                   status: dict[str, Any]) -> None:
    """A process says it is alive, with its roles and counters (an upsert, every few seconds)."""
    insert = insert_for(session)
    stmt = insert(ProcessRow).values(holder=holder, roles=roles, started_at=started_at, seen_at=now, status=status)
    session.execute(stmt.on_conflict_do_update(index_elements=["holder"],
                                               set_={"roles": roles, "seen_at": now, "status": status}))


def forget_process(session: Session, holder: str) -> None:
    """A process that stopped gracefully leaves the list at once."""
    session.execute(delete(ProcessRow).where(ProcessRow.holder == holder))


def processes(session: Session, since: datetime) -> list[ProcessRow]:
    """The processes heard from since a time, newest first."""
    return list(session.scalars(select(ProcessRow).where(ProcessRow.seen_at >= since)
                                .order_by(ProcessRow.seen_at.desc())))
