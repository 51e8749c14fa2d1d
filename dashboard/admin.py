"""The admin API for theme owners (/admin/…): sign in, read and save their themes' files, versions, diff,
rollback, audit. Every read and write checks the signed-in user's permission at the server."""

from __future__ import annotations

import difflib
import logging
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from flask import Flask, Response, jsonify, redirect, request, session
from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from dashboard import alarm_actions, auth
from dashboard.alarm_actions import alarm_dict
from dashboard.context import AppContext
from store import admin_queries as aq
from store import lock
from store import alarm_queries as alq
from topics.loader import KEY, TopicError, key_of_file, override_key, override_starter, split_key

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


class _Body(BaseModel):
    """A JSON request body: JSON types as written (no "30" for 30), no unknown fields (a typo is named)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ThemeBody(_Body):
    """POST /admin/api/topics/<key>: a theme file's new text."""

    text: str = Field(max_length=200_000)
    note: str | None = Field(None, max_length=500)
    base_version: int | None = Field(None, ge=0, description="the version the edit started from: refused (409) when "
                                                             "a newer one was saved since")


class SilenceBody(_Body):
    """POST /admin/api/silences."""

    minutes: float = Field(gt=0, le=7 * 24 * 60)
    rule: str | None = Field(None, max_length=128)
    source: str | None = Field(None, max_length=64)
    county: str | None = Field(None, pattern=r"^\d{6}$")
    reason: str | None = Field(None, max_length=500)


class AdvanceBody(_Body):
    """POST /admin/api/cases/<id>/advance."""

    step: int = Field(ge=1, le=7)
    note: str | None = Field(None, max_length=500)


M = TypeVar("M", bound=BaseModel)


def body_of(model: type[M]) -> M | Response:
    """The request's JSON body as `model`, or a 400 that names each bad field."""
    try:
        return model.model_validate_json(request.get_data() or b"{}")
    except ValidationError as e:
        problems = [{"field": ".".join(str(x) for x in err["loc"]) or "body", "message": err["msg"]}
                    for err in e.errors(include_url=False)]
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return _json({"error": f"bad request body: {text}", "problems": problems}, 400)


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
    conflict: bool = False  # saved by someone else since the version the edit started from


def save_theme(ctx: AppContext, username: str, key: str, text: str, action: str, note: str | None,
               base_version: int | None = None) -> Saved:
    """Check a theme's text like a file, keep it as the next version, write the file, audit, and reload.

    The caller has checked the user's permission and CSRF token. The first save keeps the file as it was
    before as version 1 (author "system"), so there is always something to roll back to. Saves of one theme
    are serialised across threads, workers and servers (a lock held until the version is committed and the
    file written: versions and the file agree); with `base_version`, a save is refused when a newer version
    has been saved since.
    """
    try:
        theme_key, county = split_key(key)
    except ValueError as e:
        return Saved(None, [], str(e))
    theme, errors = ctx.topics.check(key, text)  # an override: checked against its theme, as the county sees it
    if theme is None:
        return Saved(None, errors)
    if theme.key != theme_key:
        return Saved(None, [], f"the file says key {theme.key!r}, not {key!r}")
    path = ctx.topics.path(key)
    path.parent.mkdir(parents=True, exist_ok=True)  # a county's first override makes its directory
    with Session(ctx.engine) as s, s.begin():
        lock(s, f"theme:{key}")
        versions = aq.theme_versions(s, key)
        newest = versions[0].version if versions else 0
        if base_version is not None and base_version != newest:
            who = versions[0].author if versions else "system"
            return Saved(None, [], f"{key} was saved as version {newest} by {who} since version {base_version}: "
                                   f"reload it and edit again", conflict=True)
        if not versions and path.exists():
            aq.add_theme_version(s, key, path.read_text(encoding="utf-8"), "system", ctx.now(),
                                 "the file before the first edit")
        row = aq.add_theme_version(s, key, text, username, ctx.now(), note)
        aq.audit(s, ctx.now(), username, action, f"theme:{key}", f"version {row.version}")
        version = row.version
        write_atomically(path, text)  # under the lock: the file is the newest version's text
    ctx.topics.refresh()
    return Saved(version, [])


def may_edit(user: dict[str, Any], key: str) -> bool:
    """Whether the user edits the file of that key (a theme's, or a county's override `theme@adcode`)."""
    return KEY.fullmatch(key) is not None and auth.can_edit(user["role"], user["themes"], key, user.get("counties"))


