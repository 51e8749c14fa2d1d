"""Themes and their panel definitions: the extension point theme owners use (data, not code)."""

from topics.builtin import builtin_themes, theme
from topics.themes import KpiDef, Theme

__all__ = ["THEMES", "KpiDef", "Theme", "builtin_themes", "theme"]


def __getattr__(name: str) -> tuple[Theme, ...]:
    """`topics.THEMES`: the packaged themes, read when first named rather than when topics is imported (importing a
    model, e.g. `topics.themes.Theme`, reads no file)."""
    if name == "THEMES":
        return builtin_themes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
