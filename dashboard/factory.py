"""The app factory: store, registries, feeds, pages and routes for one set of settings."""

from __future__ import annotations

import atexit
import gc
import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from dash import Dash, Input, Output, State, dcc, html, no_update

from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard import admin, auth, briefing_routes, connection, headers, health, ids, metrics, scope
from dashboard.briefing import BriefingRole
from dashboard.context import AppContext, Registries
from dashboard.grids import GridProvider
from dashboard.pages import (alarms, case, citymap, consistency, county, device, drillmap, evaluation, grid, plan,
                             topics_admin, wall)
from dashboard.pages import detail as detail_page
from dashboard.pages.common import parse_view, query
from dashboard.tickcache import make_cache
from dashboard.panels import register_builtin_panels
from alerts.rules import register_builtin_rules
from feeds import register_builtin_feeds
from geo import City, load_counties
import plugins
from layers import register_builtin_layers
from measures import register_builtin_measures
from clock import Clock
from settings import Settings, clock_of
from roles import Runtime, alert_parts
from store import make_engine, migrate
from topics import THEMES
from topics.loader import BUILTIN_DIR, ThemeStore
from words import t

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent.parent / "assets"

# The clock runs in the browser (no server round trip every second) on the app's time: the page carries the
# offset of the app's clock from the browser's (CityDash below), so a wall PC whose own clock drifts, or an app
# started at --clock-start, still shows the app's time.
CLOCK_JS = """
function(n, search) {
  const en = new URLSearchParams(search || '').get('lang') === 'en';
  const f = new Intl.DateTimeFormat(en ? 'en-GB' : 'zh-CN', {timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit',
    day: '2-digit', weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false});
  return f.format(new Date(Date.now() + (window.zqClockOffset || 0)));
}
"""


