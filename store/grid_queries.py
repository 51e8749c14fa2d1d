"""Grid cells (网格) of the county drill-down: replace the city's grid, read cells by county or id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from store.models import GridCell
from store.results import rowcount

SOURCES = ("imported", "generated")

_COLUMNS = ("id", "county_adcode", "name", "geojson", "lon", "lat", "area_km2")


def replace_grid_cells(session: Session, rows: Sequence[Mapping[str, Any]], source: str, at: datetime) -> int:
    """Replace every stored cell by `rows` (GridCell columns but source, imported_at); returns how many went.

    An import is the whole city's grid, so the old cells go rather than being merged: delete and
    insert in the caller's transaction, which readers see all at once or not at all.
    """
    if source not in SOURCES:
        raise ValueError(f"grid cell source must be one of {SOURCES}, got {source!r}")
    values = []
    for row in rows:
        missing = [c for c in _COLUMNS if c not in row and c != "name"]
        if missing:
            raise ValueError(f"grid cell row {row.get('id')!r} lacks {', '.join(missing)}")
        values.append({**{c: row.get(c) for c in _COLUMNS}, "source": source, "imported_at": at})
    removed = rowcount(session.execute(delete(GridCell)))
    if values:
        # One executemany: SQLAlchemy batches the rows into multi-row INSERTs on both backends.
        session.execute(insert(GridCell), values)
    return removed


def grid_cells(session: Session, county: str | None = None) -> list[GridCell]:
    """Cells of the city, or of one county, ordered by id."""
    stmt = select(GridCell).order_by(GridCell.id)
    if county:
        stmt = stmt.where(GridCell.county_adcode == county)
    return list(session.scalars(stmt))


def grid_cell(session: Session, id: str) -> GridCell | None:
    """One cell by its id, or None."""
    return session.get(GridCell, id)


def grid_cell_count(session: Session) -> dict[str, int]:
    """Stored cells per source ('imported', 'generated'); empty when there are none."""
    stmt = select(GridCell.source, func.count()).group_by(GridCell.source)
    return {source: n for source, n in session.execute(stmt)}


def grid_cells_version(session: Session) -> tuple[int, datetime | None]:
    """How many cells are stored and when the newest was written: changes with every import."""
    n, newest = session.execute(select(func.count(), func.max(GridCell.imported_at))).one()
    return int(n), newest
