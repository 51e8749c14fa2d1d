"""挂图作战: the year's work plan by status, and the overdue tasks (or, once its year has ended, the ones not
completed and by how much), for a third of a wall column."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from dash import dcc, html
from sqlalchemy.orm import Session

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType
from dashboard.status import departments
from store import queries as q
from topics.plan import (
    STATUS_ORDER,
    STATUS_COLOUR,
    PlanTask,
    StatusKind,
    TaskStatus,
    plan_for,
    status_word,
    statuses,
    task_status,
)
from words import Words, lang_query, pick

PLAN_PATH = "/plan"  # the full table (dashboard/pages/plan.py)
tx = Words("panels.plan")  # this module's words in the catalog (words/locale)
PANEL = Words("panel")  # the built-in panel types' titles, by their names
OVERDUE_ROWS = 8  # rows rendered; CSS shows only the whole rows that fit the panel


@dataclass(frozen=True)
class TaskRow:
    """A task with its progress and status on a day."""

    task: PlanTask
    status: TaskStatus


def read_progress(session: Session, tasks: Sequence[PlanTask], city: str) -> tuple[dict[int, float], datetime | None]:
    """Each task's latest progress (%) by task number, and the newest data time (reported for the city, adcode
    `city`: the plan is the city's)."""
    got = q.latest_kpis(session, [t.progress_key for t in tasks], city)
    progress = {t.number: got[t.progress_key].value for t in tasks if t.progress_key in got}
    return progress, max((k.ts for k in got.values()), default=None)


def plan_rows(tasks: Sequence[PlanTask], progress: dict[int, float], today: date,
              year: int | None = None) -> list[TaskRow]:
    """Every task with its status, in the plan's order (judged at the year's end once `year` is over)."""
    return [TaskRow(t, task_status(t, progress.get(t.number), today, year)) for t in tasks]


def status_counts(rows: Sequence[TaskRow], kinds: Sequence[StatusKind] = STATUS_ORDER) -> dict[StatusKind, int]:
    """How many tasks are in each status (every status of `kinds` present, zeros included)."""
    c = Counter(r.status.kind for r in rows)
    return {k: c.get(k, 0) for k in kinds}


def not_done_worst_first(rows: Sequence[TaskRow]) -> list[TaskRow]:
    """Tasks an ended year left below 100 %, the furthest short first; then the plan's order."""
    short = [r for r in rows if r.status.kind is StatusKind.NOT_DONE]
    return sorted(short, key=lambda r: (-(r.status.short_by or 0), r.task.number))


def overdue_worst_first(rows: Sequence[TaskRow]) -> list[TaskRow]:
    """Overdue tasks, longest overdue first; then the least progress; then the plan's order."""
    late = [r for r in rows if r.status.kind is StatusKind.OVERDUE]
    return sorted(late, key=lambda r: (-(r.status.days_overdue or 0), r.status.progress or 0, r.task.number))


def task_label(task: PlanTask, lang: str) -> str:
    """(五) in Chinese, #5 in English."""
    return pick(task.label, f"#{task.code}", lang)


def status_chips(counts: dict[StatusKind, int], lang: str, big: bool = True) -> html.Div:
    """One coloured chip per status counted, with its count."""
    chips = []
    for kind in counts:
        colour = STATUS_COLOUR[kind]
        chips.append(html.Div(className=f"pl-chip pl-{kind.value}", style={"borderColor": colour}, children=[
            html.Span(str(counts[kind]), className="pl-chip-n", style={"color": colour}),
            html.Span(status_word(kind, lang), className="pl-chip-label")]))
    return html.Div(chips, className="pl-chips" + ("" if big else " pl-chips-small"))


def lead_text(task: PlanTask, lang: str) -> str:
    """The lead department, with how many others share the task."""
    others = len(task.departments) - 1
    lead = departments([task.lead_department], lang)
    return tx("lead_and_others", lang, lead=lead, others=others) if others else lead


def days_text(days: int, lang: str) -> str:
    """Days overdue, short."""
    return tx("days_late", lang, days=days)


def render_plan_supervision(inp: PanelInput) -> PanelOutput:
    """Counts by status as chips and the overdue tasks, worst first (city-wide: the plan has no counties); once
    the plan's year has ended, its final state: the tasks not completed, the furthest short first."""
    today = inp.now.date()
    plan = plan_for(today)
    tasks = plan.tasks
    ended = plan.ended(today)
    progress, newest = read_progress(inp.session, tasks, inp.city.adcode)
    rows = plan_rows(tasks, progress, today, plan.year)
    late = not_done_worst_first(rows) if ended else overdue_worst_first(rows)
    lang = inp.lang
    title = (tx("year_ended_not_done", lang, year=plan.year, n=len(late)) if ended
             else tx("overdue_tasks", lang, n=len(late)))
    head = html.Div(className="pl-late-head", children=[
        html.Span(title, className="pl-late-title"),
        dcc.Link(tx("all_tasks", lang, n=len(tasks)), className="pl-more",
                 href=PLAN_PATH + lang_query(lang)),
    ])

    def how_far(r: TaskRow) -> str:
        if ended:
            return tx("short_by", lang, p=f"{r.status.short_by or 0:.0f}")
        return days_text(r.status.days_overdue or 0, lang)

    items = [html.Li(className="pl-row", children=[
        html.Span(task_label(r.task, lang), className="pl-no"),
        html.Span(r.task.title, className="pl-title"),
        html.Span(lead_text(r.task, lang), className="pl-dept"),
        html.Span(f"{r.status.progress:.0f}%", className="pl-pct"),
        html.Span(how_far(r), className="pl-days"),
    ], title=f"{r.task.label} {r.task.title} · {'、'.join(r.task.departments)}") for r in late[:OVERDUE_ROWS]]
    empty = tx("all_done" if ended else "no_overdue_tasks", lang)
    listing = html.Ul(items, className="pl-rows") if items else html.Div(empty, className="pl-empty")
    chips = status_chips(status_counts(rows, statuses(ended)), lang)
    body = html.Div(className="pl-panel", children=[chips, head, listing])
    return PanelOutput(body, newest)


PLAN_PANELS = (
    PanelType("plan_supervision", *PANEL.both("plan_supervision"), "kpi",
              render_plan_supervision),
)


def register_plan_panels(registry: PanelRegistry) -> None:
    """Register the plan supervision panel through the public registry call."""
    for panel in PLAN_PANELS:
        registry.register(panel)
