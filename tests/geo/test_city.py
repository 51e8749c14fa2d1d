"""geo.City: the city the app runs for, read from the packaged boundaries."""

from __future__ import annotations

import pytest
from shapely.geometry import Point

from geo import PACKAGED_CITY, City, county_names, load_outline

CITY = "441200"


def test_the_city_is_read_from_the_packaged_data() -> None:
    city = City.load(CITY)
    assert (city.adcode, city.name, city.name_en) == (CITY, "肇庆市", "Zhaoqing")
    assert dict(city.counties) == county_names(CITY) and list(city.counties) == sorted(city.counties)
    assert city.counties["441202"] == "端州区" and city.counties_en["441284"] == "Sihui"
    assert city.regions == (CITY, *city.counties) and city.county_codes == tuple(city.counties)
    assert load_outline(CITY).contains(Point(*city.centre))
    assert city.centre == pytest.approx((112.2053, 23.5377), abs=1e-3)
    assert City.load(CITY) is city and City.load(CITY) == city and hash(city) == hash(CITY)
    assert PACKAGED_CITY == CITY  # the only packaged city is what geo's defaults mean


def test_regions_and_names() -> None:
    city = City.load(CITY)
    assert city.is_region(CITY) and city.is_region("441224") and not city.is_region("441299")
    assert city.is_county("441224") and not city.is_county(CITY) and not city.is_county(None)
    assert city.name_of(CITY) == "肇庆市" and city.name_of(CITY, "en") == "Zhaoqing"
    assert city.name_of("441224") == "怀集县" and city.name_of("441224", "en") == "Huaiji"
    assert city.name_of("440100") == "440100"


def test_a_city_that_is_not_packaged_is_refused() -> None:
    with pytest.raises(ValueError, match="no packaged boundary"):
        City.load("999900")
    with pytest.raises(ValueError, match="no packaged boundary"):
        City.load("441202")  # a county is not a city
