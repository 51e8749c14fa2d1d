"""`python -m feeds grids import|generate|check`: store the grid cells (网格) of a file, or H3 cells."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from geo import (
    PROBLEM_KINDS,
    GridFileError,
    GridProblem,
    area_km2,
    check_grids,
    coverage_by_county,
    generate_hex_grid,
    load_counties,
    read_grid_file,
)
from clock import process_clock
from settings import Settings
from store import make_engine, migrate
from store.grid_queries import replace_grid_cells

SettingsFor = Callable[[str, list[str]], Settings]

# Problems listed per kind before "… and N more": enough to see the pattern, short enough to read.
DEFAULT_SHOW = 20


class _Unusable(Exception):
    """The command cannot run as given (an unknown city, too fine a resolution)."""


def _counties(city: str) -> gpd.GeoDataFrame:
    try:
        return load_counties(city)
    except ValueError as exc:
        raise _Unusable(str(exc)) from exc


def _rounded(geom: Any) -> Any:
    return shapely.transform(geom, lambda xy: np.round(xy, 6))


def cell_rows(grids: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Store rows (id, county_adcode, name, geojson, lon, lat, area_km2) of a checked grid frame."""
    grids = grids.to_crs("EPSG:4326")
    geoms = np.asarray(grids.geometry.values, dtype=object)
    # point_on_surface, not the centroid: a crescent-shaped cell's centroid lies outside it.
    points = shapely.point_on_surface(geoms)
    areas = area_km2(grids).to_numpy() if len(grids) else np.zeros(0)
    rows = []
    columns = (grids["grid_id"], grids["name"], grids["county_adcode"], geoms, points, areas)
    for gid, name, county, geom, point, km2 in zip(*columns, strict=True):
        rows.append({
            "id": str(gid),
            "county_adcode": county,
            "name": name if isinstance(name, str) else None,
            "geojson": json.dumps(mapping(_rounded(geom)), separators=(",", ":")),
            "lon": round(float(point.x), 6),
            "lat": round(float(point.y), 6),
            "area_km2": float(km2),
        })
    return rows


def problem_report(problems: Sequence[GridProblem], show: int = DEFAULT_SHOW) -> str:
    """Problems grouped by kind: a count per kind, then up to `show` lines of grid id and message each."""
    by_kind: dict[str, list[GridProblem]] = {}
    for p in problems:
        by_kind.setdefault(p.kind, []).append(p)
    cells = len({p.grid_id for p in problems})
    lines = [f"{len(problems)} problems in {cells} cells:"]
    # The Chinese term last: its characters are two columns wide and would break the alignment.
    lines += [f"  {kind:<16} {len(by_kind[kind]):>6}  {PROBLEM_KINDS[kind]}"
              for kind in PROBLEM_KINDS if kind in by_kind]
    for kind in PROBLEM_KINDS:
        found = by_kind.get(kind)
        if not found:
            continue
        lines += ["", f"{kind} {PROBLEM_KINDS[kind]} ({len(found)}):"]
        width = max((len(p.grid_id) for p in found[:show]), default=0)
        lines += [f"  {p.grid_id:<{width}}  {p.message}" for p in found[:show]]
        if len(found) > show:
            lines.append(f"  … and {len(found) - show} more")
    return "\n".join(lines)


