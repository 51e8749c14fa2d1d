"""Sign-in hardening: guessing is throttled per user and per address (wall tokens too), an unknown name costs what
a known one costs, password checks run a bounded number at once, sessions live in the store so signing out,
deactivation and a new password end them, and wall tokens leave the URL and the logs."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from clock import FakeClock
from dashboard import admin, auth
from dashboard.auth import hash_password
from store import admin_queries as aq
from tests.dashboard.apps import app_with_themes
from tests.feeds.samples import T0


def with_users(app: Any) -> Any:
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s, s.begin():
        aq.add_user(s, "leader", hash_password("leader-pass-2021"), "leader", [], ctx.now())
        aq.add_user(s, "screen-1", hash_password("wall-token-5f2c9e"), "wall", [], ctx.now())
    return app


@pytest.fixture
def app(tmp_path: Path) -> Any:
    return with_users(app_with_themes(tmp_path, FakeClock(T0)))


@pytest.fixture
def locked(tmp_path: Path) -> Any:
    """The app with --require-sign-in: wall screens sign in by their token URL."""
    return with_users(app_with_themes(tmp_path, FakeClock(T0), require_sign_in=True))


def login(client: Any, username: str, password: str, address: str = "10.0.0.7") -> Any:
    return client.post("/admin/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_guessing_one_users_password_is_throttled_until_the_window_passes(app: Any) -> None:
    client = app.server.test_client()
    assert [login(client, "leader", f"guess-{i}").status_code for i in range(5)] == [401] * 5
    r = login(client, "leader", "guess-6")
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 15 * 60 + 1
    assert login(client, "leader", "leader-pass-2021").status_code == 429  # the right one too: no oracle
    assert login(client, "leader", "leader-pass-2021", "10.9.9.9").status_code == 429  # from anywhere
    app.server.config["ZQ_CONTEXT"].clock.advance(minutes=16)
    assert login(client, "leader", "leader-pass-2021").status_code == 200


def test_guessing_from_one_address_is_throttled_whatever_the_names(app: Any) -> None:
    client = app.server.test_client()
    assert {login(client, f"nobody-{i}", "x" * 10).status_code for i in range(20)} == {401}
    assert login(client, "leader", "leader-pass-2021").status_code == 429
    assert login(client, "leader", "leader-pass-2021", "10.0.0.8").status_code == 200  # another address


def test_an_unknown_name_costs_the_same_work_as_a_known_one(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, stored: calls.append(stored) or real(p, stored))
    client = app.server.test_client()
    login(client, "leader", "wrong-password")
    login(client, "nobody-at-all", "wrong-password")
    assert len(calls) == 2  # one scrypt each: the answer's time says nothing about who exists


def test_password_checks_run_a_bounded_number_at_once(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    running, most = [0], [0]
    lock = threading.Lock()
    real = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # each check held a while: checks overlap if the limit lets them
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    auth._decoy()  # made once, before the burst
    monkeypatch.setattr(hashlib, "scrypt", counted)
    codes: list[int] = []

    def attempt(i: int) -> None:
        codes.append(login(app.server.test_client(), f"user-{i}", "wrong-password", f"10.1.0.{i}").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] <= 2 and codes == [401] * 12


def test_wall_tokens_are_throttled_too_and_leave_the_url(locked: Any) -> None:
    app = locked
    screen = app.server.test_client()
    wrong = [screen.get("/?theme=social&wall=screen-1&token=guess", environ_base={"REMOTE_ADDR": "10.2.0.1"})
             for _ in range(5)]
    assert all(r.status_code == 302 and r.headers["Location"].startswith("/admin/login") for r in wrong)
    throttled = screen.get("/?theme=social&wall=screen-1&token=wall-token-5f2c9e",
                           environ_base={"REMOTE_ADDR": "10.2.0.1"})
    assert throttled.status_code == 429
    other = app.server.test_client()
    app.server.config["ZQ_CONTEXT"].clock.advance(minutes=16)
    r = other.get("/?theme=social&lang=en&wall=screen-1&token=wall-token-5f2c9e")
    assert r.status_code == 302 and r.headers["Location"] == "/?theme=social&lang=en"  # on without the token


def test_signing_out_deactivating_and_a_new_password_end_sessions(app: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "SESSION_RECHECK_S", 0.0)
    ctx = app.server.config["ZQ_CONTEXT"]

    def signed() -> tuple[Any, str]:
        c = app.server.test_client()
        r = login(c, "leader", "leader-pass-2021")
        assert r.status_code == 200
        return c, c.get_cookie("session").value

    def stolen(cookie: str) -> int:
        thief = app.server.test_client()
        thief.set_cookie("session", cookie)
        return thief.get("/admin/api/topics").status_code

    a, cookie = signed()
    assert stolen(cookie) == 200
    assert a.post("/admin/logout").status_code == 200
    assert stolen(cookie) == 401  # the old cookie no longer works after signing out

    _, cookie = signed()
    with Session(ctx.engine) as s, s.begin():
        aq.set_active(s, "leader", False, ctx.now())
    assert stolen(cookie) == 401
    assert login(app.server.test_client(), "leader", "leader-pass-2021").status_code == 401
    with Session(ctx.engine) as s, s.begin():
        aq.set_active(s, "leader", True, ctx.now())

    _, cookie = signed()
    with Session(ctx.engine) as s, s.begin():
        aq.set_password(s, "leader", hash_password("new-pass-2021!"), ctx.now())
    assert stolen(cookie) == 401


def test_tokens_never_reach_the_access_log() -> None:
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /?theme=social&wall=screen-1&token=wall-token-5f2c9e HTTP/1.1",
                                "302"), None)
    admin.RedactSecrets().filter(record)
    line = record.getMessage()
    assert "wall-token-5f2c9e" not in line and "token=***" in line and "wall=screen-1" in line
    admin.redact_access_logs()
    assert any(isinstance(f, admin.RedactSecrets) for f in logging.getLogger("gunicorn.access").filters)


def test_every_attempt_is_counted_in_the_store(app: Any) -> None:
    ctx = app.server.config["ZQ_CONTEXT"]
    login(app.server.test_client(), "leader", "nope")
    with Session(ctx.engine) as s:
        n, first = aq.recent_failures(s, ctx.now() - timedelta(minutes=15), username="leader")
    assert n == 1 and first is not None
