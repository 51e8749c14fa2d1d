"""Cases of the seven-step workflow (信息收集 → … → 综合评价) opened from alarms and grid events, with SLA clocks.

Every function that writes takes the caller's Session and never commits. Cases and their steps are inserted
with ON CONFLICT DO NOTHING on their unique keys (origin, origin_id) and (case_id, step), so a replayed alarm
or batch, or two workers handling the same one, add nothing twice; rows being changed are read FOR UPDATE, so
a step never moves backward (PostgreSQL; SQLite has one writer at a time).

Invariant: a case's `step` is the highest step recorded in its case_steps, and a case at step 6 (核查结案) or
beyond is closed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.calendar import WorkingCalendar
from feeds.payloads import CLOSING_STEP, WORKFLOW_STEPS
from store.models import Alarm, Case, CaseStep, GridEventStep, table_of
from topics.cases import CaseLimit, CaseLimits

ALARM = "alarm"
GRID_EVENT = "grid_event"
_PREFIX = {ALARM: "AL", GRID_EVENT: "GE"}
FIRST_STEP, FILED_STEP, LAST_STEP = 1, 2, len(WORKFLOW_STEPS)
AUTO_ACTOR = "自动立案"
UNASSIGNED = "待指派"
_CHUNK = 500  # ids per IN (...): well inside SQLite's and PostgreSQL's bound-parameter limits
_ID_LEN = 40  # cases.id and alarms.case_id are String(40)
_Step = tuple[datetime, str | None, str | None]  # when, who, note


# ---- pure ---------------------------------------------------------------------------------------------


def case_id(origin: str, origin_id: str) -> str:
    """The id of the case of an alarm or grid event: AL-<alarm id>, GE-<event id> (hashed if too long)."""
    cid = f"{_PREFIX[origin]}-{origin_id}"
    if len(cid) <= _ID_LEN:
        return cid
    return f"{_PREFIX[origin]}-{hashlib.sha256(origin_id.encode()).hexdigest()[:_ID_LEN - 3]}"


def handling_level(county_adcode: str | None, configured: str | None) -> str:
    """Who handles a case: 市 when it is in no county, else the configured level, else 县."""
    return "市" if not county_adcode else (configured or "县")


def deadline(opened_at: datetime, limit: CaseLimit | float, calendar: WorkingCalendar) -> datetime:
    """When a case opened at `opened_at` is due: day limits in working days, hour limits in working hours."""
    if isinstance(limit, CaseLimit):
        if limit.working_days is not None:
            return calendar.add_working_days(opened_at, limit.working_days)
        return calendar.add_working_hours(opened_at, limit.working_hours or 0.0)
    return calendar.add_working_hours(opened_at, limit)


def overdue(case: Case, now: datetime) -> bool:
    """Past its deadline: still open after it, or closed after it (超期结案)."""
    return case.deadline_at is not None and (case.closed_at or now) > case.deadline_at


def overdue_hours(case: Case, now: datetime, calendar: WorkingCalendar) -> float:
    """Working hours past the deadline (until closing, or now when open); 0 when not overdue."""
    if case.deadline_at is None:
        return 0.0
    return max(0.0, calendar.working_hours_between(case.deadline_at, case.closed_at or now))


def remaining_hours(case: Case, now: datetime, calendar: WorkingCalendar) -> float | None:
    """Working hours left before the deadline (negative when overdue); None without one or once closed."""
    if case.deadline_at is None or case.closed_at is not None:
        return None
    return calendar.working_hours_between(now, case.deadline_at)


def _title(subject: str, description: str | None) -> str:
    """A case's title: what it is, then the report's own words, within the column's 200 characters."""
    text = f"{subject}：{description.strip()}" if description and description.strip() else subject
    return text if len(text) <= 200 else text[:199] + "…"


# ---- writes -------------------------------------------------------------------------------------------


