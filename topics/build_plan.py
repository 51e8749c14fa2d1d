"""Build topics/plans/<year>.json from a plan's text: python -m topics.build_plan <plan.txt> [--out FILE].

How the text is structured (the 2021 work plan, 85 lines): six parts 一、…六、, each with a lead
paragraph; 29 tasks (一)…(二十九) numbered through the whole plan; six of them — (九), (十四),
(十五), (十六), (十七), (十八) — are a heading line followed by numbered sub-items 1. 2. …, and
only the sub-items carry the note. Every other task, and every sub-item, is one paragraph ending
in a note `[责任部门:A、B,完成时限:2021年10月]` (square or round brackets, ASCII or full-width
punctuation), once `(市财政局牵头,完成时限:…)`. The "29 tasks" are the top-level items; sub-items
are kept as their children.

Rules:
- title: the paragraph's text before its first 。 (the whole line for a bare heading).
- departments: the note's 责任部门 split on 、 outside brackets, so 各县(市、区)政府(管委会) stays whole;
  `X牵头` names X as the one department. A task with sub-items takes the union of theirs in order
  of first mention; its lead is the department named in most sub-items (ties: the first named).
- deadline (完成时限 → a date):
  `YYYY年M月` → the last day of that month; `YYYY年M月D日` → that day;
  `YYYY年底`/`YYYY年末`/`年底`/`年末`/`年内`/`全年` → 31 December (of the plan's year when none is given);
  `YYYY年上半年` → 30 June, `YYYY年下半年` → 31 December; `YYYY年第N季度` → the quarter's last day;
  `持续推进` (continuing work, no date) → 31 December of the plan's year, marked ongoing — a one-year
  plan is reviewed at its year's end; `<date>并持续推进` → that date, marked ongoing.
  A task with sub-items takes its latest sub-item's deadline (it is done when all of them are).
  Any other wording stops the build: a new plan's wording needs a rule, not a guess.
- theme: the first of these keywords found in the item's own heading, else (sub-items) the task's
  theme, else the part's heading; none found → null:
  生态环境/美丽肇庆 → ecology; 平安/社会治理 → social; 营商环境 → economy;
  互联网+监管/企业开办/商事 → market; 政务服务/民生/公共服务 → service.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from topics.plan import PLANS_DIR, SCHEMA_VERSION, PlanFile, PlanTask

NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
SECTION_RE = re.compile(r"^([一二三四五六七八九十]+)、(.+)$")
TASK_RE = re.compile(r"^[(（]([一二三四五六七八九十]+)[)）](.+)$")
SUB_RE = re.compile(r"^(\d{1,2})[.．](.+)$")
# The note closing a paragraph: [责任部门:…,完成时限:…] or (X牵头,完成时限:…).
NOTE_RES = (
    re.compile(r"[\[【(（]责任部门[:：](?P<depts>.+?)[,，]\s*完成时限[:：](?P<deadline>[^\]】)）]+)[\]】)）]\s*$"),
    re.compile(r"[\[【(（](?P<depts>[^\[\]【】()（）,，。]+?)牵头[,，]\s*完成时限[:：](?P<deadline>[^\]】)）]+)[\]】)）]\s*$"),
)
YEAR_RE = re.compile(r"(\d{4})年工作要点")
ISSUED_RE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
THEME_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ecology", ("生态环境", "美丽肇庆")),
    ("social", ("平安", "社会治理")),
    ("economy", ("营商环境",)),
    ("market", ("互联网+监管", "企业开办", "商事")),
    ("service", ("政务服务", "民生", "公共服务")),
)
OPEN, CLOSE = "([（【", ")]）】"


class PlanParseError(ValueError):
    """The text does not have the structure the parser knows."""


def chinese_number(s: str) -> int:
    """一 … 九十九 as an int."""
    if s == "十":
        return 10
    if "十" in s:
        tens, _, units = s.partition("十")
        return (NUMERALS[tens] if tens else 1) * 10 + (NUMERALS[units] if units else 0)
    if s in NUMERALS:
        return NUMERALS[s]
    raise PlanParseError(f"not a Chinese numeral: {s!r}")


def split_departments(s: str) -> list[str]:
    """Split on 、 at bracket depth 0: 市政数局、各县(市、区)政府(管委会) → two departments."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in s:
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(0, depth - 1)
        if ch == "、" and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return [d for d in out if d]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_deadline(text: str, plan_year: int) -> tuple[date, bool]:
    """完成时限 as (date, ongoing), by the rules in the module docstring."""
    s = text.strip()
    ongoing = False
    if s.endswith("并持续推进"):
        s, ongoing = s.removesuffix("并持续推进"), True
    if s in ("持续推进", "长期坚持", "长期"):
        return date(plan_year, 12, 31), True
    if m := re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", s):
        return date(int(m[1]), int(m[2]), int(m[3])), ongoing
    if m := re.fullmatch(r"(\d{4})年(\d{1,2})月(底|末)?", s):
        return _month_end(int(m[1]), int(m[2])), ongoing
    if m := re.fullmatch(r"(\d{4})?年?(底|末|内)|(\d{4})?全年", s):
        return date(int(m[1] or m[3] or plan_year), 12, 31), ongoing
    if m := re.fullmatch(r"(\d{4})?年?(上|下)半年", s):
        year = int(m[1] or plan_year)
        return (date(year, 6, 30) if m[2] == "上" else date(year, 12, 31)), ongoing
    if m := re.fullmatch(r"(\d{4})?年?第?([一二三四1-4])季度", s):
        q = int(m[2]) if m[2].isdigit() else chinese_number(m[2])
        return _month_end(int(m[1] or plan_year), 3 * q), ongoing
    raise PlanParseError(f"no rule for the deadline wording {text!r}")


