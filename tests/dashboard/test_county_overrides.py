"""County theme overrides against the real app (Flask test client, SQLite, a copy of the theme files): the wall of
怀集县 shows its override's panels and owner while 高要区's and the city's show the theme's; 怀集's owner of social
saves `social@441224` (a version, audited, on the wall at once) and is refused the city's file and another county's;
the city's owner of social edits the county's override too; an invalid override is refused with its line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from clock import FakeClock
from dashboard.auth import can_edit, hash_password
from dashboard.pages.common import View
from dashboard.pages.wall import layout
from store import admin_queries as aq
from tests.components import nodes, texts
from tests.dashboard.test_admin import sign_in
from tests.dashboard.apps import app_with_themes
from tests.feeds.samples import T0
from topics.themes import KPI_STRIP

HUAIJI, GAOYAO = "441224", "441204"  # 怀集县 (the county owner's), 高要区 (a neighbour's)
NOTE = "怀集县网格中心值班电话 0758-0000000"
OVERRIDE = f"""schema_version: 1
owner: 怀集县委政法委
panels:
- type: grid_event
  column: left
- type: markdown
  column: right
  text_zh: {NOTE}
"""


@pytest.fixture
def app(tmp_path: Path) -> Any:
    """Three owners of social: 怀集's (bound to 441224), the city's, and ecology's city owner."""
    app = app_with_themes(tmp_path, FakeClock(T0 + timedelta(minutes=30)))
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s, s.begin():
        aq.add_user(s, "hj_owner", hash_password("huaiji-owner-2021"), "owner", ["social"], ctx.now(),
                    counties=[HUAIJI])
        aq.add_user(s, "social_owner", hash_password("social-owner-2021"), "owner", ["social"], ctx.now())
        aq.add_user(s, "eco_owner", hash_password("eco-owner-2021"), "owner", ["ecology"], ctx.now())
        aq.add_user(s, "admin", hash_password("admin-pass-2021"), "admin", [], ctx.now())
    return app


def test_who_edits_which_file() -> None:
    assert can_edit("owner", ["social"], f"social@{HUAIJI}", [HUAIJI])
    assert not can_edit("owner", ["social"], "social", [HUAIJI])  # the city's file
    assert not can_edit("owner", ["social"], f"social@{GAOYAO}", [HUAIJI])  # another county's
    assert not can_edit("owner", ["social"], f"ecology@{HUAIJI}", [HUAIJI])  # another theme's
    assert can_edit("owner", ["social"], f"social@{GAOYAO}") and can_edit("owner", ["social"], "social")
    assert not can_edit("owner", ["ecology"], f"social@{HUAIJI}") and not can_edit("leader", [], f"social@{HUAIJI}")
    assert can_edit("admin", [], f"market@{GAOYAO}") and not can_edit("admin", [], "social@../x")


