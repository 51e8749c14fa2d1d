"""`python -m dashboard users add NAME --role owner --theme ecology`: manage who may sign in (password from
ZQ_NEW_PASSWORD or asked for)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy.orm import Session

from clock import process_clock
from dashboard.auth import ROLES, hash_password
from settings import CITY_TZ
from store import make_engine, migrate
from store import admin_queries as aq


def main(argv: list[str] | None = None) -> int:
    """Add a user; exit 2 on a bad command, 1 when the name is taken."""
    p = argparse.ArgumentParser(prog="python -m dashboard")
    sub = p.add_subparsers(dest="what", required=True)
    users = sub.add_parser("users").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--theme", action="append", default=[], help="a theme an owner may edit (repeatable)")
    add.add_argument("--name", help="display name")
    add.add_argument("--db", default=os.environ.get("ZQ_DB", "sqlite:///var/zq.sqlite3"))
    a = p.parse_args(argv)
    if a.role == "owner" and not a.theme:
        p.error("an owner needs at least one --theme")
    password = os.environ.get("ZQ_NEW_PASSWORD") or getpass.getpass(f"password for {a.username}: ")
    if len(password) < 8:
        print("refused: a password has at least 8 characters", file=sys.stderr)
        return 2
    engine = make_engine(a.db)
    migrate(engine)
    with Session(engine) as s, s.begin():
        if aq.user_by_name(s, a.username) is not None:
            print(f"refused: {a.username} exists", file=sys.stderr)
            return 1
        aq.add_user(s, a.username, hash_password(password), a.role, a.theme, process_clock().now(CITY_TZ), a.name)
    print(f"added {a.username} ({a.role}{': ' + ', '.join(a.theme) if a.theme else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
