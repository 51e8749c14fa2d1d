"""A case (/case/<id>): what, where, which step, its time limit and whether it is overdue, its history."""

from __future__ import annotations

from datetime import datetime, timedelta

from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update
from flask import session
from sqlalchemy.orm import Session

from dashboard import alarm_actions, ids, scope
from dashboard.context import AppContext
from dashboard.pages.common import query
from dashboard.pages.detail import facts, not_found, page, section, small_map
from dashboard.status import workflow_steps
from layers import PointRow
from settings import CITY_TZ
from alerts.cases import case_id
from store import case_queries as cq
from store import drill_queries as dq
from topics.cases import case_limits
from words import Words, t

tx = Words("pages.case")  # the case console's words, shown in both languages at once

FACT = Words("fact")  # the detail pages' labels and facts

PATH_PREFIX = "/case/"
ADVANCE_STEP, ADVANCE_NOTE, ADVANCE_GO, ADVANCE_CASE, ADVANCE_RESULT = (
    "case-advance-step", "case-advance-note", "case-advance-go", "case-advance-case", "case-advance-result")


def deadline_cell(ctx: AppContext, start: datetime, deadline: datetime | None, overdue: bool, lang: str,
                  on_calendar: bool = True) -> html.Span:
    """The deadline, marked overdue, and flagged unconfirmed when its clock crosses a year whose public holidays
    are not in the working calendar (it was counted with weekends only)."""
    if deadline is None:
        return html.Span("—", id="case-deadline")
    text = deadline.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M")
    if overdue:
        text += f" · {t('overdue_n', lang, n='')}".rstrip()
    parts: list[Any] = [text]
    cal = ctx.calendar
    if on_calendar and cal is not None and not cal.confirms(start, deadline):
        lo, hi = sorted((start.astimezone(CITY_TZ).year, deadline.astimezone(CITY_TZ).year))
        years = "、".join(str(y) for y in range(lo, hi + 1) if not cal.covers(y))
        parts.append(" · ")
        parts.append(html.Span(t("deadline_unconfirmed", lang), className="unconfirmed",
                               id="case-deadline-unconfirmed", title=t("deadline_unconfirmed_why", lang, years=years)))
    return html.Span(parts, className="late" if overdue else "", id="case-deadline")


def layout(ctx: AppContext, event_id: str, lang: str) -> html.Div:
    """The case page."""
    path = f"{PATH_PREFIX}{event_id}"
    with Session(ctx.engine) as s:
        detail = dq.case_detail(s, event_id)
        sla = cq.case_with_steps(s, case_id("grid_event", event_id)) if detail else cq.case_with_steps(s, event_id)
    if detail is None:
        return alarm_case(ctx, path, lang, sla) if sla is not None else not_found(ctx, path, lang)
    e = detail
    steps = workflow_steps(lang)
    on_calendar = sla is not None and sla.case.deadline_at is not None
    if sla is not None and sla.case.deadline_at is not None:  # the case's deadline, counted in working hours
        hours, deadline = sla.case.limit_hours or 0.0, sla.case.deadline_at
    else:  # an event from before cases were kept: the limit on the clock
        hours = case_limits().hours(e.subcategory)
        deadline = e.reported_at + timedelta(hours=hours)
    end = e.closed_at or ctx.now()
    overdue = end > deadline
    fmt = "%Y-%m-%d %H:%M"
    cells = ctx.grids.get()
    cell_id = cells.locate([e.lon], [e.lat])[0]
    cell = cells.get(cell_id) if cell_id else None
    info = facts([
        (FACT("case_no", lang), e.id), (FACT("class", lang), f"{e.kind} · {e.category}"),
        (FACT("subclass", lang), e.subcategory), (FACT("description", lang), e.description),
        (FACT("county", lang), ctx.county_name(e.county_adcode or e.declared_adcode, lang)),
        (FACT("grid_cell", lang), cell["name"] if cell else e.grid_code),
        (FACT("step", lang), html.Span(f"{e.step} {steps[e.step - 1]}", id="case-step")),
        (FACT("reported", lang), e.reported_at.astimezone(CITY_TZ).strftime(fmt)),
        (FACT("time_limit", lang), FACT("working_hours", lang, h=f"{hours:g}")),
        (FACT("department", lang), f"{sla.case.department} · {sla.case.level}" if sla else None),
        (FACT("deadline", lang), deadline_cell(ctx, e.reported_at, deadline, overdue, lang, on_calendar)),
        (FACT("closed", lang), e.closed_at.astimezone(CITY_TZ).strftime(fmt) if e.closed_at else None),
    ])
    timeline = html.Ol([html.Li(className="step done", children=[
        html.Span(f"{st.step} {steps[st.step - 1]}", className="step-name"),
        html.Span(st.ts.astimezone(CITY_TZ).strftime("%m-%d %H:%M"), className="step-time"),
        html.Span(st.actor or "", className="step-actor"), html.Span(st.note or "", className="step-note"),
    ]) for st in detail.steps], className="case-timeline", id="case-timeline")
    traces = ctx.registries.layers.build("events", [PointRow(e.id, "event", e.lon, e.lat, e.subcategory or e.category)],
                                         [e.step], lang)
    crumbs = {"county": e.county_adcode, "cell": (cell["grid_id"], cell["name"]) if cell else None}
    return page(ctx, path, lang, crumbs, t("case", lang, id=e.subcategory or e.id), [
        html.Section(className="panel map-panel", children=[
            small_map(ctx, e.county_adcode, traces, (e.lon, e.lat, e.lon, e.lat), lang)]),
        html.Div(className="col detail-side", children=[
            section(t("case", lang, id=""), info), section(t("case_steps", lang), timeline)]),
    ], "case-title")


