"""City map with tens of thousands of device points (issue 18, item 4): first draw of /map in headless Chromium,
a hover and a click answered, JS heap, and the server's time to build the figure; SVG markers beside WebGL.

The store is bench.drill's (the simulator's first minute, then devices in bulk over the counties by their shares,
one message each, and a few grid events); the app is built in this process as `python app.py` builds it (no feeds:
the store is frozen) and served on a free port, so the bench can draw the same points as SVG or as WebGL
(`layers.points.WEBGL_FROM`) in one run. Chromium is the tests' (tests/browser.py) at 1920×1080.

- first draw: from the navigation's start until a frame in which the devices' traces are drawn (the hook below
  looks at every animation frame);
- hover: a real mouse move (DevTools Input) over a device point until plotly's hover label is in the page, and
  until the frame after it;
- click: a real press and release over a point until the click's callback has written /device/<id> into the URL
  (history.pushState), and until the device page's title is there;
- heap: JSHeapUsedSize after a forced garbage collection, with the map drawn.
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import drill as drill_bench
from bench.wall import heap, ms
from tests.servers import wsgi_thread

PATH = "/map?layers=county_choropleth,devices"


@dataclass
class PointSizes:
    """Sizes of the points benchmark."""

    devices: int = 50_000
    small: int = 5_000  # the small map beside it (0 skips it)
    events: int = 20_000
    repeats: int = 5  # page loads per map and renderer
    hovers: int = 5  # hovers per load
    server: int = 10  # figure builds timed
    browser: bool = True


def build(path: Path, devices: int, events: int) -> list[str]:
    """A bench.drill store of `devices` devices (one message each) and `events` grid events at `path`."""
    sizes = drill_bench.DrillSizes(devices=devices, events=events, messages_per_device=1, kpi_days=0.2, minutes=1.0)
    return list(drill_bench.build_store(f"sqlite:///{path}", sizes))


def make_app(url: str, allow_eval: bool = False) -> Any:
    """The app as `python app.py` builds it, without feeds (the store is frozen); `allow_eval` adds 'unsafe-eval'
    to its Content-Security-Policy (as --debug does), which plotly's WebGL traces need: regl compiles its draw
    calls with new Function()."""
    from dashboard import create_app, headers
    from dashboard.factory import settle
    from settings import Settings

    csp = headers.content_security_policy
    if allow_eval:
        headers.content_security_policy = lambda hashes, frames, debug=False: csp(hashes, frames, True)
    try:
        app = create_app(Settings(db=url, simulate=False, poll=False, ingest=False), start_feeds=False)
        app.server.test_client().get("/healthz")  # the policy is fixed at the first response
    finally:
        headers.content_security_policy = csp
    settle(app)  # as app.py and wsgi.py do, and the other benches
    return app


def serving(app: Any) -> contextlib.AbstractContextManager[str]:
    """The app's Flask server on a free local port, in a thread, for as long as the block runs."""
    return wsgi_thread(app.server)


MODES = {"svg": "one SVG marker per device", "webgl": "one WebGL canvas (CSP relaxed: 'unsafe-eval')",
         "cells": "grid cells over the map (SVG), as served"}


@contextmanager
def renderer(mode: str) -> Iterator[None]:
    """Device points drawn as `mode` (MODES) whatever their number, for the block."""
    from layers import points

    saved = points.WEBGL_FROM, points.CLUSTER_FROM
    points.WEBGL_FROM = 0 if mode == "webgl" else None
    points.CLUSTER_FROM = 10**9 if mode in ("svg", "webgl") else saved[1]
    try:
        yield
    finally:
        points.WEBGL_FROM, points.CLUSTER_FROM = saved


# ---- the server ---------------------------------------------------------------------------------------


