"""综合评价 (/evaluation): the counties ranked by the evaluation of their cases over a period, each indicator
explained on hover (docs/evaluation.md). `?from=2026-11-01&to=2026-11-30` names the period (dates inclusive);
without them, this month so far."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dash import dcc, html
from sqlalchemy.orm import Session

from dashboard.context import AppContext
from dashboard.scope import current as viewer_scope
from dashboard.pages.common import breadcrumbs, header, href
from measures.evaluation import INDICATORS, Evaluation, RegionEvaluation, Value, evaluate_period
from settings import CITY_TZ
from words import Words, lang_param, pick

tx = Words("pages.evaluation")  # this module's words in the catalog (words/locale)

PATH = "/evaluation"


def period_of(params: dict[str, str], today: date) -> tuple[date, date]:
    """The period's first and last day from `from` and `to` (inclusive), else this month up to today."""
    def day(key: str) -> date | None:
        try:
            return date.fromisoformat(params.get(key, ""))
        except ValueError:
            return None

    first, last = day("from") or today.replace(day=1), day("to") or today
    return (first, last) if first <= last else (last, first)


def evaluation_for(ctx: AppContext, first: date, last: date) -> Evaluation:
    """The counties' evaluation over the period (measures.evaluation: the panel's too)."""
    with Session(ctx.engine) as s:
        return evaluate_period(s, first, last, ctx.now(), CITY_TZ, list(ctx.city.counties), ctx.city.adcode)


def _hint(key: str, lang: str) -> str:
    """What an indicator is, its formula and its source: the header's hover text."""
    i = INDICATORS[key]  # type: ignore[index]
    return (f"{pick(i.help_zh, i.help_en, lang)}\n{i.name_zh} = {i.numerator_zh} / {i.denominator_zh}\n"
            f"{tx('source', lang)}: {i.source}")


def _cell(v: Value, lang: str) -> html.Td:
    """A rate with its counts; — when there is nothing to judge, 未计 when the data cannot show it."""
    if not v.measured:
        return html.Td(tx("not_measured", lang), className="ev-none",
                       title=tx("not_recorded_by_this_store", lang))
    if v.rate is None:
        return html.Td("—", className="ev-none", title=tx("nothing_to_judge", lang))
    return html.Td([html.Span(f"{100 * v.rate:.1f}%", className="ev-rate"),
                    html.Span(f"{v.numerator}/{v.denominator}", className="ev-counts")],
                   **{"data-value": repr(v.rate)})


def _score(r: RegionEvaluation, lang: str) -> html.Td:
    if r.score is None:
        return html.Td("—", className="ev-score ev-none")
    covered = "" if r.weight_covered >= 0.999 else tx("weight_covered", lang,
                                                       p=f"{100 * r.weight_covered:.0f}")
    return html.Td([html.Span(f"{r.score:.1f}", className="ev-score-n"), html.Span(covered, className="ev-counts")],
                   className="ev-score", **{"data-value": repr(r.score)},
                   title=tx("score_weight_indicator_weight_over", lang))


def table(ctx: AppContext, ev: Evaluation, lang: str, visible: frozenset[str] | None = None) -> html.Table:
    """Counties by rank, then the city; each indicator's header explains it on hover. A county user sees their
    counties' rows (with their rank among all) and not the city's."""
    keys = list(INDICATORS)
    head = html.Tr([html.Th(tx("rank", lang)), html.Th(tx("county", lang)),
                    html.Th(tx("score", lang)), html.Th(tx("reports", lang)),
                    *[html.Th(pick(INDICATORS[k].name_zh, INDICATORS[k].name_en, lang), title=_hint(k, lang),
                              className="ev-ind") for k in keys]])
    keep = {"lang": lang_param(lang)}

    def row(r: RegionEvaluation, rank: int | None, cls: str) -> html.Tr:
        name = ctx.county_name(r.region, lang) if r.region != ctx.city.adcode else tx("city", lang)
        place = dcc.Link(name, href=href(f"/county/{r.region}", **keep)) if r.region != ctx.city.adcode else name
        return html.Tr(className=cls, id=f"ev-{r.region}", children=[
            html.Td("—" if rank is None else str(rank), className="ev-rank"), html.Td(place, className="ev-name"),
            _score(r, lang), html.Td(str(r.reported)), *[_cell(r.values[k], lang) for k in keys]])  # type: ignore[index]

    body = [row(ev.counties[e.region], e.rank, "ev-row") for e in ev.ranking if visible is None or e.region in visible]
    if visible is None:
        body.append(row(ev.city, None, "ev-row ev-city"))
    return html.Table([html.Thead(head), html.Tbody(body)], className="ev-table", id="evaluation-table")


def layout(ctx: AppContext, params: dict[str, str], lang: str) -> html.Div:
    """The page for the period the URL names."""
    today = ctx.now().astimezone(CITY_TZ).date()
    first, last = period_of(params, today)
    ev = evaluation_for(ctx, first, last)
    keep = {"lang": lang_param(lang)}
    month = today.replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    periods = [(tx("this_month", lang), month, today),
               (tx("last_month", lang), previous, month - timedelta(days=1)),
               (tx("this_year", lang), today.replace(month=1, day=1), today)]
    links = [dcc.Link(name, href=href(PATH, **{"from": a.isoformat(), "to": b.isoformat()}, **keep),
                      className="bar-link" + (" active" if (a, b) == (first, last) else ""))
             for name, a, b in periods]
    title = tx("comprehensive_evaluation_counties", lang)
    return html.Div(className="wall drill detail", children=[
        header(ctx, PATH, lang, None),
        html.Div(className="drill-bar", children=[breadcrumbs(ctx, lang, leaf=title), *links,
                                                  html.H1(title, id="evaluation-title")]),
        html.Main(className="detail-grid single", children=[html.Section(className="panel", children=[
            html.Header(className="panel-head", children=[
                html.H2(tx("cases_reported", lang, first=first.isoformat(),
                           last=last.isoformat()), id="evaluation-period"),
                html.Span(tx("hover_a_header_for_its", lang),
                          className="panel-meta")]),
            html.Div(table(ctx, ev, lang, viewer_scope()), className="panel-body scroll ev-wrap")])]),
    ])


__all__: list[Any] = ["PATH", "evaluation_for", "layout", "period_of", "table"]