def alarm_case(ctx: AppContext, path: str, lang: str, detail: cq.CaseDetail) -> html.Div:
    """A case opened from an alarm: its department and level, step, deadline in working hours, history."""
    c = detail.case
    steps = workflow_steps(lang)
    fmt = "%Y-%m-%d %H:%M"
    overdue = c.deadline_at is not None and (c.closed_at or ctx.now()) > c.deadline_at
    info = facts([
        (FACT("case_no", lang), c.id), (FACT("from", lang), html.A(
            FACT("from_alarm", lang, id=c.origin_id), href="/alarms")),
        (FACT("subject", lang), c.title),
        (FACT("county", lang), ctx.county_name(c.county_adcode, lang) if c.county_adcode else None),
        (FACT("department", lang), f"{c.department} · {c.level}"),
        (FACT("step", lang), html.Span(f"{c.step} {steps[c.step - 1]}", id="case-step")),
        (FACT("opened", lang), c.opened_at.astimezone(CITY_TZ).strftime(fmt)),
        (FACT("time_limit", lang), FACT("working_hours", lang, h=f"{c.limit_hours or 0:g}")),
        (FACT("deadline", lang), deadline_cell(ctx, c.opened_at, c.deadline_at, overdue, lang)),
        (FACT("closed", lang), c.closed_at.astimezone(CITY_TZ).strftime(fmt) if c.closed_at else None),
    ])
    timeline = html.Ol([html.Li(className="step done", children=[
        html.Span(f"{st.step} {steps[st.step - 1]}", className="step-name"),
        html.Span(st.at.astimezone(CITY_TZ).strftime("%m-%d %H:%M"), className="step-time"),
        html.Span(st.actor or "", className="step-actor"), html.Span(st.note or "", className="step-note"),
    ]) for st in detail.steps], className="case-timeline", id="case-timeline")
    controls: list[Any] = []
    if c.closed_at is None and c.step < len(steps):  # signed-in handlers move it on (checked at the server)
        controls = [html.Div(className="case-advance", children=[
            dcc.Dropdown(id=ADVANCE_STEP, options=[{"label": f"{i} {steps[i - 1]}", "value": i}
                                                   for i in range(c.step + 1, len(steps) + 1)],
                         value=c.step + 1, clearable=False, className="admin-pick"),
            dcc.Input(id=ADVANCE_NOTE, placeholder=tx.pair("note")),
            html.Button(tx.pair("advance"), id=ADVANCE_GO, n_clicks=0),
            dcc.Store(id=ADVANCE_CASE, data=c.id),
            html.Div(id=ADVANCE_RESULT)])]
    return page(ctx, path, lang, {"county": c.county_adcode}, t("case", lang, id=c.title[:24]), [
        html.Div(className="col detail-side", children=[
            section(t("case", lang, id=""), [info, *controls]), section(t("case_steps", lang), timeline)]),
    ], "case-title")


def register(app: Dash, ctx: AppContext) -> None:
    """Moving a case opened from an alarm along the workflow (the user checked at the server)."""
    scope.bind(ADVANCE_CASE, "data", scope.case_value)

    @app.callback(Output(ADVANCE_RESULT, "children"), Output(ids.PAGE, "children", allow_duplicate=True),
                  Input(ADVANCE_GO, "n_clicks"), State(ADVANCE_CASE, "data"), State(ADVANCE_STEP, "value"),
                  State(ADVANCE_NOTE, "value"), State(ids.URL, "search"), prevent_initial_call=True)
    def advance(_n: int, case_id: str, step: int | None, note: str | None, search: str | None) -> tuple[Any, Any]:
        user = session.get("user")
        if user is None:
            return html.A(tx.pair("sign_in_first"), href=f"/admin/login?next={PATH_PREFIX}{case_id}",
                          className="problem"), no_update
        done = alarm_actions.advance(ctx, user, case_id, int(step or 0), note)
        if done.error:
            return html.Div(done.error, className="problem"), no_update
        lang = "en" if query(search).get("lang") == "en" else "zh"
        return no_update, layout(ctx, case_id, lang)
