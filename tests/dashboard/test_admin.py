"""The admin API against the real app (Flask test client, SQLite): permissions at the server, CSRF, refusals
with line numbers, versions, rollback to the wall, the audit log; and the users command."""

from __future__ import annotations

from urllib.parse import quote

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from dashboard import create_app
from dashboard.__main__ import main as users_command
from dashboard.auth import hash_password, verify_password
from clock import process_clock
from settings import CITY_TZ, Settings
from store import admin_queries as aq
from tests.dashboard.apps import app_with_themes
from tests.conftest import migrated_sqlite

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(tmp_path: Path) -> Any:
    app = app_with_themes(tmp_path)
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s, s.begin():
        now = process_clock().now(CITY_TZ)
        aq.add_user(s, "eco_owner", hash_password("绿水青山-2021"), "owner", ["ecology"], now, "市生态环境局")
        aq.add_user(s, "admin", hash_password("admin-pass-2021"), "admin", [], now)
        aq.add_user(s, "leader", hash_password("leader-pass-2021"), "leader", [], now)
    return app


def sign_in(app: Any, username: str, password: str) -> tuple[FlaskClient, str]:
    client = app.server.test_client()
    r = client.post("/admin/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.json
    return client, r.json["csrf"]


def test_the_owner_of_ecology_is_refused_public_services_and_the_refusal_is_audited(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    service = ctx.topics.directory / "service.yaml"
    before = service.read_text(encoding="utf-8")
    client, csrf = sign_in(app, "eco_owner", "绿水青山-2021")
    assert client.get("/admin/api/topics").json["themes"] == ["ecology"]
    r = client.post("/admin/api/topics/service", json={"text": before.replace("order: 4", "order: 1")},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "eco_owner may not change the theme 'service'" in r.json["error"]
    assert client.get("/admin/api/topics/service").status_code == 403  # reads are checked too
    assert service.read_text(encoding="utf-8") == before
    leader, leader_csrf = sign_in(app, "leader", "leader-pass-2021")
    assert leader.post("/admin/api/topics/ecology", json={"text": "x"},
                       headers={"X-CSRF-Token": leader_csrf}).status_code == 403
    admin, _ = sign_in(app, "admin", "admin-pass-2021")
    entries = admin.get("/admin/api/audit").json["entries"]
    refused = [(e["user"], e["action"], e["target"]) for e in entries if not e["allowed"]]
    assert ("eco_owner", "save", "theme:service") in refused and ("leader", "save", "theme:ecology") in refused
    assert client.get("/admin/api/audit").status_code == 403


def test_writes_need_a_session_and_the_csrf_token(app: Any) -> None:
    anonymous = app.server.test_client()
    assert anonymous.post("/admin/api/topics/ecology", json={"text": ""}).status_code == 401
    assert anonymous.post("/admin/login", json={"username": "eco_owner", "password": "wrong"}).status_code == 401
    client, _ = sign_in(app, "eco_owner", "绿水青山-2021")
    r = client.post("/admin/api/topics/ecology", json={"text": ""})
    assert r.status_code == 400 and "X-CSRF-Token" in r.json["error"]
    r = client.post("/admin/api/topics/ecology", json={"text": ""}, headers={"X-CSRF-Token": "guess"})
    assert r.status_code == 400


def test_an_invalid_file_is_refused_with_its_line_and_the_wall_keeps_its_theme(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    path = ctx.topics.directory / "ecology.yaml"
    good = path.read_text(encoding="utf-8")
    client, csrf = sign_in(app, "eco_owner", "绿水青山-2021")
    bad = good.replace("  column: left", "  column: middle", 1)
    r = client.post("/admin/api/topics/ecology", json={"text": bad}, headers={"X-CSRF-Token": csrf})
    line = good.splitlines().index("  column: left") + 1
    assert r.status_code == 422
    assert r.json["problems"] == [{"line": line, "field": "panels[0].column",
                                   "message": "must be one of 'left' or 'right'",
                                   "text": f"ecology.yaml, line {line}: panels[0].column: must be one of 'left' or "
                                           "'right'"}]
    assert path.read_text(encoding="utf-8") == good and ctx.theme("ecology").left[0] == "air_quality"
    r = client.post("/admin/api/topics/ecology", json={"text": good.replace("key: ecology", "key: economy")},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "not 'ecology'" in r.json["error"]


def test_save_then_rollback_restores_the_previous_version_on_the_wall(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    path = ctx.topics.directory / "ecology.yaml"
    original = path.read_text(encoding="utf-8")
    client, csrf = sign_in(app, "eco_owner", "绿水青山-2021")
    changed = original.replace("- type: water_levels\n  column: left\n", "")
    r = client.post("/admin/api/topics/ecology", json={"text": changed, "note": "水位面板移走"},
                    headers={"X-CSRF-Token": csrf})
    assert r.json == {"saved": "ecology", "version": 2}  # version 1 is the file before the first edit
    assert ctx.theme("ecology").left == ("air_quality", "trend") and path.read_text(encoding="utf-8") == changed
    versions = client.get("/admin/api/topics/ecology").json["versions"]
    assert [(v["version"], v["author"]) for v in versions] == [(2, "eco_owner"), (1, "system")]
    diff = client.get("/admin/api/topics/ecology/diff?from=1&to=2").json["diff"]
    assert "-- type: water_levels" in diff

    r = client.post("/admin/api/topics/ecology/rollback/1", headers={"X-CSRF-Token": csrf})
    assert r.json == {"saved": "ecology", "version": 3}
    assert path.read_text(encoding="utf-8") == original
    assert ctx.theme("ecology").left == ("air_quality", "water_levels", "trend")
    assert client.post("/admin/api/topics/ecology/rollback/9", headers={"X-CSRF-Token": csrf}).status_code == 404


def test_passwords_are_stored_as_scrypt_hashes(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s:
        stored = aq.user_by_name(s, "eco_owner").password_hash  # type: ignore[union-attr]
    assert stored.startswith("scrypt$32768$8$1$") and "绿水青山" not in stored
    assert verify_password("绿水青山-2021", stored) and not verify_password("绿水青山-2022", stored)
    assert hash_password("same") != hash_password("same")  # salted


def test_the_users_command_adds_an_owner_in_a_process_of_its_own_without_loading_dash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.sqlite3'}"
    args = ["users", "add", "svc_owner", "--role", "owner", "--theme", "service", "--db", url]
    # -X importtime lists every module the process imports, on stderr: Dash must not be one of them.
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "dashboard", *args], cwd=ROOT,
                          env={**os.environ, "ZQ_NEW_PASSWORD": "long-enough-1"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "added svc_owner (owner: service)" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"store.admin_queries", "dashboard.auth"} <= imported and not imported & {"dash", "plotly", "flask"}
    with create_engine(url).connect() as conn:
        row = conn.execute(text("SELECT role, themes FROM users WHERE username = 'svc_owner'")).one()
    assert row[0] == "owner" and "service" in row[1]


def test_the_users_command_refuses_a_taken_name_and_a_short_password(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    args = ["users", "add", "svc_owner", "--role", "owner", "--theme", "service", "--db",
            f"sqlite:///{tmp_path / 'u.sqlite3'}"]
    assert users_command(args, {"ZQ_NEW_PASSWORD": "long-enough-1"}) == 0
    assert users_command(args, {"ZQ_NEW_PASSWORD": "long-enough-2"}) == 1 and "exists" in capsys.readouterr().err
    args[2] = "other"
    assert users_command(args, {"ZQ_NEW_PASSWORD": "short"}) == 2
    assert "at least 8 characters" in capsys.readouterr().err


@pytest.fixture
def locked(tmp_path: Path) -> Any:
    """The app with --require-sign-in, a leader and a wall screen's user."""
    app = create_app(Settings(db=migrated_sqlite(tmp_path / 'zq.sqlite3'), require_sign_in=True), start_feeds=False)
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s, s.begin():
        now = process_clock().now(CITY_TZ)
        aq.add_user(s, "leader", hash_password("leader-pass-2021"), "leader", [], now)
        aq.add_user(s, "screen-1", hash_password("wall-token-5f2c9e"), "wall", [], now)
    return app


def test_with_sign_in_required_every_page_and_data_callback_needs_a_user(locked: Any) -> None:
    anonymous = locked.server.test_client()
    r = anonymous.get("/?theme=ecology")
    assert r.status_code == 302 and r.headers["Location"].startswith("/admin/login?next=")
    assert anonymous.post("/_dash-update-component", json={}).status_code == 401  # data, not only pages
    assert anonymous.get("/_dash-layout").status_code == 401
    assert anonymous.get("/healthz").status_code == 200  # monitoring stays open
    form = anonymous.get("/admin/login?next=/county/441224")
    assert form.status_code == 200 and 'name="next" value="/county/441224"' in form.text
    bad = anonymous.post("/admin/login", data={"username": "leader", "password": "nope", "next": "/"})
    assert bad.status_code == 401 and "wrong name or password" in bad.text

    person = locked.server.test_client()
    r = person.post("/admin/login", data={"username": "leader", "password": "leader-pass-2021",
                                          "next": "/county/441224"})
    assert r.status_code == 302 and r.headers["Location"] == "/county/441224"
    assert person.get("/_dash-layout").status_code == 200
    evil = person.post("/admin/login", data={"username": "leader", "password": "leader-pass-2021",
                                             "next": "//evil.example/"})
    assert evil.headers["Location"] == "/"  # only same-site destinations


@pytest.mark.parametrize("nxt", [
    "/\t/evil.example", "/\n/evil.example", "\t//evil.example", " //evil.example", "/\\evil.example",
    "\\/evil.example", "/\r\n/evil.example", "https://evil.example/", "javascript:alert(1)", "//evil.example",
    "/\x00/evil.example", "evil.example", "",
])
def test_sign_in_goes_on_only_to_a_path_of_this_app(locked: Any, nxt: str) -> None:
    # The probe's /admin/login?next=/%09/evil.example: a tab (or newline, or a backslash) that a browser drops or
    # reads as a slash turned the same-site check's "/..." into "//evil.example".
    form = locked.server.test_client().get("/admin/login?next=" + quote(nxt, safe=""))
    assert form.status_code == 200
    person = locked.server.test_client()
    r = person.post("/admin/login", data={"username": "leader", "password": "leader-pass-2021", "next": nxt})
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize(("nxt", "to"), [("/county/441224?lang=en#map", "/county/441224?lang=en#map"),
                                         ("/alarms", "/alarms"), ("/a/b//c", "/a/b//c"), ("  /plan", "/plan")])
def test_sign_in_keeps_the_path_it_was_given(locked: Any, nxt: str, to: str) -> None:
    person = locked.server.test_client()
    r = person.post("/admin/login", data={"username": "leader", "password": "leader-pass-2021", "next": nxt})
    assert r.headers["Location"] == to


def test_a_wall_screen_signs_in_by_its_token_url(locked: Any) -> None:
    screen = locked.server.test_client()
    assert screen.get("/?theme=social&wall=screen-1&token=guess").status_code == 302
    r = screen.get("/?theme=social&wall=screen-1&token=wall-token-5f2c9e")
    assert r.status_code == 302 and r.headers["Location"] == "/?theme=social"  # the token, for a session
    assert screen.get("/?theme=social").status_code == 200
    assert screen.get("/_dash-layout").status_code == 200  # the session carries on for its callbacks
    r = screen.post("/admin/api/topics/social", json={"text": "x"})
    assert r.status_code in (400, 403)  # a wall changes nothing
    leader = locked.server.test_client()
    assert leader.get("/?wall=leader&token=leader-pass-2021").status_code == 302  # tokens are for wall users only
