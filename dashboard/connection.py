"""A page that never looks current when it is not: each live page's tick also sends a heartbeat, and the browser
shows 连接中断 / Connection lost, with the time of the last good update, once two ticks have gone unanswered.

The check runs in the browser on its own clock (a stopped server can draw nothing), so it holds whether the server
is down, hung, or answering with errors. The page keeps its last data, greyed, and comes back by itself with the
next tick that succeeds: no reload.
"""

from __future__ import annotations

import json
from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html

from dashboard import ids
from dashboard.context import AppContext
from words import LANGS, Words

WORDS = Words("connection")

BEAT = "beat"  # pattern-matching type of a page's heartbeat store: {"type": BEAT, "page": …}
GRACE_MS = 1500  # on top of two ticks: a tick that is merely slow is not a lost connection

WATCHDOG_JS = """
function(beats, _n, search) {
  const dc = window.dash_clientside, nu = dc.no_update;
  const en = new URLSearchParams(search || '').get('lang') === 'en';
  const W = %(words)s[en ? 'en' : 'zh'];  // the catalog's words (words/locale, context "connection")
  const now = Date.now();
  const w = window.zqBeat || (window.zqBeat = {seen: now, at: null, every: null, key: null});
  // The newest of the page's heartbeats (a county page has its panels' and its map's).
  const beat = (beats || []).reduce((a, b) => (b && b.at && (!a || b.at > a.at)) ? b : a, null);
  if (!beats || !beats.length) {  // a page without a live tick: nothing to watch
    window.zqBeat = {seen: now, at: null, every: null, key: null};
    return ['conn-lost hidden', nu, ''];
  }
  if (beat && beat.at !== w.key) {  // a tick answered: the connection is good
    w.key = beat.at; w.at = beat.at; w.every = beat.every; w.seen = now;
  }
  const every = w.every || (beat && beat.every) || 5000;
  if (now - w.seen <= 2 * every + %(grace)d) {
    return ['conn-lost hidden', nu, ''];
  }
  let last = W.no_update_yet;
  if (w.at) {
    const t = new Intl.DateTimeFormat(en ? 'en-GB' : 'zh-CN', {timeZone: 'Asia/Shanghai', hour: '2-digit',
      minute: '2-digit', second: '2-digit', hour12: false}).format(new Date(w.at));
    last = W.last_update + ' ' + t;
  }
  const div = (text, cls) => ({namespace: 'dash_html_components', type: 'Div', props: {children: text, className: cls}});
  // A tick whose request failed at the network leaves its interval disabled (dash-renderer applies `running`'s
  // off-state only to answered requests): enable the page's intervals, so the next tick can find the server.
  const pages = ((dc.callback_context.inputs_list || [])[0] || []).map(i => i.id && i.id.page);
  for (const page of pages) {
    const tick = %(ticks)s[page];
    if (tick) { try { dc.set_props(tick, {disabled: false}); } catch (e) { /* the page is being replaced */ } }
  }
  return ['conn-lost', [div(W.connection_lost, 'conn-lost-head'), div(last, 'conn-lost-meta')],
          'conn-lost-page'];
}
"""

def beat_store(page: str) -> dcc.Store:
    """The heartbeat store a live page carries; its tick callback writes beat() into it."""
    return dcc.Store(id=beat_id(page))


def beat_id(page: str) -> dict[str, str]:
    """The id of a page's heartbeat store (for the tick callback's Output)."""
    return {"type": BEAT, "page": page}


def beat(ctx: AppContext, every_s: float | None = None) -> dict[str, Any]:
    """What a successful tick sends: the app's time (ms) and how often the page ticks (ms)."""
    return {"at": round(ctx.clock.time() * 1000), "every": round((every_s or ctx.settings.tick_seconds) * 1000)}


def banner() -> html.Div:
    """The connection-lost sign, hidden until the watchdog shows it (part of the app's layout, over every page)."""
    return html.Div(id=ids.CONN_LOST, className="conn-lost hidden", role="alert", **{"aria-live": "assertive"},
                    children=[html.Div(id=ids.CONN_LOST_TEXT, className="conn-lost-text")])


def register(app: Dash, ticks: dict[str, str]) -> None:
    """The watchdog: on every second of the browser's clock, is the page's last good tick too old? `ticks` names
    each live page's interval (page → its dcc.Interval id), which the watchdog re-enables while the link is down."""
    app.clientside_callback(
        WATCHDOG_JS % {"grace": GRACE_MS, "ticks": json.dumps(ticks), "words": json.dumps(
            {lang: {k: WORDS(k, lang) for k in ("no_update_yet", "last_update", "connection_lost")} for lang in LANGS},
            ensure_ascii=False)},
        Output(ids.CONN_LOST, "className"), Output(ids.CONN_LOST_TEXT, "children"), Output(ids.PAGE, "className"),
        Input({"type": BEAT, "page": ALL}, "data"), Input(ids.CLOCK_TICK, "n_intervals"), State(ids.URL, "search"),
    )
