"""The maintenance role: one process at a time, under its lease, makes partitions, roll-ups and drops old days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from roles.maintenance import AHEAD_DAYS, MaintenanceRole
from store import Batch, partitions, write_batch
from store.leases import LostLease
from store.models import Observation, ObservationHourly, epoch_ms

NOW = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)


def test_only_the_leaseholder_runs_a_round_and_it_keeps_the_retention(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":  # the days of the data have partitions (else: the DEFAULT one)
        with engine.begin() as conn:
            partitions.ensure_days(conn, epoch_ms(NOW - timedelta(days=12)), epoch_ms(NOW))
    b = Batch()
    for d in range(12):  # a message at 05:00 of each of the twelve days up to NOW
        b.add_observations("RW1", "road_weather", NOW - timedelta(days=d, minutes=90), "441204", {"v": float(d)})
    with Session(engine) as s, s.begin():
        write_batch(s, b)
    roles = [MaintenanceRole(engine, lambda: NOW, retention_days=7, every_s=3600, first_after_s=3600)
             for _ in range(2)]
    try:
        for r in roles:
            r.start()
        leader = [r for r in roles if r.leadership.leading]
        standby = [r for r in roles if not r.leadership.leading]
        assert len(leader) == 1 and len(standby) == 1
        with pytest.raises(LostLease):
            standby[0].step()
        got = leader[0].step()
    finally:
        for r in roles:
            r.stop()
    assert got.rollups.hourly == 12  # each message's hour, before the retention dropped the raw rows
    with Session(engine) as s:
        kept = sorted(s.scalars(select(Observation.ts)))
        assert s.scalar(select(func.count()).select_from(ObservationHourly)) == 12  # roll-ups outlive raw rows
    # Seven days before NOW is 2026-11-23 06:30: on PostgreSQL days up to the 22nd are dropped whole, and the
    # 23rd's 05:00 stays with its day; SQLite deletes row by row.
    oldest = NOW - timedelta(days=7, minutes=90) if engine.dialect.name == "postgresql" else \
        NOW - timedelta(days=6, minutes=90)
    assert kept[0] == oldest and kept[-1] == NOW - timedelta(minutes=90)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            days = partitions.day_partitions(conn)
        day = partitions.day_floor(epoch_ms(NOW))
        assert {day + k * partitions.DAY_MS for k in range(AHEAD_DAYS + 1)} <= set(days)  # made ahead
        assert min(days) == partitions.day_floor(epoch_ms(NOW - timedelta(days=7)))
        assert got.dropped is not None and "observations_p20261122" in got.dropped.partitions
    else:
        assert got.made == ()