def test_the_county_owner_saves_their_override_and_the_countys_wall_shows_it(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    owner, csrf = sign_in(app, "hj_owner", "huaiji-owner-2021")
    listed = owner.get("/admin/api/topics").json
    assert listed["themes"] == [] and listed["overrides"] == [f"social@{HUAIJI}"]
    new = owner.get(f"/admin/api/topics/social@{HUAIJI}").json
    assert new["exists"] is False and new["versions"] == []
    assert "panels:" in new["text"] and "- type: grid_event" in new["text"]  # starts from the city's panels
    before = ctx.topics.fingerprint()

    r = owner.post(f"/admin/api/topics/social@{HUAIJI}", json={"text": OVERRIDE, "note": "县里的墙"},
                   headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json == {"saved": f"social@{HUAIJI}", "version": 1}
    path = ctx.topics.directory / "counties" / HUAIJI / "social.yaml"
    assert path.read_text(encoding="utf-8") == OVERRIDE and ctx.topics.fingerprint() != before
    versions = owner.get(f"/admin/api/topics/social@{HUAIJI}").json["versions"]
    assert [(v["version"], v["author"], v["note"]) for v in versions] == [(1, "hj_owner", "县里的墙")]
    with Session(ctx.engine) as s:
        entries = aq.audit_entries(s, targets=[f"theme:social@{HUAIJI}"])
    assert [(e.username, e.action, e.allowed) for e in entries] == [("hj_owner", "save", True)]

    # The county's wall: the override's panels and owner; 高要's and the city's: the theme's.
    huaiji = layout(ctx, View(theme="social", county=HUAIJI))
    gaoyao = layout(ctx, View(theme="social", county=GAOYAO))
    city = layout(ctx, View(theme="social"))

    def panels(page: Any) -> list[str]:
        return [n.id["name"] for n in nodes(page) if isinstance(getattr(n, "id", None), dict)
                and n.id.get("type") == "panel"]

    city_panels = [p.id for p in ctx.theme("social").placed()]
    assert panels(huaiji) == ["grid_event", "markdown", KPI_STRIP]
    assert panels(gaoyao) == panels(city) == [*city_panels, KPI_STRIP]
    assert "社会管理 · 怀集县委政法委" in texts(huaiji)
    assert "社会管理 · 市委政法委" in texts(gaoyao) and "社会管理 · 市委政法委" in texts(city)


def test_the_wall_tick_of_the_county_renders_the_overrides_panels(app: Any) -> None:
    from bench.wall import tick_body, tick_key

    ctx = app.server.config["ZQ_CONTEXT"]
    path = ctx.topics.directory / "counties" / HUAIJI / "social.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(OVERRIDE, encoding="utf-8")
    ctx.topics.refresh()
    client = app.server.test_client()
    names = ["grid_event", "markdown", KPI_STRIP]
    for search, shown in ((f"?theme=social&county={HUAIJI}", True), (f"?theme=social&county={GAOYAO}", False),
                          ("?theme=social", False)):
        r = client.post("/_dash-update-component", json=tick_body(tick_key(app), names, search, None, 1))
        assert r.status_code == 200 and (NOTE in r.get_data(as_text=True)) is shown, search


def test_refusals_other_owners_and_an_invalid_override(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    owner, csrf = sign_in(app, "hj_owner", "huaiji-owner-2021")
    social = (ctx.topics.directory / "social.yaml").read_text(encoding="utf-8")
    assert owner.post("/admin/api/topics/social", json={"text": social},
                      headers={"X-CSRF-Token": csrf}).status_code == 403
    for key in (f"social@{GAOYAO}", f"ecology@{HUAIJI}"):
        r = owner.post(f"/admin/api/topics/{key}", json={"text": OVERRIDE}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403 and owner.get(f"/admin/api/topics/{key}").status_code == 403, key
    assert not (ctx.topics.directory / "counties").exists()

    # An invalid override is refused with its line and changes nothing.
    bad = OVERRIDE.replace("column: right", "column: middle")
    r = owner.post(f"/admin/api/topics/social@{HUAIJI}", json={"text": bad}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json["problems"] == [{
        "line": 7, "field": "panels[1].column", "message": "must be one of 'left' or 'right'",
        "text": f"counties/{HUAIJI}/social.yaml, line 7: panels[1].column: must be one of 'left' or 'right'"}]
    r = owner.post(f"/admin/api/topics/social@{HUAIJI}", json={"text": OVERRIDE + "rules: []\n"},
                   headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json["problems"][0]["field"] == "rules"
    assert not (ctx.topics.directory / "counties").exists()
    with Session(ctx.engine) as s:
        assert aq.theme_versions(s, f"social@{HUAIJI}") == []

    # The city's owner of social edits the county's override (and the others'); ecology's owner does not.
    city_owner, city_csrf = sign_in(app, "social_owner", "social-owner-2021")
    assert len(city_owner.get("/admin/api/topics").json["overrides"]) == len(ctx.city.county_codes)
    r = city_owner.post(f"/admin/api/topics/social@{HUAIJI}", json={"text": OVERRIDE},
                        headers={"X-CSRF-Token": city_csrf})
    assert r.status_code == 200 and r.json["version"] == 1
    eco, eco_csrf = sign_in(app, "eco_owner", "eco-owner-2021")
    assert eco.post(f"/admin/api/topics/social@{HUAIJI}", json={"text": OVERRIDE},
                    headers={"X-CSRF-Token": eco_csrf}).status_code == 403

    # The county owner's next save, a diff between versions, and a rollback to the city owner's.
    r = owner.post(f"/admin/api/topics/social@{HUAIJI}", json={"text": OVERRIDE.replace("怀集县委政法委", "怀集县政数局")},
                   headers={"X-CSRF-Token": csrf})
    assert r.json["version"] == 2 and ctx.theme_for("social", HUAIJI).owner == "怀集县政数局"
    diff = owner.get(f"/admin/api/topics/social@{HUAIJI}/diff?from=1&to=2").json["diff"]
    assert "-owner: 怀集县委政法委" in diff and "+owner: 怀集县政数局" in diff
    r = owner.post(f"/admin/api/topics/social@{HUAIJI}/rollback/1", headers={"X-CSRF-Token": csrf})
    assert r.json == {"saved": f"social@{HUAIJI}", "version": 3}
    assert ctx.theme_for("social", HUAIJI).owner == "怀集县委政法委"
    assert ctx.theme_for("social", GAOYAO).owner == ctx.theme("social").owner == "市委政法委"

    admin, admin_csrf = sign_in(app, "admin", "admin-pass-2021")
    r = admin.post("/admin/api/topics/social@441299", json={"text": OVERRIDE}, headers={"X-CSRF-Token": admin_csrf})
    assert r.status_code == 422 and "441299 is not a county of 肇庆市" in r.json["problems"][0]["message"]


def test_the_editor_previews_an_override_as_the_countys_wall_and_draws_its_form(app: Any) -> None:
    from dashboard.pages.topics_admin import form_for, pick_label, preview, rules_form_for

    ctx = app.server.config["ZQ_CONTEXT"]
    key = f"social@{HUAIJI}"
    shown = " ".join(texts(preview(ctx, OVERRIDE, key, "zh")))
    assert "社会管理 · 怀集县委政法委" in shown and NOTE in shown
    problems = " ".join(texts(preview(ctx, OVERRIDE + "rules: []\n", key, "zh")))
    assert f"counties/{HUAIJI}/social.yaml, line 9: rules" in problems
    # A kpi_target panel's KPI is chosen among the city theme's KPIs (the override names none of its own).
    text = OVERRIDE + "- type: kpi_target\n  column: left\n  kpi: social.open_grid_cases\n"
    options = [o["value"] for n in nodes(form_for(ctx, text, "zh", key)) for o in (getattr(n, "options", None) or [])
               if isinstance(o, dict)]
    assert "social.open_grid_cases" in options and "social.mediation.town" in options
    assert "沿用全市主题的规则" in " ".join(texts(rules_form_for(ctx, text, key)))
    assert pick_label(ctx, key) == f"社会管理 · 怀集县 ({key}) · 新建 / new"
