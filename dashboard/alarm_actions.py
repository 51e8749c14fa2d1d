"""Acknowledge, clear, silence and open a case, as one checked and audited action shared by the console page and
the API: the user is checked at the server, and every attempt, refused or not, is in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from alerts import lifecycle
from alerts.cases import advance_case
from dashboard import auth
from dashboard.context import AppContext
from store import admin_queries as adq
from store.models import Alarm, Case

ACTIONS = ("ack", "clear", "case")


@dataclass(frozen=True)
class Done:
    """What an action did: the alarm after it, or why it was refused (with an HTTP status)."""

    alarm: dict[str, Any] | None
    error: str | None = None
    status: int = 200


def alarm_dict(a: Alarm) -> dict[str, Any]:
    """An alarm as the API and the console give it."""
    return {"id": a.id, "rule": a.rule, "kind": a.kind, "theme": a.theme, "source": a.source,
            "source_name": a.source_name, "county": a.county_adcode, "severity": a.severity, "state": a.state,
            "title_zh": a.title_zh, "title_en": a.title_en, "value": a.value, "opened_at": a.opened_at.isoformat(),
            "last_at": a.last_at.isoformat(), "count": a.count,
            "acked_at": a.acked_at.isoformat() if a.acked_at else None, "acked_by": a.acked_by,
            "cleared_at": a.cleared_at.isoformat() if a.cleared_at else None, "cleared_by": a.cleared_by,
            "escalations": a.escalations, "silenced": a.silenced, "case_id": a.case_id}


def act(ctx: AppContext, user: dict[str, Any], alarm_id: int, action: str) -> Done:
    """Do one action on an alarm for a signed-in user, if their role allows it; audited either way."""
    now = ctx.now()
    with Session(ctx.engine) as s, s.begin():
        alarm = s.get(Alarm, alarm_id)
        if alarm is None:
            return Done(None, f"no alarm {alarm_id}", 404)
        target = f"alarm:{alarm_id}"
        if action not in ACTIONS:
            return Done(None, f"unknown action {action!r}", 400)
        if not auth.handles(user, alarm.theme, alarm.county_adcode):
            adq.audit(s, now, user["username"], action, target,
                      f"not this user's alarm ({alarm.theme}, {alarm.county_adcode or 'city'})", allowed=False)
            if not auth.may_see(user, alarm.county_adcode):
                return Done(None, f"无权访问: alarm {alarm_id} is outside {user['username']}'s counties", 403)
            return Done(None, f"{user['username']} may not handle alarms of {alarm.theme}", 403)
        try:
            if action == "ack":
                lifecycle.acknowledge(s, alarm_id, user["username"], now)
            elif action == "clear":
                lifecycle.clear(s, alarm_id, user["username"], now)
            else:
                if ctx.open_case is None:
                    return Done(None, "cases are not available", 503)
                ctx.open_case(s, alarm, now)
        except lifecycle.AlarmError as e:
            adq.audit(s, now, user["username"], action, target, str(e), allowed=False)
            return Done(None, str(e), 409)
        adq.audit(s, now, user["username"], action, target, alarm.title_zh)
        out = alarm_dict(alarm)
        key = (alarm.rule, alarm.source, alarm.id)
    if action == "clear" and ctx.alerts is not None:
        ctx.alerts.forget(*key)
    return Done(out)


def silence(ctx: AppContext, user: dict[str, Any], minutes: float, rule: str | None, source: str | None,
            county: str | None, reason: str | None) -> Done:
    """Silence alarms for a while (admins and leaders; an owner only their themes' rules); audited."""
    now = ctx.now()
    with Session(ctx.engine) as s, s.begin():
        theme = rule.split("/", 1)[0] if rule else None
        allowed = user["role"] in ("admin", "leader") or (user["role"] == "owner" and theme in user.get("themes", []))
        target = f"silence:{rule or '*'}:{source or '*'}:{county or '*'}"
        if not allowed:
            adq.audit(s, now, user["username"], "silence", target, "not allowed", allowed=False)
            return Done(None, f"{user['username']} may not silence {rule or 'every rule'}", 403)
        if not auth.may_see(user, county):  # a county user silences within their county, and names it
            adq.audit(s, now, user["username"], "silence", target, "outside the user's counties", allowed=False)
            return Done(None, f"无权访问: {user['username']} silences only in "
                              f"{', '.join(sorted(auth.county_scope(user) or []))} (name the county)", 403)
        try:
            row = lifecycle.silence(s, user["username"], now, minutes, rule, source, county, reason)
        except lifecycle.AlarmError as e:
            return Done(None, str(e), 400)
        adq.audit(s, now, user["username"], "silence", target, f"{minutes:g} min: {reason or ''}")
        s.flush()
        return Done({"silence": row.id, "ends_at": row.ends_at.isoformat()})


def advance(ctx: AppContext, user: dict[str, Any], case_id: str, step: int, note: str | None) -> Done:
    """Move a case opened from an alarm to a later step of the workflow; audited either way.

    A grid event's case follows the city's 数字城管 system, which moves it: it cannot be moved here.
    """
    now = ctx.now()
    with Session(ctx.engine) as s, s.begin():
        case = s.get(Case, case_id)
        target = f"case:{case_id}"
        if case is None:
            return Done(None, f"no case {case_id}", 404)
        theme = None
        if case.origin == "alarm":
            alarm = s.get(Alarm, int(case.origin_id))
            theme = alarm.theme if alarm else None
        if not auth.may_see(user, case.county_adcode):
            adq.audit(s, now, user["username"], "advance", target, "outside the user's counties", allowed=False)
            return Done(None, f"无权访问: case {case_id} is outside {user['username']}'s counties", 403)
        if not auth.can_handle_alarm(user["role"], user.get("themes", []), theme) or case.origin != "alarm":
            why = ("follows the city's 数字城管 system" if case.origin != "alarm"
                   else f"not this user's case ({theme})")
            adq.audit(s, now, user["username"], "advance", target, why, allowed=False)
            return Done(None, f"{user['username']} may not move case {case_id}: {why}",
                        409 if case.origin != "alarm" else 403)
        try:
            advance_case(s, case_id, step, user["username"], note, now)
        except ValueError as e:
            adq.audit(s, now, user["username"], "advance", target, str(e), allowed=False)
            return Done(None, str(e), 409)
        adq.audit(s, now, user["username"], "advance", target, f"step {step}: {note or ''}")
        return Done({"case": case_id, "step": case.step, "closed_at": case.closed_at.isoformat()
                     if case.closed_at else None})
