"""Extension points: one typed registry class for feeds, layers, panel types and rule kinds, and the plugins
installed packages add to them through entry points (docs/plugins.md).

Imports nothing of ours: every package may build its registry on it.
"""

from plugins.discovery import (EVERY, FEEDS, GROUPS, LAYERS, NONE, PANELS, RULES, Problem, discover, installed,
                               parse_selection, select, selected, unfound)
from plugins.registry import BUILTIN, Registry, UnknownName

__all__ = ["BUILTIN", "EVERY", "FEEDS", "GROUPS", "LAYERS", "NONE", "PANELS", "RULES", "Problem", "Registry",
           "UnknownName", "discover", "installed", "parse_selection", "select", "selected", "unfound"]
