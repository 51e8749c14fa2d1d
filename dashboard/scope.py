"""County scope (row level): which counties the signed-in user sees, which county a page or a callback's input
belongs to, and the server-side guard that answers 无权访问 (403) for another county's page or data.

A user bound to counties (`users add --county`) sees those counties only: their pages, their things (devices,
grid cells, cases, alarms), and on city-wide pages their counties' figures with the others outlined and blank.
City-level users, and everyone when sign-in is off, see the whole city.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

import orjson
from dash import html
from flask import Flask, Response, has_request_context, request, session
from sqlalchemy.orm import Session

from dashboard import auth, ids
from dashboard.auth import sees  # noqa: F401 — the scope's rule, named here for the pages
from dashboard.context import AppContext
from dashboard.urls import query
from layers.choropleth import Shading
from store import scope_queries as sq
from words import Words

tx = Words("scope")  # this module's words in the catalog (words/locale)

FORBIDDEN = "无权访问"
FORBIDDEN_EN = "Access denied"
MASKED_FILL = "#141d2e"  # another county's area on a scoped map: outlined, no figure

Scope = frozenset[str] | None


def current() -> Scope:
    """The signed-in user's counties (None: the whole city; also outside a request and with sign-in off)."""
    if not has_request_context():
        return None
    return auth.county_scope(session.get("user"))


def first(scope: Scope) -> str | None:
    """The county a scoped user's city-wide views open on (None for a city-level user)."""
    return min(scope) if scope else None


# ---- what a path belongs to ------------------------------------------------------------------------------------

CITY_ONLY = ("/consistency",)  # city-wide tools with nothing to filter per county


def path_county(ctx: AppContext, path: str) -> tuple[bool, str | None]:
    """(belongs to one county?, which): a county's page, or a device, grid cell or case page (its county; None when
    it is unknown); (False, None) for a city-wide page, which filters itself."""
    path = path.rstrip("/") or "/"
    for prefix, resolve in (("/county/", lambda ident, s: ident),
                            ("/device/", lambda ident, s: sq.device_county(s, ident)),
                            ("/case/", lambda ident, s: sq.case_county(s, ident)),
                            ("/grid/", lambda ident, s: _cell_county(ctx, ident))):
        if path.startswith(prefix):
            ident = unquote(path.removeprefix(prefix))
            with Session(ctx.engine) as s:
                return True, resolve(ident, s)
    return False, None


def _cell_county(ctx: AppContext, grid_id: str) -> str | None:
    cell = ctx.grids.get().get(grid_id)
    return None if cell is None else cell.get("county_adcode")


def allowed_path(ctx: AppContext, scope: Scope, path: str, search: str | None = None) -> bool:
    """Whether a scope may open a page (path and query): its own counties' pages and things, and the city-wide
    pages (which show it its counties only); a wall or map asked for another county (?county=) is refused."""
    if scope is None:
        return True
    if (path.rstrip("/") or "/") in CITY_ONLY:
        return False
    county = query(search).get("county")
    if county is not None and county not in scope:
        return False
    one, of = path_county(ctx, path)
    return not one or of in scope


def forbidden(lang: str) -> html.Div:
    """The page a user sees where their scope does not reach."""
    return html.Div(className="forbidden", children=[
        html.H2(tx("forbidden_title", lang, forbidden=FORBIDDEN), id="forbidden"),
        html.P(tx("forbidden_why", lang)),
        html.A("返回 / back", href="/")])


