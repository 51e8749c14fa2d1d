"""Grid cells (网格) of the county drill-down: read a grid file, check it, make H3 cells, locate points."""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.boundaries import load_counties, metric_crs, project_to_metric
from geo.lookup import CountyLocator, locate_points

__all__ = [
    "GRID_COLUMNS",
    "PROBLEM_KINDS",
    "GridFileError",
    "GridIndex",
    "GridProblem",
    "check_grids",
    "coverage_by_county",
    "generate_hex_grid",
    "read_grid_file",
]

GRID_COLUMNS: list[str] = ["grid_id", "name", "county_adcode", "source", "geometry"]

ProblemKind = Literal[
    "invalid", "empty", "not_polygon", "duplicate_id", "outside_city", "outside_county", "county_mismatch",
    "overlap",
]

# Kind -> the Chinese term a clerk knows it by; the order is the order reports list them in.
PROBLEM_KINDS: dict[str, str] = {
    "invalid": "几何无效",
    "empty": "空几何",
    "not_polygon": "非面要素",
    "duplicate_id": "网格编码重复",
    "outside_city": "超出市界",
    "outside_county": "超出县界",
    "county_mismatch": "所属区县不符",
    "overlap": "网格重叠",
}

SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage", ".shp": "Shapefile",
            ".zip": "Shapefile"}

# Column names tried, in order, when the caller names none (matched without regard to case).
ID_FIELDS = ("grid_id", "gridid", "grid_code", "gridcode", "grid_no", "wgbm", "wgbh", "wgdm", "wg_code",
             "网格编码", "网格编号", "网格代码", "网格id", "code", "bm", "id")
NAME_FIELDS = ("name", "grid_name", "gridname", "wgmc", "网格名称", "网格名", "名称", "mc")
COUNTY_FIELDS = ("county_adcode", "county_code", "county", "adcode", "xzqdm", "xzqhdm", "qxdm", "xzq",
                 "区县代码", "区县编码", "行政区划代码", "行政区代码", "区县", "县区", "所属区县")

# An H3 grid finer than this would not fit a wall map or a store table sensibly.
MAX_GENERATED_CELLS = 200_000

# Below this a clipped H3 part is rounding noise along a county border, not a cell.
_MIN_PART_DEG2 = 1e-10  # about 1 m² at Zhaoqing's latitude


class GridFileError(ValueError):
    """A grid file that cannot be used as it is; the message names the file and what is wrong."""

    def __init__(self, path: str | Path, problem: str) -> None:
        """Say which file and what is wrong with it."""
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path.name}: {problem}")


class GridProperties(BaseModel):
    """The attributes of one grid cell as read from a file, after normalising."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grid_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=128)
    county_adcode: str | None = Field(default=None, pattern=r"^\d{6}$")


@dataclass(frozen=True)
class GridProblem:
    """One thing wrong with one cell of a grid (or one pair, for overlaps)."""

    grid_id: str
    kind: ProblemKind
    message: str


# --------------------------------------------------------------------------------------------- reading


def _source_path(path: Path, layer: str | None) -> tuple[str, str | None]:
    """What to hand GDAL for the file, and the layer (None: the dataset's only one) inside it."""
    if path.suffix.lower() != ".zip":
        return str(path), layer
    try:
        with zipfile.ZipFile(path) as zf:
            shps = sorted(n for n in zf.namelist() if n.lower().endswith(".shp"))
    except zipfile.BadZipFile as exc:
        raise GridFileError(path, f"is not a readable zip archive ({exc})") from exc
    if not shps:
        raise GridFileError(path, "the zip archive holds no .shp file")
    if layer is not None:
        shps = [n for n in shps if Path(n).stem == layer]
        if not shps:
            raise GridFileError(path, f"the zip archive holds no shapefile named {layer!r}")
    elif len(shps) > 1:
        stems = ", ".join(Path(n).stem for n in shps)
        raise GridFileError(path, f"the zip archive holds several shapefiles ({stems}); "
                                  f"choose one with layer")
    # Naming the member directly also finds a shapefile kept in a folder inside the archive.
    return f"/vsizip/{path.resolve()}/{shps[0]}", None


def _pick_layer(path: Path, src: str, layer: str | None, notes: list[str]) -> str:
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(src)]
    except Exception as exc:  # GDAL's own words say best what is wrong with the file
        raise GridFileError(path, f"cannot be read as {SUFFIXES[path.suffix.lower()]}: {exc}") from exc
    if not layers:
        raise GridFileError(path, "holds no layer")
    if layer is not None:
        if layer not in layers:
            raise GridFileError(path, f"has no layer {layer!r}; its layers are: {', '.join(layers)}")
        return layer
    if len(layers) > 1:
        notes.append(f"the file has {len(layers)} layers ({', '.join(layers)}); "
                     f"read the first, {layers[0]!r}")
    return layers[0]


