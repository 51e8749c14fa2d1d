"""`python -m feeds grids import|check|generate` as separate processes against a SQLite store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from geo import generate_hex_grid, load_counties
from store import make_engine
from store.grid_queries import grid_cell_count, grid_cells
from tests.geo.test_grids import _bad_file, clean_grid, write

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return load_counties("441200")


def grids(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m feeds grids …` with no ZQ_* variables from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZQ_") or k == "ZQ_PLUGINS"}
    return subprocess.run([sys.executable, "-m", "feeds", "grids", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def stored(url: str) -> dict[str, int]:
    """Cells in the store per source; {} when the store or its table does not exist."""
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("grid_cells"):
            return {}
        with Session(engine) as s:
            return grid_cell_count(s)
    finally:
        engine.dispose()


def test_a_bad_file_is_refused_with_its_problems(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path, _ = _bad_file(counties, tmp_path)
    url = f"sqlite:///{tmp_path / 'zq.sqlite3'}"
    done = grids("import", str(path), "--db", url)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "bad.geojson (layer bad): 12 cells" in out
    assert "8 problems in 8 cells:" in out
    for kind, term, gid in [("invalid", "几何无效", "bowtie"), ("overlap", "网格重叠", "overlap-a"),
                            ("outside_county", "超出县界", "half-out"), ("outside_city", "超出市界", "far"),
                            ("duplicate_id", "网格编码重复", "dup"), ("empty", "空几何", "empty"),
                            ("county_mismatch", "所属区县不符", "wrong-county"),
                            ("not_polygon", "非面要素", "line")]:
        assert re.search(rf"^{kind} {term} \(1\):\n  {gid} ", out, re.M), (kind, out)
    assert "nothing written" in out
    assert not (tmp_path / "zq.sqlite3").exists()  # refused before the store was even opened
    # `check` says the same and writes nothing either.
    checked = grids("check", str(path), "--db", url, "--show", "0")
    assert checked.returncode == 1 and "  … and 1 more" in checked.stdout
    assert stored(url) == {}


def test_a_good_file_is_stored(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = clean_grid(counties)
    path = write(grid, tmp_path, "gpkg")
    url = f"sqlite:///{tmp_path / 'zq.sqlite3'}"
    dry = grids("import", str(path), "--dry-run", "--db", url)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dry run: nothing written" in dry.stdout and stored(url) == {}
    done = grids("import", "--db", url, str(path))  # settings flags may come before the path
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no problems found" in done.stdout
    assert re.search(r"^441224\s+4\s+3,556\.2\s+3,556\.2\s+100\.0 %  怀集县$", done.stdout, re.M), done.stdout
    assert re.search(r"^total\s+32\s+14,890\.1\s+14,890\.1\s+100\.0 %$", done.stdout, re.M), done.stdout
    assert "wrote 32 imported cells" in done.stdout
    assert stored(url) == {"imported": 32}
    engine = make_engine(url)
    with Session(engine) as s:
        cells = grid_cells(s)
        assert sorted(c.id for c in cells) == sorted(grid["wgbm"])
        by_id = {c.id: c for c in cells}
        expected = zip(grid["wgbm"], grid["wgmc"], grid["xzqdm"], grid.geometry, strict=True)
        for gid, name, county, geom in expected:
            c = by_id[gid]
            assert (c.name, c.county_adcode, c.source) == (name, county, "imported")
            back = shape(json.loads(c.geojson))
            coords = shapely.get_coordinates(back)
            assert np.array_equal(coords, np.round(coords, 6))  # stored rounded to 6 decimals
            assert back.hausdorff_distance(geom) < 1e-6
            assert geom.contains(shapely.Point(c.lon, c.lat))
        assert sum(c.area_km2 for c in cells) == pytest.approx(14890.1, abs=0.1)
    engine.dispose()


def test_a_zipped_shapefile_with_named_columns(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = clean_grid(counties).rename(columns={"wgbm": "CELL", "wgmc": "LABEL", "xzqdm": "XIAN"})
    path = write(grid, tmp_path, "zip")
    url = f"sqlite:///{tmp_path / 'zq.sqlite3'}"
    done = grids("import", str(path), "--id-field", "CELL", "--name-field", "LABEL", "--county-field", "XIAN",
                 "--db", url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grid id from column 'CELL'\n" in done.stdout and stored(url) == {"imported": 32}


def test_generate_stores_h3_cells_and_an_import_replaces_them(counties: gpd.GeoDataFrame,
                                                              tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'zq.sqlite3'}"
    done = grids("generate", "--resolution", "6", "--db", url)
    assert done.returncode == 0, done.stdout + done.stderr
    n = len(generate_hex_grid(counties, 6))
    assert f"generated {n} H3 cells at resolution 6" in done.stdout
    assert stored(url) == {"generated": n}
    engine = make_engine(url)
    with Session(engine) as s:
        names = [c.name for c in grid_cells(s, county="441224")]
        assert names and all(re.fullmatch(r"怀集县 H3 网格 \d+", x) for x in names)
    engine.dispose()
    path = write(clean_grid(counties), tmp_path, "geojson")
    again = grids("import", str(path), "--db", url)
    assert again.returncode == 0 and f"(replacing {n} cells stored before)" in again.stdout
    assert stored(url) == {"imported": 32}


def test_unusable_input_exits_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'zq.sqlite3'}"
    (tmp_path / "grid.geojson").write_text("{ not json")
    done = grids("import", str(tmp_path / "grid.geojson"), "--db", url)
    assert done.returncode == 2 and done.stderr.startswith("error: grid.geojson: cannot be read")
    done = grids("generate", "--resolution", "12", "--db", url)
    assert done.returncode == 2 and "choose a coarser one" in done.stderr
    assert stored(url) == {}
    bad = grids("import", str(tmp_path / "grid.geojson"), "--no-such-flag")
    assert bad.returncode != 0 and "no-such-flag" in bad.stderr
