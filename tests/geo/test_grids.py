"""Grid cells: reading the three formats, each check on crafted files, H3 generation, GridIndex."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geo import (
    GRID_COLUMNS,
    PROBLEM_KINDS,
    GridFileError,
    GridIndex,
    check_grids,
    coverage_by_county,
    generate_hex_grid,
    load_counties,
    metric_crs,
    read_grid_file,
)
from geo.boundaries import project_to_metric

CITY = "441200"
FORMATS = ["geojson", "gpkg", "shp", "zip"]


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return load_counties(CITY)


def _polygons(geom: shapely.Geometry) -> Polygon | MultiPolygon | None:
    polys = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area > 0]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def clean_grid(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each county cut into four by the quarters of its bounding box: a grid with no problem."""
    rows = []
    for code, name, geom in zip(counties["adcode"], counties["name"], counties.geometry, strict=True):
        x0, y0, x1, y1 = geom.bounds
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        quarters = [box(x0, y0, xm, ym), box(xm, y0, x1, ym), box(x0, ym, xm, y1), box(xm, ym, x1, y1)]
        for q, quarter in enumerate(quarters, start=1):
            part = _polygons(geom.intersection(quarter))
            if part is not None:
                rows.append({"wgbm": f"{code}-{q}", "wgmc": f"{name}第{q}网格", "xzqdm": code,
                             "geometry": part})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def write(frame: gpd.GeoDataFrame, folder: Path, fmt: str, stem: str = "grid") -> Path:
    """Write a frame as GeoJSON, GeoPackage, Shapefile, or a zipped shapefile in a folder of the archive."""
    if fmt == "zip":
        shp = write(frame, folder / f"{stem}-shp", "shp", stem)
        path = folder / f"{stem}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in shp.parent.iterdir():
                zf.write(part, f"网格/{part.name}")
        return path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.{fmt}"
    frame.to_file(path, engine="pyogrio")
    return path


def interior_box(geom: shapely.Geometry, dx: float = 0.0, size: float = 0.01) -> Polygon:
    """A small box well inside a county, shifted east by dx degrees."""
    p = geom.representative_point()
    cell = box(p.x + dx, p.y, p.x + dx + size, p.y + size)
    assert geom.contains(cell.buffer(0.002)), "test box must lie well inside the county"
    return cell


def shared_vertices(counties: gpd.GeoDataFrame, a: str, b: str) -> np.ndarray:
    by = counties.set_index("adcode").geometry
    va = {tuple(p) for p in shapely.get_coordinates(by[a])}
    vb = {tuple(p) for p in shapely.get_coordinates(by[b])}
    return np.array(sorted(va & vb))


# --------------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("fmt", FORMATS)
def test_reads_each_format(counties: gpd.GeoDataFrame, tmp_path: Path, fmt: str) -> None:
    grid = clean_grid(counties)
    got = read_grid_file(write(grid, tmp_path, fmt), counties=counties)
    assert list(got.columns) == GRID_COLUMNS
    assert got.crs.to_epsg() == 4326
    assert got["grid_id"].tolist() == grid["wgbm"].tolist()
    assert got["name"].tolist() == grid["wgmc"].tolist()
    assert got["county_adcode"].tolist() == grid["xzqdm"].tolist()
    assert set(got["source"]) == {"imported"}
    assert set(got.geom_type) <= {"Polygon", "MultiPolygon"}
    assert np.allclose(shapely.area(got.geometry.values), shapely.area(grid.geometry.values), rtol=1e-9)
    assert {"grid id from column 'wgbm' (guessed)", "name from column 'wgmc' (guessed)",
            "county from column 'xzqdm' (guessed)"} <= set(got.attrs["notes"])


