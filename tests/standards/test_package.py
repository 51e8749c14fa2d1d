"""The standards package: a low layer that imports nothing from the rest of the project."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import standards

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = {"dashboard", "store", "feeds", "geo", "layers", "topics", "alerts", "app", "settings"}


def test_modules_import_only_the_standard_library_pydantic_and_themselves() -> None:
    allowed_third_party = {"pydantic"}
    for path in sorted((ROOT / "standards").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in PROJECT_PACKAGES, f"{path.name} imports {name}"
                assert top == "standards" or top in allowed_third_party or top in sys.stdlib_module_names, (
                    f"{path.name} imports {name}"
                )


def test_importing_standards_loads_no_project_package() -> None:
    code = (
        "import sys, standards; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(PROJECT_PACKAGES)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_are_exported_and_documented() -> None:
    for name in standards.__all__:
        obj = getattr(standards, name)
        if callable(obj):
            doc = (obj.__doc__ or "").strip()
            assert doc and "\n" not in doc, f"{name} needs a one-line docstring"
    assert standards.__doc__ and "\n" not in standards.__doc__.strip()
