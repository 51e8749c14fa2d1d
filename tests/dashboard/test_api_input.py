"""The JSON API under odd input and concurrent use: every bad body is a 400 that names the field (never a 500),
and concurrent saves of one theme are serialised (SQLite and PostgreSQL) or refused with 409 when they started
from a version that is no longer the newest."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from clock import process_clock
from dashboard import create_app
from dashboard.auth import hash_password
from settings import CITY_TZ, Settings
from store import admin_queries as aq
from tests.conftest import new_pg_database
from tests.servers import Postgres
from tests.conftest import migrated_sqlite
from topics.loader import BUILTIN_DIR


def themed_app(tmp_path: Path, db: str | None = None) -> Any:
    topics = tmp_path / "topics"
    topics.mkdir()
    for path in BUILTIN_DIR.glob("*.yaml"):
        shutil.copy(path, topics / path.name)
    app = create_app(Settings(db=db or migrated_sqlite(tmp_path / 'zq.sqlite3'), topics_dir=str(topics)),
                     start_feeds=False)
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s, s.begin():
        now = process_clock().now(CITY_TZ)
        aq.add_user(s, "admin", hash_password("admin-pass-2021"), "admin", [], now)
    return app


def signed_in(app: Any) -> tuple[Any, dict[str, str]]:
    client = app.server.test_client()
    r = client.post("/admin/login", json={"username": "admin", "password": "admin-pass-2021"})
    return client, {"X-CSRF-Token": r.json["csrf"]}


@pytest.mark.parametrize("path, body, field", [
    ("/admin/api/silences", b'{"minutes": "nan"}', "minutes"),
    ("/admin/api/silences", b'{"minutes": NaN}', "body"),  # not JSON at all
    ("/admin/api/silences", b'{"minutes": 1e999, "rule": "social/fog"}', "minutes"),
    ("/admin/api/silences", b'{"minutes": "30", "rule": "social/fog"}', "minutes"),
    ("/admin/api/silences", b'{"minutes": true, "rule": "social/fog"}', "minutes"),
    ("/admin/api/silences", b'{"minutes": -5, "rule": "social/fog"}', "minutes"),
    ("/admin/api/silences", b'{"minutes": 30, "county": "Zhaoqing"}', "county"),
    ("/admin/api/silences", b'{"minutes": 30, "rule": ["social/fog"]}', "rule"),
    ("/admin/api/silences", b'{"minute": 30}', "minutes"),
    ("/admin/api/silences", b'[30]', "body"),
    ("/admin/api/silences", b'', "minutes"),
    ("/admin/api/cases/AL-1/advance", b'{"step": "3"}', "step"),
    ("/admin/api/cases/AL-1/advance", b'{"step": 3.5}', "step"),
    ("/admin/api/cases/AL-1/advance", b'{"step": 99}', "step"),
    ("/admin/api/cases/AL-1/advance", b'{"step": 3, "note": {"a": 1}}', "note"),
    ("/admin/api/topics/ecology", b'{"text": 5}', "text"),
    ("/admin/api/topics/ecology", b'{"text": "x", "base_version": -1}', "base_version"),
    ("/admin/api/topics/ecology", b'\xff\xfe', "body"),
])
def test_a_bad_body_is_a_400_naming_the_field(tmp_path: Path, path: str, body: bytes, field: str) -> None:
    app = themed_app(tmp_path)
    client, csrf = signed_in(app)
    r = client.post(path, data=body, headers={**csrf, "Content-Type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True))
    fields = [p["field"] for p in r.json["problems"]]
    assert field in fields or (field == "body" and fields), r.json
    assert r.json["error"].startswith("bad request body")


def test_nan_minutes_cannot_reach_a_silence_by_any_path(tmp_path: Path) -> None:
    from alerts import lifecycle

    app = themed_app(tmp_path)
    with Session(app.server.config["ZQ_CONTEXT"].engine) as s, pytest.raises(lifecycle.AlarmError):
        lifecycle.silence(s, "admin", process_clock().now(), float("nan"), "social/fog")


def concurrent_saves(app: Any, n: int, base_version: int | None = None) -> list[tuple[int, Any]]:
    ctx = app.server.config["ZQ_CONTEXT"]
    original = ctx.topics.path("ecology").read_text(encoding="utf-8")
    clients = [signed_in(app) for _ in range(n)]
    start = threading.Barrier(n)
    results: list[tuple[int, Any]] = [(0, None)] * n

    def save(i: int) -> None:
        client, csrf = clients[i]
        body: dict[str, Any] = {"text": original.replace("name_en: ", f"name_en: v{i} ", 1), "note": f"save {i}"}
        if base_version is not None:
            body["base_version"] = base_version
        start.wait()
        r = client.post("/admin/api/topics/ecology", json=body, headers=csrf)
        results[i] = (r.status_code, r.json)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def check_serialised(app: Any, results: list[tuple[int, Any]]) -> None:
    assert [code for code, _ in results] == [200] * len(results), results
    assert sorted(body["version"] for _, body in results) == list(range(2, len(results) + 2))
    ctx = app.server.config["ZQ_CONTEXT"]
    with Session(ctx.engine) as s:
        versions = aq.theme_versions(s, "ecology")
    assert [v.version for v in versions] == list(range(len(results) + 1, 0, -1))  # 1 is the file before
    assert [v.author for v in versions].count("system") == 1
    # The file is the newest version's text (each file write happened under the same lock as its version).
    assert ctx.topics.path("ecology").read_text(encoding="utf-8") == versions[0].text


def test_eight_concurrent_saves_of_one_theme_are_serialised_on_sqlite(tmp_path: Path) -> None:
    app = themed_app(tmp_path)
    check_serialised(app, concurrent_saves(app, 8))


@pytest.mark.postgres
def test_eight_concurrent_saves_of_one_theme_are_serialised_on_postgresql(tmp_path: Path,
                                                                           postgres: Postgres) -> None:
    app = themed_app(tmp_path, new_pg_database(postgres))
    check_serialised(app, concurrent_saves(app, 8))


def test_saves_from_one_version_one_wins_and_the_others_are_told_409(tmp_path: Path) -> None:
    app = themed_app(tmp_path)
    client, csrf = signed_in(app)
    text = app.server.config["ZQ_CONTEXT"].topics.path("ecology").read_text(encoding="utf-8")
    assert client.post("/admin/api/topics/ecology", json={"text": text}, headers=csrf).json["version"] == 2
    results = concurrent_saves(app, 8, base_version=2)
    assert sorted(code for code, _ in results) == [200] + [409] * 7, results
    refused = [body["error"] for code, body in results if code == 409]
    assert all("saved as version 3 by admin since version 2" in e for e in refused), refused
