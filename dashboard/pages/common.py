"""Pieces every page shares: the view a URL names, the header with tabs, status, weather and clock."""

from __future__ import annotations

from dataclasses import dataclass, replace

from dash import dcc, html

from dashboard import ids
from dashboard.context import AppContext
from dashboard.status import Conditions
from dashboard.urls import href
from dashboard.urls import query as query  # re-exported: the pages read a URL through common
from feeds.health import FeedHealth
from topics import THEMES
from words import html_lang, lang_param, norm, other_lang, pick, t

THEME_KEYS = tuple(th.key for th in THEMES)


@dataclass(frozen=True)
class View:
    """Everything a wall URL says: language, theme, county, kiosk mode and the rotation that moves them.

    `?themes=a,b&rotate=30` rotates those themes every 30 s; `&counties=1` rotates the (first) theme through
    the counties instead. The slot shown is a function of the clock, so a reload, or a second screen, lands
    on the same view.
    """

    lang: str = "zh"
    theme: str = THEME_KEYS[0]
    county: str | None = None
    kiosk: bool = False
    themes: tuple[str, ...] = THEME_KEYS
    rotate_s: float = 0.0
    counties: bool = False
    layout: tuple[int, int] | None = None  # ?layout=3x1: screens across × down of a spliced wall (else the viewport's)
    tile: tuple[int, int] | None = None  # ?tile=2/3: this browser drives screen 2 of 3 across, one layout for all
    # The counties the viewer may see (None: the whole city): not in the URL, the signed-in user's (dashboard/scope.py).
    visible: frozenset[str] | None = None

    @property
    def wide(self) -> bool | None:
        """Whether the wall is laid out for a splice of 3:1 or wider (None: the viewport's shape decides)."""
        if self.tile is not None:
            return self.tile[1] * 16 / 9 >= 3
        if self.layout is not None:
            across, down = self.layout
            return across * 16 / (down * 9) >= 3
        return None

    def classes(self) -> str:
        """The wall element's classes for the layout this URL names."""
        out = ["wall"] + (["kiosk"] if self.kiosk else [])
        if self.wide is not None:
            out.append("layout-wide" if self.wide else "layout-standard")
        if self.tile is not None:
            out += [f"tiles-{self.tile[1]}", f"tile-{self.tile[0]}"]
        return " ".join(out)

    def params(self, **changes: object) -> dict[str, str | None]:
        """The URL parameters of this view (or of a changed copy), defaults left out."""
        v = replace(self, **changes) if changes else self
        return {
            "theme": v.theme, "county": v.county, "lang": lang_param(v.lang),
            "kiosk": "1" if v.kiosk else None,
            "themes": ",".join(v.themes) if v.themes != THEME_KEYS else None,
            "rotate": f"{v.rotate_s:g}" if v.rotate_s else None, "counties": "1" if v.counties else None,
            "layout": f"{v.layout[0]}x{v.layout[1]}" if v.layout else None,
            "tile": f"{v.tile[0]}/{v.tile[1]}" if v.tile else None,
        }


MAX_TILES = 4  # screens across that one URL per screen can drive (wall.css has a rule for each)


def _pair(text: str | None, sep: str) -> tuple[int, int] | None:
    """Two small positive whole numbers written a<sep>b, or None."""
    parts = (text or "").split(sep)
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    a, b = int(parts[0]), int(parts[1])
    return (a, b) if 1 <= a <= 12 and 1 <= b <= 12 else None


def parse_view(params: dict[str, str], default_lang: str, counties: set[str],
               keys: tuple[str, ...] = THEME_KEYS, visible: frozenset[str] | None = None) -> View:
    """The view a URL names (keys: the themes there are now); unknown values fall back to defaults. A viewer who
    sees some counties only (`visible`) is shown one of theirs: the one named, else the first."""
    themes = tuple(k for k in params.get("themes", "").split(",") if k in keys) or keys
    theme = params.get("theme") if params.get("theme") in keys else themes[0]
    try:
        rotate = max(0.0, float(params.get("rotate", "0")))
    except ValueError:
        rotate = 0.0
    county = params.get("county") if params.get("county") in counties else None
    if visible is not None and county not in visible:
        county = min(visible)
    tile = _pair(params.get("tile"), "/")
    if tile is not None and not (tile[0] <= tile[1] <= MAX_TILES):
        tile = None
    return View(lang=norm(params.get("lang", default_lang)), theme=theme, county=county,
                kiosk=params.get("kiosk") in ("1", "true", "yes"), themes=themes, rotate_s=rotate,
                counties=params.get("counties") in ("1", "true", "yes"), layout=_pair(params.get("layout"), "x"),
                tile=tile, visible=visible)