def _insert_ignore(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                   keys: Sequence[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO NOTHING, on SQLite and PostgreSQL alike."""
    if not rows:
        return
    name = session.get_bind().dialect.name
    insert: Callable[[Table], Any]
    if name == "postgresql":
        insert = postgresql.insert
    elif name == "sqlite":
        insert = sqlite.insert
    else:
        raise NotImplementedError(f"case writes are implemented for SQLite and PostgreSQL, not {name}")
    session.execute(insert(table).on_conflict_do_nothing(index_elements=list(keys)), list(rows))


def _cases_by_origin(session: Session, origin: str, origin_ids: Sequence[str]) -> dict[str, Case]:
    """The cases of these origins, locked for update, fresh from the database."""
    found: dict[str, Case] = {}
    for i in range(0, len(origin_ids), _CHUNK):
        stmt = (select(Case).where(Case.origin == origin, Case.origin_id.in_(origin_ids[i:i + _CHUNK]))
                .order_by(Case.id).with_for_update().execution_options(populate_existing=True))
        found.update((c.origin_id, c) for c in session.scalars(stmt))
    return found


def open_case_for_alarm(session: Session, alarm: Alarm, now: datetime, calendar: WorkingCalendar,
                        limits: CaseLimits, department: str | None = None, *, owner: str | None = None,
                        actor: str = AUTO_ACTOR) -> Case:
    """The case of an alarm, opened (案卷建立) at `now` if it has none: one case per alarm however often called.

    Step 1 信息收集 is recorded at the alarm's opening, step 2 案卷建立 at `now`, and the SLA clock starts at
    `now`: a department cannot be late on a case not yet filed. The limit is the limits entry of the alarm's
    rule ("<theme>/<rule id>") or else of its kind, else the default. The department is `department`, else
    the entry's, else the theme's `owner`, else the default entry's.
    """
    if alarm.id is None:
        session.flush()
    origin_id = str(alarm.id)
    case = _cases_by_origin(session, ALARM, [origin_id]).get(origin_id)
    if case is None:
        entry = limits.subcategories.get(alarm.rule) or limits.subcategories.get(alarm.kind)
        limit = entry or limits.default
        cid = case_id(ALARM, origin_id)
        _insert_ignore(session, table_of(Case), [{
            "id": cid, "origin": ALARM, "origin_id": origin_id, "title": _title(alarm.title_zh, None),
            "category": alarm.theme, "subcategory": alarm.kind, "county_adcode": alarm.county_adcode,
            "department": department or (entry.department if entry else None) or owner
            or limits.default.department or UNASSIGNED,
            "level": handling_level(alarm.county_adcode, entry.level if entry else None),
            "step": FILED_STEP, "opened_at": now, "limit_hours": limit.hours(calendar.hours_per_day),
            "deadline_at": deadline(now, limit, calendar), "closed_at": None,
        }], ("origin", "origin_id"))
        _insert_ignore(session, table_of(CaseStep), [
            {"case_id": cid, "step": FIRST_STEP, "at": alarm.opened_at, "actor": alarm.rule[:64],
             "note": alarm.title_zh},
            {"case_id": cid, "step": FILED_STEP, "at": now, "actor": actor, "note": None},
        ], ("case_id", "step"))
        # Another worker may have won the insert: either way the case is the one the database holds.
        case = _cases_by_origin(session, ALARM, [origin_id])[origin_id]
    alarm.case_id = case.id
    return case


@dataclass(frozen=True)
class SyncResult:
    """What one sync did: cases opened, cases that moved a step, cases closed."""

    opened: int
    advanced: int
    closed: int


def _grid_case_row(ev: Mapping[str, Any], calendar: WorkingCalendar, limits: CaseLimits) -> dict[str, Any]:
    """A new case of a grid event, its SLA clock started at the report (as the drill pages count it)."""
    entry = limits.limit(ev.get("subcategory"))
    opened, county = ev["reported_at"], ev.get("county_adcode")
    return {
        "id": case_id(GRID_EVENT, ev["id"]), "origin": GRID_EVENT, "origin_id": ev["id"],
        "title": _title(ev.get("subcategory") or ev["category"], ev.get("description")),
        "category": ev["category"], "subcategory": ev.get("subcategory"), "county_adcode": county,
        "department": entry.department or UNASSIGNED, "level": handling_level(county, entry.level),
        "step": FIRST_STEP, "opened_at": opened, "limit_hours": entry.hours(calendar.hours_per_day),
        "deadline_at": deadline(opened, entry, calendar), "closed_at": None,
    }


def _reclassify(case: Case, ev: Mapping[str, Any], calendar: WorkingCalendar, limits: CaseLimits) -> None:
    """Follow a changed class or county (the 受理员 corrects a report): limit, deadline, who and title follow."""
    row = _grid_case_row(ev, calendar, limits)
    case.category, case.subcategory = row["category"], row["subcategory"]
    case.county_adcode = row["county_adcode"]
    case.title, case.department, case.level = row["title"], row["department"], row["level"]
    case.limit_hours = row["limit_hours"]
    case.deadline_at = deadline(case.opened_at, limits.limit(case.subcategory), calendar)


def _event_history(session: Session, event_ids: Sequence[str]) -> dict[str, dict[int, _Step]]:
    """Steps the events passed, as the city's system recorded them (grid_event_steps)."""
    out: dict[str, dict[int, _Step]] = defaultdict(dict)
    for i in range(0, len(event_ids), _CHUNK):
        stmt = select(GridEventStep.event_id, GridEventStep.step, GridEventStep.ts, GridEventStep.actor,
                      GridEventStep.note).where(GridEventStep.event_id.in_(event_ids[i:i + _CHUNK]))
        for event_id, step, ts, actor, note in session.execute(stmt):
            out[event_id][step] = (ts, actor, note)
    return out


def sync_cases_from_grid_events(session: Session, events: Iterable[Mapping[str, Any]],
                                calendar: WorkingCalendar, limits: CaseLimits) -> SyncResult:
    """Keep one case per grid event of a committed ingest batch (store.writes.Batch.events values).

    The case follows the event's step (forward only), records each step once (the event's history from
    grid_event_steps, else the step it is at, at its update time; step 1 at the report), and closes when the
    event closes. Replaying a batch changes nothing.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for ev in events:
        old = latest.get(ev["id"])
        if old is None or ev["updated_at"] >= old["updated_at"]:
            latest[ev["id"]] = ev
    if not latest:
        return SyncResult(0, 0, 0)
    ids = sorted(latest)
    cases = _cases_by_origin(session, GRID_EVENT, ids)
    new = [_grid_case_row(latest[i], calendar, limits) for i in ids if i not in cases]
    if new:
        _insert_ignore(session, table_of(Case), new, ("origin", "origin_id"))
        cases.update(_cases_by_origin(session, GRID_EVENT, [r["origin_id"] for r in new]))
    fresh = {r["origin_id"] for r in new}
    history = _event_history(session, ids)

    advanced = closed = 0
    step_rows: list[dict[str, Any]] = []
    for eid in ids:
        ev, case = latest[eid], cases[eid]
        steps: dict[int, _Step] = {FIRST_STEP: (ev["reported_at"], None, None)}
        steps.update(history.get(eid, {}))
        steps.setdefault(ev["step"], (ev["updated_at"], ev.get("actor"), None))

        changed = (ev["category"], ev.get("subcategory"), ev.get("county_adcode")) != (
            case.category, case.subcategory, case.county_adcode)
        if changed and ev["step"] >= case.step:
            _reclassify(case, ev, calendar, limits)
        top = max(steps)
        if top > case.step:
            advanced += eid not in fresh
            case.step = top
        if case.closed_at is None and (ev.get("closed_at") is not None or case.step >= CLOSING_STEP):
            closing = steps.get(CLOSING_STEP)
            case.closed_at = ev.get("closed_at") or (closing[0] if closing else ev["updated_at"])
            closed += 1
        step_rows.extend({"case_id": case.id, "step": s, "at": at, "actor": actor[:64] if actor else None,
                          "note": note} for s, (at, actor, note) in sorted(steps.items()))
    session.flush()
    _insert_ignore(session, table_of(CaseStep), step_rows, ("case_id", "step"))
    return SyncResult(len(new), advanced, closed)


def advance_case(session: Session, case_id: str, step: int, actor: str | None, note: str | None,
                 now: datetime) -> Case:
    """Move a case to a later step from the console; step 6 核查结案 (or 7) closes it."""
    if not FIRST_STEP <= step <= LAST_STEP:
        raise ValueError(f"a workflow step is 1–{LAST_STEP}, got {step}")
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise LookupError(f"no case {case_id!r}")
    if step <= case.step:
        raise ValueError(f"case {case_id} is at step {case.step} ({WORKFLOW_STEPS[case.step - 1]}); "
                         f"steps only move forward")
    session.add(CaseStep(case_id=case.id, step=step, at=now, actor=actor, note=note))
    case.step = step
    if step >= CLOSING_STEP and case.closed_at is None:
        case.closed_at = now
    session.flush()
    return case
