"""The store on SQLite and PostgreSQL: migrations, the batch write path, the panel queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from store import Batch, current_revision, migrate, write_batch
from store import queries as q
from store.partitions import not_a_partition
from store.models import (
    Base,
    DeadLetter,
    Device,
    FeedStatus,
    GridEvent,
    GridEventStep,
    KpiMetric,
    LatestValue,
    Observation,
)

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone(timedelta(hours=8)))


def device(id_: str, county: str, ts: datetime, **kw: object) -> dict:
    row = {"id": id_, "kind": "road_weather", "name": f"站 {id_}", "county_adcode": county,
           "declared_adcode": county, "lon": 112.5, "lat": 23.1, "first_seen": ts, "last_seen": ts,
           "attrs": {}}
    row.update(kw)
    return row


def obs(b: Batch, dev: str, metric: str, ts: datetime, value: float, county: str = "441204") -> None:
    b.add_observations(dev, "road_weather", ts, county, {metric: value})


def event(id_: str, county: str, step: int, ts: datetime, closed: datetime | None = None) -> dict:
    return {"id": id_, "county_adcode": county, "declared_adcode": county, "grid_code": None,
            "kind": "事件", "category": "市容环境", "subcategory": "暴露垃圾", "description": "x",
            "lon": 112.47, "lat": 23.05, "step": step, "reported_at": ts, "updated_at": ts,
            "closed_at": closed}


def test_migrations_reach_head_and_match_the_models(engine: Engine) -> None:
    assert current_revision(engine) == "0013"
    migrate(engine)  # a second run is a no-op, as on every restart
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": not_a_partition}),
                                Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    from store import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite3'}")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_batch_writes_every_table_in_one_transaction(engine: Engine) -> None:
    b = Batch()
    b.add_device(device("RW1", "441204", T0))
    obs(b, "RW1", "visibility_m", T0, 800)
    obs(b, "RW1", "visibility_m", T0 + timedelta(minutes=1), 150)
    b.add_event(event("E1", "441202", 1, T0))
    b.add_event_step({"event_id": "E1", "step": 1, "ts": T0, "actor": "网格员", "note": None})
    b.add_kpi({"key": "yss_registered", "region": "441200", "ts": T0, "value": 3.1e6, "unit": "人"})
    b.add_dead_letter(T0, "zq/x", None, b"\xff", "bad")
    b.add_dead_letter(T0 + timedelta(seconds=1), "zq/x", None, b"\xff", "bad")  # a repeat folds into a count
    b.count("road_weather", ok=True, message_at=T0, received_at=T0)
    b.count("road_weather", ok=True, message_at=T0 + timedelta(minutes=1), received_at=T0)
    b.count("road_weather", ok=False, message_at=None, received_at=T0 + timedelta(minutes=2))
    with Session(engine) as s, s.begin():
        write_batch(s, b)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == 2
        latest = s.get(LatestValue, ("RW1", "visibility_m"))
        assert latest is not None and latest.value == 150
        assert latest.ts == (T0 + timedelta(minutes=1)).astimezone(UTC)
        assert latest.ts.tzinfo is not None
        assert s.get(GridEvent, "E1").step == 1
        assert s.scalar(select(func.count()).select_from(GridEventStep)) == 1
        assert s.scalar(select(KpiMetric.value)) == 3.1e6
        dead = s.scalars(select(DeadLetter)).one()
        assert (dead.payload, dead.count) == (b"\xff", 2)
        assert dead.last_received_at == (T0 + timedelta(seconds=1)).astimezone(UTC)
        fs = s.get(FeedStatus, "road_weather")
        assert (fs.messages, fs.dead_letters) == (2, 1)
        assert fs.last_message_at == (T0 + timedelta(minutes=1)).astimezone(UTC)
        assert fs.last_received_at == T0.astimezone(UTC)  # dead letters do not freshen a feed


def test_a_failed_batch_leaves_nothing_behind(engine: Engine) -> None:
    b = Batch()
    b.add_device(device("RW1", "441204", T0))
    b.add_event_step({"event_id": "NO-SUCH-EVENT", "step": 1, "ts": T0, "actor": None, "note": None})
    with pytest.raises(Exception):
        with Session(engine) as s, s.begin():
            write_batch(s, b)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 0


def test_upserts_keep_the_newest_and_ignore_late_messages(engine: Engine) -> None:
    first, late = Batch(), Batch()
    first.add_device(device("RW1", "441204", T0 + timedelta(hours=1), lon=112.6))
    obs(first, "RW1", "road_temp_c", T0 + timedelta(hours=1), 12.0)
    first.add_event(event("E1", "441202", 4, T0 + timedelta(hours=1)))
    first.count("road_weather", ok=True, message_at=T0 + timedelta(hours=1), received_at=T0)
    late.add_device(device("RW1", "441204", T0, lon=111.0))
    obs(late, "RW1", "road_temp_c", T0, 30.0)
    late.add_event(event("E1", "441202", 2, T0))
    late.count("road_weather", ok=True, message_at=T0, received_at=T0 + timedelta(seconds=5))
    for b in (first, late):
        with Session(engine) as s, s.begin():
            write_batch(s, b)
    with Session(engine) as s:
        d = s.get(Device, "RW1")
        assert d.lon == 112.6 and d.last_seen == (T0 + timedelta(hours=1)).astimezone(UTC)
        assert s.get(LatestValue, ("RW1", "road_temp_c")).value == 12.0
        assert s.scalar(select(func.count()).select_from(Observation)) == 2  # history keeps both
        assert s.get(GridEvent, "E1").step == 4
        fs = s.get(FeedStatus, "road_weather")
        assert fs.messages == 2
        assert fs.last_message_at == (T0 + timedelta(hours=1)).astimezone(UTC)


def test_repeated_keys_in_one_batch_are_folded(engine: Engine) -> None:
    # PostgreSQL refuses an upsert that touches one row twice; the batch must fold repeats first.
    b = Batch()
    for i in range(3):
        b.add_device(device("RW1", "441204", T0 + timedelta(minutes=i)))
        b.add_kpi({"key": "k", "region": "441200", "ts": T0, "value": float(i), "unit": None})
        b.add_event(event("E1", "441202", i + 1, T0 + timedelta(minutes=i)))
        b.add_event_step({"event_id": "E1", "step": 1, "ts": T0 + timedelta(minutes=i), "actor": None,
                          "note": None})
    with Session(engine) as s, s.begin():
        write_batch(s, b)
    with Session(engine) as s:
        assert s.scalar(select(KpiMetric.value)) == 2.0
        assert s.get(GridEvent, "E1").step == 3
        assert s.get(Device, "RW1").first_seen == T0.astimezone(UTC)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    b = Batch()
    b.add_dead_letter(datetime(2026, 1, 1), "t", None, b"", "r")
    with pytest.raises(Exception, match="naive datetime"):
        with Session(engine) as s, s.begin():
            write_batch(s, b)


def test_panel_queries(engine: Engine) -> None:
    b = Batch()
    for i, county in enumerate(["441202", "441202", "441204", "441224"]):
        b.add_event(event(f"E{i}", county, 3, T0 + timedelta(minutes=i)))
    b.add_event(event("E9", "441202", 7, T0, closed=T0 + timedelta(hours=2)))
    b.add_device(device("RW1", "441204", T0))
    b.add_device(device("RW2", "441224", T0))
    obs(b, "RW1", "visibility_m", T0, 120, "441204")
    obs(b, "RW2", "visibility_m", T0, 3000, "441224")
    obs(b, "RW1", "detection_x", T0, 1, "441204")  # not of the detection.* family: no dot
    obs(b, "RW1", "detection.dumping", T0, 0.9, "441204")
    obs(b, "RW1", "detection.sand_mining", T0, 0.8, "441204")
    for region, v in [("441202", 40.0), ("441204", 55.0)]:
        b.add_kpi({"key": "aqi", "region": region, "ts": T0, "value": v, "unit": None})
        b.add_kpi({"key": "aqi", "region": region, "ts": T0 - timedelta(hours=1), "value": 999.0, "unit": None})
    with Session(engine) as s, s.begin():
        write_batch(s, b)
    with Session(engine) as s:
        assert q.open_events_by_county(s) == {"441202": 2, "441204": 1, "441224": 1}
        assert q.open_events_by_step(s) == {3: 4}
        assert q.open_events_by_step(s, "441204") == {3: 1}
        assert [e.id for e in q.recent_events(s, 2)] == ["E3", "E2"]
        rows = q.latest_values(s, "road_weather", ["visibility_m"], county="441204")
        assert [(r.device_id, r.value, r.name) for r in rows] == [("RW1", 120, "站 RW1")]
        assert [d.id for d in q.devices(s, county="441224")] == ["RW2"]
        family = q.latest_values_by_feed(s, {"road_weather": ["detection.*", "visibility_m"]}, "441204")
        assert [r.metric for r in family["road_weather"]] == ["detection.dumping", "detection.sand_mining",
                                                              "visibility_m"]
        assert q.kpi_by_region(s, "aqi", ["441202", "441204", "441226"]) == {"441202": 40.0, "441204": 55.0}
        assert q.latest_kpis(s, ["aqi"], "441204")["aqi"].value == 55.0


def test_open_event_query_uses_an_index(engine: Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT county_adcode, count(*) FROM grid_events "
                "WHERE closed_at IS NULL GROUP BY county_adcode"))
            assert "ix_grid_events_open_county" in plan
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in conn.execute(text(
                "EXPLAIN SELECT county_adcode, count(*) FROM grid_events "
                "WHERE closed_at IS NULL GROUP BY county_adcode")))
            assert "ix_grid_events_open_county" in plan


def test_a_snapshot_reads_the_store_as_of_one_moment_whatever_commits_meanwhile(engine: Engine) -> None:
    from store import snapshot

    def add_event(n: int) -> None:
        b = Batch()
        b.add_event(event(f"E{n}", "441202", 1, T0))
        with Session(engine) as s, s.begin():
            write_batch(s, b)

    def open_cases(s: Session) -> int:
        return s.scalar(select(func.count()).select_from(GridEvent)) or 0

    add_event(1)
    with snapshot(engine) as s:
        assert open_cases(s) == 1
        add_event(2)  # an ingest commit in the middle of a wall tick
        assert open_cases(s) == 1  # the tick still reads the moment it began
    with snapshot(engine) as s:
        assert open_cases(s) == 2  # the next tick sees it


def test_json_columns_are_read_with_orjson_and_nan_still_reads(engine: Engine) -> None:
    """store.db.json_loads: orjson for speed; what orjson refuses (NaN, which json.dumps writes) by the standard
    library, so an old row never becomes unreadable."""
    from store.db import json_loads

    assert engine.dialect._json_deserializer is json_loads  # noqa: SLF001 — the engine's own setting
    assert json_loads(b'{"v": 1.5}') == {"v": 1.5}
    nan = json_loads('{"v": NaN}')["v"]
    assert nan != nan
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO devices (id, kind, county_adcode, declared_adcode, lon, lat, attrs, "
                             "first_seen, last_seen) VALUES ('J1', 'road_weather', '441202', '441202', 112.4, 23.0, "
                             + ("'{\"x\": NaN}'" if engine.dialect.name == "sqlite" else "'{\"x\": 2}'::json")
                             + ", '2026-11-30 06:00:00', '2026-11-30 06:00:00')")
    with Session(engine) as s:
        attrs = s.get(Device, "J1").attrs
    assert (attrs["x"] != attrs["x"]) if engine.dialect.name == "sqlite" else attrs == {"x": 2}
