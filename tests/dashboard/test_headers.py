"""Security headers and cookie flags through the Flask test client: HTTPS deployments, framing, debug mode."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from clock import process_clock
from dashboard.auth import hash_password
from settings import CITY_TZ
from store import admin_queries as aq
from tests.dashboard.apps import app_with_themes


def signed_in_cookie(tmp_path: Path, **settings: object) -> tuple[str, dict[str, str]]:
    app = app_with_themes(tmp_path, **settings)
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s, s.begin():
        aq.add_user(s, "admin", hash_password("admin-pass-2021"), "admin", [], process_clock().now(CITY_TZ))
    r = app.server.test_client().post("/admin/login", json={"username": "admin", "password": "admin-pass-2021"})
    assert r.status_code == 200
    return r.headers["Set-Cookie"], dict(r.headers.items())


def test_on_https_the_session_cookie_is_secure_and_browsers_keep_to_https(tmp_path: Path) -> None:
    cookie, h = signed_in_cookie(tmp_path, https=True)
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert h["Strict-Transport-Security"] == "max-age=31536000"


def test_on_plain_http_the_cookie_is_not_secure_else_it_would_never_come_back(tmp_path: Path) -> None:
    cookie, h = signed_in_cookie(tmp_path)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "Strict-Transport-Security" not in h


def test_framing_follows_the_setting(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(); (tmp_path / "b").mkdir()
    app = app_with_themes(tmp_path / "a", frame_ancestors="'none'")
    h = app.server.test_client().get("/").headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"] and h["X-Frame-Options"] == "DENY"
    app = app_with_themes(tmp_path / "b", frame_ancestors="'self' https://portal.zhaoqing.example")
    h = app.server.test_client().get("/").headers
    assert "frame-ancestors 'self' https://portal.zhaoqing.example" in h["Content-Security-Policy"]
    assert "X-Frame-Options" not in h  # it cannot name a portal; browsers that know CSP follow frame-ancestors


def test_the_policy_names_the_hash_of_every_inline_script_the_page_carries(tmp_path: Path) -> None:
    import base64
    import hashlib
    import re

    app = app_with_themes(tmp_path)
    r = app.server.test_client().get("/")
    page = re.sub(r"<!--.*?-->", "", r.get_data(as_text=True), flags=re.S)  # Dash's IE notice is a comment
    inline = [m for m in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", page, flags=re.S)
              if "application/json" not in m[0]]
    assert inline, "Dash's renderer starts from an inline script"
    csp = r.headers["Content-Security-Policy"]
    for _attrs, body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
