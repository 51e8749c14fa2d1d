"""The folder layout is the architecture: the import contracts in pyproject.toml ([tool.importlinter]) hold."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
# Not under contract: the tests, and the benchmarks, which may import everything and are imported by nothing.
OUTSIDE = {"tests", "bench"}


def test_the_import_contracts_hold() -> None:
    # import-linter's own command, as a developer runs it; it reads the sources (nothing is imported) from here.
    run = subprocess.run([Path(sys.executable).with_name("lint-imports"), "--no-cache", "--no-logo"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"an import contract is broken (pyproject.toml):\n{run.stdout}{run.stderr}"


def test_every_package_is_under_contract() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - OUTSIDE
    assert set(CONFIG["root_packages"]) == packages


def project_imports(path: Path) -> set[str]:
    """Top-level names a module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


# import-linter takes packages only as roots, so what the two root modules import is checked here; the contracts
# place them above store, geo and standards and below the packages that use them.
@pytest.mark.parametrize(("module", "allowed"), [("clock", set()), ("settings", {"clock"})])
def test_the_root_modules_stand_below_every_package(module: str, allowed: set[str]) -> None:
    ours = set(CONFIG["root_packages"]) | {"clock", "settings", "app", "wsgi"}
    assert project_imports(ROOT / f"{module}.py") & ours - {module} <= allowed
