"""Leases on the store, on SQLite and PostgreSQL: one holder at a time, takeover after expiry or a hand-back,
fencing by epoch, and the Leadership thread that gains and loses the lease."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from store.leases import Leadership, LostLease, leases, release, renew, try_acquire
from tests.waiting import wait_until


def acquire(engine: Engine, holder: str, ttl: float = 30.0, name: str = "alerts") -> int | None:
    with Session(engine) as s, s.begin():
        return try_acquire(s, name, holder, ttl)


def test_one_holder_at_a_time_and_a_new_epoch_for_each_new_holder(engine: Engine) -> None:
    assert acquire(engine, "a") == 1
    assert acquire(engine, "b") is None  # a holds it, unexpired
    assert acquire(engine, "a") == 1  # a renews: the same term
    assert acquire(engine, "b", name="poll") == 1  # leases are independent
    with Session(engine) as s, s.begin():
        assert release(s, "alerts", "a", 1)
    assert acquire(engine, "b") == 2  # handed back: taken at once, a new term
    with Session(engine) as s, s.begin():
        assert not renew(s, "alerts", "a", 1, 30)  # a's term is over
        assert renew(s, "alerts", "b", 2, 30)
    with Session(engine) as s:
        rows = {r.name: r for r in leases(s)}
    assert rows["alerts"].holder == "b" and rows["alerts"].epoch == 2 and 25 < rows["alerts"].expires_in_s <= 30


def test_an_expired_lease_is_taken_over_and_the_old_holder_is_fenced(engine: Engine) -> None:
    assert acquire(engine, "a", ttl=0.3) == 1
    time.sleep(0.5)  # past a's 0.3 s lease: a died, it stopped renewing
    assert acquire(engine, "b") == 2
    a = Leadership(engine, "alerts", "a")
    a.epoch = 1  # a believes it still leads (paused, then woke up)
    with Session(engine) as s, pytest.raises(LostLease), s.begin():
        a.fence(s)


def test_leadership_threads_hand_over_within_the_lease(engine: Engine) -> None:
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def note(who: str, what: str) -> None:
        with lock:
            events.append((who, what))

    one = Leadership(engine, "alerts", "one", ttl_s=1.0, renew_s=0.2, on_gain=lambda: note("one", "gain"),
                     on_lose=lambda: note("one", "lose")).start()
    two = Leadership(engine, "alerts", "two", ttl_s=1.0, renew_s=0.2, on_gain=lambda: note("two", "gain"),
                     on_lose=lambda: note("two", "lose")).start()
    try:
        time.sleep(0.6)  # three renewals (renew_s 0.2): one renewed each time, two was refused each time
        assert one.leading and not two.leading and events == [("one", "gain")]
        # A crash: the leader's thread stops renewing without handing back (no release, no on_lose).
        one._stop.set()
        one._thread.join()
        started = time.monotonic()
        wait_until(lambda: two.leading, "two to take over", 5, interval=0.05)
        assert 0.3 < time.monotonic() - started < 2.5  # after the lease ran out, not before
        assert two.epoch == 2
        with Session(engine) as s, pytest.raises(LostLease), s.begin():
            one.fence(s)  # whatever the old leader still tries to write is refused
    finally:
        two.stop()
    assert ("two", "lose") in events  # a graceful stop steps down, and hands the lease back:
    assert acquire(engine, "three") == 3
