"""Users, theme versions and the audit log on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import admin_queries as aq

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_users_versions_and_audit(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        aq.add_user(s, "eco", "scrypt$x", "owner", ["ecology"], T0, "市生态环境局")
        for i, text in enumerate(["a: 1\n", "a: 2\n"]):
            aq.add_theme_version(s, "ecology", text, "eco", T0 + timedelta(minutes=i))
        aq.add_theme_version(s, "service", "b: 1\n", "admin", T0)
        aq.audit(s, T0, "eco", "save", "theme:ecology", "version 2")
        aq.audit(s, T0 + timedelta(seconds=1), "eco", "save", "theme:service", "not this user's theme", allowed=False)
    with Session(engine) as s:
        user = aq.user_by_name(s, "eco")
        assert user is not None and user.themes == ["ecology"] and user.role == "owner"
        assert aq.user_by_name(s, "nobody") is None
        assert [v.version for v in aq.theme_versions(s, "ecology")] == [2, 1]
        assert aq.theme_version(s, "ecology", 1).text == "a: 1\n"  # type: ignore[union-attr]
        assert aq.theme_version(s, "service", 1).author == "admin"  # type: ignore[union-attr]
        assert [(e.target, e.allowed) for e in aq.audit_entries(s)] == [("theme:service", False),
                                                                        ("theme:ecology", True)]
    with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
        aq.add_user(s, "eco", "scrypt$y", "admin", [], T0)  # names are unique


def test_a_county_override_of_a_long_theme_key_keeps_its_versions(engine: Engine) -> None:
    """A county override's key is <theme>@<adcode>: 39 characters for a theme key of 32 (migration 0009)."""
    key = "x" * 32 + "@441224"
    with Session(engine) as s, s.begin():
        aq.add_theme_version(s, key, "owner: 怀集县委政法委\n", "hj_owner", T0)
        aq.add_user(s, "hj_owner", "scrypt$x", "owner", ["x" * 32], T0, counties=["441224"])
    with Session(engine) as s:
        assert [v.version for v in aq.theme_versions(s, key)] == [1]
        assert aq.user_by_name(s, "hj_owner").counties == ["441224"]  # type: ignore[union-attr]
