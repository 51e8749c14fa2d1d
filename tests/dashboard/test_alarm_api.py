"""The alarm API against the real app (Flask test client, SQLite): alarms raised by the theme files' rules from
real messages, acknowledged and cleared by the people allowed to, with CSRF, every attempt audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from clock import FakeClock, process_clock
from dashboard.auth import hash_password
from settings import CITY_TZ
from store import admin_queries as aq
from store import alarm_queries as alq
from tests.dashboard.test_admin import sign_in
from tests.dashboard.apps import app_with_themes
from tests.feeds.samples import event, ingest, iso, road

NOW = process_clock().now().replace(microsecond=0)


@pytest.fixture
def app(tmp_path: Path) -> Any:
    app = app_with_themes(tmp_path)
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s, s.begin():
        now = process_clock().now(CITY_TZ)
        aq.add_user(s, "eco_owner", hash_password("绿水青山-2021"), "owner", ["ecology"], now)
        aq.add_user(s, "social_owner", hash_password("平安肇庆-2021"), "owner", ["social"], now)
        aq.add_user(s, "screen", hash_password("screen-token-2021"), "wall", [], now)
    return app


def fog(app: Any, visibility: float, minutes: float = 0, serial: int = 7, name: str = "高要7号站") -> None:
    """A road-weather message through the real decoder, judged by the social theme's fog rule."""
    ctx = app.server.config["ZQ_CONTEXT"]
    body = road("441204", serial, ts=iso(NOW + timedelta(minutes=minutes)), visibility_m=visibility, name=name)
    ctx.alerts.on_batch(ingest(ctx.engine, [(f"zq/441204/road_weather/{body['device_id']}", body)]))


def open_alarms(app: Any) -> list[Any]:
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s:
        return alq.open_alarms(s)


