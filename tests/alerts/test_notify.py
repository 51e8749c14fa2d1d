"""Webhook deliveries against real local HTTP servers, on SQLite and PostgreSQL: retries, failures, the record."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clock import process_clock
from alerts.notify import Notifier, payload
from store import delivery_queries as dq
from store.models import Alarm, Delivery
from tests.alerts.receiver import Receiver
from tests.servers import free_port
from tests.waiting import wait_until

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def add_alarm(session: Session, **kw: Any) -> Alarm:
    """An active alarm row, as the rules would raise it."""
    values: dict[str, Any] = dict(
        rule="ecology/aqi_high", kind="threshold", theme="ecology", source="44120200001", source_name="睦岗站",
        county_adcode="441202", severity=3, state="active", title_zh="端州区 AQI 超过 150", title_en="AQI above 150",
        value=163.0, opened_at=T0 - timedelta(minutes=5), last_at=T0 - timedelta(minutes=1))
    values.update(kw)
    alarm = Alarm(**values)
    session.add(alarm)
    session.flush()
    return alarm


def queue(engine: Engine, notifier: Notifier, names: list[str], event: str = "raised", **kw: Any) -> list[int]:
    """Raise an alarm and queue its notifications in one transaction; the ids of the deliveries."""
    with Session(engine) as s, s.begin():
        alarm = add_alarm(s, **kw)
        return [d.id for d in notifier.enqueue(s, alarm, event, names)]


def delivery(engine: Engine, delivery_id: int) -> Delivery:
    """A delivery as committed."""
    with Session(engine, expire_on_commit=False) as s:
        d = s.get(Delivery, delivery_id)
        assert d is not None
        return d


def test_payload_carries_the_whole_alarm_in_local_time() -> None:
    alarm = Alarm(id=7, rule="ecology/aqi_high", kind="threshold", theme="ecology", source="s1", source_name=None,
                  county_adcode="441202", severity=4, state="acknowledged", title_zh="超标", title_en="Exceeded",
                  value=None, opened_at=T0, last_at=T0 + timedelta(minutes=1), count=2, acked_at=T0,
                  acked_by="值班员", cleared_at=None, cleared_by=None, escalated_at=None, escalations=0,
                  silenced=False, case_id=None)
    doc = orjson.loads(payload(alarm, "acknowledged", "市生态环境局", T0 + timedelta(minutes=2)))
    assert doc["event"] == "acknowledged" and doc["hook"] == "市生态环境局"
    assert doc["created_at"] == "2026-11-30T16:02:00+08:00"
    assert set(doc["alarm"]) == {c.key for c in Alarm.__table__.columns}
    assert doc["alarm"]["opened_at"] == "2026-11-30T16:00:00+08:00"
    assert doc["alarm"]["acked_by"] == "值班员" and doc["alarm"]["cleared_at"] is None


def test_retried_until_the_receiver_accepts(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    rec = receiver([500, 500, 200])
    clock = Clock()
    notifier = Notifier(engine, {"ops": rec.url}, clock=clock, backoff_s=(10, 20, 30), timeout_s=2)
    [did] = queue(engine, notifier, ["ops"])

    assert notifier.deliver_due() == 1
    d = delivery(engine, did)
    assert (d.status, d.attempts, d.last_code, d.next_at) == ("pending", 1, 500, T0 + timedelta(seconds=10))
    assert d.last_error == "HTTP 500 Internal Server Error: receiver says no"

    clock.advance(9)
    assert notifier.deliver_due() == 0  # not before its next attempt is due
    clock.advance(1)
    assert notifier.deliver_due() == 1
    assert (delivery(engine, did).attempts, delivery(engine, did).next_at) == (2, clock.now + timedelta(seconds=20))
    clock.advance(20)
    assert notifier.deliver_due() == 1

    d = delivery(engine, did)
    assert (d.status, d.attempts, d.last_code, d.last_error, d.sent_at, d.next_at) == (
        "sent", 3, 200, None, clock.now, None)
    assert notifier.deliver_due() == 0  # sent is done
    assert len(rec.requests) == 3
    assert {r["headers"]["Idempotency-Key"] for r in rec.requests} == {str(did)}
    first = rec.requests[0]
    assert first["path"] == "/hook"
    assert first["headers"]["Content-Type"] == "application/json" and first["headers"]["X-ZQ-Event"] == "raised"
    doc = orjson.loads(first["body"])
    assert doc["event"] == "raised" and doc["hook"] == "ops"
    assert doc["alarm"]["title_zh"] == "端州区 AQI 超过 150" and doc["alarm"]["severity"] == 3
    assert doc["alarm"]["count"] == 1 and doc["alarm"]["opened_at"] == "2026-11-30T15:55:00+08:00"
    assert all(r["body"] == first["body"] for r in rec.requests)  # built once, when queued


def test_failed_after_the_last_attempt(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    rec = receiver([503])
    notifier = Notifier(engine, {"ops": rec.url}, clock=Clock(), backoff_s=(0, 0), timeout_s=2)
    [did] = queue(engine, notifier, ["ops"])
    assert [notifier.deliver_due() for _ in range(4)] == [1, 1, 1, 0]
    d = delivery(engine, did)
    assert (d.status, d.attempts, d.last_code, d.next_at, d.sent_at) == ("failed", 3, 503, None, None)
    assert d.last_error is not None and d.last_error.startswith("HTTP 503")
    assert len(rec.requests) == 3


def test_connection_refused_is_recorded_and_retried(engine: Engine) -> None:
    clock = Clock()
    notifier = Notifier(engine, {"ops": f"http://127.0.0.1:{free_port()}/hook"}, clock=clock, backoff_s=(5,),
                        timeout_s=2)
    [did] = queue(engine, notifier, ["ops"])
    assert notifier.deliver_due() == 1
    d = delivery(engine, did)
    assert (d.status, d.attempts, d.last_code, d.next_at) == ("pending", 1, None, T0 + timedelta(seconds=5))
    assert d.last_error is not None and d.last_error.startswith("cannot connect") and "refused" in d.last_error
    clock.advance(5)
    assert notifier.deliver_due() == 1
    assert (delivery(engine, did).status, delivery(engine, did).attempts) == ("failed", 2)


def test_a_receiver_slower_than_the_timeout(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    rec = receiver([200], delay_s=1.0)
    notifier = Notifier(engine, {"ops": rec.url}, clock=Clock(), backoff_s=(0,), timeout_s=0.2)
    [did] = queue(engine, notifier, ["ops"])
    started = time.monotonic()
    assert notifier.deliver_due() == 1
    assert time.monotonic() - started < 0.9  # gave up at the timeout, did not wait for the answer
    d = delivery(engine, did)
    assert (d.status, d.attempts, d.last_code, d.last_error) == ("pending", 1, None, "timed out after 0.2s")


def test_redirect_is_a_failure_not_followed(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    ok = receiver([200])
    moved = receiver([302], location=ok.url)
    notifier = Notifier(engine, {"ops": moved.url}, clock=Clock(), backoff_s=(0,), timeout_s=2)
    [did] = queue(engine, notifier, ["ops"])
    notifier.deliver_due()
    d = delivery(engine, did)
    assert (d.status, d.last_code) == ("pending", 302)
    assert ok.requests == []  # urllib would have re-sent it as a GET without the body


def test_hook_without_url_fails_at_once(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    rec = receiver([200])
    notifier = Notifier(engine, {"ops": rec.url, "bad": "ftp://10.1.2.3/hook", "empty": ""}, clock=Clock())
    ids = queue(engine, notifier, ["ops", "市生态环境局", "bad", "empty"])
    rows = [delivery(engine, i) for i in ids]
    assert [(d.target, d.status, d.attempts) for d in rows] == [
        ("ops", "pending", 0), ("市生态环境局", "failed", 0), ("bad", "failed", 0), ("empty", "failed", 0)]
    assert rows[1].last_error == "no URL configured for hook 市生态环境局" and rows[1].url == ""
    assert rows[2].last_error == "URL of hook bad is not an http(s) URL: ftp://10.1.2.3/hook"
    assert rows[3].last_error == "no URL configured for hook empty"
    assert notifier.deliver_due() == 1 and len(rec.requests) == 1


def test_oversized_names_and_urls_do_not_break_the_alarm_write(engine: Engine) -> None:
    long_name, long_url = "部门" * 40, "http://10.1.2.3/" + "a" * 600
    notifier = Notifier(engine, {long_name: "http://10.1.2.3/hook", "long": long_url}, clock=Clock())
    ids = queue(engine, notifier, [long_name, "long"])
    rows = [delivery(engine, i) for i in ids]
    assert (rows[0].target, rows[0].status) == (long_name[:64], "pending")
    assert orjson.loads(rows[0].payload)["hook"] == long_name
    assert (rows[1].status, rows[1].last_error) == ("failed", "URL of hook long is longer than 500 characters")


def test_each_distinct_hook_gets_one_delivery(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    a, b = receiver([200]), receiver([200])
    notifier = Notifier(engine, {"ops": a.url, "市生态环境局": b.url}, clock=Clock())
    with pytest.raises(ValueError, match="unknown alarm event"):
        queue(engine, notifier, ["ops"], event="exploded")
    ids = queue(engine, notifier, ["ops", "市生态环境局", "ops"])
    assert len(ids) == 2
    assert notifier.deliver_due() == 2
    assert [orjson.loads(r["body"])["hook"] for r in a.requests + b.requests] == ["ops", "市生态环境局"]
    with Session(engine) as s:
        alarm_id = delivery(engine, ids[0]).alarm_id
        assert alarm_id is not None
        assert [d.target for d in dq.alarm_deliveries(s, alarm_id)] == ["ops", "市生态环境局"]
        assert dq.delivery_counts(s) == {"pending": 0, "sent": 2, "failed": 0}
        assert [d.id for d in dq.recent_deliveries(s)] == ids[::-1]
        assert dq.recent_deliveries(s, status="failed") == []


def test_a_failing_receiver_does_not_hold_up_the_others(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    down, up = receiver([500]), receiver([200])
    clock = Clock()
    notifier = Notifier(engine, {"down": down.url, "up": up.url}, clock=clock, backoff_s=(60,))
    first = queue(engine, notifier, ["down"], source="a")
    second = queue(engine, notifier, ["down", "up"], source="b")
    # One failure per receiver per pass; the other hook is still served in the same pass.
    assert notifier.deliver_due() == 2
    assert len(down.requests) == 1 and len(up.requests) == 1
    assert delivery(engine, first[0]).attempts == 1 and delivery(engine, second[0]).attempts == 0
    assert notifier.deliver_due() == 1  # the down receiver's next delivery, now the oldest due
    assert delivery(engine, second[0]).attempts == 1
    with Session(engine) as s:
        assert dq.delivery_counts(s) == {"pending": 2, "sent": 1, "failed": 0}
        assert dq.due_deliveries(s, clock.now) == []
        assert [d.id for d in dq.due_deliveries(s, clock.now + timedelta(seconds=60))] == [first[0], second[0]]


def test_a_claimed_delivery_is_not_taken_twice(engine: Engine) -> None:
    notifier = Notifier(engine, {"ops": "http://10.255.255.1/hook"}, clock=Clock())
    [did] = queue(engine, notifier, ["ops"])
    later = T0 + timedelta(seconds=50)
    with Session(engine) as s, s.begin():
        assert dq.claim_delivery(s, did, T0, later)
    with Session(engine) as s, s.begin():
        assert not dq.claim_delivery(s, did, T0, later)  # another worker, same moment
        assert [d.id for d in dq.due_deliveries(s, later)] == [did]  # the claim runs out


def test_thread_delivers_and_survives_errors(engine: Engine, receiver: Callable[..., Receiver],
                                            caplog: pytest.LogCaptureFixture) -> None:
    rec = receiver([200])
    calls = {"n": 0}

    def flaky_clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == 2:  # the thread's first pass (the first call queues)
            raise RuntimeError("clock broke")
        return process_clock().now()

    notifier = Notifier(engine, {"ops": rec.url}, clock=flaky_clock, backoff_s=(0,), timeout_s=2)
    [did] = queue(engine, notifier, ["ops"])
    with caplog.at_level(logging.ERROR, logger="alerts.notify"):
        notifier.start()
        try:
            wait_until(lambda: delivery(engine, did).status == "sent", "the delivery sent", 10, interval=0.05)
        finally:
            notifier.stop()
    assert delivery(engine, did).status == "sent" and len(rec.requests) == 1
    assert "notifier pass failed" in caplog.text
    assert notifier._thread is None
