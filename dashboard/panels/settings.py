"""Setting types the configurable panels share, checked when a theme file is read (with its line).

A setting that names a KPI is checked against the theme being read (pydantic validation context
`{"theme": Theme}`, given by topics/loader.py and the wall), one that names a region against the city
(`{"city": geo.City}`, given by the wall; the default settings' city where no city is given); the editor's
form is generated from these models' JSON Schema, so settings stay flat: text, numbers, yes/no, one of a
list, a list of those.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from dashboard.panels import markdown
from dashboard.panels.base import default_city, default_measures
from geo import City

# The default settings' city, for code not yet handed the app's city (PanelInput.city, AppContext.city): prefer those.
CITY: str = default_city().adcode
COUNTIES: tuple[str, ...] = default_city().county_codes

@cache
def builtin_measures() -> dict[str, tuple[str, str]]:
    """The wall's own measures every theme may name beside its KPIs and its own measures: key → (zh, en)."""
    return {m.key: (m.label_zh, m.label_en) for m in default_measures().all()}


class PanelSettings(BaseModel):
    """Base of a panel type's settings: frozen, and a misspelt setting is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _theme_kpis(info: ValidationInfo) -> set[str] | None:
    """The KPI keys of the theme being checked, and the measures it defines (they show like its KPIs)."""
    theme = (info.context or {}).get("theme")
    return {k.key for k in theme.kpis} | {m.key for m in theme.measures} if theme is not None else None


def _kpi_of_theme(value: str, info: ValidationInfo) -> str:
    known = _theme_kpis(info)
    if known is not None and value not in known:
        raise ValueError(f"{value!r} is not among this theme's kpis ({', '.join(sorted(known))})")
    return value


def _measure(value: str, info: ValidationInfo) -> str:
    context = info.context or {}
    wall = context.get("measures")
    if value in (wall if wall is not None else default_measures().names()):
        return value
    theme = context.get("theme")
    if theme is None:
        return value
    own = _theme_kpis(info) or set()
    if value not in own:
        raise ValueError(f"{value!r} is neither one of this theme's kpis or measures ({', '.join(sorted(own))}) "
                         f"nor a measure of the wall (the editor's 指标定义 lists them)")
    return value


def city_of(info: ValidationInfo) -> City:
    """The city a setting is checked against: the validation context's, else the default settings' city."""
    city = (info.context or {}).get("city")
    return city if isinstance(city, City) else default_city()


def _region(value: str, info: ValidationInfo) -> str:
    city = city_of(info)
    if not city.is_region(value):
        raise ValueError(f"{value!r} is not {city.adcode} (the city, {city.name}) nor one of its counties "
                         f"({', '.join(city.counties)})")
    return value


# x-choices tells the editor's form which list to offer (the theme's KPIs, the measures, the regions).
KpiKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.]{1,63}$", description="One of the theme's KPI keys",
                              json_schema_extra={"x-choices": "kpis"}),
                   AfterValidator(_kpi_of_theme)]
Measure = Annotated[str, Field(description="A measure: one of the theme's KPIs or measures, or the wall's "
                                           "(eco.aqi, social.open_grid_cases …)",
                               json_schema_extra={"x-choices": "measures"}),
                    AfterValidator(_measure)]
Region = Annotated[str, Field(pattern=r"^\d{6}$", description="The city's adcode or one of its counties'",
                              json_schema_extra={"x-choices": "regions"}),
                   AfterValidator(_region)]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="A colour as #rrggbb")]
Order = Literal["worst_first", "best_first", "high_first", "low_first"]

def safe_markdown(text: str) -> str:
    """Markdown a theme owner may write: no raw HTML tags; links to http(s) sites or the wall's own pages;
    images from the wall itself."""
    if re.search(r"<\s*[a-zA-Z/!]", text):
        raise ValueError("may not contain HTML tags (<…>); write Markdown: **bold**, - lists, [link](/map)")
    for kind, address in markdown.links(text):
        if kind == "image" and not markdown.wall_path(address):
            raise ValueError(f"images must come from the wall itself (/assets/…): the wall has no internet, "
                             f"not {address!r}")
        if kind == "link" and not markdown.link_allowed(address):
            raise ValueError(f"links may only be http(s) with a host or the wall's own pages (/map …), "
                             f"not {address!r}")
    return text
