"""County scope (row level) against the real app (Flask test client, SQLite): a user bound to 怀集县 opens 怀集's
pages and things and gets 无权访问 (403) for 高要's, in pages, in hand-crafted Dash callback requests and in the
alarm API; on city-wide pages (wall, /map, /evaluation, the console) they see 怀集 only. A city leader sees all."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from clock import FakeClock
from dashboard import ids
from dashboard.__main__ import main as users_command
from dashboard.auth import hash_password
from dashboard.pages.common import View
from dashboard.pages.wall import frame
from settings import CITY_TZ
from store import admin_queries as aq
from store import alarm_queries as alq
from store import make_engine
from tests.dashboard.test_admin import sign_in
from tests.dashboard.apps import add_user, app_with_themes
from tests.feeds.samples import T0, event, ingest, iso, road
from topics.themes import KPI_STRIP

HUAIJI, GAOYAO = "441224", "441204"  # 怀集县 (the county user's), 高要区 (a neighbour's)
NOW = T0 + timedelta(minutes=30)


@pytest.fixture
def app(tmp_path: Path) -> Any:
    """Sign-in required; two users (怀集's leader, the city's leader); in each county a fog alarm (a road-weather
    station reporting 30 m) and a grid case."""
    clock = FakeClock(NOW)
    app = app_with_themes(tmp_path, clock, require_sign_in=True)
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s, s.begin():
        aq.add_user(s, "huaiji", hash_password("huaiji-pass-2021"), "leader", [], ctx.now(), counties=[HUAIJI])
        aq.add_user(s, "city", hash_password("city-pass-2021"), "leader", [], ctx.now())
    for county, serial in ((HUAIJI, 3), (GAOYAO, 7)):
        body = road(county, serial, ts=iso(T0 + timedelta(minutes=20)), visibility_m=30, name=f"{county}站")
        ctx.alerts.on_batch(ingest(ctx.engine, [(f"zq/{county}/road_weather/{body['device_id']}", body)]))
        e = event(county, serial, ts=iso(T0 + timedelta(minutes=10)))
        ingest(ctx.engine, [(f"zq/{county}/grid_event/{e['event_id']}", e)])
    return app


def alarm_of(app: Any, county: str) -> Any:
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s:
        return next(a for a in alq.open_alarms(s) if a.county_adcode == county)


def callback(app: Any, output_starts: str, values: dict[tuple[str, str], Any], n: int = 1) -> dict[str, Any]:
    """The JSON a browser POSTs to /_dash-update-component for the callback whose output starts so, with its
    inputs and states filled from `values` (as captured from Chromium: id, property, value)."""
    key, spec = next((k, v) for k, v in app.callback_map.items() if k.startswith(output_starts))
    outputs = []
    for part in key[2:-2].split("..."):
        id_, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(id_) if id_.startswith("{") else id_, "property": prop})

    def item(dep: dict[str, Any]) -> dict[str, Any]:
        got = {"id": dep["id"], "property": dep["property"]}
        if (dep["id"], dep["property"]) in values:
            got["value"] = values[(dep["id"], dep["property"])]
        return got

    inputs = [item(i) for i in spec["inputs"]]
    return {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
            "state": [item(st) for st in spec.get("state", [])]}


def test_users_add_binds_a_county_and_refuses_one_the_city_does_not_have(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'zq.sqlite3'}"
    add_user(db, "huaiji", "leader", "huaiji-pass-2021", counties=[HUAIJI])
    with Session(make_engine(db)) as s:
        assert aq.user_by_name(s, "huaiji").counties == [HUAIJI]  # type: ignore[union-attr]
    with pytest.raises(SystemExit) as refused:
        users_command(["users", "add", "x", "--role", "leader", "--db", db, "--county", "441299"],
                      {"ZQ_NEW_PASSWORD": "long-enough-1"})
    assert refused.value.code == 2 and "441299 is not a county of 肇庆市" in capsys.readouterr().err


def test_a_county_user_opens_their_countys_pages_and_is_refused_the_neighbours(app: Any) -> None:
    huaiji, _ = sign_in(app, "huaiji", "huaiji-pass-2021")
    gaoyao_device, huaiji_device = alarm_of(app, GAOYAO).source, alarm_of(app, HUAIJI).source
    for path in (f"/county/{GAOYAO}", f"/device/{gaoyao_device}", f"/case/AJ{GAOYAO}00007", f"/?county={GAOYAO}",
                 f"/county/{GAOYAO}?lang=en", "/consistency", "/device/no-such-device"):
        r = huaiji.get(path)
        assert r.status_code == 403 and "无权访问" in r.get_data(as_text=True), path
    for path in (f"/county/{HUAIJI}", f"/device/{huaiji_device}", f"/case/AJ{HUAIJI}00003", "/", "/map",
                 "/evaluation", "/alarms", "/plan"):
        assert huaiji.get(path).status_code == 200, path
    city, _ = sign_in(app, "city", "city-pass-2021")
    for path in (f"/county/{GAOYAO}", f"/device/{gaoyao_device}", f"/case/AJ{GAOYAO}00007", "/consistency"):
        assert city.get(path).status_code == 200, path


def test_the_router_draws_forbidden_and_data_callbacks_of_another_county_answer_403(app: Any) -> None:
    huaiji, _ = sign_in(app, "huaiji", "huaiji-pass-2021")
    city, _ = sign_in(app, "city", "city-pass-2021")
    # Navigating within the app: the page router answers with the 无权访问 page, not the county's.
    body = callback(app, f"..{ids.PAGE}.children", {(ids.URL, "pathname"): f"/county/{GAOYAO}", (ids.URL, "search"): ""})
    r = huaiji.post("/_dash-update-component", json=body)
    assert r.status_code == 200 and "无权访问" in r.get_data(as_text=True) and "高要区" not in r.get_data(as_text=True)
    r = city.post("/_dash-update-component", json=body)
    assert r.status_code == 200 and "无权访问" not in r.get_data(as_text=True)

    # The county page's live tick, asked by hand for 高要: refused; for 怀集: answered.
    tick = {(ids.COUNTY_TICK, "n_intervals"): 1, (ids.URL, "search"): "", (ids.VIEWPORT, "data"): 1920}
    other = callback(app, f"..{ids.COUNTY_KPIS}.children", {**tick, (ids.COUNTY_ADCODE, "data"): GAOYAO})
    r = huaiji.post("/_dash-update-component", json=other)
    assert r.status_code == 403 and r.json["error"] == "无权访问"
    assert city.post("/_dash-update-component", json=other).status_code == 200
    own = callback(app, f"..{ids.COUNTY_KPIS}.children", {**tick, (ids.COUNTY_ADCODE, "data"): HUAIJI})
    assert huaiji.post("/_dash-update-component", json=own).status_code == 200

    # A drill map's redraw for 高要, and the wall's tick named for 高要.
    drill = callback(app, f"..{ids.DRILL_PACKED}.data", {(ids.URL, "search"): "", (ids.DRILL_TICK, "n_intervals"): 1,
                                                        (ids.URL, "pathname"): f"/county/{GAOYAO}",
                                                        (ids.DRILL_SCOPE, "data"): GAOYAO})
    assert huaiji.post("/_dash-update-component", json=drill).status_code == 403
    assert city.post("/_dash-update-component", json=drill).status_code == 200
    from bench.wall import tick_body, tick_key

    ctx = app.server.config["ZQ_CONTEXT"]
    names = [p.id for p in ctx.theme("social").placed()] + [KPI_STRIP]
    wall = tick_body(tick_key(app), names, f"?theme=social&county={GAOYAO}", None, 1)
    assert huaiji.post("/_dash-update-component", json=wall).status_code == 403
    assert city.post("/_dash-update-component", json=wall).status_code == 200


def test_the_wall_of_a_county_user_shows_their_county_and_outlines_the_others(app: Any) -> None:
    from bench.wall import tick_body, tick_key

    ctx = app.server.config["ZQ_CONTEXT"]
    names = [p.id for p in ctx.theme("social").placed()] + [KPI_STRIP]
    body = tick_body(tick_key(app), names, "?theme=social", None, 1)
    city, _ = sign_in(app, "city", "city-pass-2021")
    huaiji, _ = sign_in(app, "huaiji", "huaiji-pass-2021")
    # The city leader asks first: the county user, in the same state, must not get the kept answer.
    seen_city = city.post("/_dash-update-component", json=body).get_data(as_text=True)
    seen_huaiji = huaiji.post("/_dash-update-component", json=body).get_data(as_text=True)
    assert "无权访问" not in seen_city and "无权访问" in seen_huaiji
    assert f"{GAOYAO}站" in seen_city and f"{GAOYAO}站" not in seen_huaiji  # 高要's red fog: not on 怀集's wall
    assert f"{HUAIJI}站" in seen_huaiji

    f = frame(ctx, ctx.theme("social"), View(theme="social", county=HUAIJI, visible=frozenset({HUAIJI})), False)
    shading = f["shading"]
    assert shading["labels"][GAOYAO] == "" and shading["hover"][GAOYAO] == "高要区 · 无权访问"
    assert shading["labels"][HUAIJI] != ""  # its own figure and ⚠ count
    assert "⚠ 1" in shading["labels"][HUAIJI]
    assert "takeover-title" in json.dumps(f["shared"]["@takeover"])


def test_the_city_map_of_a_county_user_has_their_cases_only(app: Any) -> None:
    from dashboard import drill
    from dashboard.pages.drillmap import view_for

    ctx = app.server.config["ZQ_CONTEXT"]
    view = view_for(ctx, drill.CITY, "?layers=county_choropleth,events")
    with Session(ctx.engine) as s:
        everything, _, _ = drill.city_figure(ctx, s, view, ctx.now())
        mine, _, shading = drill.city_figure(ctx, s, view.__class__(**{**view.__dict__,
                                                                      "visible": frozenset({HUAIJI})}), ctx.now())

    def cases(fig: dict[str, Any]) -> list[str]:
        return [c for tr in fig["data"] if (tr.get("meta") or {}).get("layer") == "events"
                for c in tr.get("customdata") or []]

    assert sorted(cases(everything)) == [f"case:AJ{GAOYAO}00007", f"case:AJ{HUAIJI}00003"]
    assert cases(mine) == [f"case:AJ{HUAIJI}00003"]
    assert shading.labels[GAOYAO] == "" and shading.labels[HUAIJI].startswith("怀集县")


def test_the_alarm_api_and_console_give_a_county_user_their_countys_alarms_only(app: Any) -> None:
    huaiji, csrf = sign_in(app, "huaiji", "huaiji-pass-2021")
    mine, theirs = alarm_of(app, HUAIJI), alarm_of(app, GAOYAO)
    assert [a["id"] for a in huaiji.get("/admin/api/alarms").json["alarms"]] == [mine.id]
    r = huaiji.post(f"/admin/api/alarms/{theirs.id}/ack", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "无权访问" in r.json["error"]
    r = huaiji.post(f"/admin/api/alarms/{mine.id}/ack", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json["alarm"]["state"] == "acknowledged"
    r = huaiji.post("/admin/api/silences", json={"minutes": 30}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403  # every county's rules: not theirs to silence
    r = huaiji.post("/admin/api/silences", json={"minutes": 30, "county": GAOYAO}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    r = huaiji.post("/admin/api/silences", json={"minutes": 30, "county": HUAIJI}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s:
        refused = [e for e in aq.audit_entries(s, targets=[f"alarm:{theirs.id}"]) if not e.allowed]
    assert [e.username for e in refused] == ["huaiji"]  # the refusal is audited

    from dashboard.pages.alarms import table
    from tests.components import texts

    shown = " ".join(texts(table(ctx, {"username": "huaiji", "role": "leader", "themes": [],
                                       "counties": [HUAIJI]}, "zh")))
    assert f"{HUAIJI}站" in shown and f"{GAOYAO}站" not in shown


def test_the_evaluation_shows_a_county_user_their_row_and_not_the_citys(app: Any) -> None:
    from dashboard.pages.evaluation import evaluation_for, table
    from tests.components import texts

    ctx = app.server.config["ZQ_CONTEXT"]
    today = ctx.now().astimezone(CITY_TZ).date()
    ev = evaluation_for(ctx, today.replace(day=1), today)
    everyone = " ".join(texts(table(ctx, ev, "zh")))
    mine = " ".join(texts(table(ctx, ev, "zh", frozenset({HUAIJI}))))
    assert "高要区" in everyone and "全市" in everyone
    assert "怀集县" in mine and "高要区" not in mine and "全市" not in mine


def test_a_county_bound_owner_edits_no_city_theme(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s, s.begin():
        aq.add_user(s, "hj_owner", hash_password("huaiji-owner-2021"), "owner", ["social"], ctx.now(),
                    counties=[HUAIJI])
    owner, csrf = sign_in(app, "hj_owner", "huaiji-owner-2021")
    assert owner.get("/admin/api/topics").json["themes"] == []
    r = owner.post("/admin/api/topics/social", json={"text": "key: social"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


def test_a_county_users_map_classes_come_from_their_county_alone(app: Any) -> None:
    """The legend's classes of a masked map would otherwise tell the neighbours' range."""
    from dashboard.pages.wall import map_state

    ctx = app.server.config["ZQ_CONTEXT"]
    for n in range(20, 26):  # 高要 now has 7 open cases, 怀集 1
        e = event(GAOYAO, n, ts=iso(T0 + timedelta(minutes=10)))
        ingest(ctx.engine, [(f"zq/{GAOYAO}/grid_event/{e['event_id']}", e)])
    with Session(ctx.engine) as s:
        city = map_state(ctx, s, ctx.theme("social"), "zh").shading
        mine = map_state(ctx, s, ctx.theme("social"), "zh", visible=frozenset({HUAIJI})).shading
    assert any("7" in label for _, label in city.legend)
    assert not any("7" in label for _, label in mine.legend)
    assert mine.labels[GAOYAO] == "" and mine.labels[HUAIJI].startswith("怀集县")
