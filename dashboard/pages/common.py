"""Pieces every page shares: the header with theme tabs, clock and feed status, and URL helpers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from dash import dcc, html

from dashboard import ids
from dashboard.context import AppContext
from dashboard.i18n import pick, t
from feeds.health import FeedHealth
from topics import THEMES


def query(search: str | None) -> dict[str, str]:
    """The URL's query string as a flat dict (first value of each key)."""
    return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v}


def href(path: str, **params: str | None) -> str:
    """A link with the given query parameters (None drops one)."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def status_chips(health: dict[str, FeedHealth], dead_letters: int, lang: str) -> list[html.Span]:
    """Header chips: how many feeds are live, how many messages were refused."""
    ok = sum(1 for h in health.values() if not h.stale)
    return [
        html.Span(t("feeds_ok", lang, ok=ok, total=len(health)),
                  className="chip-status " + ("ok" if ok == len(health) else "warn")),
        html.Span(t("dead_letters", lang, n=dead_letters), className="chip-status " + ("warn" if dead_letters else "ok")),
    ]


def header(ctx: AppContext, path: str, lang: str, theme_key: str | None) -> html.Header:
    """City name, the five theme tabs, live status and clock."""
    other = "en" if lang != "en" else "zh"
    tabs = [dcc.Link(pick(th.name_zh, th.name_en, lang), href=href("/", theme=th.key, lang=lang),
                     className="tab" + (" active" if th.key == theme_key else ""), id=f"tab-{th.key}")
            for th in THEMES]
    return html.Header(className="wall-header", lang="en" if lang == "en" else "zh-CN", children=[
        html.Div(className="brand", children=[
            html.H1(t("app_title", lang)), html.Div(t("app_subtitle", lang), className="subtitle")]),
        html.Nav(tabs, className="tabs"),
        html.Div(className="header-right", children=[
            html.Div(id=ids.STATUS, className="status"),
            html.Div(id=ids.CLOCK, className="clock"),
            dcc.Link(t("lang_switch", lang), href=href(path, theme=theme_key, lang=other), className="lang"),
        ]),
    ])
