"""Who may do what: password hashing (scrypt), roles, per-theme permissions and CSRF tokens, as pure functions."""

from __future__ import annotations

import base64
import hashlib
import functools
import hmac
import secrets
import threading
from collections.abc import Mapping, MutableMapping
from typing import Any

ROLES = ("wall", "leader", "owner", "admin")
# scrypt, memory-hard (RFC 7914), from the standard library: n=2^15, r=8, p=1 is OWASP's current minimum.
N, R, P = 2**15, 8, 1
MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: scrypt$n$r$p$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=MAXMEM)
    return "$".join(["scrypt", str(N), str(R), str(P), base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


class Busy(RuntimeError):
    """Too many passwords are being checked at once; the caller answers 503 and the client tries again."""


# scrypt at these settings takes 32 MiB and ~80 ms of a core per check: a bounded number at once, so a burst of
# wrong sign-ins cannot take the memory or the CPU the wall needs (the probe saw 262 MB become 756 MB).
_hashing = threading.BoundedSemaphore(2)


def limit_hashing(at_once: int) -> None:
    """How many password checks may run at once in this process (--sign-in-concurrency)."""
    global _hashing
    _hashing = threading.BoundedSemaphore(max(1, at_once))


@functools.cache
def _decoy() -> str:
    """A hash of nothing anyone knows: an unknown user's password is checked against it, so an unknown name
    costs the same time as a known one and the answer's timing says nothing about who exists."""
    return hash_password(secrets.token_urlsafe(24))


def check_password(password: str, stored: str | None, wait_s: float = 5.0) -> bool:
    """Whether the password matches (False for an unknown user, after the same work); raises Busy when no
    hashing slot frees within wait_s."""
    decoy = _decoy()
    if not _hashing.acquire(timeout=wait_s):
        raise Busy("password checks are all busy")
    try:
        ok = verify_password(password, stored if stored is not None else decoy)
    finally:
        _hashing.release()
    return ok and stored is not None


def verify_password(password: str, stored: str) -> bool:
    """Whether a password matches a stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=MAXMEM)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def can_edit(role: str, themes: list[str], theme_key: str, counties: list[str] | None = None) -> bool:
    """Whether a user edits a theme file (`social`) or a county's override of one (`social@<adcode>`).

    Admins edit every file; an owner edits the themes given to them and those themes' county overrides; nobody else
    edits. A user bound to counties edits only the overrides of their counties (an admin's of every theme, an
    owner's of their themes), never the city's theme files."""
    key, at, county = theme_key.partition("@")
    if at and not (len(county) == 6 and county.isascii() and county.isdigit()):
        return False
    allowed = role == "admin" or (role == "owner" and key in themes)
    if counties:
        return allowed and bool(at) and county in counties
    return allowed


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_ok(session: MutableMapping[str, Any], sent: str | None) -> bool:
    """Whether a write carries the session's token."""
    expected = session.get("csrf")
    return bool(expected and sent and hmac.compare_digest(expected, sent))


def can_handle_alarm(role: str, themes: list[str], alarm_theme: str | None) -> bool:
    """Admins and leaders handle every alarm; an owner those of their themes; a wall screen none."""
    return role in ("admin", "leader") or (role == "owner" and alarm_theme in themes)


def county_scope(user: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The counties a user sees, or None for the whole city (a city-level user, or nobody when sign-in is off)."""
    counties = (user or {}).get("counties") or ()
    return frozenset(counties) or None


def may_see(user: Mapping[str, Any] | None, county: str | None) -> bool:
    """Whether a user sees a record of that county: a county user sees their counties only, not the city's
    records that belong to no county; a city-level user sees every record."""
    return sees(county_scope(user), county)


def sees(scope: frozenset[str] | None, county: str | None) -> bool:
    """Whether a county scope (None: the city) sees a record of that county (a county user: not the records of
    no county)."""
    return scope is None or county in scope


def handles(user: Mapping[str, Any], theme: str | None, county: str | None) -> bool:
    """Whether a signed-in user handles an alarm or case of that theme in that county (their role and themes, and
    their counties when they are bound to some)."""
    return can_handle_alarm(user["role"], list(user.get("themes") or []), theme) and may_see(user, county)
