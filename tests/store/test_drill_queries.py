"""Drill-down reads on SQLite and PostgreSQL, on rows written by the ingest write path (Batch, write_batch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from store import Batch, write_batch
from store import drill_queries as dq

CST = timezone(timedelta(hours=8))
DAY = datetime(2026, 11, 30, tzinfo=CST)


def at(hour: int, minute: int = 0, second: int = 0, micro: int = 0, day: int = 0) -> datetime:
    """A time on the test day (UTC+8)."""
    return DAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second, microseconds=micro)


def write(engine: Engine, fill: Any) -> None:
    """Build one batch with `fill` and write it as ingest does, in its own transaction."""
    b = Batch()
    fill(b)
    with Session(engine) as s, s.begin():
        write_batch(s, b)


def case_update(b: Batch, id_: str, step: int, ts: datetime, *, reported: datetime | None = None,
                county: str = "441202", sub: str | None = "暴露垃圾", lon: float = 112.47, lat: float = 23.05,
                closed: bool = False) -> None:
    """A grid_event message as feeds.builtin.grid_event_rows turns it into rows."""
    b.add_event({"id": id_, "county_adcode": county, "declared_adcode": county, "grid_code": None,
                 "kind": "事件", "category": "市容环境", "subcategory": sub, "description": None,
                 "lon": lon, "lat": lat, "step": step, "reported_at": reported or ts, "updated_at": ts,
                 "closed_at": ts if closed else None})
    b.add_event_step({"event_id": id_, "step": step, "ts": ts, "actor": f"actor{step}", "note": None})


def sighting(b: Batch, id_: str, kind: str, county: str | None, ts: datetime, values: dict[str, float],
             *, declared: str | None = None, feed: str | None = None, lon: float = 112.5, lat: float = 23.1) -> None:
    """A device message as feeds.rows.device_row and observe turn it into rows."""
    b.add_device({"id": id_, "kind": kind, "name": f"点 {id_}", "county_adcode": county,
                  "declared_adcode": declared or county or "441204", "lon": lon, "lat": lat,
                  "first_seen": ts, "last_seen": ts, "attrs": {"k": id_}})
    b.add_observations(id_, feed or kind, ts, county, values)


def utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


# ---- events over time --------------------------------------------------------------------------------


def _timeline(engine: Engine) -> None:
    def fill(b: Batch) -> None:
        case_update(b, "E1", 1, at(8))
        case_update(b, "E2", 1, at(9, 59, 59, 999_000))
        case_update(b, "E3", 1, at(10))
        case_update(b, "E4", 1, at(13, 59), county="441203")
        case_update(b, "E5", 1, at(14))
        case_update(b, "E6", 1, at(7, 59))

    def close(b: Batch) -> None:
        case_update(b, "E1", 6, at(10), reported=at(8), closed=True)
        case_update(b, "E3", 6, at(12), reported=at(10), closed=True)
        case_update(b, "E6", 6, at(8, 30), reported=at(7, 59), closed=True)

    write(engine, fill)
    write(engine, close)


def test_events_over_time_counts_reports_and_closures_per_bucket(engine: Engine) -> None:
    _timeline(engine)
    with Session(engine) as s:
        city = dq.events_over_time(s, None, at(8), at(14), 6)
        county = dq.events_over_time(s, "441202", at(8), at(14), 6)
        fine = dq.events_over_time(s, None, at(8), at(14), 250)  # several statements (compound-SELECT limit)
    assert [t for t, _, _ in city] == [at(h) for h in range(8, 14)]
    # An event at a bucket's start belongs to it; one at `end` (E5) and one before `start` (E6) to none.
    assert [(r, c) for _, r, c in city] == [(1, 1), (1, 0), (1, 1), (0, 0), (0, 1), (1, 0)]
    assert [(r, c) for _, r, c in county] == [(1, 1), (1, 0), (1, 1), (0, 0), (0, 1), (0, 0)]
    assert len(fine) == 250 and sum(r for _, r, _ in fine) == 4 and sum(c for _, _, c in fine) == 3
    assert fine[-1][0] == at(14) - (at(14) - at(8)) / 250


def test_bucket_edges_refuse_an_empty_range() -> None:
    with pytest.raises(ValueError):
        dq.bucket_edges(at(8), at(8), 4)
    assert dq.bucket_edges(at(8), at(9), 2) == [at(8), at(8, 30), at(9)]


# ---- case summary ------------------------------------------------------------------------------------

NOW = at(20)
LIMITS = {"暴露垃圾": 4.0, "道路破损": 48.0, "": 2.0}


def _cases(engine: Engine) -> None:
    def fill(b: Batch) -> None:
        case_update(b, "C1", 2, at(15), reported=at(15))  # 5 h open, limit 4: 1 h over
        case_update(b, "C2", 1, at(17))  # 3 h, limit 4
        case_update(b, "C3", 3, at(19, day=-1), sub="道路破损")  # 25 h, limit 48
        case_update(b, "C4", 3, at(14, day=-1), sub="井盖缺失")  # 30 h, default 24: 6 h over
        case_update(b, "C5", 6, at(1), reported=at(0, day=-5), closed=True)  # closed: never overdue
        case_update(b, "C6", 4, at(10), county="441203")  # 10 h, limit 4: 6 h over
        case_update(b, "C7", 1, at(17), sub=None)  # 3 h; limit of "" is 2: 1 h over

    write(engine, fill)


def test_case_summary_counts_open_and_overdue_and_lists_the_most_overdue(engine: Engine) -> None:
    _cases(engine)
    with Session(engine) as s:
        city = dq.case_summary(s, None, NOW, LIMITS, 24.0, top=3)
        county = dq.case_summary(s, "441202", NOW, LIMITS, 24.0)
        no_null_limit = dq.case_summary(s, None, NOW, {"暴露垃圾": 4.0}, 24.0)
        none = dq.case_summary(s, "441226", NOW, LIMITS, 24.0)
    assert (city.open, city.overdue, city.by_step) == (6, 4, {1: 2, 2: 1, 3: 2, 4: 1})
    assert [(c.id, c.step, c.subcategory) for c in city.most_overdue] == [
        ("C4", 3, "井盖缺失"), ("C6", 4, "暴露垃圾"), ("C1", 2, "暴露垃圾")]
    assert [c.hours_over for c in city.most_overdue] == pytest.approx([6.0, 6.0, 1.0])
    assert city.most_overdue[0].reported_at == utc(at(14, day=-1))
    assert (county.open, county.overdue, county.by_step) == (5, 3, {1: 2, 2: 1, 3: 2})
    assert [c.id for c in county.most_overdue] == ["C4", "C1", "C7"]
    # Without a "" entry a case with no subcategory takes the default (24 h): C7 is not overdue; C3 is (25 h).
    assert no_null_limit.overdue == 4
    assert {c.id for c in no_null_limit.most_overdue} == {"C1", "C3", "C4", "C6"}
    assert none == dq.CaseSummary(0, 0, {}, ())


def test_a_case_exactly_at_its_limit_is_not_overdue(engine: Engine) -> None:
    write(engine, lambda b: case_update(b, "C1", 1, at(16)))
    with Session(engine) as s:
        assert dq.case_summary(s, None, NOW, LIMITS, 24.0).overdue == 0
        assert dq.case_summary(s, None, NOW + timedelta(milliseconds=1), LIMITS, 24.0).overdue == 1


# ---- devices -----------------------------------------------------------------------------------------


def _devices(engine: Engine) -> None:
    def fill(b: Batch) -> None:
        sighting(b, "V1", "video_point", "441202", NOW - timedelta(minutes=1), {"online": 1.0, "detections": 0})
        sighting(b, "V2", "video_point", "441202", NOW - timedelta(minutes=1), {"online": 0.0, "detections": 0})
        sighting(b, "V3", "video_point", "441202", NOW - timedelta(hours=2), {"online": 1.0, "detections": 0})
        sighting(b, "V4", "video_point", "441203", NOW - timedelta(minutes=3), {"online": 1.0, "detections": 2})
        sighting(b, "R1", "road_weather", "441202", NOW - timedelta(minutes=5), {"visibility_m": 800.0})
        sighting(b, "R2", "road_weather", "441203", NOW - timedelta(hours=1), {"visibility_m": 90.0})

    write(engine, fill)


def test_device_online_rate_per_kind(engine: Engine) -> None:
    _devices(engine)
    with Session(engine) as s:
        city = dq.device_online_rate(s, None, NOW, timedelta(minutes=10))
        county = dq.device_online_rate(s, "441202", NOW, timedelta(minutes=10))
        empty = dq.device_online_rate(s, "441226", NOW, timedelta(minutes=10))
    # V3's last flag is up but it is silent: not online. Road-weather stations have no flag.
    assert city == {"road_weather": dq.OnlineRate("road_weather", 2, 1, None),
                    "video_point": dq.OnlineRate("video_point", 4, 3, 2)}
    assert county == {"road_weather": dq.OnlineRate("road_weather", 1, 1, None),
                      "video_point": dq.OnlineRate("video_point", 3, 2, 1)}
    assert city["video_point"].rate == 0.5 and city["road_weather"].rate == 0.5
    assert empty == {}
    # Each kind's own window (the map's rule): road weather may be silent 2 h here, video points 2 min.
    with Session(engine) as s:
        own = dq.device_online_rate(s, None, NOW, {"road_weather": timedelta(hours=2),
                                                   "video_point": timedelta(minutes=2)})
    assert own == {"road_weather": dq.OnlineRate("road_weather", 2, 2, None),
                   "video_point": dq.OnlineRate("video_point", 4, 2, 1)}


def test_county_devices(engine: Engine) -> None:
    _devices(engine)
    with Session(engine) as s:
        rows = dq.county_devices(s, "441202")
        everywhere = dq.county_devices(s, None)
    assert [(r.id, r.kind, r.online) for r in rows] == [
        ("R1", "road_weather", None), ("V1", "video_point", True), ("V2", "video_point", False),
        ("V3", "video_point", True)]
    assert rows[0] == dq.DeviceRow("R1", "road_weather", "点 R1", "441202", 112.5, 23.1,
                                   utc(NOW - timedelta(minutes=5)), None)
    assert len(everywhere) == 6


def test_device_detail_gives_recent_messages_newest_first_and_latest_values(engine: Engine) -> None:
    for minutes in (30, 20, 10, 1):
        t = NOW - timedelta(minutes=minutes)
        write(engine, lambda b, t=t, m=minutes: sighting(b, "V1", "video_point", "441202", t,
                                                          {"online": float(m != 10), "detections": 0.0}))
    # A second feed of the same device: its messages are merged in time order.
    write(engine, lambda b: b.add_observations("V1", "extra", NOW - timedelta(minutes=5), "441202", {"x": 7.0}))
    with Session(engine) as s:
        d = dq.device_detail(s, "V1", NOW - timedelta(minutes=25))
        two = dq.device_detail(s, "V1", NOW - timedelta(minutes=25), limit=2)
        missing = dq.device_detail(s, "NOPE", NOW)
    assert missing is None
    assert d is not None and two is not None
    assert (d.id, d.kind, d.county_adcode, d.declared_adcode, d.attrs) == (
        "V1", "video_point", "441202", "441202", {"k": "V1"})
    assert (d.first_seen, d.last_seen) == (utc(NOW - timedelta(minutes=30)), utc(NOW - timedelta(minutes=1)))
    assert [(ts, data) for ts, data in d.observations] == [
        (utc(NOW - timedelta(minutes=1)), {"online": 1.0, "detections": 0.0}),
        (utc(NOW - timedelta(minutes=5)), {"x": 7.0}),
        (utc(NOW - timedelta(minutes=10)), {"online": 0.0, "detections": 0.0}),
        (utc(NOW - timedelta(minutes=20)), {"online": 1.0, "detections": 0.0}),
    ]
    assert [ts for ts, _ in two.observations] == [utc(NOW - timedelta(minutes=1)), utc(NOW - timedelta(minutes=5))]
    assert d.latest == {"online": (utc(NOW - timedelta(minutes=1)), 1.0),
                        "detections": (utc(NOW - timedelta(minutes=1)), 0.0),
                        "x": (utc(NOW - timedelta(minutes=5)), 7.0)}


# ---- one case and replay -----------------------------------------------------------------------------


def _case_a(engine: Engine) -> None:
    """Reported at 10:00, at step 3 at 11:00, closed (step 6) at 12:00; each update its own batch."""
    write(engine, lambda b: case_update(b, "A", 1, at(10)))
    write(engine, lambda b: case_update(b, "A", 3, at(11), reported=at(10)))
    write(engine, lambda b: case_update(b, "A", 6, at(12), reported=at(10), closed=True))


def test_case_detail(engine: Engine) -> None:
    _case_a(engine)
    with Session(engine) as s:
        d = dq.case_detail(s, "A")
        assert dq.case_detail(s, "NOPE") is None
    assert d is not None
    assert (d.step, d.reported_at, d.updated_at, d.closed_at) == (6, utc(at(10)), utc(at(12)), utc(at(12)))
    assert d.steps == (dq.CaseStep(1, utc(at(10)), "actor1", None), dq.CaseStep(3, utc(at(11)), "actor3", None),
                       dq.CaseStep(6, utc(at(12)), "actor6", None))


def test_events_as_of_replays_open_cases_at_their_step_then(engine: Engine) -> None:
    _case_a(engine)
    write(engine, lambda b: case_update(b, "OLD", 2, at(9, day=-40)))  # still open, reported 40 days before
    write(engine, lambda b: case_update(b, "B", 1, at(10, 15), county="441203", lon=112.6, lat=23.2))

    def replay(t: datetime, **kw: Any) -> list[tuple[str, int]]:
        with Session(engine) as s:
            return [(e.id, e.step) for e in dq.events_as_of(s, t, **kw)]

    assert replay(at(9, 59)) == []
    assert replay(at(10, 30)) == [("A", 1), ("B", 1)]
    assert replay(at(11, 30)) == [("A", 3), ("B", 1)]
    assert replay(at(12)) == [("B", 1)]  # closed at 12:00: no longer open at 12:00
    assert replay(at(12, 30)) == [("B", 1)]
    assert replay(at(11, 30), county="441202") == [("A", 3)]
    # Older than max_open_age (30 days) is not drawn; a longer age brings it back.
    assert replay(at(11, 30), max_open_age=timedelta(days=60)) == [("A", 3), ("B", 1), ("OLD", 2)]  # by id
    with Session(engine) as s:
        b = dq.events_as_of(s, at(11), county="441203")
    assert b == [dq.EventAt("B", "事件", "市容环境", "暴露垃圾", "441203", 112.6, 23.2, 1)]


def test_events_as_of_follows_a_case_sent_back_for_rework(engine: Engine) -> None:
    """A case at step 5 (处置反馈) at 11:00 sent back to step 4 (任务处置) at 11:30: replayed at 11:15 it is at 5, and
    from 11:30 at 4, as the live map draws it (the highest step ever reached would say 5)."""
    write(engine, lambda b: case_update(b, "R", 1, at(10)))
    write(engine, lambda b: case_update(b, "R", 4, at(10, 30), reported=at(10)))
    write(engine, lambda b: case_update(b, "R", 5, at(11), reported=at(10)))
    write(engine, lambda b: case_update(b, "R", 4, at(11, 30), reported=at(10)))
    with Session(engine) as s:
        steps = [[e.step for e in dq.events_as_of(s, at(h, m))] for h, m in ((10, 45), (11, 15), (11, 45))]
        now = [e.step for e in dq.events_open_now(s)]
    assert steps == [[4], [5], [4]] and now == [4]


def test_events_open_now_are_the_replay_at_the_present(engine: Engine) -> None:
    _case_a(engine)  # closed at 12:00
    write(engine, lambda b: case_update(b, "OLD", 2, at(9, day=-40)))
    write(engine, lambda b: case_update(b, "B", 3, at(10, 15), county="441203", lon=112.6, lat=23.2))
    with Session(engine) as s:
        now = dq.events_open_now(s)
        county = dq.events_open_now(s, "441203")
        replayed = dq.events_as_of(s, at(13), max_open_age=timedelta(days=60))
    assert [(e.id, e.step) for e in now] == [("B", 3), ("OLD", 2)] == [(e.id, e.step) for e in replayed]
    assert now == replayed and [e.id for e in county] == ["B"]


def test_device_states_as_of(engine: Engine) -> None:
    for t, flag in ((at(10), 1.0), (at(10, 5), 0.0), (at(10, 30), 1.0)):
        write(engine, lambda b, t=t, f=flag: sighting(b, "V1", "video_point", "441202", t, {"online": f}))
    write(engine, lambda b: sighting(b, "R1", "road_weather", "441202", at(10), {"visibility_m": 500.0}))
    write(engine, lambda b: sighting(b, "R2", "road_weather", "441203", at(10, 6), {"visibility_m": 500.0}))
    window = timedelta(minutes=5)
    with Session(engine) as s:
        before = dq.device_states_as_of(s, at(9, 59), window=window)
        at_1007 = dq.device_states_as_of(s, at(10, 7), window=window)
        at_1031 = dq.device_states_as_of(s, at(10, 31), window=window)
        county = dq.device_states_as_of(s, at(10, 7), "441203", window=window)
    assert before == {}
    assert at_1007 == {
        "V1": dq.DeviceStateAt("V1", "video_point", "441202", 112.5, 23.1, utc(at(10, 5)), True, False,
                               {"online": 0.0}, "点 V1"),
        "R1": dq.DeviceStateAt("R1", "road_weather", "441202", 112.5, 23.1, utc(at(10)), False, None,
                               {"visibility_m": 500.0}, "点 R1"),
        "R2": dq.DeviceStateAt("R2", "road_weather", "441203", 112.5, 23.1, utc(at(10, 6)), True, None,
                               {"visibility_m": 500.0}, "点 R2"),
    }
    assert (at_1031["V1"].last_ts, at_1031["V1"].reporting, at_1031["V1"].online) == (utc(at(10, 30)), True, True)
    assert not at_1031["R2"].reporting
    assert list(county) == ["R2"]
    with Session(engine) as s:  # a day and more later: silent, with no message within the horizon to show
        later = dq.device_states_as_of(s, at(10, 7) + dq.STATE_HORIZON, window=window)
    assert later["V1"].last_ts == utc(at(10, 30)) and later["R1"].last_ts is None and not later["R1"].reporting


def test_events_in_bbox(engine: Engine) -> None:
    def fill(b: Batch) -> None:
        case_update(b, "IN1", 2, at(9), lon=112.50, lat=23.10)
        case_update(b, "IN2", 1, at(10), lon=112.60, lat=23.20)  # on the box's corner: inside
        case_update(b, "OUT", 1, at(11), lon=112.61, lat=23.10)
        case_update(b, "SHUT", 6, at(12), reported=at(8), lon=112.55, lat=23.15, closed=True)
        case_update(b, "OTHER", 1, at(13), lon=112.55, lat=23.15, county="441203")

    write(engine, fill)
    box = (112.5, 23.1, 112.6, 23.2)
    with Session(engine) as s:
        assert [e.id for e in dq.events_in_bbox(s, *box)] == ["OTHER", "IN2", "IN1"]
        assert [e.id for e in dq.events_in_bbox(s, *box, county="441202")] == ["IN2", "IN1"]
        every = dq.events_in_bbox(s, *box, county="441202", open_only=False)
        assert [e.id for e in every] == ["IN2", "IN1", "SHUT"]
        assert every[-1].closed_at == utc(at(12)) and every[-1].step == 6
        assert [e.id for e in dq.events_in_bbox(s, *box, limit=1)] == ["OTHER"]


# ---- consistency and KPIs ----------------------------------------------------------------------------


def test_consistency_finds_devices_whose_counties_disagree(engine: Engine) -> None:
    def fill(b: Batch) -> None:
        ts = at(10)
        # The id says 端州 (441202), the coordinates lie in 鼎湖 (441203).
        sighting(b, "44120200001320000001", "video_point", "441203", ts, {"online": 1.0}, declared="441202",
                 lon=112.6, lat=23.2)
        sighting(b, "44120300001320000002", "video_point", "441203", ts, {"online": 1.0})  # agrees
        sighting(b, "44120000001320000003", "video_point", "441203", ts, {"online": 1.0}, declared="441203")
        sighting(b, "RW-X1", "road_weather", "441203", ts, {"visibility_m": 1.0}, declared="441204")
        sighting(b, "RW-OK", "road_weather", "441204", ts, {"visibility_m": 1.0})
        sighting(b, "RW-OUT", "road_weather", None, ts, {"visibility_m": 1.0}, declared="441204")

    write(engine, fill)
    with Session(engine) as s:
        rows = dq.consistency(s)
    assert rows == [
        dq.ConsistencyRow("outside_city", "RW-OUT", "road_weather", "点 RW-OUT", 112.5, 23.1, None, "441204", None),
        dq.ConsistencyRow("id_county", "44120200001320000001", "video_point", "点 44120200001320000001", 112.6, 23.2,
                          "441202", "441202", "441203"),
        dq.ConsistencyRow("declared_county", "RW-X1", "road_weather", "点 RW-X1", 112.5, 23.1, None, "441204",
                          "441203"),
    ]


# ---- index use ---------------------------------------------------------------------------------------


def _plans(engine: Engine, run: Any) -> list[str]:
    """The backend's plan of each SELECT `run(session)` executes (PostgreSQL with sequential scans off)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as s:
            run(s)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if not sqlite:
            conn.execute(text("SET enable_seqscan = off"))  # the tables are tiny; ask which index it can use
        return [" ".join(str(r) for r in conn.exec_driver_sql(
            ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + stmt, params)) for stmt, params in seen]


