"""`python -m dashboard users add|passwd|deactivate|activate NAME …`: manage who may sign in (a password from
ZQ_NEW_PASSWORD or asked for). A new password and a deactivation end the user's sessions everywhere.

It loads no Dash (dashboard/__init__.py imports the app factory lazily): a command takes a second, not four."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clock import process_clock
from dashboard.auth import ROLES, hash_password
from settings import CITY_TZ
from store import admin_queries as aq
from store import make_engine, migrate


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run a users command (ZQ_DB and ZQ_NEW_PASSWORD read from `environ`, the process's by default); exit 2 on a
    bad command, 1 when the name is taken or unknown."""
    env = os.environ if environ is None else environ
    p = argparse.ArgumentParser(prog="python -m dashboard")
    sub = p.add_subparsers(dest="what", required=True)
    users = sub.add_parser("users").add_subparsers(dest="action", required=True)
    db = {"default": env.get("ZQ_DB", "sqlite:///var/zq.sqlite3")}
    add = users.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--theme", action="append", default=[], help="a theme an owner may edit (repeatable)")
    add.add_argument("--county", action="append", default=[], metavar="ADCODE",
                     help="bind the user to a county: they see its data only (repeatable; none: the whole city)")
    add.add_argument("--name", help="display name")
    add.add_argument("--db", **db)
    for name, text in (("passwd", "set a new password (ends the user's sessions)"),
                       ("deactivate", "stop a user signing in (ends their sessions)"),
                       ("activate", "let a deactivated user sign in again")):
        cmd = users.add_parser(name, help=text)
        cmd.add_argument("username")
        cmd.add_argument("--db", **db)
    a = p.parse_args(argv)
    if a.action == "add" and a.role == "owner" and not a.theme:
        p.error("an owner needs at least one --theme")
    if a.action == "add" and a.county:
        from geo import City  # only here: the other commands need no boundaries
        from settings import Settings

        city = City.load(Settings().city)  # the settings' city (ZQ_CITY)
        unknown = [c for c in a.county if not city.is_county(c)]
        if unknown:
            p.error(f"{', '.join(unknown)} is not a county of {city.name} ({', '.join(city.county_codes)})")
    password = None
    if a.action in ("add", "passwd"):
        password = env.get("ZQ_NEW_PASSWORD") or getpass.getpass(f"password for {a.username}: ")
        if len(password) < 8:
            print("refused: a password has at least 8 characters", file=sys.stderr)
            return 2
    engine = make_engine(a.db)
    try:
        return _run(a, engine, password)
    finally:
        engine.dispose()  # run in-process by the tests, which must not keep a pool per call


def _run(a: argparse.Namespace, engine: Engine, password: str | None) -> int:
    """The parsed command on the store."""
    migrate(engine)
    now = process_clock().now(CITY_TZ)
    with Session(engine) as s, s.begin():
        if a.action == "add":
            if aq.user_exists(s, a.username):
                print(f"refused: {a.username} exists", file=sys.stderr)
                return 1
            assert password is not None
            aq.add_user(s, a.username, hash_password(password), a.role, a.theme, now, a.name, a.county)
            where = f"; counties {', '.join(a.county)}" if a.county else ""
            print(f"added {a.username} ({a.role}{': ' + ', '.join(a.theme) if a.theme else ''}{where})")
            return 0
        if a.action == "passwd":
            assert password is not None
            done = aq.set_password(s, a.username, hash_password(password), now)
        else:
            done = aq.set_active(s, a.username, a.action == "activate", now)
    if not done:
        print(f"refused: there is no user {a.username}", file=sys.stderr)
        return 1
    print(f"{a.action} {a.username}: done (their sessions end within seconds)" if a.action != "activate"
          else f"activated {a.username}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
