"""Plugins found through entry points: a package's `zq.feeds`, `zq.layers`, `zq.panels` and `zq.rules` groups
name the entries it adds, and each is registered through the same call the built-ins use."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from plugins.registry import Registry

log = logging.getLogger("plugins")

FEEDS, LAYERS, PANELS, RULES = "zq.feeds", "zq.layers", "zq.panels", "zq.rules"
GROUPS = (FEEDS, LAYERS, PANELS, RULES)
EVERY = "*"  # the selection of every installed plugin
NONE = "none"  # the selection of none: the app as shipped


def normalize(distribution: str) -> str:
    """A distribution's name as PyPI compares them (PEP 503: case and runs of -, _ and . do not matter)."""
    return re.sub(r"[-_.]+", "-", distribution.strip()).lower()


def parse_selection(spec: str) -> frozenset[str] | None:
    """The plugins a setting selects: None for every installed one (`*`), else their normalized distribution
    names (`none` or nothing: no plugin)."""
    spec = spec.strip()
    if spec == EVERY:
        return None
    if spec.lower() in (NONE, ""):
        return frozenset()
    return frozenset(normalize(p) for p in spec.split(",") if p.strip())


_selected: frozenset[str] | None = frozenset()  # until a process selects (the factory, a CLI): built-ins only


def select(spec: str) -> None:
    """Choose the plugins this process loads (settings.plugins); what registries built without an app read."""
    global _selected
    _selected = parse_selection(spec)


def selected() -> frozenset[str] | None:
    """The plugins this process loads: None for every installed one."""
    return _selected


@dataclass(frozen=True)
class Problem:
    """A plugin entry that could not be registered, and why."""

    group: str
    plugin: str  # distribution and entry point, as the log names it
    error: str

    def __str__(self) -> str:
        return f"plugin {self.plugin} ({self.group}): {self.error}"


def installed() -> frozenset[str]:
    """The normalized names of the installed distributions that have an entry point in one of the groups."""
    return frozenset(normalize(ep.dist.name) for group in GROUPS for ep in entry_points(group=group)
                     if ep.dist is not None)


def unfound() -> list[Problem]:
    """A problem for each selected plugin that is not installed (a typo in --plugins, a package not installed on
    this machine), logged: the selection is otherwise silent about it."""
    if not _selected:
        return []
    problems = [Problem("*", name, "selected by --plugins but not installed (no zq.* entry point)")
                for name in sorted(_selected - installed())]
    for problem in problems:
        log.error("%s", problem)
    return problems


def _label(ep: EntryPoint) -> str:
    dist = ep.dist.name if ep.dist is not None else "?"
    return f"{dist}: {ep.name} = {ep.value}"


def _wanted(ep: EntryPoint, only: frozenset[str] | None) -> bool:
    return only is None or (ep.dist is not None and normalize(ep.dist.name) in only)


def discover(group: str, registry: Registry[Any]) -> list[Problem]:
    """Register every entry point of `group` the selected plugins (select()) have into `registry`; an entry
    that fails to load, is not the registry's kind or takes a name already registered is logged with its
    plugin named and left out: one broken plugin never stops the app."""
    problems = []
    for ep in sorted(entry_points(group=group), key=lambda e: (e.dist.name if e.dist else "", e.name)):
        if not _wanted(ep, _selected):
            continue
        label = _label(ep)
        try:
            entry = ep.load()
            name = registry.name_of(entry)
            if name != ep.name:
                raise ValueError(f"the entry point is named {ep.name!r}, its {registry.what} {name!r}")
            registry.register(entry, origin=label)
        except Exception as e:  # noqa: BLE001 — whatever a plugin raises, the app starts without it
            problem = Problem(group, label, f"{type(e).__name__}: {e}")
            log.error("%s; left out", problem, exc_info=not isinstance(e, (TypeError, ValueError)))
            problems.append(problem)
        else:
            log.info("plugin %s registered %s %r", label, registry.what, ep.name)
    return problems
