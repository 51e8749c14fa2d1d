"""Themes and their panel definitions: the extension point theme owners use (data, not code)."""

from topics.themes import THEMES, KpiDef, Theme, theme

__all__ = ["THEMES", "KpiDef", "Theme", "theme"]