def server_times(app: Any, n: int) -> dict[str, list[float]]:
    """Seconds to read the devices' states, build their traces, the whole city figure, and pack and encode it."""
    from sqlalchemy.orm import Session

    from dashboard import compact, drill

    ctx = app.server.config["ZQ_CONTEXT"]
    reg = ctx.registries.layers
    view = drill.DrillView(layers=("county_choropleth", "devices"))
    out: dict[str, list[float]] = {"read": [], "traces": [], "figure": [], "pack+json": []}
    for _ in range(n):
        now = ctx.now()
        with Session(ctx.engine) as s:
            t = time.perf_counter()
            rows = drill.devices_at(ctx, s, None, now)
            out["read"].append(time.perf_counter() - t)
            t = time.perf_counter()
            drill.clickable(reg.build("devices", rows, "zh", bounds=tuple(ctx.counties_wall.total_bounds)))
            out["traces"].append(time.perf_counter() - t)
            t = time.perf_counter()
            fig, _, _ = drill.city_figure(ctx, s, view, now)  # its map data read once a tick (drill.map_data)
            out["figure"].append(time.perf_counter() - t)
        t = time.perf_counter()
        orjson.dumps(compact.pack(fig, None), option=orjson.OPT_SERIALIZE_NUMPY)
        out["pack+json"].append(time.perf_counter() - t)
    out["bytes"] = [float(len(orjson.dumps(compact.pack(fig, None), option=orjson.OPT_SERIALIZE_NUMPY)))]
    return out


# ---- the browser --------------------------------------------------------------------------------------

# Installed before any page script: at each animation frame, whether the devices' traces are drawn (SVG: their
# marker paths exist; WebGL: plotly's regl scene has drawn them), and when the URL becomes a device's.
PAGE_HOOK = """
(() => {
  const z = window.__pts = {drawn: null, n: 0, gl: null, nav: null, navPath: null};
  const drawn = () => {
    const g = document.querySelector('#drill-map .js-plotly-plot');
    if (!g || !g._fullData || !g._fullLayout) { return false; }
    const dev = g._fullData.filter(t => t.meta && t.meta.layer === 'devices');
    const n = dev.reduce((s, t) => s + (t._length || 0), 0);
    if (n === 0) { return false; }
    const gl = dev.some(t => t.type === 'scattergl');
    if (gl) {
      const scene = ((g._fullLayout._plots || {}).xy || {})._scene;
      if (!scene || !scene.scatter2d) { return false; }
    } else if (g.querySelectorAll('.scatterlayer .trace .points path').length < n) {
      return false;
    }
    z.n = n; z.gl = gl;
    return true;
  };
  const frame = () => {
    let done = false;
    try { done = drawn(); } catch (e) { done = false; }  // a half-built plot: look again next frame
    if (done) { z.drawn = performance.now(); return; }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  // When each callback's answer has been read: the map's figure comes in one (the page's or the redraw's).
  const fetch0 = window.fetch;
  window.fetch = function() {
    const p = fetch0.apply(this, arguments);
    p.then((r) => r.clone().text().then(() => { if (z.drawn === null) { z.answered = performance.now(); } }),
           () => {});
    return p;
  };
  const push = history.pushState;
  history.pushState = function(state, title, url) {
    if (z.nav === null && String(url).indexOf('/device/') >= 0) { z.nav = performance.now(); z.navPath = String(url); }
    return push.apply(this, arguments);
  };
})();
"""