def _read_frame(path: Path, src: str, layer: str, notes: list[str]) -> gpd.GeoDataFrame:
    try:
        info = pyogrio.read_info(src, layer=layer)
        encodings: list[str | None] = [None]
        # A shapefile without a .cpg is read as Latin-1, which turns GBK or UTF-8 Chinese into
        # mojibake without any error; try what Chinese GIS software actually writes instead.
        if info.get("driver") == "ESRI Shapefile" and info.get("encoding") == "ISO-8859-1":
            encodings = ["utf-8", "gbk", None]
        last: Exception | None = None
        for encoding in encodings:
            try:
                frame = gpd.read_file(src, layer=layer, engine="pyogrio", encoding=encoding)
            except UnicodeDecodeError as exc:
                last = exc
                continue
            if encoding is not None:
                notes.append(f"the shapefile names no encoding (.cpg); "
                             f"its text was read as {encoding.upper()}")
            return frame
        raise GridFileError(path, f"its text is in an unknown encoding ({last}); add a .cpg file naming it")
    except GridFileError:
        raise
    except Exception as exc:
        raise GridFileError(path, f"cannot be read: {exc}") from exc


def _pick_column(frame: pd.DataFrame, given: str | None, candidates: tuple[str, ...], path: Path,
                 what: str, taken: set[str]) -> tuple[str | None, bool]:
    """The column to use for `what`, and whether it was guessed; GridFileError if `given` is absent."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if given is not None:
        if given not in columns:
            raise GridFileError(path, f"has no column {given!r} for the {what}; its columns are: "
                                      f"{', '.join(map(str, columns)) or '(none)'}")
        return given, False
    lower = {str(c).strip().lower(): c for c in columns}
    for name in candidates:
        col = lower.get(name)
        if col is not None and col not in taken:
            return col, True
    return None, False


def _text(value: Any) -> str | None:
    """A cell value as trimmed text; None for missing or blank. 12.0 reads as '12' (shapefile numbers)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _county_codes(values: pd.Series, counties: gpd.GeoDataFrame) -> tuple[list[str | None], list[str]]:
    """Adcodes from a column of adcodes, longer division codes or county names; and the values not known."""
    by_name: dict[str, str] = {}
    if "name" in counties.columns:
        for adcode, name in zip(counties["adcode"].astype(str), counties["name"].astype(str), strict=True):
            by_name[name] = adcode
            # Clerks often drop the 区/县/市 suffix: 怀集 for 怀集县.
            if len(name) > 2 and name[-1] in "区县市":
                by_name.setdefault(name[:-1], adcode)
    codes: list[str | None] = []
    unknown: list[str] = []
    for value in values:
        text = _text(value)
        if text is None:
            codes.append(None)
        elif re.fullmatch(r"\d{6}", text):
            codes.append(text)
        elif re.fullmatch(r"\d{9}|\d{12}", text):
            codes.append(text[:6])  # township or village code: its first six digits are the county
        elif text in by_name:
            codes.append(by_name[text])
        else:
            codes.append(None)
            unknown.append(text)
    return codes, unknown


def _fix_crs(frame: gpd.GeoDataFrame, path: Path, notes: list[str]) -> gpd.GeoDataFrame:
    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise GridFileError(path, f"has no coordinate reference system and its coordinates "
                                      f"(x {minx:.0f}…{maxx:.0f}, y {miny:.0f}…{maxy:.0f}) are not longitude/"
                                      f"latitude; add the .prj file or save it with its CRS")
        notes.append("the file names no CRS: assumed EPSG:4326 (WGS84 longitude/latitude)")
        return frame.set_crs("EPSG:4326")
    if frame.crs.equals("EPSG:4326"):
        return frame
    epsg = frame.crs.to_epsg()
    notes.append(f"reprojected from {f'EPSG:{epsg}' if epsg else frame.crs.name} to EPSG:4326")
    return frame.to_crs("EPSG:4326")


