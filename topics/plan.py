"""Work plans as data, one per year (挂图作战), and the status rule the supervision views apply.

`topics/plans/<year>.json` is built from a plan's text by `python -m topics.build_plan` and checked in, so
the app needs nothing outside the repository at run time; the seed's 2021 plan is the packaged example.
Progress comes from the store as KPIs `plan.task.<n>.progress` (%, region: the city), one per top-level task.
The wall shows the plan of the current year, else the newest earlier one: a plan whose year has ended is
shown in its final state (completed or not, and by how much), never as days overdue counted to today.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from words import Words

SCHEMA_VERSION = 1
PLANS_DIR = Path(__file__).resolve().parent / "plans"
PLAN_FILE = PLANS_DIR / "2021.json"  # the packaged example: the seed's 2021 plan
AT_RISK_DAYS = 30  # a deadline this close (days) with progress below AT_RISK_PROGRESS is a risk
AT_RISK_PROGRESS = 80.0
ThemeKey = Literal["economy", "market", "social", "service", "ecology"]


class PlanTask(BaseModel):
    """One task of the plan — a top-level (一)…(二十九) item, or one of its numbered sub-items."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    code: str = Field(description="'2' for task (二), '14.2' for sub-item 2 of task (十四)")
    number: int = Field(ge=1, description="Position: the task number, or the sub-item's number in its task")
    label: str = Field(description="As the plan writes it: '(二)' or '(十四)2'")
    title: str = Field(description="The heading: the text before the first 。")
    text: str = Field("", description="The rest of the paragraph, without the 责任部门/完成时限 note")
    departments: tuple[str, ...] = Field(min_length=1, description="责任部门 in the plan's order")
    lead_department: str = Field(description="The first 责任部门 (or the one named 牵头); for a task with "
                                             "sub-items, the department leading most of them")
    deadline: date = Field(description="完成时限 as a date (rules in topics/build_plan.py)")
    deadline_text: str = Field(description="完成时限 as the plan words it")
    ongoing: bool = Field(False, description="The plan says 持续推进 (continuing work)")
    theme: ThemeKey | None = Field(None, description="One of the five functions, where the text names it")
    section: int = Field(ge=1, description="The plan's part 一…六")
    section_title: str
    line: int = Field(ge=1, description="Line of the seed text where the item starts")
    subtasks: tuple[PlanTask, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _known_version(cls, data: Any) -> Any:
        if isinstance(data, dict) and int(data.get("schema_version", SCHEMA_VERSION)) > SCHEMA_VERSION:
            raise ValueError(f"plan task schema_version {data['schema_version']} is newer than "
                             f"{SCHEMA_VERSION}")
        return data

    @property
    def progress_key(self) -> str:
        """The KPI key that carries this task's progress (top-level tasks only)."""
        return progress_key(self.number)


class PlanFile(BaseModel):
    """The checked-in file: which text it came from and the tasks in order."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    source: str
    title: str
    issued: date | None = None
    year: int
    tasks: tuple[PlanTask, ...]

    @property
    def year_end(self) -> date:
        """The last day of the plan's year."""
        return date(self.year, 12, 31)

    def ended(self, today: date) -> bool:
        """Whether the plan's year is over (its tasks are judged as they stood at the year's end)."""
        return today > self.year_end


def progress_key(number: int) -> str:
    """`plan.task.<n>.progress`: the KPI key of top-level task n."""
    return f"plan.task.{number}.progress"


def read_plan_file(path: Path = PLAN_FILE) -> PlanFile:
    """Parse and validate a plan file."""
    return PlanFile.model_validate(json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=4)
def load_plan(path: Path = PLAN_FILE) -> tuple[PlanTask, ...]:
    """The plan's top-level tasks in order, with their sub-items."""
    return read_plan_file(path).tasks


@lru_cache(maxsize=8)
def _cached_plan(path: Path, _mtime: float) -> PlanFile:
    return read_plan_file(path)


def plan_files(directory: Path = PLANS_DIR) -> dict[int, Path]:
    """The plans kept, by year (`<year>.json`)."""
    return {int(p.stem): p for p in directory.glob("*.json") if p.stem.isdigit()}


def plan_for(today: date, directory: Path = PLANS_DIR) -> PlanFile:
    """The plan to show on a day: this year's; else the newest earlier one (ended); else the earliest kept."""
    files = plan_files(directory)
    if not files:
        raise FileNotFoundError(f"no plan in {directory} (python -m topics.build_plan <text> writes one)")
    years = sorted(files)
    earlier = [y for y in years if y <= today.year]
    path = files[earlier[-1] if earlier else years[0]]
    return _cached_plan(path, path.stat().st_mtime)


# ---- status ------------------------------------------------------------------------------------


class StatusKind(StrEnum):
    """Where a task stands."""

    DONE = "done"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    UNKNOWN = "unknown"
    NOT_DONE = "not_done"  # the plan's year ended with the task below 100 %


# The wall's own palette (assets/wall.css --ok/--accent/--warn/--alert/--muted); the labels are the catalog's
# `plan` words status_<kind>.
STATUS_COLOUR: dict[StatusKind, str] = {
    StatusKind.DONE: "#66bb6a", StatusKind.ON_TRACK: "#4fc3f7", StatusKind.AT_RISK: "#ffb74d",
    StatusKind.OVERDUE: "#ff5252", StatusKind.UNKNOWN: "#8a9bb5", StatusKind.NOT_DONE: "#ff5252",
}
WORDS = Words("plan")


def status_word(kind: StatusKind, lang: str) -> str:
    """A status's label in a language."""
    return WORDS(f"status_{kind.value}", lang)
STATUS_ORDER = tuple(StatusKind)  # done, on track, at risk, overdue, unknown, not done
ACTIVE_STATUSES = (StatusKind.DONE, StatusKind.ON_TRACK, StatusKind.AT_RISK, StatusKind.OVERDUE, StatusKind.UNKNOWN)
FINAL_STATUSES = (StatusKind.DONE, StatusKind.NOT_DONE, StatusKind.UNKNOWN)  # a plan whose year has ended


def statuses(ended: bool) -> tuple[StatusKind, ...]:
    """The statuses a plan's tasks can be in: during its year, or after it."""
    return FINAL_STATUSES if ended else ACTIVE_STATUSES


@dataclass(frozen=True)
class TaskStatus:
    """A task's status on a day, with what a view needs to show it."""

    kind: StatusKind
    progress: float | None
    days_overdue: int | None = None
    days_left: int | None = None
    short_by: float | None = None  # percentage points below 100 at the plan's year end (NOT_DONE)

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return status_word(self.kind, "zh")

    @property
    def label_en(self) -> str:
        """English label."""
        return status_word(self.kind, "en")

    @property
    def colour(self) -> str:
        """Colour of the status (hex)."""
        return STATUS_COLOUR[self.kind]

    def label(self, lang: str) -> str:
        """Label with the days overdue, in the UI language."""
        if self.kind is StatusKind.OVERDUE and self.days_overdue is not None:
            return WORDS("overdue_days", lang, d=self.days_overdue)
        if self.kind is StatusKind.NOT_DONE and self.short_by is not None:
            return WORDS("not_done_short", lang, p=f"{self.short_by:.0f}")
        return status_word(self.kind, lang)


def task_status(task: PlanTask, progress_pct: float | None, today: date, year: int | None = None) -> TaskStatus:
    """Done at ≥100 %; else overdue after the deadline; else at risk within 30 days below 80 %; else on track.

    Without a progress value the status is unknown, whatever the date: a missing report is not a finding. Once
    the plan's `year` has ended a task is done or not done, by how much: its final state, not days overdue
    counted to today (a 2021 task is not "1,861 days late" in 2026).
    """
    if progress_pct is None or math.isnan(progress_pct):
        return TaskStatus(StatusKind.UNKNOWN, None)
    if progress_pct >= 100:
        return TaskStatus(StatusKind.DONE, progress_pct)
    if year is not None and today > date(year, 12, 31):
        return TaskStatus(StatusKind.NOT_DONE, progress_pct, short_by=100 - progress_pct)
    if today > task.deadline:
        return TaskStatus(StatusKind.OVERDUE, progress_pct, days_overdue=(today - task.deadline).days)
    left = (task.deadline - today).days
    if left <= AT_RISK_DAYS and progress_pct < AT_RISK_PROGRESS:
        return TaskStatus(StatusKind.AT_RISK, progress_pct, days_left=left)
    return TaskStatus(StatusKind.ON_TRACK, progress_pct, days_left=left)


def short_title(task: PlanTask, limit: int = 12) -> str:
    """The heading cut to `limit` characters (with …) for tight rows."""
    return task.title if len(task.title) <= limit else task.title[: limit - 1] + "…"
