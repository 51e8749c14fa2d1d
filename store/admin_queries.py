"""Users, theme versions and the audit log: reads and writes for the admin pages (sessions owned by the caller)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import AuditEntry, ThemeVersion, User


def add_user(session: Session, username: str, password_hash: str, role: str, themes: Sequence[str],
             now: datetime, display_name: str | None = None) -> User:
    """A new user (the caller hashes the password)."""
    user = User(username=username, password_hash=password_hash, role=role, themes=list(themes),
                display_name=display_name, active=True, created_at=now)
    session.add(user)
    session.flush()
    return user


def user_by_name(session: Session, username: str) -> User | None:
    """The active user of that name."""
    return session.scalar(select(User).where(User.username == username, User.active.is_(True)))


def theme_versions(session: Session, key: str) -> list[ThemeVersion]:
    """A theme's saved versions, newest first."""
    return list(session.scalars(select(ThemeVersion).where(ThemeVersion.theme_key == key)
                                .order_by(ThemeVersion.version.desc())))


def theme_version(session: Session, key: str, version: int) -> ThemeVersion | None:
    """One saved version of a theme."""
    return session.scalar(select(ThemeVersion).where(ThemeVersion.theme_key == key, ThemeVersion.version == version))


def add_theme_version(session: Session, key: str, text: str, author: str, now: datetime,
                      note: str | None = None) -> ThemeVersion:
    """Save a theme's text as its next version."""
    newest = session.scalar(select(func.max(ThemeVersion.version)).where(ThemeVersion.theme_key == key)) or 0
    row = ThemeVersion(theme_key=key, version=newest + 1, text=text, author=author, note=note, created_at=now)
    session.add(row)
    session.flush()
    return row


def audit(session: Session, now: datetime, username: str, action: str, target: str, detail: str | None = None,
          allowed: bool = True) -> None:
    """Record who did (or tried) what to which thing."""
    session.add(AuditEntry(at=now, username=username, action=action, target=target, detail=detail,
                           allowed=allowed))


def audit_entries(session: Session, limit: int = 200, targets: Sequence[str] | None = None) -> list[AuditEntry]:
    """The newest audit entries (of some targets only, when given)."""
    stmt = select(AuditEntry)
    if targets is not None:
        stmt = stmt.where(AuditEntry.target.in_(targets))
    return list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))
