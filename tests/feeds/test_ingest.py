"""The ingest worker on SQLite and PostgreSQL: good rows stored, bad ones dead-lettered, refusals isolated."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from feeds import Context, Feed, FeedRegistry, register_builtin_feeds
from clock import process_clock
from feeds.ingest import Ingestor
from feeds.payloads import DevicePayload
from store import Batch
from store import queries as q
from store.models import (
    DeadLetter,
    Device,
    FeedStatus,
    GridEvent,
    GridEventStep,
    KpiMetric,
    LatestValue,
    Observation,
)
from tests.feeds.samples import GUANGZHOU, INSIDE, T0, event, fire, kpi, make_decoder, msg, road, video

REFUSED = "the store refused this message: "  # followed by the database's own words


def count(s: Session, model: type) -> int:
    return s.scalar(select(func.count()).select_from(model)) or 0


def statuses(engine: Engine) -> dict[str, FeedStatus]:
    with Session(engine) as s:
        return {f.feed: f for f in q.feed_statuses(s)}


def dead_letters(engine: Engine) -> list[DeadLetter]:
    with Session(engine) as s:
        return list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def run(engine: Engine, messages: list[tuple[str, bytes]], decoder=None, batch_size: int = 4) -> Ingestor:
    """Submit the messages one second apart (received_at) and wait until all are committed."""
    commits: list[tuple[int, int]] = []
    ing = Ingestor(engine, decoder or make_decoder(), batch_size=batch_size, batch_ms=20,
                   on_commit=lambda _messages, good, bad: commits.append((good, bad))).start()
    try:
        for i, (topic, payload) in enumerate(messages):
            ing.submit(topic, payload, RECEIVED + timedelta(seconds=i))
        assert ing.drain(15), f"not drained: {ing.stats}"
    finally:
        ing.stop()
    assert ing.stats.received == len(messages)
    assert sum(g for g, _ in commits) == ing.stats.stored and sum(b for _, b in commits) == ing.stats.dead
    return ing


RECEIVED = datetime(2026, 11, 30, 0, 0, 5, tzinfo=UTC)
M1 = T0 + timedelta(minutes=1)


def test_a_mix_of_good_and_bad_messages(engine: Engine) -> None:
    good = [
        msg("video_point", video("441202", 1)),  # 3 detections of 2 types: 4 metrics
        msg("road_weather", road("441204", 2)),
        msg("fire_risk", fire("441223", 1)),
        msg("grid_event", event("441202", 1, step=1)),
        msg("kpi", kpi("service.yss_registered", "441200")),
        msg("video_point", video("441202", 1, ts=M1, online=False, detections=[])),  # 2 metrics
        msg("road_weather", road("441204", 2, ts=M1, visibility_m=80.0, road_temp_c=None)),  # 5 metrics
        msg("grid_event", event("441202", 1, step=2, ts=M1, actor="监督中心受理员")),
        msg("grid_event", event("441204", 2, step=6, ts=M1, kind="部件", category="公用设施", subcategory="井盖破损")),
        msg("kpi", kpi("eco.aqi", "441202", value=57, unit=None)),
    ]
    bad = [
        (msg("road_weather", road())[0], b'{"device_id": '),  # bad JSON
        msg("road_weather", road("441204", 3, lon=GUANGZHOU[0], lat=GUANGZHOU[1])),  # outside the city
        msg("fire_risk", fire(ts="2026-11-30T08:00:00")),  # no offset
        msg("video_point", video("441203", 4), county="441284"),  # GB/T 28181 county mismatch
        ("zq/441202/road_weather", orjson.dumps(road("441202", 5))),  # 3 levels
        ("zq/441202/air/X1234", b"{}"),  # unknown feed
    ]
    # Interleave, so the bad ones sit between good ones in the same batches.
    padded = bad + [None] * (len(good) - len(bad))
    mixed = [m for pair in zip(good, padded, strict=True) for m in pair if m is not None]
    ing = run(engine, mixed)
    assert (ing.stats.stored, ing.stats.dead) == (len(good), len(bad))
    assert ing.stats.batches >= math.ceil(len(mixed) / 4)
    assert ing.stats.write_errors == 0

    with Session(engine) as s:
        devices = {d.id: d for d in s.scalars(select(Device))}
        assert set(devices) == {"44120200091326000001", "44120400041316000002", "FR44122301"}
        cam = devices["44120200091326000001"]
        assert (cam.kind, cam.county_adcode, cam.declared_adcode) == ("video_point", "441202", "441202")
        assert (cam.first_seen, cam.last_seen) == (T0, M1)  # first sighting kept across batches
        assert cam.attrs == {"river": "西江"}
        assert devices["FR44122301"].county_adcode == "441223"
        assert count(s, Observation) == 5  # one row per device message, its values together
        latest = {(r.device_id, r.metric): r.value for r in s.scalars(select(LatestValue))}
        assert latest[("44120200091326000001", "online")] == 0.0
        assert latest[("44120200091326000001", "detection.dumping")] == 0.83  # strongest of two, from T0
        assert latest[("44120400041316000002", "visibility_m")] == 80.0
        assert latest[("44120400041316000002", "road_temp_c")] == 16.0  # not reported at M1: T0's stays
        assert len(latest) == 4 + 6 + 5

        events = {e.id: e for e in s.scalars(select(GridEvent))}
        assert set(events) == {"AJ44120200001", "AJ44120400002"}
        open_ev, closed = events["AJ44120200001"], events["AJ44120400002"]
        assert (open_ev.step, open_ev.closed_at, open_ev.updated_at, open_ev.reported_at) == (2, None, M1, T0)
        assert (closed.step, closed.closed_at, closed.kind) == (6, M1, "部件")
        steps = sorted((st.event_id, st.step, st.actor) for st in s.scalars(select(GridEventStep)))
        assert steps == [("AJ44120200001", 1, "网格员"), ("AJ44120200001", 2, "监督中心受理员"),
                         ("AJ44120400002", 6, "网格员")]
        kpis = {(k.key, k.region): (k.value, k.unit) for k in s.scalars(select(KpiMetric))}
        assert kpis == {("service.yss_registered", "441200"): (3.1e6, "人"),
                        ("eco.aqi", "441202"): (57.0, None)}

    letters = dead_letters(engine)
    assert [(d.topic, d.payload) for d in letters] == [(t, p) for t, p in bad]  # raw, in arrival order
    feeds = [d.feed for d in letters]
    assert feeds == ["road_weather", "road_weather", "fire_risk", "video_point", None, None]
    reasons = [d.reason for d in letters]
    assert "not valid UTF-8 JSON" in reasons[0]
    assert "outside the city 441200" in reasons[1]
    assert "ts: Input should have timezone info" in reasons[2]
    assert "belongs to county 441203 (鼎湖区) but was published under county 441284 (四会市)" in reasons[3]
    assert "does not follow" in reasons[4]
    assert "unknown feed 'air'" in reasons[5]

    st = statuses(engine)
    assert {f: (x.messages, x.dead_letters) for f, x in st.items()} == {
        "video_point": (2, 1), "road_weather": (2, 2), "fire_risk": (1, 1), "grid_event": (3, 0),
        "kpi": (2, 0)}
    assert st["road_weather"].last_message_at == M1
    assert st["kpi"].last_message_at == T0
    # received_at of the last good road_weather message (index 13 in `mixed`), not of the later dead letters.
    assert st["road_weather"].last_received_at == RECEIVED + timedelta(seconds=mixed.index(good[6]))


def test_late_messages_do_not_move_state_back(engine: Engine) -> None:
    run(engine, [
        msg("road_weather", road(ts=M1, visibility_m=80.0)),
        msg("grid_event", event(step=3, ts=M1)),
    ])
    run(engine, [  # a second worker run, as after a restart, delivering older messages
        msg("road_weather", road(ts=T0, visibility_m=9000.0)),
        msg("grid_event", event(step=2, ts=T0)),
    ])
    with Session(engine) as s:
        assert s.get(LatestValue, ("44120400041316000002", "visibility_m")).value == 80.0
        assert s.get(Device, "44120400041316000002").last_seen == M1
        assert s.get(GridEvent, "AJ44120200001").step == 3
        assert count(s, Observation) == 2  # history keeps both readings
        assert count(s, GridEventStep) == 2
    assert statuses(engine)["road_weather"].last_message_at == M1


def test_drain_waits_for_the_commit_and_times_out_without_a_worker(engine: Engine) -> None:
    ing = Ingestor(engine, make_decoder(), batch_ms=20)
    assert ing.drain(0.1)  # nothing submitted: nothing to wait for
    ing.submit(*msg("road_weather", road()))
    assert not ing.drain(0.3)  # the worker is not running, so nothing can commit
    ing.start()
    try:
        assert ing.drain(10)
        assert (ing.stats.stored, ing.stats.dead) == (1, 0)
        with Session(engine) as s:
            assert count(s, Observation) == 1  # drain returned after the commit, not before
    finally:
        ing.stop()


def test_a_time_the_store_cannot_hold_is_isolated_and_the_stream_goes_on(engine: Engine) -> None:
    # Valid ISO 8601 with an offset, but 0001-01-01T00:00+08:00 is before year 1 in UTC.
    ancient = msg("road_weather", road("441204", 7, ts="0001-01-01T00:00:00+08:00"))
    messages = [msg("road_weather", road("441204", 6)), ancient, msg("fire_risk", fire())]
    ing = run(engine, messages, batch_size=10)
    assert (ing.stats.stored, ing.stats.dead) == (2, 1)
    with Session(engine) as s:
        assert set(s.scalars(select(Device.id))) == {"44120400041316000006", "FR44122301"}
    [letter] = dead_letters(engine)
    assert (letter.topic, letter.payload, letter.feed) == (*ancient, "road_weather")
    assert letter.reason.startswith(("internal error making road_weather rows", REFUSED)), letter.reason
    rw = statuses(engine)["road_weather"]
    assert (rw.messages, rw.dead_letters) == (1, 1)


# ---- a store refusal: only the offending message goes to dead letters -------------------------------------

class WaterLevelPayload(DevicePayload):
    """A hydrological station's reading; the level is null when the gauge fails."""

    level_m: float | None


