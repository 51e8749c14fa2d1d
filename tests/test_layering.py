"""The folder layout is the architecture: each package imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"geo", "standards", "store", "feeds", "layers", "topics", "measures", "alerts", "roles", "dashboard",
           "settings", "clock", "app", "wsgi"}
ALLOWED = {
    "geo": {"geo"},
    "standards": {"standards"},
    "store": {"store"},
    "topics": {"topics"},
    "layers": {"layers", "geo", "standards"},
    "feeds": {"feeds", "geo", "store", "standards", "settings", "clock"},
    # Figures defined once over the store: every panel, map, page and rule reads them (docs/measures.md).
    "measures": {"measures", "feeds", "store", "standards", "geo", "topics", "settings", "clock"},
    "alerts": {"alerts", "measures", "store", "standards", "topics", "geo", "feeds", "settings", "clock"},
    "roles": {"roles", "alerts", "measures", "feeds", "store", "standards", "topics", "geo", "settings", "clock"},
    "dashboard": PROJECT - {"app", "wsgi"},
}


def project_imports(path: Path) -> set[str]:
    """Top-level project packages a module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package: str) -> None:
    bad = {}
    for path in (ROOT / package).rglob("*.py"):
        extra = project_imports(path) - ALLOWED[package]
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert bad == {}, f"{package} imports layers above it: {bad}"


@pytest.mark.parametrize(("module", "allowed"), [("clock", set()), ("settings", {"clock"})])
def test_the_root_modules_stand_below_every_package(module: str, allowed: set[str]) -> None:
    assert project_imports(ROOT / f"{module}.py") - {module} <= allowed
