"""Locust users for `make bench --only load`: wall screens ticking and leaders drilling into counties, each sending
the requests a browser sends (bodies prepared by bench/load.py, in ZQ_LOAD_PLAN). The client runs on the same
2-core machine as the server, so it is locust's fast HTTP client (geventhttpclient), not requests."""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from typing import Any

from locust import constant_pacing, task
from locust.contrib.fasthttp import FastHttpUser as HttpUser  # geventhttpclient: the client costs little CPU

PLAN: dict[str, Any] = json.loads(open(os.environ["ZQ_LOAD_PLAN"], encoding="utf-8").read())
_screens = itertools.count()
_leaders = itertools.count()


def _post(user: HttpUser, body: dict[str, Any], name: str) -> dict[str, Any] | None:
    # The kind rides in the query (Dash ignores it) so the server's access log can time each kind on its own.
    path = "/_dash-update-component?k=" + name.replace(" ", "-")
    with user.client.post(path, json=body, name=name, catch_response=True) as r:
        if r.status_code == 204:  # PreventUpdate: nothing to send
            r.success()
            return None
        if r.status_code != 200:
            r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
            return None
        r.success()
        return r.json()


class WallScreen(HttpUser):
    """One screen of the wall: a view (theme, county, language), ticking every tick as the browser does, keeping
    the digests the server sent so only what changed comes back."""

    weight = PLAN["screens"]
    wait_time = constant_pacing(PLAN["tick_s"])

    def on_start(self) -> None:
        i = next(_screens)
        self.view = PLAN["views"][i % len(PLAN["views"])]
        self.hashes: dict[str, str] = {}
        self.n = 0
        # Screens are switched on at different moments, so their ticks are spread over the interval (a wall whose
        # screens all tick at once is the worst case of shared ticks, not the usual one).
        time.sleep(random.uniform(0, PLAN["tick_s"]))

    @task
    def tick(self) -> None:
        self.n += 1
        body = json.loads(json.dumps(self.view["tick"]))
        body["inputs"][0]["value"] = self.n
        for item in body["state"]:
            if isinstance(item, dict) and item["id"] == "panel-hashes":
                item["value"] = self.hashes
        data = _post(self, body, "wall tick")
        if data:
            new = data.get("response", {}).get("panel-hashes", {}).get("data")
            if isinstance(new, dict):
                self.hashes = new


class Leader(HttpUser):
    """A leader opening a county from the city map every few seconds: the route, the county's first tick and
    its map, as the browser fires them."""

    weight = PLAN["leaders"]
    wait_time = constant_pacing(PLAN["drill_every_s"])

    def on_start(self) -> None:
        self.i = next(_leaders)
        time.sleep(random.uniform(0, PLAN["drill_every_s"]))

    @task
    def drill(self) -> None:
        self.i += 1
        drill = PLAN["drills"][self.i % len(PLAN["drills"])]
        _post(self, drill["route"], "drill route")
        _post(self, drill["tick"], "drill county tick")
        _post(self, drill["redraw"], "drill map")
