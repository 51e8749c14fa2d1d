"""What the built-in simulators know of a city, by county: data files `feeds/simdata/<city adcode>.yaml`.

The rivers and expressways of each county, its share of grid cases, counts and 12345 tickets, how many video
points, fire-danger and air-quality stations it has, the gauging stations of the water-regime API. A packaged city
without a file of its own gets plain defaults derived from its counties (`SimCity.plain`: every county alike, one
air-quality and one fire-danger station each, no gauging stations), so the simulators run for any city.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo import City

SIMDATA_DIR = Path(__file__).resolve().parent
SCHEMA_VERSION: Final = 1

Adcode = Annotated[str, Field(pattern=r"^\d{6}$")]


class CountySim(BaseModel):
    """One county as the simulators see it (the defaults are the plain ones)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rivers: tuple[str, ...] = Field(("河道",), min_length=1, description="Rivers its video points watch")
    roads: tuple[str, ...] = Field(("高速",), min_length=1, description="Expressways its road-weather stations are on")
    video_points: int = Field(2, ge=0)
    fire_stations: int = Field(1, ge=0, description="Fire-danger stations (forest areas)")
    air_stations: int = Field(1, ge=0)
    urban: bool = Field(False, description="Urban district: dirtier air")
    event_weight: float = Field(1.0, ge=0, description="Relative share of the city's grid cases")
    share: float = Field(1.0, ge=0, description="Relative share of the city's counts (KPIs reported per county)")
    ticket_weight: float = Field(1.0, ge=0, description="Relative share of the city's 12345 tickets")


class HydroSim(BaseModel):
    """A gauging station of the simulated water-regime API."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stcd: str = Field(pattern=r"^\d{8}$")
    name: str
    river: str
    county: Adcode
    lon: float
    lat: float
    base_m: float = Field(description="Typical level of the season")
    standard: str | None = Field(None, description="Key in standards.hydro's stations: its warning level, and the "
                                                   "API gives none")
    warning_m: float | None = Field(None, description="Warning level the API itself gives (without `standard`)")
    guaranteed_m: float | None = None
    flow_at_warning: float = Field(gt=0, description="m³/s")
    demo_rise: bool = Field(False, description="Rises past its warning level about 40 minutes after start")

    @model_validator(mode="after")
    def _one_warning(self) -> HydroSim:
        if (self.standard is None) == (self.warning_m is None):
            raise ValueError(f"{self.stcd}: give its warning level as standard (a standards.hydro key) or warning_m")
        return self


class SimCity(BaseModel):
    """A city as the simulators see it: its counties (every one of the packaged city's) and gauging stations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    city: Adcode
    counties: dict[Adcode, CountySim]
    city_ticket_weight: float = Field(1.0, ge=0, description="Relative share of the 12345 tickets of the city's "
                                                             "own departments (市直)")
    fog_county: Adcode | None = Field(None, description="The county whose first road-weather station is in fog "
                                                        "at start (default: the first county)")
    hydro_stations: tuple[HydroSim, ...] = ()

    @model_validator(mode="after")
    def _known_counties(self) -> SimCity:
        if self.fog_county is not None and self.fog_county not in self.counties:
            raise ValueError(f"fog_county {self.fog_county} is not among the counties")
        unknown = sorted({h.county for h in self.hydro_stations} - set(self.counties))
        if unknown:
            raise ValueError(f"hydro stations in {', '.join(unknown)}, not among the counties")
        return self

    @classmethod
    def plain(cls, city: City) -> SimCity:
        """Plain defaults for a city without a file: every county alike."""
        return cls(city=city.adcode, counties={c: CountySim() for c in city.counties})

    @property
    def fog_station_county(self) -> str:
        """The county whose road-weather station is in fog at start."""
        return self.fog_county or min(self.counties)


def sim_file(city: str) -> Path:
    """Where a city's simulator data is (whether or not there is a file)."""
    return SIMDATA_DIR / f"{city}.yaml"


@lru_cache(maxsize=8)
def sim_data(city: City) -> SimCity:
    """The simulators' data of a city: its file checked against the city's counties, else plain defaults."""
    path = sim_file(city.adcode)
    if not path.is_file():
        return SimCity.plain(city)
    data = SimCity.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if data.city != city.adcode:
        raise ValueError(f"{path}: is for city {data.city}, not {city.adcode}")
    if set(data.counties) != set(city.counties):
        raise ValueError(f"{path}: its counties ({', '.join(sorted(data.counties))}) are not the packaged city's "
                         f"({', '.join(city.counties)})")
    # Counties in adcode order, as the simulators walk them.
    return data.model_copy(update={"counties": dict(sorted(data.counties.items()))})
