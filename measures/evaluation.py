"""The comprehensive evaluation (综合评价) of counties over a period: indicators from the case records, a score.

Definitions, formulas and sources: docs/evaluation.md. `evaluate` is pure over the records
(store.evaluation_queries.evaluation_records); `evaluate_period` reads them for a period of days. To judge 按期派遣
the caller passes the dispatch due time as a function (the working calendar lives in alerts, above this layer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from store.evaluation_queries import CaseRecord, evaluation_records
from topics.evaluation import EvaluationConfig, IndicatorKey, evaluation_config
from words import Words

WORDS = Words("evaluation")  # the indicators' names (<key>) and what each means (<key>.help)

FILED, DISPATCHED, HANDLED = 2, 3, 5  # 案卷建立, 任务派遣, 处理反馈 (feeds.payloads.WORKFLOW_STEPS)


@dataclass(frozen=True)
class Indicator:
    """An indicator's definition: names, formula in counts, which way is better, where it comes from."""

    key: IndicatorKey
    name_zh: str
    name_en: str
    numerator_zh: str
    denominator_zh: str
    higher_is_better: bool
    help_zh: str
    help_en: str
    source: str


INDICATORS: Mapping[IndicatorKey, Indicator] = {i.key: i for i in (
    Indicator("filing_rate", *WORDS.both("filing_rate"), "立案数", "上报数", True,
              *WORDS.both("filing_rate.help"),
              "CJ/T 292 区域评价；eGova 区域评价统计（上报数、立案数）"),
    Indicator("on_time_dispatch_rate", *WORDS.both("on_time_dispatch_rate"), "按期派遣数", "应派遣数", True,
              *WORDS.both("on_time_dispatch_rate.help"),
              "CJ/T 292 指挥中心评价；eGova 派遣员考核（应派遣数、按时派遣数）"),
    Indicator("handling_rate", *WORDS.both("handling_rate"), "处置数", "应处置数", True,
              *WORDS.both("handling_rate.help"),
              "eGova 区域评价 disposalRate = 处置数 / 应处置数"),
    Indicator("on_time_handling_rate", *WORDS.both("on_time_handling_rate"), "按期处置数", "应处置数", True,
              *WORDS.both("on_time_handling_rate.help"),
              "eGova 部门评价 handlerInTimeRate = 按时处置数 / 应处置数"),
    Indicator("closing_rate", *WORDS.both("closing_rate"), "结案数", "应结案数", True,
              *WORDS.both("closing_rate.help"),
              "eGova 区域评价 closedRate = 结案数 / 应结案数；天门市数字城管通报"),
    Indicator("on_time_closing_rate", *WORDS.both("on_time_closing_rate"), "按期结案数", "应结案数", True,
              *WORDS.both("on_time_closing_rate.help"),
              "eGova 区域评价 closedInTimeRate = 按期结案数 / 应结案数；天门市、金华市办法"),
    Indicator("rework_rate", *WORDS.both("rework_rate"), "返工数", "处置数", False,
              *WORDS.both("rework_rate.help"),
              "eGova 部门评价 reworkRate = 返工数 / 处置数；金华市办法（未通过核查发回重新处置）"),
)}


@dataclass(frozen=True)
class Value:
    """One indicator of one region: its counts and rate; rate None when nothing is to be judged or unmeasured."""

    numerator: int | None
    denominator: int | None
    rate: float | None
    measured: bool = True  # False: the data cannot show it (rework here); never read as 0


@dataclass(frozen=True)
class RegionEvaluation:
    """A county's (or the city's) indicators, its reports and filings, and its composite score (0–100)."""

    region: str
    reported: int
    values: Mapping[IndicatorKey, Value]
    score: float | None
    weight_covered: float  # share of the configured weight that had a value (1.0: every weighted indicator)


@dataclass(frozen=True)
class RankEntry:
    """A county's place: rank (ties share one; None without a score) and its score."""

    rank: int | None
    region: str
    score: float | None


@dataclass(frozen=True)
class Evaluation:
    """The period's evaluation: each county, the city, and the counties ranked by score."""

    start: datetime
    end: datetime
    counties: Mapping[str, RegionEvaluation]
    city: RegionEvaluation
    ranking: tuple[RankEntry, ...]
    newest: datetime | None = None  # the newest step of the cases read: the data time a panel shows


def _value(num: int, den: int) -> Value:
    """A rate of counts; no rate when there is nothing to count (a county without cases is unknown, not 0 %)."""
    return Value(num, den, num / den if den else None)


def _within(t: datetime | None, limit: datetime | None) -> bool:
    """Whether a step's time is known and at or before a limit that is known."""
    return t is not None and limit is not None and t <= limit


