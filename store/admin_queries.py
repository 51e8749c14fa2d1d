"""Users, theme versions and the audit log: reads and writes for the admin pages (sessions owned by the caller)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from store.models import AuditEntry, SignInAttempt, ThemeVersion, User, UserSession
from store.results import rowcount


def add_user(session: Session, username: str, password_hash: str, role: str, themes: Sequence[str],
             now: datetime, display_name: str | None = None, counties: Sequence[str] = ()) -> User:
    """A new user (the caller hashes the password); `counties` binds them to those counties (none: the city)."""
    user = User(username=username, password_hash=password_hash, role=role, themes=list(themes),
                display_name=display_name, active=True, created_at=now, counties=list(counties))
    session.add(user)
    session.flush()
    return user


def user_exists(session: Session, username: str) -> bool:
    """Whether a user of that name exists, active or not."""
    return session.scalar(select(User.id).where(User.username == username)) is not None


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


# ---- sessions and sign-in attempts ------------------------------------------------------------------------------


def open_session(session: Session, username: str, now: datetime) -> str:
    """A new signed-in session of a user; its id (random) goes into the browser's cookie."""
    sid = secrets.token_urlsafe(32)
    session.add(UserSession(id=sid, username=username, created_at=now, revoked_at=None))
    return sid


def session_user(session: Session, sid: str) -> User | None:
    """The active user whose session this is, or None when it was revoked, its user deactivated or never was."""
    row = session.get(UserSession, sid)
    if row is None or row.revoked_at is not None:
        return None
    return user_by_name(session, row.username)


def revoke_session(session: Session, sid: str, now: datetime) -> None:
    """End one session (signing out)."""
    session.execute(update(UserSession).where(UserSession.id == sid, UserSession.revoked_at.is_(None))
                    .values(revoked_at=now))


def revoke_sessions(session: Session, username: str, now: datetime) -> int:
    """End every session of a user (deactivated, or their password changed); how many were open."""
    return rowcount(session.execute(update(UserSession).where(UserSession.username == username,
                                                              UserSession.revoked_at.is_(None))
                                    .values(revoked_at=now)))


def set_active(session: Session, username: str, active: bool, now: datetime) -> bool:
    """Activate or deactivate a user (deactivating ends their sessions); False when there is no such user."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return False
    user.active = active
    if not active:
        revoke_sessions(session, username, now)
    return True


def set_password(session: Session, username: str, password_hash: str, now: datetime) -> bool:
    """Change a user's password and end their sessions; False when there is no such user."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return False
    user.password_hash = password_hash
    revoke_sessions(session, username, now)
    return True


def record_attempt(session: Session, now: datetime, username: str, address: str, ok: bool) -> None:
    """Count one sign-in attempt."""
    session.add(SignInAttempt(at=now, username=username[:64], address=address[:64], ok=ok))


def recent_failures(session: Session, since: datetime, username: str | None = None,
                    address: str | None = None) -> tuple[int, datetime | None]:
    """Failed attempts since a time by one user name or from one address (after their last success), and the
    oldest of them (when it ages out, one more attempt is allowed)."""
    col, value = (SignInAttempt.username, username) if username is not None else (SignInAttempt.address, address)
    last_ok = session.scalar(select(func.max(SignInAttempt.at)).where(col == value, SignInAttempt.ok.is_(True),
                                                                     SignInAttempt.at >= since))
    start = max(since, last_ok) if last_ok is not None else since
    n, oldest = session.execute(select(func.count(), func.min(SignInAttempt.at)).where(
        col == value, SignInAttempt.ok.is_(False), SignInAttempt.at >= start)).one()
    return int(n or 0), oldest


def forget_attempts(session: Session, before: datetime) -> int:
    """Drop attempts older than any window that counts them."""
    return rowcount(session.execute(delete(SignInAttempt).where(SignInAttempt.at < before)))
