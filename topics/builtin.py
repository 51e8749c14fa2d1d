"""The packaged themes (topics/themes/*.yaml), read once, when first asked for."""

from __future__ import annotations

from functools import cache

from topics.loader import BUILTIN_DIR, load_themes
from topics.themes import Theme


@cache
def builtin_themes() -> tuple[Theme, ...]:
    """The packaged themes, ordered (read on the first call, not when topics is imported)."""
    themes, errors = load_themes(BUILTIN_DIR)
    if errors:  # the packaged files are tested; a broken one must not start a wall
        raise ValueError("; ".join(str(e) for e in errors))
    return themes


def theme(key: str) -> Theme:
    """The packaged theme with that key; the first theme when the key is unknown."""
    themes = builtin_themes()
    return next((t for t in themes if t.key == key), themes[0])
