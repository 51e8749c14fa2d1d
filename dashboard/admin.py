"""The admin API for theme owners (/admin/…): sign in, read and save their themes' files, versions, diff,
rollback, audit. Every read and write checks the signed-in user's permission at the server."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
import os
import secrets
import tempfile
from functools import wraps
from pathlib import Path
from typing import Any

from urllib.parse import quote, urlsplit, urlunsplit

from flask import Flask, Response, jsonify, redirect, request, session
from markupsafe import escape
from sqlalchemy.orm import Session

from dashboard import alarm_actions, auth
from dashboard.alarm_actions import alarm_dict
from dashboard.context import AppContext
from store import admin_queries as aq
from store import alarm_queries as alq
from topics.loader import TopicError

CSRF_HEADER = "X-CSRF-Token"
# The sign-in page is plain HTML (no Dash), so it works while every Dash request needs a user.
LOGIN_FORM = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>肇庆市一网统管 · 登录</title>
<style>body{{background:#0b1220;color:#d8e1ee;font-family:"Noto Sans CJK SC",sans-serif;display:flex;
justify-content:center;padding-top:12vh}}form{{display:flex;flex-direction:column;gap:.8rem;width:22rem}}
input,button{{font-size:1.1rem;padding:.4rem}}button{{background:#1d3557;color:#fff;border:1px solid #4fc3f7}}
.err{{color:#ff5252}}</style></head><body><form method="post" action="/admin/login">
<h1>肇庆市一网统管 · 登录 / Sign in</h1><!--msg-->
<input name="username" placeholder="用户名 / user" autocomplete="username" required>
<input name="password" type="password" placeholder="密码 / password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}"><button type="submit">登录 / Sign in</button></form></body></html>"""


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def write_atomically(path: Path, text: str) -> None:
    """Replace a file in one step, so the wall never reads half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Saved:
    """What a save came to: the new version, or why not."""

    version: int | None
    errors: list[TopicError]
    refusal: str | None = None


def save_theme(ctx: AppContext, username: str, key: str, text: str, action: str, note: str | None) -> Saved:
    """Check a theme's text like a file, keep it as the next version, write the file, audit, and reload.

    The caller has checked the user's permission and CSRF token. The first save keeps the file as it was
    before as version 1 (author "system"), so there is always something to roll back to.
    """
    theme, errors = ctx.topics.parse(text, f"{key}.yaml")
    if theme is None:
        return Saved(None, errors)
    if theme.key != key:
        return Saved(None, [], f"the file says key {theme.key!r}, not {key!r}")
    path = ctx.topics.path(key)
    with Session(ctx.engine) as s, s.begin():
        if not aq.theme_versions(s, key) and path.exists():
            aq.add_theme_version(s, key, path.read_text(encoding="utf-8"), "system", ctx.now(),
                                 "the file before the first edit")
        row = aq.add_theme_version(s, key, text, username, ctx.now(), note)
        aq.audit(s, ctx.now(), username, action, f"theme:{key}", f"version {row.version}")
        version = row.version
    write_atomically(path, text)
    ctx.topics.refresh()
    return Saved(version, [])


def sign_in(ctx: AppContext, username: str, password: str, where: str) -> dict[str, Any] | None:
    """Check a name and password (audited either way); on success the Flask session holds the user."""
    with Session(ctx.engine) as s, s.begin():
        user = aq.user_by_name(s, username)
        ok = user is not None and auth.verify_password(password, user.password_hash)
        aq.audit(s, ctx.now(), username or "?", "login", where, None if ok else "wrong name or password", allowed=ok)
        if not ok or user is None:
            return None
        session.clear()
        session["user"] = {"username": user.username, "role": user.role, "themes": list(user.themes or [])}
        return session["user"]


C0_AND_SPACE = "".join(map(chr, range(0x21)))  # what the URL standard strips from both ends


def safe_next(value: str) -> str:
    """Where to go after signing in: a path of this app, as a browser would read it, else "/".

    Browsers drop ASCII tabs and newlines anywhere in a URL and treat a backslash as a slash, so `/%09/evil.example`
    (a tab) or `/%5C/evil.example` become `//evil.example`, another site. The value is read the way a browser reads it and
    only a path with no scheme and no host is kept, rebuilt from its parts.
    """
    cleaned = "".join(ch for ch in value if ch not in "\t\n\r").strip(C0_AND_SPACE)
    cleaned = cleaned.replace("\\", "/")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cleaned):
        return "/"
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/"
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def register(server: Flask, ctx: AppContext) -> None:
    """Mount the admin API on the Flask server."""
    server.secret_key = ctx.settings.secret_key or secrets.token_hex(32)
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")

    def current() -> dict[str, Any] | None:
        return session.get("user")

    def signed_in(write: bool = False):  # noqa: ANN202 — a decorator factory
        def decorate(view):  # noqa: ANN001, ANN202
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Response:
                user = current()
                if user is None:
                    return _json({"error": "sign in first"}, 401)
                if write and not auth.csrf_ok(session, request.headers.get(CSRF_HEADER)):
                    return _json({"error": f"missing or wrong {CSRF_HEADER}"}, 400)
                return view(user, *args, **kwargs)
            return wrapper
        return decorate

    def refuse(user: dict[str, Any], action: str, key: str) -> Response:
        with Session(ctx.engine) as s, s.begin():
            aq.audit(s, ctx.now(), user["username"], action, f"theme:{key}", "not this user's theme", allowed=False)
        return _json({"error": f"{user['username']} may not change the theme {key!r}"}, 403)

    def save(user: dict[str, Any], key: str, text: str, action: str, note: str | None) -> Response:
        saved = save_theme(ctx, user["username"], key, text, action, note)
        if saved.errors:
            return _json({"error": "the theme was not saved", "problems": [
                {"line": e.line, "field": e.field, "message": e.message, "text": str(e)} for e in saved.errors]}, 422)
        if saved.version is None:
            return _json({"error": saved.refusal}, 422)
        return _json({"saved": key, "version": saved.version})

    # Without sign-in these still answer: the sign-in form itself, Dash's static parts, health for the
    # monitoring system. Everything else — pages, every data callback, the API — needs a user.
    open_paths = ("/admin/login", "/assets/", "/_dash-component-suites/", "/_favicon.ico", "/healthz", "/metrics")

    @server.before_request
    def gate() -> Response | None:
        if not ctx.settings.require_sign_in or current() is not None:
            return None
        if request.path.startswith(open_paths):
            return None
        wall, token = request.args.get("wall"), request.args.get("token")
        if wall and token:  # an unattended screen: its URL carries a wall user's token
            with Session(ctx.engine) as s, s.begin():
                user = aq.user_by_name(s, wall)
                ok = user is not None and user.role == "wall" and auth.verify_password(token, user.password_hash)
                aq.audit(s, ctx.now(), wall, "wall-token", request.path, None if ok else "wrong token", allowed=ok)
            if ok:
                session.clear()
                session["user"] = {"username": wall, "role": "wall", "themes": []}
                return None
        if request.method == "GET" and not request.path.startswith(("/_dash", "/admin/api")):
            return redirect(f"/admin/login?next={quote(request.full_path.rstrip('?'))}")
        return _json({"error": "sign in first"}, 401)

    @server.get("/admin/login")
    def login_form() -> Response:
        nxt = request.args.get("next", "/")
        return Response(LOGIN_FORM.format(next=escape(nxt)), mimetype="text/html")

    @server.post("/admin/login")
    def login() -> Response:
        body = request.get_json(silent=True) or request.form
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        if sign_in(ctx, username, password, "session") is None:
            if not request.is_json:
                return Response(LOGIN_FORM.format(next=escape(str(body.get("next", "/")))).replace(
                    "<!--msg-->", "<p class=err>用户名或密码错误 / wrong name or password</p>"),
                    status=401, mimetype="text/html")
            return _json({"error": "wrong name or password"}, 401)
        if not request.is_json:  # the HTML form: on to where the user was going (a path of this app only)
            return redirect(safe_next(str(body.get("next", "/"))))
        return _json({**session["user"], "csrf": auth.csrf_token(session)})

    @server.post("/admin/logout")
    def logout() -> Response:
        session.clear()
        return _json({"signed_out": True})

    @server.get("/admin/api/topics")
    @signed_in()
    def list_topics(user: dict[str, Any]) -> Response:
        keys = [t.key for t in ctx.themes() if auth.can_edit(user["role"], user["themes"], t.key)]
        return _json({"themes": keys, "errors": [str(e) for e in ctx.topics.errors()
                                                  if e.file.removesuffix(".yaml") in keys]})

    @server.get("/admin/api/topics/<key>")
    @signed_in()
    def read_topic(user: dict[str, Any], key: str) -> Response:
        if not auth.can_edit(user["role"], user["themes"], key):
            return refuse(user, "read", key)
        with Session(ctx.engine) as s:
            versions = [{"version": v.version, "author": v.author, "at": v.created_at.isoformat(), "note": v.note}
                        for v in aq.theme_versions(s, key)]
        text = ctx.topics.path(key).read_text(encoding="utf-8") if ctx.topics.path(key).exists() else ""
        return _json({"key": key, "text": text, "versions": versions})

    @server.post("/admin/api/topics/<key>")
    @signed_in(write=True)
    def write_topic(user: dict[str, Any], key: str) -> Response:
        if not auth.can_edit(user["role"], user["themes"], key):
            return refuse(user, "save", key)
        body = request.get_json(silent=True) or {}
        return save(user, key, str(body.get("text", "")), "save", body.get("note"))

    @server.post("/admin/api/topics/<key>/rollback/<int:version>")
    @signed_in(write=True)
    def rollback(user: dict[str, Any], key: str, version: int) -> Response:
        if not auth.can_edit(user["role"], user["themes"], key):
            return refuse(user, "rollback", key)
        with Session(ctx.engine) as s:
            row = aq.theme_version(s, key, version)
            text = row.text if row else None
        if text is None:
            return _json({"error": f"no version {version} of {key!r}"}, 404)
        return save(user, key, text, "rollback", f"rollback to version {version}")

    @server.get("/admin/api/topics/<key>/diff")
    @signed_in()
    def diff(user: dict[str, Any], key: str) -> Response:
        if not auth.can_edit(user["role"], user["themes"], key):
            return refuse(user, "read", key)
        a, b = request.args.get("from", type=int), request.args.get("to", type=int)
        with Session(ctx.engine) as s:
            old, new = aq.theme_version(s, key, a or 0), aq.theme_version(s, key, b or 0)
            if old is None or new is None:
                return _json({"error": "name two saved versions: ?from=N&to=M"}, 404)
            lines = difflib.unified_diff(old.text.splitlines(), new.text.splitlines(), f"{key} v{a}", f"{key} v{b}",
                                         lineterm="")
            return _json({"diff": "\n".join(lines)})

    @server.get("/admin/api/audit")
    @signed_in()
    def audit_log(user: dict[str, Any]) -> Response:
        if user["role"] != "admin":
            return _json({"error": "only an admin reads the audit log"}, 403)
        with Session(ctx.engine) as s:
            return _json({"entries": [{"at": e.at.isoformat(), "user": e.username, "action": e.action,
                                       "target": e.target, "detail": e.detail, "allowed": e.allowed}
                                      for e in aq.audit_entries(s)]})


    # ---- alarms (issue 7): the console's actions, for other consoles and scripts -----------------------------

    @server.get("/admin/api/alarms")
    @signed_in()
    def list_alarms(user: dict[str, Any]) -> Response:
        if user["role"] == "wall":
            return _json({"error": "a wall screen reads alarms on the wall"}, 403)
        with Session(ctx.engine) as s:
            rows = alq.open_alarms(s) if request.args.get("state", "open") == "open" else alq.recent_alarms(s)
            mine = [alarm_dict(a) for a in rows if auth.can_handle_alarm(user["role"], user["themes"], a.theme)]
        return _json({"alarms": mine})

    @server.post("/admin/api/alarms/<int:alarm_id>/<action>")
    @signed_in(write=True)
    def alarm_action(user: dict[str, Any], alarm_id: int, action: str) -> Response:
        done = alarm_actions.act(ctx, user, alarm_id, action)
        return _json({"alarm": done.alarm} if done.error is None else {"error": done.error}, done.status)

    @server.post("/admin/api/silences")
    @signed_in(write=True)
    def add_silence(user: dict[str, Any]) -> Response:
        body = request.get_json(silent=True) or {}
        try:
            minutes = float(body.get("minutes", 0))
        except (TypeError, ValueError):
            return _json({"error": "minutes must be a number"}, 400)
        done = alarm_actions.silence(ctx, user, minutes, body.get("rule"), body.get("source"), body.get("county"),
                                     body.get("reason"))
        return _json(done.alarm if done.error is None else {"error": done.error}, done.status)

    @server.post("/admin/api/cases/<case_id>/advance")
    @signed_in(write=True)
    def advance_case(user: dict[str, Any], case_id: str) -> Response:
        body = request.get_json(silent=True) or {}
        try:
            step = int(body.get("step", 0))
        except (TypeError, ValueError):
            return _json({"error": "step must be a whole number 1–7"}, 400)
        done = alarm_actions.advance(ctx, user, case_id, step, body.get("note"))
        return _json(done.alarm if done.error is None else {"error": done.error}, done.status)