class CityDash(Dash):
    """Dash whose every page load carries the app's clock, read while the page is served."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def interpolate_index(self, **kwargs: Any) -> str:
        """The index page, with the app's time (ms) in a meta tag; assets/zq-clock.js turns it into
        window.zqClockOffset, the app's time minus the browser's (a meta, not an inline script: the CSP allows
        only inline scripts whose hash it knows)."""
        meta = f'<meta name="zq-clock-ms" content="{round(self.clock.time() * 1000)}">'
        kwargs["metas"] = meta + kwargs.get("metas", "")
        return super().interpolate_index(**kwargs)


def build_registries(settings: Settings) -> Registries:
    """Registries with the built-ins registered through the public calls, then the plugins --plugins selects
    (entry points; one that fails is logged, named, and left out)."""
    reg = Registries()
    register_builtin_feeds(reg.feeds, settings.aqi_edition)
    register_builtin_layers(reg.layers)
    register_builtin_panels(reg.panels)
    register_builtin_rules(reg.rules)
    plugins.select(settings.plugins)
    reg.problems += plugins.unfound()
    for group, registry in ((plugins.FEEDS, reg.feeds), (plugins.LAYERS, reg.layers), (plugins.PANELS, reg.panels),
                            (plugins.RULES, reg.rules)):
        reg.problems += plugins.discover(group, registry)
    for feed, seconds in settings.feed_cadences.items():
        reg.feeds.set_cadence(feed, seconds)
    register_builtin_measures(reg.measures, settings.city, settings.aqi_edition,
                              {f.name: f.cadence_s for f in reg.feeds}, settings.stale_after_s)
    return reg


def theme_store(settings: Settings, registries: Registries) -> ThemeStore:
    """The theme files, checked against the registered panel types, rule kinds and measures and the city; the
    measure registry then also answers for the measures the files define."""
    store = ThemeStore(Path(settings.topics_dir) if settings.topics_dir else BUILTIN_DIR,
                       schemas=registries.panels.schemas(), rule_schemas=registries.rules.schemas(),
                       context={"city": City.load(settings.city), "measures": registries.measures.names(),
                                "feeds": registries.feeds})
    registries.measures.use_themes(store.themes)
    return store


def create_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    """A process without the web role: migrates the store and starts the background roles it names."""
    clock = clock or clock_of(settings)
    roles = settings.active_roles()
    if "briefing" in roles:  # the briefing draws the wall's figures: it needs the pages' context
        ctx, runtime = build_context(settings, clock)
        return start_briefing(ctx, runtime.start(roles))
    engine = make_engine(settings.db)
    migrate(engine)
    registries = build_registries(settings)
    topics = theme_store(settings, registries)
    parts = alert_parts(settings, engine, registries.rules, lambda: topics.themes() or THEMES, clock,
                        registries.measures)
    return Runtime(settings, engine, registries.feeds, parts, clock,
                   derived=registries.measures.derived_view()).start(roles)


def build_context(settings: Settings, clock: Clock) -> tuple[AppContext, Runtime]:
    """The store (migrated), registries, city, theme files and alert parts of one process, as the pages and the
    briefing read them, and its runtime (roles not started)."""
    engine = make_engine(settings.db)
    migrate(engine)
    registries = build_registries(settings)
    city = City.load(settings.city)
    detail = load_counties(city.adcode, "detail")
    ctx = AppContext(
        settings=settings, engine=engine, registries=registries, counties_wall=load_counties(city.adcode, "coarse"),
        counties_detail=detail, names=dict(city.counties), names_en=dict(city.counties_en),
        grids=GridProvider(engine, detail), clock=clock,
        topics=theme_store(settings, registries), ticks=make_cache(settings.cache), city=city,
    )
    parts = alert_parts(settings, engine, registries.rules, ctx.themes, clock, registries.measures, city)
    ctx.open_case = parts.open_case
    ctx.calendar = parts.calendar
    ctx.alerts = parts.engine
    return ctx, Runtime(settings, engine, registries.feeds, parts, clock, derived=registries.measures.derived_view())


def start_briefing(ctx: AppContext, runtime: Runtime) -> Runtime:
    """Start the briefing role in this process when its roles name it (under the `briefing` lease)."""
    if "briefing" in ctx.settings.active_roles():
        runtime.attach("briefing", BriefingRole(ctx, runtime.holder).start())
    return runtime


# A web process's collector: a young generation of 50,000 allocations rather than 700, and a full collection a
# tenth as often. A city replay step makes ~9,000 rows and their traces; with the defaults every third step
# also paid a full collection (p95 149 → 114–126 ms, p50 108 → 103 ms, `make bench`, drill).
WEB_GC_THRESHOLDS = (50_000, 50, 100)


def settle(app: Dash) -> None:
    """Ready a built app to serve for long: grid cells loaded now (not on the first drill), everything built so
    far frozen out of the collector's passes, and collections spaced for a web process (WEB_GC_THRESHOLDS)."""
    app.server.config["ZQ_CONTEXT"].grids.get()
    gc.freeze()
    gc.set_threshold(*WEB_GC_THRESHOLDS)