def region_values(records: Sequence[CaseRecord], end: datetime,
                  dispatch_due: Callable[[datetime], datetime] | None) -> dict[IndicatorKey, Value]:
    """Every indicator over the records of one region's cohort, judged at `end`."""
    def by(t: datetime | None) -> bool:
        return t is not None and t < end

    filed = [r for r in records if by(r.at(FILED))]
    values: dict[IndicatorKey, Value] = {"filing_rate": _value(len(filed), len(records))}

    if dispatch_due is None:
        values["on_time_dispatch_rate"] = Value(None, None, None, measured=False)
    else:
        # Due to dispatch: dispatched by the end, or its dispatch limit passed by then (late either way).
        due = [(r, dispatch_due(t)) for r in filed if (t := r.at(FILED)) is not None]  # (every filed one has)
        due = [(r, d) for r, d in due if by(r.at(DISPATCHED)) or d < end]
        on_time = sum(1 for r, d in due if by(r.at(DISPATCHED)) and _within(r.at(DISPATCHED), d))
        values["on_time_dispatch_rate"] = _value(on_time, len(due))

    def past_deadline(r: CaseRecord) -> bool:
        return r.deadline_at is not None and r.deadline_at < end

    # 应处置: dispatched, and handled or past its deadline by the end; a case still within its time is not judged.
    to_handle = [r for r in filed if by(r.at(DISPATCHED)) and (by(r.at(HANDLED)) or past_deadline(r))]
    handled = [r for r in to_handle if by(r.at(HANDLED))]
    values["handling_rate"] = _value(len(handled), len(to_handle))
    values["on_time_handling_rate"] = _value(
        sum(1 for r in handled if _within(r.at(HANDLED), r.deadline_at)),
        len(to_handle))

    # 应结案: filed, and closed or past its deadline by the end.
    to_close = [r for r in filed if by(r.closed_at) or past_deadline(r)]
    closed = [r for r in to_close if by(r.closed_at)]
    values["closing_rate"] = _value(len(closed), len(to_close))
    values["on_time_closing_rate"] = _value(
        sum(1 for r in closed if _within(r.closed_at, r.deadline_at)),
        len(to_close))

    # Rework is judged only when every handled case says whether it was reworked: an unknown is not a "no".
    signals = [r.reworked for r in handled]
    values["rework_rate"] = (Value(None, None, None, measured=False) if any(x is None for x in signals)
                             else _value(sum(1 for x in signals if x), len(handled)))
    return values


def composite(values: Mapping[IndicatorKey, Value], config: EvaluationConfig) -> tuple[float | None, float]:
    """The weighted score (0–100) over the weighted indicators that have a rate, and the share of weight they hold."""
    total = sum(w.weight for w in config.composite)
    got = [(w.weight, INDICATORS[w.indicator], rate) for w in config.composite
           if (rate := values[w.indicator].rate) is not None]
    covered = sum(w for w, _, _ in got)
    if not covered:
        return None, 0.0
    score = sum(w * (rate if ind.higher_is_better else 1 - rate) for w, ind, rate in got)
    return 100 * score / covered, covered / total


def rank(counties: Iterable[RegionEvaluation]) -> tuple[RankEntry, ...]:
    """Counties by score, best first; equal scores share a rank (1, 1, 3); counties without a score last, unranked."""
    scored = sorted(((c.score, c.region) for c in counties if c.score is not None),
                    key=lambda s: (-s[0], s[1]))
    out: list[RankEntry] = []
    previous: float | None = None
    for i, (score, region) in enumerate(scored):
        same = previous is not None and abs(previous - score) < 1e-9
        out.append(RankEntry(out[-1].rank if same else i + 1, region, score))
        previous = score
    out += [RankEntry(None, c.region, None) for c in sorted(counties, key=lambda c: c.region) if c.score is None]
    return tuple(out)


def evaluate(records: Iterable[CaseRecord], start: datetime, end: datetime, counties: Sequence[str], city: str,
             config: EvaluationConfig,
             dispatch_due: Callable[[datetime], datetime] | None = None) -> Evaluation:
    """Evaluate the cases reported in [start, end), judged at `end` (pass the present for a running period).

    `counties` are every county to show, with or without cases; the city's figures count all cases, those in no
    county too. `dispatch_due(filed_at)` gives when a case filed then must be dispatched; without it 按期派遣率
    is not measured.
    """
    records = list(records)
    cohort = [r for r in records if start <= r.reported_at < end]

    def region(code: str, rows: Sequence[CaseRecord]) -> RegionEvaluation:
        values = region_values(rows, end, dispatch_due)
        score, covered = composite(values, config)
        return RegionEvaluation(code, len(rows), values, score, covered)

    per = {c: region(c, [r for r in cohort if r.county_adcode == c]) for c in counties}
    counties_list = list(per.values())
    newest = max((at for r in records for _, at in r.steps), default=None)
    return Evaluation(start, end, per, region(city, cohort), rank(counties_list), newest)


def period_span(first: date, last: date, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """Days first..last (inclusive) as [start, end) in the city's zone; a period running into the future is judged
    now."""
    start = datetime.combine(first, time(), tz)
    return start, min(datetime.combine(last + timedelta(days=1), time(), tz), now)


def evaluate_period(session: Session, first: date, last: date, now: datetime, tz: tzinfo, counties: Sequence[str],
                    city: str) -> Evaluation:
    """The counties' evaluation over days first..last, read from the store (one query): what the /evaluation page
    and the county_evaluation panel both show."""
    start, end = period_span(first, last, now, tz)
    return evaluate(evaluation_records(session, start, end), start, end, counties, city, evaluation_config())
