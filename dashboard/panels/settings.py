"""Setting types the configurable panels share, checked when a theme file is read (with its line).

A setting that names a KPI is checked against the theme being read (pydantic validation context
`{"theme": Theme}`, given by topics/loader.py and the wall); the editor's form is generated from
these models' JSON Schema, so settings stay flat: text, numbers, yes/no, one of a list, a list of those.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from dashboard.panels import markdown
from geo.boundaries import county_names

CITY = "441200"
COUNTIES: tuple[str, ...] = tuple(county_names(CITY))
BUILTIN_MEASURES: dict[str, tuple[str, str]] = {  # measures every theme may use, beside its own KPI keys
    "open_cases": ("在办网格案件", "Open grid cases"),
    "aqi": ("空气质量指数 AQI", "Air quality index"),
}


class PanelSettings(BaseModel):
    """Base of a panel type's settings: frozen, and a misspelt setting is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _theme_kpis(info: ValidationInfo) -> set[str] | None:
    theme = (info.context or {}).get("theme")
    return {k.key for k in theme.kpis} if theme is not None else None


def _kpi_of_theme(value: str, info: ValidationInfo) -> str:
    known = _theme_kpis(info)
    if known is not None and value not in known:
        raise ValueError(f"{value!r} is not among this theme's kpis ({', '.join(sorted(known))})")
    return value


def _measure(value: str, info: ValidationInfo) -> str:
    if value in BUILTIN_MEASURES:
        return value
    known = _theme_kpis(info)
    if known is not None and value not in known:
        raise ValueError(f"{value!r} is neither one of this theme's kpis ({', '.join(sorted(known))}) "
                         f"nor {' / '.join(BUILTIN_MEASURES)}")
    return value


def _region(value: str) -> str:
    if value != CITY and value not in COUNTIES:
        raise ValueError(f"{value!r} is not 441200 (the city) nor one of its counties ({', '.join(COUNTIES)})")
    return value


# x-choices tells the editor's form which list to offer (the theme's KPIs, the measures, the regions).
KpiKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.]{1,63}$", description="One of the theme's KPI keys",
                              json_schema_extra={"x-choices": "kpis"}),
                   AfterValidator(_kpi_of_theme)]
Measure = Annotated[str, Field(description="One of the theme's KPI keys, or open_cases, or aqi",
                               json_schema_extra={"x-choices": "measures"}),
                    AfterValidator(_measure)]
Region = Annotated[str, Field(pattern=r"^\d{6}$", description="441200 (the city) or a county's adcode",
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