def test_a_red_fog_alarm_is_acknowledged_only_by_those_allowed(app: Any) -> None:
    fog(app, 30)
    [alarm] = open_alarms(app)
    assert (alarm.rule, alarm.severity, alarm.state) == ("social/fog", 4, "active")
    assert alarm.title_zh == "高速团雾：高要7号站 能见度 30 米 大雾红色预警信号"

    eco, eco_csrf = sign_in(app, "eco_owner", "绿水青山-2021")
    assert eco.get("/admin/api/alarms").json["alarms"] == []  # not their theme's alarm: not even listed
    r = eco.post(f"/admin/api/alarms/{alarm.id}/ack", headers={"X-CSRF-Token": eco_csrf})
    assert r.status_code == 403
    social, csrf = sign_in(app, "social_owner", "平安肇庆-2021")
    assert social.post(f"/admin/api/alarms/{alarm.id}/ack").status_code == 400  # no CSRF token
    assert [a["id"] for a in social.get("/admin/api/alarms").json["alarms"]] == [alarm.id]
    r = social.post(f"/admin/api/alarms/{alarm.id}/ack", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json["alarm"]["state"] == "acknowledged"
    assert r.json["alarm"]["acked_by"] == "social_owner"
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s:
        assert alq.critical_unacknowledged(s) == []  # the wall lets go
        audit = [(e.username, e.action, e.allowed) for e in aq.audit_entries(s, targets=[f"alarm:{alarm.id}"])]
    assert audit == [("social_owner", "ack", True), ("eco_owner", "ack", False)]

    fog(app, 900, minutes=5)  # the fog lifts: cleared by itself
    assert open_alarms(app) == []
    r = social.post(f"/admin/api/alarms/{alarm.id}/ack", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 409 and "cleared already" in r.json["error"]


def test_the_banner_shows_the_red_alarm_raised_last_first_and_names_the_others(app: Any) -> None:
    from dashboard.pages.wall import takeover
    from tests.components import texts

    ctx = app.server.config["ZQ_CONTEXT"]
    fog(app, 30, serial=7, name="高要7号站")
    # Raised after it, from a reading buffered half an hour: the room has not seen this one yet.
    fog(app, 20, minutes=-30, serial=8, name="高要8号站")
    with Session(ctx.engine) as s:
        queued = alq.critical_unacknowledged(s)
        from_tick, cls = takeover(ctx, s, "zh", "", alq.open_alarms(s, limit=None))
        from_page, _ = takeover(ctx, s, "zh", "")
    assert [a.source_name for a in queued] == ["高要8号站", "高要7号站"]
    assert cls == "takeover" and texts(from_tick) == texts(from_page)  # the tick and a reload agree
    words = texts(from_tick)
    assert "高要8号站" in words[1] and "2 条未确认" in words[2] and words[3].startswith("另有：")
    assert "高要7号站" in words[3]

    social, csrf = sign_in(app, "social_owner", "平安肇庆-2021")
    assert social.post(f"/admin/api/alarms/{queued[0].id}/ack", headers={"X-CSRF-Token": csrf}).status_code == 200
    with Session(ctx.engine) as s:
        words = texts(takeover(ctx, s, "zh", "")[0])
    assert "高要7号站" in words[1] and "1 条未确认" in words[2] and len(words) == 3  # nothing else waits


def test_the_banner_names_two_others_and_counts_the_rest(app: Any) -> None:
    from dashboard.pages.wall import takeover
    from tests.components import texts

    ctx = app.server.config["ZQ_CONTEXT"]
    for serial in (11, 12, 13, 14):
        fog(app, 30, serial=serial, name=f"测试{serial}号站")
    with Session(ctx.engine) as s:
        zh, en = texts(takeover(ctx, s, "zh", "")[0]), texts(takeover(ctx, s, "en", "")[0])
    assert "测试14号站" in zh[1] and "4 条未确认" in zh[2]
    assert zh[3].startswith("另有：") and zh[3].endswith("，还有 1 条")
    assert "测试13号站" in zh[3].split("；")[0] and "测试12号站" in zh[3].split("；")[1] and "测试11号站" not in zh[3]
    assert en[3].startswith("Also: ") and en[3].endswith("; and 1 more") and "4 unacknowledged" in en[2]


def test_a_wall_screen_reads_no_alarm_api_and_a_silence_needs_a_target(app: Any) -> None:
    wall, _ = sign_in(app, "screen", "screen-token-2021")
    assert wall.get("/admin/api/alarms").status_code == 403
    social, csrf = sign_in(app, "social_owner", "平安肇庆-2021")
    r = social.post("/admin/api/silences", json={"minutes": 30}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403  # an owner silences their own theme's rules only, and names one
    r = social.post("/admin/api/silences", json={"minutes": 30, "rule": "social/fog", "reason": "演练"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    fog(app, 30)
    [alarm] = open_alarms(app)
    assert alarm.silenced  # recorded, but it neither notifies nor takes the wall
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s:
        assert alq.critical_unacknowledged(s) == []


def test_clearing_by_hand_while_the_fog_persists_raises_anew(app: Any) -> None:
    fog(app, 30)
    [first] = open_alarms(app)
    social, csrf = sign_in(app, "social_owner", "平安肇庆-2021")
    r = social.post(f"/admin/api/alarms/{first.id}/clear", headers={"X-CSRF-Token": csrf})
    assert r.json["alarm"]["cleared_by"] == "social_owner"
    fog(app, 28, minutes=1)
    [second] = open_alarms(app)
    assert second.id != first.id and second.count == 1


def test_an_alarm_becomes_a_case_with_a_working_hours_deadline_and_its_page(app: Any) -> None:
    from dashboard.pages import case as case_page
    from tests.components import texts

    fog(app, 30)
    [alarm] = open_alarms(app)
    social, csrf = sign_in(app, "social_owner", "平安肇庆-2021")
    r = social.post(f"/admin/api/alarms/{alarm.id}/case", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json["alarm"]["case_id"] == f"AL-{alarm.id}"
    again = social.post(f"/admin/api/alarms/{alarm.id}/case", headers={"X-CSRF-Token": csrf})
    assert again.json["alarm"]["case_id"] == f"AL-{alarm.id}"  # one case per alarm
    ctx = app.server.config["ZQ_CONTEXT"]
    words = " ".join(texts(case_page.layout(ctx, f"AL-{alarm.id}", "zh")))
    assert "市委政法委" in words and "工作小时" in words and "2 案卷建立" in words  # the social theme's owner
    assert "1 信息收集" in words


def test_a_case_from_an_alarm_moves_forward_to_closing_and_only_forward(app: Any) -> None:
    fog(app, 30)
    [alarm] = open_alarms(app)
    social, csrf = sign_in(app, "social_owner", "平安肇庆-2021")
    cid = social.post(f"/admin/api/alarms/{alarm.id}/case", headers={"X-CSRF-Token": csrf}).json["alarm"]["case_id"]
    h = {"X-CSRF-Token": csrf}
    r = social.post(f"/admin/api/cases/{cid}/advance", json={"step": 3, "note": "派遣高速交警"}, headers=h)
    assert r.status_code == 200 and r.json == {"case": cid, "step": 3, "closed_at": None}
    assert social.post(f"/admin/api/cases/{cid}/advance", json={"step": 2}, headers=h).status_code == 409
    eco, eco_csrf = sign_in(app, "eco_owner", "绿水青山-2021")
    assert eco.post(f"/admin/api/cases/{cid}/advance", json={"step": 4},
                    headers={"X-CSRF-Token": eco_csrf}).status_code == 403
    r = social.post(f"/admin/api/cases/{cid}/advance", json={"step": 6, "note": "雾散，核查结案"}, headers=h)
    assert r.json["step"] == 6 and r.json["closed_at"] is not None
    body = event("441202", 3, step=2, ts=iso(NOW))
    ctx = app.server.config["ZQ_CONTEXT"]
    ctx.alerts.on_batch(ingest(ctx.engine, [(f"zq/441202/grid_event/{body['event_id']}", body)]))
    r = social.post(f"/admin/api/cases/GE-{body['event_id']}/advance", json={"step": 3}, headers=h)
    assert r.status_code == 409 and "数字城管" in r.json["error"]  # the city's system moves those


def test_health_reports_open_alarms(app: Any) -> None:
    fog(app, 30)
    body = app.server.test_client().get("/healthz").json
    assert body["alarms"]["open"] == 1 and body["alarms"]["red_unacknowledged"] == 1
    assert set(body["alarms"]["deliveries"]) == {"pending", "sent", "failed"}


@pytest.mark.parametrize(("moment", "missing"), [
    (datetime(2026, 6, 1, 10, 0, tzinfo=CITY_TZ), []),  # a year whose State Council notice is in the calendar
    (datetime(2026, 12, 30, 16, 0, tzinfo=CITY_TZ), [2027]),  # its deadline runs into a year without one
    (datetime(2027, 1, 4, 9, 0, tzinfo=CITY_TZ), [2027]),  # a Monday of a year without its notice
])
def test_a_year_without_its_holiday_notice_gives_deadlines_flagged_unconfirmed(tmp_path: Path, moment: datetime,
                                                                               missing: list[int]) -> None:
    from dashboard.pages import case as case_page
    from tests.components import texts, with_id

    app = app_with_themes(tmp_path, FakeClock(moment))
    ctx = app.server.config["ZQ_CONTEXT"]
    body = road("441204", 7, ts=iso(moment), visibility_m=30, name="高要7号站")
    ctx.alerts.on_batch(ingest(ctx.engine, [(f"zq/441204/road_weather/{body['device_id']}", body)]))
    [alarm] = open_alarms(app)
    with Session(ctx.engine) as s, s.begin():
        case = ctx.open_case(s, s.get(type(alarm), alarm.id), moment)
        case_id, deadline = case.id, case.deadline_at
    assert deadline > moment  # computed all the same: weekends only where the notice is missing
    health = app.server.test_client().get("/healthz").json["calendar"]
    assert health["missing_years"] == missing
    assert health["unconfirmed_open_cases"] == (1 if missing else 0)
    assert (health["warning"] is None) == (not missing)
    page = case_page.layout(ctx, case_id, "zh")
    [cell] = with_id(page, "case-deadline")
    words = " ".join(texts(cell))
    assert words.startswith(deadline.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M"))
    assert ("期限待确认" in words) == bool(missing)
    if missing:
        [flag] = with_id(page, "case-deadline-unconfirmed")
        assert "2027" in flag.title and "周末" in flag.title
