"""The Dash app: factory, pages, panels and callbacks. The top layer: nothing below imports it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.factory import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """`create_app` imported on first use, so `python -m dashboard users …` runs without loading Dash (3 s)."""
    if name == "create_app":
        from dashboard.factory import create_app

        return create_app
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