def water_level_rows(batch: Batch, p: WaterLevelPayload, ctx: Context) -> None:
    """A naive row maker: it passes a null level through to a NOT NULL column."""
    batch.add_device({"id": p.device_id, "kind": "water_level", "name": p.name,
                      "county_adcode": ctx.county_adcode, "declared_adcode": ctx.declared_adcode,
                      "lon": p.lon, "lat": p.lat, "first_seen": p.ts, "last_seen": p.ts, "attrs": {}})
    batch.add_observations(p.device_id, "water_level", p.ts, ctx.county_adcode, {"level_m": p.level_m})


def test_a_batch_the_store_refuses_is_split_and_only_the_offender_dead_lettered(engine: Engine) -> None:
    registry = FeedRegistry()
    register_builtin_feeds(registry)
    registry.register(Feed("water_level", "水位", "Water level", WaterLevelPayload, 300, water_level_rows))
    lon, lat = INSIDE["441204"]

    def station(n: int, level: float | None) -> tuple[str, bytes]:
        body = {"device_id": f"SW44120400{n}", "ts": T0.isoformat(), "lon": lon, "lat": lat, "level_m": level}
        return f"zq/441204/water_level/SW44120400{n}", orjson.dumps(body)

    offender = station(3, None)
    messages = [station(1, 9.1), msg("road_weather", road()), offender, station(4, 9.4),
                (msg("road_weather", road())[0], b"not json")]
    ing = run(engine, messages, decoder=make_decoder(registry=registry), batch_size=10)
    assert (ing.stats.stored, ing.stats.dead) == (3, 2)
    assert ing.stats.write_errors == 2  # the whole batch, then the offender alone
    with Session(engine) as s:
        assert set(s.scalars(select(Device.id))) == {"SW441204001", "SW441204004", "44120400041316000002"}
        levels = s.scalars(select(Observation.data["level_m"].as_float()).where(Observation.feed == "water_level"))
        assert sorted(levels) == [9.1, 9.4]
    letters = dead_letters(engine)
    # Written one by one in arrival order once the batch was refused.
    assert [(d.topic, d.payload, d.feed) for d in letters] == [
        (*offender, "water_level"), (*messages[4], "road_weather")]
    assert letters[0].reason.startswith(REFUSED) and "NOT NULL" in letters[0].reason.upper().replace("-", " ")
    assert "not valid UTF-8 JSON" in letters[1].reason
    st = statuses(engine)
    assert (st["water_level"].messages, st["water_level"].dead_letters) == (2, 1)
    assert (st["road_weather"].messages, st["road_weather"].dead_letters) == (1, 1)