def coverage_report(grids: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> str:
    """Cells per county and the share of each county's area they cover, with the city's total."""
    table = coverage_by_county(grids, counties)
    lines = ["county   cells      grid km²    county km²   covered"]
    for row in table.to_dict("records"):
        code = row["adcode"] or "(none)"
        name = row["name"] or "outside every county"
        share = f"{row['share'] * 100:6.1f} %" if row["county_km2"] else "      –"
        lines.append(f"{code:<7} {row['cells']:>6} {row['grid_km2']:>13,.1f} {row['county_km2']:>13,.1f}  "
                     f"{share}  {name}")
    grid_km2, county_km2 = table["grid_km2"].sum(), table["county_km2"].sum()
    lines.append(f"{'total':<7} {table['cells'].sum():>6} {grid_km2:>13,.1f} {county_km2:>13,.1f}  "
                 f"{grid_km2 / county_km2 * 100:6.1f} %")
    return "\n".join(lines)


def _read(ns: argparse.Namespace, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    grids = read_grid_file(ns.path, ns.id_field, ns.name_field, ns.county_field, layer=ns.layer,
                           counties=counties)
    layer = grids.attrs.get("layer")
    print(f"{ns.path.name} (layer {layer}): {len(grids)} cells")
    for note in grids.attrs.get("notes", []):
        print(f"  · {note}")
    return grids


def _refuse(problems: Sequence[GridProblem], show: int) -> int:
    print()
    print(problem_report(problems, show))
    print()
    print("nothing written: fix the file and run the command again")
    return 1


def _write(settings: Settings, grids: gpd.GeoDataFrame, source: str) -> None:
    engine = make_engine(settings.db)
    try:
        migrate(engine)
        rows = cell_rows(grids)
        with Session(engine) as s, s.begin():
            removed = replace_grid_cells(s, rows, source, process_clock().now())
        print(f"wrote {len(rows)} {source} cells to {engine.url.render_as_string(hide_password=True)}"
              f" (replacing {removed} cells stored before)")
    finally:
        engine.dispose()


def import_file(settings: Settings, ns: argparse.Namespace) -> int:
    """Read, check and (when clean) store a grid file; 1 with a report when it has problems."""
    counties = _counties(settings.city)
    grids = _read(ns, counties)
    problems = check_grids(grids, counties)
    if problems:
        return _refuse(problems, ns.show)
    print("no problems found")
    print()
    print(coverage_report(grids, counties))
    if ns.dry_run:
        print("dry run: nothing written")
        return 0
    _write(settings, grids, "imported")
    return 0


def check_file(settings: Settings, ns: argparse.Namespace) -> int:
    """Read and check a grid file without writing anything; 1 when it has problems."""
    counties = _counties(settings.city)
    grids = _read(ns, counties)
    problems = check_grids(grids, counties)
    if problems:
        print()
        print(problem_report(problems, ns.show))
        return 1
    print("no problems found")
    print()
    print(coverage_report(grids, counties))
    return 0


def generate(settings: Settings, ns: argparse.Namespace) -> int:
    """Store H3 cells clipped to each county (生成网格), for a city that has no grid file yet."""
    counties = _counties(settings.city)
    try:
        grids = generate_hex_grid(counties, ns.resolution)
    except ValueError as exc:
        raise _Unusable(str(exc)) from exc
    print(f"generated {len(grids)} H3 cells at resolution {ns.resolution} for {settings.city}")
    problems = check_grids(grids, counties)
    if problems:  # the clipping makes this impossible short of a bug; refuse rather than store it
        return _refuse(problems, ns.show)
    print()
    print(coverage_report(grids, counties))
    if ns.dry_run:
        print("dry run: nothing written")
        return 0
    _write(settings, grids, "generated")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `grids` command line; app.py's other settings flags pass through to Settings."""
    parser = argparse.ArgumentParser(
        prog="python -m feeds grids", description=__doc__,
        epilog="Also takes app.py's settings flags and ZQ_* variables (--db URL, --city ADCODE, …). "
               "Exit status: 0 done, 1 the grid has problems (nothing written), "
               "2 the file or command is unusable.")
    sub = parser.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="SQLAlchemy URL of the store (as app.py's --db)")
    common.add_argument("--city", help="city adcode whose packaged counties are used (as app.py's --city)")
    common.add_argument("--show", type=int, default=DEFAULT_SHOW, metavar="N",
                        help=f"problems listed per kind (default {DEFAULT_SHOW})")
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("path", type=Path, help="GeoJSON, GeoPackage, Shapefile (.shp or .zip)")
    reading.add_argument("--id-field", help="column holding the grid id (guessed when absent)")
    reading.add_argument("--name-field", help="column holding the grid name (guessed when absent)")
    reading.add_argument("--county-field",
                         help="column holding the county adcode or name (guessed; else from location)")
    reading.add_argument("--layer", help="layer of a GeoPackage, or shapefile of a .zip (default: the first)")
    p = sub.add_parser("import", parents=[common, reading], help="check a grid file and store its cells")
    p.add_argument("--dry-run", action="store_true", help="read and check, write nothing")
    sub.add_parser("check", parents=[common, reading], help="check a grid file, write nothing")
    p = sub.add_parser("generate", parents=[common], help="store H3 cells clipped to each county (生成网格)")
    p.add_argument("--resolution", type=int, default=7, help="H3 resolution (default 7: about 5 km² a cell)")
    p.add_argument("--dry-run", action="store_true", help="generate and check, write nothing")
    return parser


def main(args: list[str], settings_for: SettingsFor) -> int:
    """Run one `grids` action; `settings_for(command, rest)` parses the settings flags left over."""
    parser = build_parser()
    ns, rest = parser.parse_known_args(args)
    # --db and --city are parsed here so they may come anywhere; Settings still decides (ZQ_* otherwise).
    passed = [*(["--db", ns.db] if ns.db else []), *(["--city", ns.city] if ns.city else []), *rest]
    settings = settings_for(f"grids {ns.action}", passed)
    action = {"import": import_file, "check": check_file, "generate": generate}[ns.action]
    try:
        return action(settings, ns)
    except (GridFileError, _Unusable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