def create_app(settings: Settings, start_feeds: bool = True, clock: Clock | None = None) -> Dash:
    """Build the Dash app; migrates the store and (unless told not to) starts the other roles --roles names.

    `clock` is what every part reads as now (default: the settings' --clock-start, else the machine's time).
    The process's background roles are `app.server.config["ZQ_RUNTIME"]`; stop them with its stop().
    """
    clock = clock or clock_of(settings)
    ctx, runtime = build_context(settings, clock)
    city = ctx.city
    if start_feeds:
        start_briefing(ctx, runtime.start(settings.active_roles()))
        atexit.register(runtime.stop)

    app = CityDash(
        __name__, title=f"{city.name}一网统管", assets_folder=str(ASSETS), suppress_callback_exceptions=True,
        update_title=None, serve_locally=True, clock=clock,
    )

    def shell() -> html.Div:
        """The page's frame; a county user's wall rotates through their counties only."""
        visible = scope.current()
        return html.Div([
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Interval(id=ids.CLOCK_TICK, interval=1000),
            dcc.Store(id=ids.VIEWPORT),
            dcc.Store(id=ids.COUNTIES, data=sorted(visible if visible is not None else ctx.names)),
            dcc.Store(id=ids.PAGE_KEY),
            dcc.Store(id=ids.CHUNKS, data=[]),
            html.Div(id=ids.PAGE),
            connection.banner(),
        ])

    app.layout = shell

    @app.callback(Output(ids.PAGE, "children"), Output(ids.PAGE_KEY, "data"), Input(ids.URL, "pathname"),
                  Input(ids.URL, "search"), State(ids.PAGE_KEY, "data"), State(ids.VIEWPORT, "data"),
                  State(ids.CHUNKS, "data"))
    def route(pathname: str | None, search: str | None, shown: str | None, width: int | None,
              held: list[str] | None = None) -> Any:
        params = query(search)
        lang = "en" if params.get("lang", settings.lang) == "en" else "zh"
        path = pathname or "/"
        # Drill pages keep their controls (layers, replay, measure) in the query: such a change redraws the map
        # in place (pages/drillmap.py) instead of rebuilding the page. A new path or language rebuilds it.
        key = f"{path}|{lang}" if drillmap.path_scope(path) else f"{path}?{search or ''}"
        if key == shown:
            return no_update, no_update
        return page_for(path, search, params, lang, width, held), key

    def page_for(path: str, search: str | None, params: dict[str, str], lang: str, width: int | None,
                 held: list[str] | None = None) -> Any:
        if not scope.allowed_path(ctx, scope.current(), path, search):
            return scope.forbidden(lang)
        if path == plan.PATH:
            return plan.layout(ctx, lang)
        if path == wall.PATH:
            return wall.layout(ctx, parse_view(params, settings.lang, set(ctx.names), ctx.theme_keys(),
                                               scope.current()), search)
        if path == citymap.PATH:
            return citymap.layout(ctx, search, width, held)
        if path == consistency.PATH:
            return consistency.layout(ctx, lang)
        if path.rstrip("/") == evaluation.PATH:
            return evaluation.layout(ctx, params, lang)
        if path.rstrip("/") == alarms.PATH:
            return alarms.layout(ctx, lang)
        if path.rstrip("/") == topics_admin.PATH:
            return topics_admin.layout(ctx, lang)
        for prefix, module in ((county.PATH_PREFIX, county), (grid.PATH_PREFIX, grid), (device.PATH_PREFIX, device),
                               (case.PATH_PREFIX, case)):
            if path.startswith(prefix):
                ident = unquote(path.removeprefix(prefix).strip("/"))
                return (county.layout(ctx, ident, search, width, held) if module is county
                        else module.layout(ctx, ident, lang))
        return html.H2(t("not_found", lang), className="not-found")

    app.clientside_callback(CLOCK_JS, Output(ids.CLOCK, "children"), Input(ids.CLOCK_TICK, "n_intervals"),
                            State(ids.URL, "search"))
    connection.register(app, {"wall": ids.WALL_TICK, "county": ids.COUNTY_TICK, "drill": ids.DRILL_TICK,
                              "alarms": alarms.TICK, "plan": plan.PLAN_TICK})
    wall.register(app, ctx)
    county.register(app, ctx)
    drillmap.register(app, ctx)
    detail_page.register(app, ctx)
    topics_admin.register(app, ctx)
    alarms.register(app, ctx)
    case.register(app, ctx)
    plan.register(app, ctx)

    auth.limit_hashing(settings.sign_in_concurrency)
    if settings.trusted_proxies:
        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                       x_proto=settings.trusted_proxies, x_host=settings.trusted_proxies)
    admin.register(app.server, ctx)
    briefing_routes.register(app.server, ctx)  # /briefings
    headers.register(app, settings)
    # After the sign-in gate (the user is known) and before the shared answers (a refusal is never answered).
    scope.register(app.server, ctx, next(k for k, v in app.callback_map.items()
                                         if k.startswith(f"..{ids.PAGE}.children") and "@" not in k))
    wall.register_shared_answers(app, ctx)  # after the sign-in gate: an answer goes only to whoever may ask
    monitor = health.register(app.server, ctx, runtime)
    metrics.register(app.server, monitor)
    app.server.config["ZQ_CONTEXT"] = ctx
    app.server.config["ZQ_RUNTIME"] = runtime
    app.server.config["ZQ_FEEDS"] = runtime.feeds if runtime.roles else None
    return app
