"""The clock discipline, on SQLite and PostgreSQL: a message stamped ahead of its arrival is refused to dead letters
with its reason, so one reading from 2099 cannot silence a device's alarms, freeze its latest values, keep it
online or hide a KPI's current value; and what a store kept from the future before is moved out of the way."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alerts.engine import AlertEngine
from feeds.decode import Accepted, Rejected
from feeds.ingest import Message, build_batch
from store import write_batch
from store.models import Alarm, DeadLetter, Device, FeedStatus, KpiMetric, LatestValue, Observation
from store.repair import repair_future
from tests.alerts.test_rules import RULES, theme
from tests.feeds.samples import CST, T0, event, iso, kpi, make_decoder, msg, road

FUTURE = datetime(2099, 1, 1, 8, 0, tzinfo=CST)


@pytest.mark.parametrize(("ahead", "ok"), [(timedelta(0), True), (timedelta(minutes=4), True),
                                           (timedelta(minutes=6), False), (FUTURE - T0, False)])
def test_a_time_ahead_of_its_arrival_is_refused_with_its_reason(ahead: timedelta, ok: bool) -> None:
    got = make_decoder().decode(*msg("road_weather", road(ts=iso(T0 + ahead))), T0)
    assert isinstance(got, Accepted) == ok
    if not ok:
        assert isinstance(got, Rejected) and "ahead of its arrival" in got.reason and "clock" in got.reason
        assert got.feed == "road_weather"


def test_every_feed_is_held_to_it() -> None:
    dec = make_decoder()
    far = dec.decode(*msg("kpi", kpi(ts=iso(FUTURE))), T0)
    assert isinstance(far, Rejected) and "72 years ahead" in far.reason
    late_report = dec.decode(*msg("grid_event", event(ts=iso(T0), reported_at=iso(FUTURE))), T0)
    assert isinstance(late_report, Rejected) and late_report.reason.startswith("reported_at")


def arrive(engine: Engine, alerts: AlertEngine, body: dict[str, Any], feed: str = "road_weather",
           at: datetime = T0) -> tuple[int, int]:
    """One message through the decoder, the write path and the rules, received at `at`; (stored, refused)."""
    batch, good, bad = build_batch(make_decoder(), [Message(*msg(feed, body), at)])
    with Session(engine) as s, s.begin():
        write_batch(s, batch)
    alerts.on_batch(batch)
    return good, bad


def test_one_reading_from_2099_no_longer_silences_a_device(engine: Engine) -> None:
    alerts = AlertEngine(engine, RULES, lambda: (theme("- id: fog\n  kind: fog\n"),), clock=lambda: T0)
    assert arrive(engine, alerts, road(serial=7, ts=iso(T0), visibility_m=30)) == (1, 0)
    # The probe's message: clear air, stamped 2099. Refused, kept with its reason.
    assert arrive(engine, alerts, road(serial=7, ts=iso(FUTURE), visibility_m=9000), at=T0) == (0, 1)
    assert arrive(engine, alerts, road(serial=7, ts=iso(T0 + timedelta(minutes=1)), visibility_m=25),
                  at=T0 + timedelta(minutes=1)) == (1, 0)
    assert arrive(engine, alerts, kpi(ts=iso(FUTURE), value=1.0), "kpi") == (0, 1)
    assert arrive(engine, alerts, kpi(ts=iso(T0), value=3.1e6), "kpi") == (1, 0)
    with Session(engine) as s:
        [alarm] = s.scalars(select(Alarm)).all()
        assert alarm.cleared_at is None and alarm.count == 2  # still open, and the later fog counted
        vis = s.scalar(select(LatestValue).where(LatestValue.metric == "visibility_m"))
        assert vis.value == 25 and vis.ts == T0 + timedelta(minutes=1)
        assert s.scalar(select(Device.last_seen)) == T0 + timedelta(minutes=1)  # it can go offline again
        assert s.scalar(select(KpiMetric.value).order_by(KpiMetric.ts.desc())) == 3.1e6
        reasons = s.scalars(select(DeadLetter.reason)).all()
        assert len(reasons) == 2 and all("2099-01-01" in r and "ahead of its arrival" in r for r in reasons)


def test_what_a_store_kept_from_the_future_is_moved_out_of_the_way(engine: Engine) -> None:
    """A store written before the discipline: the 2099 reading was accepted then. (Written around the decoder.)"""
    alerts = AlertEngine(engine, RULES, lambda: (theme("- id: fog\n  kind: fog\n"),), clock=lambda: T0)
    arrive(engine, alerts, road(serial=7, ts=iso(T0), visibility_m=30))
    batch, good, _ = build_batch(make_decoder(max_future_s=10**10),
                                 [Message(*msg("road_weather", road(serial=7, ts=iso(FUTURE), visibility_m=9000)), T0),
                                  Message(*msg("kpi", kpi(ts=iso(FUTURE), value=1.0)), T0)])
    assert good == 2
    with Session(engine) as s, s.begin():
        write_batch(s, batch)
    alerts.on_batch(batch)
    with Session(engine) as s:
        assert s.scalar(select(Alarm.cleared_by)) == "auto"  # the harm done: the 2099 reading cleared the fog
    with Session(engine) as s, s.begin():
        done = repair_future(s, T0 + timedelta(minutes=5), T0 + timedelta(minutes=1))
    assert done == {"observations": 1, "latest_values": 6, "kpis": 1, "devices": 1, "feeds": 2,
                    "alarms_reopened": 1}
    with Session(engine) as s:
        alarm = s.scalars(select(Alarm)).one()
        assert alarm.cleared_at is None and alarm.state == "active"
        assert s.scalar(select(LatestValue.value).where(LatestValue.metric == "visibility_m")) == 30
        assert s.scalar(select(Device.last_seen)) == T0
        assert s.scalar(select(Observation.ts).order_by(Observation.ts.desc())) == T0
        assert s.scalars(select(KpiMetric)).all() == []
        assert all(f.last_message_at is None or f.last_message_at <= T0 for f in s.scalars(select(FeedStatus)))
        moved = s.scalars(select(DeadLetter)).all()
        assert len(moved) == 2 and all(orjson.loads(d.payload)["ts"].startswith("2099") for d in moved)
    with Session(engine) as s, s.begin():
        assert not any(repair_future(s, T0 + timedelta(minutes=5), T0 + timedelta(minutes=2)).values())
    # And the engine, reading its memory back from the store, judges the next fog as the alarm it is.
    fresh = AlertEngine(engine, RULES, lambda: (theme("- id: fog\n  kind: fog\n"),), clock=lambda: T0)
    arrive(engine, fresh, road(serial=7, ts=iso(T0 + timedelta(minutes=2)), visibility_m=20),
           at=T0 + timedelta(minutes=2))
    with Session(engine) as s:
        assert s.scalars(select(Alarm)).one().count == 2
