"""Cases with SLA clocks: limits configuration, deadlines, cases from alarms and grid events, console steps.

Store tests run on SQLite and PostgreSQL (the `engine` fixture). Working periods 08:30–12:00, 14:00–17:30.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alerts.calendar import load_calendar
from alerts.cases import (
    SyncResult,
    advance_case,
    deadline,
    open_case_for_alarm,
    overdue,
    overdue_hours,
    remaining_hours,
    sync_cases_from_grid_events,
)
from store import Batch, write_batch
from store import case_queries as cq
from store.models import Alarm, Case, CaseStep
from topics.cases import CaseLimit, CaseLimits, case_limits

CAL = load_calendar()
LIMITS = case_limits()
CITY = timedelta(hours=8)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    from settings import CITY_TZ
    return datetime(y, mo, d, h, mi, tzinfo=CITY_TZ)


# ---- limits configuration ------------------------------------------------------------------------------


def test_limits_carry_units_department_and_level() -> None:
    assert LIMITS.schema_version == 2
    assert LIMITS.limit("暴露垃圾") == CaseLimit(working_hours=4, department="市城管执法局", level="县")
    assert LIMITS.limit("违法搭建").working_days == 15  # DOMAIN.md §4: removal 15–20 working days
    assert LIMITS.hours("违法搭建") == 15 * 7  # days × the working day's hours, for the hour-based callers
    assert LIMITS.hours("暴露垃圾") == 4 and LIMITS.hours("道路不洁") == 5
    assert LIMITS.limits["道路不洁"] == 5 and LIMITS.default_hours == 24
    other = LIMITS.limit("没有这一类")
    assert other == LIMITS.default and other.department == "市城管执法局"


def test_the_limits_day_is_the_calendar_s_day() -> None:
    assert LIMITS.working_hours_per_day == CAL.hours_per_day


def test_version_1_files_still_load(tmp_path: Path) -> None:
    path = tmp_path / "case_limits.json"
    path.write_text(json.dumps({"schema_version": 1, "note": "old", "default_hours": 12,
                                "limits": {"暴露垃圾": 4, "道路不洁": 5.5}}), encoding="utf-8")
    old = case_limits(path)
    assert old.schema_version == 2 and old.note == "old"
    assert old.hours("暴露垃圾") == 4 and old.hours("道路不洁") == 5.5 and old.hours("x") == 12
    assert old.limit("暴露垃圾") == CaseLimit(working_hours=4)
    assert dict(old.limits) == {"暴露垃圾": 4, "道路不洁": 5.5}
    unversioned = tmp_path / "unversioned.json"  # case_limits() reads a path once
    unversioned.write_text(json.dumps({"limits": {"暴露垃圾": 3}}), encoding="utf-8")  # no version: version 1
    assert case_limits(unversioned).hours("暴露垃圾") == 3


def test_an_entry_gives_one_unit() -> None:
    with pytest.raises(ValidationError, match="one of the two"):
        CaseLimits(schema_version=2, subcategories={"x": {"working_hours": 4, "working_days": 1}})
    with pytest.raises(ValidationError, match="one of the two"):
        CaseLimits(schema_version=2, subcategories={"x": {"department": "市城管执法局"}})
    with pytest.raises(ValidationError):
        CaseLimits(schema_version=2, subcategories={"x": {"working_hours": 4, "level": "省"}})


# ---- pure --------------------------------------------------------------------------------------------


def test_deadlines_by_hours_and_by_days() -> None:
    # 暴露垃圾, 4 working hours, reported Friday 13 March 16:00: 1.5 h Friday + 2.5 h Monday → 11:00.
    assert deadline(at(2026, 3, 13, 16), LIMITS.limit("暴露垃圾"), CAL) == at(2026, 3, 16, 11)
    # 违法搭建, 15 working days, from Tuesday 10 February 10:00 across 春节 (14 and 28 Feb worked): 9 March 10:00.
    assert deadline(at(2026, 2, 10, 10), LIMITS.limit("违法搭建"), CAL) == at(2026, 3, 9, 10)
    assert deadline(at(2026, 3, 13, 16), 4.0, CAL) == at(2026, 3, 16, 11)


def test_overdue_before_and_after_the_deadline() -> None:
    case = Case(opened_at=at(2026, 3, 13, 16), deadline_at=at(2026, 3, 16, 11), closed_at=None)
    assert not overdue(case, at(2026, 3, 16, 10, 59))
    assert not overdue(case, at(2026, 3, 16, 11))
    assert overdue(case, at(2026, 3, 16, 11, 1))
    # Monday 11:00 → 12:00 (1 h), lunch, 14:00 → 15:30 (1.5 h): 2.5 working hours late.
    assert overdue_hours(case, at(2026, 3, 16, 15, 30), CAL) == 2.5
    assert overdue_hours(case, at(2026, 3, 16, 9), CAL) == 0
    # Friday 16:00 → 17:30 is 1.5 h, Monday 08:30 → 11:00 is 2.5 h.
    assert remaining_hours(case, at(2026, 3, 13, 16), CAL) == 4
    case.closed_at = at(2026, 3, 16, 10)
    assert not overdue(case, at(2026, 3, 20)) and remaining_hours(case, at(2026, 3, 20), CAL) is None
    case.closed_at = at(2026, 3, 16, 14, 30)  # closed late (超期结案): stays overdue by 1.5 h
    assert overdue(case, at(2026, 3, 20)) and overdue_hours(case, at(2026, 3, 20), CAL) == 1.5
    assert not overdue(Case(deadline_at=None, closed_at=None), at(2026, 3, 20))


# ---- alarms --------------------------------------------------------------------------------------------


def alarm(session: Session, county: str | None, rule: str = "ecology/aqi-high", kind: str = "threshold",
          opened: datetime | None = None) -> Alarm:
    opened = opened or at(2026, 3, 13, 15)
    a = Alarm(rule=rule, kind=kind, theme=rule.split("/")[0], source=f"dev-{county}", source_name=None,
              county_adcode=county, severity=3, state="active", title_zh="AQI 超过 200", title_en="AQI above 200",
              value=210.0, opened_at=opened, last_at=opened)
    session.add(a)
    session.flush()
    return a


def test_an_alarm_opens_one_case_however_often(engine: Engine) -> None:
    now = at(2026, 3, 13, 16)
    with Session(engine) as s, s.begin():
        a = alarm(s, "441202")
        c1 = open_case_for_alarm(s, a, now, CAL, LIMITS, owner="市生态环境局")
        c2 = open_case_for_alarm(s, a, now + timedelta(hours=1), CAL, LIMITS, owner="市生态环境局")
        assert c1 is c2 and a.case_id == c1.id == f"AL-{a.id}"
        alarm_id, cid = a.id, c1.id
    with Session(engine) as s, s.begin():
        a2 = s.get(Alarm, alarm_id)
        assert a2 is not None and a2.case_id == cid
        again = open_case_for_alarm(s, a2, now + timedelta(days=1), CAL, LIMITS)
        assert again.id == cid
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1
        detail = cq.case_with_steps(s, cid)
        assert detail is not None
        c = detail.case
        assert (c.origin, c.origin_id, c.step, c.level, c.department) == ("alarm", str(alarm_id), 2, "县",
                                                                          "市生态环境局")
        assert (c.category, c.subcategory, c.title) == ("ecology", "threshold", "AQI 超过 200")
        # Default limit, 24 working hours from Friday 16:00: 1.5 h Friday, 7 h each Monday–Wednesday (22.5 h),
        # then 08:30 + 1.5 h Thursday 19 March: 10:00.
        assert c.opened_at == now and c.limit_hours == 24 and c.deadline_at == at(2026, 3, 19, 10)
        assert [(st.step, st.at) for st in detail.steps] == [(1, at(2026, 3, 13, 15)), (2, now)]
        assert detail.steps[0].actor == "ecology/aqi-high" and detail.steps[1].actor == "自动立案"


def test_an_alarm_case_s_level_and_department(engine: Engine) -> None:
    limits = CaseLimits(schema_version=2, default={"working_hours": 8, "department": "市城管执法局"},
                        subcategories={
                            "ecology/aqi-high": {"working_hours": 2, "department": "市生态环境局", "level": "镇"},
                            "fog": {"working_hours": 1, "level": "市"}})
    now = at(2026, 3, 16, 9)
    with Session(engine) as s, s.begin():
        no_county = open_case_for_alarm(s, alarm(s, None), now, CAL, limits)
        by_rule = open_case_for_alarm(s, alarm(s, "441202"), now, CAL, limits, owner="市生态环境局")
        given = open_case_for_alarm(s, alarm(s, "441203"), now, CAL, limits, "市应急管理局", owner="x")
        by_kind = open_case_for_alarm(s, alarm(s, "441204", "transport/fog-1", "fog"), now, CAL, limits,
                                      owner="市交通运输局")
        default = open_case_for_alarm(s, alarm(s, "441223", "social/x", "absence"), now, CAL, limits)
        got = [(c.level, c.department, c.limit_hours) for c in (no_county, by_rule, given, by_kind, default)]
    assert got == [
        ("市", "市生态环境局", 2),  # no county: the city handles it, whatever the entry says
        ("镇", "市生态环境局", 2),  # the rule's entry
        ("镇", "市应急管理局", 2),  # a department given by the caller wins
        ("市", "市交通运输局", 1),  # the kind's entry names no department: the theme's owner
        ("县", "市城管执法局", 8),  # nothing listed, no owner: the default's
    ]


# ---- grid events ---------------------------------------------------------------------------------------


def event(id_: str, step: int, ts: datetime, county: str | None = "441202", sub: str = "暴露垃圾",
          reported: datetime | None = None, category: str = "市容环境") -> dict[str, Any]:
    return {"id": id_, "county_adcode": county, "declared_adcode": county or "441200", "grid_code": None,
            "kind": "事件", "category": category, "subcategory": sub, "description": "垃圾堆在路边",
            "lon": 112.47, "lat": 23.05, "step": step, "reported_at": reported or ts, "updated_at": ts,
            "closed_at": ts if step >= 6 else None}


def ingest(engine: Engine, events: list[tuple[dict[str, Any], str | None]]) -> SyncResult:
    """An ingest batch committed, then its events synced to cases in a transaction of their own."""
    batch = Batch()
    for ev, actor in events:
        batch.add_event(ev)
        batch.add_event_step({"event_id": ev["id"], "step": ev["step"], "ts": ev["updated_at"], "actor": actor,
                              "note": None})
    with Session(engine) as s, s.begin():
        write_batch(s, batch)
    with Session(engine) as s, s.begin():
        return sync_cases_from_grid_events(s, batch.events.values(), CAL, LIMITS)


def steps_of(engine: Engine, case_id: str) -> list[tuple[int, datetime, str | None]]:
    with Session(engine) as s:
        detail = cq.case_with_steps(s, case_id)
        assert detail is not None
        return [(st.step, st.at, st.actor) for st in detail.steps]


def test_grid_events_become_cases_that_follow_their_steps(engine: Engine) -> None:
    t0 = at(2026, 3, 13, 16)  # Friday
    first = [(event("E0001", 1, t0), "网格员"), (event("E0002", 1, t0, county=None, sub="交通信号灯故障"), None),
             (event("E0003", 1, t0, sub="绿地脏乱"), "网格员")]
    assert ingest(engine, first) == SyncResult(3, 0, 0)
    assert ingest(engine, first) == SyncResult(0, 0, 0)  # the same batch replayed
    with Session(engine) as s:
        cases = {c.origin_id: c for c in cq.open_cases(s)}
        assert set(cases) == {"E0001", "E0002", "E0003"}
        c1 = cases["E0001"]
        assert (c1.id, c1.step, c1.level, c1.department, c1.limit_hours) == ("GE-E0001", 1, "县", "市城管执法局", 4)
        assert c1.title == "暴露垃圾：垃圾堆在路边" and c1.opened_at == t0 and c1.deadline_at == at(2026, 3, 16, 11)
        assert (cases["E0002"].level, cases["E0002"].department) == ("市", "市公安局交警支队")  # no county
        assert cases["E0003"].level == "镇"  # the entry's level
    assert steps_of(engine, "GE-E0001") == [(1, t0, "网格员")]

    # Filed and dispatched in one batch (two messages), then handled; replayed twice.
    t1, t2, t3 = t0 + timedelta(minutes=10), t0 + timedelta(minutes=20), at(2026, 3, 16, 9)
    second = [(event("E0001", 2, t1, reported=t0), "受理员"), (event("E0001", 3, t2, reported=t0), "派遣员")]
    assert ingest(engine, second) == SyncResult(0, 1, 0)
    assert ingest(engine, second) == SyncResult(0, 0, 0)
    third = [(event("E0001", 4, t3, reported=t0), "专业部门")]
    assert ingest(engine, third) == SyncResult(0, 1, 0)
    assert ingest(engine, third + second) == SyncResult(0, 0, 0)  # late messages move nothing back
    assert steps_of(engine, "GE-E0001") == [(1, t0, "网格员"), (2, t1, "受理员"), (3, t2, "派遣员"),
                                            (4, t3, "专业部门")]

    # Overdue by Monday 11:00 (4 working hours from Friday 16:00).
    with Session(engine) as s:
        assert [c.id for c in cq.overdue_open_cases(s, at(2026, 3, 16, 10, 59))] == []
        late = cq.overdue_open_cases(s, at(2026, 3, 16, 11, 1))
        assert [c.id for c in late] == ["GE-E0001", "GE-E0002"]  # 交通信号灯故障 is 4 h too; 绿地脏乱 8 h
        counts = cq.case_counts(s)
        assert counts.total == 3 and counts.by_level == {"市": 1, "县": 1, "镇": 1}
        assert counts.by_step == {1: 2, 4: 1}
        assert cq.case_counts(s, county="441202").total == 2
        assert [c.id for c in cq.open_cases(s, county="441202")] == ["GE-E0001", "GE-E0003"]

    # Verified and closed (核查结案) on Monday 14:30: closed late, overdue by 1 h (11:00–12:00) + 0.5 h.
    t6 = at(2026, 3, 16, 14, 30)
    assert ingest(engine, [(event("E0001", 6, t6, reported=t0), "核查员")]) == SyncResult(0, 1, 1)
    assert ingest(engine, [(event("E0001", 6, t6, reported=t0), "核查员")]) == SyncResult(0, 0, 0)
    with Session(engine) as s:
        case = s.get(Case, "GE-E0001")
        assert case is not None and case.step == 6 and case.closed_at == t6
        assert overdue(case, at(2026, 3, 20)) and overdue_hours(case, at(2026, 3, 20), CAL) == 1.5
        assert [c.id for c in cq.open_cases(s)] == ["GE-E0002", "GE-E0003"]
        assert s.scalar(select(func.count()).select_from(CaseStep)) == 5 + 1 + 1
        assert s.scalar(select(func.count()).select_from(Case)) == 3


def test_a_grid_event_first_seen_closed_and_a_reclassified_one(engine: Engine) -> None:
    t0 = at(2026, 2, 10, 10)
    # First seen at step 6: opened at its report, closed, step 1 and step 6 recorded.
    assert ingest(engine, [(event("E0100", 6, t0 + timedelta(hours=2), reported=t0), "核查员")]) == \
        SyncResult(1, 0, 1)
    assert steps_of(engine, "GE-E0100") == [(1, t0, None), (6, t0 + timedelta(hours=2), "核查员")]
    # Reported as 暴露垃圾, corrected at filing to 违法搭建: 15 working days across 春节, to 9 March 10:00.
    ingest(engine, [(event("E0101", 1, t0), "网格员")])
    ingest(engine, [(event("E0101", 2, t0 + timedelta(minutes=5), reported=t0, sub="违法搭建",
                           category="施工管理"), "受理员")])
    with Session(engine) as s:
        case = s.get(Case, "GE-E0101")
        assert case is not None
        assert (case.subcategory, case.category, case.limit_hours) == ("违法搭建", "施工管理", 105)
        assert case.deadline_at == at(2026, 3, 9, 10) and case.title.startswith("违法搭建")


def test_the_console_moves_a_case_forward_only(engine: Engine) -> None:
    now = at(2026, 3, 16, 9)
    with Session(engine) as s, s.begin():
        case = open_case_for_alarm(s, alarm(s, "441202"), now, CAL, LIMITS)
        cid = case.id
    with Session(engine) as s, s.begin():
        assert advance_case(s, cid, 3, "派遣员", "派往市生态环境局", now + timedelta(hours=1)).step == 3
        with pytest.raises(ValueError, match="forward"):
            advance_case(s, cid, 3, "派遣员", None, now)
        with pytest.raises(ValueError, match="forward"):
            advance_case(s, cid, 2, "派遣员", None, now)
        with pytest.raises(ValueError, match="1–7"):
            advance_case(s, cid, 8, "x", None, now)
        with pytest.raises(LookupError):
            advance_case(s, "AL-nope", 3, "x", None, now)
    with Session(engine) as s, s.begin():
        closed = advance_case(s, cid, 6, "核查员", "已处置", now + timedelta(hours=3))
        assert closed.closed_at == now + timedelta(hours=3)
        advance_case(s, cid, 7, "评价系统", None, now + timedelta(days=1))
    with Session(engine) as s:
        detail = cq.case_with_steps(s, cid)
        assert detail is not None and detail.case.step == 7
        assert detail.case.closed_at == now + timedelta(hours=3)  # evaluation does not move the closing
        assert [(st.step, st.note) for st in detail.steps] == [
            (1, "AQI 超过 200"), (2, None), (3, "派往市生态环境局"), (6, "已处置"), (7, None)]
        assert cq.case_with_steps(s, "nope") is None
        assert cq.case_counts(s).total == 0 and cq.case_counts(s, open_only=False).by_step == {7: 1}
