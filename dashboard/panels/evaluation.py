"""综合评价 on the wall: the counties ranked by the evaluation of their cases (docs/evaluation.md), each county's
indicators, their meanings and formulas on hover; the full table is /evaluation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Literal

from dash import dcc, html
from pydantic import Field

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType
from dashboard.panels.settings import PanelSettings
from measures.evaluation import INDICATORS, RegionEvaluation, evaluate_period
from settings import CITY_TZ
from words import Words, pick, t

DESC = Words("settings")  # the settings' descriptions, both languages in one (the editor and the schemas)

tx = Words("panels.evaluation")  # this module's words in the catalog (words/locale)
PANEL = Words("panel")  # the built-in panel types' titles, by their names

Period = Literal["month", "last_month", "year"]


class EvaluationSettings(PanelSettings):
    """Which period the ranking covers and how many counties it lists."""

    period: Period = Field("month", description=DESC.pair("EvaluationSettings.period"))
    top: int = Field(8, ge=1, le=30, description=DESC.pair("EvaluationSettings.top"))


def period_days(period: Period, now: datetime) -> tuple[date, date]:
    """The period's first and last day in city time (a running period ends today)."""
    today = now.astimezone(CITY_TZ).date()
    month = today.replace(day=1)
    if period == "last_month":
        return (month - timedelta(days=1)).replace(day=1), month - timedelta(days=1)
    if period == "year":
        return today.replace(month=1, day=1), today
    return month, today


def indicators_text(r: RegionEvaluation, lang: str) -> str:
    """A county's indicators with their counts and what each means: the row's hover text."""
    lines = []
    for key, ind in INDICATORS.items():
        v = r.values[key]
        shown = (t("not_measured", lang) if not v.measured else "—" if v.rate is None
                 else f"{100 * v.rate:.1f}% ({v.numerator}/{v.denominator})")
        lines.append(f"{pick(ind.name_zh, ind.name_en, lang)} {shown} — {pick(ind.help_zh, ind.help_en, lang)}")
    return "\n".join(lines)


def render_evaluation(inp: PanelInput) -> PanelOutput:
    """The counties by score, best first, each with its score bar; hover a row for its indicators."""
    s: EvaluationSettings = inp.settings or EvaluationSettings()
    lang = inp.lang
    ev = evaluate_period(inp.session, *period_days(s.period, inp.now), inp.now, CITY_TZ, list(inp.city.counties),
                         inp.city.adcode)
    rows = []
    for entry in [e for e in ev.ranking if inp.sees(e.region)][:s.top]:
        r = ev.counties[entry.region]
        score = r.score
        rows.append(html.Li(className="row ev-panel-row" + (" ev-mine" if entry.region == inp.county else ""),
                            title=indicators_text(r, lang), children=[
            html.Span("—" if entry.rank is None else str(entry.rank), className="ev-rank"),
            html.Span(inp.names.get(entry.region, entry.region), className="name"),
            html.Span(className="ev-bar", children=html.I(style={"width": f"{score or 0:.0f}%"})),
            html.Span("—" if score is None else f"{score:.1f}", className="num",
                      **{"data-value": "" if score is None else repr(score)}),
        ]))
    covered = ev.city.weight_covered
    if inp.visible is not None:  # a county user: not the city's figure either
        ev = replace(ev, city=replace(ev.city, score=None))
    foot = tx("score_foot", lang, covered=f"{100 * covered:.0f}",
              score="—" if ev.city.score is None else f"{ev.city.score:.1f}")
    body = [html.Ul(rows, className="rows ev-panel"),
            html.Div([foot, " · ", dcc.Link(tx("all_indicators", lang), href="/evaluation")],
                     className="footnote")]
    return PanelOutput(body, ev.newest)


EVALUATION_PANELS = (
    PanelType("county_evaluation", *PANEL.both("county_evaluation"), "grid_event", render_evaluation,
              EvaluationSettings),
)


def register_evaluation_panels(registry: PanelRegistry) -> None:
    """Register the evaluation panel through the public registry call."""
    for panel in EVALUATION_PANELS:
        registry.register(panel)
