"""Reading Dash component trees in tests: every node, the texts in order, the nodes of a class."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dash.development.base_component import Component


def nodes(c: Any) -> Iterator[Component]:
    """Every component of a tree, depth first."""
    if isinstance(c, list | tuple):
        for x in c:
            yield from nodes(x)
    elif isinstance(c, Component):
        yield c
        yield from nodes(getattr(c, "children", None))


def texts(c: Any) -> list[str]:
    """The text strings of a tree, in order."""
    if isinstance(c, str | int | float):
        return [str(c)]
    if isinstance(c, list | tuple):
        return [s for x in c for s in texts(x)]
    if isinstance(c, Component):
        return texts(getattr(c, "children", None))
    return []


def with_class(c: Any, cls: str) -> list[Component]:
    """The components of a tree that carry a CSS class."""
    return [n for n in nodes(c) if cls in (getattr(n, "className", None) or "").split()]


def with_id(c: Any, id_: str) -> list[Component]:
    """The components of a tree with that id."""
    return [n for n in nodes(c) if getattr(n, "id", None) == id_]