def status_chips(health: dict[str, FeedHealth], dead_letters: int, conditions: Conditions | None,
                 lang: str) -> list[html.Span]:
    """Header chips: weather, active warnings, live feeds, refused messages."""
    stale = sum(1 for h in health.values() if h.stale)
    chips = []
    if conditions is not None:
        if conditions.air_temp_c is not None:
            chips.append(html.Span(t("weather", lang, t=conditions.air_temp_c, h=conditions.humidity_pct or 0),
                                   className="chip-status info", id="weather-chip"))
        chips.append(html.Span(t("warnings", lang, n=conditions.warnings),
                               className="chip-status " + ("alert" if conditions.warnings else "ok"),
                               id="warnings-chip"))
    chips += [
        html.Span(t("feeds_stale", lang, n=stale, total=len(health)) if stale else t("feeds_ok", lang, ok=len(health),
                                                                                     total=len(health)),
                  className="chip-status " + ("warn" if stale else "ok"), id="feeds-chip"),
        html.Span(t("dead_letters", lang, n=dead_letters), className="chip-status " + ("warn" if dead_letters else "ok")),
    ]
    return chips


def header(ctx: AppContext, path: str, lang: str, theme_key: str | None, view: View | None = None,
           status: list[html.Span] | None = None) -> html.Header:
    """City name, the five theme tabs, live status (filled by the page's tick unless given) and clock."""
    view = view or View(lang=lang, theme=theme_key or THEME_KEYS[0])
    other = other_lang(lang)
    if view.kiosk:
        tabs = [html.Span(pick(th.name_zh, th.name_en, lang), id=f"tab-{th.key}",
                          className="tab" + (" active" if th.key == theme_key else "")) for th in ctx.themes()]
    else:
        tabs = [dcc.Link(pick(th.name_zh, th.name_en, lang), href=href("/", **view.params(theme=th.key, county=None)),
                         className="tab" + (" active" if th.key == theme_key else ""), id=f"tab-{th.key}")
                for th in ctx.themes()]
    right = [html.Div(status, id=ids.STATUS, className="status"), html.Div(id=ids.CLOCK, className="clock")]
    if not view.kiosk:
        right.append(dcc.Link(t("lang_switch", lang), href=href(path, **view.params(lang=other)), className="lang",
                              id="lang-switch"))
    return html.Header(className="wall-header", lang=html_lang(lang), children=[
        html.Div(className="brand", children=[
            html.H1(t("app_title", lang)), html.Div(t("app_subtitle", lang), className="subtitle")]),
        html.Nav(tabs, className="tabs"),
        html.Div(className="header-right", children=right),
    ])


def breadcrumbs(ctx: AppContext, lang: str, county: str | None = None, cell: tuple[str, str] | None = None,
                leaf: str | None = None) -> html.Nav:
    """City › county › grid cell › device or case; every crumb but the last is a link."""
    keep = {"lang": lang_param(lang)}
    crumbs: list[tuple[str, str]] = [(t("city", lang), href("/map", **keep))]
    if county:
        crumbs.append((ctx.county_name(county, lang), href(f"/county/{county}", **keep)))
    if cell:
        crumbs.append((t("grid_cell", lang, name=cell[1]), href(f"/grid/{cell[0]}", **keep)))
    if leaf:
        crumbs.append((leaf, ""))
    items: list[object] = []
    for i, (label, link) in enumerate(crumbs):
        if i:
            items.append(html.Span("›", className="crumb-sep"))
        last = i == len(crumbs) - 1
        items.append(html.Span(label, className="crumb current", **{"aria-current": "page"}) if last
                     else dcc.Link(label, href=link, className="crumb", id=f"crumb-{i}"))
    return html.Nav(items, className="breadcrumbs", id=ids.BREADCRUMBS, **{"aria-label": "breadcrumb"})