# A device point's place on the screen (client px) and what it is: trace `i` of the drawn devices' traces and
# point `k` of it (both wrapped); the hover label cleared first, and a watcher noting when the next one appears.
TARGET = """
const [i, k, clickable] = arguments;
const g = document.querySelector('#drill-map .js-plotly-plot');
const dev = g._fullData.filter(t => t.meta && t.meta.layer === 'devices' && t._length > 0 &&
                                    (!clickable || (t.customdata && !t.meta.cell)));
if (!dev.length) { return null; }
const tr = dev[i % dev.length], j = k % tr._length;
const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis;
const r = g.querySelector('.nsewdrag').getBoundingClientRect();
window.Plotly.Fx.unhover(g);
const z = window.__pts;
z.move = null; z.label = null; z.painted = null; z.text = null; z.hovered = null; z.down = null;
if (!z.listening) {
  z.listening = true;
  document.addEventListener('mousemove', () => { if (z.move === null) { z.move = performance.now(); } }, true);
  document.addEventListener('mousedown', () => { if (z.down === null) { z.down = performance.now(); } }, true);
  g.on('plotly_hover', (e) => { const p = e.points[0]; z.hovered = {customdata: p.customdata, text: p.text}; });
  new MutationObserver(() => {
    if (z.move === null || z.label !== null) { return; }
    const l = g.querySelector('.hoverlayer .hovertext');
    if (l) {
      z.label = performance.now(); z.text = l.textContent;
      requestAnimationFrame(() => { z.painted = performance.now(); });
    }
  }).observe(g.querySelector('.hoverlayer'), {childList: true, subtree: true});
}
return {x: r.left + xa.l2p(tr.x[j]), y: r.top + ya.l2p(tr.y[j]), id: (tr.customdata || [])[j], text: tr.text[j],
        type: tr.type};
"""


def mouse(d: Any, kind: str, x: float, y: float) -> None:
    """A real mouse event through DevTools (moved, pressed or released, left button)."""
    args: dict[str, Any] = {"type": kind, "x": x, "y": y}
    if kind != "mouseMoved":
        args.update(button="left", clickCount=1)
    d.execute_cdp_cmd("Input.dispatchMouseEvent", args)


def browser_loads(url: str, sizes: PointSizes) -> dict[str, Any]:
    """`repeats` fresh loads of the map: first draw, heap, hovers and a click each."""
    from tests.browser import chromium, wait_for

    out: dict[str, Any] = {"draw": [], "answered": [], "heap": [], "hover": [], "hover_painted": [], "nav": [], "page": [],
                           "n": 0, "gl": None, "hover_ok": 0, "hovers": 0}
    with chromium(1920, 1080) as d:
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PAGE_HOOK})
        d.execute_cdp_cmd("Performance.enable", {})
        for rep in range(sizes.repeats):
            d.get(url + PATH)
            wait_for(lambda: d.execute_script("return window.__pts.drawn !== null"), timeout=300,
                     what="the device points drawn")
            z = d.execute_script("return window.__pts")
            out["draw"].append(z["drawn"] / 1000)
            out["answered"].append((z.get("answered") or 0) / 1000)
            out["n"], out["gl"] = z["n"], z["gl"]
            time.sleep(0.5)  # let the first tick's answer land
            out["heap"].append(heap(d)["heap_mb"])
            for h in range(sizes.hovers):
                target = d.execute_script(TARGET, rep * 3 + h, 7919 * (rep * sizes.hovers + h + 1), False)
                time.sleep(0.15)  # plotly lets one hover through per 50 ms
                mouse(d, "mouseMoved", target["x"], target["y"])
                got = wait_for(lambda: d.execute_script("const z = window.__pts; return z.painted !== null && z"),
                               timeout=60, what="the hover label")
                out["hover"].append((got["label"] - got["move"]) / 1000)
                out["hover_painted"].append((got["painted"] - got["move"]) / 1000)
                out["hovers"] += 1
                hovered = got["hovered"] or {}
                said = (hovered.get("text") or "").replace("<br>", "")
                out["hover_ok"] += bool(said) and said in (got["text"] or "")
            target = d.execute_script(TARGET, rep, 104_729 * (rep + 1), True)  # a point a click opens
            if target is None:
                continue
            time.sleep(0.15)
            mouse(d, "mousePressed", target["x"], target["y"])
            mouse(d, "mouseReleased", target["x"], target["y"])
            try:
                got = wait_for(lambda: d.execute_script("const z = window.__pts; return z.nav !== null && z"),
                               timeout=20, what="the device's URL")
            except AssertionError:  # the press landed on a cell's square drawn over the device: no page
                out["missed"] = out.get("missed", 0) + 1
                continue
            out["nav"].append((got["nav"] - got["down"]) / 1000)
            wait_for(lambda: d.find_elements("id", "device-title"), timeout=60, what="the device page")
            out["page"].append((d.execute_script("return performance.now()") - got["down"]) / 1000)
    return out


