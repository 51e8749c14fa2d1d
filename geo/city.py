"""The city the app runs for: adcode, names, counties and centre, all read from the packaged boundaries.

One `City` is built from the settings' `--city` (`City.load(settings.city)`) and handed down to whatever needs
to know which region is the city and which are its counties; no adcode is written in the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from geo.boundaries import load_counties, load_outline, outline_properties
from words import pick

__all__ = ["City"]


@dataclass(frozen=True, eq=False)
class City:
    """A packaged city: its adcode and names, its counties (adcode → name, ascending) and its centre (lon, lat)."""

    adcode: str
    name: str
    name_en: str
    counties: Mapping[str, str] = field(repr=False)
    counties_en: Mapping[str, str] = field(repr=False)
    centre: tuple[float, float] = field(repr=False)

    @staticmethod
    def load(adcode: str) -> City:
        """The packaged city of that adcode (read once per process); ValueError when it is not packaged."""
        return _load(str(adcode))

    # Two City objects of one adcode are the same city (load caches, but a test may build its own).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, City) and other.adcode == self.adcode

    def __hash__(self) -> int:
        return hash(self.adcode)

    @property
    def county_codes(self) -> tuple[str, ...]:
        """The counties' adcodes, ascending."""
        return tuple(self.counties)

    @property
    def regions(self) -> tuple[str, ...]:
        """The city's adcode, then its counties'."""
        return (self.adcode, *self.counties)

    def is_county(self, code: str | None) -> bool:
        """Whether the adcode is one of the city's counties."""
        return code in self.counties

    def is_region(self, code: str | None) -> bool:
        """Whether the adcode is the city's own or one of its counties'."""
        return code == self.adcode or code in self.counties

    def name_of(self, code: str, lang: str = "zh") -> str:
        """The name of the city or one of its counties in a language (zh, en); any other code as it is."""
        if code == self.adcode:
            return pick(self.name, self.name_en, lang)
        return pick(self.counties, self.counties_en, lang).get(code, code)


@lru_cache(maxsize=8)
def _load(adcode: str) -> City:
    props = outline_properties(adcode)
    counties = load_counties(adcode, "detail")  # ValueError when the adcode is not a packaged city
    outline = load_outline(adcode, "detail")
    point = outline.centroid
    if not outline.contains(point):  # a crescent-shaped city: a point inside it instead
        point = outline.representative_point()
    return City(
        adcode=props.adcode, name=props.name, name_en=props.name_en,
        counties=MappingProxyType(dict(zip(counties["adcode"], counties["name"], strict=True))),
        counties_en=MappingProxyType(dict(zip(counties["adcode"], counties["name_en"], strict=True))),
        centre=(round(float(point.x), 6), round(float(point.y), 6)),
    )