FORBIDDEN_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{margin:0;background:#0b1220;color:#d8e1ee;font:16px/1.6 "Noto Sans CJK SC",sans-serif;display:flex;
justify-content:center;padding:12vh 16px}}main{{max-width:32rem}}h1{{font-size:1.6rem;margin:0 0 .5rem;color:#ff8a80}}
a{{color:#4fc3f7;display:inline-block;padding:.5rem .2rem;min-height:44px}}</style></head><body><main>
<h1>{title} / {title_en}</h1><p>此页面属于您无权查看的区县。<br>This page belongs to a county you may not see.</p>
<p>{links}</p></main></body></html>"""


def forbidden_html(ctx: AppContext, scope: frozenset[str]) -> str:
    """The 403 page a scoped user gets for another county's URL, with links to their own counties."""
    links = " · ".join(f'<a href="/county/{c}">{ctx.county_name(c, "zh")}</a>' for c in sorted(scope))
    return FORBIDDEN_PAGE.format(title=FORBIDDEN, title_en=FORBIDDEN_EN, links=f'<a href="/">大屏 / wall</a> · {links}')


# ---- a scoped map ----------------------------------------------------------------------------------------------

def mask(shading: Shading, scope: Scope, names: dict[str, str]) -> Shading:
    """The shading with the counties outside the scope blank: outlined, named on hover, no colour or figure."""
    if scope is None:
        return shading
    others = [a for a in shading.colours if a not in scope]
    return replace(shading,
                   colours={**shading.colours, **{a: MASKED_FILL for a in others}},
                   labels={a: ("" if a in others else text) for a, text in shading.labels.items()},
                   hover={a: (f"{names.get(a, a)} · {FORBIDDEN}" if a in others else text)
                          for a, text in shading.hover.items()})


# ---- the guard on data callbacks -------------------------------------------------------------------------------

# Inputs and states that name what a callback shows, with how to find its county: (component id, property) →
# a check of the value against a scope. Pages bind theirs (`bind`); the URL's are bound here.
Check = Callable[[AppContext, frozenset[str], Any], bool]
_BOUND: dict[tuple[str, str], Check] = {}


def bind(component: str, prop: str, check: Check) -> None:
    """Have the guard check a callback input or state (id, property) against the caller's scope."""
    _BOUND[(component, prop)] = check


def county_value(ctx: AppContext, scope: frozenset[str], value: Any) -> bool:
    """A value that is a county's adcode (or the city's, which the page filters itself)."""
    return value in scope or value in (None, "", ctx.city.adcode, "city")


def case_value(ctx: AppContext, scope: frozenset[str], value: Any) -> bool:
    """A value that is a case's id."""
    with Session(ctx.engine) as s:
        return sq.case_county(s, str(value)) in scope


bind(ids.URL, "pathname", lambda ctx, scope, value: allowed_path(ctx, scope, str(value or "/")))
bind(ids.URL, "search", lambda ctx, scope, value: query(value).get("county") in (None, *scope))
bind(ids.COUNTY_ADCODE, "data", county_value)  # the county page's tick
bind(ids.DRILL_SCOPE, "data", county_value)  # a drill map's redraw and clicks


def _values(body: dict[str, Any]) -> Iterable[tuple[str, str, Any]]:
    for group in (body.get("inputs") or [], body.get("state") or []):
        for item in group:
            for one in (item if isinstance(item, list) else [item]):  # pattern-matching inputs come as lists
                if isinstance(one, dict) and isinstance(one.get("id"), str):
                    yield one["id"], str(one.get("property")), one.get("value")


def refused(ctx: AppContext, scope: frozenset[str], body: dict[str, Any]) -> str | None:
    """Which bound input of a callback request lies outside the scope (None: none does)."""
    for component, prop, value in _values(body):
        check = _BOUND.get((component, prop))
        if check is not None and not check(ctx, scope, value):
            return f"{component}.{prop}={value}"
    return None


def register(server: Flask, ctx: AppContext, route_output: str) -> None:
    """Guard pages and data callbacks: another county's page answers 403 无权访问, and so does any data callback
    whose bound inputs name another county's thing. The page router (`route_output`) renders the refusal itself,
    so a click within the app shows 无权访问 too."""

    @server.before_request
    def guard() -> Response | None:
        scope = current()
        if scope is None:
            return None
        if request.method == "GET" and not request.path.startswith(("/_", "/assets/", "/admin/")):
            if not allowed_path(ctx, scope, request.path, request.query_string.decode()):
                return Response(forbidden_html(ctx, scope), status=403, mimetype="text/html")
            return None
        if request.method != "POST" or request.path != "/_dash-update-component":
            return None
        try:
            body = orjson.loads(request.get_data(cache=True))
        except orjson.JSONDecodeError:
            return None  # Dash answers a broken body itself
        if not isinstance(body, dict) or body.get("output") == route_output:
            return None
        what = refused(ctx, scope, body)
        if what is None:
            return None
        return Response(orjson.dumps({"error": FORBIDDEN, "detail": f"outside your counties: {what}"}), status=403,
                        mimetype="application/json")
