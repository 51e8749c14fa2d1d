"""Grid-case panels: open cases by kind (部件/事件) and top-level class of CJJ/T 106, and top subcategories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from dash import html

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType, figure
from measures.cases import OPEN_CASES_KEY
from feeds.payloads import COMPONENT_CATEGORIES, EVENT_CATEGORIES
from store.env_queries import ClassCount, events_updated_at, open_events_by_class
from words import Words, html_lang, t

# The standard's two kinds (部件, 事件) and their top-level classes, by their Chinese names (the data's own);
# their words are the catalog's `case_class` context, keyed "kind" or "kind/class".
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (("部件", COMPONENT_CATEGORIES), ("事件", EVENT_CATEGORIES))
CASE_CLASS = Words("case_class")


def class_name(kind: str, category: str | None, lang: str) -> str:
    """A kind's (category None) or a top-level class's short name in a language; an unknown one as written."""
    key = kind if category is None else f"{kind}/{category}"
    return CASE_CLASS.get(key, lang, category or kind)


tx = Words("panels.cases")  # this module's words in the catalog (words/locale)
PANEL = Words("panel")  # the built-in panel types' titles, by their names


@dataclass(frozen=True)
class KindView:
    """One kind's open cases per class, in the standard's order (classes outside it after)."""

    kind: str
    total: int
    classes: list[tuple[str, int]]


def class_view(counts: Sequence[ClassCount]) -> list[KindView]:
    """Open cases per kind and class; the standard's classes are always listed so bars keep their places."""
    per: Counter[tuple[str, str]] = Counter()
    for c in counts:
        per[(c.kind, c.category)] += c.count
    out = []
    for kind, standard in KINDS:
        extra = sorted(cat for k, cat in per if k == kind and cat not in standard)
        # The 扩展 (local extension) classes are listed only when a city uses them: rows are scarce.
        shown = [cat for cat in standard if not cat.startswith("扩展") or per.get((kind, cat))]
        classes = [(cat, per.get((kind, cat), 0)) for cat in (*shown, *extra)]
        out.append(KindView(kind, sum(n for _, n in classes), classes))
    return out


def top_subcategories(counts: Sequence[ClassCount], n: int = 4) -> list[tuple[str, int]]:
    """The n subcategories with most open cases (a case without one counts under its class)."""
    per: Counter[str] = Counter()
    for c in counts:
        per[c.subcategory or c.category] += c.count
    return sorted(per.items(), key=lambda x: (-x[1], x[0]))[:n]


def render_grid_categories(inp: PanelInput) -> PanelOutput:
    """Open grid cases by kind and top-level class as horizontal bars, and the top subcategories."""
    counts = open_events_by_class(inp.session, inp.county)
    updated = events_updated_at(inp.session, inp.county)
    if not counts and updated is None:
        return PanelOutput(html.Div(t("no_data", inp.lang), className="empty"), None)
    lang = inp.lang
    kinds = class_view(counts)
    region = inp.county or inp.city.adcode
    got = inp.measures.value(inp.session, OPEN_CASES_KEY, region, inp.now)  # the one count of open cases
    total = int(got.value) if got is not None else sum(k.total for k in kinds)
    top = max((n for k in kinds for _, n in k.classes), default=0) or 1
    subs = top_subcategories(counts)
    head = html.Div(className="ev-gc-top", children=[
        html.Div(className="big-number", children=[
            html.Span(str(total), className="value", **figure(inp, OPEN_CASES_KEY, region, total)),
            html.Span(f" {tx('open', lang)}", className="unit")]),
        html.Div(className="ev-subcats", children=[
            html.Span(tx("top_sub", lang), className="ev-subcats-label"),
            *[html.Span(className="tag ev-chip", children=[html.Span(name), html.B(f" {n}")])
              for name, n in subs],
        ]),
    ])
    columns = []
    for kv in kinds:
        rows = [html.Div(className="ev-kind-head", children=[
            html.Span(class_name(kv.kind, None, lang)), html.Span(str(kv.total), className="ev-bar-num")])]
        for cat, n in kv.classes:
            rows.append(html.Div(className="ev-bar-row" + ("" if n else " zero"), children=[
                html.Span(class_name(kv.kind, cat, lang), className="ev-bar-label"),
                html.Div(className="ev-bar", children=html.Div(
                    className="ev-fill " + ("component" if kv.kind == "部件" else "event"),
                    style={"width": f"{100 * n / top:.0f}%"})),
                html.Span(str(n), className="ev-bar-num"),
            ]))
        columns.append(html.Div(rows, className="ev-kind"))
    body = html.Div(className="ev-gc", lang=html_lang(lang), children=[
        head, html.Div(columns, className="ev-kinds"), html.Div(tx("note", lang), className="footnote")])
    return PanelOutput(body, updated)


CASE_PANELS = (
    PanelType("grid_categories", *PANEL.both("grid_categories"), "grid_event", render_grid_categories),
)


def register_case_panels(registry: PanelRegistry) -> None:
    """Register the grid-case panels (grid_categories) through the public registry call."""
    for panel in CASE_PANELS:
        registry.register(panel)
