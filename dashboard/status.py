"""City conditions for the header and ticker: weather, active warnings, the latest happenings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from settings import CITY_TZ
from store import alarm_queries as alq
from store import queries as q
from store.models import Alarm
from words import Words, pick, t

DEPARTMENT = Words("department")  # the departments, keyed by their short Chinese names (the data's own)
STEP = Words("workflow")  # the seven steps of the grid workflow (GB/T 30428), step_1 … step_7


def departments(names: Iterable[str], lang: str) -> str:
    """Departments by their names in a language (the catalog's `department` words; others as written)."""
    return t("list_sep", lang).join(DEPARTMENT.get(d, lang, d) for d in names)


def department_list(text: str, lang: str) -> str:
    """A data field naming departments joined by 、 (a KPI's, a theme's owner) in a language."""
    return departments(text.split("、"), lang)


def workflow_steps(lang: str) -> tuple[str, ...]:
    """The workflow's seven step names in a language, step 1 first."""
    return tuple(STEP(f"step_{i}", lang) for i in range(1, 8))


@dataclass(frozen=True)
class StandingWarning:
    """One standing warning (an open alarm): what, where, how severe (1 blue, 2 yellow, 3 orange, 4 red)."""

    zh: str
    en: str
    severity: int


@dataclass(frozen=True)
class Conditions:
    """What the header shows: weather from the road-weather stations and the active warnings."""

    air_temp_c: float | None
    humidity_pct: float | None
    warnings: int
    items: list[StandingWarning] = field(default_factory=list)


def warnings_of(alarms: Iterable[Alarm]) -> list[StandingWarning]:
    """Open alarms as the header, ticker and alarm list show them."""
    return [StandingWarning(a.title_zh, a.title_en, a.severity) for a in alarms]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def conditions(session: Session, now: datetime, county: str | None = None,
               alarms: list[Alarm] | None = None) -> Conditions:
    """Weather now (road-weather stations, last hour) and the open alarms, for the city or one county
    (`alarms`: the city's open alarms when the caller has read them already)."""
    got = q.latest_values_by_feed(session, {"road_weather": ["air_temp_c", "humidity_pct"]}, county)
    road = got["road_weather"]
    fresh = now - timedelta(hours=1)
    temps = [r.value for r in road if r.metric == "air_temp_c" and r.ts >= fresh]
    hums = [r.value for r in road if r.metric == "humidity_pct" and r.ts >= fresh]
    # The warnings are the alarms the themes' rules raised (alerts/): one truth for header, ticker and panels.
    if alarms is None:
        alarms = alq.open_alarms(session, county)
    items = warnings_of(a for a in alarms if county is None or a.county_adcode == county)
    return Conditions(_mean(temps), _mean(hums), len(items), items)


def ticker(session: Session, cond: Conditions, lang: str, county: str | None = None, limit: int = 8) -> list[str]:
    """The lines of the ticker: standing warnings first, then the latest case updates."""
    lines = [pick(w.zh, w.en, lang) for w in cond.items[:limit]]
    steps = workflow_steps(lang)
    for e in q.recent_events(session, limit, county):
        local = e.updated_at.astimezone(CITY_TZ).strftime("%H:%M")
        lines.append(f"{local} {e.subcategory or e.category} → {steps[e.step - 1]}")
    return lines