def test_reprojects_from_utm(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = clean_grid(counties)
    got = read_grid_file(write(grid.to_crs("EPSG:32649"), tmp_path, "gpkg"), counties=counties)
    assert got.crs.to_epsg() == 4326
    assert "reprojected from EPSG:32649 to EPSG:4326" in got.attrs["notes"]
    for back, original in zip(got.geometry, grid.geometry, strict=True):
        assert back.hausdorff_distance(original) < 1e-7  # about 1 cm
    assert check_grids(got, counties) == []


def test_a_file_without_crs_is_taken_as_wgs84_and_says_so(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = write(clean_grid(counties), tmp_path, "shp")
    path.with_suffix(".prj").unlink()
    got = read_grid_file(path, counties=counties)
    assert got.crs.to_epsg() == 4326
    assert any("names no CRS: assumed EPSG:4326" in n for n in got.attrs["notes"])
    assert check_grids(got, counties) == []


def test_a_file_without_crs_in_metres_is_refused(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = write(clean_grid(counties).to_crs("EPSG:32649"), tmp_path, "shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(GridFileError, match=r"grid\.shp: has no coordinate reference system .* not lon"):
        read_grid_file(path, counties=counties)


def test_chinese_column_names_and_county_names_are_understood(counties: gpd.GeoDataFrame,
                                                              tmp_path: Path) -> None:
    grid = clean_grid(counties)
    names = dict(zip(counties["adcode"], counties["name"], strict=True))
    # Clerks write the county as a name, with or without its 县/区/市.
    county = [names[c] if i % 2 else names[c][:-1] for i, c in enumerate(grid["xzqdm"])]
    frame = gpd.GeoDataFrame({"网格编码": grid["wgbm"], "网格名称": grid["wgmc"], "所属区县": county},
                             geometry=grid.geometry, crs=grid.crs)
    got = read_grid_file(write(frame, tmp_path, "geojson"), counties=counties)
    assert got["grid_id"].tolist() == grid["wgbm"].tolist()
    assert got["name"].tolist() == grid["wgmc"].tolist()
    assert got["county_adcode"].tolist() == grid["xzqdm"].tolist()


def test_named_columns_numbers_and_county_from_location(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = clean_grid(counties)
    frame = gpd.GeoDataFrame({"CELLNO": np.arange(1, len(grid) + 1, dtype=float), "LABEL": grid["wgmc"]},
                             geometry=grid.geometry, crs=grid.crs)
    path = write(frame, tmp_path, "shp")
    with pytest.raises(GridFileError, match=r"no grid id column found .* CELLNO, LABEL"):
        read_grid_file(path, counties=counties)
    got = read_grid_file(path, id_field="CELLNO", name_field="LABEL", counties=counties)
    assert got["grid_id"].tolist() == [str(i) for i in range(1, len(grid) + 1)]  # 1.0 reads as "1"
    assert got["name"].tolist() == grid["wgmc"].tolist()
    # No county column: each cell's representative point says where it is.
    assert got["county_adcode"].tolist() == grid["xzqdm"].tolist()
    assert any("county filled in from the cell's location" in n for n in got.attrs["notes"])
    with pytest.raises(GridFileError, match=r"no column 'NOPE' for the grid id; its columns are: CELLNO, LA"):
        read_grid_file(path, id_field="NOPE", counties=counties)


def test_gbk_shapefile_without_cpg(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = clean_grid(counties).rename(columns={"wgbm": "网格编码", "wgmc": "网格名称"})
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "gbk.shp"
    grid.to_file(path, engine="pyogrio", encoding="gbk")
    path.with_suffix(".cpg").unlink()  # as many Chinese GIS exports ship
    got = read_grid_file(path, counties=counties)
    assert got["name"].tolist() == grid["网格名称"].tolist()
    assert any("read as GBK" in n for n in got.attrs["notes"])


def test_geopackage_layers(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = clean_grid(counties)
    path = tmp_path / "two.gpkg"
    grid.iloc[:5].to_file(path, layer="first", engine="pyogrio")
    grid.to_file(path, layer="wangge", engine="pyogrio")
    assert len(read_grid_file(path, counties=counties)) == 5
    assert len(read_grid_file(path, layer="wangge", counties=counties)) == len(grid)
    with pytest.raises(GridFileError, match=r"two\.gpkg: has no layer 'x'; its layers are: first, wangge"):
        read_grid_file(path, layer="x", counties=counties)


@pytest.mark.parametrize(("content", "match"), [
    (b"not json at all", r"bad\.geojson: cannot be read"),
    (b'{"type": "FeatureCollection", "features": []}', r"bad\.geojson: holds no features"),
    (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "a"}, '
     b'"geometry": {"type": "Point", "coordinates": [112.4, 23.1]}}]}',
     r"bad\.geojson: holds no polygons \(found Point ×1\)"),
])
def test_unusable_files_raise_with_the_file_name(tmp_path: Path, content: bytes, match: str,
                                                 counties: gpd.GeoDataFrame) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(content)
    with pytest.raises(GridFileError, match=match):
        read_grid_file(path, counties=counties)


def test_missing_ids_and_unknown_formats_are_refused(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = clean_grid(counties)
    grid.loc[3, "wgbm"] = "  "
    with pytest.raises(GridFileError, match=r"1 features have bad attributes: feature 4: grid_id"):
        read_grid_file(write(grid, tmp_path, "geojson"), counties=counties)
    with pytest.raises(GridFileError, match=r"nowhere\.gpkg: no such file"):
        read_grid_file(tmp_path / "nowhere.gpkg", counties=counties)
    (tmp_path / "grid.kml").write_text("<kml/>")
    with pytest.raises(GridFileError, match=r"grid\.kml: unknown format"):
        read_grid_file(tmp_path / "grid.kml", counties=counties)
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.txt", "no shapefile")
    with pytest.raises(GridFileError, match=r"empty\.zip: the zip archive holds no \.shp file"):
        read_grid_file(empty_zip, counties=counties)


def test_an_explicit_county_column_with_unknown_values_is_refused(counties: gpd.GeoDataFrame,
                                                                 tmp_path: Path) -> None:
    grid = clean_grid(counties)
    grid["XIAN"] = "火星县"
    with pytest.raises(GridFileError, match=r"column 'XIAN' holds 32 values .* e\.g\. 火星县"):
        read_grid_file(write(grid, tmp_path, "gpkg"), county_field="XIAN", counties=counties)


# --------------------------------------------------------------------------------------------- checks


def test_a_clean_grid_has_no_problem(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = read_grid_file(write(clean_grid(counties), tmp_path, "geojson"), counties=counties)
    assert check_grids(grid, counties) == []
    table = coverage_by_county(grid, counties)
    assert table["cells"].tolist() == [4] * 8
    assert np.allclose(table["share"], 1.0, atol=1e-6)


def _bad_file(counties: gpd.GeoDataFrame, folder: Path) -> tuple[Path, float]:
    """A file with every kind of problem and some good cells; returns it and the half-out cell's share out."""
    by = counties.set_index("adcode").geometry
    rows = [
        ("ok-1", "441224", interior_box(by["441224"])),
        ("ok-2", "441224", interior_box(by["441224"], dx=0.01)),  # shares an edge with ok-1: not an overlap
    ]
    x0, y0, x1, y1 = interior_box(by["441225"]).bounds
    rows.append(("bowtie", "441225", Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])))
    rows.append(("overlap-a", "441226", interior_box(by["441226"])))
    rows.append(("overlap-b", "441226", interior_box(by["441226"], dx=0.005)))
    lon, lat = shared_vertices(counties, "441202", "441204")[10]
    half = box(lon - 0.005, lat - 0.005, lon + 0.005, lat + 0.005)
    crs = metric_crs(counties)
    cell = project_to_metric(half, crs)
    shares = {c: project_to_metric(by[c], crs).intersection(cell).area / cell.area
              for c in ("441202", "441204")}
    home = max(shares, key=shares.get)
    rows.append(("half-out", home, half))
    rows.append(("far", None, box(113.26, 23.13, 113.27, 23.14)))  # Guangzhou
    rows.append(("dup", "441223", interior_box(by["441223"])))
    rows.append(("dup", "441223", interior_box(by["441223"], dx=0.02)))
    rows.append(("wrong-county", "441225", interior_box(by["441224"], dx=0.05)))
    rows.append(("empty", "441224", None))
    rows.append(("line", "441224", LineString([(112.2, 23.9), (112.21, 23.91)])))
    frame = gpd.GeoDataFrame({"grid_id": [r[0] for r in rows], "county": [r[1] for r in rows]},
                             geometry=[r[2] for r in rows], crs="EPSG:4326")
    path = folder / "bad.geojson"
    frame.to_file(path, engine="pyogrio")
    return path, 1.0 - shares[home]


def test_each_kind_of_problem_is_found(counties: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path, outside = _bad_file(counties, tmp_path)
    grid = read_grid_file(path, counties=counties)
    problems = check_grids(grid, counties)
    found: dict[str, set[str]] = {}
    for p in problems:
        found.setdefault(p.grid_id, set()).add(p.kind)
    assert found == {
        "bowtie": {"invalid"},
        "overlap-a": {"overlap"},
        "half-out": {"outside_county"},
        "far": {"outside_city"},
        "dup": {"duplicate_id"},
        "wrong-county": {"county_mismatch"},
        "empty": {"empty"},
        "line": {"not_polygon"},
    }
    assert set(PROBLEM_KINDS) == {p.kind for p in problems}
    order = list(PROBLEM_KINDS)
    assert [order.index(p.kind) for p in problems] == sorted(order.index(p.kind) for p in problems)
    text = {p.kind: p.message for p in problems}
    assert "Self-intersection" in text["invalid"]
    assert re.search(r"overlaps cell overlap-b by [\d,]+ m² \(50\.\d % of the smaller cell", text["overlap"])
    got = float(re.match(r"([\d.]+) % of the cell \(", text["outside_county"]).group(1))
    assert got == pytest.approx(outside * 100, abs=0.1)
    assert re.search(r"lies outside the city: it is [\d.]+ km from the city boundary", text["outside_city"])
    assert "used by 2 cells (features 8, 9)" in text["duplicate_id"]
    assert "the file puts the cell in 封开县 (441225), but 100.0 % of it lies in 怀集县 (441224)" \
        == text["county_mismatch"]
    assert "Point" not in text["not_polygon"] and "LineString" in text["not_polygon"]


# Two made-up counties side by side, so that shares can be set exactly.
TOY = gpd.GeoDataFrame({"adcode": ["000001", "000002"], "name": ["甲县", "乙县"]},
                       geometry=[box(112.0, 23.0, 112.1, 23.1), box(112.1, 23.0, 112.2, 23.1)],
                       crs="EPSG:4326")


def _toy(cells: list[tuple[str, str, Polygon]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"grid_id": [c[0] for c in cells], "county_adcode": [c[1] for c in cells]},
                            geometry=[c[2] for c in cells], crs="EPSG:4326")


@pytest.mark.parametrize(("over", "flagged"), [(0.0002, False), (0.0012, True)])
def test_outside_county_tolerance(over: float, flagged: bool) -> None:
    # 0.05° wide in 甲县, `over` degrees more in 乙县: 0.4 % is tolerated, 2.3 % is not.
    grid = _toy([("c", "000001", box(112.05, 23.05, 112.1 + over, 23.06))])
    assert [p.kind for p in check_grids(grid, TOY)] == (["outside_county"] if flagged else [])


@pytest.mark.parametrize(("notch", "flagged"), [
    ((0.00005, 0.00008), False),  # ≈ 45 m², under 100 m² and 1 % of the smaller cell
    ((0.0002, 0.0001), True),  # ≈ 225 m²: more than 100 m², though only 0.02 %
])
def test_overlap_tolerance_in_square_metres(notch: tuple[float, float], flagged: bool) -> None:
    w, h = notch
    left = box(112.00, 23.00, 112.01, 23.01)
    right = shapely.union(box(112.01, 23.00, 112.02, 23.01), box(112.01 - w, 23.00, 112.01, 23.00 + h))
    problems = check_grids(_toy([("l", "000001", left), ("r", "000001", right)]), TOY)
    assert [p.kind for p in problems] == (["overlap"] if flagged else [])


def test_overlap_tolerance_as_a_share_of_small_cells() -> None:
    # 0.0005° cells (≈ 2,800 m²) overlapping by 0.00001° (≈ 57 m², 2 %): under 100 m² but over 1 %.
    a = box(112.0, 23.0, 112.0005, 23.0005)
    b = box(112.00049, 23.0, 112.00099, 23.0005)
    problems = check_grids(_toy([("a", "000001", a), ("b", "000001", b)]), TOY)
    assert [p.kind for p in problems] == ["overlap"]
    assert "(2.0 % of the smaller cell" in problems[0].message


def test_cell_straddling_two_counties_and_an_unknown_county() -> None:
    # 70 % in 乙县 though the file says 甲县: the cell is in the wrong county and sticks out of it.
    grid = _toy([("s", "000001", box(112.097, 23.05, 112.107, 23.06)),
                 ("x", "999999", box(112.01, 23.01, 112.02, 23.02))])
    problems = {(p.grid_id, p.kind): p.message for p in check_grids(grid, TOY)}
    assert set(problems) == {("s", "outside_county"), ("s", "county_mismatch"), ("x", "county_mismatch")}
    assert problems[("s", "outside_county")].startswith("30.")
    assert "999999, which is not a county of this city" in problems[("x", "county_mismatch")]


# --------------------------------------------------------------------------------------------- H3


@pytest.fixture(scope="module")
def hexes(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return generate_hex_grid(counties, 7)


def test_h3_cells_cover_each_county(hexes: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> None:
    crs = metric_crs(counties)
    for code, county in zip(counties["adcode"], counties.geometry, strict=True):
        cells = project_to_metric(np.asarray(hexes.loc[hexes["county_adcode"] == code].geometry.values), crs)
        union = shapely.union_all(cells)
        area = project_to_metric(county, crs).area
        assert union.area == pytest.approx(area, rel=0.005), code
        assert project_to_metric(county, crs).difference(union).area < 0.005 * area, code
        assert shapely.area(cells).sum() == pytest.approx(area, rel=0.005), code  # no cell counted twice
    assert np.allclose(coverage_by_county(hexes, counties)["share"], 1.0, atol=0.005)


def test_h3_cells_do_not_overlap_nor_leave_their_county(hexes: gpd.GeoDataFrame,
                                                        counties: gpd.GeoDataFrame) -> None:
    assert check_grids(hexes, counties) == []


def test_h3_ids_names_and_order(hexes: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> None:
    assert list(hexes.columns) == GRID_COLUMNS and set(hexes["source"]) == {"generated"}
    assert hexes["grid_id"].is_unique
    assert hexes["grid_id"].tolist() == sorted(hexes["grid_id"])
    names = dict(zip(counties["adcode"], counties["name"], strict=True))
    for code, group in hexes.groupby("county_adcode"):
        assert group["name"].tolist() == [f"{names[code]} H3 网格 {n}" for n in range(1, len(group) + 1)]
    cells = hexes["grid_id"].str.extract(r"^H3-(\d{6})-([0-9a-f]{15})$")
    assert cells.notna().all().all()
    assert (cells[0] == hexes["county_adcode"]).all()
    assert all(h3.is_valid_cell(c) and h3.get_resolution(c) == 7 for c in cells[1])
    # Cells on a county border are split: the same H3 cell appears under two counties.
    assert cells[1].duplicated().sum() > 100
    # About the city's area over a cell's area, plus the split border cells.
    assert 2900 < len(hexes) < 4000
    assert set(hexes.geom_type) <= {"Polygon", "MultiPolygon"}


def test_h3_generation_is_deterministic(hexes: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> None:
    again = generate_hex_grid(counties.sample(frac=1.0, random_state=3), 7)
    assert again["grid_id"].tolist() == hexes["grid_id"].tolist()
    assert all(a.equals_exact(b, 0) for a, b in zip(again.geometry, hexes.geometry, strict=True))


def test_h3_resolution_limits(counties: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="0…15"):
        generate_hex_grid(counties, 16)
    with pytest.raises(ValueError, match="choose a coarser one"):
        generate_hex_grid(counties, 11)
    coarse = generate_hex_grid(counties, 5)
    assert check_grids(coarse, counties) == []


# --------------------------------------------------------------------------------------------- index


def test_grid_index_locates_points(counties: gpd.GeoDataFrame, hexes: gpd.GeoDataFrame) -> None:
    index = GridIndex(hexes)
    assert len(index) == len(hexes) and index.ids == tuple(sorted(hexes["grid_id"]))
    inner = shapely.point_on_surface(np.asarray(hexes.geometry.values))
    assert index.locate(shapely.get_x(inner), shapely.get_y(inner)).tolist() == hexes["grid_id"].tolist()
    lon = np.array([[113.26, np.nan], [112.465, 112.18]])
    lat = np.array([[23.13, 23.0], [23.05, np.inf]])
    result = index.locate(lon, lat)
    assert result.shape == (2, 2) and result.dtype == object
    assert result[0, 0] is None and result[0, 1] is None and result[1, 1] is None
    assert result[1, 0].startswith("H3-441202-")
    assert index.locate([], []).shape == (0,)
    assert index.locate_one(113.26, 23.13) is None


def test_grid_index_gives_a_shared_vertex_to_the_lowest_id(hexes: gpd.GeoDataFrame) -> None:
    whole = hexes[hexes.geometry.apply(lambda g: len(shapely.get_coordinates(g)) == 7)]
    first = whole.iloc[len(whole) // 2]
    cell = first["grid_id"].rsplit("-", 1)[1]
    ids = set(hexes["grid_id"])
    pairs = []
    for neighbour in sorted(h3.grid_disk(cell, 1)):
        other = f"H3-{first['county_adcode']}-{neighbour}"
        if neighbour != cell and other in ids:
            shared = set(h3.cell_to_boundary(cell)) & set(h3.cell_to_boundary(neighbour))
            pairs += [(other, lat, lng) for lat, lng in shared]
    assert len(pairs) >= 6
    index = GridIndex(hexes.sample(frac=1.0, random_state=5))  # the rule must not depend on row order
    for other, lat, lng in pairs:
        hits = sorted(hexes.loc[hexes.geometry.intersects(Point(lng, lat)), "grid_id"])
        assert len(hits) >= 2 and {first["grid_id"], other} <= set(hits)
        assert index.locate_one(lng, lat) == hits[0]


def test_grid_index_matches_a_per_cell_reference(counties: gpd.GeoDataFrame) -> None:
    cells = clean_grid(counties).rename(columns={"wgbm": "grid_id"}).to_crs("EPSG:3857")  # any CRS will do
    index = GridIndex(cells)
    lonlat = cells.to_crs("EPSG:4326")
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = lonlat.total_bounds
    lon, lat = rng.uniform(x0 - 0.1, x1 + 0.1, 3000), rng.uniform(y0 - 0.1, y1 + 0.1, 3000)
    got = index.locate(lon, lat)
    for x, y, g in zip(lon[:400], lat[:400], got[:400], strict=True):
        hits = sorted(lonlat.loc[lonlat.geometry.intersects(Point(x, y)), "grid_id"])
        assert g == (hits[0] if hits else None)
    assert None in set(got) and len(set(got)) > 20


def test_grid_index_skips_empty_cells() -> None:
    frame = gpd.GeoDataFrame({"grid_id": ["a", "b"]}, geometry=[None, box(112, 23, 112.1, 23.1)],
                             crs="EPSG:4326")
    index = GridIndex(frame)
    assert index.ids == ("b",) and index.locate_one(112.05, 23.05) == "b"
    with pytest.raises(ValueError, match="grid_id"):
        GridIndex(frame.drop(columns="grid_id"))
