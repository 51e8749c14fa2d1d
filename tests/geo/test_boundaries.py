"""Run-time boundary API: loading, caching, CRS choice, areas, bounds, sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import Point, box

from geo import (
    LODS,
    CountyLocator,
    area_km2,
    bounds,
    county_names,
    load_counties,
    load_outline,
    metric_crs,
    sample_points,
)

CITY = "441200"
GEOD = pyproj.Geod(ellps="WGS84")


def test_load_counties_shape_and_crs() -> None:
    for lod in LODS:
        gdf = load_counties(CITY, lod)
        assert list(gdf.columns) == ["adcode", "name", "name_en", "geometry"]
        assert gdf.crs.to_epsg() == 4326
        assert list(gdf["adcode"]) == sorted(gdf["adcode"]) and len(gdf) == 8
        assert gdf.index.tolist() == list(range(8))


def test_load_counties_returns_copies_the_caller_may_change() -> None:
    first = load_counties(CITY)
    first.loc[0, "name"] = "changed"
    first["extra"] = 1
    first.loc[1, "geometry"] = Point(0, 0)
    assert first.geometry.iloc[1].geom_type == "Point"
    again = load_counties(CITY)
    assert again is not first
    assert again.loc[0, "name"] == "端州区"
    assert "extra" not in again.columns
    assert again.geometry.iloc[1].geom_type == "MultiPolygon"
    names = county_names(CITY)
    names["441202"] = "changed"
    assert county_names(CITY)["441202"] == "端州区"


def test_unknown_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="level of detail"):
        load_counties(CITY, "fine")
    with pytest.raises(ValueError, match="no packaged boundary"):
        load_counties("440100")
    with pytest.raises(ValueError, match="no packaged boundary"):
        load_counties("441202")  # a county, not a city
    with pytest.raises(ValueError, match="no packaged boundary"):
        load_outline("441299")


def test_outlines_of_city_and_county() -> None:
    counties = load_counties(CITY, "medium").set_index("adcode")
    city = load_outline(CITY, "medium")
    for adcode, geom in counties.geometry.items():
        county = load_outline(adcode, "medium")
        assert county.equals_exact(geom, tolerance=0)
        assert city.covers(county)
    assert not load_outline("441202").covers(load_outline("441204"))


def test_county_names() -> None:
    assert county_names() == {
        "441202": "端州区",
        "441203": "鼎湖区",
        "441204": "高要区",
        "441223": "广宁县",
        "441224": "怀集县",
        "441225": "封开县",
        "441226": "德庆县",
        "441284": "四会市",
    }


def test_metric_crs_is_the_utm_zone_of_the_centroid() -> None:
    assert metric_crs(load_outline(CITY)).to_epsg() == 32649
    assert metric_crs(load_counties(CITY)).to_epsg() == 32649
    # A frame in another CRS is judged by where it is, not by its raw numbers.
    assert metric_crs(load_counties(CITY, "coarse").to_crs("EPSG:3857")).to_epsg() == 32649
    assert metric_crs(box(116.3, 39.8, 116.5, 40.0)).to_epsg() == 32650  # Beijing
    assert metric_crs(box(151.1, -34.0, 151.3, -33.8)).to_epsg() == 32756  # Sydney
    assert metric_crs(box(-0.2, 51.4, 0.1, 51.6)).to_epsg() == 32630  # London spans zones 30/31


def test_area_km2_agrees_with_geodesic_area() -> None:
    outline = load_outline(CITY)
    geodesic = abs(GEOD.geometry_area_perimeter(outline)[0]) / 1e6
    utm = area_km2(outline)
    assert isinstance(utm, float)
    # UTM scale (0.9996 at the central meridian) shrinks areas by well under 0.1 %.
    assert 0.999 < utm / geodesic < 1.0
    one_degree = box(112.0, 23.0, 113.0, 24.0)
    geodesic_box = abs(GEOD.geometry_area_perimeter(one_degree)[0]) / 1e6
    assert area_km2(one_degree) == pytest.approx(geodesic_box, rel=1e-3)


def test_area_km2_of_a_frame_is_a_series_on_its_index() -> None:
    gdf = load_counties(CITY).set_index("adcode")
    areas = area_km2(gdf)
    assert isinstance(areas, pd.Series) and list(areas.index) == list(gdf.index)
    for adcode, geom in gdf.geometry.items():
        assert areas[adcode] == pytest.approx(area_km2(geom), rel=1e-9)


def test_bounds() -> None:
    city = bounds(CITY)
    assert len(city) == 4 and all(isinstance(v, float) for v in city)
    assert city == load_outline(CITY, "coarse").bounds
    minx, miny, maxx, maxy = city
    assert 111.2 < minx < 111.5 and 112.8 < maxx < 113.0 and 22.6 < miny < 22.9 and 24.2 < maxy < 24.5
    detail = bounds(CITY, "detail")
    assert np.allclose(city, detail, atol=0.01)
    for adcode in county_names():
        cminx, cminy, cmaxx, cmaxy = bounds(adcode)
        assert minx <= cminx < cmaxx <= maxx and miny <= cminy < cmaxy <= maxy


def test_sample_points_lie_strictly_inside() -> None:
    rng = np.random.default_rng(1)
    gaoyao = load_outline("441204")
    assert any(len(p.interiors) for p in gaoyao.geoms)  # has a hole, which must stay empty
    lon, lat = sample_points(gaoyao, 20_000, rng)
    assert lon.shape == lat.shape == (20_000,)
    assert shapely.contains_xy(gaoyao, lon, lat).all()
    assert (shapely.distance(gaoyao.boundary, shapely.points(lon, lat)) > 0).all()
    assert set(CountyLocator.for_city(CITY).locate(lon, lat)) == {"441204"}


def test_sample_points_is_reproducible_and_handles_edge_cases() -> None:
    duanzhou = load_outline("441202")
    a = sample_points(duanzhou, 500, np.random.default_rng(5))
    b = sample_points(duanzhou, 500, np.random.default_rng(5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    empty = sample_points(duanzhou, 0, np.random.default_rng(5))
    assert empty[0].shape == (0,) and empty[1].shape == (0,)
    with pytest.raises(ValueError):
        sample_points(Point(112.4, 23.0), 10, np.random.default_rng(5))
    with pytest.raises(ValueError):
        sample_points(duanzhou, -1, np.random.default_rng(5))


def test_sample_points_is_uniform_by_area() -> None:
    # Share of points per county should follow share of area (chi-square, 7 dof; the 0.1 %
    # critical value is 24.3).
    n = 100_000
    lon, lat = sample_points(load_outline(CITY), n, np.random.default_rng(42))
    counties = load_counties(CITY)
    expected = (area_km2(counties) / area_km2(counties).sum() * n).to_numpy()
    located = CountyLocator(counties).locate(lon, lat)
    observed = np.array([(located == a).sum() for a in counties["adcode"]])
    assert observed.sum() == n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < 24.3, (observed, expected.round())