def read_grid_file(path: str | Path, id_field: str | None = None, name_field: str | None = None,
                   county_field: str | None = None, *, layer: str | None = None,
                   counties: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Grid cells of a GeoJSON, GeoPackage or Shapefile (.shp or .zip) as GRID_COLUMNS in EPSG:4326.

    Columns not named are guessed; a missing county is filled in from where the cell's representative
    point falls among `counties` (the packaged city's counties, geo.PACKAGED_CITY, by default). What was guessed, assumed
    or reprojected is listed in `frame.attrs["notes"]`. Geometries are kept as found: check_grids says
    what is wrong with them.
    """
    path = Path(path)
    if not path.is_file():
        raise GridFileError(path, "no such file")
    if path.suffix.lower() not in SUFFIXES:
        raise GridFileError(path, f"unknown format {path.suffix!r}; expected .geojson/.json, .gpkg, "
                                  f".shp or a .zip holding a shapefile")
    if counties is None:
        counties = load_counties()
    notes: list[str] = []
    src, layer = _source_path(path, layer)
    layer = _pick_layer(path, src, layer, notes)
    frame = _read_frame(path, src, layer, notes)
    if len(frame) == 0:
        raise GridFileError(path, "holds no features")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kinds = pd.Series(shapely.get_type_id(geoms))
    polygonal = kinds.isin([3, 6]).to_numpy() & ~shapely.is_empty(geoms)
    if not polygonal.any():
        found = ", ".join(f"{t} ×{n}" for t, n in frame.geom_type.fillna("none").value_counts().items())
        raise GridFileError(path, f"holds no polygons (found {found}); a grid is made of polygons")
    frame = _fix_crs(frame, path, notes)

    taken: set[str] = set()
    id_col, guessed = _pick_column(frame, id_field, ID_FIELDS, path, "grid id", taken)
    if id_col is None:
        columns = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name) or "(none)"
        raise GridFileError(path, f"no grid id column found (tried {', '.join(ID_FIELDS)}); its columns are: "
                                  f"{columns}; name it with id_field (--id-field)")
    taken.add(id_col)
    notes.append(f"grid id from column {id_col!r}{' (guessed)' if guessed else ''}")
    name_col, guessed = _pick_column(frame, name_field, NAME_FIELDS, path, "name", taken)
    if name_col is not None:
        taken.add(name_col)
    notes.append(f"name from column {name_col!r}{' (guessed)' if guessed else ''}" if name_col
                 else "no name column: cells have no names")
    county_col, guessed = _pick_column(frame, county_field, COUNTY_FIELDS, path, "county", taken)

    counties_4326 = counties.to_crs("EPSG:4326") if counties.crs is not None else counties
    county_codes: list[str | None] = [None] * len(frame)
    if county_col is not None:
        codes, unknown = _county_codes(frame[county_col], counties_4326)
        if unknown and not guessed:
            sample = ", ".join(sorted(set(unknown))[:5])
            raise GridFileError(path, f"column {county_col!r} holds {len(unknown)} values that are neither a "
                                      f"county adcode nor a county name, e.g. {sample}")
        if unknown:
            notes.append(f"column {county_col!r} looked like the county but holds other values "
                         f"(e.g. {sorted(set(unknown))[0]}); ignored")
        else:
            county_codes = codes
            notes.append(f"county from column {county_col!r}{' (guessed)' if guessed else ''}")

    errors: list[str] = []
    props: list[GridProperties] = []
    names = frame[name_col] if name_col is not None else [None] * len(frame)
    for i, (gid, name, county) in enumerate(zip(frame[id_col], names, county_codes, strict=True)):
        try:
            props.append(GridProperties(grid_id=_text(gid) or "", name=_text(name), county_adcode=county))
        except ValidationError as exc:
            first = exc.errors()[0]
            errors.append(f"feature {i + 1}: {first['loc'][0]} {first['msg'].lower()}")
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise GridFileError(path, f"{len(errors)} features have bad attributes: "
                                  f"{'; '.join(errors[:5])}{more}")

    geometry = shapely.force_2d(np.asarray(frame.geometry.values, dtype=object))
    out = _frame([p.grid_id for p in props], [p.name for p in props], [p.county_adcode for p in props],
                 "imported", geometry)
    missing = out["county_adcode"].isna().to_numpy() & polygonal
    if missing.any():
        points = _representative_points(np.asarray(out.geometry.values[missing], dtype=object))
        located = CountyLocator(counties_4326).locate(shapely.get_x(points), shapely.get_y(points))
        out.loc[missing, "county_adcode"] = located
        n = int(missing.sum())
        notes.append(f"county filled in from the cell's location for {n} cell{'' if n == 1 else 's'}")
    out.attrs["notes"] = notes
    out.attrs["file"] = path.name
    out.attrs["layer"] = layer
    return out


def _frame(ids: Sequence[str], names: Sequence[str | None], counties: Sequence[str | None], source: str,
           geometry: Any) -> gpd.GeoDataFrame:
    """A grid frame of GRID_COLUMNS; name and county stay object columns so a missing one is None, not NaN."""
    return gpd.GeoDataFrame(
        {"grid_id": pd.Series(ids, dtype=object), "name": pd.Series(np.array(names, dtype=object)),
         "county_adcode": pd.Series(np.array(counties, dtype=object)), "source": source},
        geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), crs="EPSG:4326",
    )[GRID_COLUMNS]


def _polygonal(geom: BaseGeometry | None) -> BaseGeometry:
    """The polygons of a geometry (a repaired one may be a collection with lines); empty if none."""
    if geom is None:
        return Polygon()
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, (Polygon, MultiPolygon)) and not p.is_empty]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _representative_points(geoms: np.ndarray) -> np.ndarray:
    """A point inside each polygon; invalid ones are repaired first so GEOS does not refuse them."""
    fixed = np.array([_polygonal(g) if g is not None and g.is_valid else _polygonal(shapely.make_valid(g))
                      for g in geoms], dtype=object)
    return shapely.point_on_surface(fixed)


# --------------------------------------------------------------------------------------------- checks


def _as_lonlat(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None or frame.crs.equals("EPSG:4326"):
        return frame
    return frame.to_crs("EPSG:4326")


def _m2(value: float) -> str:
    return f"{value:,.0f} m²"


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %" if share >= 0.001 else f"{share * 100:.2f} %"


def _reason(geom: BaseGeometry) -> str:
    """GEOS's reason ("Self-intersection[112.5 23.1]") with the place written out for a person."""
    reason = shapely.is_valid_reason(geom)
    found = re.fullmatch(r"(.*)\[(\S+) (\S+)\]", reason)
    if found is None:
        return reason
    what, x, y = found.groups()
    return f"{what} at lon {float(x):.6f}, lat {float(y):.6f} (the GIS's 'fix geometries' tool repairs it)"


def check_grids(grids: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, *, outside_share: float = 0.01,
                overlap_share: float = 0.01, overlap_m2: float = 100.0) -> list[GridProblem]:
    """What is wrong with a grid (columns grid_id, county_adcode, geometry) against a city's counties.

    A cell may stick out of its county by `outside_share` of its area (real boundaries differ
    slightly); two cells may overlap by up to `overlap_share` of the smaller one and `overlap_m2`.
    Problems come sorted by kind (the order of PROBLEM_KINDS), then by grid id.
    """
    grids = _as_lonlat(grids)
    counties = _as_lonlat(counties).sort_values("adcode", kind="stable").reset_index(drop=True)
    ids = grids["grid_id"].astype(str).to_numpy()
    declared = np.array([None if pd.isna(v) else str(v) for v in grids["county_adcode"]]
                        if "county_adcode" in grids.columns else [None] * len(grids), dtype=object)
    c_codes = counties["adcode"].astype(str).to_numpy()
    c_names = (counties["name"].astype(str).to_numpy() if "name" in counties.columns else c_codes)
    label = {c: f"{n} ({c})" for c, n in zip(c_codes, c_names, strict=True)}
    problems: list[GridProblem] = []

    counts = pd.Series(ids).value_counts()
    for gid in counts[counts > 1].index:
        rows = np.flatnonzero(ids == gid) + 1
        problems.append(GridProblem(gid, "duplicate_id", f"the id is used by {len(rows)} cells "
                                                           f"(features {', '.join(map(str, rows))})"))

    raw = np.asarray(grids.geometry.values, dtype=object)
    geoms = np.empty(len(raw), dtype=object)
    usable = np.zeros(len(raw), dtype=bool)
    for i, g in enumerate(raw):
        if g is None or g.is_empty:
            problems.append(GridProblem(ids[i], "empty", "the cell has no geometry"))
            continue
        if not isinstance(g, (Polygon, MultiPolygon)):
            problems.append(GridProblem(ids[i], "not_polygon", f"the cell is a {g.geom_type}, not a polygon"))
            continue
        if not g.is_valid:
            problems.append(GridProblem(ids[i], "invalid", f"the outline is not a valid polygon: "
                                                           f"{_reason(g)}"))
            # Measured on its repaired shape, so the other checks still say what they can.
            g = _polygonal(shapely.make_valid(g))
            if g.is_empty:
                continue
        geoms[i] = g
        usable[i] = True

    idx = np.flatnonzero(usable)
    if idx.size:
        crs = metric_crs(counties)
        cells = project_to_metric(geoms[idx], crs)
        areas = shapely.area(cells)
        zero = areas <= 0
        for k in np.flatnonzero(zero):
            problems.append(GridProblem(ids[idx[k]], "empty", "the cell has no area"))
        keep = ~zero
        idx, cells, areas = idx[keep], cells[keep], areas[keep]
        problems += _county_problems(ids[idx], declared[idx], cells, areas,
                                     project_to_metric(np.asarray(counties.geometry.values), crs),
                                     c_codes, label, outside_share)
        problems += _overlaps(ids[idx], cells, areas, overlap_share, overlap_m2)

    order = {k: n for n, k in enumerate(PROBLEM_KINDS)}
    return sorted(problems, key=lambda p: (order[p.kind], p.grid_id, p.message))


def _county_problems(ids: np.ndarray, declared: np.ndarray, cells: np.ndarray, areas: np.ndarray,
                     county_geoms: np.ndarray, c_codes: np.ndarray, label: dict[str, str],
                     outside_share: float) -> list[GridProblem]:
    """outside_city, outside_county and county_mismatch, from each cell's area in each county."""
    inside = np.zeros((len(cells), len(county_geoms)))
    cell_tree = shapely.STRtree(cells)
    # Cells wholly inside a county need no intersection: one prepared test per county decides them.
    shapely.prepare(county_geoms)
    whole_c, whole_cell = cell_tree.query(county_geoms, predicate="contains_properly")
    inside[whole_cell, whole_c] = areas[whole_cell]
    done = np.zeros(len(cells), dtype=bool)
    done[whole_cell] = True
    cand_c, cand_cell = cell_tree.query(county_geoms, predicate="intersects")
    border = ~done[cand_cell]
    cand_c, cand_cell = cand_c[border], cand_cell[border]
    if cand_cell.size:
        inside[cand_cell, cand_c] = shapely.area(shapely.intersection(cells[cand_cell], county_geoms[cand_c]))
    shapely.destroy_prepared(county_geoms)

    problems = []
    total_in = inside.sum(axis=1)
    best = inside.argmax(axis=1)
    best_share = inside[np.arange(len(cells)), best] / areas
    city_union: BaseGeometry | None = None
    for i in range(len(cells)):
        gid, area = ids[i], areas[i]
        if total_in[i] / area < 0.5:
            if city_union is None:
                city_union = shapely.union_all(county_geoms)
            if total_in[i] > 0:
                where = (f"only {_pct(total_in[i] / area)} ({_m2(total_in[i])}) of its {_m2(area)} "
                         f"is inside the city")
            else:
                km = shapely.distance(cells[i], city_union) / 1000
                where = f"it is {km:,.1f} km from the city boundary"
            problems.append(GridProblem(gid, "outside_city", f"the cell lies outside the city: {where}"))
            continue
        home = c_codes[best[i]]
        out_share = 1.0 - best_share[i]
        if out_share > outside_share:
            problems.append(GridProblem(gid, "outside_county", (
                f"{_pct(out_share)} of the cell ({_m2(area * out_share)} of {_m2(area)}) lies outside "
                f"{label[home]}, the county holding most of it (tolerance {_pct(outside_share)})")))
        said = declared[i]
        if said is not None and said != home:
            named = label.get(said, f"{said}, which is not a county of this city")
            problems.append(GridProblem(gid, "county_mismatch", (
                f"the file puts the cell in {named}, but {_pct(best_share[i])} of it lies in {label[home]}")))
    return problems


def _overlaps(ids: np.ndarray, cells: np.ndarray, areas: np.ndarray, share: float,
              m2: float) -> list[GridProblem]:
    """One overlap problem per pair of cells sharing more than the tolerance."""
    tree = shapely.STRtree(cells)
    a, b = tree.query(cells, predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    if not a.size:
        return []
    # Neighbours sharing an edge intersect too; measuring is what tells them from overlaps.
    shared = shapely.area(shapely.intersection(cells[a], cells[b]))
    smaller = np.minimum(areas[a], areas[b])
    bad = (shared > share * smaller) | (shared > m2)
    problems = []
    for i, j, s, small in zip(a[bad], b[bad], shared[bad], smaller[bad], strict=True):
        first, second = sorted((ids[i], ids[j]))
        problems.append(GridProblem(first, "overlap", (
            f"overlaps cell {second} by {_m2(s)} ({_pct(s / small)} of the smaller cell; "
            f"tolerance {_pct(share)} or {_m2(m2)})")))
    return problems


def coverage_by_county(grids: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per county: cells, their area (km²), the county's area (km²) and the share the cells cover."""
    grids = _as_lonlat(grids)
    counties = _as_lonlat(counties).sort_values("adcode", kind="stable").reset_index(drop=True)
    crs = metric_crs(counties)
    geoms = np.array([_polygonal(g) if g is not None and g.is_valid else _polygonal(shapely.make_valid(g))
                      for g in grids.geometry.values], dtype=object)
    cell_km2 = shapely.area(project_to_metric(geoms, crs)) / 1e6
    county_km2 = shapely.area(project_to_metric(np.asarray(counties.geometry.values), crs)) / 1e6
    per = pd.DataFrame({"adcode": grids["county_adcode"].astype(object).fillna("").to_numpy(),
                        "km2": cell_km2}).groupby("adcode")["km2"].agg(["count", "sum"])
    cells = {str(code): int(n) for code, n in per["count"].items()}
    grid_km2 = {str(code): float(km2) for code, km2 in per["sum"].items()}
    rows = []
    names = counties.get("name", counties["adcode"]).astype(str)
    for code, name, c_km2 in zip(counties["adcode"].astype(str), names, county_km2, strict=True):
        n, km2 = cells.get(code, 0), grid_km2.get(code, 0.0)
        rows.append({"adcode": code, "name": name, "cells": n, "grid_km2": km2, "county_km2": float(c_km2),
                     "share": km2 / c_km2 if c_km2 else 0.0})
    if "" in per.index:
        rows.append({"adcode": None, "name": None, "cells": cells[""],
                     "grid_km2": grid_km2[""], "county_km2": 0.0, "share": 0.0})
    return pd.DataFrame(rows, columns=["adcode", "name", "cells", "grid_km2", "county_km2", "share"])


# --------------------------------------------------------------------------------------------- H3


def _hexagon(cell: str) -> Polygon:
    return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def _latlng_poly(poly: Polygon) -> h3.LatLngPoly:
    def ring(coords: Any) -> list[tuple[float, float]]:
        return [(y, x) for x, y in list(coords)[:-1]]

    return h3.LatLngPoly(ring(poly.exterior.coords), *(ring(r.coords) for r in poly.interiors))


def _covering_cells(geom: BaseGeometry, resolution: int) -> list[str]:
    """Every H3 cell that the (lon/lat) polygon touches, sorted."""
    cells: set[str] = set()
    for poly in shapely.get_parts(geom):
        # polygon_to_cells keeps the cells whose centre is inside; the border ones are added below.
        cells.update(h3.polygon_to_cells(_latlng_poly(poly), resolution))
    # With boundary vertices closer than a quarter of an edge, a cell the boundary crosses holds a
    # vertex or is next to a cell that does, so the vertex cells and their neighbours cover the border.
    step = h3.average_hexagon_edge_length(resolution, unit="km") / 111.32 / 4
    coords = shapely.get_coordinates(shapely.segmentize(shapely.boundary(geom), step))
    edge = {h3.latlng_to_cell(lat, lon, resolution) for lon, lat in coords}
    for cell in edge:
        cells.update(h3.grid_disk(cell, 1))
    return sorted(cells)


def generate_hex_grid(counties: gpd.GeoDataFrame, resolution: int = 7) -> gpd.GeoDataFrame:
    """H3 cells covering each county, clipped to it (a border cell: one part per county), as GRID_COLUMNS.

    Ids are H3-<adcode>-<cell>, names <county> H3 网格 <n>; rows sorted by adcode, then cell.
    """
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be 0…15, got {resolution}")
    counties = _as_lonlat(counties).sort_values("adcode", kind="stable").reset_index(drop=True)
    crs = metric_crs(counties)
    total_km2 = float(shapely.area(project_to_metric(np.asarray(counties.geometry.values), crs)).sum()) / 1e6
    estimate = total_km2 / h3.average_hexagon_area(resolution, unit="km^2")
    if estimate > MAX_GENERATED_CELLS:
        raise ValueError(f"resolution {resolution} would make about {estimate:,.0f} cells "
                         f"(more than {MAX_GENERATED_CELLS:,}); choose a coarser one")
    names = counties.get("name", counties["adcode"]).astype(str)
    ids: list[str] = []
    labels: list[str] = []
    codes: list[str] = []
    parts: list[BaseGeometry] = []
    codes_in = counties["adcode"].astype(str)
    for code, county_name, county in zip(codes_in, names, counties.geometry, strict=True):
        cells = _covering_cells(county, resolution)
        hexes = np.array([_hexagon(c) for c in cells], dtype=object)
        # Prepared on a copy: the packaged boundaries are shared, cached objects.
        county = shapely.transform(county, lambda xy: xy)
        shapely.prepare(county)
        whole = shapely.contains_properly(county, hexes)
        touching = ~whole & shapely.intersects(county, hexes)
        clipped = hexes.copy()
        clipped[touching] = shapely.intersection(hexes[touching], county)
        n = 0
        for cell, inside, touch, geom in zip(cells, whole, touching, clipped, strict=True):
            if not (inside or touch):
                continue
            if touch:
                kept = [p for p in shapely.get_parts(_polygonal(geom)) if p.area >= _MIN_PART_DEG2]
                if not kept:
                    continue
                geom = kept[0] if len(kept) == 1 else MultiPolygon(kept)
            n += 1
            ids.append(f"H3-{code}-{cell}")
            labels.append(f"{county_name} H3 网格 {n}")
            codes.append(code)
            parts.append(geom)
    return _frame(ids, labels, codes, "generated", parts)


# --------------------------------------------------------------------------------------------- lookup


class GridIndex:
    """Finds the grid cell holding each (lon, lat); a point on a shared edge goes to the lowest grid id."""

    def __init__(self, grids: gpd.GeoDataFrame) -> None:
        """Index a grid frame (column grid_id, polygons in any CRS) in an STRtree; empty cells are skipped."""
        if "grid_id" not in grids.columns:
            raise ValueError("grid frame needs a 'grid_id' column")
        grids = _as_lonlat(grids)
        ids = grids["grid_id"].astype(str).to_numpy()
        geoms = np.asarray(grids.geometry.values, dtype=object)
        present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
        ids, geoms = ids[present], geoms[present]
        # Tree index order == ascending grid id, so "lowest tree index" is the tie-break rule.
        order = np.argsort(ids, kind="stable")
        self._ids: tuple[str, ...] = tuple(ids[order])
        self._tree = shapely.STRtree(geoms[order])
        # The extra slot is what points outside every cell index into.
        self._labels = np.array([*self._ids, None], dtype=object)

    @property
    def ids(self) -> tuple[str, ...]:
        """Grid ids of the indexed cells, ascending."""
        return self._ids

    def __len__(self) -> int:
        """Number of indexed cells."""
        return len(self._ids)

    def locate(self, lons: Any, lats: Any) -> np.ndarray:
        """Grid id (object array, input shape) of each point's cell; None outside them all."""
        return locate_points(self._tree, self._labels, lons, lats)

    def locate_one(self, lon: float, lat: float) -> str | None:
        """Grid id of the cell holding one point, or None."""
        grid_id = self.locate(np.array([lon]), np.array([lat]))[0]
        return grid_id if isinstance(grid_id, str) else None
