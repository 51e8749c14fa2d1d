"""What a write statement's result says: the rows it changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed (a Session types any result a Result; a write's is a cursor's)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"a write statement gives a CursorResult, not {type(result).__name__}")
    return result.rowcount
