"""挂图作战 (/plan): the year's work plan — departments, deadline, progress, status — on one screen; a plan whose
year has ended in its final state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import Dash, Input, Output, State, dcc, html
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.connection import beat, beat_id, beat_store
from dashboard.context import AppContext
from dashboard.pages.common import header, query, status_chips
from dashboard.panels.base import fmt_time
from dashboard.panels.plan import TaskRow, plan_rows, read_progress, status_counts
from dashboard.panels.plan import status_chips as plan_chips
from dashboard.status import conditions
from feeds.health import FeedHealth
from store import queries as q
from topics.plan import PlanFile, StatusKind, plan_for, statuses
from words import Words, pick, t

tx = Words("pages.plan")  # this module's words in the catalog (words/locale)

PATH = "/plan"
PLAN_TICK = "plan-tick"
PLAN_SUMMARY = "plan-summary"
PLAN_TABLES = "plan-tables"
LEFT_ROWS = 15  # (一)…(十五) left, (十六)…(二十九) right: 29 rows on a 1080-high screen without scrolling
DEPTS_SHOWN = 3

HEAD = ("no", "task", "departments", "deadline", "progress", "status")  # the columns' words: head_<column>


def departments_text(row: TaskRow, lang: str) -> str:
    """Lead first; beyond three departments, the first two and how many in all."""
    task = row.task
    depts = [task.lead_department, *(d for d in task.departments if d != task.lead_department)]
    if len(depts) <= DEPTS_SHOWN:  # as the plan issued them, in Chinese (the page's sub-heading says so)
        return "、".join(depts)
    shown = "、".join(depts[: DEPTS_SHOWN - 1])
    return tx("departments_more", lang, shown=shown, more=len(depts) - DEPTS_SHOWN + 1, n=len(depts))


def deadline_cell(row: TaskRow, lang: str) -> list[Any]:
    """The date, and whether the plan calls the work continuing or leaves the date to the sub-items."""
    task = row.task
    out: list[Any] = [html.Span(task.deadline.isoformat(), className="pl-date")]
    if task.ongoing or task.subtasks:
        note = tx("ongoing" if task.ongoing else "by_subitems", lang)
        out.append(html.Span(note, className="pl-note"))
    return out


def progress_cell(row: TaskRow) -> list[Any]:
    """A bar in the status colour and the percentage."""
    p = row.status.progress
    if p is None:
        return [html.Div(className="pl-bar"), html.Span("—", className="pl-pct")]
    return [html.Div(className="pl-bar", children=html.Div(
                className="pl-fill", style={"width": f"{max(0.0, min(100.0, p)):.0f}%",
                                            "background": row.status.colour})),
            html.Span(f"{p:.0f}%", className="pl-pct")]


def task_title(row: TaskRow, lang: str) -> html.Td:
    """The heading, how many sub-items it has, the whole text on hover."""
    task = row.task
    hover = [task.title + "。" + task.text] if task.text else [task.title]
    hover += [f"{s.label} {s.title} [{'、'.join(s.departments)} · {s.deadline_text}]" for s in task.subtasks]
    children: list[Any] = [html.Span(task.title, className="pl-title")]
    if task.subtasks:
        children.append(html.Span(tx("subitems", lang, n=len(task.subtasks)),
                                  className="pl-subs"))
    return html.Td(children, className="pl-task", title="\n".join(hover))


def task_table(rows: list[TaskRow], lang: str) -> html.Table:
    """One column of the plan: a header and one compact row per task."""
    return html.Table(className="pl-table", children=[
        html.Thead(html.Tr([html.Th(tx(f"head_{col}", lang), className=f"pl-h{i}")
                            for i, col in enumerate(HEAD)])),
        html.Tbody([html.Tr(className=f"pl-tr pl-{r.status.kind.value}", id=f"plan-task-{r.task.number}",
                            children=[
            html.Td(pick(r.task.label, str(r.task.number), lang), className="pl-no"),
            task_title(r, lang),
            html.Td(html.Span(departments_text(r, lang), className="pl-clamp"), className="pl-depts",
                    title="、".join(r.task.departments)),
            html.Td(deadline_cell(r, lang), className="pl-deadline"),
            html.Td(progress_cell(r), className="pl-progress"),
            html.Td(html.Span(r.status.label(lang), className="pl-tag",
                              style={"background": r.status.colour}), className="pl-status"),
        ]) for r in rows]),
    ])


def tables(rows: list[TaskRow], lang: str) -> list[html.Table]:
    """The 29 tasks in two side-by-side tables."""
    return [task_table(rows[:LEFT_ROWS], lang), task_table(rows[LEFT_ROWS:], lang)]


def summary(plan: PlanFile, rows: list[TaskRow], newest: datetime | None, now: datetime,
            health: FeedHealth | None, lang: str) -> list[Any]:
    """The plan's name, counts by status, the day judged and the data time (greyed badge when stale)."""
    ended = plan.ended(now.date())
    counts = status_counts(rows, statuses(ended))
    late = counts[StatusKind.NOT_DONE] if ended else counts[StatusKind.OVERDUE]
    asof = (tx("year_ended_as_at", lang, day=plan.year_end.isoformat()) if ended else
            tx("as_of", lang, day=now.date().isoformat()))
    meta: list[Any] = [
        html.Span(asof, className="pl-asof"),
        html.Span(f"{t('data_time', lang)} {fmt_time(newest, now)}", className="data-time"),
    ]
    if health is not None and health.stale:
        minutes = int((health.age_s or 0) // 60) if health.age_s is not None else None
        meta.append(html.Span(t("stale", lang, n=minutes) if minutes is not None else t("no_data", lang),
                              className="badge-stale"))
    return [
        html.Div(className="pl-heading", children=[
            html.H2(tx("heading", lang, title=plan.title, year=plan.year)),
            html.Div(tx("sub_ended" if ended else "sub", lang, n=len(rows), late=late,
                        issued=plan.issued or plan.year),
                     className="pl-sub"),
        ]),
        plan_chips(counts, lang, big=False),
        html.Div(meta, className="pl-meta"),
    ]


def plan_view(ctx: AppContext, lang: str) -> tuple[list[Any], list[html.Table], bool]:
    """Summary, the two tables, and whether the progress feed is stale — read in one session."""
    now = ctx.now()
    plan = plan_for(now.date())
    with Session(ctx.engine) as s:
        progress, newest = read_progress(s, plan.tasks, ctx.city.adcode)
        health = ctx.health(s).get("kpi")
    rows = plan_rows(plan.tasks, progress, now.date(), plan.year)
    return summary(plan, rows, newest, now, health, lang), tables(rows, lang), bool(health and health.stale)


def layout(ctx: AppContext, lang: str) -> html.Div:
    """The page, filled at once; a tick refreshes it."""
    top, cols, stale = plan_view(ctx, lang)
    return html.Div(className="wall pl-page", children=[
        header(ctx, PATH, lang, None),
        html.Main(className="pl-main", children=[
            html.Section(top, id=PLAN_SUMMARY, className="pl-summary"),
            html.Div(cols, id=PLAN_TABLES, className="pl-cols" + (" pl-stale" if stale else "")),
        ]),
        dcc.Interval(id=PLAN_TICK, interval=int(ctx.settings.tick_seconds * 1000)),
        beat_store("plan"),
    ])


def register(app: Dash, ctx: AppContext) -> None:
    """The page's tick: progress, statuses and the header's feed status."""

    @app.callback(
        Output(PLAN_SUMMARY, "children"),
        Output(PLAN_TABLES, "children"),
        Output(PLAN_TABLES, "className"),
        Output(ids.STATUS, "children", allow_duplicate=True),
        Output(beat_id("plan"), "data"),
        Input(PLAN_TICK, "n_intervals"),
        State(ids.URL, "search"),
        prevent_initial_call="initial_duplicate",
    )
    def tick(_n: int, search: str | None) -> tuple[Any, ...]:
        lang = query(search).get("lang", ctx.settings.lang)
        top, cols, stale = plan_view(ctx, lang)
        with Session(ctx.engine) as s:
            status = status_chips(ctx.health(s), q.dead_letter_count(s), conditions(s, ctx.now()), lang)
        return top, cols, "pl-cols" + (" pl-stale" if stale else ""), status, beat(ctx)
