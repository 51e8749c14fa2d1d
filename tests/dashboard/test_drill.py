"""The drill map's pure parts: URLs, the replay slider, device status by the standards, clicks, screens;
and the consistency view's refused devices, read from a real store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import orjson
import pytest
import shapely
from sqlalchemy.orm import Session

from dashboard import create_app, drill
from dashboard.pages.consistency import outside_rows
from clock import process_clock
from feeds.grids import cell_rows
from geo import load_counties
from settings import CITY_TZ, Settings
from store import Batch, write_batch
from store.grid_queries import replace_grid_cells
from tests.feeds.samples import GUANGZHOU, make_decoder, msg, road
from tests.conftest import migrated_sqlite

NOW = datetime(2026, 11, 30, 14, 7, tzinfo=CITY_TZ)


def parse(query: dict[str, str], width: int | None = None) -> drill.DrillView:
    return drill.parse_drill(query, "zh", drill.COUNTY_LAYERS, drill.COUNTY_DEFAULT, NOW, width)


def test_a_drill_url_round_trips_and_bad_values_fall_back() -> None:
    view = parse({"layers": "events,heat,nope", "at": "2026-11-30T09:15", "lang": "en"})
    assert view.layers == ("heat", "events") and view.lang == "en"  # offered order, unknown dropped
    assert view.at == datetime(2026, 11, 30, 9, 15, tzinfo=CITY_TZ)
    params = view.params(drill.COUNTY_DEFAULT)
    assert params == {"lang": "en", "layers": "heat,events", "at": "2026-11-30T09:15", "metric": None}
    assert parse({k: v for k, v in params.items() if v}) == view
    assert parse({}).layers == drill.COUNTY_DEFAULT and parse({}).params(drill.COUNTY_DEFAULT)["layers"] is None
    assert parse({"layers": ""}).layers == ()  # every layer switched off is a view too
    # Outside the last 24 hours, in the future, or not a time: live.
    for bad in ("2026-11-29T13:00", "2026-11-30T15:00", "yesterday"):
        assert parse({"at": bad}).at is None, bad
    assert parse({"metric": "eco.aqi"}).metric == "eco.aqi" and parse({"metric": "x"}).metric == drill.OPEN_EVENTS
    assert parse({}, 3840).screen == 2.0 and parse({}, 1280).screen == 1.0


def test_the_slider_maps_positions_to_quarter_hours_of_the_last_day() -> None:
    end = drill.replay_end(NOW)
    assert end == datetime(2026, 11, 30, 14, 0, tzinfo=CITY_TZ)
    assert drill.slider_time(drill.REPLAY_STEPS, end) is None  # the right end is live
    assert drill.slider_time(0, end) == end - timedelta(hours=24)
    assert drill.slider_time(drill.REPLAY_STEPS - 4, end) == end - timedelta(hours=1)
    for value in (0, 1, 50, drill.REPLAY_STEPS - 1):
        assert drill.slider_value(drill.slider_time(value, end), end) == value
    assert drill.slider_value(None, end) == drill.REPLAY_STEPS


def test_device_status_follows_the_standards() -> None:
    assert drill.device_status("road_weather", False, None, {"visibility_m": 30}) == "stale"  # silent wins
    assert drill.device_status("video_point", True, False, {}) == "offline"
    assert drill.device_status("road_weather", True, None, {"visibility_m": 450}) == "alarm"  # fog yellow < 500 m
    assert drill.device_status("road_weather", True, None, {"visibility_m": 800}) == "online"
    hot_dry = {"max_temp_c": 33, "rh_pct": 20, "dry_days": 12, "wind_speed_ms": 12}
    assert drill.device_status("fire_risk", True, None, hot_dry) == "alarm"  # level 5
    assert drill.device_status("fire_risk", True, None, {**hot_dry, "rh_pct": 90, "dry_days": 0}) == "online"


def test_a_click_names_what_it_landed_on() -> None:
    assert drill.click_target({"points": [{"customdata": "case:AJ1"}]}) == ("case", "AJ1")
    # A click inside a fill hands over the trace's whole customdata array.
    assert drill.click_target({"points": [{"customdata": ["county:441224", "county:441224"]}]}) == \
        ("county", "441224")
    assert drill.click_target({"points": [{"customdata": "441224"}]}) is None  # the outline: not clickable
    assert drill.click_target({"points": [{"customdata": "alarm:1"}]}) is None
    assert drill.click_target(None) is None
    assert drill.target_path("grid", "H3-441224-87") == "/grid/H3-441224-87"


def test_a_4k_screen_scales_markers_and_text() -> None:
    fig = {"data": [{"marker": {"size": 9}, "textfont": {"size": 14}}, {"mode": "lines"}], "layout": {}}
    out = drill.fit_screen(fig, 2.0)
    assert out["data"][0]["marker"]["size"] == 18 and out["data"][0]["textfont"]["size"] == 28
    assert out["layout"]["font"]["size"] == 24 and out["layout"]["legend"]["font"]["size"] == 24


def test_county_kpis_are_named_without_the_county_a_wall_kpi_carries() -> None:
    assert drill.kpi_names("eco.aqi")[:2] == ("AQI", "AQI")
    assert drill.kpi_names("eco.pm2_5") == ("PM2.5", "PM2.5", "µg/m³")
    keys = [k for k, *_ in drill.metric_choices()]
    assert keys[0] == drill.OPEN_EVENTS and "eco.aqi" in keys and len(keys) == len(set(keys))


@pytest.fixture
def ctx(tmp_path: Path):
    app = create_app(Settings(db=migrated_sqlite(tmp_path / 'zq.sqlite3')), start_feeds=False)
    return app.server.config["ZQ_CONTEXT"]


def test_devices_refused_for_coordinates_outside_the_city_are_listed_once_each(ctx) -> None:
    decoder = make_decoder()
    now = process_clock().now()
    batch = Batch()
    outside = [msg("road_weather", road("441204", 3, lon=GUANGZHOU[0], lat=GUANGZHOU[1], ts=now - timedelta(minutes=m)))
               for m in (2, 1)]
    for topic, payload in outside:
        rejected = decoder.decode(topic, payload, now)
        assert "outside the city" in rejected.reason
        batch.add_dead_letter(now, topic, "road_weather", payload, rejected.reason)
    with Session(ctx.engine) as s, s.begin():
        write_batch(s, batch)
    with Session(ctx.engine) as s:
        rows = outside_rows(s)
    assert len(rows) == 1  # one device, two refused messages
    assert rows[0]["county_by_id"] == "441204" and rows[0]["count"] == 2
    assert (rows[0]["lon"], rows[0]["lat"]) == GUANGZHOU
    assert orjson.loads(outside[0][1])["lon"] == GUANGZHOU[0]


def test_an_import_replaces_the_generated_cells_in_a_running_app(ctx) -> None:
    before = ctx.grids.get()
    assert before.generated and before.frame["grid_id"].str.startswith("H3-").all()
    county = load_counties("441200", "detail").set_index("adcode").geometry["441202"]
    minx, miny, maxx, maxy = county.bounds
    halves = [shapely.box(minx, miny, (minx + maxx) / 2, maxy), shapely.box((minx + maxx) / 2, miny, maxx, maxy)]
    grid = gpd.GeoDataFrame({"grid_id": ["DZ-W", "DZ-E"], "name": ["西片", "东片"], "county_adcode": ["441202"] * 2},
                            geometry=[h.intersection(county) for h in halves], crs="EPSG:4326")
    with Session(ctx.engine) as s, s.begin():
        replace_grid_cells(s, cell_rows(grid), "imported", ctx.now())
    assert ctx.grids.get() is before  # rechecked at most once a minute
    ctx.grids.RECHECK_S = 0.0
    after = ctx.grids.get()
    assert not after.generated and sorted(after.frame["grid_id"]) == ["DZ-E", "DZ-W"]
    lon, lat = shapely.point_on_surface(grid.geometry[0]).coords[0]
    assert after.locate([lon], [lat])[0] == "DZ-W"


def test_a_county_maps_outlines_are_drawn_once_and_shared_unchanged(ctx) -> None:
    """drill.county_frame: the neighbours and outline come from ctx.shapes on a second map; one figure's heat
    see-through and 4K scaling do not reach the shared traces, and a click target is prefixed once."""
    def figure(query: dict[str, str], width: int | None = None) -> dict:
        view = drill.parse_drill(query, "zh", drill.COUNTY_LAYERS, drill.COUNTY_DEFAULT, ctx.now(), width)
        with Session(ctx.engine) as s:
            return drill.county_figure(ctx, s, "441224", view, ctx.now())[0]

    plain = figure({})
    frame = [t for t in plain["data"] if t.get("meta", {}).get("layer") in ("neighbours", "outline")]
    assert [t["meta"]["layer"] for t in frame] == ["neighbours"] * 7 + ["outline"]
    assert all("opacity" not in t for t in frame)
    heat = figure({"layers": "grid_choropleth,heat"}, width=3840)
    assert [t.get("opacity") for t in heat["data"][:8]] == [0.45] * 8
    again = figure({})
    assert again["data"][:8] == plain["data"][:8] and all("opacity" not in t for t in again["data"][:8])
    neighbour = again["data"][0]["customdata"]
    assert all(c.count("county:") == 1 for c in neighbour) and len(ctx.shapes) == 1


def test_a_phone_draws_coarser_device_cells_than_a_desk_or_a_wall() -> None:
    """A 390 px phone gets 13 cells along the map (about 30 px each, not a solid block); 1920 and 4K get 64 (4K's
    squares grow with fit_screen instead)."""
    assert [parse({}, w).px for w in (390, None, 3840)] == [390, 1920, 3840]
    assert [drill.cells_along(w) for w in (390, 1280, 1920, 3840, 5760)] == [13, 43, 64, 64, 64]
    assert drill.cells_along(100) == 8
    import numpy as np

    from layers.points import CLUSTER_FROM, PointRow, device_points

    rng = np.random.default_rng(1)
    rows = [PointRow(f"d{i}", "video_point", 112 + x, 23 + y, f"d{i}") for i, (x, y) in
            enumerate(rng.uniform(0, 1, size=(CLUSTER_FROM + 1000, 2)))]
    drawn = {w: sum(len(t.x) for t in device_points(rows, bounds=(112, 23, 113, 24), along=drill.cells_along(w)))
             for w in (390, 1920)}
    assert drawn[390] <= 13 * 13 < drawn[1920] <= 64 * 64


def test_replay_bases_are_used_only_while_fresh_and_near(monkeypatch: pytest.MonkeyPatch) -> None:
    """A replayed moment is read from a kept one only within REPLAY_REUSE_S of the whole read it derives from, and
    within REPLAY_NEAR of it; the nearest wins, each county keeps its own."""
    clock = [1000.0]
    monkeypatch.setattr(drill.time, "monotonic", lambda: clock[0])
    bases = drill.ReplayBases(keep=2)
    m = datetime(2026, 3, 2, 10, 0, tzinfo=CITY_TZ)
    bases.add(None, 1000.0, m, ["at 10:00"])  # type: ignore[list-item]
    bases.add(None, 990.0, m - timedelta(minutes=5), ["at 9:55"])  # type: ignore[list-item]
    assert bases.nearest(None, m - timedelta(minutes=4))[2] == ["at 9:55"]
    assert bases.nearest(None, m + timedelta(minutes=1))[2] == ["at 10:00"]
    assert bases.nearest("441203", m) is None
    assert bases.nearest(None, m + drill.REPLAY_NEAR + timedelta(minutes=1)) is None
    clock[0] = 990.0 + drill.REPLAY_REUSE_S  # the 9:55 base's whole read is now too old; 10:00's is not
    assert bases.nearest(None, m - timedelta(minutes=5))[2] == ["at 10:00"]
    bases.add(None, 1000.0, m + timedelta(minutes=5), ["at 10:05"])  # type: ignore[list-item]
    clock[0] = 1000.0
    assert [bases.nearest(None, m + timedelta(minutes=k))[2] for k in (-6, 4)] == [
        ["at 9:55"], ["at 10:05"]]  # kept the last two added: 10:00, added first, was let go


def test_a_click_on_a_cell_of_several_devices_opens_what_holds_it() -> None:
    """On the city's map the county holding the cell; on a county's its grid cell; outside every cell nothing."""
    import pandas as pd

    class Grids:
        frame = pd.DataFrame({"grid_id": ["G1", "G2"], "county_adcode": ["441224", "441203"]})

        def locate(self, lons: list[float], lats: list[float]) -> list[str | None]:
            return ["G1" if lons[0] < 112.0 else "G2" if lons[0] < 113.0 else None]

    def click(x: float, y: float) -> dict:
        return {"points": [{"customdata": f"spot:{x},{y}"}]}

    names = {"441224": "怀集县", "441203": "鼎湖区"}
    assert drill.click_url(click(111.9, 23.9), "", names, current=drill.CITY, grids=Grids()) == ("/county/441224", "")
    assert drill.click_url(click(112.6, 23.2), "?lang=en", names, current="441203", grids=Grids()) == \
        ("/grid/G2", "?lang=en")
    assert drill.click_url(click(113.5, 23.2), "", names, current=drill.CITY, grids=Grids()) is None
    assert drill.click_url({"points": [{"customdata": "spot:x,1"}]}, "", names, grids=Grids()) is None
    # The layer names each multi-device cell's centre; clickable() makes it a place.
    from layers import PointRow
    from layers.points import device_cells

    rows = [PointRow(f"D{i}", "video_point", 112.50 + i * 1e-4, 23.10, f"D{i}", True, "online") for i in range(3)]
    cells = drill.clickable([t for t in device_cells(rows, (112.0, 23.0, 113.0, 24.0)) if t.meta.get("cell")])
    assert [list(t.customdata) for t in cells] == [[f"spot:{cells[0].x[0]},{cells[0].y[0]}"]]
