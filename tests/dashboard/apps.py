"""The app as the admin and alarm tests build it: themes from a copy of the packaged files, users added the way
an administrator adds them (the `python -m dashboard users add` command, run in this process: test_admin.py runs
it as a process of its own)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from clock import Clock
from dashboard import create_app
from dashboard.__main__ import main as users_command
from settings import Settings
from topics.loader import BUILTIN_DIR
from tests.conftest import migrated_sqlite

ROOT = Path(__file__).resolve().parents[2]


def app_with_themes(tmp_path: Path, clock: Clock | None = None, **settings: Any) -> Any:
    """The app (no feeds started) on a fresh SQLite store, reading a copy of the packaged theme files; on `clock`
    when one is given (a FakeClock for a test that sets the date), else the process's."""
    topics = tmp_path / "topics"
    topics.mkdir()
    for path in BUILTIN_DIR.glob("*.yaml"):
        shutil.copy(path, topics / path.name)
    return create_app(Settings(db=migrated_sqlite(tmp_path / 'zq.sqlite3'), topics_dir=str(topics), **settings),
                      start_feeds=False, clock=clock)


def add_user(db: str, username: str, role: str, password: str, *themes: str, counties: tuple[str, ...] | list[str] = ()
             ) -> None:
    """Add a user with the command an administrator runs (the password from the environment, never argv)."""
    args = ["users", "add", username, "--role", role, "--db", db]
    for key in themes:
        args += ["--theme", key]
    for county in counties:
        args += ["--county", county]
    assert users_command(args, {"ZQ_NEW_PASSWORD": password}) == 0