def theme_of(*headings: str | None) -> str | None:
    """The theme of the first heading that names one (see THEME_KEYWORDS)."""
    for heading in headings:
        if heading is None:
            continue
        for key, words in THEME_KEYWORDS:
            if any(w in heading for w in words):
                return key
    return None


def lead_of(groups: list[list[str]]) -> str:
    """The department named in most groups; ties go to the first named."""
    counts = Counter(d for g in groups for d in dict.fromkeys(g))
    order = list(dict.fromkeys(d for g in groups for d in g))
    return max(order, key=lambda d: (counts[d], -order.index(d)))


@dataclass
class _Item:
    line: int
    numeral: str
    number: int
    heading: str
    text: str
    depts: list[str] | None
    lead: str | None
    deadline_text: str | None
    subs: list[_Item] = field(default_factory=list)


def _split_paragraph(body: str, line_no: int) -> tuple[str, str, list[str] | None, str | None, str | None]:
    """Heading, rest, departments, lead, deadline wording of one paragraph."""
    depts = lead = deadline = None
    for pattern in NOTE_RES:
        if m := pattern.search(body):
            depts = split_departments(m["depts"])
            lead = depts[0] if depts else None
            deadline = m["deadline"].strip()
            body = body[: m.start()].rstrip()
            break
    heading, sep, rest = body.partition("。")
    if not heading.strip():
        raise PlanParseError(f"line {line_no}: empty heading")
    return heading.strip(), rest.strip(), depts, lead, deadline


def parse_plan(text: str, source: str = "") -> PlanFile:
    """The plan's tasks, checked: numbered 1…N without gaps, each with departments and a deadline."""
    lines = text.splitlines()
    year_m = next((m for line in lines if (m := YEAR_RE.search(line))), None)
    if year_m is None:
        raise PlanParseError("no 'YYYY年工作要点' title: the plan's year is unknown")
    year = int(year_m[1])
    title = next((line.strip() for line in lines if YEAR_RE.search(line) and line.strip().endswith("工作要点")),
                 year_m.string.strip())
    issued = next((date(int(m[1]), int(m[2]), int(m[3]))
                   for line in lines if (m := ISSUED_RE.match(line.strip()))), None)
    sections: list[tuple[int, str, list[_Item]]] = []
    current: _Item | None = None
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if m := SECTION_RE.match(line):
            sections.append((chinese_number(m[1]), m[2].strip(), []))
            current = None
            continue
        if m := TASK_RE.match(line):
            if not sections:
                raise PlanParseError(f"line {no}: task before any part heading")
            heading, rest, depts, lead, deadline = _split_paragraph(m[2], no)
            current = _Item(no, m[1], chinese_number(m[1]), heading, rest, depts, lead, deadline)
            sections[-1][2].append(current)
            continue
        if (m := SUB_RE.match(line)) and current is not None:
            heading, rest, depts, lead, deadline = _split_paragraph(m[2], no)
            current.subs.append(_Item(no, m[1], int(m[1]), heading, rest, depts, lead, deadline))
            continue
        if line:
            current = None  # a lead or closing paragraph: numbered lines after it are not sub-items
    tasks = [_task(item, sec_no, sec_title, year) for sec_no, sec_title, items in sections for item in items]
    numbers = [t.number for t in tasks]
    if numbers != list(range(1, len(numbers) + 1)):
        raise PlanParseError(f"tasks are not numbered 1…N in order: {numbers}")
    return PlanFile(schema_version=SCHEMA_VERSION, source=source, title=title, issued=issued, year=year,
                    tasks=tuple(tasks))


