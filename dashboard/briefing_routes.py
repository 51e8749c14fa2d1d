"""The briefings' URLs (Flask routes): /briefings lists them, /briefings/<id>.pdf serves one, /briefings/now.pdf makes
one of the day so far. A county user sees their counties' briefings only; another county's or the city's PDF is
refused with 403 无权访问. Plain HTML that reads on a phone (390 px wide) as on a desk."""

from __future__ import annotations

import threading
import html as htmllib
from typing import Any

from flask import Flask, Response, request, session
from sqlalchemy.orm import Session

from dashboard import auth
from dashboard.briefing import make_briefing
from dashboard.context import AppContext
from store import briefing_queries as bq
from store.models import Briefing
from words import Words, html_lang, lang_query, other_lang, pick

tx = Words("briefing_routes")  # this module's words in the catalog (words/locale)

PATH = "/briefings"

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font-family: 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif; font-size: 15px; line-height: 1.5;
       background: #0d1b2e; color: #d8e1ee; }
main { max-width: 960px; margin: 0 auto; padding: 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
p.lead { color: #8a9bb5; margin: 0 0 12px; font-size: 14px; }
a { color: #4fc3f7; }
.now { display: flex; flex-wrap: wrap; gap: 8px; margin: 0 0 16px; padding: 0; list-style: none; }
.now a { display: inline-block; padding: 6px 10px; border: 1px solid #2c4366; border-radius: 6px; text-decoration: none;
         font-size: 14px; }
ul.list { list-style: none; margin: 0; padding: 0; }
ul.list li { display: grid; grid-template-columns: 7em 1fr auto; gap: 4px 12px; align-items: baseline;
             padding: 10px 12px; border-bottom: 1px solid #22314a; }
.day { font-weight: 600; }
.region { overflow-wrap: anywhere; }
.facts { grid-column: 1 / -1; color: #8a9bb5; font-size: 13px; overflow-wrap: anywhere; }
.ready { color: #66bb6a; } .failed { color: #ff5252; } .making { color: #ffb74d; }
.error { grid-column: 1 / -1; color: #ff8a80; font-size: 13px; overflow-wrap: anywhere; }
@media (max-width: 600px) {
  main { padding: 12px; }
  ul.list li { grid-template-columns: 1fr auto; }
  .day { grid-column: 1 / -1; }
}
"""


def _e(v: Any) -> str:
    return htmllib.escape(str(v))


def _user() -> Any:
    return session.get("user")


def _allowed(ctx: AppContext, region: str) -> bool:
    """A city-level user sees every briefing; a county user their counties' (not the city's)."""
    return auth.may_see(_user(), region)


def _forbidden() -> Response:
    return Response(tx.pair("forbidden"), status=403, mimetype="text/plain")


def _pdf(b: Briefing) -> Response:
    name = f"briefing-{b.region}-{b.day.isoformat()}-{b.id}.pdf"
    return Response(b.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, max-age=300"})


def region_name(ctx: AppContext, region: str, lang: str) -> str:
    """The city's or a county's name."""
    return pick(ctx.city.name, ctx.city.name_en, lang) if region == ctx.city.adcode \
        else ctx.county_name(region, lang)


def list_page(ctx: AppContext, rows: list[Briefing], regions: list[str], lang: str) -> str:
    """The briefings, newest day first, with links to their PDFs and each failure's reason."""
    q = lang_query(lang, "&")
    items = []
    for b in rows:
        link = (f'<a href="{PATH}/{b.id}.pdf">PDF</a>' if b.state == "ready" else "")
        made = b.made_at or b.started_at
        facts = " · ".join(x for x in (
            tx.get(f"trigger_{b.trigger}", lang, b.trigger),
            made.astimezone(ctx.now().tzinfo).strftime("%m-%d %H:%M"),
            tx("pages", lang, n=b.pages) if b.pages else "",
            f"{(b.size or 0) / 1024:.0f} KB" if b.size else "") if x)
        items.append(
            f'<li><span class="day">{b.day.isoformat()}</span><span class="region">{_e(region_name(ctx, b.region, lang))}'
            f'</span><span class="{b.state}">{tx.get(f"state_{b.state}", lang, b.state)} {link}</span>'
            f'<span class="facts">{_e(facts)}</span>'
            + (f'<span class="error">{_e(b.error)}</span>' if b.error else "") + "</li>")
    now = "".join(f'<li><a href="{PATH}/now.pdf?region={r}{q}">{_e(region_name(ctx, r, lang))}</a></li>'
                  for r in regions)
    # The link to the other language is named in that language: 中文 on the English page, English on the
    # Chinese one.
    other = f'<a href="{PATH}{lang_query(other_lang(lang))}">{tx("other_language", lang)}</a>'
    other += f' · <a href="/map{lang_query(lang)}">{tx("city_map", lang)}</a>'
    other += f' · <a href="/{lang_query(lang)}">{tx("wall", lang)}</a>'
    body = (f"<h1>{tx('title', lang)}</h1>"
            f"<p class=\"lead\">{tx('made_each_day', lang, at=ctx.settings.briefing_at)} {other}</p>"
            f"<p class=\"lead\">{tx('make_now', lang)}</p><ul class=\"now\">{now}</ul>"
            + (f'<ul class="list">{"".join(items)}</ul>' if items else f"<p>{tx('none_yet', lang)}</p>"))
    return (f'<!doctype html><html lang="{html_lang(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{tx('title', lang)}</title><style>{CSS}</style></head><body><main>{body}</main>"
            "</body></html>")


ON_DEMAND_WAIT_S = 15.0


def register(server: Flask, ctx: AppContext) -> None:
    """Add the briefings' routes."""
    making = threading.BoundedSemaphore(1)

    def lang() -> str:
        return "en" if request.args.get("lang", ctx.settings.lang) == "en" else "zh"

    @server.get(PATH)
    def briefings_page() -> Response:
        scope = auth.county_scope(_user())
        regions = [ctx.city.adcode, *ctx.city.counties] if scope is None else \
            [c for c in ctx.city.counties if c in scope]
        with Session(ctx.engine) as s:
            rows = bq.briefings(s, None if scope is None else regions)
            page = list_page(ctx, rows, regions, lang())
        return Response(page, mimetype="text/html")

    @server.get(f"{PATH}/now.pdf")
    def briefing_now() -> Response:
        region = request.args.get("region") or ctx.city.adcode
        if region != ctx.city.adcode and region not in ctx.city.counties:
            return Response("unknown region", status=404, mimetype="text/plain")
        if not _allowed(ctx, region):
            return _forbidden()
        # One Chromium at a time per web process: a burst of clicks waits its turn briefly, then is told to retry,
        # rather than starting a browser per request (each takes ~2 s of a core and ~150 MB).
        if not making.acquire(timeout=ON_DEMAND_WAIT_S):
            return Response(tx.pair("busy"), status=503,
                            mimetype="text/plain", headers={"Retry-After": "10"})
        try:
            now = ctx.now()
            bid = make_briefing(ctx, region, now.date(), "demand", lang(), end=now)
        finally:
            making.release()
        with Session(ctx.engine) as s:
            b = bq.briefing(s, bid, with_pdf=True) if bid is not None else None
            if b is None or b.state != "ready":
                reason = b.error if b is not None else "not made"
                return Response(f"{tx.pair('failed')}: {reason}", status=500, mimetype="text/plain")
            return _pdf(b)

    @server.get(f"{PATH}/<int:briefing_id>.pdf")
    def briefing_pdf(briefing_id: int) -> Response:
        with Session(ctx.engine) as s:
            b = bq.briefing(s, briefing_id)
            if b is None:
                return Response("no such briefing", status=404, mimetype="text/plain")
            if not _allowed(ctx, b.region):
                return _forbidden()
            if b.state != "ready":
                return Response(f"{b.state}: {b.error or ''}", status=404, mimetype="text/plain")
            b = bq.briefing(s, briefing_id, with_pdf=True)
            return _pdf(b)  # type: ignore[arg-type]

