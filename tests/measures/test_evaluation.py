"""The comprehensive evaluation (综合评价) against vectors computed by hand, and its store read on a real store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from measures.evaluation import INDICATORS, evaluate
from store.evaluation_queries import CaseRecord, evaluation_records
from store.models import Case, CaseStep
from topics.evaluation import EvaluationConfig, evaluation_config

CST = timezone(timedelta(hours=8))
A, B, C, CITY = "441202", "441203", "441223", "441200"  # 端州区, 鼎湖区, 广宁县 (no cases), 肇庆市
START, END = datetime(2024, 3, 1, tzinfo=CST), datetime(2024, 4, 1, tzinfo=CST)


def t(day: str, hm: str) -> datetime:
    """A city time in 2024, 'MM-DD', 'HH:MM'."""
    return datetime.fromisoformat(f"2024-{day}T{hm}:00").replace(tzinfo=CST)


def due_in_2h(filed: datetime) -> datetime:
    """The tests' dispatch limit: two clock hours after filing (the page passes the working calendar's)."""
    return filed + timedelta(hours=2)


def case(cid: str, county: str | None, deadline: datetime | None, closed: datetime | None,
         **steps: datetime) -> CaseRecord:
    """A record; steps given as s1=…, s2=…; opened at step 1."""
    pairs = tuple(sorted((int(k[1:]), v) for k, v in steps.items()))
    return CaseRecord(cid, county, steps["s1"], deadline, closed, pairs)


# Steps: 1 上报 2 立案 3 派遣 5 处理反馈 6 结案. Period March 2024, judged at 04-01 00:00. Dispatch due = filed + 2 h.
#
# case county reported filed  dispatched (due)     handled        deadline       closed          notes
# A1   A      03-02 09:00 09:10 09:30 (11:10) ok  03-02 12:00 ok  03-02 17:00  03-02 13:00 ok
# A2   A      03-05 09:00 09:00 12:00 (11:00) late 03-06 10:00 late 03-05 17:00 03-06 11:00 late
# A3   A      03-10 09:00 09:05 09:20 (11:05) ok  03-10 15:00 ok  03-10 16:00  03-10 17:00 late
# A4   A      03-31 20:00 20:05 20:10 (22:05) ok  —               04-01 12:00  open           not yet due
# A5   A      03-20 09:00 —     —                 —               03-20 17:00  open           never filed
# B1   B      03-03 09:00 09:10 09:20 (11:10) ok  03-03 11:00 ok  03-03 17:00  03-03 12:00 ok
# B2   B      03-15 09:00 09:10 10:00 (11:10) ok  —               03-16 09:00  open           overdue
# B3   B      02-25 09:00 …                                                    03-02 closed   reported before: out
# B4   B      03-25 09:00 (steps 1 and 6 only: filed = dispatched = handled = 14:00, due 16:00 ok)
#                                                   14:00 ok        03-25 17:00  03-25 14:00 ok
# C1   none   03-08 09:00 09:10 09:40 (11:10) ok  03-08 11:00 ok  03-08 17:00  03-08 12:00 ok  city only
#
#                      A                 B                 city (A + B + C1)
# 上报 / 立案率        5, 4/5            3, 3/3            9, 8/9
# 按期派遣率           3/4 (A2 late)     3/3               7/8
# 处置率 (应处置)      3/3 (A4 not due)  2/3 (B2 overdue)  6/7
# 按期处置率           2/3 (A2)          2/3               5/7
# 结案率 (应结案)      3/3               2/3               6/7
# 按期结案率           1/3 (A2, A3)      2/3               4/7
# 返工率               not measured      not measured      not measured
# score = (60 × 按期处置率 + 30 × 结案率) / 90 × 100 (返工率's 10 not measured: weight_covered 0.9)
#   A (60·2/3 + 30·1)/90 = 77.78   B (60·2/3 + 30·2/3)/90 = 66.67   city (60·5/7 + 30·6/7)/90 = 76.19
# ranking: A 1, B 2, C unranked (no cases: every rate None, no score)
CASES = (
    case("A1", A, t("03-02", "17:00"), t("03-02", "13:00"), s1=t("03-02", "09:00"), s2=t("03-02", "09:10"),
         s3=t("03-02", "09:30"), s5=t("03-02", "12:00"), s6=t("03-02", "13:00")),
    case("A2", A, t("03-05", "17:00"), t("03-06", "11:00"), s1=t("03-05", "09:00"), s2=t("03-05", "09:00"),
         s3=t("03-05", "12:00"), s5=t("03-06", "10:00"), s6=t("03-06", "11:00")),
    case("A3", A, t("03-10", "16:00"), t("03-10", "17:00"), s1=t("03-10", "09:00"), s2=t("03-10", "09:05"),
         s3=t("03-10", "09:20"), s5=t("03-10", "15:00"), s6=t("03-10", "17:00")),
    case("A4", A, t("04-01", "12:00"), None, s1=t("03-31", "20:00"), s2=t("03-31", "20:05"),
         s3=t("03-31", "20:10")),
    case("A5", A, t("03-20", "17:00"), None, s1=t("03-20", "09:00")),
    case("B1", B, t("03-03", "17:00"), t("03-03", "12:00"), s1=t("03-03", "09:00"), s2=t("03-03", "09:10"),
         s3=t("03-03", "09:20"), s5=t("03-03", "11:00"), s6=t("03-03", "12:00")),
    case("B2", B, t("03-16", "09:00"), None, s1=t("03-15", "09:00"), s2=t("03-15", "09:10"),
         s3=t("03-15", "10:00")),
    case("B3", B, t("02-25", "17:00"), t("03-02", "10:00"), s1=t("02-25", "09:00"), s2=t("02-25", "09:10"),
         s3=t("02-25", "09:20"), s5=t("03-02", "09:00"), s6=t("03-02", "10:00")),
    case("B4", B, t("03-25", "17:00"), t("03-25", "14:00"), s1=t("03-25", "09:00"), s6=t("03-25", "14:00")),
    case("C1", None, t("03-08", "17:00"), t("03-08", "12:00"), s1=t("03-08", "09:00"), s2=t("03-08", "09:10"),
         s3=t("03-08", "09:40"), s5=t("03-08", "11:00"), s6=t("03-08", "12:00")),
)

EXPECTED = {  # region → indicator → (numerator, denominator)
    A: {"filing_rate": (4, 5), "on_time_dispatch_rate": (3, 4), "handling_rate": (3, 3),
        "on_time_handling_rate": (2, 3), "closing_rate": (3, 3), "on_time_closing_rate": (1, 3)},
    B: {"filing_rate": (3, 3), "on_time_dispatch_rate": (3, 3), "handling_rate": (2, 3),
        "on_time_handling_rate": (2, 3), "closing_rate": (2, 3), "on_time_closing_rate": (2, 3)},
    CITY: {"filing_rate": (8, 9), "on_time_dispatch_rate": (7, 8), "handling_rate": (6, 7),
           "on_time_handling_rate": (5, 7), "closing_rate": (6, 7), "on_time_closing_rate": (4, 7)},
}
SCORES = {A: 100 * (60 * 2 / 3 + 30) / 90, B: 100 * (60 * 2 / 3 + 30 * 2 / 3) / 90,
          CITY: 100 * (60 * 5 / 7 + 30 * 6 / 7) / 90}


def run(records: tuple[CaseRecord, ...] | list[CaseRecord], config: EvaluationConfig | None = None):  # type: ignore[no-untyped-def]
    return evaluate(records, START, END, [A, B, C], CITY, config or evaluation_config(), due_in_2h)


def test_each_indicator_matches_the_hand_computation() -> None:
    ev = run(CASES)
    regions = {A: ev.counties[A], B: ev.counties[B], CITY: ev.city}
    assert (regions[A].reported, regions[B].reported, regions[CITY].reported) == (5, 3, 9)
    for code, expected in EXPECTED.items():
        for key, (num, den) in expected.items():
            v = regions[code].values[key]  # type: ignore[index]
            assert (v.numerator, v.denominator) == (num, den), (code, key)
            assert v.rate == pytest.approx(num / den), (code, key)
        rework = regions[code].values["rework_rate"]
        assert (rework.measured, rework.rate) == (False, None)


def test_the_composite_score_and_the_ranking() -> None:
    ev = run(CASES)
    assert ev.counties[A].score == pytest.approx(SCORES[A])  # 77.78
    assert ev.counties[B].score == pytest.approx(SCORES[B])  # 66.67
    assert ev.city.score == pytest.approx(SCORES[CITY])  # 76.19
    assert ev.counties[A].weight_covered == pytest.approx(0.9)
    assert [(e.rank, e.region) for e in ev.ranking] == [(1, A), (2, B), (None, C)]


def test_a_county_without_cases_has_no_rates_not_zero() -> None:
    c = run(CASES).counties[C]
    assert c.reported == 0 and c.score is None and c.weight_covered == 0
    for key in INDICATORS:
        assert c.values[key].rate is None, key
    assert c.values["filing_rate"].denominator == 0


def test_rework_is_measured_when_every_handled_case_says_and_equal_scores_share_a_rank() -> None:
    # B's cases say whether they were reworked: B1 was (a source that records it), the others were not.
    marked = [r if r.county_adcode != B else CaseRecord(r.id, B, r.opened_at, r.deadline_at, r.closed_at,
                                                         r.steps, r.id == "B1") for r in CASES]
    b = run(marked).counties[B]
    assert (b.values["rework_rate"].numerator, b.values["rework_rate"].denominator) == (1, 2)  # B1 of B1, B4
    assert b.score == pytest.approx(60 * 2 / 3 + 30 * 2 / 3 + 10 * (1 - 1 / 2))  # 65
    assert b.weight_covered == 1
    twin = [r for r in CASES if r.county_adcode == A] + [
        CaseRecord("Z" + r.id, B, r.opened_at, r.deadline_at, r.closed_at, r.steps) for r in CASES
        if r.county_adcode == A]
    assert [e.rank for e in run(twin).ranking] == [1, 1, None]


def test_without_a_dispatch_limit_on_time_dispatch_is_not_measured() -> None:
    ev = evaluate(CASES, START, END, [A], CITY, evaluation_config())
    v = ev.counties[A].values["on_time_dispatch_rate"]
    assert (v.measured, v.rate) == (False, None)


def test_the_config_refuses_an_indicator_weighted_twice() -> None:
    with pytest.raises(ValueError, match="twice"):
        EvaluationConfig.model_validate({"composite": [
            {"indicator": "closing_rate", "weight": 1, "source": "x"},
            {"indicator": "closing_rate", "weight": 2, "source": "y"}]})


def write_cases(engine: Engine) -> None:
    """The hand-made cases as rows of a real store."""
    with Session(engine) as s, s.begin():
        for r in CASES:
            s.execute(insert(Case), [{
                "id": r.id, "origin": "grid_event", "origin_id": r.id, "title": r.id, "category": "市容环境",
                "subcategory": None, "county_adcode": r.county_adcode, "department": "市城管执法局", "level": "县",
                "step": r.steps[-1][0], "opened_at": r.opened_at, "limit_hours": None,
                "deadline_at": r.deadline_at, "closed_at": r.closed_at}])
            s.execute(insert(CaseStep), [{"case_id": r.id, "step": st, "at": at, "actor": None, "note": None}
                                         for st, at in r.steps])


def test_the_store_read_returns_the_same_records(engine: Engine) -> None:
    write_cases(engine)
    with Session(engine) as s:
        records = evaluation_records(s, START, END)
    assert records == [r for r in CASES if r.id != "B3"]  # B3 was reported in February
    assert run(records) == run(CASES)


def test_the_ranking_page_shows_the_evaluation_with_each_indicator_explained(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from clock import FakeClock
    from dashboard.pages import evaluation as page
    from tests.components import nodes, texts
    from tests.dashboard.apps import app_with_themes

    ctx = app_with_themes(tmp_path, clock=FakeClock(datetime(2024, 4, 2, 9, 0, tzinfo=CST))).server.config[
        "ZQ_CONTEXT"]
    write_cases(ctx.engine)  # the hand-made cases, in this app's store
    out = page.layout(ctx, {"from": "2024-03-01", "to": "2024-03-31"}, "zh")
    rows = [n for n in nodes(out) if (getattr(n, "className", "") or "").startswith("ev-row")]
    assert [r.id for r in rows][:2] == [f"ev-{A}", f"ev-{B}"] and rows[-1].id == f"ev-{CITY}"  # ranked, city last
    first = texts(rows[0])
    assert first[:5] == ["1", "端州区", "77.8", "权重覆盖 90%", "5"]  # rank, county, score, its coverage, reports
    assert "80.0%" in first and "4/5" in first and "未计" in first  # 立案率 4/5; 返工率 not measured
    guangning = texts(next(r for r in rows if r.id == f"ev-{C}"))
    assert guangning[:4] == ["—", "广宁县", "—", "0"] and "0.0%" not in guangning  # no cases: no rates
    heads = [n for n in nodes(out) if "ev-ind" in (getattr(n, "className", "") or "")]
    assert len(heads) == len(INDICATORS)
    assert all("来源" in h.title and "=" in h.title for h in heads)  # meaning, formula and source on hover
    assert page.period_of({}, datetime(2024, 4, 2).date()) == (datetime(2024, 4, 1).date(),
                                                               datetime(2024, 4, 2).date())


def test_the_wall_panel_ranks_the_counties_with_their_indicators_on_hover(engine: Engine) -> None:
    from dashboard.panels import PanelInput, PanelRegistry, register_builtin_panels
    from dashboard.panels.evaluation import EvaluationSettings, period_days
    from measures.evaluation import period_span
    from geo import City
    from tests.components import nodes, texts

    write_cases(engine)
    reg = PanelRegistry()
    register_builtin_panels(reg)
    now = datetime(2024, 4, 2, 9, 0, tzinfo=CST)
    assert period_span(*period_days("last_month", now), now, CST) == (START, END)
    city = City.load(CITY)
    with Session(engine) as s:
        out = reg["county_evaluation"].render(PanelInput(
            session=s, lang="zh", county=B, health={}, now=now, names=dict(city.counties), city=city,
            settings=EvaluationSettings(period="last_month", top=3)))
    rows = [n for n in nodes(out.body) if "ev-panel-row" in (getattr(n, "className", "") or "")]
    # The counties without a case follow, unranked, by adcode: 高要区 (441204) first of them.
    assert [texts(r)[:2] for r in rows] == [["1", "端州区"], ["2", "鼎湖区"], ["—", "高要区"]]
    assert [texts(r)[-1] for r in rows] == ["77.8", "66.7", "—"]
    assert "ev-mine" in rows[1].className  # the wall's county
    assert "按期结案率 33.3% (1/3)" in rows[0].title and "返工率 未计" in rows[0].title
    assert "全市 76.2" in texts(out.body)[-3] and "权重覆盖 90%" in texts(out.body)[-3]
