"""/healthz: each feed's last message time and staleness, and the ingest counters, as JSON."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from sqlalchemy.orm import Session

import orjson

from dashboard.context import AppContext
from store import queries as q


def health_report(ctx: AppContext, ingest: dict[str, Any] | None) -> dict[str, Any]:
    """The health document: overall status, feeds, dead letters, ingest counters."""
    with Session(ctx.engine) as s:
        feeds = ctx.health(s)
        dead = q.dead_letter_count(s)
    stale = [f for f, h in feeds.items() if h.stale]
    return {
        "status": "ok" if not stale else "degraded",
        "now": ctx.now().isoformat(),
        "stale_feeds": stale,
        "feeds": [h.as_json() for h in feeds.values()],
        "dead_letters": dead,
        "ingest": ingest,
    }


def register(server: Flask, ctx: AppContext, ingest_stats: Any) -> None:
    """Mount /healthz on the Flask server."""

    @server.get("/healthz")
    def healthz() -> Response:
        stats = ingest_stats()
        body = health_report(ctx, stats)
        return Response(orjson.dumps(body), mimetype="application/json")
