"""What a raised alarm sets going: its theme owner's and its rule's hooks hear of it (and not when silenced), a
rule with `case: true` opens a case, a grid event keeps its case, escalation tells `escalate_to`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alerts.calendar import load_calendar
from alerts.cases import open_case_for_alarm, sync_cases_from_grid_events
from alerts.engine import AlertEngine
from alerts.lifecycle import silence
from alerts.notify import Notifier
from store.models import Alarm, Case, Delivery
from tests.alerts.receiver import Receiver
from tests.alerts.test_rules import RULES, at, reading, theme
from tests.feeds.samples import event, ingest, iso
from topics.cases import case_limits


def build(engine: Engine, rules: str, hooks: dict[str, str], clock: Any = None) -> tuple[AlertEngine, Notifier]:
    th = theme(rules)
    notifier = Notifier(engine, hooks, clock=clock or (lambda: at(0)), backoff_s=(0,))
    calendar, limits = load_calendar(), case_limits()
    e = AlertEngine(engine, RULES, lambda: (th,), notify=notifier.enqueue, hook_known=hooks.__contains__,
                    case_for_alarm=lambda s, a, r: open_case_for_alarm(s, a, a.opened_at, calendar, limits,
                                                                       owner=r.owner),
                    on_events=lambda s, evs: sync_cases_from_grid_events(s, evs, calendar, limits),
                    clock=clock or (lambda: at(0)))
    return e, notifier


def test_raised_and_cleared_alarms_reach_the_owner_and_the_rules_hooks(engine: Engine,
                                                                        receiver: Callable[..., Receiver]) -> None:
    owner, police = receiver([200]), receiver([500, 200])
    e, notifier = build(engine, "- id: fog\n  kind: fog\n  notify: [高速交警]\n",
                        {"市生态环境局": owner.url, "高速交警": police.url})
    [aid] = e.evaluate([reading("road_weather", 0, visibility_m=30)]).raised
    e.evaluate([reading("road_weather", 1, visibility_m=900)])
    for _ in range(3):
        notifier.deliver_due()
    got = [json.loads(r["body"]) for r in owner.requests]
    assert [(g["event"], g["alarm"]["id"], g["alarm"]["severity"]) for g in got] == [("raised", aid, 4),
                                                                                     ("cleared", aid, 4)]
    assert len(police.requests) == 3  # raised failed once (500) and was retried; cleared went through
    with Session(engine) as s:
        rows = s.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(d.target, d.event, d.status, d.attempts) for d in rows] == [
            ("高速交警", "raised", "sent", 2), ("市生态环境局", "raised", "sent", 1),
            ("高速交警", "cleared", "sent", 1), ("市生态环境局", "cleared", "sent", 1)]


def test_a_silenced_alarm_notifies_nobody(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    owner = receiver([200])
    e, notifier = build(engine, "- id: fog\n  kind: fog\n", {"市生态环境局": owner.url})
    with Session(engine) as s, s.begin():
        silence(s, "值班员", at(0) - timedelta(minutes=1), 60, rule="ecology/fog")
    assert len(e.evaluate([reading("road_weather", 0, visibility_m=30)]).raised) == 1
    notifier.deliver_due()
    assert owner.requests == []
    with Session(engine) as s:
        assert s.scalars(select(Delivery)).all() == []


def test_escalation_tells_escalate_to(engine: Engine, receiver: Callable[..., Receiver]) -> None:
    leader = receiver([200])
    e, notifier = build(engine, "- id: fog\n  kind: fog\n  escalate_after_min: 5\n  escalate_to: [值班领导]\n",
                        {"值班领导": leader.url})
    [aid] = e.evaluate([reading("road_weather", 0, visibility_m=30)]).raised
    assert e.tick(at(6)).escalated == [aid]
    notifier.deliver_due()
    assert [json.loads(r["body"])["event"] for r in leader.requests] == ["escalated"]


def test_a_rule_with_case_opens_one_and_grid_events_keep_theirs(engine: Engine) -> None:
    e, _ = build(engine, "- id: water\n  kind: water_level\n  case: true\n", {})
    [aid] = e.evaluate([reading("hydrology", 0, "G1", water_status=1.0, water_level_m=17.3)]).raised
    e.evaluate([reading("hydrology", 1, "G1", water_status=1.0, water_level_m=17.4)])
    with Session(engine) as s:
        alarm = s.get(Alarm, aid)
        [case] = s.scalars(select(Case).where(Case.origin == "alarm")).all()
        assert alarm.case_id == case.id and case.department == "市生态环境局" and case.step == 2
        assert case.deadline_at is not None and case.deadline_at > case.opened_at
    body = event("441202", 9, step=3, ts=iso(at(0)))
    batch = ingest(engine, [(f"zq/441202/grid_event/{body['event_id']}", body)])
    e.on_batch(batch)
    e.on_batch(batch)  # replayed: still one case
    with Session(engine) as s:
        grid = s.scalars(select(Case).where(Case.origin == "grid_event")).all()
        assert [(c.origin_id, c.step) for c in grid] == [(body["event_id"], 3)]
