"""A KPI's region: a county's adcode, or unset for the city the app runs for (settings --city)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from topics import THEMES
from topics.themes import KpiDef

CITY = "441200"


def test_an_unset_region_is_the_city_given() -> None:
    gdp = KpiDef(key="econ.gdp_ytd", name_zh="GDP", name_en="GDP", department="市统计局")
    duanzhou = KpiDef(key="eco.aqi", name_zh="端州区AQI", name_en="Duanzhou AQI", department="市生态环境局",
                      region="441202")
    assert gdp.region is None and gdp.region_in(CITY) == CITY and gdp.region_in("440100") == "440100"
    assert duanzhou.region_in(CITY) == "441202"
    with pytest.raises(ValidationError):
        KpiDef(key="eco.aqi", name_zh="x", name_en="x", department="x", region="4412")


def test_a_theme_for_a_city_spells_every_region_out() -> None:
    eco = next(t for t in THEMES if t.key == "ecology")
    econ = next(t for t in THEMES if t.key == "economy")
    assert {k.region for k in econ.kpis} == {None}  # the packaged themes leave the city's KPIs unset
    resolved = econ.for_city(CITY)
    assert {k.region for k in resolved.kpis} == {CITY} and resolved.key == econ.key
    assert [k.key for k in resolved.kpis] == [k.key for k in econ.kpis]
    assert eco.for_city(CITY) is eco or all(k.region for k in eco.for_city(CITY).kpis)
    assert [k.region for k in eco.for_city(CITY).kpis] == ["441202", "441202", "441224", "441284"]
