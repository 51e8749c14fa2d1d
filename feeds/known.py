"""The feeds a check made without an app reads: the built-ins and the plugins this process loads."""

from __future__ import annotations

from collections.abc import Mapping

import plugins
from feeds.builtin import register_builtin_feeds
from feeds.registry import FeedRegistry

_defaults: dict[frozenset[str] | None, FeedRegistry] = {}


def default_feeds() -> FeedRegistry:
    """The built-in feeds and the selected plugins' (plugins.select; none until a process selects), built once
    per selection: a theme file's every rule is checked against it."""
    chosen = plugins.selected()
    if chosen not in _defaults:
        registry = FeedRegistry()
        register_builtin_feeds(registry)
        plugins.discover(plugins.FEEDS, registry)
        _defaults[chosen] = registry
    return _defaults[chosen]


def feeds_in(context: object) -> FeedRegistry:
    """The feed registry a validation context carries (`{"feeds": FeedRegistry}`), else default_feeds()."""
    found = context.get("feeds") if isinstance(context, Mapping) else None
    return found if isinstance(found, FeedRegistry) else default_feeds()
