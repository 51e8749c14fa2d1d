"""Grid cells in the store, on SQLite and PostgreSQL: replace, read by county and id, count by source."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.grid_queries import grid_cell, grid_cell_count, grid_cells, replace_grid_cells
from store.models import REPLAY_COLUMNS, GridCell

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def cell(id_: str, county: str, name: str | None = None, lon: float = 112.2, lat: float = 23.9) -> dict:
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    return {"id": id_, "county_adcode": county, "name": name,
            "geojson": json.dumps({"type": "Polygon", "coordinates": [ring]}),
            "lon": lon + 0.005, "lat": lat + 0.005, "area_km2": 1.13}


def test_replace_writes_cells_and_reads_them_back(engine: Engine) -> None:
    rows = [cell("W-2", "441224", "怀集县第二网格"), cell("W-1", "441224", "怀集县第一网格"),
            cell("F-1", "441225")]
    with Session(engine) as s, s.begin():
        assert replace_grid_cells(s, rows, "imported", at=T0) == 0
    with Session(engine) as s:
        assert [c.id for c in grid_cells(s)] == ["F-1", "W-1", "W-2"]
        assert [c.id for c in grid_cells(s, county="441224")] == ["W-1", "W-2"]
        assert grid_cells(s, county="441202") == []
        got = grid_cell(s, "W-1")
        assert got is not None and got.name == "怀集县第一网格" and got.source == "imported"
        assert json.loads(got.geojson)["type"] == "Polygon"
        assert (got.lon, got.lat, got.area_km2) == (112.2 + 0.005, 23.9 + 0.005, 1.13)
        assert got.imported_at == T0.astimezone(UTC) and got.imported_at.tzinfo is not None
        assert grid_cell(s, "F-1").name is None
        assert grid_cell(s, "nope") is None
        assert grid_cell_count(s) == {"imported": 3}


def test_an_import_replaces_the_whole_grid(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        replace_grid_cells(s, [cell(f"H3-441224-{i}", "441224") for i in range(5)], "generated", at=T0)
    with Session(engine) as s, s.begin():
        assert replace_grid_cells(s, [cell("W-1", "441224")], "imported", at=T0) == 5
    with Session(engine) as s:
        assert [c.id for c in grid_cells(s)] == ["W-1"]
        assert grid_cell_count(s) == {"imported": 1}
        assert grid_cell(s, "W-1").imported_at == T0.astimezone(UTC)


def test_a_failed_replace_keeps_the_old_grid(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        replace_grid_cells(s, [cell("W-1", "441224"), cell("W-2", "441224")], "imported", at=T0)
    bad = [cell("N-1", "441224"), cell("N-1", "441225")]  # the same id twice
    with pytest.raises(IntegrityError):
        with Session(engine) as s, s.begin():
            replace_grid_cells(s, bad, "imported", at=T0)
    with Session(engine) as s:
        assert [c.id for c in grid_cells(s)] == ["W-1", "W-2"]


def test_replace_refuses_bad_sources_and_rows(engine: Engine) -> None:
    with Session(engine) as s:
        with pytest.raises(ValueError, match="source"):
            replace_grid_cells(s, [cell("W-1", "441224")], "drawn", at=T0)
        row = cell("W-1", "441224")
        del row["geojson"]
        with pytest.raises(ValueError, match="'W-1' lacks geojson"):
            replace_grid_cells(s, [row], "imported", at=T0)


def test_a_whole_city_of_cells_in_one_transaction(engine: Engine) -> None:
    rows = [cell(f"H3-{c}-{i:05d}", c, f"网格 {i}", lon=111.3 + i * 1e-4)
            for c in ("441224", "441225") for i in range(2500)]
    with Session(engine) as s, s.begin():
        replace_grid_cells(s, rows, "generated", at=T0)
    with Session(engine) as s:
        assert grid_cell_count(s) == {"generated": 5000}
        assert len(grid_cells(s, county="441225")) == 2500


def test_indexes_for_cells_and_event_replay(engine: Engine) -> None:
    insp = inspect(engine)
    cells = {ix["name"]: ix["column_names"] for ix in insp.get_indexes(GridCell.__tablename__)}
    assert cells["ix_grid_cells_county_adcode"] == ["county_adcode"]
    events = {ix["name"]: ix["column_names"] for ix in insp.get_indexes("grid_events")}
    # Migration 0013: the replay's columns ride in the report-time index, so a replay reads it alone.
    assert events["ix_grid_events_reported"] == ["reported_at", "closed_at", *REPLAY_COLUMNS]
    assert events["ix_grid_events_county_reported"] == ["county_adcode", "reported_at", "closed_at"]
