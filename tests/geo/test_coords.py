"""GCJ-02 <-> WGS84 against published test vectors, round trips and vectorisation."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from geo.coords import gcj02_to_wgs84, geometry_gcj02_to_wgs84, in_china, wgs84_to_gcj02

# (wgs lon, wgs lat, gcj lon, gcj lat) from the eviltransform project's own tests,
# github.com/googollee/eviltransform python/test.py and go/transform_test.go (shanghai,
# shenzhen, beijing); there given as (lat, lng, lat, lng).
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]

# From github.com/hujiulong/gcoord test/unit/crs/WGS84.spec.ts and GCJ02.spec.ts, which
# assert 5 decimals (toBeCloseTo(x, 5), i.e. |diff| < 5e-6).
GCOORD_WGS_TO_GCJ = ((123.0, 45.0), (123.00607541, 45.00197815))
GCOORD_GCJ_TO_WGS = ((123.0, 45.0), (122.99395597, 44.99804071))

OUTSIDE_CHINA = [(183.0, 45.0), (2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688), (100.0, 60.0)]


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_eviltransform(wlon: float, wlat: float, glon: float, glat: float) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_gcj02_to_wgs84_matches_eviltransform(wlon: float, wlat: float, glon: float, glat: float) -> None:
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert lon == pytest.approx(wlon, abs=1e-8)
    assert lat == pytest.approx(wlat, abs=1e-8)


def test_matches_gcoord_vectors() -> None:
    (lon, lat), (elon, elat) = GCOORD_WGS_TO_GCJ
    assert wgs84_to_gcj02(lon, lat) == pytest.approx((elon, elat), abs=5e-6)
    # gcoord's inverse is a cheaper approximation; its own test allows 5e-6 and so do we.
    (lon, lat), (elon, elat) = GCOORD_GCJ_TO_WGS
    assert gcj02_to_wgs84(lon, lat) == pytest.approx((elon, elat), abs=5e-6)


def test_offset_at_zhaoqing_is_a_few_hundred_metres() -> None:
    lon, lat = 112.465, 23.05
    glon, glat = wgs84_to_gcj02(lon, lat)
    dx = (glon - lon) * 111_320 * np.cos(np.radians(lat))
    dy = (glat - lat) * 110_574
    assert 100 < float(np.hypot(dx, dy)) < 1000


def test_round_trip_below_1e7_degrees_across_china() -> None:
    lon, lat = np.meshgrid(np.linspace(73.0, 137.0, 300), np.linspace(1.0, 55.0, 300))
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back_lon - lon).max() < 1e-7
    assert np.abs(back_lat - lat).max() < 1e-7
    # And the other way round, which is what the build step relies on.
    fwd_lon, fwd_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert np.abs(fwd_lon - lon).max() < 1e-7
    assert np.abs(fwd_lat - lat).max() < 1e-7


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE_CHINA)
def test_identity_outside_china(lon: float, lat: float) -> None:
    assert not in_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_scalars_give_floats_arrays_keep_shape_and_match_scalars() -> None:
    lon = np.array([[112.465, 183.0, 121.5], [112.18, 112.73, 2.35]])
    lat = np.array([[23.05, 45.0, 31.17], [23.91, 23.33, 48.85]])
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        assert out_lon.shape == lon.shape and out_lat.shape == lat.shape
        for idx in np.ndindex(lon.shape):
            s_lon, s_lat = func(float(lon[idx]), float(lat[idx]))
            assert isinstance(s_lon, float) and isinstance(s_lat, float)
            assert (s_lon, s_lat) == (out_lon[idx], out_lat[idx])


def test_geometry_conversion_keeps_shared_vertices_identical() -> None:
    # Two GCJ-02 squares sharing an edge, converted separately: a per-point conversion whose
    # result depended on its batch would move the shared vertices apart.
    left = Polygon([(112.40, 23.00), (112.45, 23.00), (112.45, 23.05), (112.40, 23.05)])
    right = Polygon([(112.45, 23.00), (112.50, 23.00), (112.51, 23.03), (112.50, 23.05), (112.45, 23.05)])
    a = geometry_gcj02_to_wgs84(left)
    b = geometry_gcj02_to_wgs84(right)
    assert shapely.coverage_is_valid([a, b])
    coords = shapely.get_coordinates(a)
    expected = np.column_stack(gcj02_to_wgs84(*shapely.get_coordinates(left).T))
    assert np.array_equal(coords, expected)
    assert set(map(tuple, shapely.get_coordinates(a))) & set(map(tuple, shapely.get_coordinates(b)))
