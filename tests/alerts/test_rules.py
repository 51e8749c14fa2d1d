"""Each rule kind on readings, through the engine and a real store: raise, hysteresis, auto-clear, replays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alerts.engine import AlertEngine
from alerts.lifecycle import acknowledge, clear, silence
from alerts.rules import Reading, RuleRegistry, register_builtin_rules
from dashboard.panels import PanelRegistry, register_builtin_panels
from store.models import Alarm
from topics.loader import BUILTIN_DIR, parse_theme
from topics.themes import Theme

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
RULES = RuleRegistry()
register_builtin_rules(RULES)
PANELS = PanelRegistry()
register_builtin_panels(PANELS)


def theme(rules: str) -> Theme:
    """The ecology theme with these rules (YAML list items)."""
    text = (BUILTIN_DIR / "ecology.yaml").read_text(encoding="utf-8").split("\nrules:\n")[0] + "\nrules:\n" + rules
    th, errors = parse_theme(text, "ecology.yaml", PANELS.schemas(), RULES.schemas())
    assert errors == [], [str(e) for e in errors]
    assert th is not None
    return th


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(feed: str, minutes: float, source: str = "D1", county: str | None = "441202", **values: float) -> Reading:
    return Reading(source, feed, at(minutes), values, county, f"站{source}", 112.47, 23.05)


@pytest.fixture
def make(engine: Engine) -> Iterator:
    made: list[AlertEngine] = []

    def build(rules: str, clock: datetime = T0) -> AlertEngine:
        th = theme(rules)
        e = AlertEngine(engine, RULES, lambda: (th,), clock=lambda: clock)
        made.append(e)
        return e

    yield build


def alarms(engine: Engine) -> list[Alarm]:
    with Session(engine) as s:
        return list(s.scalars(select(Alarm).order_by(Alarm.id)))


def test_threshold_with_hysteresis_and_auto_clear(make, engine: Engine) -> None:
    e = make("- id: low-vis\n  kind: threshold\n  feed: road_weather\n  metric: visibility_m\n  below: 200\n"
             "  clear_at: 500\n  severity: 3\n")
    assert e.evaluate([reading("road_weather", 0, visibility_m=800)]).raised == []
    raised = e.evaluate([reading("road_weather", 1, visibility_m=150)]).raised
    assert len(raised) == 1
    ch = e.evaluate([reading("road_weather", 2, visibility_m=300)])  # above the line, below clear_at: holds
    assert ch.cleared == [] and ch.updated == 1
    assert e.evaluate([reading("road_weather", 3, visibility_m=600)]).cleared == raised  # back past clear_at
    [a] = alarms(engine)
    assert (a.state, a.cleared_by, a.severity, a.count) == ("cleared", "auto", 3, 2)
    assert a.opened_at == at(1) and a.cleared_at == at(3) and a.last_at == at(2) and a.rule == "ecology/low-vis"
    assert a.title_zh == "站D1 visibility_m 300，尚未越过解除线 500"  # the newest reading's words, in the band


def test_duration_raises_only_when_held_long_enough(make) -> None:
    e = make("- id: hot\n  kind: duration\n  feed: fire_risk\n  metric: max_temp_c\n  above: 35\n  minutes: 30\n")
    assert e.evaluate([reading("fire_risk", 0, max_temp_c=36), reading("fire_risk", 20, max_temp_c=37)]).raised == []
    assert e.evaluate([reading("fire_risk", 25, max_temp_c=30)]).raised == []  # broken: starts over
    assert e.evaluate([reading("fire_risk", 40, max_temp_c=36), reading("fire_risk", 69, max_temp_c=36)]).raised == []
    assert len(e.evaluate([reading("fire_risk", 70, max_temp_c=36)]).raised) == 1  # held 30 min since 40
    assert len(e.evaluate([reading("fire_risk", 75, max_temp_c=34)]).cleared) == 1


def test_rate_of_change_within_a_window(make) -> None:
    e = make("- id: surge\n  kind: rate\n  feed: hydrology\n  metric: water_level_m\n  change: 0.5\n  minutes: 60\n")
    ch = e.evaluate([reading("hydrology", 0, water_level_m=10.0), reading("hydrology", 30, water_level_m=10.3)])
    assert ch.raised == []
    assert len(e.evaluate([reading("hydrology", 50, water_level_m=10.6)]).raised) == 1  # +0.6 within 60 min
    # 10.0 at 0 leaves the window at 60: the rise within the last hour is now 0.3 + 0.05, under 0.5.
    assert len(e.evaluate([reading("hydrology", 95, water_level_m=10.65)]).cleared) == 1
    fall = make("- id: drop\n  kind: rate\n  feed: hydrology\n  metric: water_level_m\n  change: -1\n  minutes: 10\n")
    assert len(fall.evaluate([reading("hydrology", 0, "G2", water_level_m=5),
                              reading("hydrology", 5, "G2", water_level_m=3.9)]).raised) == 1


def test_absence_of_a_device_and_of_a_feed_on_the_clock(make, engine: Engine) -> None:
    e = make("- id: quiet\n  kind: absence\n  feed: video_point\n  minutes: 10\n"
             "- id: feed-down\n  kind: absence\n  feed: video_point\n  minutes: 30\n  per: feed\n  severity: 4\n")
    e.evaluate([reading("video_point", 0, "V1", online=1), reading("video_point", 5, "V2", online=1)])
    assert e.tick(at(12)).raised != []  # V1 silent 12 min
    rows = alarms(engine)
    assert [(a.source, a.opened_at) for a in rows] == [("V1", at(10))]
    assert e.tick(at(13)).raised == []  # the same silence, not a new alarm
    more = e.tick(at(40)).raised  # V2 quiet 35 min; the feed quiet 35 min
    assert len(more) == 2
    assert {(a.source, a.severity) for a in alarms(engine)} == {("V1", 2), ("V2", 2), ("video_point", 4)}
    cleared = e.evaluate([reading("video_point", 41, "V1", online=1)]).cleared
    assert len(cleared) == 2  # V1 speaks: its silence and the feed's end
    assert {a.source for a in alarms(engine) if a.cleared_at is None} == {"V2"}


def test_a_silent_alarm_is_written_when_its_minutes_change_not_every_tick(make, engine: Engine) -> None:
    """Its value and title follow the silence in whole minutes; ticks within the same minute write nothing."""
    from sqlalchemy import event

    e = make("- id: quiet\n  kind: absence\n  feed: video_point\n  minutes: 10\n")
    e.evaluate([reading("video_point", 0, "V1", online=1)])
    e.tick(at(12))
    writes: list[str] = []
    def listen(conn: object, cursor: object, sql: str, *args: object) -> None:
        if sql.startswith("UPDATE alarms") or (sql.startswith("SELECT") and "WHERE alarms.id =" in sql):
            writes.append(sql)  # the alarm loaded by id and written; the escalation query runs every tick

    event.listen(engine, "before_cursor_execute", listen)
    try:
        e.tick(at(13))  # 13 min: written
        n = len(writes)
        for sec in (5, 10, 15, 20):  # within the 13th minute: nothing
            e.tick(at(13 + sec / 60))
        assert n > 0 and len(writes) == n
        e.tick(at(14))
        assert len(writes) > n
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    [a] = alarms(engine)
    assert (a.value, a.last_at) == (14.0, at(14)) and "14" in a.title_en


def test_geofence_by_county(make) -> None:
    e = make("- id: stay\n  kind: geofence\n  feed: road_weather\n  counties: ['441202']\n")
    inside = Reading("P1", "road_weather", at(0), {"visibility_m": 900}, "441202", "巡查车", 112.47, 23.06)
    outside = Reading("P1", "road_weather", at(1), {"visibility_m": 900}, "441224", "巡查车", 112.18, 23.92)
    assert e.evaluate([inside]).raised == []
    assert len(e.evaluate([outside]).raised) == 1
    assert len(e.evaluate([Reading("P1", "road_weather", at(2), {}, "441202", "巡查车", 112.47, 23.06)]).cleared) == 1


@pytest.mark.parametrize(("rules", "feed", "bad", "good", "severity"), [
    ("- id: aqi\n  kind: aqi\n", "air_quality", {"aqi": 180.0}, {"aqi": 90.0}, 3),
    ("- id: aqi\n  kind: aqi\n", "air_quality", {"aqi": 260.0}, {"aqi": 90.0}, 4),
    ("- id: fog\n  kind: fog\n", "road_weather", {"visibility_m": 40.0}, {"visibility_m": 800.0}, 4),
    ("- id: fog\n  kind: fog\n  min_signal: yellow\n", "road_weather", {"visibility_m": 400.0},
     {"visibility_m": 600.0}, 2),
    ("- id: fire\n  kind: fire_danger\n", "fire_risk",
     {"max_temp_c": 36.0, "rh_pct": 25.0, "dry_days": 20.0, "wind_speed_ms": 9.0},
     {"max_temp_c": 12.0, "rh_pct": 90.0, "dry_days": 0.0, "wind_speed_ms": 1.0}, None),
    ("- id: water\n  kind: water_level\n", "hydrology", {"water_status": 1.0, "water_level_m": 17.2},
     {"water_status": 0.0, "water_level_m": 15.0}, 3),
    ("- id: ai\n  kind: video_detection\n  min_confidence: 0.8\n", "video_point",
     {"online": 1.0, "detection.dumping": 0.91}, {"online": 1.0, "detection.dumping": 0.5}, 2),
])
def test_standard_rules_raise_and_clear(make, engine: Engine, rules: str, feed: str, bad: dict, good: dict,
                                        severity: int | None) -> None:
    e = make(rules)
    assert e.evaluate([reading(feed, 0, **good)]).raised == []
    assert len(e.evaluate([reading(feed, 1, **bad)]).raised) == 1
    [a] = alarms(engine)
    if severity is not None:
        assert a.severity == severity
    else:
        assert a.severity in (3, 4) and "火险" in a.title_zh  # level 4 (orange) or 5 (red) by LY/T 1172
    assert len(e.evaluate([reading(feed, 2, **good)]).cleared) == 1


def test_fog_severity_rises_as_the_signal_turns_red(make, engine: Engine) -> None:
    e = make("- id: fog\n  kind: fog\n  min_signal: yellow\n")
    e.evaluate([reading("road_weather", 0, visibility_m=300)])
    e.evaluate([reading("road_weather", 1, visibility_m=30)])
    [a] = alarms(engine)
    assert a.severity == 4 and "红色" in a.title_zh and a.count == 2
    e.evaluate([reading("road_weather", 2, visibility_m=25)])
    [a] = alarms(engine)
    assert "能见度 25 米" in a.title_zh and a.value == 25 and a.count == 3  # the words follow the newest reading


def test_replayed_readings_raise_nothing_twice_even_after_a_restart(make, engine: Engine) -> None:
    rules = "- id: fog\n  kind: fog\n"
    batch = [reading("road_weather", 0, visibility_m=800), reading("road_weather", 1, visibility_m=30),
             reading("road_weather", 2, visibility_m=35)]
    first = make(rules)
    assert len(first.evaluate(batch).raised) == 1
    assert first.evaluate(batch).skipped_replays == 3  # the broker redelivers the same batch
    restarted = make(rules)  # a new process reads back what it had judged
    again = restarted.evaluate(batch)
    assert again.raised == [] and again.skipped_replays == 3
    assert len(alarms(engine)) == 1
    assert len(restarted.evaluate([reading("road_weather", 3, visibility_m=900)]).cleared) == 1
    # A replay of the opening reading after the clear opens nothing either.
    third = make(rules)
    assert third.evaluate(batch).raised == [] and len(alarms(engine)) == 1


def test_acknowledge_clear_and_silence(make, engine: Engine) -> None:
    e = make("- id: fog\n  kind: fog\n")
    [aid] = e.evaluate([reading("road_weather", 0, visibility_m=30)]).raised
    with Session(engine) as s, s.begin():
        a = acknowledge(s, aid, "值班员", at(1))
        assert (a.state, a.acked_by) == ("acknowledged", "值班员")
    assert len(e.evaluate([reading("road_weather", 2, visibility_m=800)]).cleared) == 1  # acked ones auto-clear too
    [aid2] = e.evaluate([reading("road_weather", 3, visibility_m=30)]).raised
    with Session(engine) as s, s.begin():
        clear(s, aid2, "值班员", at(4))
    # Cleared by hand while the fog persists: the next reading raises a new alarm.
    [aid3] = e.evaluate([reading("road_weather", 5, visibility_m=30)]).raised
    assert aid3 not in (aid, aid2)
    with Session(engine) as s, s.begin():
        silence(s, "值班员", at(5), 60, rule="ecology/fog", reason="演练")
    assert alarms(engine)[-1].silenced
    e.evaluate([reading("road_weather", 6, visibility_m=800)])
    quiet = make("- id: fog\n  kind: fog\n", clock=at(10))
    [aid4] = quiet.evaluate([reading("road_weather", 11, visibility_m=30)]).raised
    with Session(engine) as s:
        assert s.get(Alarm, aid4).silenced  # raised under the silence: recorded, silenced


def test_escalation_when_nobody_acknowledges(make, engine: Engine) -> None:
    e = make("- id: fog\n  kind: fog\n  escalate_after_min: 10\n  escalate_to: [值班领导]\n")
    [aid] = e.evaluate([reading("road_weather", 0, visibility_m=30)]).raised
    assert e.tick(at(9)).escalated == []
    assert e.tick(at(10)).escalated == [aid]
    assert e.tick(at(15)).escalated == []
    assert e.tick(at(20)).escalated == [aid]  # and again after another 10 minutes
    with Session(engine) as s, s.begin():
        acknowledge(s, aid, "值班员", at(21))
    assert e.tick(at(40)).escalated == []
    with Session(engine) as s:
        assert s.get(Alarm, aid).escalations == 2


def test_rule_settings_are_checked_with_their_line() -> None:
    text = (BUILTIN_DIR / "ecology.yaml").read_text(encoding="utf-8").split("\nrules:\n")[0] + (
        "\nrules:\n- id: fog\n  kind: fog\n  min_signal: purple\n"
        "- id: t\n  kind: threshold\n  feed: hydrology\n  metric: water_level_m\n  above: 10\n  clear_at: 12\n"
        "- id: x\n  kind: earthquake\n"
        "- id: y\n  kind: absence\n  feed: road_wether\n  minutes: 5\n")
    _, errors = parse_theme(text, "ecology.yaml", PANELS.schemas(), RULES.schemas())
    lines = text.splitlines()
    assert [str(e) for e in errors] == [
        f"ecology.yaml, line {lines.index('  min_signal: purple') + 1}: rules[0].min_signal: must be one of "
        "'yellow', 'orange' or 'red'",
        f"ecology.yaml, line {lines.index('- id: t') + 1}: rules[1]: clear_at must be at most above (the alarm "
        "clears below the line)",
        f"ecology.yaml, line {lines.index('  kind: earthquake') + 1}: rules[2].kind: 'earthquake' is not a rule kind "
        "of this wall (docs/panels.md lists them: absence, aqi, duration, fire_danger, fog, geofence, measure, rate, "
        "threshold, video_detection, water_level)",
        f"ecology.yaml, line {lines.index('  feed: road_wether') + 1}: rules[3].feed: 'road_wether' is not a feed of "
        "this wall (air_quality, fire_risk, grid_event, hotline_12345, hydrology, kpi, road_weather, video_point)",
    ]
