"""The type check holds: mypy, strict, on the packages [tool.mypy] in pyproject.toml names."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def test_mypy_finds_no_error() -> None:
    # mypy's own command, as a developer runs it from the root; its cache (.mypy_cache) makes a rerun quick.
    run = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True,
                         text=True, timeout=540)
    assert run.returncode == 0, f"mypy found type errors ([tool.mypy]):\n{run.stdout}{run.stderr}"


def test_the_lower_packages_are_strict() -> None:
    checked = set(CONFIG["files"])
    assert CONFIG["strict"] is True
    assert {"standards", "geo", "store", "feeds", "alerts", "topics", "measures"} <= checked
    # No override may loosen our own code: only third-party packages without types are let off their imports.
    ours = {"geo", "standards", "store", "feeds", "layers", "topics", "measures", "alerts", "roles",
            "dashboard", "words", "settings", "clock"}
    for override in CONFIG.get("overrides", []):
        loosened = set(override) - {"module", "follow_imports"}
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        if loosened:
            assert not {m.split(".")[0] for m in modules} & ours, f"an override loosens our code: {override}"