def test_a_nul_character_is_refused_before_the_store_on_both_backends(engine: Engine) -> None:
    # Valid JSON and a valid model, but PostgreSQL text cannot hold U+0000 (SQLite would): the decoder
    # refuses it with a clear reason, so both backends behave alike.
    offender = msg("road_weather", road("441204", 8, name="高要\u00001号站"))
    messages = [msg("road_weather", road("441204", 7)), offender, msg("kpi", kpi())]
    ing = run(engine, messages, batch_size=10)
    assert (ing.stats.stored, ing.stats.dead, ing.stats.write_errors) == (2, 1, 0)
    with Session(engine) as s:
        assert list(s.scalars(select(Device.id))) == ["44120400041316000007"]
        assert count(s, KpiMetric) == 1
    [letter] = dead_letters(engine)
    assert (letter.topic, letter.payload, letter.feed) == (*offender, "road_weather")
    assert "NUL character" in letter.reason


def test_a_redelivered_message_is_stored_once_and_counted_once(engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from store.models import FeedStatus

    now = process_clock().now()
    reading = msg("road_weather", road("441204", 2, ts=now))
    step = msg("grid_event", event("441202", 1, step=1, ts=now))
    value = msg("kpi", kpi("service.yss_registered", "441200", ts=now, value=3.1e6))
    corrected = msg("kpi", kpi("service.yss_registered", "441200", ts=now, value=3.2e6))
    ing = Ingestor(engine, make_decoder(), batch_ms=10).start()
    try:
        for batch in ([reading, step, value], [reading, step, value], [reading, reading], [corrected]):
            for topic, payload in batch:  # each list one batch: a redelivery after its first commit, and within one
                ing.submit(topic, payload)
            assert ing.drain(10)
    finally:
        ing.stop()
    with Session(engine) as s:
        counts = {f.feed: f.messages for f in s.scalars(select(FeedStatus))}
    # A correction of a KPI value is a new message; the same value again is not.
    assert counts == {"road_weather": 1, "grid_event": 1, "kpi": 2}
    assert ing.stats.received == 9
