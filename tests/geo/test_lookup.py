"""CountyLocator: vectorised lookup, the border rule, places with known counties."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from geo import CountyLocator, bounds, load_counties

CITY = "441200"
# Town centres (WGS84), each more than 1.5 km from any county border in the packaged data,
# which is more than the ~0.5 km GCJ-02 offset and the uncertainty of these positions.
KNOWN_PLACES = [
    ("肇庆市区 (端州) 市中心", 112.465, 23.05, "441202"),
    ("七星岩 Seven Star Crags", 112.475, 23.075, "441202"),
    ("鼎湖山 Dinghu Mountain", 112.54, 23.17, "441203"),
    ("高要区, south bank of the 西江 opposite 端州", 112.45, 22.99, "441204"),
    ("广宁县城 南街", 112.44, 23.634, "441223"),
    ("怀集县城 怀城", 112.18, 23.91, "441224"),
    ("封开县城 江口", 111.512, 23.424, "441225"),
    ("德庆县城 德城", 111.78, 23.15, "441226"),
    ("四会市区", 112.73, 23.33, "441284"),
]
OUTSIDE = [
    ("广州 Guangzhou", 113.26, 23.13),
    ("梧州 Wuzhou, Guangxi", 111.28, 23.48),
    ("云浮 Yunfu", 112.04, 22.92),
    ("北京 Beijing", 116.40, 39.90),
    ("null island", 0.0, 0.0),
]


@pytest.fixture(scope="module")
def locator() -> CountyLocator:
    return CountyLocator.for_city(CITY)


def _shared_vertices(a: str, b: str) -> np.ndarray:
    counties = load_counties(CITY, "detail").set_index("adcode").geometry
    va = {tuple(p) for p in shapely.get_coordinates(counties[a])}
    vb = {tuple(p) for p in shapely.get_coordinates(counties[b])}
    return np.array(sorted(va & vb))


def _slow_locate(lon: float, lat: float) -> str | None:
    """Reference: test every county, keep the lowest adcode that intersects."""
    counties = load_counties(CITY, "detail")
    hits = [a for a, g in zip(counties["adcode"], counties.geometry) if g.intersects(Point(lon, lat))]
    return min(hits) if hits else None


def test_adcodes_are_the_sorted_counties(locator: CountyLocator) -> None:
    assert locator.adcodes == ("441202", "441203", "441204", "441223", "441224", "441225", "441226", "441284")


@pytest.mark.parametrize(("place", "lon", "lat", "adcode"), KNOWN_PLACES)
def test_known_places_land_in_their_county(
    locator: CountyLocator, place: str, lon: float, lat: float, adcode: str
) -> None:
    assert locator.locate_one(lon, lat) == adcode, place


@pytest.mark.parametrize(("place", "lon", "lat"), OUTSIDE)
def test_points_outside_the_city_get_none(locator: CountyLocator, place: str, lon: float, lat: float) -> None:
    assert locator.locate_one(lon, lat) is None, place


@pytest.mark.parametrize(("low", "high"), [("441202", "441204"), ("441203", "441284"), ("441223", "441224")])
def test_shared_border_vertex_gets_exactly_the_lowest_adcode(
    locator: CountyLocator, low: str, high: str
) -> None:
    shared = _shared_vertices(low, high)
    assert len(shared) > 10
    counties = load_counties(CITY, "detail").set_index("adcode").geometry
    lon, lat = shared[len(shared) // 2]
    # The tie is real: the point intersects both counties.
    assert counties[low].intersects(Point(lon, lat)) and counties[high].intersects(Point(lon, lat))
    result = locator.locate(shared[:, 0], shared[:, 1])
    assert result.dtype == object
    # Vertices at a triple junction may touch a third, lower county; all others go to `low`.
    assert set(result) <= set(locator.adcodes) and (result == low).sum() >= len(shared) - 2
    for (x, y), got in zip(shared, result):
        assert locator.locate_one(float(x), float(y)) == got == _slow_locate(float(x), float(y))


def test_border_rule_does_not_depend_on_input_order() -> None:
    counties = load_counties(CITY, "detail")
    shuffled = counties.sample(frac=1.0, random_state=7)
    assert list(shuffled["adcode"]) != list(counties["adcode"])
    shared = np.concatenate([_shared_vertices("441202", "441204"), _shared_vertices("441203", "441284")])
    a = CountyLocator(counties).locate(shared[:, 0], shared[:, 1])
    b = CountyLocator(shuffled).locate(shared[:, 0], shared[:, 1])
    assert list(a) == list(b)
    assert CountyLocator(shuffled).adcodes == CountyLocator(counties).adcodes


def test_frame_in_another_crs_is_reprojected() -> None:
    mercator = CountyLocator(load_counties(CITY, "medium").to_crs("EPSG:3857"))
    for _place, lon, lat, adcode in KNOWN_PLACES:
        assert mercator.locate_one(lon, lat) == adcode


def test_vectorised_locate_matches_per_point_reference(locator: CountyLocator) -> None:
    rng = np.random.default_rng(20240601)
    minx, miny, maxx, maxy = bounds(CITY, "detail")
    lon = rng.uniform(minx - 0.1, maxx + 0.1, 100_000)
    lat = rng.uniform(miny - 0.1, maxy + 0.1, 100_000)
    border = _shared_vertices("441203", "441284")
    lon = np.concatenate([lon, border[:, 0]])
    lat = np.concatenate([lat, border[:, 1]])
    result = locator.locate(lon, lat)
    assert result.shape == lon.shape
    found = {a for a in result if a is not None}
    assert found == set(locator.adcodes) and None in set(result)
    sample = np.concatenate([rng.choice(100_000, 1500, replace=False), np.arange(100_000, lon.size)])
    for i in sample:
        assert result[i] == _slow_locate(float(lon[i]), float(lat[i])), (lon[i], lat[i])


def test_locate_keeps_shape_and_maps_nan_to_none(locator: CountyLocator) -> None:
    lon = np.array([[112.465, np.nan], [113.26, 112.18]])
    lat = np.array([[23.05, 23.0], [23.13, np.nan]])
    result = locator.locate(lon, lat)
    assert result.shape == (2, 2)
    assert result.tolist() == [["441202", None], [None, None]]
    assert locator.locate([], []).shape == (0,)


def test_coarse_locator_agrees_away_from_borders() -> None:
    coarse = CountyLocator.for_city(CITY, "coarse")
    for _place, lon, lat, adcode in KNOWN_PLACES:
        assert coarse.locate_one(lon, lat) == adcode


def test_rejects_frames_without_adcodes() -> None:
    counties = load_counties(CITY, "coarse")
    with pytest.raises(ValueError, match="adcode"):
        CountyLocator(counties.drop(columns="adcode"))
    with pytest.raises(ValueError, match="duplicate"):
        CountyLocator(counties.iloc[[0, 0]])