def test_observations_are_read_through_their_unique_index(engine: Engine) -> None:
    write(engine, lambda b: sighting(b, "V1", "video_point", "441202", at(10), {"online": 1.0}))
    states = _plans(engine, lambda s: dq.device_states_as_of(s, at(11), window=timedelta(minutes=5)))
    detail = _plans(engine, lambda s: dq.device_detail(s, "V1", at(9)))
    # SQLite names a table's UNIQUE constraint's index itself; on PostgreSQL each day partition has its own copy of
    # the unique index (store.partitions), named after the partition.
    index = "sqlite_autoindex_observations_1" if engine.dialect.name == "sqlite" else "_device_id_feed_ts_key"
    assert len(states) == 1 and index in states[0]
    assert any(index in p for p in detail)


def test_events_as_of_from_another_moment_is_the_whole_read(engine: Engine) -> None:
    """A seeded history (reports, steps, rework, closes, cases aging past max_open_age): for pairs of moments
    either way apart, the read from the other moment's cases gives what the whole read gives."""
    import random

    rng = random.Random(20261205)
    start, age = at(0), timedelta(hours=20)
    for n in range(80):
        reported = start + timedelta(minutes=rng.randrange(0, 48 * 60))
        county = rng.choice(["441202", "441203"])
        t, step, updates = reported, 1, []
        while step <= 7 and t < start + timedelta(hours=60):
            updates.append((step, t))
            step = step - 1 if step >= 5 and rng.random() < 0.15 else step + 1  # now and then sent back
            t += timedelta(minutes=rng.randrange(5, 300))
        for step, ts in updates:
            write(engine, lambda b, i=f"C{n:03d}", s=step, ts=ts, c=county, r=reported: case_update(
                b, i, s, ts, reported=r, county=c, closed=s == 7))
    moments = [start + timedelta(minutes=rng.randrange(0, 60 * 60)) for _ in range(40)]
    checked = 0
    with Session(engine) as s:
        for a, b in zip(moments, moments[1:]):
            for county in (None, "441203"):
                whole = dq.events_as_of(s, a, county, max_open_age=age)
                base = dq.events_as_of(s, b, county, max_open_age=age)
                got = dq.events_as_of_from(s, a, b, base, county, max_open_age=age)
                assert got == whole, (a, b, county)
                checked += len(whole) > 0 and whole != base
    assert checked > 20  # the moments did differ: the test is not comparing empty reads


def test_events_changed_gives_up_past_its_limit(engine: Engine) -> None:
    for n in range(5):
        write(engine, lambda b, n=n: case_update(b, f"L{n}", 1, at(10, n)))
    with Session(engine) as s:
        assert dq.events_changed(s, at(9), at(11)) == {f"L{n}" for n in range(5)}
        assert dq.events_changed(s, at(10, 1), at(10, 2)) == {"L1", "L2"}  # both ends count
        assert dq.events_changed(s, at(9), at(11), limit=4) is None
        base = dq.events_as_of(s, at(9, 30))
        assert dq.events_as_of_from(s, at(10, 30), at(9, 30), base) == dq.events_as_of(s, at(10, 30))
