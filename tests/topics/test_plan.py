"""The plan's 29 tasks parsed from its text, the checked-in file, and the status rule at its boundaries."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from topics import THEMES
from topics.build_plan import (
    PlanParseError,
    chinese_number,
    main,
    parse_deadline,
    parse_plan,
    plan_json,
    split_departments,
    theme_of,
)
from topics.plan import (
    PLAN_FILE,
    STATUS_COLOUR,
    PlanTask,
    StatusKind,
    load_plan,
    progress_key,
    read_plan_file,
    short_title,
    task_status,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seed" / "zhaoqing-digital-government-2021-workplan.txt"


def by_label(label: str) -> PlanTask:
    return next(t for t in load_plan() if t.label == label)


# ---- the checked-in file against the seed ------------------------------------------------------


def test_the_checked_in_file_is_what_the_parser_makes_of_the_seed(tmp_path: Path) -> None:
    if not SEED.exists():
        # CI always has ../shared beside the repository; a bare clone elsewhere checks the file alone.
        assert not os.environ.get("CI"), f"{SEED} is missing in CI"
        assert plan_json(read_plan_file()) == PLAN_FILE.read_text(encoding="utf-8")
        return
    out = tmp_path / "plan.json"
    assert main([str(SEED), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == PLAN_FILE.read_text(encoding="utf-8"), \
        "topics/plans/2021.json is out of date: run python -m topics.build_plan ../shared/seed/…"


def test_a_years_plan_is_loaded_from_its_text_into_the_plans_folder(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import topics.build_plan as build_plan
    from topics.plan import plan_for

    if not SEED.exists():
        assert not os.environ.get("CI"), f"{SEED} is missing in CI"
        return
    monkeypatch.setattr(build_plan, "PLANS_DIR", tmp_path)
    assert main([str(SEED)]) == 0  # no --out: plans/<the plan's year>.json
    assert (tmp_path / "2021.json").read_text(encoding="utf-8") == PLAN_FILE.read_text(encoding="utf-8")
    assert plan_for(date(2021, 5, 1), tmp_path).title == read_plan_file().title


def test_each_task_starts_on_its_line_of_the_seed_and_names_departments_found_there() -> None:
    if not SEED.exists():
        assert not os.environ.get("CI"), f"{SEED} is missing in CI"
        return
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for task in load_plan():
        assert lines[task.line - 1].startswith(task.label), task.label
        for sub in task.subtasks:
            line = lines[sub.line - 1]
            assert line.startswith(f"{sub.number}.") and sub.title in line, sub.label
            assert all(d in line for d in sub.departments), sub.label
        if not task.subtasks:
            assert all(d in lines[task.line - 1] for d in task.departments), task.label


# ---- the 29 tasks ------------------------------------------------------------------------------


def test_the_plan_has_29_tasks_each_with_departments_and_a_deadline() -> None:
    tasks = load_plan()
    assert [t.number for t in tasks] == list(range(1, 30))
    assert [t.label for t in tasks][:3] == ["(一)", "(二)", "(三)"] and tasks[-1].label == "(二十九)"
    for t in tasks:
        assert t.departments and t.lead_department in t.departments and t.deadline.year == 2021, t.label
        assert t.title and "。" not in t.title and "责任部门" not in t.text, t.label
        for s in t.subtasks:
            assert s.departments and s.deadline <= t.deadline and set(s.departments) <= set(t.departments)
    assert {t.label for t in tasks if t.subtasks} == {"(九)", "(十四)", "(十五)", "(十六)", "(十七)", "(十八)"}
    assert sum(len(t.subtasks) for t in tasks) == 35
    plan = read_plan_file()
    assert plan.title == "肇庆市数字政府改革建设2021年工作要点" and plan.issued == date(2021, 7, 4)
    assert plan.year == 2021 and plan.schema_version == 1


def test_known_tasks_read_as_the_text_says() -> None:
    two = by_label("(二)")
    assert two.title == "深化“粤系列”肇庆专版建设应用"
    assert "市政数局" in two.departments and two.deadline == date(2021, 10, 31)
    # A county-level department keeps its bracketed 、: it is one department, not three.
    assert two.departments == ("市政数局", "各县(市、区)政府(管委会)")
    assert by_label("(一)").line == 10 and by_label("(二十九)").line == 83
    six = by_label("(六)")
    assert six.departments == ("市政数局",) and six.deadline == date(2021, 12, 31) and not six.ongoing
    seven = by_label("(七)")  # 持续推进: reviewed at the plan year's end
    assert seven.deadline == date(2021, 12, 31) and seven.ongoing and seven.deadline_text == "持续推进"
    assert by_label("(十二)").departments == ("市政数局", "市教育局", "市人社局", "市住建局", "肇庆高新区管委会")
    assert by_label("(二十八)").departments[1] == "数字广东网络建设有限公司肇庆分公司"


def test_tasks_with_sub_items_take_their_union_and_latest_deadline() -> None:
    nine = by_label("(九)")
    assert [s.title for s in nine.subtasks] == ["持续推进政务服务“好差评”工作", "全面推广行政执法信息平台"]
    assert nine.subtasks[0].deadline == date(2021, 10, 31) and nine.subtasks[1].deadline == date(2021, 12, 31)
    assert nine.departments == ("市政数局", "市司法局") and nine.deadline == date(2021, 12, 31)
    assert nine.deadline_text == "按子项,最迟2021年12月"
    fourteen = by_label("(十四)")
    assert len(fourteen.subtasks) == 11 and fourteen.lead_department == "市政数局"
    assert [s.code for s in fourteen.subtasks][:2] == ["14.1", "14.2"]
    assert fourteen.subtasks[1].label == "(十四)2"
    assert fourteen.subtasks[1].departments == ("市投促局", "市政数局")
    assert fourteen.subtasks[4].deadline == date(2021, 8, 31)  # 5. 工程建设项目: 2021年8月
    ten = fourteen.subtasks[9]  # 2021年10月并持续推进
    assert ten.deadline == date(2021, 10, 31) and ten.ongoing and fourteen.ongoing
    fiscal = by_label("(十八)").subtasks[0]  # (市财政局牵头,完成时限:2021年12月)
    assert fiscal.departments == ("市财政局",) and fiscal.lead_department == "市财政局"
    assert by_label("(十六)").lead_department == "市委政法委"  # named in two of its five sub-items
    assert by_label("(十七)").subtasks[3].deadline == date(2021, 8, 31)


def test_themes_where_the_text_names_them() -> None:
    keys = {t.key for t in THEMES}
    assert {t.theme for t in load_plan()} - {None} <= keys
    assert by_label("(一)").theme == "service" and by_label("(十五)").theme == "ecology"
    assert by_label("(十六)").theme == "social" and by_label("(十七)").theme == "service"
    assert by_label("(十四)").theme == "economy" and by_label("(十四)").subtasks[3].theme == "market"
    assert by_label("(十四)").subtasks[10].theme == "market"  # 互联网+监管
    assert by_label("(十)").theme is None and by_label("(二十九)").theme is None  # cross-cutting
    assert by_label("(十八)").theme is None


# ---- parser rules on small texts ---------------------------------------------------------------


def test_chinese_numbers() -> None:
    assert [chinese_number(s) for s in ("一", "九", "十", "十一", "十九", "二十", "二十九", "九十九")] == [
        1, 9, 10, 11, 19, 20, 29, 99]
    with pytest.raises(PlanParseError):
        chinese_number("廿")


def test_departments_split_on_the_enumeration_comma_outside_brackets() -> None:
    assert split_departments("市政数局、各县(市、区)政府(管委会)") == ["市政数局", "各县(市、区)政府(管委会)"]
    assert split_departments("市政数局、各县（市、区）政府（管委会）、市财政局") == [
        "市政数局", "各县（市、区）政府（管委会）", "市财政局"]
    assert split_departments("市气象局") == ["市气象局"]


@pytest.mark.parametrize(("text", "expected", "ongoing"), [
    ("2021年10月", date(2021, 10, 31), False),
    ("2021年2月", date(2021, 2, 28), False),
    ("2024年2月", date(2024, 2, 29), False),
    ("2021年11月底", date(2021, 11, 30), False),
    ("2021年9月15日", date(2021, 9, 15), False),
    ("年底", date(2021, 12, 31), False),
    ("2022年底", date(2022, 12, 31), False),
    ("年内", date(2021, 12, 31), False),
    ("全年", date(2021, 12, 31), False),
    ("2021年上半年", date(2021, 6, 30), False),
    ("下半年", date(2021, 12, 31), False),
    ("2021年第三季度", date(2021, 9, 30), False),
    ("持续推进", date(2021, 12, 31), True),
    ("2021年10月并持续推进", date(2021, 10, 31), True),
])
def test_deadline_wordings(text: str, expected: date, ongoing: bool) -> None:
    assert parse_deadline(text, 2021) == (expected, ongoing)


def test_an_unknown_deadline_wording_stops_the_build() -> None:
    with pytest.raises(PlanParseError, match="尽快"):
        parse_deadline("尽快", 2021)


PLAN = """某市2021年工作要点
一、构建政务服务体系
引言段落。
(一)第一项任务。内容一。[责任部门:市政数局、各县(市、区)政府(管委会),完成时限:2021年10月]
(二)第二项任务。
1.子项甲。内容。(责任部门:市环境局,完成时限:2021年8月)
2.子项乙。内容。(市财政局牵头,完成时限:持续推进)
二、开启新模式
(三)第三项。内容。(责任部门:市政数局,完成时限:2021年12月)
结束段落。
1.不是子项。
"""


def test_a_small_plan_parses_into_tasks_and_sub_items() -> None:
    plan = parse_plan(PLAN)
    assert plan.year == 2021 and [t.title for t in plan.tasks] == ["第一项任务", "第二项任务", "第三项"]
    one, two, three = plan.tasks
    assert one.text == "内容一。" and one.theme == "service" and one.section == 1 and one.line == 4
    assert [s.departments for s in two.subtasks] == [("市环境局",), ("市财政局",)]
    assert two.departments == ("市环境局", "市财政局") and two.deadline == date(2021, 12, 31) and two.ongoing
    assert two.subtasks[0].theme == "service" and two.subtasks[1].line == 7  # the part's theme, inherited
    assert three.section == 2 and three.section_title == "开启新模式" and three.theme is None
    assert len(three.subtasks) == 0  # a numbered line after the closing paragraph is not a sub-item


@pytest.mark.parametrize(("bad", "why"), [
    (PLAN.replace("(三)", "(四)"), "numbered"),
    (PLAN.replace(",完成时限:2021年12月)", ")"), "neither"),
    (PLAN.replace("2.子项乙", "3.子项乙"), "sub-items"),
    (PLAN.replace("(市财政局牵头,完成时限:持续推进)", ""), "no 责任部门"),
    (PLAN.replace("2021年工作要点", "工作要点"), "year"),
])
def test_a_plan_that_breaks_the_structure_is_refused(bad: str, why: str) -> None:
    with pytest.raises(PlanParseError, match=why):
        parse_plan(bad)


def test_theme_keywords_first_heading_wins() -> None:
    assert theme_of("提高生态环境精细化管理能力", "政务服务") == "ecology"
    assert theme_of(None, "构建“一网通办”政务服务体系") == "service"
    assert theme_of("强化财政数字化监管能力") is None  # 监管 alone is not 市场监管


def test_the_build_command_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "plan.txt"
    seed.write_text(PLAN, encoding="utf-8")
    out = tmp_path / "out.json"
    assert main([str(seed), "--out", str(out)]) == 0
    assert "3 tasks (2 sub-items)" in capsys.readouterr().out
    assert load_plan(out)[1].subtasks[1].deadline_text == "持续推进"
    seed.write_text(PLAN.replace("2021年10月]", "尽快]"), encoding="utf-8")
    assert main([str(seed), "--out", str(out)]) == 1
    assert "尽快" in capsys.readouterr().err


def test_a_newer_schema_version_is_refused_and_the_current_one_loads() -> None:
    data = by_label("(一)").model_dump()
    assert PlanTask.model_validate(data) == by_label("(一)")
    with pytest.raises(ValueError, match="newer"):
        PlanTask.model_validate({**data, "schema_version": 2})


# ---- status ------------------------------------------------------------------------------------

DUE = date(2021, 10, 31)


def task(deadline: date = DUE) -> PlanTask:
    return by_label("(一)").model_copy(update={"deadline": deadline})


@pytest.mark.parametrize(("progress", "today", "kind", "days_overdue"), [
    (None, DUE + timedelta(days=400), StatusKind.UNKNOWN, None),
    (float("nan"), DUE, StatusKind.UNKNOWN, None),
    (100.0, DUE + timedelta(days=400), StatusKind.DONE, None),
    (120.0, DUE - timedelta(days=5), StatusKind.DONE, None),
    (99.9, DUE + timedelta(days=1), StatusKind.OVERDUE, 1),
    (0.0, DUE + timedelta(days=365), StatusKind.OVERDUE, 365),
    (99.9, DUE, StatusKind.ON_TRACK, None),  # the deadline day itself is not late
    (79.9, DUE, StatusKind.AT_RISK, None),
    (79.9, DUE - timedelta(days=30), StatusKind.AT_RISK, None),
    (79.9, DUE - timedelta(days=31), StatusKind.ON_TRACK, None),
    (80.0, DUE - timedelta(days=1), StatusKind.ON_TRACK, None),
    (10.0, DUE - timedelta(days=200), StatusKind.ON_TRACK, None),
])
def test_status_rule_boundaries(progress: float | None, today: date, kind: StatusKind,
                                days_overdue: int | None) -> None:
    st = task_status(task(), progress, today)
    assert st.kind is kind and st.days_overdue == days_overdue


def test_status_labels_and_colours() -> None:
    late = task_status(task(), 60, DUE + timedelta(days=5))
    assert (late.label_zh, late.label_en, late.colour) == ("已逾期", "Overdue", "#ff5252")
    assert late.label("zh") == "逾期5天" and late.label("en") == "Overdue 5 d"
    assert task_status(task(), 100, DUE).label("zh") == "已完成"
    assert task_status(task(), None, DUE).label("en") == "No data"
    assert task_status(task(), 50, DUE - timedelta(days=3)).days_left == 3
    colours = STATUS_COLOUR
    assert colours == {StatusKind.DONE: "#66bb6a", StatusKind.ON_TRACK: "#4fc3f7",
                       StatusKind.AT_RISK: "#ffb74d",
                       StatusKind.OVERDUE: "#ff5252", StatusKind.UNKNOWN: "#8a9bb5",
                       StatusKind.NOT_DONE: "#ff5252"}


def test_once_the_plans_year_has_ended_a_task_is_done_or_not_by_how_much() -> None:
    year_end = date(DUE.year, 12, 31)
    after = year_end + timedelta(days=1_800)  # years later: no days overdue counted to today
    short = task_status(task(), 62.5, after, DUE.year)
    assert (short.kind, short.short_by, short.days_overdue) == (StatusKind.NOT_DONE, 37.5, None)
    assert short.label("zh") == "未完成 差38%" and short.label("en") == "38% short"
    assert task_status(task(), 100, after, DUE.year).kind is StatusKind.DONE
    assert task_status(task(), None, after, DUE.year).kind is StatusKind.UNKNOWN
    # On the last day of the year the plan still runs: the usual rule.
    assert task_status(task(), 62.5, year_end, DUE.year).kind is StatusKind.OVERDUE


def test_the_plan_shown_is_the_years_else_the_newest_before_it(tmp_path: Path) -> None:
    from topics.plan import PLAN_FILE, plan_for

    assert plan_for(date(2026, 12, 5)).year == 2021 and plan_for(date(2026, 12, 5)).ended(date(2026, 12, 5))
    assert not plan_for(date(2021, 6, 1)).ended(date(2021, 6, 1))
    text = PLAN_FILE.read_text(encoding="utf-8")
    for year in (2021, 2026):
        (tmp_path / f"{year}.json").write_text(text.replace('"year": 2021', f'"year": {year}'), encoding="utf-8")
    assert plan_for(date(2026, 12, 5), tmp_path).year == 2026
    assert plan_for(date(2025, 12, 5), tmp_path).year == 2021
    assert plan_for(date(2019, 1, 1), tmp_path).year == 2021  # before any plan: the earliest kept


def test_progress_keys_and_short_titles() -> None:
    assert progress_key(7) == "plan.task.7.progress"
    assert by_label("(二十九)").progress_key == "plan.task.29.progress"
    assert short_title(by_label("(二)"), 8) == "深化“粤系列”…" and short_title(by_label("(六)")) == "提升政务服务便利度"