def editable_keys(ctx: AppContext, user: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The city themes a user edits, and the county overrides (theme@adcode, whether or not the file exists yet)."""
    themes = ctx.theme_keys()
    keys = [k for k in themes if may_edit(user, k)]
    overrides = [override_key(k, c) for k in themes for c in ctx.city.county_codes if may_edit(user, override_key(k, c))]
    return keys, overrides


def file_text(ctx: AppContext, key: str) -> str:
    """The file of a key as it is now; a county's override not written yet starts from the city theme's panels."""
    path = ctx.topics.path(key)
    if path.exists():
        return path.read_text(encoding="utf-8")
    theme_key, county = split_key(key)
    if county is None or theme_key not in ctx.theme_keys():
        return ""
    city = ctx.topics.path(theme_key)
    return override_starter(city.read_text(encoding="utf-8") if city.exists() else "", ctx.theme(theme_key),
                            ctx.county_name(county, "zh"))


# Guessing is throttled per user name and per address, counted in the store (every worker sees every attempt):
# at most this many failures in the window; a success starts the count again.
THROTTLE_WINDOW = timedelta(minutes=15)
FAILURES_PER_USER = 5
FAILURES_PER_ADDRESS = 20
SESSION_RECHECK_S = 5.0  # a revoked session stops working within this (each worker rechecks its sessions)


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: the user, or a refusal — wrong, throttled (retry after), or busy."""

    user: dict[str, Any] | None = None
    retry_after_s: int | None = None
    busy: bool = False

    @property
    def message(self) -> str:
        """Why it was refused, in Chinese and English."""
        if self.busy:
            return "登录繁忙，请稍后再试 / sign-in is busy, try again shortly"
        if self.retry_after_s is not None:
            return (f"尝试次数过多，请 {self.retry_after_s} 秒后再试 / too many attempts, try again in "
                    f"{self.retry_after_s} s")
        return "用户名或密码错误 / wrong name or password"

    def response(self, html_next: str | None = None) -> Response:
        """The refusal as the API (JSON) or the form (HTML) answers it."""
        message = self.message
        status = 503 if self.busy else 429 if self.retry_after_s is not None else 401
        if html_next is not None:
            resp = Response(LOGIN_FORM.format(next=escape(html_next)).replace(
                "<!--msg-->", f"<p class=err>{escape(message)}</p>"), status=status, mimetype="text/html")
        else:
            resp = _json({"error": message.split(" / ")[-1]}, status)
        if status in (429, 503):
            resp.headers["Retry-After"] = str(self.retry_after_s or 5)
        return resp


class RedactSecrets(logging.Filter):
    """Keeps wall tokens (and anything passed as token= or password=) out of access logs."""

    PATTERN = re.compile(r"((?:token|password)=)[^&\s\"']+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with the secrets masked; never drops a record."""
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 — a record that cannot be formatted is left as it is
            return True
        redacted = self.PATTERN.sub(r"\1***", text)
        if redacted != text:
            record.msg, record.args = redacted, None
        return True


def redact_access_logs() -> None:
    """Mask secrets in the development server's and gunicorn's access logs (once per process)."""
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


def client_address() -> str:
    """The address the request came from (behind a proxy: set --trusted-proxies, and this is the client's)."""
    return request.remote_addr or "-"


def sign_in(ctx: AppContext, username: str, password: str, where: str, role: str | None = None) -> SignIn:
    """Check a name and password (or a wall's token: role "wall"), throttled per user and address, with the same
    work for an unknown name; on success the Flask session names a session kept in the store. Audited either way."""
    now, address = ctx.now(), client_address()
    with Session(ctx.engine) as s, s.begin():
        since = now - THROTTLE_WINDOW
        by_user, first_u = aq.recent_failures(s, since, username=username)
        by_addr, first_a = aq.recent_failures(s, since, address=address)
        if by_user >= FAILURES_PER_USER or by_addr >= FAILURES_PER_ADDRESS:
            oldest = min(t for t in (first_u if by_user >= FAILURES_PER_USER else None,
                                     first_a if by_addr >= FAILURES_PER_ADDRESS else None) if t is not None)
            wait = max(1, int((oldest + THROTTLE_WINDOW - now).total_seconds()) + 1)
            aq.audit(s, now, username or "?", "login", where, f"throttled from {address}", allowed=False)
            return SignIn(retry_after_s=wait)
        row = aq.user_by_name(s, username)
        found = row is not None and (role is None or row.role == role)
        stored = row.password_hash if found and row is not None else None
        user = ({"username": row.username, "role": row.role, "themes": list(row.themes or []),
                 "counties": sorted(row.counties or [])}
                if found and row is not None else None)
    try:
        ok = auth.check_password(password, stored)
    except auth.Busy:
        return SignIn(busy=True)
    with Session(ctx.engine) as s, s.begin():
        aq.record_attempt(s, now, username, address, ok)
        aq.audit(s, now, username or "?", "login", where, None if ok else "wrong name or password", allowed=ok)
        if not ok or user is None:
            return SignIn()
        sid = aq.open_session(s, user["username"], now)
    session.clear()
    session["sid"] = sid
    session["user"] = user
    return SignIn(user=user)


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
    redact_access_logs()
    server.secret_key = ctx.settings.secret_key or secrets.token_hex(32)
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")

    checked: dict[str, float] = {}  # session id → when this worker last found it valid in the store

    def current() -> dict[str, Any] | None:
        return session.get("user")

    @server.before_request
    def check_session() -> None:
        """A cookie names a session kept in the store: one signed out, of a deactivated user or from before a
        password change is not honoured (rechecked every SESSION_RECHECK_S by each worker)."""
        if "user" not in session:
            return
        sid = session.get("sid")
        now = time.monotonic()
        if isinstance(sid, str) and now - checked.get(sid, -1e9) < SESSION_RECHECK_S:
            return
        with Session(ctx.engine) as s:
            valid = isinstance(sid, str) and aq.session_user(s, sid) is not None
        if valid:
            checked[sid] = now
            if len(checked) > 10_000:
                checked.clear()
        else:
            checked.pop(sid, None)
            session.clear()

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

    def save(user: dict[str, Any], key: str, text: str, action: str, note: str | None,
             base_version: int | None = None) -> Response:
        saved = save_theme(ctx, user["username"], key, text, action, note, base_version)
        if saved.conflict:
            return _json({"error": saved.refusal}, 409)
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
        if wall and token:  # an unattended screen: its URL carries a wall user's token, once
            done = sign_in(ctx, wall, token, f"wall-token {request.path}", role="wall")
            if done.user is None and (done.busy or done.retry_after_s is not None):
                return done.response()
            if done.user is not None and request.method == "GET":
                # The token is exchanged for a session: on to the same page without it, so it stays out of the
                # browser's history, the Referer and the access log's next lines.
                args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("wall", "token")]
                return redirect(request.path + ("?" + urlencode(args) if args else ""))
            if done.user is not None:
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
        done = sign_in(ctx, username, password, "session")
        if done.user is None:
            return done.response(None if request.is_json else str(body.get("next", "/")))
        if not request.is_json:  # the HTML form: on to where the user was going (a path of this app only)
            return redirect(safe_next(str(body.get("next", "/"))))
        return _json({**session["user"], "csrf": auth.csrf_token(session)})

    @server.post("/admin/logout")
    def logout() -> Response:
        sid = session.get("sid")
        if isinstance(sid, str):
            with Session(ctx.engine) as s, s.begin():
                aq.revoke_session(s, sid, ctx.now())
            checked.pop(sid, None)
        session.clear()
        return _json({"signed_out": True})

    @server.get("/admin/api/topics")
    @signed_in()
    def list_topics(user: dict[str, Any]) -> Response:
        keys, overrides = editable_keys(ctx, user)
        return _json({"themes": keys, "overrides": overrides,
                      "errors": [str(e) for e in ctx.topics.errors() if key_of_file(e.file) in {*keys, *overrides}]})

    @server.get("/admin/api/topics/<key>")
    @signed_in()
    def read_topic(user: dict[str, Any], key: str) -> Response:
        if not may_edit(user, key):
            return refuse(user, "read", key)
        with Session(ctx.engine) as s:
            versions = [{"version": v.version, "author": v.author, "at": v.created_at.isoformat(), "note": v.note}
                        for v in aq.theme_versions(s, key)]
        return _json({"key": key, "text": file_text(ctx, key), "versions": versions,
                      "exists": ctx.topics.path(key).exists()})

    @server.post("/admin/api/topics/<key>")
    @signed_in(write=True)
    def write_topic(user: dict[str, Any], key: str) -> Response:
        if not may_edit(user, key):
            return refuse(user, "save", key)
        body = body_of(ThemeBody)
        if isinstance(body, Response):
            return body
        return save(user, key, body.text, "save", body.note, body.base_version)

    @server.post("/admin/api/topics/<key>/rollback/<int:version>")
    @signed_in(write=True)
    def rollback(user: dict[str, Any], key: str, version: int) -> Response:
        if not may_edit(user, key):
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
        if not may_edit(user, key):
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
            mine = [alarm_dict(a) for a in rows if auth.handles(user, a.theme, a.county_adcode)]
        return _json({"alarms": mine})

    @server.post("/admin/api/alarms/<int:alarm_id>/<action>")
    @signed_in(write=True)
    def alarm_action(user: dict[str, Any], alarm_id: int, action: str) -> Response:
        done = alarm_actions.act(ctx, user, alarm_id, action)
        return _json({"alarm": done.alarm} if done.error is None else {"error": done.error}, done.status)

    @server.post("/admin/api/silences")
    @signed_in(write=True)
    def add_silence(user: dict[str, Any]) -> Response:
        body = body_of(SilenceBody)
        if isinstance(body, Response):
            return body
        done = alarm_actions.silence(ctx, user, body.minutes, body.rule, body.source, body.county, body.reason)
        return _json(done.alarm if done.error is None else {"error": done.error}, done.status)

    @server.post("/admin/api/cases/<case_id>/advance")
    @signed_in(write=True)
    def advance_case(user: dict[str, Any], case_id: str) -> Response:
        body = body_of(AdvanceBody)
        if isinstance(body, Response):
            return body
        done = alarm_actions.advance(ctx, user, case_id, body.step, body.note)
        return _json(done.alarm if done.error is None else {"error": done.error}, done.status)
