"""The alarm console (/alarms): open alarms grouped by source, acknowledge, clear, silence, open a case; the
recent deliveries of notifications. Every action is checked and audited at the server (dashboard/alarm_actions.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dash import ALL, Dash, Input, Output, State, callback_context, dcc, html, no_update
from flask import session
from sqlalchemy.orm import Session

from dashboard import alarm_actions, auth
from dashboard.connection import beat, beat_id, beat_store
from dashboard.context import AppContext
from dashboard.pages.common import header, query
from store import alarm_queries as alq
from store import delivery_queries as dq
from store import scope_queries as sq
from store.models import Alarm
from words import Words, pick

PATH = "/alarms"
TABLE, TICK, ACT, RESULT, SILENCE_MIN, DELIVERIES = ("alarm-table", "alarm-tick", "alarm-act", "alarm-result",
                                                      "alarm-silence-min", "alarm-deliveries")
SEVERITY_CLASS = {1: "sev-blue", 2: "sev-yellow", 3: "sev-orange", 4: "sev-red"}

tx = Words("pages.alarms")  # this module's words in the catalog (words/locale)
SEVERITY = Words("alerts")  # severity_1 … severity_4, the warning colours


def _user() -> dict[str, Any] | None:
    return session.get("user")


def grouped(alarms: list[Alarm]) -> list[tuple[str, list[Alarm]]]:
    """Alarms grouped by source (one device may break several rules), the group with the worst first."""
    groups: dict[str, list[Alarm]] = defaultdict(list)
    for a in alarms:
        groups[a.source].append(a)
    return sorted(groups.items(), key=lambda g: (-max(a.severity for a in g[1]), -max(a.opened_at.timestamp()
                                                                                    for a in g[1])))


def alarm_row(ctx: AppContext, a: Alarm, lang: str, may: bool) -> html.Tr:
    """One alarm: severity, what, where, since when, state, and the actions its user may take."""
    tz = ctx.now().tzinfo
    state = tx("acked", lang) + f" · {a.acked_by}" if a.acked_at else tx("active", lang)
    if a.silenced:
        state += " · " + tx("silenced", lang)
    if a.escalations:
        state += " · " + tx("escalated", lang, n=a.escalations)
    buttons = []
    if may:
        if a.acked_at is None:
            buttons.append(html.Button(tx("ack", lang), id={"type": ACT, "id": a.id, "act": "ack"}, n_clicks=0,
                                       className="al-btn al-ack"))
        buttons.append(html.Button(tx("clear", lang), id={"type": ACT, "id": a.id, "act": "clear"}, n_clicks=0,
                                   className="al-btn"))
        if a.case_id is None:
            buttons.append(html.Button(tx("case", lang), id={"type": ACT, "id": a.id, "act": "case"}, n_clicks=0,
                                       className="al-btn"))
        buttons.append(html.Button(tx("silence", lang), id={"type": ACT, "id": a.id, "act": "silence"}, n_clicks=0,
                                   className="al-btn"))
    case = dcc.Link(a.case_id, href=f"/case/{a.case_id}") if a.case_id else ""
    return html.Tr(className=f"al-row {SEVERITY_CLASS[a.severity]}" + (" acked" if a.acked_at else ""),
                   id=f"alarm-{a.id}", children=[
        html.Td(SEVERITY(f"severity_{a.severity}", lang), className="al-sev"),
        html.Td(pick(a.title_zh, a.title_en, lang), className="al-title"),
        html.Td(ctx.county_name(a.county_adcode, lang) if a.county_adcode else "—"),
        html.Td(f"{a.opened_at.astimezone(tz):%m-%d %H:%M:%S}"),
        html.Td(tx("readings", lang, n=a.count)),
        html.Td(state, className="al-state"),
        html.Td(case),
        html.Td(buttons, className="al-actions"),
    ])


def table(ctx: AppContext, user: dict[str, Any], lang: str) -> Any:
    """The open alarms this user may see, grouped by source."""
    with Session(ctx.engine) as s:
        alarms = [a for a in alq.open_alarms(s) if auth.handles(user, a.theme, a.county_adcode)]
        if not alarms:
            return html.Div(tx("none", lang), className="empty", id="alarm-none")
        body = []
        for source, group in grouped(alarms):
            name = group[0].source_name or source
            body.append(html.Tr(html.Td(f"{name} · {len(group)}", colSpan=8, className="al-group")))
            body += [alarm_row(ctx, a, lang, True) for a in group]
    return html.Table(html.Tbody(body), className="al-table", id="alarm-table-rows")


def deliveries(ctx: AppContext, user: dict[str, Any] | None = None) -> Any:
    """The latest notifications and how they went (a county user: those of their counties' alarms)."""
    visible = auth.county_scope(user)
    with Session(ctx.engine) as s:
        rows = dq.recent_deliveries(s, 20 if visible is None else 200)
        if visible is not None:
            where = sq.alarm_counties(s, (d.alarm_id for d in rows if d.alarm_id is not None))
            rows = [d for d in rows if d.alarm_id is not None and where.get(d.alarm_id) in visible][:20]
        tz = ctx.now().tzinfo
        head = html.Thead(html.Tr([html.Th(tx.pair(h)) for h in ("at", "event", "hook", "status", "tries", "result")]))
        return html.Table([head, html.Tbody([html.Tr([
            html.Td(f"{d.created_at.astimezone(tz):%m-%d %H:%M:%S}"), html.Td(d.event), html.Td(d.target),
            html.Td(d.status, className=f"dl-{d.status}"), html.Td(str(d.attempts)),
            html.Td(d.last_error or (str(d.last_code) if d.last_code else ""))]) for d in rows])],
            className="al-table al-deliveries")


def layout(ctx: AppContext, lang: str) -> html.Div:
    """The console for a signed-in user; a link to sign in otherwise."""
    user = _user()
    if user is None or user["role"] == "wall":
        body: Any = html.Div(className="panel", children=[
            html.H2(tx("sign_in", lang)), dcc.Link("/admin/login", href=f"/admin/login?next={PATH}")])
    else:
        body = html.Div(className="alarm-console", children=[
            html.Div(className="panel al-open", children=[
                html.Header(className="panel-head", children=[
                    html.H2(tx("title", lang)), html.Span(f"{user['username']} · {user['role']}", id="alarm-who"),
                    html.Label([tx("minutes", lang), dcc.Input(id=SILENCE_MIN, type="number", value=60, min=1,
                                                               max=10080, className="al-min")])]),
                html.Div(id=RESULT, className="admin-result"),
                html.Div(table(ctx, user, lang), id=TABLE)]),
            html.Div(className="panel al-notes", children=[
                html.Header(html.H2(tx("deliveries", lang)), className="panel-head"),
                html.Div(deliveries(ctx, user), id=DELIVERIES)]),
            dcc.Interval(id=TICK, interval=int(ctx.settings.tick_seconds * 1000)),
            beat_store("alarms"),
        ])
    return html.Div(className="wall admin", children=[header(ctx, PATH, lang, None), body])


def register(app: Dash, ctx: AppContext) -> None:
    """The console's refresh and its actions (checked and audited at the server)."""

    @app.callback(Output(TABLE, "children"), Output(DELIVERIES, "children"), Output(beat_id("alarms"), "data"),
                  Input(TICK, "n_intervals"), State("url", "search"), prevent_initial_call=True)
    def refresh(_n: int, search: str | None) -> tuple[Any, Any, Any]:
        user = _user()
        if user is None or user["role"] == "wall":
            return no_update, no_update, beat(ctx)
        lang = "en" if query(search).get("lang") == "en" else "zh"
        return table(ctx, user, lang), deliveries(ctx, user), beat(ctx)

    @app.callback(Output(RESULT, "children"), Output(TABLE, "children", allow_duplicate=True),
                  Input({"type": ACT, "id": ALL, "act": ALL}, "n_clicks"), State(SILENCE_MIN, "value"),
                  State("url", "search"), prevent_initial_call=True)
    def action(clicks: list[int], minutes: float | None, search: str | None) -> tuple[Any, Any]:
        trigger = callback_context.triggered_id
        user = _user()
        if user is None or not isinstance(trigger, dict) or not callback_context.triggered[0].get("value"):
            return no_update, no_update
        lang = "en" if query(search).get("lang") == "en" else "zh"
        if trigger["act"] == "silence":
            with Session(ctx.engine) as s:
                alarm = s.get(Alarm, int(trigger["id"]))
                rule, source = (alarm.rule, alarm.source) if alarm else (None, None)
            done = alarm_actions.silence(ctx, user, float(minutes or 60), rule, source, None, "console")
        else:
            done = alarm_actions.act(ctx, user, int(trigger["id"]), trigger["act"])
        msg = html.Div(done.error, className="problem") if done.error else \
            html.Div(f"{trigger['act']} #{trigger['id']} ✓", className="saved", id="alarm-done")
        return msg, table(ctx, user, lang)