def _task(item: _Item, sec_no: int, sec_title: str, year: int) -> PlanTask:
    label = f"({item.numeral})"
    theme = theme_of(item.heading, sec_title)
    subs = []
    for s in item.subs:
        if s.depts is None or s.deadline_text is None:
            raise PlanParseError(f"line {s.line}: sub-item {label}{s.numeral} has no 责任部门/完成时限 note")
        deadline, ongoing = parse_deadline(s.deadline_text, year)
        subs.append(PlanTask(code=f"{item.number}.{s.number}", number=s.number, label=f"{label}{s.numeral}",
                             title=s.heading, text=s.text, departments=tuple(s.depts),
                             lead_department=s.lead or "",
                             deadline=deadline, deadline_text=s.deadline_text, ongoing=ongoing,
                             theme=theme_of(s.heading) or theme, section=sec_no, section_title=sec_title,
                             line=s.line))
    if [s.number for s in subs] != list(range(1, len(subs) + 1)):
        raise PlanParseError(f"line {item.line}: sub-items of {label} are not numbered 1…N")
    if item.depts is not None and item.deadline_text is not None:
        deadline, ongoing = parse_deadline(item.deadline_text, year)
        depts, lead, wording = item.depts, item.lead or "", item.deadline_text
    elif subs:
        depts = list(dict.fromkeys(d for s in subs for d in s.departments))
        lead = lead_of([list(s.departments) for s in subs])
        deadline = max(s.deadline for s in subs)
        ongoing = any(s.ongoing for s in subs)
        wording = f"按子项,最迟{deadline.year}年{deadline.month}月"
    else:
        raise PlanParseError(f"line {item.line}: task {label} has neither a note nor sub-items")
    return PlanTask(code=str(item.number), number=item.number, label=label, title=item.heading,
                    text=item.text,
                    departments=tuple(depts), lead_department=lead, deadline=deadline, deadline_text=wording,
                    ongoing=ongoing, theme=theme, section=sec_no, section_title=sec_title, line=item.line,
                    subtasks=tuple(subs))


def plan_json(plan: PlanFile) -> str:
    """The file's text: stable key order, UTF-8 as is, one trailing newline."""
    data: dict[str, Any] = plan.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse the seed text and write the JSON file."""
    ap = argparse.ArgumentParser(prog="python -m topics.build_plan", description=__doc__.splitlines()[0])
    ap.add_argument("seed", type=Path, help="the plan's text, UTF-8")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"output JSON (default {PLANS_DIR.name}/<the plan's year>.json beside this module)")
    args = ap.parse_args(argv)
    try:
        plan = parse_plan(args.seed.read_text(encoding="utf-8"), source=args.seed.name)
    except PlanParseError as e:
        print(f"build_plan: {e}", file=sys.stderr)
        return 1
    out = args.out or PLANS_DIR / f"{plan.year}.json"  # one file per year: the wall shows the current year's
    out.write_text(plan_json(plan), encoding="utf-8")
    subs = sum(len(t.subtasks) for t in plan.tasks)
    print(f"{len(plan.tasks)} tasks ({subs} sub-items) → {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
