"""Observations by day on PostgreSQL (migration 0010, store.partitions), retention on both stores, roll-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from store import Batch, make_engine, migrate, partitions, rollups, write_batch
from store.models import Observation, ObservationDaily, ObservationHourly, epoch_ms
from tests.conftest import new_pg_database

DAY = timedelta(days=1)
T0 = datetime(2026, 11, 28, tzinfo=UTC)  # a UTC midnight


def write(engine: Engine, rows: list[tuple[str, datetime, dict[str, float]]], feed: str = "road_weather") -> None:
    b = Batch()
    for dev, ts, values in rows:
        b.add_observations(dev, feed, ts, "441204", values)
    with Session(engine) as s, s.begin():
        write_batch(s, b)


def count(engine: Engine, table: str = "observations") -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0


def test_migration_partitions_a_table_that_has_rows(postgres) -> None:
    eng = make_engine(new_pg_database(postgres))
    try:
        migrate(eng, "0009")
        rows = [("RW1", T0 + timedelta(hours=h), {"v": float(h)}) for h in range(0, 72, 6)]
        rows.append(("RW1", datetime(2001, 1, 1, tzinfo=UTC), {"v": -1.0}))  # a clock years off
        write(eng, rows)
        with eng.connect() as conn:
            before = conn.exec_driver_sql("SELECT id, device_id, feed, ts, data FROM observations ORDER BY ts").all()
        migrate(eng)
        with eng.connect() as conn:
            assert partitions.is_partitioned(conn)
            days = partitions.day_partitions(conn)
            after = conn.exec_driver_sql("SELECT id, device_id, feed, ts, data FROM observations ORDER BY ts").all()
            in_default = conn.exec_driver_sql("SELECT ts FROM observations_default").scalars().all()
            pkey = conn.exec_driver_sql(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'observations_pkey'").scalar()
            where = dict(conn.exec_driver_sql(
                "SELECT ts, tableoid::regclass::text FROM observations WHERE device_id = 'RW1'").all())
        assert after == before  # ids, times and values kept
        assert {epoch_ms(T0), epoch_ms(T0 + DAY), epoch_ms(T0 + 2 * DAY)} <= set(days)
        assert in_default == [epoch_ms(datetime(2001, 1, 1, tzinfo=UTC))]
        assert pkey == "PRIMARY KEY (id, ts)"
        assert where[epoch_ms(T0 + DAY + timedelta(hours=6))] == "observations_p20261129"
        # Ingest's ON CONFLICT on (device_id, feed, ts) still folds a redelivered message into the stored one.
        write(eng, [("RW1", T0, {"v": 99.0}), ("RW1", T0 + timedelta(minutes=1), {"v": 1.0})])
        assert count(eng) == len(before) + 1
        with eng.connect() as conn:
            new_id = conn.exec_driver_sql(
                f"SELECT id FROM observations WHERE ts = {epoch_ms(T0 + timedelta(minutes=1))}").scalar()
        assert new_id > max(r.id for r in before)  # the sequence carried over
    finally:
        eng.dispose()


def test_a_day_made_later_takes_its_rows_from_the_default_partition(postgres) -> None:
    eng = make_engine(new_pg_database(postgres))
    try:
        migrate(eng)
        far = datetime(2030, 6, 1, 12, tzinfo=UTC)
        write(eng, [("RW1", far, {"v": 1.0}), ("RW1", far + timedelta(hours=1), {"v": 2.0})])
        with eng.begin() as conn:
            assert count(eng, "observations_default") == 2
            made = partitions.ensure_days(conn, epoch_ms(far), epoch_ms(far))
        assert made == ["observations_p20300601"]
        assert count(eng, "observations_default") == 0
        assert count(eng, "observations_p20300601") == 2
        with eng.begin() as conn:
            assert partitions.ensure_days(conn, epoch_ms(far), epoch_ms(far)) == []  # made once
    finally:
        eng.dispose()


def test_retention_removes_whole_days_older_than_the_cutoff(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            partitions.ensure_days(conn, epoch_ms(T0), epoch_ms(T0 + 3 * DAY))
    write(engine, [("RW1", T0 + d * DAY + timedelta(hours=h), {"v": 1.0}) for d in range(4) for h in (1, 23)])
    with engine.begin() as conn:
        # Cutoff in the middle of the third day: two days go, the third is kept whole on PostgreSQL.
        got = partitions.drop_before(conn, epoch_ms(T0 + 2 * DAY + timedelta(hours=12)))
    with Session(engine) as s:
        left = sorted(s.scalars(select(Observation.ts)))
    if engine.dialect.name == "postgresql":
        assert got.partitions == ("observations_p20261128", "observations_p20261129")
        assert left[0] == T0 + 2 * DAY + timedelta(hours=1)
        with engine.connect() as conn:
            assert epoch_ms(T0) not in partitions.day_partitions(conn)
    else:
        assert got.rows == 5
        assert left[0] == T0 + 2 * DAY + timedelta(hours=23)
    assert left[-1] == T0 + 3 * DAY + timedelta(hours=23)


def test_rollups_keep_each_hours_count_and_newest_message(engine: Engine) -> None:
    rows = [("RW1", T0 + timedelta(minutes=m), {"v": float(m)}) for m in range(0, 150, 10)]  # 00:00 … 02:20
    rows += [("RW2", T0 + DAY + timedelta(minutes=5), {"v": 7.0})]
    write(engine, rows)
    now = T0 + DAY + timedelta(hours=2, minutes=30)
    with engine.begin() as conn:
        done = rollups.refresh(conn, epoch_ms(now))
    assert done.first_ms == epoch_ms(T0) and done.end_ms == epoch_ms(T0 + DAY + timedelta(hours=2))
    with Session(engine) as s:
        hourly = {(r.device_id, r.bucket): (r.n, r.last_ts, r.last) for r in s.scalars(select(ObservationHourly))}
        daily = {(r.device_id, r.bucket): (r.n, r.last_ts, r.last) for r in s.scalars(select(ObservationDaily))}
    assert hourly[("RW1", T0)] == (6, T0 + timedelta(minutes=50), {"v": 50.0})
    assert hourly[("RW1", T0 + timedelta(hours=2))] == (3, T0 + timedelta(minutes=140), {"v": 140.0})
    assert hourly[("RW2", T0 + DAY)] == (1, T0 + DAY + timedelta(minutes=5), {"v": 7.0})
    assert len(hourly) == 4
    assert daily == {("RW1", T0): (15, T0 + timedelta(minutes=140), {"v": 140.0}),
                     ("RW2", T0 + DAY): (1, T0 + DAY + timedelta(minutes=5), {"v": 7.0})}

    # A late message within LATE_MS of the newest hour is taken in by the next refresh; the hour being
    # lived (after `now`'s whole hour) is not rolled up until it is over.
    write(engine, [("RW2", T0 + DAY + timedelta(minutes=50), {"v": 8.0}),
                   ("RW2", T0 + DAY + timedelta(hours=2, minutes=10), {"v": 9.0})])
    with engine.begin() as conn:
        rollups.refresh(conn, epoch_ms(now))
    with Session(engine) as s:
        got = s.get(ObservationHourly, ("RW2", "road_weather", T0 + DAY))
        assert (got.n, got.last) == (2, {"v": 8.0})
        assert s.get(ObservationHourly, ("RW2", "road_weather", T0 + DAY + timedelta(hours=2))) is None
        assert s.get(ObservationDaily, ("RW2", "road_weather", T0 + DAY)).n == 2
        assert s.scalar(select(func.count()).select_from(ObservationHourly)) == 4


def test_the_air_trend_reads_hourly_rollups_beyond_two_days_and_raw_rows_after(engine: Engine) -> None:
    from measures.air import AirMeasures

    end = T0 + 4 * DAY
    b = Batch()
    b.add_device({"id": "AQ1", "kind": "air_quality", "name": "站", "county_adcode": "441202",
                  "declared_adcode": "441202", "lon": 112.5, "lat": 23.1, "first_seen": T0, "last_seen": end,
                  "attrs": {}})
    for h in range(4 * 24):  # on the hour, as the bureau's stations report
        b.add_observations("AQ1", "air_quality", T0 + timedelta(hours=h + 1), "441202",
                           {"pm2_5_24h": float(h), "pm2_5_1h": float(h)})
    with Session(engine) as s, s.begin():
        write_batch(s, b)
    edges = [end - timedelta(hours=k) for k in range(96, -1, -6)]  # 6-hour intervals over the four days
    air = AirMeasures("441200")

    def series() -> list[float | None]:
        with Session(engine) as s:
            return [p.value if p else None for p in air.pm25_samples(s, "441202", edges)]

    want = [float(6 * i + 5) for i in range(16)]  # each interval's newest reading: its last hour
    # No roll-ups yet: hours over two days before the newest edge have nothing to read (the eighth interval's
    # last reading is at the very hour raw rows are read from).
    assert series()[:7] == [None] * 7 and series()[7:] == want[7:]
    with engine.begin() as conn:
        rollups.refresh(conn, epoch_ms(end + timedelta(hours=1)))
    assert series() == want
    with engine.begin() as conn:  # the raw rows of the first two days gone: the trend is the same
        partitions.drop_before(conn, epoch_ms(T0 + 2 * DAY))
    assert count(engine) == 49
    assert series() == want