# ---- the section --------------------------------------------------------------------------------------


def _spread(values: list[float], unit: str = "ms") -> str:
    """Median and range of repeats."""
    if not values:
        return "-"
    f = ms if unit == "ms" else (lambda v: v)
    return (f"{f(statistics.median(values)):8.1f} {unit} ({f(min(values)):.1f}–{f(max(values)):.1f}, "
            f"n={len(values)})")


def _ratio(new: list[float], old: list[float]) -> str:
    if not new or not old or not statistics.median(new):
        return ""
    return f"   {statistics.median(old) / statistics.median(new):5.1f}× better"


def run(sizes: PointSizes) -> Iterator[str]:
    """Build the stores, time the server's figure, then the browser's draw, hover, click and heap."""
    workdir = Path(tempfile.mkdtemp(prefix="zq-points-"))
    try:
        maps = [(n, workdir / f"points-{n}.sqlite3") for n in dict.fromkeys([sizes.devices, sizes.small]) if n]
        for n, path in maps:
            t = time.perf_counter()
            build(path, n, sizes.events)
            yield f"  store of {n:,} devices built in {time.perf_counter() - t:.1f} s"
        figures: dict[tuple[int, str], dict[str, Any]] = {}
        for n, path in maps:
            apps = {"plain": make_app(f"sqlite:///{path}"), "eval": make_app(f"sqlite:///{path}", allow_eval=True)}
            for mode in MODES:
                app = apps["eval" if mode == "webgl" else "plain"]
                with renderer(mode):
                    server = server_times(app, sizes.server)
                    yield (f"\n  {n:,} devices as {MODES[mode]}: server (median of {sizes.server}) read "
                           f"{_spread(server['read'])}, device traces {_spread(server['traces'])}, city figure "
                           f"{_spread(server['figure'])}, pack+JSON {_spread(server['pack+json'])}; "
                           f"{server['bytes'][0] / 1e6:.2f} MB sent cold")
                    if not sizes.browser:
                        continue
                    with serving(app) as url:
                        b = browser_loads(url, sizes)
                    figures[(n, mode)] = b
                    yield (f"    drawn as {'WebGL' if b['gl'] else 'SVG'}: {b['n']:,} markers; hover label names the "
                           f"hovered point {b['hover_ok']}/{b['hovers']}")
                    yield f"    first draw      {_spread(b['draw'])}   (target ≤ 1,500 ms at 50,000)"
                    yield f"      last answer read before it {_spread(b['answered'])}"
                    yield f"    hover label     {_spread(b['hover'])}   painted {_spread(b['hover_painted'])}"
                    if b["nav"]:
                        yield f"    click → URL     {_spread(b['nav'])}   device page {_spread(b['page'])}"
                    yield f"    JS heap         {_spread(b['heap'], 'MB')}   (target ≤ 150 MB)"
        if sizes.browser and (sizes.devices, "svg") in figures:
            svg = figures[(sizes.devices, "svg")]
            for mode in ("cells", "webgl"):
                new = figures[(sizes.devices, mode)]
                yield f"\n  {sizes.devices:,} devices, {mode} beside one SVG marker each (medians, same run):"
                for key, label, unit in (("draw", "first draw", "ms"), ("hover_painted", "hover", "ms"),
                                         ("nav", "click→URL", "ms"), ("heap", "JS heap", "MB")):
                    if new[key] and svg[key]:
                        f = ms if unit == "ms" else (lambda v: v)
                        yield (f"    {label:10s} {f(statistics.median(new[key])):8.1f} {unit} vs "
                               f"{f(statistics.median(svg[key])):8.1f} {unit}" + _ratio(new[key], svg[key]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
